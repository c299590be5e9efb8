"""Daily partitions over event time (UTC), and helpers to read a run's days."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence

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


def consecutive_blocks(days: Sequence[dt.date]) -> list[list[dt.date]]:
    """`days` (any order, duplicates allowed) as runs of consecutive days, oldest first."""
    blocks: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if blocks and day - blocks[-1][-1] == dt.timedelta(days=1):
            blocks[-1].append(day)
        else:
            blocks.append([day])
    return blocks
