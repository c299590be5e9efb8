"""Daily partitions over event time (UTC), and helpers to read a run's days."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg

from schemas.errors import BurnwatchInputError

ENV_PARTITION_START = "BURNWATCH_PARTITION_START"
# Without a data folder or a set start (tests, a bare `dagster dev`): a fixed early day.
FALLBACK_PARTITION_START = "2024-01-01"


def first_data_day(data_dir: Path) -> dt.date | None:
    """The oldest `date=` folder under `<data>/requests/tenant=*/`, None without any."""
    days = [
        day_dir.name.removeprefix("date=")
        for day_dir in (Path(data_dir) / "requests").glob("tenant=*/date=*")
        if day_dir.is_dir()
    ]
    valid = []
    for day in days:
        try:
            valid.append(dt.date.fromisoformat(day))
        except ValueError:
            continue  # not a day folder; discovery reports it when a run reads the logs
    return min(valid) if valid else None


def partition_start() -> str:
    """The first day the UI offers: BURNWATCH_PARTITION_START, else the first day of data in
    BURNWATCH_DATA_DIR (so 14 days of logs are 14 partitions, not years of empty ones), else
    FALLBACK_PARTITION_START."""
    if os.environ.get(ENV_PARTITION_START):
        return os.environ[ENV_PARTITION_START]
    data_dir = os.environ.get("BURNWATCH_DATA_DIR")
    first = first_data_day(Path(data_dir)) if data_dir else None
    return first.isoformat() if first else FALLBACK_PARTITION_START


PARTITION_START = partition_start()

# end_offset=1 includes today, so the schedule can evaluate the newest steps.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITION_START, timezone="UTC", end_offset=1
)


def check_partitioned(first: dt.date) -> None:
    """Refuse a run whose first day the daily partitions do not hold (they start at the
    first day of BURNWATCH_DATA_DIR's logs, which may be another folder than the run's)."""
    start = dt.date.fromisoformat(PARTITION_START[:10])
    if first < start:
        raise BurnwatchInputError(
            f"day {first} is before the first daily partition {start} (the first day of "
            f"BURNWATCH_DATA_DIR, or {ENV_PARTITION_START}); set {ENV_PARTITION_START}={first}"
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
