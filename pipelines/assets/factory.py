"""What every asset body shares: run the step for the run's days, then report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import dagster as dg

from pipelines.assets.metadata import materialization_metadata
from pipelines.partitions import run_days
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake


def materialize_days(
    context: dg.AssetExecutionContext,
    burnwatch: BurnwatchResource,
    table: str,
    build: Callable[[BurnwatchResource, dt.date], int],
) -> dg.MaterializeResult:
    """Build `table` for each day of the run in order, logging progress, and refresh the catalog."""
    days = run_days(context)
    rows_by_day: dict[dt.date, int] = {}
    for index, day in enumerate(days, start=1):
        rows_by_day[day] = build(burnwatch, day)
        context.log.info(f"{table} {day}: {rows_by_day[day]} rows ({index}/{len(days)} days)")
    lake.refresh_catalog(burnwatch.warehouse_path)
    return dg.MaterializeResult(
        metadata=materialization_metadata(burnwatch.warehouse_path, table, rows_by_day)
    )


def materialize_day_blocks(
    context: dg.AssetExecutionContext,
    burnwatch: BurnwatchResource,
    table: str,
    build_days: Callable[
        [BurnwatchResource, list[dt.date], Callable[[dt.date, int], None]], dict[dt.date, int]
    ],
) -> dg.MaterializeResult:
    """Build `table` for all days of the run at once (a step that computes consecutive
    days together), logging each day as it is written, and refresh the catalog."""
    days = run_days(context)
    done: list[dt.date] = []

    def log_day(day: dt.date, rows: int) -> None:
        done.append(day)
        context.log.info(f"{table} {day}: {rows} rows ({len(done)}/{len(days)} days)")

    rows_by_day = build_days(burnwatch, days, log_day)
    lake.refresh_catalog(burnwatch.warehouse_path)
    return dg.MaterializeResult(
        metadata=materialization_metadata(burnwatch.warehouse_path, table, rows_by_day)
    )


def materialize_whole(
    burnwatch: BurnwatchResource, table: str, build: Callable[[BurnwatchResource], int]
) -> dg.MaterializeResult:
    """Build an unpartitioned table and refresh the catalog."""
    rows = build(burnwatch)
    lake.refresh_catalog(burnwatch.warehouse_path)
    return dg.MaterializeResult(
        metadata=materialization_metadata(burnwatch.warehouse_path, table, rows=rows)
    )
