"""The functions the models call whose definition differs per engine, side by side.

DuckDB has macros; Spark has temporary SQL functions (`create temporary function ...
returns ... return ...`, inlined by its optimizer). Each entry here is one function
with both bodies, so the two can only drift in this file, where the two-engine test
holds them equal. `pipelines.warehouse.session.connect` defines the DuckDB side,
`pipelines.engines.spark_run.define_functions` the Spark side.

Spark runs with `spark.sql.timestampType = TIMESTAMP_NTZ`, so `timestamp` there is the
naive UTC timestamp of the lake, as in DuckDB; the bodies convert to `timestamp_ltz`
(an instant, with the session time zone UTC) only where Spark's functions need one.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.manifest import BUCKET_MINUTES
from schemas.tables import STATUS_URGENCY

# DuckDB's time_bucket origin for buckets of minutes: 2000-01-03 00:00:00 (a Monday).
# Spark's bucketing (bw_time_bucket) uses the same one, so a width that does not
# divide a day still falls on the same boundaries.
TIME_BUCKET_ORIGIN_MICROS = 946_857_600 * 1_000_000

# A status state's place in STATUS_URGENCY (0 first); every other state after them.
_URGENCY_CASE = (
    "case state "
    + " ".join(f"when '{state}' then {rank}" for rank, state in enumerate(STATUS_URGENCY))
    + f" else {len(STATUS_URGENCY)} end"
)

_LOCAL_START = "date_trunc(calendar, from_utc_timestamp(cast(moment as timestamp_ltz), zone))"


@dataclass(frozen=True)
class EngineFunction:
    """One function of the models, as a DuckDB macro and as a Spark SQL function."""

    name: str
    # The DuckDB macro's parameters and body: `create macro name(params) as body`.
    duckdb_params: str
    duckdb_body: str
    # Spark's typed parameters, return type and body.
    spark_params: str
    spark_returns: str
    spark_body: str

    def duckdb_sql(self) -> str:
        return f"create or replace macro {self.name}({self.duckdb_params}) as {self.duckdb_body}"

    def spark_sql(self) -> str:
        return (
            f"create or replace temporary function {self.name}({self.spark_params}) "
            f"returns {self.spark_returns} return {self.spark_body}"
        )


FUNCTIONS: tuple[EngineFunction, ...] = (
    # The index of the 5-minute step holding `ts`: consecutive steps have consecutive
    # numbers, which is how the models find runs of firing steps.
    EngineFunction(
        "step_number",
        "ts",
        f"cast(epoch(ts) as bigint) // {BUCKET_MINUTES * 60}",
        "ts timestamp_ntz",
        "bigint",
        f"unix_micros(cast(ts as timestamp_ltz)) div {BUCKET_MINUTES * 60 * 1_000_000}",
    ),
    # Where the week/month/quarter holding the UTC time `moment` starts in time zone
    # `zone`, as a naive UTC timestamp (DST included).
    EngineFunction(
        "calendar_period_start",
        "calendar, zone, moment",
        "cast(timezone(zone, date_trunc(calendar, timezone(zone, cast(moment as timestamptz))))"
        " as timestamp)",
        "calendar string, zone string, moment timestamp_ntz",
        "timestamp_ntz",
        f"cast(to_utc_timestamp({_LOCAL_START}, zone) as timestamp_ntz)",
    ),
    # Where that period ends (the next one starts).
    EngineFunction(
        "calendar_period_end",
        "calendar, zone, moment",
        "cast(timezone(zone, date_trunc(calendar, timezone(zone, cast(moment as timestamptz)))"
        " + case calendar when 'week' then interval 7 day when 'month' then interval 1 month"
        " else interval 3 month end) as timestamp)",
        "calendar string, zone string, moment timestamp_ntz",
        "timestamp_ntz",
        # Spark cannot mix day and month intervals in one case, so each branch adds its own.
        "cast(to_utc_timestamp(case calendar"
        f" when 'week' then {_LOCAL_START} + interval 7 day"
        f" when 'month' then {_LOCAL_START} + interval 1 month"
        f" else {_LOCAL_START} + interval 3 month end, zone) as timestamp_ntz)",
    ),
    # A 64-bit hash of a request's key, which only routes rows (logged once or not) in
    # stg_requests, never decides which copy is kept. DuckDB's hash() is 64-bit; Spark's
    # hash() is 32-bit Murmur3 (many more collisions), so Spark uses xxhash64.
    EngineFunction(
        "key_hash",
        "tenant_id, request_id",
        "hash(tenant_id, request_id)",
        "tenant_id string, request_id string",
        "bigint",
        "xxhash64(tenant_id, request_id)",
    ),
    # Spark's side of DuckDB's time_bucket(width, ts) for a width in microseconds (the
    # rewrite pass turns `time_bucket(interval ..., ts)` into this). DuckDB has it built in.
    EngineFunction(
        "bw_time_bucket",
        "width_us, ts",
        "time_bucket(to_microseconds(width_us), ts)",
        "width_us bigint, ts timestamp_ntz",
        "timestamp_ntz",
        "cast(timestamp_micros(unix_micros(cast(ts as timestamp_ltz))"
        f" - pmod(unix_micros(cast(ts as timestamp_ltz)) - {TIME_BUCKET_ORIGIN_MICROS},"
        " width_us)) as timestamp_ntz)",
    ),
    # Whether the samples counted as one value, the last of them at 1-based rank
    # `last_rank`, hold the sample at 0-based `position` of the sorted samples: how the
    # cohort thresholds read a median off counted values (sql/policy/cohort_thresholds.sql).
    EngineFunction(
        "holds_position",
        "last_rank, samples, position",
        "last_rank - samples <= position and last_rank > position",
        "last_rank bigint, samples bigint, position bigint",
        "boolean",
        "last_rank - samples <= position and last_rank > position",
    ),
    # Where a tenant SLO's status `state` comes in the most-urgent-first order
    # (STATUS_URGENCY): the report overview's `urgency`, by which it and its charts are
    # ordered. (Spark refuses a SQL function in a sort, so the overview sorts on the column.)
    EngineFunction("urgency_rank", "state", _URGENCY_CASE, "state string", "int", _URGENCY_CASE),
)

# The functions a model may call that are not built into both engines.
FUNCTION_NAMES = frozenset(function.name for function in FUNCTIONS)
