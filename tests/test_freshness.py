"""A partition whose inputs have not changed is kept, not recomputed: the cohort
thresholds of day D read only the days before D, so a live cycle of D keeps them,
while late rows on an earlier day recompute them. Either way the lake equals a batch
run's."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.models.build import bind_alert_params, write_extended
from pipelines.models.registry import model
from pipelines.resources import BurnwatchResource
from pipelines.runner import run_pipeline
from pipelines.warehouse.lake import partition_path
from schemas.manifest import load_manifest
from tests.conftest import request, write_requests

DAY_1, DAY_2 = dt.date(2026, 10, 1), dt.date(2026, 10, 2)


def _version(warehouse: Path, day: dt.date) -> Path:
    return partition_path(warehouse, "cohort_thresholds", day)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _late_rows(data: Path, day: dt.date, name: str) -> None:
    moment = dt.datetime.combine(day, dt.time(23, 59, 30), tzinfo=dt.UTC)
    rows = [request(f"{name}-{index}", moment, status=503) for index in range(3)]
    write_requests(data / "requests" / "tenant=acme" / f"date={day}" / f"{name}.parquet", rows)


def test_a_cycle_of_the_newest_day_keeps_its_thresholds_version(
    small_dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    data, manifest = small_dataset
    live = tmp_path / "live"
    run_pipeline(data, manifest, live, say=lambda _: None)
    before = _version(live, DAY_2).stat().st_mtime_ns
    _late_rows(data, DAY_2, "late-day-2")
    outcome = run_pipeline(data, manifest, live, say=lambda _: None)
    assert (outcome.first_day, outcome.last_day) == (DAY_2, DAY_2)
    assert _version(live, DAY_2).stat().st_mtime_ns == before
    batch = tmp_path / "batch"
    run_pipeline(data, manifest, batch, say=lambda _: None)
    assert _digest(_version(live, DAY_2)) == _digest(_version(batch, DAY_2))


def test_late_rows_on_an_earlier_day_recompute_the_thresholds_that_read_it(
    small_dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    data, manifest = small_dataset
    live = tmp_path / "live"
    run_pipeline(data, manifest, live, say=lambda _: None)
    before = _version(live, DAY_2).stat().st_mtime_ns
    _late_rows(data, DAY_1, "late-day-1")
    outcome = run_pipeline(data, manifest, live, say=lambda _: None)
    assert outcome.first_day == DAY_1
    batch = tmp_path / "batch"
    run_pipeline(data, manifest, batch, say=lambda _: None)
    assert _digest(_version(live, DAY_2)) == _digest(_version(batch, DAY_2))
    # The late rows are in DAY_2's history, so its version was computed again.
    assert _version(live, DAY_2).stat().st_mtime_ns != before


@pytest.mark.parametrize(
    ("table", "keys"),
    [
        ("fct_alert_episodes", ("tenant_id", "slo_name", "rule_name")),
        ("fct_alerts", ("tenant_id", "slo_name")),
    ],
)
def test_runs_extended_from_any_step_equal_the_whole_model(
    small_dataset: tuple[Path, Path], tmp_path: Path, table: str, keys: tuple[str, ...]
) -> None:
    """Keeping the episodes (or alerts) that resolved before a time and recomputing the
    rest from the evaluations gives the whole model's file, byte for byte, wherever
    the time falls: before, inside and after the outage's runs and cooldowns."""
    data, manifest = small_dataset
    warehouse = tmp_path / "warehouse"
    run_pipeline(data, manifest, warehouse, say=lambda _: None)
    target = partition_path(warehouse, table, None)
    whole = _digest(target)
    assert pq.ParquetFile(target).metadata.num_rows > 0  # the outage gives runs to split
    resource = BurnwatchResource(
        data_dir=str(data), manifest=str(manifest), warehouse=str(warehouse)
    )
    policy = load_manifest(manifest).policy
    day_2 = dt.datetime.combine(DAY_2, dt.time())
    for since in (
        dt.datetime.combine(DAY_1, dt.time()),
        day_2,
        day_2 + dt.timedelta(hours=10),
        day_2 + dt.timedelta(hours=10, minutes=10),
        day_2 + dt.timedelta(hours=10, minutes=40),
        day_2 + dt.timedelta(hours=11, minutes=5),
        day_2 + dt.timedelta(hours=20),
        day_2 + dt.timedelta(days=1),
    ):
        write_extended(
            resource,
            model(table),
            keys,
            target,
            since,
            lambda connection: bind_alert_params(connection, policy),
        )
        assert _digest(target) == whole, since
