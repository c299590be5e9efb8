"""When the pipeline runs by itself: a schedule for the newest days, a sensor for new folders."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dagster as dg

from pipelines.ingest.files import requests_root
from pipelines.partitions import RANGE_END_TAG, RANGE_START_TAG
from pipelines.resources import ENV_DATA_DIR


def day_range_tags(first: dt.date, last: dt.date) -> dict[str, str]:
    """Run tags that make one run compute every day in [first, last] (a single-run backfill)."""
    return {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}


def build_newest_days_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Every hour, recompute yesterday (late rows land in today's folders) and today so far."""

    @dg.schedule(
        job=job, cron_schedule="7 * * * *", execution_timezone="UTC", name="burnwatch_hourly"
    )
    def burnwatch_hourly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        today = now.astimezone(dt.UTC).date()
        return dg.RunRequest(
            run_key=f"newest-{now:%Y-%m-%dT%H}",
            tags=day_range_tags(today - dt.timedelta(days=1), today),
        )

    return burnwatch_hourly


def _day_folders(data_dir: Path) -> set[str]:
    root = requests_root(data_dir)
    if not root.is_dir():
        return set()
    return {
        day_dir.name.removeprefix("date=")
        for tenant_dir in root.glob("tenant=*")
        for day_dir in tenant_dir.glob("date=*")
        if day_dir.is_dir()
    }


def build_new_day_folder_sensor(job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    """Start a run when a new date= folder appears under the request logs."""

    @dg.sensor(
        job=job,
        minimum_interval_seconds=60,
        name="new_day_folder",
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def new_day_folder(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        data_dir = os.environ.get(ENV_DATA_DIR)
        if not data_dir:
            return dg.SkipReason(f"{ENV_DATA_DIR} is not set")
        days = sorted(_day_folders(Path(data_dir)))
        newest_seen = context.cursor or ""
        new_days = [day for day in days if day > newest_seen]
        if not new_days:
            return dg.SkipReason("no new day folder")
        first = dt.date.fromisoformat(new_days[0]) - dt.timedelta(days=1)
        last = dt.date.fromisoformat(new_days[-1])
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key=f"days-{new_days[-1]}", tags=day_range_tags(first, last))
            ],
            cursor=new_days[-1],
        )

    return new_day_folder
