"""A paging alert that steps down to a ticket sends one update of the same alert.

The fixture's morning (tests/notify_fixtures.py): a slow burn opens a ticket, the
08:00 outage escalates it to a page, and once the outage is over for the page
cooldown the ticket rules still fire: the alert steps down. The step down is one
message to the routes of both severities, under the alert's own identity (the
webhook's `episode_key`, PagerDuty's dedup_key), sent once through the outbox.
Which alerts step down, and when, is the oracle's (tests/oracle.py), not fct_alerts'.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notify_fixtures import (
    HttpReceiver,
    Workspace,
    alerts,
    http_receiver,
    make_workspace,
    webhook_routes,
)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    yield from http_receiver()


@pytest.fixture
def workspace(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    receiver: HttpReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> Workspace:
    workspace = make_workspace(tmp_path_factory, tmp_path)
    monkeypatch.setenv("HOOK_URL", receiver.url + "/hook")
    monkeypatch.setenv("HOOK_KEY", "k" * 32)
    return workspace


def _iso(moment: object) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def test_a_step_down_is_one_update_of_the_same_alert_sent_once(
    workspace: Workspace, receiver: HttpReceiver
) -> None:
    workspace.configure(webhook_routes("severities: [page, ticket]"))
    stepped = [a for a in alerts(workspace) if a["stepped_down_at"] is not None]
    assert stepped, "no alert of the fixture steps down: the test shows nothing"

    workspace.run()
    workspace.run()  # a second run finds nothing new to send

    bodies = receiver.bodies()
    downs = [b for b in bodies if b["transition"] == "stepped_down"]
    assert sorted(b["at"] for b in downs) == sorted(_iso(a["stepped_down_at"]) for a in stepped)
    assert all(b["severity"] == "ticket" for b in downs)
    for down in downs:
        # The opening (or escalation) people got for this alert carries the same identity.
        same_alert = [
            b for b in bodies if b["episode_key"] == down["episode_key"] and b is not down
        ]
        assert {b["transition"] for b in same_alert} >= {"opened", "escalated"}
    # Each message once: the outbox keys them, and the receiver saw no key twice.
    keys = [request.headers["Idempotency-Key"] for request in receiver.requests]
    assert len(keys) == len(set(keys))


def test_a_step_down_reaches_a_route_that_takes_only_pages(
    workspace: Workspace, receiver: HttpReceiver
) -> None:
    # The pager learns that the page is over, though the alert goes on as a ticket.
    workspace.configure(webhook_routes("severities: [page]"))
    stepped = [a for a in alerts(workspace) if a["stepped_down_at"] is not None]
    workspace.run()
    downs = [b for b in receiver.bodies() if b["transition"] == "stepped_down"]
    assert len(downs) == len(stepped) >= 1


def test_a_route_can_leave_step_downs_out(workspace: Workspace, receiver: HttpReceiver) -> None:
    workspace.configure(webhook_routes("transitions: [opened, escalated, resolved]"))
    workspace.run()
    bodies = receiver.bodies()
    assert bodies and not [b for b in bodies if b["transition"] == "stepped_down"]
