"""Killing the dispatcher mid-delivery and running again: no loss, no duplicate.

The dispatcher runs in a subprocess that is SIGKILLed at a chosen point:

- after a message is committed as `sending` and before its request leaves
  (`before_send` hook): the next run sends it, once;
- while the receiver holds the request (it has arrived, no answer yet): the
  next run sends it again, the documented at-least-once window, and the
  repeat carries the same `Idempotency-Key` and the same body, so a receiver
  that honours the key sees every message exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notify_fixtures import (
    HttpReceiver,
    Workspace,
    expected_messages,
    http_receiver,
    make_workspace,
    webhook_routes,
)

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import sys, time
from pathlib import Path
from pipelines.notify.dispatch import run_notifications

warehouse, data, marker = (Path(arg) for arg in sys.argv[1:4])
stop_at = int(sys.argv[4])
count = 0

def before_send(key):
    global count
    count += 1
    if count == stop_at:
        marker.write_text(key)
        time.sleep(120)  # killed here

run_notifications(warehouse, data, data / "slos.yaml", before_send=before_send if stop_at else None)
"""

ROUTES = webhook_routes(
    "severities: [page]",
    retry="attempts: 3, initial_seconds: 0.01, max_seconds: 0.05, timeout_seconds: 60",
)


@pytest.fixture
def workspace(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path_factory, tmp_path, ROUTES)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    yield from http_receiver()


def start_child(
    workspace: Workspace, receiver: HttpReceiver, marker: Path, stop_at: int
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HOOK_URL": receiver.url,
        "HOOK_KEY": "crash-test-key",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(workspace.warehouse),
            str(workspace.data),
            str(marker),
            str(stop_at),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(condition: object, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if process.poll() is not None:
            raise AssertionError(f"child exited early: {process.stderr.read()!r}")  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the child never reached the kill point"
        time.sleep(0.05)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    if process.stderr:
        process.stderr.close()


def test_killed_after_marking_sending_then_rerun_sends_each_message_once(
    workspace: Workspace,
    receiver: HttpReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = tmp_path / "stopped-at"
    child = start_child(workspace, receiver, marker, stop_at=2)
    try:
        wait_for(marker.exists, child)
    finally:
        kill(child)
    assert len(receiver.requests) == 1  # the first went out; the second never left

    monkeypatch.setenv("HOOK_URL", receiver.url)
    monkeypatch.setenv("HOOK_KEY", "crash-test-key")
    workspace.run()
    workspace.run()

    keys = Counter(request.headers["Idempotency-Key"] for request in receiver.requests)
    outbox = workspace.table("notifications")
    assert set(outbox["status"]) == {"sent"}
    # What the route takes: the alerts' pages (escalations) and their resolves.
    assert len(keys) == outbox.height == expected_messages(workspace, severities={"page"})
    assert set(keys.values()) == {1}  # no duplicate, no loss
    interrupted = workspace.table("delivery_attempts").filter(
        workspace.table("delivery_attempts")["outcome"] == "interrupted"
    )
    assert interrupted["key"].to_list() == [marker.read_text()]


def test_killed_while_the_receiver_holds_the_request_repeats_it_with_the_same_key(
    workspace: Workspace,
    receiver: HttpReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver.delay_seconds = 120
    receiver.delay_requests = {2}
    child = start_child(workspace, receiver, tmp_path / "unused", stop_at=0)
    try:
        wait_for(lambda: len(receiver.requests) >= 2, child)
    finally:
        kill(child)
    receiver.delay_seconds = 0

    monkeypatch.setenv("HOOK_URL", receiver.url)
    monkeypatch.setenv("HOOK_KEY", "crash-test-key")
    workspace.run()
    workspace.run()

    outbox = workspace.table("notifications")
    pages = expected_messages(workspace, severities={"page"})
    assert set(outbox["status"]) == {"sent"} and outbox.height == pages
    keys = Counter(request.headers["Idempotency-Key"] for request in receiver.requests)
    assert len(keys) == pages  # no loss
    repeated = [key for key, count in keys.items() if count > 1]
    assert len(repeated) == 1 and keys[repeated[0]] == 2  # only the in-flight one
    bodies = {r.body for r in receiver.requests if r.headers["Idempotency-Key"] == repeated[0]}
    assert len(bodies) == 1  # the very same message: a receiver deduplicating on the key
