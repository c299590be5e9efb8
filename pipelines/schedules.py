"""When the pipeline runs by itself: the live cycle (every 5 minutes), an hourly schedule for
the newest days, a sensor for new day folders, and the sensor that keeps the ingest ledger."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from pipelines.ingest import adjustment_days, ledger
from pipelines.ingest.files import discover_request_files, files_for_days, requests_root
from pipelines.partitions import RANGE_END_TAG, RANGE_START_TAG
from pipelines.settings import ENV_DATA_DIR, ENV_MANIFEST, ENV_WAREHOUSE
from schemas.manifest import ResolvedAdjustment, load_manifest


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


# Assets that read all history: a cycle leaves them to their own (daily) schedule.
OFF_CYCLE_ASSETS = frozenset({"policy_replay", "report"})
ENV_HISTORY_CRON = "BURNWATCH_HISTORY_CRON"
DEFAULT_HISTORY_CRON = "17 3 * * *"

# The live cycle's cron (UTC); every 5 minutes, a step, by default.
ENV_CYCLE_CRON = "BURNWATCH_CYCLE_CRON"
DEFAULT_CYCLE_CRON = "*/5 * * * *"


def _paths_from_env() -> tuple[Path, Path] | None:
    data, warehouse = os.environ.get(ENV_DATA_DIR), os.environ.get(ENV_WAREHOUSE)
    return (Path(data), Path(warehouse)) if data and warehouse else None


def cycle_run_request(
    data_dir: Path,
    warehouse: Path,
    evaluation_delay_minutes: int = 0,
    adjustments: Sequence[ResolvedAdjustment] = (),
) -> dg.RunRequest | dg.SkipReason:
    """The run a live cycle needs now: the days that new or changed request files touch
    (pipelines/ingest/ledger.py), every day on a warehouse without a ledger, or, when
    nothing is new, only the unpartitioned tail (horizons, episodes, status, messages)."""
    files = discover_request_files(data_dir)
    if not ledger.ledger_path(warehouse).is_file():
        return dg.RunRequest(tags=day_range_tags(files[0].day, files[-1].day))
    plan = ledger.plan_next_cycle(
        data_dir, warehouse, files, evaluation_delay_minutes, adjustments=adjustments
    )
    if plan.days:
        return dg.RunRequest(
            tags=day_range_tags(plan.days[0], plan.days[-1]), asset_selection=cycle_asset_keys()
        )
    return dg.RunRequest(asset_selection=tail_asset_keys())


def cycle_asset_keys() -> list[dg.AssetKey]:
    """Every asset but those that read all history (OFF_CYCLE_ASSETS)."""
    from pipelines.definitions import all_assets

    return [
        key
        for asset in all_assets
        if isinstance(asset, dg.AssetsDefinition)
        for key in asset.keys
        if key.to_user_string() not in OFF_CYCLE_ASSETS
    ]


def tail_asset_keys() -> list[dg.AssetKey]:
    """The unpartitioned assets: what a cycle without new logs still refreshes."""
    from pipelines.definitions import all_assets

    return [
        key
        for asset in all_assets
        if isinstance(asset, dg.AssetsDefinition) and asset.partitions_def is None
        for key in asset.keys
        if key.to_user_string() not in OFF_CYCLE_ASSETS
    ]


def build_cycle_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Every 5 minutes (BURNWATCH_CYCLE_CRON), one live cycle: the same plan as
    `burnwatch run` without --start/--end. Off by default; the `ingest_ledger` sensor
    records what each successful run counted."""

    @dg.schedule(
        job=job,
        cron_schedule=os.environ.get(ENV_CYCLE_CRON, DEFAULT_CYCLE_CRON),
        execution_timezone="UTC",
        name="burnwatch_cycle",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def burnwatch_cycle(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        paths = _paths_from_env()
        manifest = os.environ.get(ENV_MANIFEST)
        if paths is None or not manifest:
            return dg.SkipReason(f"{ENV_DATA_DIR}, {ENV_MANIFEST} and {ENV_WAREHOUSE} must be set")
        loaded = load_manifest(manifest)
        return cycle_run_request(
            *paths, loaded.evaluation_delay_minutes, loaded.resolved_adjustments()
        )

    return burnwatch_cycle


def build_ledger_sensor(job: dg.UnresolvedAssetJobDefinition) -> dg.RunStatusSensorDefinition:
    """After a run of the job succeeds, record the request files of its days (and their
    neighbours, which staging read) in the ingest ledger, as `burnwatch run` does."""

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[job],
        name="ingest_ledger",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def ingest_ledger(context: dg.RunStatusSensorContext) -> dg.SkipReason | None:
        paths = _paths_from_env()
        run = context.dagster_run
        if paths is None or RANGE_START_TAG not in run.tags:
            return dg.SkipReason("no data folder, or a run without days")
        first = dt.date.fromisoformat(run.tags[RANGE_START_TAG]) - dt.timedelta(days=1)
        last = dt.date.fromisoformat(run.tags[RANGE_END_TAG]) + dt.timedelta(days=1)
        stats = context.instance.get_run_stats(run.run_id)
        started = int((stats.start_time or 0) * 1_000_000_000)
        data_dir, warehouse = paths
        read = files_for_days(discover_request_files(data_dir), first, last)
        ledger.commit(data_dir, warehouse, read, run.run_id, started)
        manifest = os.environ.get(ENV_MANIFEST)
        if manifest:
            adjustment_days.commit(
                warehouse,
                load_manifest(manifest).resolved_adjustments(),
                first + dt.timedelta(days=1),
                last - dt.timedelta(days=1),
            )
        return None

    return ingest_ledger


def build_history_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Once a day (BURNWATCH_HISTORY_CRON, 03:17 UTC): the assets that read all history and
    that live cycles leave out, the policy replay and the report."""

    @dg.schedule(
        job=job,
        cron_schedule=os.environ.get(ENV_HISTORY_CRON, DEFAULT_HISTORY_CRON),
        execution_timezone="UTC",
        name="burnwatch_history",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def burnwatch_history(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(
            asset_selection=[dg.AssetKey(name) for name in sorted(OFF_CYCLE_ASSETS)]
        )

    return burnwatch_history
