"""A cycle killed with SIGKILL in the middle: the next cycle completes with the same lake
and the same messages as if nothing had happened (the ledger is written only after a
run succeeded, every partition is replaced whole, the outbox is keyed)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import write_requests
from tests.test_live_cycles import lake_digests
from tests.test_live_silence import MANIFEST, at, traffic

pytestmark = pytest.mark.slow

DAY = "2024-03-01"
BURNWATCH = [sys.executable, "-c", "from pipelines.cli.commands import main; main()"]


def _deliver(data: Path, start: dt.datetime, end: dt.datetime) -> None:
    for tenant in ("acme", "globex"):
        folder = data / "requests" / f"tenant={tenant}" / f"date={DAY}"
        write_requests(folder / f"{start:%H%M}.parquet", traffic(tenant, start, end))


def _command(data: Path, warehouse: Path) -> list[str]:
    return [
        *BURNWATCH,
        "run",
        "--data",
        str(data),
        "--manifest",
        str(data / "slos.yaml"),
        "--warehouse",
        str(warehouse),
        "--dry-run",
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "SILENCE_HOOK_URL": "http://127.0.0.1:9/", "SILENCE_HOOK_KEY": "k"}


def _cycle(data: Path, warehouse: Path) -> None:
    done = subprocess.run(
        _command(data, warehouse), env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr


def _messages(warehouse: Path) -> Counter[tuple[object, ...]]:
    from pipelines.warehouse.lake import read_table

    frame = read_table(warehouse, "notifications")
    return Counter(
        (r["key"], r["transition"], r["episode_started_at"], r["transition_at"])
        for r in frame.iter_rows(named=True)
    )


def _kill_when_rewritten(data: Path, warehouse: Path, marker: Path) -> None:
    """Start a cycle and SIGKILL it once it has replaced `marker` (mid-cycle)."""
    before = marker.stat().st_mtime_ns
    process = subprocess.Popen(
        _command(data, warehouse), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if marker.is_file() and marker.stat().st_mtime_ns != before:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the cycle finished before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)


def test_a_cycle_killed_mid_run_is_completed_by_the_next_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "slos.yaml").write_text(MANIFEST, encoding="utf-8")
    killed, calm = tmp_path / "killed", tmp_path / "calm"
    _deliver(data, at(8), at(10))
    _cycle(data, killed)
    _cycle(data, calm)
    _deliver(data, at(10), at(11))
    # Killed once staging has rewritten the day: the buckets, facts, ledger and outbox
    # of the cycle are not written yet.
    _kill_when_rewritten(
        data, killed, killed / "lake" / "stg_requests" / f"date={DAY}" / "data.parquet"
    )
    _cycle(data, killed)
    _cycle(data, calm)
    assert lake_digests(killed) == lake_digests(calm)
    assert _messages(killed) == _messages(calm)
    assert _messages(calm), "the data exercises no alert"
