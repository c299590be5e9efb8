"""What the report and the summary show, queried from the lake by the models in `sql/reports/`.

`load_report_data(warehouse)` binds the lake tables the models read (never the
catalog, so it works while a user holds `burnwatch.duckdb` open), binds the
report's parameters as the one-row relation `report_params`, runs each model
and returns the frames, sorted, as `ReportData`. No SQL is written here: the
queries are the models, checked by sqlglot against `schemas/tables.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipelines.models.registry import model_sql
from pipelines.warehouse import lake
from pipelines.warehouse.literal import escape_glob
from pipelines.warehouse.params import bind_params
from pipelines.warehouse.session import bind, connect

# The lake table of change events (schemas.tables.ChangeEvents), written by the
# notifications stage; the page shows it, and matches it to episodes, when it has rows.
CHANGE_EVENTS = "change_events"
# Lake tables that other stages may or may not have written; each adds a section.
OPTIONAL_TABLES = {
    "cohort_thresholds": "Cohort thresholds",
    "replay_comparison": "Replay comparison",
}
# The lake tables the report models read.
REPORT_INPUTS = (
    "slo_specs",
    "alert_policy",
    "fct_burn_rates",
    "fct_error_budget",
    "fct_alert_episodes",
    "fct_slo_status",
    "fct_alert_evaluations",
    "fct_alert_contributors",
)
SUMMARY_INPUTS = ("fct_slo_status", "fct_alert_episodes")

# Charts are downsampled to the finest of these steps (minutes) that keeps a
# series under MAX_POINTS points, so the page stays small at any period length.
STEP_CHOICES_MINUTES = (5, 15, 60, 180, 360, 1440)
MAX_POINTS = 400
# At most this many tenant SLOs get charts (sql/reports/report_charted.sql: those with
# episodes first, then the most urgent), so the page's size and the report's memory
# stay bounded (some 24,000 chart points a tenant SLO) at any tenant count.
MAX_CHARTED_SLOS = 100

# A change event correlates with an episode when it happened between this long
# before the episode started and the episode's resolution (the default of the
# manifest's `notifications.events.lookback_minutes`, which the asset passes).
CHANGE_LOOKBACK = dt.timedelta(hours=2)
# A change event's tenant_id or service "*" applies to every tenant or service.
WILDCARD = "*"


@dataclass
class ReportData:
    """Everything the page shows, queried from the lake and sorted."""

    period_start: dt.datetime | None
    period_end: dt.datetime | None
    step_minutes: int
    overview: pl.DataFrame
    # The tenant SLOs with charts (report_charted), chart_rank order; the overview has all.
    charted: pl.DataFrame
    # The cap report_charted applied (report_params.max_charted_slos).
    max_charted_slos: int
    burndown: pl.DataFrame
    burn_rates: pl.DataFrame
    policy: pl.DataFrame
    episodes: pl.DataFrame
    # Spans of ticket steps held back while paging (report_suppressed), shaded on the timeline.
    suppressed: pl.DataFrame
    change_events: pl.DataFrame | None
    change_lookback: dt.timedelta
    extra_tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    # The burn panel's "what burned the budget" (report_contributors); empty: none.
    contributors: pl.DataFrame = field(default_factory=pl.DataFrame)


def choose_step_minutes(start: dt.datetime | None, end: dt.datetime | None) -> int:
    """The chart resolution: the finest step that keeps a series under MAX_POINTS points."""
    if start is None or end is None:
        return STEP_CHOICES_MINUTES[0]
    span_minutes = (end - start).total_seconds() / 60
    for step in STEP_CHOICES_MINUTES:
        if span_minutes / step < MAX_POINTS:
            return step
    return STEP_CHOICES_MINUTES[-1]


def bind_lake(
    connection: duckdb.DuckDBPyConnection, warehouse: Path, tables: Iterable[str]
) -> None:
    """Bind each lake table under its own name (typed and empty when it was never written)."""
    for table in tables:
        lake.bind_table(connection, warehouse, table)


def run_model(connection: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    """Run model `name` (`sql/*/<name>.sql`) and bind it as a view for the models after it."""
    bind(connection, name, model_sql(name))
    return connection.sql(model_sql(name)).pl()


def _has_parquet(warehouse: Path, table: str) -> bool:
    base = lake.lake_dir(warehouse, table)
    return base.is_dir() and any(base.rglob("*.parquet"))


def _optional_table(
    connection: duckdb.DuckDBPyConnection, warehouse: Path, table: str
) -> duckdb.DuckDBPyRelation:
    """An optional section's table as it lies in the lake: every file, with the partition
    folder's `date` column as the page has always shown it."""
    relation = connection.read_parquet(
        # The warehouse path literal, the files under it a pattern.
        f"{escape_glob(lake.lake_dir(warehouse, table))}/**/*.parquet",
        hive_partitioning=True,
        union_by_name=True,
    )
    return relation


def _sorted_all(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in a fixed order whatever order the files were read in: the policies of a
    replay comparison in the order they were given (policy_order), else every column."""
    if "policy_order" in frame.columns:
        return frame.sort("policy_order")  # one row per policy: a total order
    sortable = [
        name
        for name, kind in frame.schema.items()
        if kind.is_numeric()
        or kind in (pl.String, pl.Boolean, pl.Date)
        or isinstance(kind, pl.Datetime)
    ]
    return frame.sort(sortable, nulls_last=True) if sortable else frame


def _change_events(connection: duckdb.DuckDBPyConnection, warehouse: Path) -> pl.DataFrame | None:
    """The lake's change events as (tenant_id, service, ts, description), or None if it has
    none; the description is the event's kind and its words ("deploy v42")."""
    lake.bind_table(connection, warehouse, CHANGE_EVENTS)
    events = connection.table(CHANGE_EVENTS).pl()
    if events.is_empty():
        return None
    return (
        events.select(
            "tenant_id",
            "service",
            "ts",
            pl.concat_str(
                [pl.col("kind"), pl.col("description")], separator=" ", ignore_nulls=True
            ).alias("description"),
        )
        .drop_nulls(["tenant_id", "ts"])
        .sort(["tenant_id", "ts", "service", "description"], nulls_last=True)
    )


def _correlate(
    episodes: pl.DataFrame,
    specs: pl.DataFrame,
    changes: pl.DataFrame | None,
    period_end: dt.datetime | None,
    lookback: dt.timedelta,
) -> pl.DataFrame:
    """Add to each episode the change events of its tenant and its SLO's service (or of
    all, "*") from `lookback` before it started until it resolved."""
    if changes is None or episodes.is_empty():
        return episodes.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("changes"))
    end = pl.coalesce(pl.col("resolved_at"), pl.lit(period_end, dtype=pl.Datetime("us")))
    keyed = episodes.with_row_index("episode_index").join(
        specs.select("tenant_id", "slo_name", pl.col("service").alias("slo_service")),
        on=["tenant_id", "slo_name"],
        how="left",
    )
    everywhere = changes.filter(pl.col("tenant_id") == WILDCARD).drop("tenant_id")
    candidates = pl.concat(
        [
            keyed.join(changes, on="tenant_id", how="inner"),
            keyed.join(everywhere, how="cross"),
        ]
    )
    near = (
        candidates.filter(
            (pl.col("ts") >= pl.col("started_at") - lookback)
            & (pl.col("ts") <= end)
            & (
                pl.col("service").is_null()
                | pl.col("service").is_in([WILDCARD])
                | (pl.col("service") == pl.col("slo_service"))
            )
        )
        .sort(["episode_index", "ts", "description"])
        .group_by("episode_index", maintain_order=True)
        .agg(
            (pl.col("ts").dt.strftime("%Y-%m-%d %H:%M") + " " + pl.col("description")).alias(
                "changes"
            )
        )
    )
    return (
        episodes.with_row_index("episode_index")
        .join(near, on="episode_index", how="left")
        .with_columns(pl.col("changes").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .drop("episode_index")
    )


def load_report_data(
    warehouse: Path,
    change_lookback: dt.timedelta = CHANGE_LOOKBACK,
    max_charted_slos: int = MAX_CHARTED_SLOS,
) -> ReportData:
    """Query everything the report shows from the lake at `warehouse`."""
    warehouse = Path(warehouse)
    with connect() as connection:
        bind_lake(connection, warehouse, REPORT_INPUTS)
        connection.execute("set enable_progress_bar = false")
        [period] = run_model(connection, "report_period").to_dicts()
        start, end = period["period_start"], period["period_end"]
        step = choose_step_minutes(start, end)
        bind_params(
            connection,
            "report_params",
            {"step_minutes": step, "max_charted_slos": max_charted_slos},
        )
        overview = run_model(connection, "report_overview")
        charted = run_model(connection, "report_charted")
        burndown = run_model(connection, "report_burndown")
        burn_rates = run_model(connection, "report_burn_rates")
        policy = run_model(connection, "report_policy")
        episodes = run_model(connection, "report_episodes")
        suppressed = run_model(connection, "report_suppressed")
        contributors = run_model(connection, "report_contributors")
        specs = connection.table("slo_specs").pl()
        changes = _change_events(connection, warehouse)
        extras = {
            table: _optional_table(connection, warehouse, table).pl().pipe(_sorted_all)
            for table in OPTIONAL_TABLES
            if _has_parquet(warehouse, table)
        }
    return ReportData(
        period_start=start,
        period_end=end,
        step_minutes=step,
        overview=overview,
        charted=charted,
        max_charted_slos=max_charted_slos,
        burndown=burndown,
        burn_rates=burn_rates,
        policy=policy,
        episodes=_correlate(episodes, specs, changes, end, change_lookback),
        suppressed=suppressed,
        change_events=changes,
        change_lookback=change_lookback,
        extra_tables=extras,
        contributors=contributors,
    )
