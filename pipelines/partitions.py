"""Daily partitions over event time (UTC), and helpers to read a run's days."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence

import dagster as dg

# The first day the UI offers; a backfill may start anywhere after it.
PARTITION_START = os.environ.get("BURNWATCH_PARTITION_START", "2024-01-01")

# end_offset=1 includes today, so the schedule can evaluate the newest steps.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITION_START, timezone="UTC", end_offset=1
)


def run_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The days this run computes, oldest first: one, or a backfill's whole range."""
    return [dt.date.fromisoformat(key) for key in context.partition_keys]


RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def run_day_range(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date] | None:
    """The day range of the run an unpartitioned asset runs in (a single-run backfill's
    tags); None when the run names no days (the asset materialized on its own)."""
    tags = context.run.tags
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return dt.date.fromisoformat(tags[RANGE_START_TAG]), dt.date.fromisoformat(
            tags[RANGE_END_TAG]
        )
    return None


def consecutive_blocks(days: Sequence[dt.date]) -> list[list[dt.date]]:
    """`days` (any order, duplicates allowed) as runs of consecutive days, oldest first."""
    blocks: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if blocks and day - blocks[-1][-1] == dt.timedelta(days=1):
            blocks[-1].append(day)
        else:
            blocks.append([day])
    return blocks


def scan_blocks(
    days: Sequence[dt.date], rows_by_day: Mapping[dt.date, int], max_rows: int
) -> list[list[dt.date]]:
    """Split `days` into runs of consecutive days holding at most `max_rows` input rows
    together (`rows_by_day`, absent: 0), so that one scan can serve each run without
    holding an unbounded range in memory. A day bigger than `max_rows` is a run alone.
    """
    blocks: list[list[dt.date]] = []
    for run in consecutive_blocks(days):
        block_rows = 0
        for day in run:
            day_rows = rows_by_day.get(day, 0)
            if (
                blocks
                and blocks[-1][-1] == day - dt.timedelta(days=1)
                and (block_rows + day_rows <= max_rows)
            ):
                blocks[-1].append(day)
                block_rows += day_rows
            else:
                blocks.append([day])
                block_rows = day_rows
    return blocks
