"""One function per table: bind the model's inputs, run `sql/<table>.sql`, write the lake.

Assets, the benchmark and the tests call these, so every path computes a
table the same way. Each function returns the number of rows written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from pipelines import lake
from pipelines.inputs import bind_raw_requests, discover_request_files
from pipelines.resources import BurnwatchResource
from pipelines.sql_models import bind, bind_run_params, model_sql
from schemas.manifest import WINDOW_MINUTES, Manifest, load_manifest
from schemas.tables import AlertPolicy, SloSpecs

LONGEST_WINDOW = dt.timedelta(minutes=max(WINDOW_MINUTES.values()))


def slo_specs_frame(manifest: Manifest) -> pl.DataFrame:
    """The manifest's SLOs, cohort defaults resolved, as rows of `slo_specs`."""
    rows = [slo.model_dump() for slo in manifest.resolved_slos()]
    frame = pl.DataFrame(
        rows,
        schema={
            "tenant_id": pl.String, "slo_name": pl.String, "cohort": pl.String,
            "service": pl.String, "sli": pl.String, "objective": pl.Float64,
            "threshold_ms": pl.Float64, "period_days": pl.Int32,
        },
    ).select(list(SloSpecs.to_schema().columns))
    return SloSpecs.validate(frame)


def alert_policy_frame(manifest: Manifest) -> pl.DataFrame:
    """Every tenant SLO crossed with the policy's rules: rows of `alert_policy`."""
    rows = [
        {
            "tenant_id": slo.tenant_id,
            "slo_name": slo.slo_name,
            "rule_name": rule.name,
            "severity": rule.severity,
            "long_window": rule.long_window,
            "short_window": rule.short_window,
            "long_window_minutes": WINDOW_MINUTES[rule.long_window],
            "short_window_minutes": WINDOW_MINUTES[rule.short_window],
            "burn_threshold": rule.burn_rate,
        }
        for slo in manifest.resolved_slos()
        for rule in manifest.policy.rules
    ]
    schema = {name: column.dtype.type for name, column in AlertPolicy.to_schema().columns.items()}
    return AlertPolicy.validate(pl.DataFrame(rows, schema=schema))


def _write_frame(
    connection: duckdb.DuckDBPyConnection, frame: pl.DataFrame, warehouse: Path, table: str,
    order_by: str,
) -> int:
    connection.register("frame_to_write", frame.to_arrow())
    return lake.write_query(
        connection, f"select * from frame_to_write order by {order_by}", warehouse, table
    )


def build_slo_specs(resource: BurnwatchResource) -> int:
    manifest = load_manifest(resource.manifest_path)
    with resource.connect() as connection:
        return _write_frame(
            connection, slo_specs_frame(manifest), resource.warehouse_path, "slo_specs",
            "tenant_id, slo_name",
        )


def build_alert_policy(resource: BurnwatchResource) -> int:
    manifest = load_manifest(resource.manifest_path)
    with resource.connect() as connection:
        return _write_frame(
            connection, alert_policy_frame(manifest), resource.warehouse_path, "alert_policy",
            "tenant_id, slo_name, rule_name",
        )


def _bind_lake_table(
    connection: duckdb.DuckDBPyConnection, warehouse: Path, table: str,
    first: dt.date | None = None, last: dt.date | None = None,
) -> None:
    """Bind a lake table under its own name, limited to days [first, last] if given."""
    files = None
    if first is not None and last is not None:
        files = lake.existing_partition_files(warehouse, table, first, last)
    bind(connection, table, f"select * from {lake.scan_sql(warehouse, table, files)}")


def build_stg_requests(resource: BurnwatchResource, day: dt.date) -> int:
    files = discover_request_files(resource.data_path)
    skew = dt.timedelta(minutes=resource.skew_tolerance_minutes)
    with resource.connect() as connection:
        bind_raw_requests(connection, files, day, skew)
        bind_run_params(connection, day)
        return lake.write_query(
            connection, model_sql("stg_requests"), resource.warehouse_path, "stg_requests", day
        )


def build_int_sli_buckets(resource: BurnwatchResource, day: dt.date) -> int:
    warehouse = resource.warehouse_path
    with resource.connect() as connection:
        _bind_lake_table(connection, warehouse, "stg_requests", day, day)
        _bind_lake_table(connection, warehouse, "slo_specs")
        bind_run_params(connection, day)
        return lake.write_query(
            connection, model_sql("int_sli_buckets"), warehouse, "int_sli_buckets", day
        )


def _days_back(day: dt.date, span: dt.timedelta) -> dt.date:
    """The first day whose buckets a window of `span` ending in `day` can reach."""
    return day - dt.timedelta(days=span.days + 1)


def build_fct_burn_rates(resource: BurnwatchResource, day: dt.date) -> int:
    warehouse = resource.warehouse_path
    with resource.connect() as connection:
        _bind_lake_table(
            connection, warehouse, "int_sli_buckets", _days_back(day, LONGEST_WINDOW), day
        )
        _bind_lake_table(connection, warehouse, "slo_specs")
        bind_run_params(connection, day)
        return lake.write_query(
            connection, model_sql("fct_burn_rates"), warehouse, "fct_burn_rates", day
        )


def build_fct_error_budget(resource: BurnwatchResource, day: dt.date) -> int:
    warehouse = resource.warehouse_path
    with resource.connect() as connection:
        _bind_lake_table(connection, warehouse, "slo_specs")
        row = connection.execute("select coalesce(max(period_days), 1) from slo_specs").fetchone()
        longest_period = dt.timedelta(days=int(row[0]) if row else 1)
        _bind_lake_table(
            connection, warehouse, "int_sli_buckets", _days_back(day, longest_period), day
        )
        _bind_lake_table(connection, warehouse, "fct_burn_rates", day, day)
        bind_run_params(connection, day)
        return lake.write_query(
            connection, model_sql("fct_error_budget"), warehouse, "fct_error_budget", day
        )


def build_fct_alert_evaluations(resource: BurnwatchResource, day: dt.date) -> int:
    warehouse = resource.warehouse_path
    with resource.connect() as connection:
        _bind_lake_table(connection, warehouse, "fct_burn_rates", day, day)
        _bind_lake_table(connection, warehouse, "alert_policy")
        return lake.write_query(
            connection, model_sql("fct_alert_evaluations"), warehouse, "fct_alert_evaluations", day
        )


def build_fct_alert_episodes(resource: BurnwatchResource) -> int:
    warehouse = resource.warehouse_path
    with resource.connect() as connection:
        _bind_lake_table(connection, warehouse, "fct_alert_evaluations")
        return lake.write_query(
            connection, model_sql("fct_alert_episodes"), warehouse, "fct_alert_episodes"
        )
