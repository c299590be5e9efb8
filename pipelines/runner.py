"""`burnwatch run`: materialize the asset graph through Dagster, for a range of days or as
one live cycle.

It is the same code path as a backfill launched from the UI: one Dagster run
that computes the specs, then every day of the range in order (a single-run
backfill), then the horizons, episodes, status, notifications and reports. A
cycle picks its days from the ingest ledger (pipelines/ingest/ledger.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines import run_failures, settings
from pipelines.definitions import all_asset_checks, all_assets
from pipelines.ingest import adjustment_days, ledger
from pipelines.ingest.files import (
    RequestFile,
    files_for_days,
    inventory_requests,
    pinned_inventory,
)
from pipelines.ingest.quarantine import quarantine_warnings
from pipelines.ingest.rules import load_run_overrides
from pipelines.instance import free_stale_slots, run_instance, run_tags
from pipelines.models.registry import history_days_needed, longest_period_days
from pipelines.notify import audit, outbox
from pipelines.notify.events import read_change_events
from pipelines.partitions import check_partitioned
from pipelines.progress import progress_logger, quiet
from pipelines.resources import (
    ENV_CONTRACTS,
    BurnwatchResource,
    checked_limits,
    engine_from_env,
)
from pipelines.schedules import OFF_CYCLE_ASSETS, day_range_tags
from pipelines.warehouse import lake
from pipelines.warehouse.atomic import remove_stale_temporaries
from schemas.errors import BurnwatchInputError
from schemas.manifest import Manifest, load_manifest

LOCK_FILE = ".burnwatch.lock"
# The job name `burnwatch run`'s runs have in the Dagster UI.
CLI_JOB = "burnwatch_run"


@dataclass(frozen=True)
class RunOutcome:
    # The days computed; None for a cycle that brought no new request file.
    first_day: dt.date | None
    last_day: dt.date | None
    warehouse: Path
    run_id: str
    # One line per input file that was quarantined whole or in part (see quarantine_warnings).
    quarantined: tuple[str, ...] = ()
    # Input that no SLI counts: entries under requests/ that are not read, tenants whose
    # logs have no manifest entry (`RequestInventory.uncounted_warnings`).
    uncounted: tuple[str, ...] = ()
    # Manifest tenants without logs: said, but not a reason to exit 3.
    notes: tuple[str, ...] = ()


def plan_days(
    files: list[RequestFile], start: dt.date | None, end: dt.date | None
) -> tuple[dt.date, dt.date]:
    """The day range to compute: the given bounds, or every day that has a folder."""
    first = start or files[0].day
    last = end or files[-1].day
    if first > last:
        raise BurnwatchInputError(f"--start {first} is after --end {last}")
    return first, last


def lookback_days(manifest: Manifest) -> int:
    """How many days before a day its windows and budget periods can reach (the registry's
    lookbacks, at the manifest's longest SLO period)."""
    periods = [(slo.period_days, slo.calendar) for slo in manifest.resolved_slos()]
    return history_days_needed(longest_period_days(periods))


def extend_for_history(
    files: list[RequestFile], first: dt.date, warehouse: Path, lookback: int
) -> dt.date:
    """Move `first` back over days that have logs but are missing from the lake, so the
    windows and budgets of `first` see every request before it (a fresh warehouse run
    with --start would otherwise start from nothing)."""
    computed = set(lake.partition_days(warehouse, "int_sli_buckets"))
    earliest = first - dt.timedelta(days=lookback)
    missing = sorted({file.day for file in files if earliest <= file.day < first} - computed)
    return missing[0] if missing else first


@contextlib.contextmanager
def warehouse_lock(warehouse: Path, say: Callable[[str], None]) -> Iterator[None]:
    """Hold the warehouse's lock for the run; a second run waits, saying so, then proceeds."""
    warehouse.mkdir(parents=True, exist_ok=True)
    with open(warehouse / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            say(f"waiting for the burnwatch run that holds {warehouse} ({holder}) to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def clean_after_killed_runs(warehouse: Path, say: Callable[[str], None]) -> None:
    """Remove what killed runs left: temporary files (never renamed into place) and a
    stale write-ahead log beside the catalog. Runs under the warehouse lock."""
    removed = remove_stale_temporaries(warehouse)
    if lake.remove_stale_wal(warehouse / lake.CATALOG_FILE):
        removed.append(lake.wal_path(warehouse / lake.CATALOG_FILE))
    if removed:
        say(f"removed {len(removed)} file(s) that killed runs left in {warehouse}")


def _check_as_of(as_of: dt.datetime | None, warehouse: Path, full: bool) -> None:
    """An --as-of before the warehouse's last horizon would un-evaluate steps that were
    evaluated, and maybe sent: refuse it, unless the run recomputes everything (--full)."""
    if as_of is None or full:
        return
    horizons = lake.read_table(warehouse, "int_tenant_horizons")
    last = horizons["horizon"].max() if horizons.height else None
    if isinstance(last, dt.datetime) and as_of < last:
        raise BurnwatchInputError(
            f"--as-of {as_of:%Y-%m-%dT%H:%M}: before the warehouse's last horizon "
            f"{last:%Y-%m-%dT%H:%M}; run with --full to recompute as of that time"
        )


def _materialize(
    resource: BurnwatchResource,
    days: tuple[dt.date, dt.date] | None,
    cycle: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dg.ExecuteInJobResult:
    """One Dagster run: every asset for the days, or without days only the unpartitioned
    ones (horizons, episodes, status, notifications, summary). A cycle leaves out the
    assets that read all history (the replay, the report): they run on their own schedule.

    The run is recorded in the instance at $DAGSTER_HOME when it is set (so the UI shows
    it), after freeing the pool slots of runs that died (pipelines/instance.py); progress
    lines, one per step and per day, go to `progress` (None: none)."""
    if days is None:
        selected = [a for a in all_assets if getattr(a, "partitions_def", None) is None]
        tags: dict[str, str] = {}
    else:
        check_partitioned(days[0])
        selected = [*all_assets, *all_asset_checks]
        tags = day_range_tags(*days)
    if cycle:
        selected = [a for a in selected if not _is_off_cycle(a)]
    loggers = {
        "burnwatch_progress": progress_logger(progress or quiet),
        "console": dg.colored_console_logger,
    }
    job_defs = dg.Definitions(
        jobs=[dg.define_asset_job(CLI_JOB)],
        assets=selected,
        resources={"burnwatch": resource},
        loggers=loggers,
    )
    with run_instance() as instance:
        free_stale_slots(instance, resource.warehouse_path)
        return job_defs.resolve_job_def(CLI_JOB).execute_in_process(
            instance=instance,
            tags={**tags, **run_tags(resource.warehouse_path)},
            raise_on_error=False,
            # Dagster prints each failed step with its trace; a failure is told in one line
            # and its traces go to <warehouse>/logs/ (pipelines/run_failures.py). The
            # progress lines say the rest.
            run_config={
                "loggers": {
                    "console": {"config": {"log_level": "CRITICAL"}},
                    "burnwatch_progress": {},
                }
            },
        )


def _is_off_cycle(definition: object) -> bool:
    keys: set[dg.AssetKey] = set(getattr(definition, "keys", set()))
    return bool({key.to_user_string() for key in keys} & OFF_CYCLE_ASSETS)


def checked_engine(
    engine: str | None, spark_master: str | None, spark_remote: str | None
) -> dict[str, Any]:
    """The resource's engine settings: the arguments, else the environment's; a Spark
    master or remote implies the Spark engine. With Spark, the session is started here,
    before anything is written, so a missing Java or PySpark, or a Spark Connect server
    that does not answer, is one error line (BurnwatchInputError) and an untouched lake."""
    chosen = engine_from_env()
    if spark_master:
        chosen["spark_master"] = spark_master
    if spark_remote:
        chosen["spark_remote"] = spark_remote
    if engine:
        chosen["engine"] = settings.engine(engine, "--engine")
    elif spark_master or spark_remote:
        chosen["engine"] = "spark"
    if chosen.get("engine") == "spark":
        from pipelines.engines.spark_run import shared_session

        shared_session(chosen.get("spark_master", ""), chosen.get("spark_remote", ""))
    return chosen


def run_pipeline(
    data_dir: Path,
    manifest: Path,
    warehouse: Path,
    start: dt.date | None = None,
    end: dt.date | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    dry_run: bool = False,
    say: Callable[[str], None] | None = None,
    full: bool = False,
    as_of: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
    engine: str | None = None,
    spark_master: str | None = None,
    spark_remote: str | None = None,
) -> RunOutcome:
    """Materialize every asset for the days that need it, through Dagster, as one run.

    With --start/--end, those days (and missing earlier days their windows reach);
    with `full`, every day found; otherwise, on a warehouse with an ingest ledger, a
    *cycle*: only the days that new or changed request files touch (see
    pipelines/ingest/ledger.py), or, when nothing is new, only the unpartitioned
    tail (horizons, episodes, status, notifications). A first run computes every day.

    The manifest, the contracts file and the data folder are checked before
    anything is written; bad input there raises BurnwatchInputError. A request
    file or row that breaks the contract is quarantined and the run goes on
    for everything else; `RunOutcome.quarantined` lists the files concerned.
    `progress` gets one line per step and per day (rows, seconds); None: no lines.
    `engine` "spark" computes the SQL models on Spark (`spark_master`, else local[*],
    or the Spark Connect server `spark_remote`); None: BURNWATCH_ENGINE, else DuckDB.
    Re-running replaces partitions whole, so a run is idempotent.
    """
    say = say or (lambda message: print(message, file=sys.stderr))
    data_dir, manifest, warehouse = Path(data_dir), Path(manifest), Path(warehouse)
    loaded = load_manifest(manifest)
    inventory = inventory_requests(data_dir)
    files = inventory.files
    tenants = [tenant.id for tenant in loaded.tenants]
    uncounted = tuple(inventory.uncounted_warnings(tenants))
    notes = tuple(inventory.tenant_warnings(tenants)[1])
    contracts = os.environ.get(ENV_CONTRACTS, "")
    load_run_overrides(data_dir, manifest, contracts)
    limits = checked_limits(threads, memory_limit)
    settings.check_warehouse(warehouse)
    audit.check_log(warehouse)
    outbox.check_not_held(warehouse)
    # Checked now, not at the notifications step: by then the lake has been written.
    read_change_events(data_dir)
    _check_as_of(as_of, warehouse, full)
    spark = checked_engine(engine, spark_master, spark_remote)
    resource = BurnwatchResource(
        data_dir=str(data_dir.resolve()),
        manifest=str(manifest.resolve()),
        warehouse=str(warehouse.resolve()),
        dry_run=dry_run,
        contracts=str(Path(contracts).resolve()) if contracts else "",
        as_of=as_of.isoformat() if as_of else "",
        full=full,
        **limits,
        **spark,
    )
    cycle = start is None and end is None and not full and ledger.ledger_path(warehouse).is_file()
    with warehouse_lock(warehouse, say):
        clean_after_killed_runs(warehouse, say)
        for line in loaded.policy_warnings():
            say(f"burnwatch: warning: alert policy: {line}")
        started = ledger.now_ns()
        days: tuple[dt.date, dt.date] | None
        if cycle:
            plan = ledger.plan_next_cycle(
                data_dir,
                warehouse,
                files,
                loaded.evaluation_delay_minutes,
                as_of,
                loaded.resolved_adjustments(),
            )
            days = (plan.days[0], plan.days[-1]) if plan.days else None
            say(
                f"cycle: {len(plan.new)} new and {len(plan.changed)} changed request file(s); "
                + (
                    f"{len(plan.adjusted)} day(s) whose budget adjustments changed; "
                    if plan.adjusted
                    else ""
                )
                + (
                    f"computing {days[0]} .. {days[1]} into {warehouse}"
                    if days
                    else "refreshing horizons, episodes, status and notifications"
                )
            )
        else:
            first, last = plan_days(files, start, end)
            if start is not None:
                first = extend_for_history(files, first, warehouse, lookback_days(loaded))
                if first < start:
                    say(
                        f"also computing {first} .. {start - dt.timedelta(days=1)}: windows and "
                        f"budgets of {start} reach back into those days, which the warehouse "
                        "does not have yet"
                    )
            days = (first, last)
            say(f"computing {first} .. {last} ({(last - first).days + 1} days) into {warehouse}")
        # The steps read the files of one walk of the data folder, taken now (under the
        # resolved path they are given), not one walk per step and day; the ledger
        # records that walk's files, the ones the steps could read.
        with pinned_inventory(resource.data_path) as pinned:
            result = _materialize(resource, days, cycle, progress)
        if not result.success:
            raise run_failures.failure(warehouse, result, loaded)
        if days is not None:
            # The folders the run's staging read: its days and their neighbours.
            read = files_for_days(
                pinned.files, days[0] - dt.timedelta(days=1), days[1] + dt.timedelta(days=1)
            )
            ledger.commit(data_dir, warehouse, read, result.run_id, started)
            adjustment_days.commit(warehouse, loaded.resolved_adjustments(), *days)
    warnings = quarantine_warnings(warehouse, *days) if days else ()
    return RunOutcome(
        days[0] if days else None,
        days[1] if days else None,
        warehouse,
        result.run_id,
        warnings,
        uncounted,
        notes,
    )
