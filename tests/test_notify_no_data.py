"""Silence is not health: a tenant whose logs stop gets one no_data per silence, one
data_resumed when they return, whatever the runs in between (the outbox remembers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.notify import audit
from tests.notify_fixtures import (
    DAY,
    HttpReceiver,
    Workspace,
    http_receiver,
    make_workspace,
    write_horizons,
)

MIDNIGHT = dt.datetime.combine(DAY, dt.time())


def hook_routes(match: str) -> str:
    """What `match` selects goes to one signed webhook ($HOOK_URL, key $HOOK_KEY)."""
    return (
        "\nnotifications:\n"
        "  channels:\n"
        "    hook: {type: webhook, url_env: HOOK_URL, hmac_key_env: HOOK_KEY}\n"
        "  routes:\n"
        "    - channel: hook\n"
        f"      match: {{{match}}}\n"
    )


def configured(factory: pytest.TempPathFactory, tmp_path: Path, match: str) -> Workspace:
    workspace = make_workspace(factory, tmp_path)
    workspace.configure(hook_routes(match))
    return workspace


def at(hours: int, minutes: int = 0) -> dt.datetime:
    return MIDNIGHT + dt.timedelta(hours=hours, minutes=minutes)


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpReceiver]:
    for receiver in http_receiver():
        monkeypatch.setenv("HOOK_URL", receiver.url + "/hook")
        monkeypatch.setenv("HOOK_KEY", "k" * 32)
        yield receiver


@pytest.fixture
def workspace(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Workspace:
    # Only the silence transitions go to the hook, so every request it gets is one of them.
    return configured(tmp_path_factory, tmp_path, "tenants: [globex]")


def globex(data_until: dt.datetime | None, horizon: dt.datetime, silent: bool) -> list[Any]:
    """Horizon rows: acme is always up to date; globex as given."""
    return [
        {"tenant_id": "acme", "data_until": horizon, "horizon": horizon, "silent": False},
        {"tenant_id": "globex", "data_until": data_until, "horizon": horizon, "silent": silent},
    ]


def sent(receiver: HttpReceiver) -> list[tuple[str, str]]:
    return [(body["transition"], body["idempotency_key"]) for body in receiver.bodies()]


def test_a_silent_tenant_gets_one_no_data_over_many_runs_and_one_data_resumed(
    workspace: Workspace, hook: HttpReceiver
) -> None:
    key = "globex|api-availability|-|2026-11-20T21:00:00|{}|hook"
    # Its logs stop at 21:00; runs at 21:20, 21:25 and 21:40 see it silent, and a
    # late trickle at 21:40 moves data_until to 21:10, still more than 15 min behind.
    runs = ((at(21), at(21, 20)), (at(21), at(21, 25)), (at(21, 10), at(21, 40)))
    for data_until, horizon in runs:
        write_horizons(workspace, globex(data_until, horizon, silent=True))
        workspace.run()
    assert sent(hook) == [("no_data", key.format("no_data"))]
    (body,) = hook.bodies()
    assert body["silence"] == {
        "since": "2026-11-20T21:00:00",
        "started_at": "2026-11-20T21:00:00Z",
        "data_until": "2026-11-20T21:00:00Z",
        "horizon": "2026-11-20T21:20:00Z",
        "max_silence_minutes": 15,
    }
    assert body["severity"] == "page" and body["rule"] is None
    assert "no logs since 2026-11-20T21:00:00Z (20 min behind, limit 15 min)" in body["summary"]

    # Its logs are back: one data_resumed, named by the same silence; then quiet.
    for horizon in (at(21, 45), at(21, 50), at(21, 55)):
        write_horizons(workspace, globex(horizon, horizon, silent=False))
        workspace.run()
    assert sent(hook) == [
        ("no_data", key.format("no_data")),
        ("data_resumed", key.format("data_resumed")),
    ]
    assert hook.bodies()[1]["at"] == "2026-11-20T21:45:00Z"

    # A new silence is a new alert: its own no_data.
    write_horizons(workspace, globex(at(22), at(22, 30), silent=True))
    workspace.run()
    assert sent(hook)[-1] == (
        "no_data",
        "globex|api-availability|-|2026-11-20T22:00:00|no_data|hook",
    )
    assert len(hook.requests) == 3


def test_a_tenant_with_no_logs_at_all_is_no_data_under_the_stable_key_never(
    workspace: Workspace, hook: HttpReceiver
) -> None:
    for horizon in (at(10), at(10, 5), at(10, 10)):
        write_horizons(workspace, globex(None, horizon, silent=True))
        workspace.run()
    assert sent(hook) == [("no_data", "globex|api-availability|-|never|no_data|hook")]
    assert "no logs received" in hook.bodies()[0]["summary"]
    write_horizons(workspace, globex(at(10, 14), at(10, 15), silent=False))
    workspace.run()
    assert sent(hook)[1:] == [("data_resumed", "globex|api-availability|-|never|data_resumed|hook")]


def test_silences_are_remembered_even_when_no_route_takes_data_resumed(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, hook: HttpReceiver
) -> None:
    workspace = configured(tmp_path_factory, tmp_path, "tenants: [globex], transitions: [no_data]")
    for data_until, horizon, silent in (
        (at(21), at(21, 30), True),
        (at(21, 35), at(21, 35), False),  # resumed: nothing routed, but recorded
        (at(21, 40), at(22, 0), True),  # a second silence is announced
    ):
        write_horizons(workspace, globex(data_until, horizon, silent))
        workspace.run()
    assert [t for t, _ in sent(hook)] == ["no_data", "no_data"]
    decisions = [r for r in workspace.audit() if r.get("transition") == "data_resumed"]
    assert [d["decision"]["action"] for d in decisions] == ["no_route"]


def test_without_horizon_rows_no_silence_is_decided(
    workspace: Workspace, hook: HttpReceiver
) -> None:
    summary = workspace.run()
    assert summary.silences == 0 and hook.requests == []


def test_a_dry_run_queues_no_data_and_sends_nothing_then_a_real_run_delivers_it(
    workspace: Workspace, hook: HttpReceiver
) -> None:
    write_horizons(workspace, globex(at(21), at(21, 30), silent=True))
    dry = workspace.run(dry_run=True)
    assert (dry.silences, dry.new_messages, dry.refreshed) == (1, 1, 0)
    assert hook.requests == []
    real = workspace.run()
    assert (real.silences, real.new_messages, real.delivered) == (0, 0, 1)
    assert [t for t, _ in sent(hook)] == ["no_data"]


def test_silence_decisions_are_audited_with_their_horizon_row_and_verify(
    workspace: Workspace, hook: HttpReceiver
) -> None:
    write_horizons(workspace, globex(at(21), at(21, 30), silent=True))
    workspace.run()
    # The next run's horizon row replaces the one the decision rests on: still intact.
    write_horizons(workspace, globex(at(21), at(21, 35), silent=True))
    workspace.run()
    (record,) = [r for r in workspace.audit() if r.get("transition") == "no_data"]
    assert record["inputs"]["tables"] == ["int_tenant_horizons"]
    assert record["inputs"]["row"]["horizon"] == "2026-11-20T21:30:00"
    assert record["decision"] == {"action": "notify", "channels": ["hook"], "dry_run": False}
    checked, problems = audit.verify(workspace.warehouse)
    assert checked > 0 and problems == []


# Run in a child process: it dies (os._exit, as a kill: no flush, no rollback) as it
# decides its second silence, after the first one's message and audit record.
DIE_AT_SECOND_SILENCE = """
import os, sys
from pathlib import Path
from pipelines.notify import audit
from pipelines.notify.dispatch import run_notifications
real = audit.silence_decision_record
decided = []
def die_at_second(*args, **kwargs):
    decided.append(1)
    if len(decided) == 2:
        os._exit(9)
    return real(*args, **kwargs)
audit.silence_decision_record = die_at_second
run_notifications(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
"""


def test_a_run_killed_while_deciding_silences_leaves_them_all_for_the_next_run(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, hook: HttpReceiver
) -> None:
    import subprocess
    import sys

    both_silent = [
        {"tenant_id": "acme", "data_until": at(20), "horizon": at(21, 30), "silent": True},
        {"tenant_id": "globex", "data_until": at(21), "horizon": at(21, 30), "silent": True},
    ]
    # The oracle: the same silences decided by one run that nothing stops.
    clean = configured(tmp_path_factory, tmp_path / "clean", "tenants: [acme, globex]")
    write_horizons(clean, both_silent)
    clean.run(dry_run=True)
    expected = sorted(r["id"] for r in clean.audit() if r.get("transition") == "no_data")
    assert len(expected) >= 2

    killed = configured(tmp_path_factory, tmp_path / "killed", "tenants: [acme, globex]")
    write_horizons(killed, both_silent)
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            DIE_AT_SECOND_SILENCE,
            killed.warehouse,
            killed.data,
            killed.manifest,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 9, child.stderr
    # Nothing of the killed run's silences was committed: the next run decides them all.
    again = killed.run()
    assert again.silences == len(expected)
    decided = sorted(r["id"] for r in killed.audit() if r.get("transition") == "no_data")
    assert decided == expected
    expected_keys = sorted(key.split("decision:", 1)[1].replace("->", "|") for key in expected)

    def sent_no_data() -> list[str]:
        return sorted(key for transition, key in sent(hook) if transition == "no_data")

    # Each silence's no_data sent once: none lost, none twice.
    assert sent_no_data() == expected_keys
    assert killed.run().silences == 0 and sent_no_data() == expected_keys
    checked, problems = audit.verify(killed.warehouse)
    assert checked > 0 and problems == []
