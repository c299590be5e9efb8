"""Crash safety, concurrent runs and idempotence of `burnwatch run` on one warehouse.

These start real `burnwatch run` processes (slow); a killed run must leave every
lake file either the old or the new bytes, and the next run must complete.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from cli_helpers import BURNWATCH, run_args
from test_corruption import DAYS, build_clean, request_rows, write_rows

from schemas.tables import TABLES

pytestmark = pytest.mark.slow


def _start(data: Path, warehouse: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*BURNWATCH, *run_args(data, data / "slos.yaml", warehouse)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _run(data: Path, warehouse: Path) -> subprocess.CompletedProcess[str]:
    process = _start(data, warehouse)
    stdout, stderr = process.communicate(timeout=900)
    assert process.returncode == 0, stderr
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def lake_files(warehouse: Path) -> dict[str, bytes]:
    """The bytes of every partition of the tables in `schemas.tables`, by relative path."""
    lake = warehouse / "lake"
    return {
        str(path.relative_to(lake)): path.read_bytes()
        for table in TABLES
        for path in sorted((lake / table).rglob("data.parquet"))
    }


def lake_hash(warehouse: Path) -> str:
    digest = hashlib.sha256()
    for name, content in sorted(lake_files(warehouse).items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    build_clean(folder)
    return folder


@pytest.fixture
def warehouse(data: Path, tmp_path: Path) -> Path:
    """A warehouse after one complete run on `data`."""
    folder = tmp_path / "wh"
    _run(data, folder)
    return folder


def test_rerunning_gives_the_same_lake(data: Path, warehouse: Path) -> None:
    first = lake_hash(warehouse)
    _run(data, warehouse)
    assert lake_hash(warehouse) == first


def test_a_killed_run_leaves_old_or_new_partitions_and_the_next_run_completes(
    data: Path, warehouse: Path, tmp_path: Path
) -> None:
    old = lake_files(warehouse)
    # New input: more traffic on every day, so every partition's bytes change.
    for day in DAYS:
        write_rows(data, "acme", day, request_rows("acme", day, 50, "new"), "part-new")
    reference = tmp_path / "reference"
    _run(data, reference)
    new = lake_files(reference)

    watched = warehouse / "lake" / "stg_requests" / f"date={DAYS[0]}" / "data.parquet"
    before = watched.stat().st_mtime_ns
    process = _start(data, warehouse)
    deadline = time.monotonic() + 600
    while watched.stat().st_mtime_ns == before and process.poll() is None:
        assert time.monotonic() < deadline, "the run never rewrote a partition"
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()

    for name, content in lake_files(warehouse).items():
        duckdb.execute(f"select count(*) from read_parquet('{warehouse / 'lake' / name}')")
        assert content in (old.get(name), new.get(name)), name

    _run(data, warehouse)
    # The rerun is a live cycle (the warehouse has an ingest ledger), which leaves the
    # replay to its own schedule (docs/live.md): every other table is the reference's.
    after = lake_files(warehouse)
    replay = {name for name in new if name.startswith("replay_")}
    assert {k: v for k, v in after.items() if k not in replay} == {
        k: v for k, v in new.items() if k not in replay
    }
    assert {name: after[name] for name in replay} == {name: old[name] for name in replay}


def test_two_runs_at_once_wait_for_each_other_and_match_a_single_run(
    data: Path, warehouse: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    first, second = _start(data, shared), _start(data, shared)
    outputs = [process.communicate(timeout=900) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert any("waiting for the burnwatch run" in stderr for _, stderr in outputs)
    assert lake_hash(shared) == lake_hash(warehouse)  # the fixture's single run


def test_a_reader_holding_the_catalog_open_does_not_block_a_run(
    data: Path, warehouse: Path
) -> None:
    reader = duckdb.connect(str(warehouse / "burnwatch.duckdb"), read_only=True)
    try:
        before = reader.execute("select count(*) from stg_requests").fetchall()
        _run(data, warehouse)
        # The reader keeps its (old) catalog; the run replaced the file by renaming.
        assert reader.execute("select count(*) from stg_requests").fetchall() == before
    finally:
        reader.close()
    with duckdb.connect(str(warehouse / "burnwatch.duckdb"), read_only=True) as fresh:
        assert fresh.execute("select count(*) from stg_requests").fetchall() == before
