"""Every table's columns and types: the only place a column list lives.

Each table is a pandera (polars backend) model. `sql_columns(name)` turns a
model into DuckDB column types, which the SQL validator (sqlglot) and the lake
writer use, so a column added here is seen everywhere at once.

Time columns are naive `TIMESTAMP` in UTC: every DuckDB connection that
Burnwatch opens sets `TimeZone = 'UTC'`, so no value depends on the machine's zone.
"""

import polars as pl
import pandera.polars as pa

UtcTimestamp = pl.Datetime(time_unit="us")


class _Table(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = False


class RequestLog(_Table):
    """The request-log contract: one row per request per logging replica."""

    request_id: pl.String = pa.Field(str_length={"min_value": 1})
    ts: UtcTimestamp = pa.Field()
    tenant_id: pl.String = pa.Field(str_length={"min_value": 1})
    service: pl.String = pa.Field(str_length={"min_value": 1})
    operation: pl.String = pa.Field(nullable=True)
    status_code: pl.Int32 = pa.Field(ge=100, le=599)
    latency_ms: pl.Float64 = pa.Field(ge=0)
    replica: pl.String = pa.Field(str_length={"min_value": 1})


class SloSpecs(_Table):
    """One row per tenant SLO, cohort defaults resolved (from `slos.yaml`)."""

    tenant_id: pl.String
    slo_name: pl.String
    cohort: pl.String
    service: pl.String
    sli: pl.String = pa.Field(isin=["availability", "latency"])
    objective: pl.Float64 = pa.Field(gt=0, lt=100)
    threshold_ms: pl.Float64 = pa.Field(nullable=True, gt=0)
    period_days: pl.Int32 = pa.Field(ge=1)


class AlertPolicy(_Table):
    """The alert rules in force for each tenant SLO."""

    tenant_id: pl.String
    slo_name: pl.String
    rule_name: pl.String
    severity: pl.String = pa.Field(isin=["page", "ticket"])
    long_window: pl.String
    short_window: pl.String
    long_window_minutes: pl.Int32 = pa.Field(gt=0)
    short_window_minutes: pl.Int32 = pa.Field(gt=0)
    burn_threshold: pl.Float64 = pa.Field(gt=0)


class StgRequests(_Table):
    """Deduplicated requests: one row per (tenant_id, request_id), in the day of its `ts`."""

    tenant_id: pl.String
    request_id: pl.String
    ts: UtcTimestamp = pa.Field()
    service: pl.String
    operation: pl.String = pa.Field(nullable=True)
    status_code: pl.Int32
    latency_ms: pl.Float64
    replica: pl.String
    replica_copies: pl.Int32 = pa.Field(ge=1)


class IntSliBuckets(_Table):
    """Per tenant SLO and 5-minute bucket: request counts and exact latency quantiles."""

    tenant_id: pl.String
    slo_name: pl.String
    bucket_start: UtcTimestamp = pa.Field()
    total: pl.Int64 = pa.Field(ge=1)
    bad: pl.Int64 = pa.Field(ge=0)
    latency_p50_ms: pl.Float64
    latency_p90_ms: pl.Float64
    latency_p95_ms: pl.Float64
    latency_p99_ms: pl.Float64


class FctBurnRates(_Table):
    """Per tenant SLO, 5-minute evaluation step and window: counts and burn rate."""

    tenant_id: pl.String
    slo_name: pl.String
    eval_ts: UtcTimestamp = pa.Field()
    window: pl.String
    total: pl.Int64 = pa.Field(ge=0)
    bad: pl.Int64 = pa.Field(ge=0)
    burn_rate: pl.Float64 = pa.Field(nullable=True, ge=0)


class FctErrorBudget(_Table):
    """Per tenant SLO and step: the error budget over the SLO's rolling period."""

    tenant_id: pl.String
    slo_name: pl.String
    eval_ts: UtcTimestamp = pa.Field()
    total: pl.Int64 = pa.Field(ge=0)
    bad: pl.Int64 = pa.Field(ge=0)
    consumed: pl.Float64 = pa.Field(nullable=True, ge=0)
    remaining: pl.Float64 = pa.Field(nullable=True)
    time_to_exhaustion: pl.Float64 = pa.Field(nullable=True, ge=0)


class FctAlertEvaluations(_Table):
    """Per tenant SLO, step and policy rule: both windows' burn and whether the rule fires."""

    tenant_id: pl.String
    slo_name: pl.String
    eval_ts: UtcTimestamp = pa.Field()
    rule_name: pl.String
    severity: pl.String
    long_window: pl.String
    short_window: pl.String
    burn_threshold: pl.Float64
    long_total: pl.Int64
    long_bad: pl.Int64
    long_burn_rate: pl.Float64 = pa.Field(nullable=True)
    short_total: pl.Int64
    short_bad: pl.Int64
    short_burn_rate: pl.Float64 = pa.Field(nullable=True)
    fires: pl.Boolean


class FctAlertEpisodes(_Table):
    """One row per alert episode: from the first firing step to the first non-firing one."""

    tenant_id: pl.String
    slo_name: pl.String
    rule_name: pl.String
    severity: pl.String
    long_window: pl.String
    short_window: pl.String
    burn_threshold: pl.Float64
    started_at: UtcTimestamp = pa.Field()
    resolved_at: UtcTimestamp = pa.Field(nullable=True)
    peak_long_burn_rate: pl.Float64


class RunParams(_Table):
    """The one-row table through which a SQL model learns which day it computes."""

    partition_start: UtcTimestamp = pa.Field()
    partition_end: UtcTimestamp = pa.Field()


# Tables by name, in pipeline (DAG) order. The name is also the SQL model's file name.
TABLES: dict[str, type[_Table]] = {
    "run_params": RunParams,
    "raw_requests": RequestLog,
    "slo_specs": SloSpecs,
    "alert_policy": AlertPolicy,
    "stg_requests": StgRequests,
    "int_sli_buckets": IntSliBuckets,
    "fct_burn_rates": FctBurnRates,
    "fct_error_budget": FctErrorBudget,
    "fct_alert_evaluations": FctAlertEvaluations,
    "fct_alert_episodes": FctAlertEpisodes,
}

_DUCKDB_TYPES: dict[type[pl.DataType], str] = {
    pl.String: "VARCHAR",
    pl.Int32: "INTEGER",
    pl.Int64: "BIGINT",
    pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN",
    pl.Datetime: "TIMESTAMP",
    pl.Date: "DATE",
}


def sql_columns(table: str) -> dict[str, str]:
    """The table's columns in order, mapped to DuckDB type names."""
    columns = TABLES[table].to_schema().columns
    return {name: _DUCKDB_TYPES[column.dtype.type.base_type()] for name, column in columns.items()}


def column_names(table: str) -> list[str]:
    """The table's column names in order."""
    return list(TABLES[table].to_schema().columns)
