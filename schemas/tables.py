"""Every table's columns and types: the only place a column list lives.

Each table is a pandera (polars backend) model. `sql_columns(name)` turns a
model into DuckDB column types, which the SQL validator (sqlglot) and the lake
writer use, so a column added here is seen everywhere at once.

Time columns are naive `TIMESTAMP` in UTC: every DuckDB connection that
Burnwatch opens sets `TimeZone = 'UTC'`, so no value depends on the machine's zone.
"""

import pandera.polars as pa
import polars as pl
import pyarrow

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
    calendar: pl.String = pa.Field(nullable=True, isin=["week", "month", "quarter"])
    timezone: pl.String
    budgeting: pl.String = pa.Field(isin=["occurrences", "timeslices", "ratio_timeslices"])
    timeslice_minutes: pl.Int32 = pa.Field(ge=5)
    timeslice_target: pl.Float64 = pa.Field(nullable=True)
    bad_predicate: pl.String = pa.Field(nullable=True)


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
    # The threshold as the share (percent) of the period's budget the long window spends.
    budget_consumed_percent: pl.Float64 = pa.Field(gt=0)
    # The SLO's period; a calendar period counts with its nominal length (7, 30, 91 days).
    period_days: pl.Int32 = pa.Field(ge=1)
    objective: pl.Float64 = pa.Field(gt=0, lt=100)
    # 1 / (1 - objective): the burn when every request is bad; no rule can exceed it.
    max_burn_rate: pl.Float64 = pa.Field(gt=0)
    can_fire: pl.Boolean
    # The rule fires only when its long window holds at least this many requests.
    min_events: pl.Int64 = pa.Field(ge=0)
    # When set, burn = bad / max(total, min_denominator) / (1 - objective).
    min_denominator: pl.Int64 = pa.Field(nullable=True, ge=1)
    suppress_tickets_while_paging: pl.Boolean
    source: pl.String = pa.Field(isin=["default", "manifest", "cohort", "tenant"])


class ContractReport(_Table):
    """Per request-log file of a day folder: its Parquet footer held against the contract.

    One row per finding; a file on contract has one row with status `ok`.
    """

    tenant_id: pl.String
    folder_day: pl.Date
    file: pl.String
    status: pl.String = pa.Field(isin=["ok", "drifted", "unreadable"])
    action: pl.String = pa.Field(isin=["read", "cast", "ignore", "warn", "quarantine"])
    column_name: pl.String = pa.Field(nullable=True)
    expected_type: pl.String = pa.Field(nullable=True)
    found_type: pl.String = pa.Field(nullable=True)
    detail: pl.String = pa.Field(nullable=True)
    file_rows: pl.Int64 = pa.Field(nullable=True, ge=0)


class RawRequestChecks(_Table):
    """Every row of a day folder's readable files and the first contract rule it breaks.

    Bound for `sql/quarantine.sql`, never stored; `reason` is null for a good row.
    """

    tenant_id: pl.String
    folder_day: pl.Date
    file: pl.String
    row_number: pl.Int64
    request_id: pl.String = pa.Field(nullable=True)
    reason: pl.String = pa.Field(nullable=True)
    detail: pl.String = pa.Field(nullable=True)
    raw_row: pl.String = pa.Field(nullable=True)


class Quarantine(_Table):
    """Input that broke the contract: a row (row_number set) or a whole file (row_number null).

    `tenant_id` and `folder_day` are the partition folder's, not the row's (which
    may be the problem). `row_count` is 1 for a row, the footer's row count for a
    whole file, and null when the file is too broken to tell.
    """

    tenant_id: pl.String
    folder_day: pl.Date
    file: pl.String
    row_number: pl.Int64 = pa.Field(nullable=True, ge=0)
    row_count: pl.Int64 = pa.Field(nullable=True, ge=0)
    reason: pl.String = pa.Field(str_length={"min_value": 1})
    detail: pl.String = pa.Field(nullable=True)
    request_id: pl.String = pa.Field(nullable=True)
    raw_row: pl.String = pa.Field(nullable=True)


class QuarantinePolicy(_Table):
    """The one-row setting: above this share of quarantined rows a tenant-day has no SLI."""

    max_quarantined_share: pl.Float64 = pa.Field(ge=0, le=1)


class IntQuarantineCounts(_Table):
    """Per tenant and day folder: rows in, rows quarantined, and whether its SLIs are computed."""

    tenant_id: pl.String
    folder_day: pl.Date
    input_rows: pl.Int64 = pa.Field(ge=0)
    quarantined_rows: pl.Int64 = pa.Field(ge=0)
    unknown_row_files: pl.Int64 = pa.Field(ge=0)
    quarantined_share: pl.Float64 = pa.Field(nullable=True, ge=0)
    max_quarantined_share: pl.Float64
    sli_status: pl.String = pa.Field(isin=["ok", "no_data"])
    decision_reason: pl.String = pa.Field(nullable=True)


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


class IntSliUnits(_Table):
    """Ephemeral (a view, never stored): what each bucket adds to windows and budgets."""

    tenant_id: pl.String
    slo_name: pl.String
    bucket_start: UtcTimestamp = pa.Field()
    total: pl.Int64
    bad: pl.Int64
    unit_total: pl.Float64
    unit_bad: pl.Float64


class FctBurnRates(_Table):
    """Per tenant SLO, 5-minute evaluation step and window: counts and burn rate."""

    tenant_id: pl.String
    slo_name: pl.String
    eval_ts: UtcTimestamp = pa.Field()
    window: pl.String
    total: pl.Int64 = pa.Field(ge=0)
    bad: pl.Int64 = pa.Field(ge=0)
    burn_rate: pl.Float64 = pa.Field(nullable=True, ge=0)
    slices: pl.Float64 = pa.Field(nullable=True, ge=0)
    bad_slices: pl.Float64 = pa.Field(nullable=True, ge=0)


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
    period_start: UtcTimestamp = pa.Field()


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
    # no_data: a window without requests; low_traffic: the min_events guard is not met.
    state: pl.String = pa.Field(isin=["firing", "ok", "no_data", "low_traffic"])
    # A ticket that fires while a page rule of the same tenant SLO fires (when the policy
    # suppresses tickets while paging): it makes no episode of its own.
    suppressed: pl.Boolean


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


class WindowLabels(_Table):
    """The burn-rate windows by label (schemas.manifest.WINDOW_MINUTES), bound for every
    model by pipelines.warehouse.session.connect."""

    window_label: pl.String
    window_minutes: pl.Int32


class CohortThresholdParams(_Table):
    """The one-row settings of a cohort-threshold version (bound for sql/cohort_thresholds.sql)."""

    effective_from: pl.Date
    history_start: pl.Date
    history_days: pl.Int32 = pa.Field(ge=1)
    outlier_k: pl.Float64 = pa.Field(gt=0)
    quantile: pl.Float64 = pa.Field(gt=0, lt=1)
    safety_margin: pl.Float64 = pa.Field(ge=1)
    min_threshold: pl.Float64 = pa.Field(gt=0)
    min_samples: pl.Int64 = pa.Field(ge=1)


class CohortThresholds(_Table):
    """Per version (effective_from), cohort, SLI kind and rule: the noise floor of normal burn
    over the history before `effective_from`, and the threshold proposed from it."""

    effective_from: pl.Date
    cohort: pl.String
    sli: pl.String = pa.Field(isin=["availability", "latency"])
    rule_name: pl.String
    severity: pl.String = pa.Field(isin=["page", "ticket"])
    long_window: pl.String
    short_window: pl.String
    history_start: pl.Date
    history_end: pl.Date
    default_threshold: pl.Float64 = pa.Field(gt=0)
    proposed_threshold: pl.Float64 = pa.Field(gt=0)
    # high: both windows have min_samples; low: fewer; none: no history (default kept).
    confidence: pl.String = pa.Field(isin=["high", "low", "none"])
    long_noise_floor: pl.Float64 = pa.Field(nullable=True, ge=0)
    short_noise_floor: pl.Float64 = pa.Field(nullable=True, ge=0)
    long_samples: pl.Int64 = pa.Field(ge=0)
    short_samples: pl.Int64 = pa.Field(ge=0)
    long_outliers: pl.Int64 = pa.Field(ge=0)
    short_outliers: pl.Int64 = pa.Field(ge=0)
    quantile: pl.Float64
    outlier_k: pl.Float64
    safety_margin: pl.Float64
    min_threshold: pl.Float64
    # Half the highest possible burn of the cohort's strictest objective.
    max_threshold: pl.Float64


class ReplayPolicies(_Table):
    """The policies a replay compares, in the order given (bound, never stored)."""

    policy_name: pl.String
    policy_order: pl.Int32 = pa.Field(ge=1)
    thresholds: pl.String = pa.Field(isin=["static", "cohort"])
    description: pl.String


class ReplayParams(_Table):
    """The one-row replay range [range_start, range_end) and the tenant count (bound)."""

    range_start: UtcTimestamp = pa.Field()
    range_end: UtcTimestamp = pa.Field()
    tenants: pl.Int64 = pa.Field(ge=0)


class ReplayIncidents(_Table):
    """Known incidents (ground truth) for a replay; a null slo_name means any SLO of the tenant."""

    incident_id: pl.String
    tenant_id: pl.String
    slo_name: pl.String = pa.Field(nullable=True)
    started_at: UtcTimestamp = pa.Field()
    ended_at: UtcTimestamp = pa.Field()
    expected_severity: pl.String = pa.Field(nullable=True)


class ReplayEpisodeRuns(_Table):
    """A replayed policy's alert episodes, as sql/fct_alert_episodes.sql computes them."""

    policy_name: pl.String
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


class ReplayEpisodes(_Table):
    """Each replayed episode and the first incident it overlaps (null: a false positive)."""

    policy_name: pl.String
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
    matched_incidents: pl.Int64 = pa.Field(ge=0)
    first_incident_id: pl.String = pa.Field(nullable=True)


class ReplayDetections(_Table):
    """Per policy and incident: whether, how fast and at which severity it was detected."""

    policy_name: pl.String
    incident_id: pl.String
    tenant_id: pl.String
    slo_name: pl.String = pa.Field(nullable=True)
    started_at: UtcTimestamp = pa.Field()
    ended_at: UtcTimestamp = pa.Field()
    expected_severity: pl.String = pa.Field(nullable=True)
    matching_episodes: pl.Int64 = pa.Field(ge=0)
    detected: pl.Boolean
    highest_severity: pl.String = pa.Field(nullable=True)
    detected_at_severity: pl.Boolean = pa.Field(nullable=True)
    detected_at: UtcTimestamp = pa.Field(nullable=True)
    detection_minutes: pl.Float64 = pa.Field(nullable=True)
    reset_at: UtcTimestamp = pa.Field(nullable=True)
    reset_minutes: pl.Float64 = pa.Field(nullable=True)


class ReplayComparison(_Table):
    """One row per replayed policy: alert load, precision, recall, detection and reset time."""

    policy_name: pl.String
    policy_order: pl.Int32
    thresholds: pl.String
    description: pl.String
    range_start: UtcTimestamp = pa.Field()
    range_end: UtcTimestamp = pa.Field()
    tenants: pl.Int64
    episodes: pl.Int64 = pa.Field(ge=0)
    pages: pl.Int64 = pa.Field(ge=0)
    tickets: pl.Int64 = pa.Field(ge=0)
    pages_per_tenant_week: pl.Float64 = pa.Field(nullable=True)
    tickets_per_tenant_week: pl.Float64 = pa.Field(nullable=True)
    true_episodes: pl.Int64 = pa.Field(ge=0)
    precision: pl.Float64 = pa.Field(nullable=True, ge=0, le=1)
    incidents: pl.Int64 = pa.Field(ge=0)
    detected: pl.Int64 = pa.Field(ge=0)
    recall: pl.Float64 = pa.Field(nullable=True, ge=0, le=1)
    incidents_with_expected: pl.Int64 = pa.Field(ge=0)
    detected_at_severity: pl.Int64 = pa.Field(ge=0)
    recall_at_severity: pl.Float64 = pa.Field(nullable=True, ge=0, le=1)
    detection_median_minutes: pl.Float64 = pa.Field(nullable=True)
    detection_max_minutes: pl.Float64 = pa.Field(nullable=True)
    reset_median_minutes: pl.Float64 = pa.Field(nullable=True)
    reset_max_minutes: pl.Float64 = pa.Field(nullable=True)


# Tables by name, in pipeline (DAG) order. The name is also the SQL model's file name.
TABLES: dict[str, type[_Table]] = {
    "run_params": RunParams,
    "window_labels": WindowLabels,
    "raw_requests": RequestLog,
    "slo_specs": SloSpecs,
    "alert_policy": AlertPolicy,
    "contract_report": ContractReport,
    "raw_request_checks": RawRequestChecks,
    "quarantined_files": Quarantine,
    "quarantine": Quarantine,
    "quarantine_policy": QuarantinePolicy,
    "int_quarantine_counts": IntQuarantineCounts,
    "stg_requests": StgRequests,
    "int_sli_buckets": IntSliBuckets,
    "int_sli_units": IntSliUnits,
    "fct_burn_rates": FctBurnRates,
    "fct_error_budget": FctErrorBudget,
    "cohort_threshold_params": CohortThresholdParams,
    "cohort_thresholds": CohortThresholds,
    # alert_policy with each rule at its cohort threshold (policy.thresholds: cohort).
    "alert_policy_cohort": AlertPolicy,
    "fct_alert_evaluations": FctAlertEvaluations,
    "fct_alert_episodes": FctAlertEpisodes,
    "replay_policies": ReplayPolicies,
    "replay_params": ReplayParams,
    "replay_incidents": ReplayIncidents,
    "replay_episode_runs": ReplayEpisodeRuns,
    "replay_episodes": ReplayEpisodes,
    "replay_detections": ReplayDetections,
    "replay_comparison": ReplayComparison,
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


_ARROW_TYPES: dict[type[pl.DataType], pyarrow.DataType] = {
    pl.String: pyarrow.string(),
    pl.Int32: pyarrow.int32(),
    pl.Int64: pyarrow.int64(),
    pl.Float64: pyarrow.float64(),
    pl.Boolean: pyarrow.bool_(),
    pl.Date: pyarrow.date32(),
}


def arrow_schema(table: str, timezone: str | None = "UTC") -> pyarrow.Schema:
    """The table's columns as an Arrow schema, timestamps in microseconds of `timezone`
    (as request logs arrive: UTC-zoned; None for naive). Every field is nullable, so
    writers can also produce the broken rows that quarantine must catch."""
    fields = []
    for name, column in TABLES[table].to_schema().columns.items():
        base = column.dtype.type.base_type()
        kind = pyarrow.timestamp("us", tz=timezone) if base is pl.Datetime else _ARROW_TYPES[base]
        fields.append(pyarrow.field(name, kind))
    return pyarrow.schema(fields)
