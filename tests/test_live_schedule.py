"""The UI's live cycle: the `burnwatch_cycle` schedule asks for the same days as
`burnwatch run` would, and only the unpartitioned tail when no log is new."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg

from pipelines import definitions
from pipelines.partitions import RANGE_END_TAG, RANGE_START_TAG
from pipelines.runner import run_pipeline
from pipelines.schedules import DEFAULT_CYCLE_CRON, cycle_run_request, tail_asset_keys
from tests.conftest import SMALL_MANIFEST, request, write_requests


def _write(data: Path, day: str, name: str, start: dt.datetime) -> None:
    rows = [request(f"{name}-{i}", start + dt.timedelta(seconds=i)) for i in range(20)]
    write_requests(data / "requests" / "tenant=acme" / f"date={day}" / name, rows)


def test_the_cycle_schedule_runs_every_five_minutes_and_is_off_by_default() -> None:
    schedule = definitions.defs.get_schedule_def("burnwatch_cycle")
    assert schedule.cron_schedule == DEFAULT_CYCLE_CRON == "*/5 * * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert definitions.defs.get_sensor_def("ingest_ledger")


def test_a_cycle_asks_for_the_days_new_files_touch_then_for_the_tail_only(
    tmp_path: Path,
) -> None:
    data, warehouse = tmp_path / "data", tmp_path / "warehouse"
    data.mkdir()
    (data / "slos.yaml").write_text(SMALL_MANIFEST, encoding="utf-8")
    _write(data, "2024-03-01", "a.parquet", dt.datetime(2024, 3, 1, 10))
    first = cycle_run_request(data, warehouse)  # no ledger yet: every day
    assert isinstance(first, dg.RunRequest)
    assert (first.tags[RANGE_START_TAG], first.tags[RANGE_END_TAG]) == ("2024-03-01",) * 2
    run_pipeline(data, data / "slos.yaml", warehouse, say=lambda _: None)
    _write(data, "2024-03-02", "b.parquet", dt.datetime(2024, 3, 2, 9))
    new_day = cycle_run_request(data, warehouse)
    assert isinstance(new_day, dg.RunRequest)
    # The day before too: acme's evaluation stopped at its newest request of 03-01.
    assert (new_day.tags[RANGE_START_TAG], new_day.tags[RANGE_END_TAG]) == (
        "2024-03-01",
        "2024-03-02",
    )
    run_pipeline(data, data / "slos.yaml", warehouse, say=lambda _: None)
    idle = cycle_run_request(data, warehouse)
    assert isinstance(idle, dg.RunRequest)
    assert RANGE_START_TAG not in idle.tags
    assert set(idle.asset_selection or []) == set(tail_asset_keys())
    assert dg.AssetKey("fct_alert_episodes") in set(tail_asset_keys())
    assert dg.AssetKey("stg_requests") not in set(tail_asset_keys())
