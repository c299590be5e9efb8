"""What every asset body shares: run one step per day of the run, then report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import dagster as dg

from pipelines import lake
from pipelines.metadata import materialization_metadata
from pipelines.partitions import run_days
from pipelines.resources import BurnwatchResource


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


def materialize_whole(
    burnwatch: BurnwatchResource, table: str, build: Callable[[BurnwatchResource], int]
) -> dg.MaterializeResult:
    """Build an unpartitioned table and refresh the catalog."""
    rows = build(burnwatch)
    lake.refresh_catalog(burnwatch.warehouse_path)
    return dg.MaterializeResult(
        metadata=materialization_metadata(burnwatch.warehouse_path, table, rows=rows)
    )
