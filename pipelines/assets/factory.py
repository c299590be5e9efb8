"""One asset per registry entry: Dagster deps, partition mappings and metadata all come
from the model's entry in `pipelines.models.registry`; the body runs its builder for
the run's days, then refreshes the catalog and reports what it wrote."""

import datetime as dt
from collections.abc import Callable

import dagster as dg

from pipelines.assets.metadata import definition_metadata, materialization_metadata
from pipelines.models.registry import MODELS, Input, Kind, Model, Reach, Source, model
from pipelines.partitions import daily_partitions, run_day_range, run_days
from pipelines.progress import Stopwatch
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake

DayBuild = Callable[[BurnwatchResource, dt.date], int]
DaysBuild = Callable[
    [BurnwatchResource, list[dt.date], Callable[[dt.date, int], None]], dict[dt.date, int]
]
WholeBuild = Callable[[BurnwatchResource], int]
RunDaysBuild = Callable[[BurnwatchResource, tuple[dt.date, dt.date] | None], int]


def partition_mapping(source: Input) -> dg.PartitionMapping | None:
    """The Dagster mapping from a daily model's partition to the days of a daily input it
    reads (None: the same day). Static, so a manifest-dependent reach takes its bound."""
    if source.lookback.reach in (Reach.SAME_DAY, Reach.UP_TO_DAY):
        return None
    back = source.lookback.max_days_back() or 0
    end = -1 if source.lookback.reach is Reach.HISTORY else 0
    return dg.TimeWindowPartitionMapping(
        start_offset=-back, end_offset=end, allow_nonexistent_upstream_partitions=True
    )


def model_deps(entry: Model) -> list[dg.AssetDep]:
    """The asset's upstream tables with the days each reads (registry inputs + extra deps)."""
    deps: list[dg.AssetDep] = []
    for source in entry.lake_inputs():
        upstream = MODELS[source.table]
        mapped = entry.kind is Kind.DAILY and upstream.kind is Kind.DAILY
        mapping = partition_mapping(source) if mapped else None
        deps.append(dg.AssetDep(source.table, partition_mapping=mapping))
    deps.extend(dg.AssetDep(table) for table in entry.extra_deps)
    return deps


def _description(entry: Model) -> str:
    where = f"sql/{entry.layer}/{entry.name}.sql" if entry.source is Source.SQL else "Python"
    return f"{entry.description}\n\nComputed by: {where} (grain: {', '.join(entry.grain)})."


def daily_check(
    asset: dg.AssetsDefinition, description: str, blocking: bool = False
) -> Callable[..., dg.AssetChecksDefinition]:
    """`@dg.asset_check` for a daily asset: checked partition by partition."""
    return dg.asset_check(
        asset=asset, partitions_def=daily_partitions, blocking=blocking, description=description
    )


def model_asset(
    name: str,
    group: str,
    build: DayBuild | DaysBuild | WholeBuild | RunDaysBuild,
    *,
    days_at_once: bool = False,
    kinds: tuple[str, ...] = ("duckdb", "parquet"),
) -> dg.AssetsDefinition:
    """The asset that materializes registry model `name` with `build`: per day
    `build(resource, day)`, all the run's days at once with `days_at_once`
    (`build(resource, days, progress)`), or a whole table (`build(resource)`)."""
    entry = model(name)
    daily = entry.kind is Kind.DAILY
    # A whole table that a run updates from its own days: `build(resource, (first, last))`.
    over_run_days = any(source.lookback.reach is Reach.RUN_DAYS for source in entry.inputs)

    @dg.asset(
        name=name,
        kinds=set(kinds),
        group_name=group,
        owners=["team:sre"],
        description=_description(entry),
        partitions_def=daily_partitions if daily else None,
        backfill_policy=dg.BackfillPolicy.single_run() if daily else None,
        deps=model_deps(entry),
        pool="duckdb",
        metadata=definition_metadata(name),
    )
    def _asset(
        context: dg.AssetExecutionContext, burnwatch: BurnwatchResource
    ) -> dg.MaterializeResult:
        if days_at_once:
            return materialize_day_blocks(context, burnwatch, name, build)  # type: ignore[arg-type]
        if daily:
            return materialize_days(context, burnwatch, name, build)  # type: ignore[arg-type]
        if over_run_days:
            days = run_day_range(context)
            return materialize_whole(
                burnwatch,
                name,
                lambda resource: build(resource, days),  # type: ignore[call-arg, arg-type, return-value]
            )
        return materialize_whole(burnwatch, name, build)  # type: ignore[arg-type]

    return _asset


def day_line(table: str, day: dt.date, rows: int, seconds: float, index: int, total: int) -> str:
    """The progress line of one day of a step (a step that computes its days together
    writes them one by one: the first day's seconds then include the shared compute)."""
    return f"{table} {day}: {rows:,} rows in {seconds:.1f} s ({index}/{total} days)"


def materialize_days(
    context: dg.AssetExecutionContext,
    burnwatch: BurnwatchResource,
    table: str,
    build: Callable[[BurnwatchResource, dt.date], int],
) -> dg.MaterializeResult:
    """Build `table` for each day of the run in order, logging progress, and refresh the catalog."""
    days = run_days(context)
    rows_by_day: dict[dt.date, int] = {}
    watch = Stopwatch()
    for index, day in enumerate(days, start=1):
        rows_by_day[day] = build(burnwatch, day)
        context.log.info(day_line(table, day, rows_by_day[day], watch.lap(), index, len(days)))
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
    watch = Stopwatch()

    def log_day(day: dt.date, rows: int) -> None:
        done.append(day)
        context.log.info(day_line(table, day, rows, watch.lap(), len(done), len(days)))

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
