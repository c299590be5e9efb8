"""`burnwatch run` cannot be blocked by a Dagster instance a killed run left behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg


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
