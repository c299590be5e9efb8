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

    request_id: pl.String = pa.Field(
        str_length={"min_value": 1},
        description=(
            "The request's id, unique within its tenant; every replica's copy of a request has the"
            " same one."
        ),
    )
    ts: UtcTimestamp = pa.Field(description="When the request happened (event time), UTC.")
    tenant_id: pl.String = pa.Field(
        str_length={"min_value": 1}, description="The tenant the request was served for."
    )
    service: pl.String = pa.Field(
        str_length={"min_value": 1}, description="The service that answered the request."
    )
    operation: pl.String = pa.Field(
        nullable=True,
        description="The operation (endpoint) called; null when the log does not say.",
    )
    status_code: pl.Int32 = pa.Field(ge=100, le=599, description="The HTTP status code returned.")
    latency_ms: pl.Float64 = pa.Field(
        ge=0, description="The time taken to answer, in milliseconds."
    )
    replica: pl.String = pa.Field(
        str_length={"min_value": 1},
        description="The logging replica that wrote this copy of the request.",
    )


class SloSpecs(_Table):
    """One row per tenant SLO, cohort defaults resolved (from `slos.yaml`)."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The SLO's name, unique within its tenant.")
    cohort: pl.String = pa.Field(
        description="The tenant's cohort, whose defaults fill what the SLO leaves unset."
    )
    service: pl.String = pa.Field(description="The service whose requests the SLO counts.")
    sli: pl.String = pa.Field(
        isin=["availability", "latency"],
        description=(
            "availability (bad: status_code >= 500) or latency (bad: latency_ms > threshold_ms), "
            "unless bad_predicate is set."
        ),
    )
    objective: pl.Float64 = pa.Field(
        gt=0, lt=100, description="The target share of good units, in percent (99.9 means 99.9 %)."
    )
    threshold_ms: pl.Float64 = pa.Field(
        nullable=True,
        gt=0,
        description=(
            "Latency SLIs: a request slower than this many milliseconds is bad; null for "
            "availability."
        ),
    )
    period_days: pl.Int32 = pa.Field(
        ge=1,
        description=(
            "The budget period in days: rolling, or a calendar period's nominal length (7, 30, 91)."
        ),
    )
    calendar: pl.String = pa.Field(
        nullable=True,
        isin=["week", "month", "quarter"],
        description=(
            "week, month or quarter: the budget resets at each such boundary in `timezone`; null "
            "for a rolling period."
        ),
    )
    timezone: pl.String = pa.Field(
        description="IANA time zone of the calendar period's boundaries (UTC unless set)."
    )
    budgeting: pl.String = pa.Field(
        isin=["occurrences", "timeslices", "ratio_timeslices"],
        description=(
            "What the budget counts: requests (occurrences), bad slices (timeslices) or the "
            "slices' bad ratios (ratio_timeslices)."
        ),
    )
    timeslice_minutes: pl.Int32 = pa.Field(
        ge=5,
        description=(
            "Length of a timeslice in minutes (a multiple of 5; 5 unless set); used by the "
            "timeslice methods."
        ),
    )
    timeslice_target: pl.Float64 = pa.Field(
        nullable=True,
        description=(
            "timeslices: the percent of good requests a slice needs to be good; null when not set."
        ),
    )
    bad_predicate: pl.String = pa.Field(
        nullable=True,
        description=(
            "DuckDB SQL that is true exactly for bad requests, from bad_when/good_when; null: the "
            "SLI kind's default."
        ),
    )
    max_silence_minutes: pl.Int32 = pa.Field(
        ge=5,
        description=(
            "How long the tenant's logs may lag the horizon before it is no_data (tenant, "
            "cohort or manifest setting)."
        ),
    )


class AlertPolicy(_Table):
    """The alert rules in force for each tenant SLO."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO the rule applies to.")
    rule_name: pl.String = pa.Field(description="The policy rule's name.")
    severity: pl.String = pa.Field(isin=["page", "ticket"], description="page or ticket.")
    long_window: pl.String = pa.Field(
        description="Label of the rule's long window (5m 30m 1h 2h 6h 1d 3d)."
    )
    short_window: pl.String = pa.Field(description="Label of the rule's short, confirming window.")
    long_window_minutes: pl.Int32 = pa.Field(
        gt=0, description="The long window's length, in minutes."
    )
    short_window_minutes: pl.Int32 = pa.Field(
        gt=0, description="The short window's length, in minutes."
    )
    burn_threshold: pl.Float64 = pa.Field(
        gt=0, description="The burn rate both windows must strictly exceed for the rule to fire."
    )
    budget_consumed_percent: pl.Float64 = pa.Field(
        gt=0,
        description=(
            "The threshold as the share (percent) of the period's budget the long window spends."
        ),
    )
    period_days: pl.Int32 = pa.Field(
        ge=1,
        description=(
            "The SLO's period; a calendar period counts with its nominal length (7, 30, 91 days)."
        ),
    )
    objective: pl.Float64 = pa.Field(gt=0, lt=100, description="The SLO's objective, in percent.")
    max_burn_rate: pl.Float64 = pa.Field(
        gt=0,
        description=(
            "1 / (1 - objective): the burn when every request is bad; no rule can exceed it."
        ),
    )
    can_fire: pl.Boolean = pa.Field(
        description=(
            "Whether burn_threshold is below max_burn_rate, so that the rule can fire at all."
        ),
    )
    min_events: pl.Int64 = pa.Field(
        ge=0,
        description="The rule fires only when its long window holds at least this many requests.",
    )
    min_denominator: pl.Int64 = pa.Field(
        nullable=True,
        ge=1,
        description=(
            "When set, burn = bad / max(total, min_denominator) / (1 - objective), over the SLO's"
            " budgeting units (requests, or slices); null: the plain burn rate."
        ),
    )
    suppress_tickets_while_paging: pl.Boolean = pa.Field(
        description=(
            "Whether the tenant's policy holds a ticket back while a page of the same SLO fires."
        ),
    )
    source: pl.String = pa.Field(
        isin=["default", "manifest", "cohort", "tenant"],
        description=(
            "Where the rule comes from: the built-in default, the manifest's policy, a cohort or a"
            " tenant override."
        ),
    )
    warm_up: pl.Boolean = pa.Field(
        description=(
            "Whether the rule waits until its long window lies wholly within the tenant's logs "
            "(from its first request, and again after a no_data gap) before it may fire."
        ),
    )


class ContractReport(_Table):
    """Per request-log file of a day folder: its Parquet footer held against the contract.

    One row per finding; a file on contract has one row with status `ok`.
    """

    tenant_id: pl.String = pa.Field(description="Tenant of the partition folder (tenant=).")
    folder_day: pl.Date = pa.Field(description="Day of the partition folder (date=).")
    file: pl.String = pa.Field(
        description="Path of the file (of the day folder, for a latency-unit warning)."
    )
    status: pl.String = pa.Field(
        isin=["ok", "drifted", "unreadable"],
        description=(
            "ok (on contract), drifted (its schema differs) or unreadable (no readable footer)."
        ),
    )
    action: pl.String = pa.Field(
        isin=["read", "cast", "ignore", "warn", "quarantine"],
        description=(
            "What the run does: read, cast (read converted), ignore (an undeclared column), warn "
            "(report only) or quarantine (the file is not read)."
        ),
    )
    column_name: pl.String = pa.Field(
        nullable=True, description="The column the finding is about; null for a file-level row."
    )
    expected_type: pl.String = pa.Field(
        nullable=True,
        description=(
            "The contract's type of the column; null for a file-level row or an undeclared column."
        ),
    )
    found_type: pl.String = pa.Field(
        nullable=True,
        description="The file's type of the column; null for a file-level row or a missing column.",
    )
    detail: pl.String = pa.Field(
        nullable=True, description="The finding in words; null for a file on contract."
    )
    file_rows: pl.Int64 = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Rows the file's footer declares; null when the footer is unreadable, and for a "
            "warning."
        ),
    )


class RawRequestChecks(_Table):
    """Every row of a day folder's readable files and the first contract rule it breaks.

    Bound for `sql/quarantine.sql`, never stored; `reason` is null for a good row.
    """

    tenant_id: pl.String = pa.Field(description="Tenant of the partition folder (tenant=).")
    folder_day: pl.Date = pa.Field(description="Day of the partition folder (date=).")
    file: pl.String = pa.Field(description="Path of the file.")
    row_number: pl.Int64 = pa.Field(description="The row's position in its file, from 0.")
    request_id: pl.String = pa.Field(
        nullable=True, description="The row's request_id as read (may be null or empty)."
    )
    reason: pl.String = pa.Field(
        nullable=True,
        description=(
            "Code of the first contract rule the row breaks (e.g. null_ts, "
            "ts_outside_folder_window); null for a good row."
        ),
    )
    detail: pl.String = pa.Field(
        nullable=True, description="What is wrong with the row, in words; null for a good row."
    )
    raw_row: pl.String = pa.Field(
        nullable=True, description="The row's contract columns as read, as JSON text."
    )


class Quarantine(_Table):
    """Input that broke the contract: a row (row_number set) or a whole file (row_number null).

    `tenant_id` and `folder_day` are the partition folder's, not the row's (which
    may be the problem). `row_count` is 1 for a row, the footer's row count for a
    whole file, and null when the file is too broken to tell.
    """

    tenant_id: pl.String = pa.Field(
        description="Tenant of the partition folder (not the row's own tenant_id)."
    )
    folder_day: pl.Date = pa.Field(description="Day of the partition folder (date=).")
    file: pl.String = pa.Field(description="Path of the input file.")
    row_number: pl.Int64 = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "The row's position in its file, from 0; null when the whole file is quarantined."
        ),
    )
    row_count: pl.Int64 = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Rows quarantined: 1 for a row, the footer's row count for a whole file, null when "
            "that is unknown."
        ),
    )
    reason: pl.String = pa.Field(
        str_length={"min_value": 1},
        description=(
            "Reason code: the row rule broken (e.g. null_ts), or unreadable_file, schema_drift, "
            "undecodable_data for a file."
        ),
    )
    detail: pl.String = pa.Field(nullable=True, description="What is wrong, in words.")
    request_id: pl.String = pa.Field(
        nullable=True, description="The row's request_id as read; null for a whole file."
    )
    raw_row: pl.String = pa.Field(
        nullable=True,
        description="The row's contract columns as read, as JSON text; null for a whole file.",
    )


class QuarantinePolicy(_Table):
    """The one-row setting: above this share of quarantined rows a tenant-day has no SLI."""

    max_quarantined_share: pl.Float64 = pa.Field(
        ge=0,
        le=1,
        description=(
            "Highest share (0 to 1) of a tenant-day's input rows that may be quarantined before "
            "its SLIs are no data."
        ),
    )


class IntQuarantineCounts(_Table):
    """Per tenant and day folder: rows in, rows quarantined, and whether its SLIs are computed."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    folder_day: pl.Date = pa.Field(description="The day folder (date=).")
    input_rows: pl.Int64 = pa.Field(
        ge=0, description="Rows the readable footers of the tenant-day's files declare."
    )
    quarantined_rows: pl.Int64 = pa.Field(
        ge=0, description="Rows quarantined, singly or in whole files of known size."
    )
    unknown_row_files: pl.Int64 = pa.Field(
        ge=0, description="Quarantined files too broken to say how many rows they hold."
    )
    quarantined_share: pl.Float64 = pa.Field(
        nullable=True,
        ge=0,
        description="quarantined_rows / input_rows; null when there are no input rows.",
    )
    max_quarantined_share: pl.Float64 = pa.Field(
        description="The policy's maximum share (quarantine_policy)."
    )
    sli_status: pl.String = pa.Field(
        isin=["ok", "no_data"], description="ok, or no_data: the tenant-day gets no SLI buckets."
    )
    decision_reason: pl.String = pa.Field(
        nullable=True, description="Why the tenant-day is no_data; null when ok."
    )


class StgRequests(_Table):
    """Deduplicated requests: one row per (tenant_id, request_id), in the day of its `ts`."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    request_id: pl.String = pa.Field(description="The request's id, unique within its tenant.")
    ts: UtcTimestamp = pa.Field(
        description=(
            "Event time of the kept copy (the earliest), UTC; the row is in the partition of its "
            "day."
        ),
    )
    service: pl.String = pa.Field(description="The service that answered, from the kept copy.")
    operation: pl.String = pa.Field(
        nullable=True, description="The operation called, from the kept copy; null when not logged."
    )
    status_code: pl.Int32 = pa.Field(description="The HTTP status code, from the kept copy.")
    latency_ms: pl.Float64 = pa.Field(description="Latency in milliseconds, from the kept copy.")
    replica: pl.String = pa.Field(
        description="The replica of the kept copy (the smallest among those with the earliest ts)."
    )
    replica_copies: pl.Int32 = pa.Field(
        ge=1,
        description="How many copies of the request were seen (across replicas and day folders).",
    )


class IntSliBuckets(_Table):
    """Per tenant SLO and 5-minute bucket: request counts and exact latency quantiles."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    bucket_start: UtcTimestamp = pa.Field(
        description="Start of the 5-minute bucket [bucket_start, bucket_start + 5m) of ts, UTC."
    )
    total: pl.Int64 = pa.Field(
        ge=1, description="Requests in the bucket (buckets without requests are absent)."
    )
    bad: pl.Int64 = pa.Field(
        ge=0, description="Bad requests in the bucket, by the SLO's SLI or predicate."
    )
    latency_p50_ms: pl.Float64 = pa.Field(
        description="Exact (nearest-rank) median latency of the bucket's requests, in milliseconds."
    )
    latency_p90_ms: pl.Float64 = pa.Field(
        description="Exact (nearest-rank) 90th-percentile latency, in milliseconds."
    )
    latency_p95_ms: pl.Float64 = pa.Field(
        description="Exact (nearest-rank) 95th-percentile latency, in milliseconds."
    )
    latency_p99_ms: pl.Float64 = pa.Field(
        description="Exact (nearest-rank) 99th-percentile latency, in milliseconds."
    )


class BudgetAdjustments(_Table):
    """One row per budget adjustment and tenant SLO it covers (the manifest's `adjustments:`,
    `all` expanded): requests of the SLO with starts_at <= ts < ends_at are left out of its
    budget and alerts, and counted in `int_sli_adjusted` instead."""

    adjustment_id: pl.String = pa.Field(
        description="A hash of the adjustment's content (tenant, slo, start, end, reason)."
    )
    manifest_index: pl.Int32 = pa.Field(
        ge=0, description="Where the adjustment is in the manifest: adjustments[manifest_index]."
    )
    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    starts_at: UtcTimestamp = pa.Field(description="The first instant left out, UTC.")
    ends_at: UtcTimestamp = pa.Field(description="The end of the stretch (excluded), UTC.")
    reason: pl.String = pa.Field(description="Why the requests do not count, as the manifest says.")


class IntSloRequests(_Table):
    """Each request (stg_requests) with each SLO of its tenant on its service, and whether
    it is bad for that SLO; tenant-days without data (too much quarantined) left out.
    Ephemeral: a view for int_sli_buckets, int_sli_adjusted and fct_alert_contributors,
    never stored."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    request_id: pl.String = pa.Field(description="The request.")
    ts: UtcTimestamp = pa.Field(description="When the request happened (its kept copy), UTC.")
    bucket_start: UtcTimestamp = pa.Field(
        description="Start of the 5-minute bucket [bucket_start, bucket_start + 5m) of ts, UTC."
    )
    latency_ms: pl.Float64 = pa.Field(description="The request's latency, in milliseconds.")
    operation: pl.String = pa.Field(
        nullable=True,
        description="The operation (endpoint) called; null when the log does not say.",
    )
    replica: pl.String = pa.Field(description="The replica whose copy was kept.")
    is_bad: pl.Boolean = pa.Field(
        description="Whether the request is bad for the SLO, by its SLI or predicate."
    )


class IntSliAdjusted(_Table):
    """Per tenant SLO and 5-minute bucket: the requests that a budget adjustment left out of
    `int_sli_buckets` (and so of every window, budget and alert). Buckets without adjusted
    requests are absent."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    bucket_start: UtcTimestamp = pa.Field(
        description="Start of the 5-minute bucket [bucket_start, bucket_start + 5m) of ts, UTC."
    )
    adjusted_total: pl.Int64 = pa.Field(
        ge=1, description="Requests in the bucket that an adjustment covers (left out)."
    )
    adjusted_bad: pl.Int64 = pa.Field(
        ge=0, description="Of those, the bad ones, by the SLO's SLI or predicate."
    )


class HorizonParams(_Table):
    """The one-row settings of a run's evaluation horizon (bound, never stored)."""

    as_of: UtcTimestamp = pa.Field(
        nullable=True, description="`burnwatch run --as-of`: no step after it; null: the data's."
    )
    evaluation_delay_minutes: pl.Int32 = pa.Field(
        ge=0, description="The manifest's query delay, subtracted from the data's horizon."
    )


class IntTenantHorizons(_Table):
    """Per tenant: how far its logs reach and the last step evaluated for it (live operation).

    Every model after it evaluates a tenant's steps only up to `evaluated_until`:
    a step is never evaluated on data that has not arrived yet.
    """

    tenant_id: pl.String = pa.Field(description="The tenant (every tenant of slo_specs).")
    data_until: UtcTimestamp = pa.Field(
        nullable=True, description="The time of the tenant's newest request; null: none yet."
    )
    evaluated_until: UtcTimestamp = pa.Field(
        nullable=True,
        description=(
            "The tenant's last evaluated step: the start of the bucket of its newest request "
            "(the buckets before it are complete), never after `horizon`; null: none."
        ),
    )
    horizon: UtcTimestamp = pa.Field(
        nullable=True,
        description=(
            "The run's evaluation horizon: the end of the data's newest complete 5-minute "
            "bucket, less evaluation_delay_minutes, or --as-of; null when there is no data."
        ),
    )
    max_silence_minutes: pl.Int32 = pa.Field(
        ge=5, description="How long the tenant's logs may lag the horizon (slo_specs)."
    )
    silent: pl.Boolean = pa.Field(
        description=(
            "True when data_until lags the horizon by more than max_silence_minutes, or the "
            "tenant has no data: the tenant is no_data and its open alerts are frozen."
        )
    )


class IntSloKeys(_Table):
    """Ephemeral (a view, never stored): a dense integer per tenant SLO, in name order."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    slo_key: pl.Int64 = pa.Field(
        description="1, 2, ... in (tenant_id, slo_name) order: the dense models' join and sort key."
    )


class IntSliUnits(_Table):
    """Ephemeral (a view, never stored): what each bucket adds to windows and budgets."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    bucket_start: UtcTimestamp = pa.Field(
        description="The 5-minute bucket; a timeslice is attributed to its last bucket."
    )
    total: pl.Int64 = pa.Field(
        description="Requests in the bucket (0 for a row that only closes a slice)."
    )
    bad: pl.Int64 = pa.Field(description="Bad requests in the bucket.")
    unit_total: pl.Float64 = pa.Field(
        description="Budgeting units the bucket adds: requests (occurrences) or completed slices."
    )
    unit_bad: pl.Float64 = pa.Field(
        description=(
            "Bad units: bad requests, bad slices (timeslices) or the slices' bad ratios "
            "(ratio_timeslices)."
        ),
    )


class FctBurnRates(_Table):
    """Per tenant SLO, 5-minute evaluation step and window: counts and burn rate."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    eval_ts: UtcTimestamp = pa.Field(
        description=(
            "The evaluation step t, a 5-minute boundary, UTC; the window covers [t - window, t)."
        ),
    )
    window: pl.String = pa.Field(description="The window's label: 5m 30m 1h 2h 6h 1d 3d.")
    total: pl.Int64 = pa.Field(
        ge=0, description="Requests in the window (0 when there was no traffic)."
    )
    bad: pl.Int64 = pa.Field(ge=0, description="Bad requests in the window.")
    burn_rate: pl.Float64 = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "(bad units / units) / (1 - objective); null when the window has no units (no traffic "
            "is no data)."
        ),
    )
    slices: pl.Float64 = pa.Field(
        nullable=True,
        ge=0,
        description="Timeslice methods: completed slices in the window; null for occurrences.",
    )
    bad_slices: pl.Float64 = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Timeslice methods: bad slices (ratio_timeslices: sum of bad ratios); null for "
            "occurrences."
        ),
    )


class FctErrorBudget(_Table):
    """Per tenant SLO and step: the error budget over the SLO's rolling period."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    eval_ts: UtcTimestamp = pa.Field(description="The evaluation step t, a 5-minute boundary, UTC.")
    objective: pl.Float64 = pa.Field(
        description="The SLO's objective, in percent (slo_specs): the budget is 100 - objective."
    )
    period_days: pl.Int32 = pa.Field(
        ge=1,
        description=(
            "The budget period in days: rolling, or a calendar period's nominal length (7, 30, 91)."
        ),
    )
    calendar: pl.String = pa.Field(
        nullable=True,
        description="week, month or quarter for a calendar period; null for a rolling one.",
    )
    total: pl.Int64 = pa.Field(
        ge=0, description="Requests in the current period [period_start, t)."
    )
    bad: pl.Int64 = pa.Field(ge=0, description="Bad requests in the current period.")
    budget_consumed_percent: pl.Float64 = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Percent of the period's budget spent: 100 * bad units / (units * (1 - objective)); "
            "above 100 once overspent; null without traffic."
        ),
    )
    budget_remaining_percent: pl.Float64 = pa.Field(
        nullable=True,
        description=(
            "Percent of the period's budget left: 100 - budget_consumed_percent; negative once "
            "overspent; null without traffic."
        ),
    )
    time_to_exhaustion_hours: pl.Float64 = pa.Field(
        nullable=True,
        ge=0,
        description=(
            "Hours until the budget is spent at the 1d window's burn rate; 0 once spent; null "
            "when it is not spent within the period (nothing burns, no traffic, or it would "
            "last past the period)."
        ),
    )
    period_start: UtcTimestamp = pa.Field(
        description=(
            "Start of the current period: t - period_days, or the calendar boundary in the SLO's "
            "zone, UTC."
        ),
    )


class IntLogCoverage(_Table):
    """Ephemeral (a view, never stored): per tenant and step, where its current run of logs
    started (the warm-up of fct_alert_evaluations)."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    eval_ts: UtcTimestamp = pa.Field(description="The evaluation step, a 5-minute boundary, UTC.")
    run_start_step: pl.Int64 = pa.Field(
        nullable=True,
        description=(
            "The step_number of the bucket where the tenant's current run of logs started; "
            "null while it has no logs before the step."
        ),
    )
    covered_steps: pl.Int64 = pa.Field(
        nullable=True,
        description=(
            "Steps of the current run of logs before eval_ts: a window of w minutes is "
            "covered when covered_steps >= w / 5."
        ),
    )


class ReplaySteps(_Table):
    """Steps of tenant SLOs that the replay picks out (replay_candidate_steps: where a rule
    of the replayed policy could fire, and the step after each; replay_quiet_steps: the
    other steps that fct_alerts counts as quiet)."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    eval_ts: UtcTimestamp = pa.Field(description="The evaluation step, a 5-minute boundary, UTC.")


class FctAlertEvaluations(_Table):
    """Per tenant SLO, step and policy rule: both windows' burn and whether the rule fires."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    eval_ts: UtcTimestamp = pa.Field(description="The evaluation step, a 5-minute boundary, UTC.")
    rule_name: pl.String = pa.Field(description="The policy rule.")
    severity: pl.String = pa.Field(description="page or ticket.")
    long_window: pl.String = pa.Field(description="The rule's long window label.")
    short_window: pl.String = pa.Field(description="The rule's short window label.")
    burn_threshold: pl.Float64 = pa.Field(
        description="The burn rate both windows must strictly exceed."
    )
    long_total: pl.Int64 = pa.Field(description="Requests in the long window.")
    long_bad: pl.Int64 = pa.Field(description="Bad requests in the long window.")
    long_burn_rate: pl.Float64 = pa.Field(
        nullable=True,
        description=(
            "The long window's burn rate (with min_denominator, if set); null when it has no "
            "traffic."
        ),
    )
    short_total: pl.Int64 = pa.Field(description="Requests in the short window.")
    short_bad: pl.Int64 = pa.Field(description="Bad requests in the short window.")
    short_burn_rate: pl.Float64 = pa.Field(
        nullable=True,
        description=(
            "The short window's burn rate (with min_denominator, if set); null when it has no "
            "traffic."
        ),
    )
    fires: pl.Boolean = pa.Field(
        description="Both burn rates exceed burn_threshold and long_total >= min_events."
    )
    state: pl.String = pa.Field(
        isin=["firing", "ok", "no_data", "low_traffic", "warming_up"],
        description=(
            "firing, ok, no_data (a window without requests), warming_up (the long window reaches"
            " before the tenant's logs or a no_data gap) or low_traffic (below min_events)."
        ),
    )
    suppressed: pl.Boolean = pa.Field(
        description=(
            "A firing ticket held back while a page of the same tenant SLO fires; it makes no "
            "episode."
        ),
    )


class FctAlertEpisodes(_Table):
    """One row per alert episode: from the first firing step to the first non-firing one."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    rule_name: pl.String = pa.Field(description="The policy rule.")
    severity: pl.String = pa.Field(description="page or ticket.")
    long_window: pl.String = pa.Field(description="The rule's long window label.")
    short_window: pl.String = pa.Field(description="The rule's short window label.")
    burn_threshold: pl.Float64 = pa.Field(description="The rule's threshold (burn rate).")
    started_at: UtcTimestamp = pa.Field(
        description="The first step at which the rule fires (unsuppressed), UTC."
    )
    resolved_at: UtcTimestamp = pa.Field(
        nullable=True,
        description=(
            "The first step at which it no longer fires, UTC; null while that step is not computed"
            " (open)."
        ),
    )
    peak_long_burn_rate: pl.Float64 = pa.Field(
        description="The highest long-window burn rate during the episode."
    )


class AlertParams(_Table):
    """The one-row table of the grouped alerts' cooldowns (manifest `policy.cooldown_minutes`)."""

    page_cooldown_minutes: pl.Int32 = pa.Field(
        ge=0, description="How long no page rule may fire before a paging alert lets go, minutes."
    )
    ticket_cooldown_minutes: pl.Int32 = pa.Field(
        ge=0, description="How long no ticket rule may fire before an alert resolves, minutes."
    )


class FctAlerts(_Table):
    """One row per alert of a tenant SLO: its rules grouped, from the first firing step to
    the step a cooldown after the last one (sql/facts/fct_alerts.sql)."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    started_at: UtcTimestamp = pa.Field(
        description="The first step at which a rule of the SLO fires, UTC: the alert's name."
    )
    opened_severity: pl.String = pa.Field(
        isin=["page", "ticket"], description="The severity it opened at (its most severe rule)."
    )
    severity: pl.String = pa.Field(
        isin=["page", "ticket"],
        description=(
            "Its severity at its last open step: page while a page rule fired within the page "
            "cooldown, else ticket."
        ),
    )
    peak_severity: pl.String = pa.Field(
        isin=["page", "ticket"], description="page if it ever paged, else ticket."
    )
    opened_rule: pl.String = pa.Field(description="The rule that opened it.")
    opened_long_window: pl.String = pa.Field(description="The opening rule's long window.")
    opened_short_window: pl.String = pa.Field(description="The opening rule's short window.")
    opened_burn_threshold: pl.Float64 = pa.Field(
        description="The opening rule's threshold (burn rate) at the opening step."
    )
    escalated_rule: pl.String = pa.Field(
        nullable=True,
        description="The page rule that first escalated a ticket; null: never escalated.",
    )
    escalated_long_window: pl.String = pa.Field(
        nullable=True, description="The escalating rule's long window; null: none."
    )
    escalated_short_window: pl.String = pa.Field(
        nullable=True, description="The escalating rule's short window; null: none."
    )
    escalated_burn_threshold: pl.Float64 = pa.Field(
        nullable=True, description="The escalating rule's threshold at that step; null: none."
    )
    rules: pl.String = pa.Field(
        description="Every rule that fired in it, by name, comma separated."
    )
    escalations: pl.Int64 = pa.Field(
        ge=0, description="Steps at which it went from ticket to page (after its opening)."
    )
    firing_steps: pl.Int64 = pa.Field(ge=1, description="Steps at which some rule fired.")
    peak_long_burn_rate: pl.Float64 = pa.Field(
        description="The highest long-window burn rate of a firing rule during the alert."
    )
    escalated_at: UtcTimestamp = pa.Field(
        nullable=True, description="The first escalation's step, UTC; null: none."
    )
    stepped_down_at: UtcTimestamp = pa.Field(
        nullable=True,
        description="The last step it went from page to ticket while open, UTC; null: never.",
    )
    last_fired_at: UtcTimestamp = pa.Field(description="The last step at which a rule fired, UTC.")
    resolved_at: UtcTimestamp = pa.Field(
        nullable=True,
        description=(
            "The first step a cooldown after the last fire with no rule firing, UTC; null while "
            "open (firing, cooling down, or that step not evaluated yet)."
        ),
    )


class ContributorParams(_Table):
    """The one-row table of fct_alert_contributors' settings
    (pipelines.models.build.CONTRIBUTOR_PARAMS)."""

    top_operations: pl.Int32 = pa.Field(ge=1, description="How many operations are listed.")
    standout_factor: pl.Float64 = pa.Field(
        gt=0,
        description=(
            "A replica stands out when its share of an operation's bad requests is more than "
            "this times its share of the operation's requests."
        ),
    )
    standout_min_bad: pl.Int32 = pa.Field(
        ge=1, description="...and it holds at least this many of the operation's bad requests."
    )


class FctAlertContributors(_Table):
    """What burned the budget: per alert, per moment a message is sent about it (its
    opening, its escalation) and per top operation by bad requests in the long window of
    the rule of that moment (sql/facts/fct_alert_contributors.sql)."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    started_at: UtcTimestamp = pa.Field(description="The alert's start (fct_alerts.started_at).")
    basis: pl.String = pa.Field(
        isin=["opened", "escalated"],
        description="opened: the opening rule's long window; escalated: the escalating rule's.",
    )
    operation_rank: pl.Int32 = pa.Field(
        ge=1,
        description=(
            "1 for the operation with the most bad requests; ties by operation name, a null "
            "operation last."
        ),
    )
    operation: pl.String = pa.Field(nullable=True, description="The operation; null: not logged.")
    rule_name: pl.String = pa.Field(description="The rule whose long window was read.")
    long_window: pl.String = pa.Field(description="That rule's long window (e.g. 1h).")
    bad: pl.Int64 = pa.Field(ge=1, description="The operation's bad requests in the window.")
    total: pl.Int64 = pa.Field(ge=1, description="The operation's requests in the window.")
    window_bad: pl.Int64 = pa.Field(ge=1, description="All bad requests of the window.")
    window_total: pl.Int64 = pa.Field(ge=1, description="All requests of the window.")
    bad_share: pl.Float64 = pa.Field(description="bad / window_bad.")
    request_share: pl.Float64 = pa.Field(description="total / window_total.")
    standout_replicas: pl.String = pa.Field(
        nullable=True,
        description=(
            "Replicas that stand out for the operation, by name: 'r2 (90% of bad, 50% of "
            "requests)'; null: none does."
        ),
    )
    window_start: UtcTimestamp = pa.Field(description="The window's start (inclusive), UTC.")
    window_end: UtcTimestamp = pa.Field(
        description="The window's end (exclusive), UTC: the step of the opening or escalation."
    )


# What a reader must act on first: paging, then ticketing, then silent tenants; every
# other state after them. The one order of the status summary (pipelines/reporting/
# status.py) and the report's overview (the engine function urgency_rank).
STATUS_URGENCY: tuple[str, ...] = ("page", "ticket", "no_data")


class FctSloStatus(_Table):
    """One row per tenant SLO: its state at the tenant's evaluation point, the table people
    read first ("what is happening now").

    The summary, the report's overview and `burnwatch run`'s closing table read it.
    """

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO (every SLO of slo_specs).")
    state: pl.String = pa.Field(
        isin=["no_data", "page", "ticket", "low_traffic", "ok"],
        description=(
            "The first that holds: no_data (the tenant is silent or was never evaluated), page "
            "or ticket (an episode of that severity is open; page wins), low_traffic (a rule "
            "could not judge its windows at as_of), else ok."
        ),
    )
    open_severity: pl.String = pa.Field(
        nullable=True,
        isin=["page", "ticket"],
        description="page if an open episode pages, else ticket; null: nothing open.",
    )
    open_alerts: pl.String = pa.Field(
        nullable=True,
        description="The rules of the open episodes, oldest first, comma separated; null: none.",
    )
    budget_remaining_percent: pl.Float64 = pa.Field(
        nullable=True,
        description=(
            "Error budget left at as_of, in percent (negative once overspent); null: no traffic "
            "in the period or no step evaluated."
        ),
    )
    time_to_exhaustion_hours: pl.Float64 = pa.Field(
        nullable=True,
        ge=0,
        description="Hours until the budget is spent at the 1d burn at as_of "
        "(fct_error_budget); 0 once spent; null: not within the period.",
    )
    burn_rate_5m: pl.Float64 = pa.Field(
        nullable=True, ge=0, description="The 5m window's burn rate at as_of; null: no requests."
    )
    burn_rate_30m: pl.Float64 = pa.Field(
        nullable=True, ge=0, description="The 30m window's burn rate at as_of; null: no requests."
    )
    burn_rate_1h: pl.Float64 = pa.Field(
        nullable=True, ge=0, description="The 1h window's burn rate at as_of; null: no requests."
    )
    burn_rate_2h: pl.Float64 = pa.Field(
        nullable=True, ge=0, description="The 2h window's burn rate at as_of; null: no requests."
    )
    burn_rate_6h: pl.Float64 = pa.Field(
        nullable=True, ge=0, description="The 6h window's burn rate at as_of; null: no requests."
    )
    burn_rate_1d: pl.Float64 = pa.Field(
        nullable=True, ge=0, description="The 1d window's burn rate at as_of; null: no requests."
    )
    burn_rate_3d: pl.Float64 = pa.Field(
        nullable=True, ge=0, description="The 3d window's burn rate at as_of; null: no requests."
    )
    as_of: UtcTimestamp = pa.Field(
        nullable=True,
        description=(
            "The tenant's evaluation point: its last evaluated step (int_tenant_horizons."
            "evaluated_until), else the run's horizon; null: no data at all."
        ),
    )
    data_until: UtcTimestamp = pa.Field(
        nullable=True, description="The time of the tenant's newest request; null: none yet."
    )
    open_since: UtcTimestamp = pa.Field(
        nullable=True, description="The start of the oldest open episode, UTC; null: none open."
    )
    report_link: pl.String = pa.Field(
        description="The SLO's anchor in the report: reports/report.html#burn=<tenant>/<slo>."
    )


class RunParams(_Table):
    """The one-row table through which a SQL model learns which day it computes."""

    partition_start: UtcTimestamp = pa.Field(
        description="Start of the days computed (inclusive), UTC midnight."
    )
    partition_end: UtcTimestamp = pa.Field(
        description="End of the days computed (exclusive), UTC midnight."
    )


class WindowLabels(_Table):
    """The burn-rate windows by label (schemas.manifest.WINDOW_MINUTES), bound for every
    model by pipelines.warehouse.session.connect."""

    window_label: pl.String = pa.Field(
        description="A burn-rate window's label (5m 30m 1h 2h 6h 1d 3d)."
    )
    window_minutes: pl.Int32 = pa.Field(description="The window's length, in minutes.")


class CohortThresholdParams(_Table):
    """The one-row settings of a cohort-threshold version (bound for sql/cohort_thresholds.sql)."""

    effective_from: pl.Date = pa.Field(
        description="The day from which the version applies; history ends the day before."
    )
    history_start: pl.Date = pa.Field(description="The first day of history sampled.")
    history_end: pl.Date = pa.Field(description="The last day of history sampled.")
    history_days: pl.Int32 = pa.Field(ge=1, description="Days of history sampled.")
    outlier_k: pl.Float64 = pa.Field(
        gt=0, description="Modified z-score above which a burn is an outlier (an incident)."
    )
    quantile: pl.Float64 = pa.Field(
        gt=0, lt=1, description="Quantile of the non-outlier burns taken as a window's noise floor."
    )
    safety_margin: pl.Float64 = pa.Field(
        ge=1, description="Factor applied to the larger noise floor of a rule's windows."
    )
    min_threshold: pl.Float64 = pa.Field(gt=0, description="Lowest threshold that may be proposed.")
    min_samples: pl.Int64 = pa.Field(
        ge=1, description="Samples each window needs for a high-confidence proposal."
    )


class CohortThresholds(_Table):
    """Per version (effective_from), cohort, SLI kind and rule: the noise floor of normal burn
    over the history before `effective_from`, and the threshold proposed from it."""

    effective_from: pl.Date = pa.Field(
        description="The version: the day from which its thresholds apply."
    )
    cohort: pl.String = pa.Field(description="The cohort.")
    sli: pl.String = pa.Field(
        isin=["availability", "latency"],
        description="availability or latency: the SLI kind whose burns are sampled.",
    )
    rule_name: pl.String = pa.Field(description="The policy rule.")
    severity: pl.String = pa.Field(isin=["page", "ticket"], description="page or ticket.")
    long_window: pl.String = pa.Field(description="The rule's long window label.")
    short_window: pl.String = pa.Field(description="The rule's short window label.")
    history_start: pl.Date = pa.Field(description="First day of the history sampled.")
    history_end: pl.Date = pa.Field(
        description="Last day of the history sampled (the day before effective_from)."
    )
    default_threshold: pl.Float64 = pa.Field(
        gt=0, description="The policy's own threshold (burn rate)."
    )
    proposed_threshold: pl.Float64 = pa.Field(
        gt=0,
        description=(
            "The higher of noise_threshold and default_threshold: never below the policy's own "
            "threshold; the default without history."
        ),
    )
    noise_threshold: pl.Float64 = pa.Field(
        nullable=True,
        gt=0,
        description=(
            "What the noise alone asks for: larger noise floor * safety_margin, within "
            "[min_threshold, max_threshold]; null without history."
        ),
    )
    held_at_default: pl.Boolean = pa.Field(
        description=(
            "noise_threshold is below default_threshold: used as is, it would page more than "
            "the policy, so the proposal is held at the default."
        ),
    )
    confidence: pl.String = pa.Field(
        isin=["high", "low", "none"],
        description=(
            "high: both windows have min_samples; low: fewer; none: no history (default kept)."
        ),
    )
    long_noise_floor: pl.Float64 = pa.Field(
        nullable=True,
        ge=0,
        description="Quantile of the long window's non-outlier burns; null without samples.",
    )
    short_noise_floor: pl.Float64 = pa.Field(
        nullable=True,
        ge=0,
        description="Quantile of the short window's non-outlier burns; null without samples.",
    )
    long_samples: pl.Int64 = pa.Field(
        ge=0, description="Long-window burn samples (steps with traffic), outliers included."
    )
    short_samples: pl.Int64 = pa.Field(
        ge=0, description="Short-window burn samples (steps with traffic), outliers included."
    )
    long_outliers: pl.Int64 = pa.Field(
        ge=0, description="Long-window samples left out as outliers."
    )
    short_outliers: pl.Int64 = pa.Field(
        ge=0, description="Short-window samples left out as outliers."
    )
    quantile: pl.Float64 = pa.Field(
        description="The noise-floor quantile used (cohort_threshold_params)."
    )
    outlier_k: pl.Float64 = pa.Field(description="The outlier cut-off used.")
    safety_margin: pl.Float64 = pa.Field(description="The safety margin used.")
    min_threshold: pl.Float64 = pa.Field(description="The lowest threshold allowed.")
    max_threshold: pl.Float64 = pa.Field(
        description="Half the highest possible burn of the cohort's strictest objective."
    )


class ReplayPolicies(_Table):
    """The policies a replay compares, in the order given (bound, never stored)."""

    policy_name: pl.String = pa.Field(
        description=(
            "The replayed policy's name (workbook, cohort, single-window, manifest or a file's "
            "stem)."
        ),
    )
    policy_order: pl.Int32 = pa.Field(ge=1, description="Its position in the order given, from 1.")
    thresholds: pl.String = pa.Field(
        isin=["static", "cohort"],
        description="static (the rules' own thresholds) or cohort (cohort_thresholds).",
    )
    description: pl.String = pa.Field(description="What the policy is, in words.")


class ReplayParams(_Table):
    """The one-row replay range [range_start, range_end) (bound)."""

    range_start: UtcTimestamp = pa.Field(description="Start of the replay range (inclusive), UTC.")
    range_end: UtcTimestamp = pa.Field(description="End of the replay range (exclusive), UTC.")


class ReplayIncidents(_Table):
    """Known incidents (ground truth) for a replay; a null slo_name means any SLO of the tenant."""

    incident_id: pl.String = pa.Field(description="The incident's id.")
    tenant_id: pl.String = pa.Field(description="The tenant affected.")
    slo_name: pl.String = pa.Field(
        nullable=True, description="The SLO affected; null: any SLO of the tenant."
    )
    started_at: UtcTimestamp = pa.Field(description="When the incident began, UTC.")
    ended_at: UtcTimestamp = pa.Field(description="When it ended, UTC.")
    expected_severity: pl.String = pa.Field(
        nullable=True,
        description=(
            "The severity it should be detected at (page or ticket); null when none is expected."
        ),
    )


class ReplayEpisodeRuns(_Table):
    """A replayed policy's alert episodes, as sql/fct_alert_episodes.sql computes them."""

    policy_name: pl.String = pa.Field(description="The replayed policy.")
    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    rule_name: pl.String = pa.Field(description="The policy rule.")
    severity: pl.String = pa.Field(description="page or ticket.")
    long_window: pl.String = pa.Field(description="The rule's long window label.")
    short_window: pl.String = pa.Field(description="The rule's short window label.")
    burn_threshold: pl.Float64 = pa.Field(
        description="The rule's threshold (burn rate) as replayed."
    )
    started_at: UtcTimestamp = pa.Field(description="The first firing step, UTC.")
    resolved_at: UtcTimestamp = pa.Field(
        nullable=True,
        description=(
            "The first step no longer firing, UTC; null while open at the end of the range."
        ),
    )
    peak_long_burn_rate: pl.Float64 = pa.Field(
        description="The highest long-window burn rate during the episode."
    )


class ReplayEpisodes(ReplayEpisodeRuns):
    """Each replayed episode and the first incident it overlaps (null: a false positive):
    the columns of replay_episode_runs, then the match."""

    matched_incidents: pl.Int64 = pa.Field(
        ge=0,
        description=(
            "Incidents the episode overlaps (widened by the long window); 0: a false positive."
        ),
    )
    first_incident_id: pl.String = pa.Field(
        nullable=True, description="The earliest matched incident; null for a false positive."
    )


class ReplayIncidentMatches(_Table):
    """Per detector (a policy's episodes or its grouped alerts), policy and incident:
    whether, how fast and at which severity it was detected. replay_detections and
    replay_alert_detections are its two halves, with `matching` named for the detector."""

    detector: pl.String = pa.Field(
        isin=["episode", "alert"],
        description="episode (replay_episodes) or alert (replay_alerts): what detects.",
    )
    policy_name: pl.String = pa.Field(description="The replayed policy.")
    incident_id: pl.String = pa.Field(description="The incident.")
    tenant_id: pl.String = pa.Field(description="The tenant affected.")
    slo_name: pl.String = pa.Field(
        nullable=True, description="The SLO affected; null: any SLO of the tenant."
    )
    started_at: UtcTimestamp = pa.Field(description="When the incident began, UTC.")
    ended_at: UtcTimestamp = pa.Field(description="When it ended, UTC.")
    expected_severity: pl.String = pa.Field(
        nullable=True,
        description="The severity it should be detected at; null when none is expected.",
    )
    matching: pl.Int64 = pa.Field(ge=0, description="The detector's matches of the incident.")
    detected: pl.Boolean = pa.Field(description="Whether anything matches it.")
    highest_severity: pl.String = pa.Field(
        nullable=True, description="The most severe match's severity; null when undetected."
    )
    detected_at_severity: pl.Boolean = pa.Field(
        nullable=True,
        description="Some match is at least as severe as expected; null when none is expected.",
    )
    detected_at: UtcTimestamp = pa.Field(
        nullable=True, description="The earliest match's start, UTC; null when undetected."
    )
    detection_minutes: pl.Float64 = pa.Field(
        nullable=True, description="detected_at - started_at in minutes; null when undetected."
    )
    reset_at: UtcTimestamp = pa.Field(
        nullable=True, description="The latest match's resolution, UTC; null: undetected or open."
    )
    reset_minutes: pl.Float64 = pa.Field(
        nullable=True, description="reset_at - ended_at in minutes; null when reset_at is null."
    )


class ReplayDetections(_Table):
    """Per policy and incident: whether, how fast and at which severity it was detected."""

    policy_name: pl.String = pa.Field(description="The replayed policy.")
    incident_id: pl.String = pa.Field(description="The incident.")
    tenant_id: pl.String = pa.Field(description="The tenant affected.")
    slo_name: pl.String = pa.Field(
        nullable=True, description="The SLO affected; null: any SLO of the tenant."
    )
    started_at: UtcTimestamp = pa.Field(description="When the incident began, UTC.")
    ended_at: UtcTimestamp = pa.Field(description="When it ended, UTC.")
    expected_severity: pl.String = pa.Field(
        nullable=True,
        description="The severity it should be detected at; null when none is expected.",
    )
    matching_episodes: pl.Int64 = pa.Field(
        ge=0, description="The policy's episodes that match the incident."
    )
    detected: pl.Boolean = pa.Field(description="Whether any episode matches it.")
    highest_severity: pl.String = pa.Field(
        nullable=True,
        description="The most severe matching episode's severity; null when undetected.",
    )
    detected_at_severity: pl.Boolean = pa.Field(
        nullable=True,
        description=(
            "Some match is at least as severe as expected (page > ticket); null when none is "
            "expected."
        ),
    )
    detected_at: UtcTimestamp = pa.Field(
        nullable=True,
        description="The earliest matching episode's start, UTC; null when undetected.",
    )
    detection_minutes: pl.Float64 = pa.Field(
        nullable=True,
        description=(
            "detected_at - started_at in minutes (negative: already open); null when undetected."
        ),
    )
    reset_at: UtcTimestamp = pa.Field(
        nullable=True,
        description=(
            "The latest matching episode's resolution, UTC; null when undetected or still open."
        ),
    )
    reset_minutes: pl.Float64 = pa.Field(
        nullable=True, description="reset_at - ended_at in minutes; null when reset_at is null."
    )


class ReplayAlertRuns(FctAlerts):
    """A replayed policy's grouped alerts, as sql/facts/fct_alerts.sql computes them: the
    policy, then fct_alerts' columns."""

    policy_name: pl.String = pa.Field(description="The replayed policy.")


class ReplayAlerts(_Table):
    """Each replayed grouped alert and the first incident it overlaps (null: a false
    positive)."""

    policy_name: pl.String = pa.Field(description="The replayed policy.")
    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    started_at: UtcTimestamp = pa.Field(description="The alert's first firing step, UTC.")
    opened_severity: pl.String = pa.Field(description="The severity it opened at.")
    peak_severity: pl.String = pa.Field(description="page if it ever paged, else ticket.")
    opened_rule: pl.String = pa.Field(description="The rule that opened it.")
    opened_long_window: pl.String = pa.Field(description="The opening rule's long window.")
    escalations: pl.Int64 = pa.Field(ge=0, description="Its escalations from ticket to page.")
    escalated_at: UtcTimestamp = pa.Field(
        nullable=True, description="Its first escalation, UTC; null: none."
    )
    resolved_at: UtcTimestamp = pa.Field(
        nullable=True, description="Its resolution, UTC; null while open at the end of the range."
    )
    pages_sent: pl.Int64 = pa.Field(
        ge=0, description="Pages it sent: 1 if it opened as a page, plus its escalations."
    )
    matched_incidents: pl.Int64 = pa.Field(
        ge=0,
        description=(
            "Incidents it overlaps (widened by its opening rule's long window); 0: a false "
            "positive."
        ),
    )
    first_incident_id: pl.String = pa.Field(
        nullable=True, description="The earliest matched incident; null for a false positive."
    )


class ReplayAlertDetections(_Table):
    """Per policy and incident: whether, how fast and at which severity a grouped alert
    detected it (replay_detections for replay_alerts)."""

    policy_name: pl.String = pa.Field(description="The replayed policy.")
    incident_id: pl.String = pa.Field(description="The incident.")
    tenant_id: pl.String = pa.Field(description="The tenant affected.")
    slo_name: pl.String = pa.Field(
        nullable=True, description="The SLO affected; null: any SLO of the tenant."
    )
    started_at: UtcTimestamp = pa.Field(description="When the incident began, UTC.")
    ended_at: UtcTimestamp = pa.Field(description="When it ended, UTC.")
    expected_severity: pl.String = pa.Field(
        nullable=True,
        description="The severity it should be detected at; null when none is expected.",
    )
    matching_alerts: pl.Int64 = pa.Field(
        ge=0, description="The policy's alerts that match the incident."
    )
    detected: pl.Boolean = pa.Field(description="Whether any alert matches it.")
    highest_severity: pl.String = pa.Field(
        nullable=True,
        description="The most severe matching alert's peak severity; null when undetected.",
    )
    detected_at_severity: pl.Boolean = pa.Field(
        nullable=True,
        description="Some match is at least as severe as expected; null when none is expected.",
    )
    detected_at: UtcTimestamp = pa.Field(
        nullable=True, description="The earliest matching alert's start, UTC; null: undetected."
    )
    detection_minutes: pl.Float64 = pa.Field(
        nullable=True, description="detected_at - started_at in minutes; null when undetected."
    )
    reset_at: UtcTimestamp = pa.Field(
        nullable=True,
        description="The latest matching alert's resolution, UTC; null: undetected or open.",
    )
    reset_minutes: pl.Float64 = pa.Field(
        nullable=True, description="reset_at - ended_at in minutes; null when reset_at is null."
    )


class ReplayComparison(_Table):
    """One row per replayed policy: alert load, precision, recall, detection and reset time."""

    policy_name: pl.String = pa.Field(description="The replayed policy.")
    policy_order: pl.Int32 = pa.Field(description="Its position in the order given, from 1.")
    thresholds: pl.String = pa.Field(description="static or cohort.")
    description: pl.String = pa.Field(description="What the policy is, in words.")
    range_start: UtcTimestamp = pa.Field(description="Start of the replay range (inclusive), UTC.")
    range_end: UtcTimestamp = pa.Field(description="End of the replay range (exclusive), UTC.")
    tenants: pl.Int64 = pa.Field(description="Tenants in the replay.")
    episodes: pl.Int64 = pa.Field(ge=0, description="Alert episodes of the policy over the range.")
    pages: pl.Int64 = pa.Field(ge=0, description="Episodes of severity page.")
    tickets: pl.Int64 = pa.Field(ge=0, description="Episodes of severity ticket.")
    pages_per_tenant_week: pl.Float64 = pa.Field(
        nullable=True,
        description="pages per tenant per week of range; null when tenants or the range is empty.",
    )
    tickets_per_tenant_week: pl.Float64 = pa.Field(
        nullable=True,
        description=(
            "tickets per tenant per week of range; null when tenants or the range is empty."
        ),
    )
    true_episodes: pl.Int64 = pa.Field(ge=0, description="Episodes that match an incident.")
    precision: pl.Float64 = pa.Field(
        nullable=True, ge=0, le=1, description="true_episodes / episodes; null without episodes."
    )
    incidents: pl.Int64 = pa.Field(ge=0, description="Known incidents in the range.")
    detected: pl.Int64 = pa.Field(ge=0, description="Incidents matched by some episode.")
    recall: pl.Float64 = pa.Field(
        nullable=True, ge=0, le=1, description="detected / incidents; null without incidents."
    )
    incidents_with_expected: pl.Int64 = pa.Field(
        ge=0, description="Incidents with an expected severity."
    )
    detected_at_severity: pl.Int64 = pa.Field(
        ge=0, description="Of those, incidents detected at least as severely as expected."
    )
    recall_at_severity: pl.Float64 = pa.Field(
        nullable=True,
        ge=0,
        le=1,
        description="detected_at_severity / incidents_with_expected; null when none has one.",
    )
    detection_median_minutes: pl.Float64 = pa.Field(
        nullable=True,
        description="Median detection time of detected incidents, in minutes; null when none.",
    )
    detection_max_minutes: pl.Float64 = pa.Field(
        nullable=True, description="Longest detection time, in minutes; null when none."
    )
    reset_median_minutes: pl.Float64 = pa.Field(
        nullable=True,
        description=(
            "Median reset time (resolution after the incident's end), in minutes; null when none."
        ),
    )
    reset_max_minutes: pl.Float64 = pa.Field(
        nullable=True, description="Longest reset time, in minutes; null when none."
    )
    alerts: pl.Int64 = pa.Field(
        ge=0, description="Grouped alerts (replay_alerts): what people receive."
    )
    pages_sent: pl.Int64 = pa.Field(
        ge=0, description="Pages received: alerts opened as a page, plus escalations."
    )
    tickets_sent: pl.Int64 = pa.Field(ge=0, description="Alerts opened as a ticket.")
    pages_per_incident: pl.Float64 = pa.Field(
        nullable=True,
        description=(
            "Pages sent by alerts that match an incident / incidents a matching alert paged for;"
            " null when none was paged."
        ),
    )
    true_alerts: pl.Int64 = pa.Field(ge=0, description="Alerts that match an incident.")
    alert_precision: pl.Float64 = pa.Field(
        nullable=True, ge=0, le=1, description="true_alerts / alerts; null without alerts."
    )
    alerts_detected: pl.Int64 = pa.Field(ge=0, description="Incidents matched by some alert.")
    alert_recall: pl.Float64 = pa.Field(
        nullable=True,
        ge=0,
        le=1,
        description="alerts_detected / incidents; null without incidents.",
    )
    alert_detection_median_minutes: pl.Float64 = pa.Field(
        nullable=True, description="Median detection time by alerts, in minutes; null: none."
    )
    alert_detection_max_minutes: pl.Float64 = pa.Field(
        nullable=True, description="Longest detection time by alerts, in minutes; null: none."
    )
    alert_reset_median_minutes: pl.Float64 = pa.Field(
        nullable=True,
        description="Median reset time of alerts (their cooldown included), minutes; null: none.",
    )
    alert_reset_max_minutes: pl.Float64 = pa.Field(
        nullable=True, description="Longest reset time of alerts, in minutes; null: none."
    )


# Report relations (sql/reports/)


class ReportPeriod(_Table):
    """One row: the span of evaluation steps the report covers (sql/reports/report_period.sql)."""

    period_start: UtcTimestamp = pa.Field(
        nullable=True, description="The first eval_ts of any budget or burn row; null if none."
    )
    period_end: UtcTimestamp = pa.Field(
        nullable=True, description="The last eval_ts of any budget or burn row; null if none."
    )


class ReportParams(_Table):
    """The one-row settings of a report, bound by pipelines/reporting/queries.py."""

    step_minutes: pl.Int32 = pa.Field(
        ge=1, description="The chart step in minutes: budgets sampled, burns peaked per step."
    )
    max_charted_slos: pl.Int32 = pa.Field(
        ge=1, description="At most this many tenant SLOs get charts (report_charted)."
    )


class ReportCharted(_Table):
    """The tenant SLOs the page draws charts for: those with episodes first, then the
    overview's urgency order, at most report_params.max_charted_slos of them."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    chart_rank: pl.Int64 = pa.Field(ge=1, description="1: the first SLO charted.")


class ReportOverview(_Table):
    """Per tenant SLO: its status (fct_slo_status), spec and episode counts, most urgent
    first (paging, ticketing, no data, then least budget left)."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    cohort: pl.String = pa.Field(nullable=True, description="The tenant's cohort (slo_specs).")
    sli: pl.String = pa.Field(nullable=True, description="availability or latency (slo_specs).")
    state: pl.String = pa.Field(
        description="ok, ticket, page, no_data or low_traffic (fct_slo_status)."
    )
    urgency: pl.Int32 = pa.Field(
        ge=0,
        description=(
            "The state's place in the most-urgent-first order STATUS_URGENCY (0: page); "
            "states not in it come after it."
        ),
    )
    open_alerts: pl.String = pa.Field(
        nullable=True, description="The open episodes' rules, oldest first; null: none."
    )
    objective: pl.Float64 = pa.Field(nullable=True, description="The objective, in percent.")
    period_days: pl.Int32 = pa.Field(nullable=True, description="The SLO period in days.")
    budget_remaining_percent: pl.Float64 = pa.Field(
        nullable=True, description="Percent of the budget left at as_of; null: no data."
    )
    time_to_exhaustion_hours: pl.Float64 = pa.Field(
        nullable=True,
        description="Hours until the budget is spent at the 1d burn; null: not within the period.",
    )
    burn_rate_1h: pl.Float64 = pa.Field(
        nullable=True, description="The 1h window's burn rate at as_of."
    )
    burn_rate_1d: pl.Float64 = pa.Field(
        nullable=True, description="The 1d window's burn rate at as_of: the exhaustion's."
    )
    pages: pl.Int64 = pa.Field(ge=0, description="Page episodes of the SLO.")
    tickets: pl.Int64 = pa.Field(ge=0, description="Ticket episodes of the SLO.")
    open_episodes: pl.Int64 = pa.Field(ge=0, description="Episodes not resolved yet.")
    as_of: UtcTimestamp = pa.Field(
        nullable=True, description="The tenant's evaluation point (fct_slo_status), UTC."
    )
    open_since: UtcTimestamp = pa.Field(
        nullable=True, description="The start of the oldest open episode, UTC."
    )


class ReportBurndown(_Table):
    """Per tenant SLO: budget left at every chart step boundary, and at its newest step."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    eval_ts: UtcTimestamp = pa.Field(description="The evaluation step, UTC.")
    budget_remaining_percent: pl.Float64 = pa.Field(
        nullable=True, description="Percent of the budget left."
    )


class ReportBurnRates(_Table):
    """Per tenant SLO, window and chart step (a dense grid): the peak burn rate in the step."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    window: pl.String = pa.Field(description="The burn-rate window (5m .. 3d).")
    step_start: UtcTimestamp = pa.Field(description="The chart step's start, UTC.")
    peak_burn_rate: pl.Float64 = pa.Field(
        nullable=True, description="The highest burn rate in the step; null: no requests."
    )


class ReportSummaryEpisodes(_Table):
    """The summary's alert episodes, oldest first, peak burn rounded to 2 decimals."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    rule_name: pl.String = pa.Field(description="The policy rule.")
    severity: pl.String = pa.Field(description="page or ticket.")
    started_at: UtcTimestamp = pa.Field(description="The episode's first firing step, UTC.")
    resolved_at: UtcTimestamp = pa.Field(
        nullable=True, description="The first step no longer firing, UTC; null while open."
    )
    peak_burn: pl.Float64 = pa.Field(description="The peak long-window burn, to 2 decimals.")


class ReportSuppressed(_Table):
    """Per tenant SLO rule: each span of consecutive steps at which its ticket fired but was
    held back while a page of the SLO fired (fct_alert_evaluations.suppressed)."""

    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    rule_name: pl.String = pa.Field(description="The suppressed (ticket) rule.")
    severity: pl.String = pa.Field(description="The rule's severity: ticket.")
    started_at: UtcTimestamp = pa.Field(description="The span's first suppressed step, UTC.")
    ended_at: UtcTimestamp = pa.Field(
        description="The step after its last suppressed step, UTC (as an episode's resolved_at)."
    )
    suppressed_steps: pl.Int64 = pa.Field(ge=1, description="Suppressed steps in the span.")


# Tables by name, in pipeline (DAG) order. The name is also the SQL model's file name.
TABLES: dict[str, type[_Table]] = {
    "run_params": RunParams,
    "window_labels": WindowLabels,
    "raw_requests": RequestLog,
    "slo_specs": SloSpecs,
    "alert_policy": AlertPolicy,
    "budget_adjustments": BudgetAdjustments,
    "contract_report": ContractReport,
    "raw_request_checks": RawRequestChecks,
    "quarantined_files": Quarantine,
    "quarantine": Quarantine,
    "quarantine_policy": QuarantinePolicy,
    "int_quarantine_counts": IntQuarantineCounts,
    "stg_requests": StgRequests,
    "int_slo_requests": IntSloRequests,
    "int_sli_buckets": IntSliBuckets,
    "int_sli_adjusted": IntSliAdjusted,
    "horizon_params": HorizonParams,
    "previous_tenant_horizons": IntTenantHorizons,
    "int_tenant_horizons": IntTenantHorizons,
    "int_slo_keys": IntSloKeys,
    "int_sli_units": IntSliUnits,
    "fct_burn_rates": FctBurnRates,
    "fct_error_budget": FctErrorBudget,
    "cohort_threshold_params": CohortThresholdParams,
    "cohort_thresholds": CohortThresholds,
    # alert_policy with each rule at its cohort threshold (policy.thresholds: cohort).
    "alert_policy_cohort": AlertPolicy,
    "int_log_coverage": IntLogCoverage,
    "fct_alert_evaluations": FctAlertEvaluations,
    "fct_alert_episodes": FctAlertEpisodes,
    "alert_params": AlertParams,
    "fct_alerts": FctAlerts,
    "contributor_params": ContributorParams,
    "fct_alert_contributors": FctAlertContributors,
    "fct_slo_status": FctSloStatus,
    "replay_policies": ReplayPolicies,
    "replay_params": ReplayParams,
    "replay_incidents": ReplayIncidents,
    # Where a replayed rule could fire, and the step after each: evaluated rule by rule.
    "replay_candidate_steps": ReplaySteps,
    # The replay's other steps that can resolve an alert: one row each, no rule rows.
    "replay_quiet_steps": ReplaySteps,
    "replay_episode_runs": ReplayEpisodeRuns,
    "replay_episodes": ReplayEpisodes,
    "replay_alert_runs": ReplayAlertRuns,
    "replay_alerts": ReplayAlerts,
    # Both detectors' matches of the incidents: a view the two detection tables split.
    "replay_incident_matches": ReplayIncidentMatches,
    "replay_detections": ReplayDetections,
    "replay_alert_detections": ReplayAlertDetections,
    "replay_comparison": ReplayComparison,
    # Report relations (sql/reports/): the report page and the summary read these.
    "report_period": ReportPeriod,
    "report_params": ReportParams,
    "report_overview": ReportOverview,
    "report_charted": ReportCharted,
    "report_burndown": ReportBurndown,
    "report_burn_rates": ReportBurnRates,
    # alert_policy in the order of the page's burn-rate panels.
    "report_policy": AlertPolicy,
    # fct_alert_episodes in the order of the page's episode table.
    "report_episodes": FctAlertEpisodes,
    "report_summary_episodes": ReportSummaryEpisodes,
    "report_suppressed": ReportSuppressed,
    # fct_alert_contributors as the report's burn panel lists it.
    "report_contributors": FctAlertContributors,
}


class Notifications(_Table):
    """The outbox: one row per message (transition x channel), as `state/outbox.duckdb`
    holds it in table `outbox`; exported whole to the lake as `notifications`."""

    key: pl.String = pa.Field(
        description="Idempotency key: tenant|slo|opening rule|alert start|transition|channel."
    )
    transition_key: pl.String = pa.Field(
        description="The transition's key: tenant|slo|opening rule|alert start|transition."
    )
    channel: pl.String = pa.Field(description="The route's channel name (from the manifest).")
    channel_type: pl.String = pa.Field(
        description=(
            "The channel's kind (e.g. alertmanager, pagerduty, slack, webhook, email, command)."
        )
    )
    transition: pl.String = pa.Field(description="opened, escalated or resolved.")
    tenant_id: pl.String = pa.Field(description="The tenant.")
    slo_name: pl.String = pa.Field(description="The tenant's SLO.")
    rule_name: pl.String = pa.Field(
        description="The rule that opened the alert (the message's own rule is in its payload)."
    )
    severity: pl.String = pa.Field(description="page or ticket.")
    episode_started_at: UtcTimestamp = pa.Field(
        description="The alert's started_at (fct_alerts), UTC."
    )
    transition_at: UtcTimestamp = pa.Field(description="When the transition happened, UTC.")
    dedup_key: pl.String = pa.Field(
        description="What the receiver deduplicates on (one per alert, e.g. PagerDuty's)."
    )
    payload: pl.String = pa.Field(description="The rendered message, as JSON text (frozen).")
    status: pl.String = pa.Field(
        description="pending, sending, sent, failed (retried), rejected (final) or suppressed."
    )
    attempts: pl.Int32 = pa.Field(description="Delivery attempts so far.")
    created_at: UtcTimestamp = pa.Field(description="Wall-clock time of enqueueing, UTC.")
    updated_at: UtcTimestamp = pa.Field(description="Wall-clock time of the last change, UTC.")
    sent_at: UtcTimestamp = pa.Field(
        nullable=True, description="When the receiver accepted it, UTC; null until sent."
    )
    last_error: pl.String = pa.Field(
        nullable=True, description="The last attempt's error, secrets redacted; null if none."
    )


class DeliveryAttempts(_Table):
    """One row per delivery attempt of an outbox message (`state/outbox.duckdb`, exported
    whole to the lake as `delivery_attempts`)."""

    key: pl.String = pa.Field(description="The message's key (notifications.key).")
    attempt: pl.Int32 = pa.Field(description="The attempt's number for the message, from 1.")
    channel: pl.String = pa.Field(description="The channel tried.")
    started_at: UtcTimestamp = pa.Field(description="Wall-clock start of the attempt, UTC.")
    finished_at: UtcTimestamp = pa.Field(
        nullable=True, description="When the attempt ended, UTC; null while running or cut off."
    )
    outcome: pl.String = pa.Field(
        nullable=True,
        description="ok, error or interrupted (a crash; outcome unknown); null while running.",
    )
    status_code: pl.Int32 = pa.Field(
        nullable=True, description="The receiver's HTTP/SMTP status; null when none came back."
    )
    error: pl.String = pa.Field(
        nullable=True, description="What went wrong, secrets redacted; null on success."
    )
    output: pl.String = pa.Field(
        nullable=True,
        description=(
            "A command channel's stdout and stderr, secrets redacted, each cut to 4,000 "
            "characters; null for other channels and when the command printed nothing."
        ),
    )


class ChangeEvents(_Table):
    """Change events (deploys, scaling, failovers, config changes) read from
    `<data>/events/*.csv`, kept as context for alerts; the lake table `change_events`."""

    ts: UtcTimestamp = pa.Field(description="When the change happened, UTC.")
    tenant_id: pl.String = pa.Field(description="The tenant, or * for all.")
    service: pl.String = pa.Field(description="The service, or * for all.")
    kind: pl.String = pa.Field(description="deploy, scale, failover or config.")
    description: pl.String = pa.Field(description="The change in words (may be empty).")
    source: pl.String = pa.Field(description="file:line of the event in `<data>/events/`.")


class AuditLog(_Table):
    """The hash-chained audit log `<warehouse>/audit/audit.jsonl`, one row per record
    (the record kept whole as JSON); the lake table `audit_log`."""

    seq: pl.Int64 = pa.Field(nullable=True, description="The record's position in the chain.")
    id: pl.String = pa.Field(nullable=True, description="The record's id.")
    kind: pl.String = pa.Field(nullable=True, description="decision or attempt.")
    at: pl.String = pa.Field(
        nullable=True,
        description="ISO time, as text: the transition's (decision) or the start (attempt).",
    )
    transition_key: pl.String = pa.Field(
        nullable=True, description="The transition's key; null for an attempt."
    )
    tenant_id: pl.String = pa.Field(nullable=True, description="The tenant.")
    slo_name: pl.String = pa.Field(nullable=True, description="The tenant's SLO.")
    rule_name: pl.String = pa.Field(nullable=True, description="The policy rule.")
    transition: pl.String = pa.Field(
        nullable=True, description="opened, escalated or resolved; null for an attempt."
    )
    action: pl.String = pa.Field(
        nullable=True, description="A decision's action: notify, no_route or suppressed."
    )
    outcome: pl.String = pa.Field(nullable=True, description="An attempt's outcome.")
    input_sha256: pl.String = pa.Field(
        nullable=True, description="Content hash of the lake rows behind a decision."
    )
    prev_hash: pl.String = pa.Field(nullable=True, description="The previous record's hash.")
    record_hash: pl.String = pa.Field(
        nullable=True, description="SHA-256 of the record's canonical JSON without this field."
    )
    record: pl.String = pa.Field(nullable=True, description="The whole record, as JSON text.")


# Tables kept outside the lake writer: the notification stage keeps them in its own
# files (`state/outbox.duckdb`, `audit/audit.jsonl`, `<data>/events/`) and exports each
# whole to `lake/<name>/data.parquet`, where the catalog's generic view reads them. They
# are not in TABLES because TABLES is the DAG of SQL models (sql_check binds every entry
# before a model), and because the outbox export holds wall-clock times, while TABLES'
# lake files must be byte-identical for the same inputs (tests/test_crash_concurrency.py).
OTHER_TABLES: dict[str, type[_Table]] = {
    "notifications": Notifications,
    "delivery_attempts": DeliveryAttempts,
    "change_events": ChangeEvents,
    "audit_log": AuditLog,
}

# Each table's key (grain): the columns whose values no two rows share. An empty key
# means a one-row table. Nulls count as values (quarantine's row_number is null once
# per whole file). A key is a set: the order here is the usual sort order, not always
# the SQL model's `order by`.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "run_params": (),
    "window_labels": ("window_label",),
    "raw_requests": ("tenant_id", "request_id", "replica"),
    "slo_specs": ("tenant_id", "slo_name"),
    "alert_policy": ("tenant_id", "slo_name", "rule_name"),
    "budget_adjustments": ("adjustment_id", "tenant_id", "slo_name"),
    # One row per finding; a latency-unit warning is per service, which only `detail` names.
    "contract_report": ("tenant_id", "folder_day", "file", "column_name", "detail"),
    "raw_request_checks": ("tenant_id", "folder_day", "file", "row_number"),
    "quarantined_files": ("tenant_id", "folder_day", "file"),
    "quarantine": ("tenant_id", "folder_day", "file", "row_number"),
    "quarantine_policy": (),
    "int_quarantine_counts": ("tenant_id", "folder_day"),
    "stg_requests": ("tenant_id", "request_id"),
    "int_slo_requests": ("tenant_id", "slo_name", "request_id"),
    "int_sli_buckets": ("tenant_id", "slo_name", "bucket_start"),
    "int_sli_adjusted": ("tenant_id", "slo_name", "bucket_start"),
    "horizon_params": (),
    "previous_tenant_horizons": ("tenant_id",),
    "int_tenant_horizons": ("tenant_id",),
    "int_slo_keys": ("tenant_id", "slo_name"),
    "int_sli_units": ("tenant_id", "slo_name", "bucket_start"),
    "fct_burn_rates": ("tenant_id", "slo_name", "eval_ts", "window"),
    "fct_error_budget": ("tenant_id", "slo_name", "eval_ts"),
    "cohort_threshold_params": (),
    "cohort_thresholds": (
        "effective_from",
        "cohort",
        "sli",
        "rule_name",
        "long_window",
        "short_window",
    ),
    "alert_policy_cohort": ("tenant_id", "slo_name", "rule_name"),
    "int_log_coverage": ("tenant_id", "eval_ts"),
    "fct_alert_evaluations": ("tenant_id", "slo_name", "eval_ts", "rule_name"),
    "fct_alert_episodes": ("tenant_id", "slo_name", "rule_name", "started_at"),
    "alert_params": (),
    "contributor_params": (),
    "fct_alerts": ("tenant_id", "slo_name", "started_at"),
    "fct_alert_contributors": ("tenant_id", "slo_name", "started_at", "basis", "operation_rank"),
    "report_contributors": ("tenant_id", "slo_name", "started_at", "basis", "operation_rank"),
    "fct_slo_status": ("tenant_id", "slo_name"),
    "replay_policies": ("policy_name",),
    "replay_params": (),
    "replay_incidents": ("incident_id",),
    "replay_candidate_steps": ("tenant_id", "slo_name", "eval_ts"),
    "replay_quiet_steps": ("tenant_id", "slo_name", "eval_ts"),
    "replay_episode_runs": ("policy_name", "tenant_id", "slo_name", "rule_name", "started_at"),
    "replay_episodes": ("policy_name", "tenant_id", "slo_name", "rule_name", "started_at"),
    "replay_incident_matches": ("detector", "policy_name", "incident_id"),
    "replay_detections": ("policy_name", "incident_id"),
    "replay_alert_runs": ("policy_name", "tenant_id", "slo_name", "started_at"),
    "replay_alerts": ("policy_name", "tenant_id", "slo_name", "started_at"),
    "replay_alert_detections": ("policy_name", "incident_id"),
    "replay_comparison": ("policy_name",),
    "notifications": ("key",),
    "delivery_attempts": ("key", "attempt"),
    "change_events": ("source",),
    "audit_log": ("seq",),
    # Report relations (sql/reports/).
    "report_period": (),
    "report_params": (),
    "report_overview": ("tenant_id", "slo_name"),
    "report_charted": ("tenant_id", "slo_name"),
    "report_burndown": ("tenant_id", "slo_name", "eval_ts"),
    "report_burn_rates": ("tenant_id", "slo_name", "window", "step_start"),
    "report_policy": ("tenant_id", "slo_name", "rule_name"),
    "report_episodes": ("tenant_id", "slo_name", "rule_name", "started_at"),
    "report_summary_episodes": ("tenant_id", "slo_name", "rule_name", "started_at"),
    "report_suppressed": ("tenant_id", "slo_name", "rule_name", "started_at"),
}


def table_model(table: str) -> type[_Table]:
    """The schema of a table of TABLES or OTHER_TABLES."""
    if table in TABLES:
        return TABLES[table]
    return OTHER_TABLES[table]


def table_key(table: str) -> tuple[str, ...]:
    """The table's key (grain): the columns that identify one row; () for a one-row table."""
    if table not in TABLE_KEYS:
        raise KeyError(f"table {table} has no key in schemas/tables.py (TABLE_KEYS)")
    return TABLE_KEYS[table]


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
    columns = table_model(table).to_schema().columns
    return {name: _DUCKDB_TYPES[column.dtype.type.base_type()] for name, column in columns.items()}


def column_names(table: str) -> list[str]:
    """The table's column names in order."""
    return list(table_model(table).to_schema().columns)


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
    for name, column in table_model(table).to_schema().columns.items():
        base = column.dtype.type.base_type()
        kind = pyarrow.timestamp("us", tz=timezone) if base is pl.Datetime else _ARROW_TYPES[base]
        fields.append(pyarrow.field(name, kind))
    return pyarrow.schema(fields)
