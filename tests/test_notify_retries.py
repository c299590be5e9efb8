"""Failed deliveries are retried with backoff, every attempt is recorded, nothing is sent twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from tests.notify_fixtures import (
    HttpReceiver,
    Workspace,
    expected_messages,
    http_receiver,
    make_workspace,
    webhook_routes,
)

RETRY = "attempts: 4, initial_seconds: 0.01, max_seconds: 0.05, timeout_seconds: 5"


def route_to(
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    transitions: str,
    extra: str = "",
) -> None:
    """Send the `transitions` notifications to the webhook at `url` (retried per RETRY);
    `extra` is appended to the `notifications:` block."""
    monkeypatch.setenv("HOOK_URL", url)
    monkeypatch.setenv("HOOK_KEY", "k" * 32)
    workspace.configure(webhook_routes(f"transitions: [{transitions}]", retry=RETRY) + extra)


@pytest.fixture
def workspace(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path_factory, tmp_path)


@pytest.fixture
def flaky() -> Iterator[HttpReceiver]:
    yield from http_receiver(HttpReceiver(statuses=[500, 500]))


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    yield from http_receiver()


def test_500_twice_then_200_delivers_once_after_three_recorded_attempts(
    workspace: Workspace, flaky: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    route_to(workspace, monkeypatch, flaky.url + "/hook", "escalated")

    summary = workspace.run()
    workspace.run()  # a second run finds nothing to do

    keys = [request.headers["Idempotency-Key"] for request in flaky.requests]
    first_key = keys[0]
    assert keys.count(first_key) == 3  # 500, 500, 200
    escalations = expected_messages(workspace, kinds={"escalated"})
    assert len(set(keys)) == summary.new_messages == summary.delivered == escalations
    assert len(keys) == escalations + 2
    outbox = workspace.table("notifications")
    assert outbox["status"].to_list() == ["sent"] * escalations
    attempts = workspace.table("delivery_attempts").sort("started_at", "attempt")
    first_message = outbox.sort("transition_at")["key"][0]
    mine = attempts.filter(pl.col("key") == first_message).sort("attempt")
    assert mine["outcome"].to_list() == ["error", "error", "ok"]
    assert mine["status_code"].to_list() == [500, 500, 200]
    audited = [r for r in workspace.audit() if r["kind"] == "attempt"]
    assert [(r["attempt"], r["outcome"]) for r in audited if r["message_key"] == first_message] == [
        (1, "error"),
        (2, "error"),
        (3, "ok"),
    ]


def test_a_receiver_down_for_a_whole_run_gets_the_message_on_the_next_run(
    workspace: Workspace, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    route_to(workspace, monkeypatch, receiver.url, "resolved")
    receiver.statuses = [503] * 100
    first = workspace.run()
    assert first.delivered == 0 and first.failed == first.new_messages > 0
    assert set(workspace.table("notifications")["status"]) == {"failed"}
    receiver.statuses.clear()
    sent_before = len(receiver.requests)
    second = workspace.run()
    assert second.delivered == first.new_messages
    assert len(receiver.requests) - sent_before == first.new_messages


def test_a_final_4xx_is_rejected_and_never_retried(
    workspace: Workspace, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    route_to(workspace, monkeypatch, receiver.url, "resolved")
    receiver.statuses = [400] * 100
    first = workspace.run()
    workspace.run()
    assert len(receiver.requests) == first.new_messages  # one attempt each, in two runs
    assert set(workspace.table("notifications")["status"]) == {"rejected"}


def test_transitions_older_than_max_age_are_recorded_but_never_sent(
    workspace: Workspace, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    route_to(workspace, monkeypatch, receiver.url, "opened", extra="  max_age_hours: 1\n")
    workspace.run()
    assert receiver.requests == []
    assert set(workspace.table("notifications")["status"]) == {"suppressed"}
    actions = {r["decision"]["action"] for r in workspace.audit() if r["kind"] == "decision"}
    assert actions == {"suppressed", "no_route"}
