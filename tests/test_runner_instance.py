"""`burnwatch run` records its runs in $DAGSTER_HOME, and cannot be blocked by what a killed
run left behind there."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq


def test_a_pool_slot_held_by_a_dead_run_does_not_block_the_next_run(
    small_dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    data, manifest = small_dataset
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).parent.parent / "dagster.yaml", home / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        # What a SIGKILLed run leaves behind: the only "duckdb" slot, claimed forever.
        instance.event_log_storage.set_concurrency_slots("duckdb", 1)
        claim = instance.event_log_storage.claim_concurrency_slot(
            "duckdb", "dead-run", "stg_requests"
        )
        assert claim.is_claimed
    finally:
        instance.dispose()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli.commands",
            "run",
            "--data",
            str(data),
            "--manifest",
            str(manifest),
            "--warehouse",
            str(tmp_path / "wh"),
        ],
        env={**os.environ, "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "wh" / "lake" / "fct_alert_episodes" / "data.parquet").is_file()


def _burnwatch_run(data: Path, manifest: Path, warehouse: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipelines.cli.commands",
        "run",
        "--data",
        str(data),
        "--manifest",
        str(manifest),
        "--warehouse",
        str(warehouse),
    ]


def test_a_killed_run_recorded_in_dagster_home_neither_blocks_the_next_nor_stays_running(
    small_dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    """The runs are recorded in $DAGSTER_HOME (the UI shows them), and a SIGKILLed run's
    pool slot and 'started' status are cleaned up by the next run on the warehouse."""
    data, manifest = small_dataset
    home, warehouse = tmp_path / "dagster_home", tmp_path / "wh"
    home.mkdir()
    shutil.copy(Path(__file__).parent.parent / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    killed = subprocess.Popen(
        _burnwatch_run(data, manifest, warehouse),
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert killed.stderr is not None
        # Kill it inside a step that holds the pool's only slot: stg_requests logs each day.
        for line in killed.stderr:
            if line.strip().startswith("stg_requests 2026-10-01"):
                break
        else:
            raise AssertionError("the run ended before staging")
        killed.send_signal(signal.SIGKILL)
    finally:
        killed.wait(timeout=60)
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        (dead,) = instance.get_run_records()
        assert dead.dagster_run.status is dg.DagsterRunStatus.STARTED
        assert instance.event_log_storage.get_concurrency_run_ids() == {dead.dagster_run.run_id}
    finally:
        instance.dispose()

    result = subprocess.run(
        _burnwatch_run(data, manifest, warehouse),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        statuses = {
            record.dagster_run.run_id: record.dagster_run.status
            for record in instance.get_run_records()
        }
        assert statuses.pop(dead.dagster_run.run_id) is dg.DagsterRunStatus.FAILURE
        assert list(statuses.values()) == [dg.DagsterRunStatus.SUCCESS]
        assert instance.event_log_storage.get_concurrency_run_ids() == set()
        # What the UI shows for the episodes: the second run's materialization, its row count
        # that of the Parquet file in the lake.
        event = instance.get_latest_materialization_event(dg.AssetKey("fct_alert_episodes"))
        assert event is not None and event.run_id in statuses
        materialization = event.asset_materialization
        assert materialization is not None
        lake_rows = pq.read_metadata(
            warehouse / "lake" / "fct_alert_episodes" / "data.parquet"
        ).num_rows
        assert materialization.metadata["dagster/row_count"].value == lake_rows
    finally:
        instance.dispose()
