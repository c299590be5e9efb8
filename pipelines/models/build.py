"""One function per table: bind the model's inputs, run `sql/<table>.sql`, write the lake.

Assets, the benchmark and the tests call these, so every path computes a
table the same way. Each function returns the number of rows written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import polars as pl

from pipelines.partitions import consecutive_blocks
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake
from pipelines.warehouse.session import bind, bind_run_params, model_sql
from schemas.manifest import WINDOW_MINUTES, Manifest, load_manifest
from schemas.tables import AlertPolicy, SloSpecs, sql_columns

LONGEST_WINDOW = dt.timedelta(minutes=max(WINDOW_MINUTES.values()))


def slo_specs_frame(manifest: Manifest) -> pl.DataFrame:
    """The manifest's SLOs, cohort defaults resolved, as rows of `slo_specs`."""
    rows = [slo.model_dump() for slo in manifest.resolved_slos()]
    frame = pl.DataFrame(
        rows,
        schema={
            "tenant_id": pl.String,
            "slo_name": pl.String,
            "cohort": pl.String,
            "service": pl.String,
            "sli": pl.String,
            "objective": pl.Float64,
            "threshold_ms": pl.Float64,
            "period_days": pl.Int32,
            "calendar": pl.String,
            "timezone": pl.String,
            "budgeting": pl.String,
            "timeslice_minutes": pl.Int32,
            "timeslice_target": pl.Float64,
            "bad_predicate": pl.String,
        },
    ).select(list(SloSpecs.to_schema().columns))
    return SloSpecs.validate(frame)


def alert_policy_frame(manifest: Manifest) -> pl.DataFrame:
    """Every tenant SLO crossed with its policy's rules (manifest, cohort and tenant
    overrides merged, thresholds as burn rates): rows of `alert_policy`."""
    rows = [rule.model_dump() for rule in manifest.resolved_rules()]
    schema = {name: column.dtype.type for name, column in AlertPolicy.to_schema().columns.items()}
    frame = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    return AlertPolicy.validate(frame.select(list(schema)))


def write_frame(
    connection: duckdb.DuckDBPyConnection,
    frame: pl.DataFrame,
    warehouse: Path,
    table: str,
    order_by: str,
    day: dt.date | None = None,
) -> int:
    connection.register("frame_to_write", frame.to_arrow())
    return lake.write_query(
        connection, f"select * from frame_to_write order by {order_by}", warehouse, table, day
    )


def build_slo_specs(resource: BurnwatchResource) -> int:
    manifest = load_manifest(resource.manifest_path)
    with resource.connect() as connection:
        return write_frame(
            connection,
            slo_specs_frame(manifest),
            resource.warehouse_path,
            "slo_specs",
            "tenant_id, slo_name",
        )


def build_alert_policy(resource: BurnwatchResource) -> int:
    manifest = load_manifest(resource.manifest_path)
    with resource.connect() as connection:
        return write_frame(
            connection,
            alert_policy_frame(manifest),
            resource.warehouse_path,
            "alert_policy",
            "tenant_id, slo_name, rule_name",
        )


INT_SLI_BUCKETS_ORDER = "tenant_id, slo_name, bucket_start"
INT_SLI_BUCKETS_RUN = "int_sli_buckets_run"

DayProgress = Callable[[dt.date, int], None]


def build_int_quarantine_counts(resource: BurnwatchResource, day: dt.date) -> int:
    """Per tenant-day: rows in, rows quarantined, and whether SLIs are computed."""
    warehouse = resource.warehouse_path
    with resource.connect() as connection:
        lake.bind_table(connection, warehouse, "contract_report", day, day)
        lake.bind_table(connection, warehouse, "quarantine", day, day)
        bind(
            connection,
            "quarantine_policy",
            f"select cast({float(resource.max_quarantined_share)!r} as double) "
            "as max_quarantined_share",
        )
        bind_run_params(connection, day)
        return lake.write_query(
            connection,
            model_sql("int_quarantine_counts"),
            warehouse,
            "int_quarantine_counts",
            day,
        )


def build_int_sli_buckets(resource: BurnwatchResource, day: dt.date) -> int:
    """`build_int_sli_buckets_days` for one day."""
    return build_int_sli_buckets_days(resource, [day])[day]


def build_int_sli_buckets_days(
    resource: BurnwatchResource, days: Sequence[dt.date], progress: DayProgress | None = None
) -> dict[dt.date, int]:
    """Per tenant SLO and 5-minute bucket of each day (sql/int_sli_buckets.sql), computed
    for blocks of consecutive days at once from their `stg_requests` partitions."""
    written: dict[dt.date, int] = {}
    for block in consecutive_blocks(days):
        with resource.connect() as connection:
            compute_int_sli_buckets(connection, resource, block[0], block[-1])
            written |= lake.write_days(
                connection,
                INT_SLI_BUCKETS_RUN,
                resource.warehouse_path,
                "int_sli_buckets",
                block,
                "bucket_start",
                INT_SLI_BUCKETS_ORDER,
                progress,
            )
    return written


def compute_int_sli_buckets(
    connection: duckdb.DuckDBPyConnection,
    resource: BurnwatchResource,
    first: dt.date,
    last: dt.date,
    stg_requests: str | None = None,
) -> None:
    """Run sql/int_sli_buckets.sql for days [first, last] into the temp table
    INT_SLI_BUCKETS_RUN, from the lake's `stg_requests` or the relation given."""
    warehouse = resource.warehouse_path
    if stg_requests is None:
        lake.bind_table(connection, warehouse, "stg_requests", first, last)
    else:
        bind(connection, "stg_requests", f"select * from {stg_requests}")
    lake.bind_table(connection, warehouse, "slo_specs")
    lake.bind_table(connection, warehouse, "int_quarantine_counts", first, last)
    define_custom_bad_macro(connection)
    bind_run_params(connection, first, last)
    connection.execute(
        f"create or replace temp table {INT_SLI_BUCKETS_RUN} as {model_sql('int_sli_buckets')}"
    )


def _bind_units(connection: duckdb.DuckDBPyConnection) -> None:
    """Bind the ephemeral `int_sli_units` model over the bound int_sli_buckets and slo_specs."""
    bind(connection, "int_sli_units", model_sql("int_sli_units"))


# Calendar periods reach back at most this many days from a day's first step.
_CALENDAR_LOOKBACK_DAYS = {"week": 7, "month": 31, "quarter": 92}


def _budget_lookback(connection: duckdb.DuckDBPyConnection) -> dt.timedelta:
    """How far back the longest SLO period of the bound `slo_specs` can reach."""
    rows = connection.execute("select period_days, calendar from slo_specs").fetchall()
    days = [
        _CALENDAR_LOOKBACK_DAYS[calendar] if calendar else int(period_days)
        for period_days, calendar in rows
    ]
    return dt.timedelta(days=max(days, default=1))


def define_custom_bad_macro(connection: duckdb.DuckDBPyConnection) -> None:
    """Define `burnwatch_custom_bad(predicate, <contract columns>)` from slo_specs.

    The manifest's predicates were checked by sqlglot (schemas.predicates); the
    macro evaluates the one named by its first argument over a request's columns.
    """
    rows = connection.execute(
        "select distinct bad_predicate from slo_specs where bad_predicate is not null "
        "order by bad_predicate"
    ).fetchall()
    parameters = ", ".join(sql_columns("raw_requests"))
    branches = " ".join(
        "when '{}' then ({})".format(predicate.replace("'", "''"), predicate)
        for (predicate,) in rows
    )
    body = f"case predicate {branches} end" if branches else "null::boolean"
    connection.execute(
        f"create or replace temp macro burnwatch_custom_bad(predicate, {parameters}) as {body}"
    )


def _days_back(day: dt.date, span: dt.timedelta) -> dt.date:
    """The first day whose buckets a window of `span` ending in `day` can reach."""
    return day - dt.timedelta(days=span.days + 1)


def build_fct_burn_rates(resource: BurnwatchResource, day: dt.date) -> int:
    warehouse = resource.warehouse_path
    with resource.connect() as connection:
        lake.bind_table(
            connection, warehouse, "int_sli_buckets", _days_back(day, LONGEST_WINDOW), day
        )
        lake.bind_table(connection, warehouse, "slo_specs")
        _bind_units(connection)
        bind_run_params(connection, day)
        return lake.write_query(
            connection, model_sql("fct_burn_rates"), warehouse, "fct_burn_rates", day
        )


def build_fct_error_budget(resource: BurnwatchResource, day: dt.date) -> int:
    warehouse = resource.warehouse_path
    with resource.connect() as connection:
        lake.bind_table(connection, warehouse, "slo_specs")
        lake.bind_table(
            connection,
            warehouse,
            "int_sli_buckets",
            _days_back(day, _budget_lookback(connection)),
            day,
        )
        _bind_units(connection)
        lake.bind_table(connection, warehouse, "fct_burn_rates", day, day)
        bind_run_params(connection, day)
        return lake.write_query(
            connection, model_sql("fct_error_budget"), warehouse, "fct_error_budget", day
        )


def build_fct_alert_evaluations(resource: BurnwatchResource, day: dt.date) -> int:
    warehouse = resource.warehouse_path
    with resource.connect() as connection:
        # The day before too: a ticket's firing run is followed back across midnight.
        lake.bind_table(connection, warehouse, "fct_burn_rates", day - dt.timedelta(days=1), day)
        lake.bind_table(connection, warehouse, "alert_policy")
        if load_manifest(resource.manifest_path).policy.thresholds == "cohort":
            from pipelines.policy.cohort_thresholds import bind_cohort_policy

            bind_cohort_policy(connection, warehouse, day)
        return lake.write_query(
            connection, model_sql("fct_alert_evaluations"), warehouse, "fct_alert_evaluations", day
        )


def build_fct_alert_episodes(resource: BurnwatchResource) -> int:
    warehouse = resource.warehouse_path
    with resource.connect() as connection:
        lake.bind_table(connection, warehouse, "fct_alert_evaluations")
        return lake.write_query(
            connection, model_sql("fct_alert_episodes"), warehouse, "fct_alert_episodes"
        )
