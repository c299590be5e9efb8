"""Given rows -> expected rows, one SQL model and one behaviour per test (dbt unit tests).

The oracle tests (test_pipeline_vs_oracle.py) prove whole datasets equal to a
brute-force reimplementation; these cases are for the reader who wants to see
one rule of DESIGN.md on a handful of rows. Each model runs alone on frames
bound under its input tables' names: no lake, no Dagster. Expected rows are
worked out by hand from the semantics, never copied from a run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import polars as pl
import pytest

from pipelines.models.registry import MODELS, Kind, model, model_sql
from pipelines.warehouse.params import bind_run_params
from pipelines.warehouse.session import bind, connect
from schemas.tables import TABLES, sql_columns
from tests.conftest import request

Row = dict[str, Any]

DAY = dt.date(2024, 3, 10)
MIDNIGHT = dt.datetime(2024, 3, 10)
STEPS_PER_DAY = 24 * 60 // 5
WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]


def at(clock: str, days: int = 0) -> dt.datetime:
    """`clock` ("HH:MM" or "HH:MM:SS.ffffff") on DAY, shifted by `days`."""
    for layout in ("%H:%M", "%H:%M:%S", "%H:%M:%S.%f"):
        try:
            moment = dt.datetime.strptime(clock, layout).time()
        except ValueError:
            continue
        return dt.datetime.combine(DAY + dt.timedelta(days=days), moment)
    raise ValueError(clock)


# --- running one model ----------------------------------------------------------------


def table_frame(table: str, rows: Sequence[Row]) -> pl.DataFrame:
    """`rows` as a frame with exactly the columns and dtypes of `schemas.tables` for `table`."""
    schema = {name: column.dtype.type for name, column in TABLES[table].to_schema().columns.items()}
    return pl.DataFrame(list(rows), schema=schema, orient="row")


def _define_no_custom_bad_macro(connection: Any) -> None:
    # int_sli_buckets calls burnwatch_custom_bad for an SLO with its own predicate. No case
    # here gives one, so the macro is what the builder defines for such a manifest: null.
    parameters = ", ".join(sql_columns("raw_requests"))
    connection.execute(
        f"create or replace temp macro burnwatch_custom_bad(predicate, {parameters}) "
        "as null::boolean"
    )


def run_model(
    name: str,
    inputs: dict[str, pl.DataFrame],
    day: dt.date = DAY,
    views: Sequence[str] = (),
) -> pl.DataFrame:
    """Run sql/<layer>/<name>.sql for `day` on `inputs` (table name -> frame), with the
    ephemeral models `views` bound over them (default: the model's ephemeral inputs that
    `inputs` does not give); the result has the table's schema."""
    if not views:
        views = [
            source.table
            for source in model(name).inputs
            if source.table not in inputs
            and source.table in MODELS
            and MODELS[source.table].kind is Kind.EPHEMERAL
        ]
    lake_tables = {source.table for source in model(name).lake_inputs()}
    if "int_tenant_horizons" in lake_tables and "int_tenant_horizons" not in inputs:
        inputs = {**inputs, "int_tenant_horizons": whole_day_horizons(inputs["slo_specs"], day)}
    if "int_sli_adjusted" in lake_tables and "int_sli_adjusted" not in inputs:
        # No budget adjustment unless a case gives one.
        inputs = {**inputs, "int_sli_adjusted": table_frame("int_sli_adjusted", [])}
    connection = connect()
    try:
        for table, frame in inputs.items():
            connection.register(f"{table}_frame", frame.to_arrow())
            bind(connection, table, f"select * from {table}_frame")
        # Before the views: a view's functions must exist when it is created.
        _define_no_custom_bad_macro(connection)
        for view in views:
            bind(connection, view, model_sql(view))
        bind_run_params(connection, day)
        result = connection.sql(model_sql(name)).pl()
    finally:
        connection.close()
    assert result.schema == table_frame(name, []).schema
    if model(name).sort_key:
        # Sorted by an integer of its own (registry sort_key), in its key's order.
        keys = result.select(model(name).order_by).rows()
        assert keys == sorted(keys), f"{name} is not in the order of its key"
    return result


def whole_day_horizons(slo_specs: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """int_tenant_horizons that let every tenant of `slo_specs` be evaluated to the end
    of `day` (its last step, 23:55): logs that reach past the day."""
    last_step = dt.datetime.combine(day, dt.time(23, 55))
    rows = [
        {
            "tenant_id": tenant,
            "data_until": last_step + dt.timedelta(minutes=4),
            "evaluated_until": last_step,
            "horizon": last_step,
            "max_silence_minutes": 15,
            "silent": False,
        }
        for tenant in sorted(set(slo_specs["tenant_id"].to_list()))
    ]
    return table_frame("int_tenant_horizons", rows)


def assert_rows(actual: pl.DataFrame, expected: Sequence[Row], key: Sequence[str]) -> None:
    """The rows of `actual` are exactly `expected` (floats approximately), in `key` order."""

    def ordered(rows: Sequence[Row]) -> list[Row]:
        return sorted(rows, key=lambda row: tuple(row[column] for column in key))

    def approximate(row: Row) -> Row:
        return {
            column: pytest.approx(value) if isinstance(value, float) else value
            for column, value in row.items()
        }

    assert ordered(actual.to_dicts()) == [approximate(row) for row in ordered(expected)]


# --- stg_requests ---------------------------------------------------------------------


def raw_request(request_id: str, ts: dt.datetime, **columns: Any) -> Row:
    """A raw_requests row: conftest's `request` (its keywords), with operation "GET /"."""
    return request(request_id, ts, **{"operation": "GET /", **columns})


def staged(row: Row, replica_copies: int) -> Row:
    """The stg_requests row of the kept copy `row` of a request logged `replica_copies` times."""
    return {**row, "replica_copies": replica_copies}


def run_stg_requests(rows: Sequence[Row], day: dt.date = DAY) -> pl.DataFrame:
    # stg_requests.sql reads only the contract's columns of raw_requests (the scan's
    # folder columns are for quarantine), so the contract's frame is the whole input.
    return run_model("stg_requests", {"raw_requests": table_frame("raw_requests", rows)}, day)


STG_KEY = ["tenant_id", "request_id"]


def test_a_request_logged_by_several_replicas_counts_once_as_its_earliest_copy() -> None:
    earliest = raw_request("a", at("10:00:01"), replica="r3", status=503, latency=120.0)
    rows = [
        raw_request("a", at("10:00:02"), replica="r1"),
        earliest,
        raw_request("a", at("10:00:03"), replica="r2"),
        raw_request("b", at("10:00:05"), replica="r1"),
    ]
    assert_rows(
        run_stg_requests(rows),
        [staged(earliest, 3), staged(rows[3], 1)],
        STG_KEY,
    )


def test_copies_at_the_same_ts_keep_the_smallest_replica_compared_as_a_string() -> None:
    # "r10" < "r2" as strings: the tie goes to r10, every column from r10's copy.
    from_r10 = raw_request(
        "a", at("10:00"), replica="r10", status=500, latency=20.0, operation="PUT /x"
    )
    rows = [raw_request("a", at("10:00"), replica="r2", latency=10.0), from_r10]
    assert_rows(run_stg_requests(rows), [staged(from_r10, 2)], STG_KEY)


def test_the_same_request_id_in_two_tenants_is_two_requests() -> None:
    rows = [
        raw_request("a", at("10:00"), tenant="acme"),
        raw_request("a", at("10:00"), tenant="globex"),
    ]
    assert_rows(run_stg_requests(rows), [staged(rows[0], 1), staged(rows[1], 1)], STG_KEY)


def test_requests_outside_the_runs_day_are_left_out() -> None:
    rows = [
        raw_request("yesterday", at("23:59:59.999999", days=-1)),
        raw_request("midnight", at("00:00")),
        raw_request("last-instant", at("23:59:59.999999")),
        raw_request("tomorrow", at("00:00", days=1)),
    ]
    assert_rows(run_stg_requests(rows), [staged(rows[1], 1), staged(rows[2], 1)], STG_KEY)


def test_a_request_belongs_to_the_day_of_its_kept_copy() -> None:
    before_midnight = raw_request("x", at("23:59:58", days=-1), replica="r2")
    rows = [before_midnight, raw_request("x", at("00:00:01"), replica="r1")]
    assert run_stg_requests(rows, DAY).is_empty()
    assert_rows(
        run_stg_requests(rows, DAY - dt.timedelta(days=1)),
        [staged(before_midnight, 2)],
        STG_KEY,
    )


# --- int_sli_buckets ------------------------------------------------------------------


def slo_spec(
    slo_name: str = "availability",
    sli: str = "availability",
    objective: float = 99.9,
    threshold_ms: float | None = None,
    service: str = "api",
    tenant_id: str = "acme",
    period_days: int = 30,
) -> Row:
    return {
        "tenant_id": tenant_id,
        "slo_name": slo_name,
        "cohort": "standard",
        "service": service,
        "sli": sli,
        "objective": objective,
        "threshold_ms": threshold_ms,
        "period_days": period_days,
        "calendar": None,
        "timezone": "UTC",
        "budgeting": "occurrences",
        "timeslice_minutes": 5,
        "timeslice_target": None,
        "bad_predicate": None,
        "max_silence_minutes": 15,
    }


LATENCY_SLO = slo_spec("latency", sli="latency", objective=99.0, threshold_ms=300.0)


def stg_request(
    request_id: str,
    ts: dt.datetime,
    status_code: int = 200,
    latency_ms: float = 50.0,
    service: str = "api",
    tenant_id: str = "acme",
) -> Row:
    return {
        "tenant_id": tenant_id,
        "request_id": request_id,
        "ts": ts,
        "service": service,
        "operation": None,
        "status_code": status_code,
        "latency_ms": latency_ms,
        "replica": "r1",
        "replica_copies": 1,
    }


def run_int_sli_buckets(
    requests: Sequence[Row],
    slos: Sequence[Row] = (slo_spec(),),
    quarantine_counts: Sequence[Row] = (),
    adjustments: Sequence[Row] = (),
    name: str = "int_sli_buckets",
) -> pl.DataFrame:
    """int_sli_buckets (or int_sli_adjusted, which reads the same) over the given rows."""
    return run_model(
        name,
        {
            "stg_requests": table_frame("stg_requests", requests),
            "slo_specs": table_frame("slo_specs", slos),
            "int_quarantine_counts": table_frame("int_quarantine_counts", quarantine_counts),
            "budget_adjustments": table_frame("budget_adjustments", adjustments),
        },
        views=("int_slo_requests",),
    )


def budget_adjustment(starts_at: dt.datetime, ends_at: dt.datetime, slo_name: str) -> Row:
    return {
        "adjustment_id": "a1",
        "manifest_index": 0,
        "tenant_id": "acme",
        "slo_name": slo_name,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "reason": "maintenance",
    }


def sli_bucket(
    bucket_start: dt.datetime,
    total: int,
    bad: int,
    quantiles: tuple[float, float, float, float] = (100.0, 100.0, 100.0, 100.0),
    slo_name: str = "availability",
    tenant_id: str = "acme",
) -> Row:
    p50, p90, p95, p99 = quantiles
    return {
        "tenant_id": tenant_id,
        "slo_name": slo_name,
        "bucket_start": bucket_start,
        "total": total,
        "bad": bad,
        "latency_p50_ms": p50,
        "latency_p90_ms": p90,
        "latency_p95_ms": p95,
        "latency_p99_ms": p99,
    }


BUCKET_KEY = ["tenant_id", "slo_name", "bucket_start"]


def test_a_request_in_a_budget_adjustment_is_absent_from_its_slo_and_counted_apart() -> None:
    requests = [
        stg_request("a", at("10:00"), status_code=500),
        stg_request("b", at("10:01"), status_code=200),  # inside [10:01, 10:07): left out
        stg_request("c", at("10:06:59.999999"), status_code=503),  # inside: left out
        stg_request("d", at("10:07"), status_code=500),  # the end is excluded: counts
    ]
    slos = (slo_spec(), LATENCY_SLO)
    adjustments = [budget_adjustment(at("10:01"), at("10:07"), "availability")]
    # The availability SLO sees a and d only; the latency SLO (not adjusted) sees all four.
    assert_rows(
        run_int_sli_buckets(requests, slos, adjustments=adjustments).drop(
            "latency_p50_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms"
        ),
        [
            {
                "tenant_id": "acme",
                "slo_name": "availability",
                "bucket_start": at("10:00"),
                "total": 1,
                "bad": 1,
            },
            {
                "tenant_id": "acme",
                "slo_name": "availability",
                "bucket_start": at("10:05"),
                "total": 1,
                "bad": 1,
            },
            {
                "tenant_id": "acme",
                "slo_name": "latency",
                "bucket_start": at("10:00"),
                "total": 2,
                "bad": 0,
            },
            {
                "tenant_id": "acme",
                "slo_name": "latency",
                "bucket_start": at("10:05"),
                "total": 2,
                "bad": 0,
            },
        ],
        BUCKET_KEY,
    )
    assert_rows(
        run_int_sli_buckets(requests, slos, adjustments=adjustments, name="int_sli_adjusted"),
        [
            {
                "tenant_id": "acme",
                "slo_name": "availability",
                "bucket_start": at("10:00"),
                "adjusted_total": 1,
                "adjusted_bad": 0,
            },
            {
                "tenant_id": "acme",
                "slo_name": "availability",
                "bucket_start": at("10:05"),
                "adjusted_total": 1,
                "adjusted_bad": 1,
            },
        ],
        BUCKET_KEY,
    )


def test_requests_count_in_the_5_minute_bucket_that_holds_their_ts() -> None:
    requests = [
        stg_request("a", at("10:00"), latency_ms=10.0),
        stg_request("b", at("10:04:59.999999"), latency_ms=30.0),
        stg_request("c", at("10:05"), latency_ms=20.0),
        stg_request("d", at("10:20"), latency_ms=40.0),
    ]
    # 10:10 and 10:15 saw no requests: no rows (no traffic is no data, not zero errors).
    assert_rows(
        run_int_sli_buckets(requests),
        [
            sli_bucket(at("10:00"), 2, 0, (10.0, 30.0, 30.0, 30.0)),
            sli_bucket(at("10:05"), 1, 0, (20.0, 20.0, 20.0, 20.0)),
            sli_bucket(at("10:20"), 1, 0, (40.0, 40.0, 40.0, 40.0)),
        ],
        BUCKET_KEY,
    )


def test_availability_bad_is_a_status_code_of_500_or_more() -> None:
    requests = [
        stg_request("ok", at("10:00"), status_code=200, latency_ms=10.0),
        stg_request("client-error", at("10:01"), status_code=499, latency_ms=20.0),
        stg_request("server-error", at("10:02"), status_code=500, latency_ms=30.0),
        stg_request("last-code", at("10:03"), status_code=599, latency_ms=40.0),
    ]
    assert_rows(
        run_int_sli_buckets(requests),
        [sli_bucket(at("10:00"), 4, 2, (20.0, 40.0, 40.0, 40.0))],
        BUCKET_KEY,
    )


def test_latency_bad_is_a_latency_strictly_above_the_threshold() -> None:
    requests = [
        stg_request("fast-error", at("10:00"), status_code=503, latency_ms=10.0),
        stg_request("below", at("10:01"), latency_ms=299.9),
        stg_request("at-threshold", at("10:02"), latency_ms=300.0),
        stg_request("above", at("10:03"), latency_ms=300.1),
        stg_request("slow", at("10:04"), latency_ms=1000.0),
    ]
    # Sorted latencies 10, 299.9, 300, 300.1, 1000: p50 is the 3rd (nearest rank).
    assert_rows(
        run_int_sli_buckets(requests, [LATENCY_SLO]),
        [sli_bucket(at("10:00"), 5, 2, (300.0, 1000.0, 1000.0, 1000.0), "latency")],
        BUCKET_KEY,
    )


def test_latency_quantiles_are_exact_nearest_rank_values_of_the_bucket() -> None:
    # Ten latencies 10..100, shuffled: the q-quantile is the ceil(10 q)-th smallest, so
    # p50 = 5th, p90 = 9th, p95 = p99 = 10th (no interpolation, no sketch).
    latencies = [70.0, 10.0, 100.0, 40.0, 90.0, 20.0, 60.0, 30.0, 80.0, 50.0]
    requests = [
        stg_request(f"r{index}", at("10:00") + dt.timedelta(seconds=index), latency_ms=latency)
        for index, latency in enumerate(latencies)
    ]
    assert_rows(
        run_int_sli_buckets(requests),
        [sli_bucket(at("10:00"), 10, 0, (50.0, 90.0, 100.0, 100.0))],
        BUCKET_KEY,
    )


def test_a_request_counts_for_every_slo_of_its_tenant_on_its_service() -> None:
    slos = [
        slo_spec("availability"),
        slo_spec("latency", sli="latency", threshold_ms=100.0),
        slo_spec("web-availability", service="web"),
        slo_spec("availability", tenant_id="globex"),
    ]
    requests = [
        stg_request("a", at("10:00"), status_code=500, latency_ms=50.0),
        stg_request("b", at("10:01"), status_code=200, latency_ms=150.0),
        stg_request("c", at("10:02"), latency_ms=5.0, service="web"),
    ]
    # globex has an SLO on api but no requests: no bucket.
    assert_rows(
        run_int_sli_buckets(requests, slos),
        [
            sli_bucket(at("10:00"), 2, 1, (50.0, 150.0, 150.0, 150.0), "availability"),
            sli_bucket(at("10:00"), 2, 1, (50.0, 150.0, 150.0, 150.0), "latency"),
            sli_bucket(at("10:00"), 1, 0, (5.0, 5.0, 5.0, 5.0), "web-availability"),
        ],
        BUCKET_KEY,
    )


def test_a_tenant_day_with_too_much_quarantined_input_has_no_buckets() -> None:
    slos = [slo_spec(), slo_spec(tenant_id="globex")]
    requests = [
        stg_request("a", at("10:00"), latency_ms=10.0),
        stg_request("a", at("10:00"), latency_ms=10.0, tenant_id="globex"),
    ]
    acme_no_data = {
        "tenant_id": "acme",
        "folder_day": DAY,
        "input_rows": 10,
        "quarantined_rows": 9,
        "unknown_row_files": 0,
        "quarantined_share": 0.9,
        "max_quarantined_share": 0.5,
        "sli_status": "no_data",
        "decision_reason": "quarantined share 0.9 above 0.5",
    }
    assert_rows(
        run_int_sli_buckets(requests, slos, [acme_no_data]),
        [sli_bucket(at("10:00"), 1, 0, (10.0, 10.0, 10.0, 10.0), tenant_id="globex")],
        BUCKET_KEY,
    )


# --- fct_burn_rates -------------------------------------------------------------------


def run_fct_burn_rates(buckets: Sequence[Row], slos: Sequence[Row]) -> pl.DataFrame:
    return run_model(
        "fct_burn_rates",
        {
            "int_sli_buckets": table_frame("int_sli_buckets", buckets),
            "slo_specs": table_frame("slo_specs", slos),
        },
    )


def burn_row(
    eval_ts: dt.datetime,
    window: str,
    total: int,
    bad: int,
    burn_rate: float | None,
    slo_name: str = "availability",
) -> Row:
    return {
        "tenant_id": "acme",
        "slo_name": slo_name,
        "eval_ts": eval_ts,
        "window": window,
        "total": total,
        "bad": bad,
        "burn_rate": burn_rate,
        "slices": None,
        "bad_slices": None,
    }


def at_steps(frame: pl.DataFrame, *steps: dt.datetime) -> pl.DataFrame:
    return frame.filter(pl.col("eval_ts").is_in(list(steps)))


BURN_KEY = ["tenant_id", "slo_name", "eval_ts", "window"]
Counts = tuple[int, int, float | None]  # a window's (total, bad, burn_rate)
EMPTY: Counts = (0, 0, None)


def test_burn_rates_have_one_row_per_step_of_the_day_window_and_slo() -> None:
    slos = [slo_spec(), LATENCY_SLO]
    result = run_fct_burn_rates([sli_bucket(at("10:00"), 3, 1)], slos)
    assert result.height == STEPS_PER_DAY * len(WINDOWS) * len(slos)
    steps = [MIDNIGHT + dt.timedelta(minutes=5 * step) for step in range(STEPS_PER_DAY)]
    for slo_name in ("availability", "latency"):
        rows = result.filter(pl.col("slo_name") == slo_name)
        assert sorted(set(rows["eval_ts"].to_list())) == steps
        assert (
            (rows.group_by("eval_ts").agg(pl.col("window").sort())["window"]).to_list()
            == [sorted(WINDOWS)] * STEPS_PER_DAY
        )
    # An SLO without any request has windows without a burn rate, never a burn of 0.
    latency = result.filter(pl.col("slo_name") == "latency")
    assert latency["total"].sum() == 0
    assert latency["burn_rate"].null_count() == latency.height


# Listed out of their key's order, with upper case and prefixes: the order DuckDB sorts
# text in (bytes), which an integer numbered in any other order would not keep.
UNSORTED_TENANTS = ["globex", "acme-eu", "Acme", "acme"]


def test_the_models_sorted_by_slo_key_write_many_tenants_in_their_keys_order() -> None:
    """fct_burn_rates, fct_error_budget and fct_alert_evaluations sort on slo_key
    (registry sort_key); run_model holds each result to its key's order."""
    slos = [
        slo_spec(tenant_id=tenant, slo_name=name)
        for tenant in UNSORTED_TENANTS
        for name in ("latency", "availability")
    ]
    buckets = [sli_bucket(at("10:00"), 3, 1, tenant_id=tenant) for tenant in UNSORTED_TENANTS]
    burn_rates = run_fct_burn_rates(buckets, slos)
    assert burn_rates.height == STEPS_PER_DAY * len(WINDOWS) * len(slos)
    budget = run_fct_error_budget(buckets, burn_rates.to_dicts(), slos)
    assert budget.height == STEPS_PER_DAY * len(slos)
    rules = [
        {**policy_rule(), "tenant_id": tenant, "slo_name": name}
        for tenant in UNSORTED_TENANTS
        for name in ("latency", "availability")
    ]
    evaluations = run_fct_alert_evaluations(burn_rates.to_dicts(), rules, buckets, slos)
    assert evaluations.height == STEPS_PER_DAY * len(rules)
    for result in (burn_rates, budget, evaluations):
        tenants = result.unique("tenant_id", maintain_order=True)["tenant_id"].to_list()
        assert tenants == sorted(UNSORTED_TENANTS)


def test_window_w_at_step_t_covers_t_minus_w_up_to_but_not_including_t() -> None:
    # 3 requests in [10:00, 10:05), 1 bad, at 99.9 %: burn (1/3) / 0.001.
    burning: Counts = (3, 1, (1 / 3) / 0.001)
    result = run_fct_burn_rates([sli_bucket(at("10:00"), 3, 1)], [slo_spec()])
    expected_by_step: dict[dt.datetime, dict[str, Counts]] = {
        # [t - w, 10:00) ends where the bucket starts: no window holds it yet.
        at("10:00"): dict.fromkeys(WINDOWS, EMPTY),
        at("10:05"): dict.fromkeys(WINDOWS, burning),
        # 30m at 10:30 is [10:00, 10:30): it still holds the bucket; at 10:35 it does not.
        at("10:30"): {"5m": EMPTY} | dict.fromkeys(WINDOWS[1:], burning),
        at("10:35"): {"5m": EMPTY, "30m": EMPTY} | dict.fromkeys(WINDOWS[2:], burning),
    }
    expected = [
        burn_row(step, window, *counts)
        for step, windows in expected_by_step.items()
        for window, counts in windows.items()
    ]
    assert_rows(at_steps(result, *expected_by_step), expected, BURN_KEY)


def test_burn_rate_is_the_bad_share_over_the_allowed_bad_share() -> None:
    # 99 % objective: 1 % may be bad. 1 of 4, then 0 of 6.
    buckets = [sli_bucket(at("10:00"), 4, 1), sli_bucket(at("10:05"), 6, 0)]
    result = run_fct_burn_rates(buckets, [slo_spec(objective=99.0)])
    assert_rows(
        at_steps(result, at("10:05"), at("10:10")).filter(pl.col("window").is_in(["5m", "30m"])),
        [
            burn_row(at("10:05"), "5m", 4, 1, 0.25 / 0.01),
            burn_row(at("10:05"), "30m", 4, 1, 0.25 / 0.01),
            # Requests and none bad: a burn of 0, unlike a window without requests.
            burn_row(at("10:10"), "5m", 6, 0, 0.0),
            burn_row(at("10:10"), "30m", 10, 1, 0.1 / 0.01),
        ],
        BURN_KEY,
    )


def test_long_windows_reach_back_into_the_days_before() -> None:
    buckets = [
        sli_bucket(at("00:00", days=-3), 1, 0),
        sli_bucket(at("12:00", days=-1), 2, 2),
    ]
    result = run_fct_burn_rates(buckets, [slo_spec()])
    all_bad = (2, 2, 1 / 0.001)
    assert_rows(
        at_steps(result, at("00:00"), at("00:05"), at("12:00"), at("12:05")).filter(
            pl.col("window").is_in(["6h", "1d", "3d"])
        ),
        [
            # 6h at midnight is [yesterday 18:00, midnight): after yesterday's bucket.
            burn_row(at("00:00"), "6h", *EMPTY),
            burn_row(at("00:00"), "1d", *all_bad),
            # 3d at midnight starts at the first bucket three days back, and holds it.
            burn_row(at("00:00"), "3d", 3, 2, (2 / 3) / 0.001),
            burn_row(at("00:05"), "6h", *EMPTY),
            burn_row(at("00:05"), "1d", *all_bad),
            burn_row(at("00:05"), "3d", *all_bad),
            burn_row(at("12:00"), "6h", *EMPTY),
            burn_row(at("12:00"), "1d", *all_bad),
            burn_row(at("12:00"), "3d", *all_bad),
            burn_row(at("12:05"), "6h", *EMPTY),
            burn_row(at("12:05"), "1d", *EMPTY),
            burn_row(at("12:05"), "3d", *all_bad),
        ],
        BURN_KEY,
    )


# --- fct_error_budget -----------------------------------------------------------------


def run_fct_error_budget(
    buckets: Sequence[Row], burn_rates: Sequence[Row] = (), slos: Sequence[Row] = (slo_spec(),)
) -> pl.DataFrame:
    return run_model(
        "fct_error_budget",
        {
            "slo_specs": table_frame("slo_specs", slos),
            "int_sli_buckets": table_frame("int_sli_buckets", buckets),
            "fct_burn_rates": table_frame("fct_burn_rates", burn_rates),
        },
    )


def budget_row(
    eval_ts: dt.datetime,
    total: int,
    bad: int,
    consumed_percent: float | None,
    remaining_percent: float | None,
    time_to_exhaustion_hours: float | None,
    period_days: int = 30,
) -> Row:
    return {
        "tenant_id": "acme",
        "slo_name": "availability",
        "eval_ts": eval_ts,
        "objective": 99.9,
        "period_days": period_days,
        "calendar": None,
        "total": total,
        "bad": bad,
        "budget_consumed_percent": consumed_percent,
        "budget_remaining_percent": remaining_percent,
        "time_to_exhaustion_hours": time_to_exhaustion_hours,
        "period_start": eval_ts - dt.timedelta(days=period_days),
    }


BUDGET_KEY = ["tenant_id", "slo_name", "eval_ts"]


def test_budget_consumed_is_bad_over_the_periods_allowed_bad_and_lasts_at_the_1d_burn() -> None:
    # 30 days at 99.9 %: 2000 requests may hold 2 bad ones; 1 bad spends half the budget.
    # The last day burns at 1x (1 bad of 1000), which would spend the whole budget in
    # 720 h, so the remaining half lasts 360 h. The 1h window is not what counts.
    buckets = [sli_bucket(at("08:00", days=-10), 1000, 0), sli_bucket(at("06:00"), 1000, 1)]
    burn_rates = [
        burn_row(at("06:00"), "1d", 0, 0, None),
        burn_row(at("06:05"), "1d", 1000, 1, 1.0),
        burn_row(at("06:05"), "1h", 1000, 1, 50.0),
    ]
    result = run_fct_error_budget(buckets, burn_rates)
    assert result.height == STEPS_PER_DAY
    assert_rows(
        at_steps(result, at("06:00"), at("06:05")),
        [
            # Nothing burning in the last day: not spent within the period.
            budget_row(at("06:00"), 1000, 0, 0.0, 100.0, None),
            budget_row(at("06:05"), 2000, 1, 50.0, 50.0, 360.0),
        ],
        BUDGET_KEY,
    )


def test_the_budget_period_is_the_period_days_up_to_but_not_including_the_step() -> None:
    # A bad request exactly 30 days before 06:05 is inside [06:05 - 30d, 06:05), and has
    # left the period by the next step.
    buckets = [sli_bucket(at("06:05", days=-30), 1, 1), sli_bucket(at("00:00"), 3999, 0)]
    result = run_fct_error_budget(buckets)
    assert_rows(
        at_steps(result, at("06:05"), at("06:10")),
        [
            budget_row(at("06:05"), 4000, 1, 25.0, 75.0, None),
            budget_row(at("06:10"), 3999, 0, 0.0, 100.0, None),
        ],
        BUDGET_KEY,
    )


def test_a_spent_budget_has_no_time_left() -> None:
    # 5 bad of 10 at 99.9 %: 500 budgets spent, 499 overspent.
    buckets = [sli_bucket(at("06:00"), 10, 5)]
    burn_rates = [burn_row(at("06:05"), "1d", 10, 5, 0.5 / 0.001)]
    result = run_fct_error_budget(buckets, burn_rates)
    assert_rows(
        at_steps(result, at("06:05")),
        [budget_row(at("06:05"), 10, 5, 50000.0, -49900.0, 0.0)],
        BUDGET_KEY,
    )


def test_a_burn_that_would_outlast_the_period_is_not_within_the_period() -> None:
    # 1 bad of 10000 at 99.9 %: 10 % of the budget spent, 90 % left. The day burns at
    # 0.1x, which would spend the rest in 0.9 * 720 / 0.1 = 6480 h, past the 720-hour
    # period: null, "not within the period". At 1x it lasts 648 h, within it.
    buckets = [sli_bucket(at("06:00"), 10000, 1)]
    burn_rates = [
        burn_row(at("06:05"), "1d", 10000, 1, 0.1),
        burn_row(at("06:10"), "1d", 10000, 1, 1.0),
    ]
    result = run_fct_error_budget(buckets, burn_rates)
    assert_rows(
        at_steps(result, at("06:05"), at("06:10")),
        [
            budget_row(at("06:05"), 10000, 1, 10.0, 90.0, None),
            budget_row(at("06:10"), 10000, 1, 10.0, 90.0, 648.0),
        ],
        BUDGET_KEY,
    )


def test_a_period_without_requests_has_no_budget_figures() -> None:
    result = run_fct_error_budget([])
    steps = [MIDNIGHT + dt.timedelta(minutes=5 * step) for step in range(STEPS_PER_DAY)]
    assert_rows(result, [budget_row(step, 0, 0, None, None, None) for step in steps], BUDGET_KEY)


# --- fct_alert_evaluations ------------------------------------------------------------


def policy_rule(
    rule_name: str = "page-1h-5m",
    severity: str = "page",
    long_window: str = "1h",
    short_window: str = "5m",
    burn_threshold: float = 14.4,
    min_events: int = 0,
    suppress_tickets_while_paging: bool = False,
    warm_up: bool = True,
) -> Row:
    long_minutes = {"1h": 60, "6h": 360, "1d": 1440, "3d": 4320}[long_window]
    return {
        "tenant_id": "acme",
        "slo_name": "availability",
        "rule_name": rule_name,
        "severity": severity,
        "long_window": long_window,
        "short_window": short_window,
        "long_window_minutes": long_minutes,
        "short_window_minutes": {"5m": 5, "30m": 30, "2h": 120, "6h": 360}[short_window],
        "burn_threshold": burn_threshold,
        "budget_consumed_percent": 100 * burn_threshold * long_minutes / (30 * 24 * 60),
        "period_days": 30,
        "objective": 99.9,
        "max_burn_rate": 1000.0,
        "can_fire": True,
        "min_events": min_events,
        "min_denominator": None,
        "suppress_tickets_while_paging": suppress_tickets_while_paging,
        "source": "default",
        "warm_up": warm_up,
    }


def window_pair(
    eval_ts: dt.datetime,
    long: Counts,
    short: Counts,
    windows: tuple[str, str] = ("1h", "5m"),
) -> list[Row]:
    """The fct_burn_rates rows of a step's long and short windows: (total, bad, burn)."""
    return [burn_row(eval_ts, windows[0], *long), burn_row(eval_ts, windows[1], *short)]


def evaluation(
    eval_ts: dt.datetime,
    long: Counts,
    short: Counts,
    fires: bool,
    state: str,
    rule: Row | None = None,
    suppressed: bool = False,
) -> Row:
    rule = rule or policy_rule()
    return {
        "tenant_id": "acme",
        "slo_name": "availability",
        "eval_ts": eval_ts,
        "rule_name": rule["rule_name"],
        "severity": rule["severity"],
        "long_window": rule["long_window"],
        "short_window": rule["short_window"],
        "burn_threshold": rule["burn_threshold"],
        "long_total": long[0],
        "long_bad": long[1],
        "long_burn_rate": long[2],
        "short_total": short[0],
        "short_bad": short[1],
        "short_burn_rate": short[2],
        "fires": fires,
        "state": state,
        "suppressed": suppressed,
    }


def steady_logs(start: dt.datetime, end: dt.datetime, tenant_id: str = "acme") -> list[Row]:
    """A request in every 5-minute bucket of [start, end): logs flowing without a gap."""
    buckets = int((end - start) / dt.timedelta(minutes=5))
    return [
        sli_bucket(start + dt.timedelta(minutes=5 * i), 1, 0, tenant_id=tenant_id)
        for i in range(buckets)
    ]


# The tenant's logs flow from the first bucket read (3 days before the day before) on:
# every window of the day lies within them, so warm-up holds no rule back.
LOGS_SINCE_LONG_BEFORE = steady_logs(MIDNIGHT - dt.timedelta(days=4), MIDNIGHT + dt.timedelta(1))


def run_fct_alert_evaluations(
    burn_rates: Sequence[Row],
    rules: Sequence[Row] = (policy_rule(),),
    sli_buckets: Sequence[Row] = LOGS_SINCE_LONG_BEFORE,
    slos: Sequence[Row] = (slo_spec(),),
) -> pl.DataFrame:
    return run_model(
        "fct_alert_evaluations",
        {
            "fct_burn_rates": table_frame("fct_burn_rates", burn_rates),
            "alert_policy": table_frame("alert_policy", rules),
            "int_sli_buckets": table_frame("int_sli_buckets", sli_buckets),
            "slo_specs": table_frame("slo_specs", slos),
        },
    )


EVALUATION_KEY = ["tenant_id", "slo_name", "eval_ts", "rule_name"]

# (total, bad, burn) of a window, at 99.9 %: burn = bad / total / 0.001.
BURN_20 = (10_000, 200, 20.0)
BURN_14_4 = (10_000, 144, 14.4)
BURN_14_5 = (10_000, 145, 14.5)
BURN_10 = (10_000, 100, 10.0)


def test_a_rule_fires_only_when_both_windows_burn_strictly_above_its_threshold() -> None:
    steps = {
        at("10:00"): (BURN_20, BURN_20),
        at("10:05"): (BURN_14_4, BURN_20),
        at("10:10"): (BURN_20, BURN_14_4),
        at("10:15"): (BURN_14_5, BURN_10),
        at("10:20"): (BURN_10, BURN_14_5),
    }
    burn_rates = [row for step, pair in steps.items() for row in window_pair(step, *pair)]
    assert_rows(
        run_fct_alert_evaluations(burn_rates),
        [
            evaluation(at("10:00"), BURN_20, BURN_20, True, "firing"),
            evaluation(at("10:05"), BURN_14_4, BURN_20, False, "ok"),
            evaluation(at("10:10"), BURN_20, BURN_14_4, False, "ok"),
            evaluation(at("10:15"), BURN_14_5, BURN_10, False, "ok"),
            evaluation(at("10:20"), BURN_10, BURN_14_5, False, "ok"),
        ],
        EVALUATION_KEY,
    )


def test_a_window_without_requests_never_fires_and_is_no_data() -> None:
    burn_rates = [
        *window_pair(at("10:00"), BURN_20, EMPTY),
        *window_pair(at("10:05"), EMPTY, BURN_20),
    ]
    assert_rows(
        run_fct_alert_evaluations(burn_rates),
        [
            evaluation(at("10:00"), BURN_20, EMPTY, False, "no_data"),
            evaluation(at("10:05"), EMPTY, BURN_20, False, "no_data"),
        ],
        EVALUATION_KEY,
    )


def test_a_long_window_below_min_events_does_not_fire_and_is_low_traffic() -> None:
    rule = policy_rule(min_events=10_001)
    burn_rates = window_pair(at("10:00"), BURN_20, BURN_20)
    assert_rows(
        run_fct_alert_evaluations(burn_rates, [rule]),
        [evaluation(at("10:00"), BURN_20, BURN_20, False, "low_traffic", rule)],
        EVALUATION_KEY,
    )


def test_min_denominator_damps_a_time_slice_burn_by_its_slices_not_its_requests() -> None:
    # One bad slice in twelve, but 900 of its 1,000 requests failed in that slice: the
    # SLO budgets slices, so the plain burn is (1 / 12) / 0.001. Damped by the
    # requests the rule would burn 900 / 1,000 / 0.001 = 900x, above the plain burn;
    # damped by the slices it burns 1 / max(12, 200) / 0.001 = 5x, below it.
    rule = {**policy_rule(burn_threshold=4.0), "min_denominator": 200}
    plain_burn = (1 / 12) / 0.001
    burn_rates = [
        {**burn_row(at("10:00"), window, 1_000, 900, plain_burn), "slices": 12.0, "bad_slices": 1.0}
        for window in ("1h", "5m")
    ]
    result = run_fct_alert_evaluations(burn_rates, [rule])
    damped = 1 / 200 / 0.001
    assert result["long_burn_rate"].to_list() == pytest.approx([damped])
    assert result["short_burn_rate"].to_list() == pytest.approx([damped])
    assert result["fires"].to_list() == [True]
    # No completed slice: no burn rate, whatever the requests.
    empty = [
        {**burn_row(at("10:00"), window, 1_000, 900, None), "slices": 0.0, "bad_slices": 0.0}
        for window in ("1h", "5m")
    ]
    result = run_fct_alert_evaluations(empty, [rule])
    assert result["long_burn_rate"].to_list() == [None]
    assert result["fires"].to_list() == [False]


@pytest.mark.parametrize(
    ("paged_before_midnight", "suppressed_after"),
    [
        # The ticket opened at 23:55 without a page: it stays open when the page starts.
        (False, False),
        # The ticket started firing during the page: it stays suppressed past midnight.
        (True, True),
    ],
)
def test_a_tickets_run_of_firing_steps_is_followed_back_across_midnight(
    paged_before_midnight: bool, suppressed_after: bool
) -> None:
    page = policy_rule()
    ticket = policy_rule(
        "ticket-1d-2h", "ticket", "1d", "2h", burn_threshold=3.0, suppress_tickets_while_paging=True
    )
    page_before = BURN_20 if paged_before_midnight else BURN_10
    burn_rates = [
        # A quiet step before the run, which the day before need not hold at all.
        *window_pair(at("23:50", days=-1), BURN_10, BURN_10),
        *window_pair(at("23:50", days=-1), (10_000, 20, 2.0), (10_000, 20, 2.0), ("1d", "2h")),
        *window_pair(at("23:55", days=-1), page_before, page_before),
        *window_pair(at("23:55", days=-1), BURN_10, BURN_10, ("1d", "2h")),
        *window_pair(at("00:00"), BURN_20, BURN_20),
        *window_pair(at("00:00"), BURN_10, BURN_10, ("1d", "2h")),
    ]
    assert_rows(
        run_fct_alert_evaluations(burn_rates, [page, ticket]),
        [
            evaluation(at("00:00"), BURN_20, BURN_20, True, "firing", page),
            evaluation(at("00:00"), BURN_10, BURN_10, True, "firing", ticket, suppressed_after),
        ],
        EVALUATION_KEY,
    )


def test_each_rule_is_evaluated_at_every_step_of_the_last_day_bound() -> None:
    page = policy_rule()
    ticket = policy_rule("ticket-1d-2h", "ticket", "1d", "2h", burn_threshold=3.0)
    burn_rates = [
        # The day before is bound only to follow a ticket's firing run back; not evaluated.
        *window_pair(at("23:55", days=-1), BURN_20, BURN_20),
        *window_pair(at("23:55", days=-1), BURN_10, BURN_10, ("1d", "2h")),
        *window_pair(at("00:00"), BURN_20, BURN_10),
        *window_pair(at("00:00"), BURN_10, BURN_10, ("1d", "2h")),
    ]
    assert_rows(
        run_fct_alert_evaluations(burn_rates, [page, ticket]),
        [
            evaluation(at("00:00"), BURN_20, BURN_10, False, "ok", page),
            evaluation(at("00:00"), BURN_10, BURN_10, True, "firing", ticket),
        ],
        EVALUATION_KEY,
    )


def burning_at(*steps: dt.datetime) -> list[Row]:
    """Both windows of the default 1h/5m rule burning at 20x at each of `steps`."""
    return [row for step in steps for row in window_pair(step, BURN_20, BURN_20)]


def test_a_rule_waits_until_its_long_window_lies_within_the_tenants_logs() -> None:
    # The tenant's first request is at 08:00. The 1h window of 08:55 reaches back to
    # 07:55, before it: warming_up. At 09:00 the window [08:00, 09:00) is all logs.
    burn_rates = burning_at(at("08:05"), at("08:55"), at("09:00"))
    result = run_fct_alert_evaluations(
        burn_rates, sli_buckets=steady_logs(at("08:00"), at("12:00"))
    )
    assert_rows(
        result,
        [
            evaluation(at("08:05"), BURN_20, BURN_20, False, "warming_up"),
            evaluation(at("08:55"), BURN_20, BURN_20, False, "warming_up"),
            evaluation(at("09:00"), BURN_20, BURN_20, True, "firing"),
        ],
        EVALUATION_KEY,
    )


def test_after_a_no_data_gap_a_rule_warms_up_again() -> None:
    # Logs until 09:55's bucket, none for 30 minutes (more than max_silence_minutes, 15),
    # back at 10:30: the 1h rule waits until 11:30, when its window is all new logs.
    logs = steady_logs(at("00:00", days=-4), at("10:00")) + steady_logs(at("10:30"), at("13:00"))
    burn_rates = burning_at(at("09:55"), at("10:35"), at("11:25"), at("11:30"))
    assert_rows(
        run_fct_alert_evaluations(burn_rates, sli_buckets=logs),
        [
            evaluation(at("09:55"), BURN_20, BURN_20, True, "firing"),
            evaluation(at("10:35"), BURN_20, BURN_20, False, "warming_up"),
            evaluation(at("11:25"), BURN_20, BURN_20, False, "warming_up"),
            evaluation(at("11:30"), BURN_20, BURN_20, True, "firing"),
        ],
        EVALUATION_KEY,
    )


def test_a_quiet_stretch_no_longer_than_max_silence_is_no_gap() -> None:
    # 15 minutes without requests (10:00 to 10:15) is exactly max_silence_minutes: the
    # logs still flow, and the rule fires at once when they resume.
    logs = steady_logs(at("00:00", days=-4), at("10:00")) + steady_logs(at("10:15"), at("13:00"))
    assert_rows(
        run_fct_alert_evaluations(burning_at(at("10:20")), sli_buckets=logs),
        [evaluation(at("10:20"), BURN_20, BURN_20, True, "firing")],
        EVALUATION_KEY,
    )


def test_the_gap_is_the_tenants_so_another_slos_logs_keep_it_warm() -> None:
    # The availability SLO's service is quiet for an hour, but the tenant's latency SLO
    # counts requests all along: the tenant's logs have no gap.
    logs = [
        *steady_logs(at("00:00", days=-4), at("10:00")),
        *steady_logs(at("11:00"), at("13:00")),
        *[
            {**bucket, "slo_name": "latency"}
            for bucket in steady_logs(at("00:00", days=-4), at("13:00"))
        ],
    ]
    result = run_fct_alert_evaluations(
        burning_at(at("11:05")), sli_buckets=logs, slos=(slo_spec(), LATENCY_SLO)
    )
    assert_rows(result, [evaluation(at("11:05"), BURN_20, BURN_20, True, "firing")], EVALUATION_KEY)


def test_a_rule_with_warm_up_off_fires_from_the_first_data() -> None:
    rule = policy_rule(warm_up=False)
    result = run_fct_alert_evaluations(
        burning_at(at("08:05")), rules=(rule,), sli_buckets=steady_logs(at("08:00"), at("12:00"))
    )
    assert_rows(
        result, [evaluation(at("08:05"), BURN_20, BURN_20, True, "firing", rule)], EVALUATION_KEY
    )


@pytest.mark.xfail(
    strict=True,
    reason="burn rates divide by (100 - objective) / 100 in floating point: at 99.9 % that "
    "is 0.000999999999999943, so 144 bad of 10000 burns 14.400000000000819 and a 14.4x "
    "rule fires on a burn that is exactly its threshold",
)
def test_a_burn_computed_exactly_at_the_threshold_does_not_fire() -> None:
    # Across two models, since the rounding is made in one and compared in the next:
    # 144 bad of 10 000 at 99.9 % is 1.44 % bad, 14.4 times the allowed 0.1 %, in both
    # windows. 14.4 is not strictly above 14.4: the page does not fire.
    burn_rates = run_fct_burn_rates([sli_bucket(at("10:00"), 10_000, 144)], [slo_spec()])
    evaluations = run_fct_alert_evaluations(burn_rates.to_dicts())
    assert_rows(
        at_steps(evaluations, at("10:05")),
        [evaluation(at("10:05"), BURN_14_4, BURN_14_4, False, "ok")],
        EVALUATION_KEY,
    )


# --- fct_alert_episodes ---------------------------------------------------------------


def run_fct_alert_episodes(evaluations: Sequence[Row]) -> pl.DataFrame:
    return run_model(
        "fct_alert_episodes",
        {"fct_alert_evaluations": table_frame("fct_alert_evaluations", evaluations)},
    )


def firing(
    eval_ts: dt.datetime, long_burn: float, rule: Row | None = None, suppressed: bool = False
) -> Row:
    long = (10_000, int(long_burn * 10), long_burn)
    return evaluation(eval_ts, long, long, True, "firing", rule, suppressed)


def not_firing(eval_ts: dt.datetime, long_burn: float, rule: Row | None = None) -> Row:
    long = (10_000, int(long_burn * 10), long_burn)
    return evaluation(eval_ts, long, long, False, "ok", rule)


def episode(
    started_at: dt.datetime,
    resolved_at: dt.datetime | None,
    peak_long_burn_rate: float,
    rule: Row | None = None,
) -> Row:
    rule = rule or policy_rule()
    return {
        "tenant_id": "acme",
        "slo_name": "availability",
        "rule_name": rule["rule_name"],
        "severity": rule["severity"],
        "long_window": rule["long_window"],
        "short_window": rule["short_window"],
        "burn_threshold": rule["burn_threshold"],
        "started_at": started_at,
        "resolved_at": resolved_at,
        "peak_long_burn_rate": peak_long_burn_rate,
    }


EPISODE_KEY = ["tenant_id", "slo_name", "rule_name", "started_at"]


def test_an_episode_runs_from_the_first_firing_step_to_the_first_non_firing_one() -> None:
    evaluations = [
        not_firing(at("10:00"), 5.0),
        firing(at("10:05"), 20.0),
        firing(at("10:10"), 30.0),
        firing(at("10:15"), 25.0),
        not_firing(at("10:20"), 10.0),
        firing(at("10:25"), 15.0),
        not_firing(at("10:30"), 1.0),
    ]
    assert_rows(
        run_fct_alert_episodes(evaluations),
        [episode(at("10:05"), at("10:20"), 30.0), episode(at("10:25"), at("10:30"), 15.0)],
        EPISODE_KEY,
    )


def test_an_episode_firing_at_the_last_evaluated_step_is_open() -> None:
    evaluations = [not_firing(at("10:00"), 5.0), firing(at("10:05"), 20.0)]
    assert_rows(
        run_fct_alert_episodes(evaluations), [episode(at("10:05"), None, 20.0)], EPISODE_KEY
    )


def test_episodes_are_per_rule() -> None:
    ticket = policy_rule("ticket-6h-30m", "ticket", "6h", "30m", burn_threshold=6.0)
    evaluations = [
        firing(at("10:00"), 20.0),
        not_firing(at("10:05"), 10.0),
        not_firing(at("10:00"), 5.0, ticket),
        firing(at("10:05"), 7.0, ticket),
    ]
    assert_rows(
        run_fct_alert_episodes(evaluations),
        [episode(at("10:00"), at("10:05"), 20.0), episode(at("10:05"), None, 7.0, ticket)],
        EPISODE_KEY,
    )


def test_suppressed_ticket_steps_make_no_episode() -> None:
    ticket = policy_rule("ticket-1d-2h", "ticket", "1d", "2h", burn_threshold=3.0)
    evaluations = [
        firing(at("10:00"), 9.0, ticket, suppressed=True),
        firing(at("10:05"), 8.0, ticket, suppressed=True),
        firing(at("10:10"), 4.0, ticket),
        not_firing(at("10:15"), 2.0, ticket),
    ]
    assert_rows(
        run_fct_alert_episodes(evaluations),
        [episode(at("10:10"), at("10:15"), 4.0, ticket)],
        EPISODE_KEY,
    )


# --- int_tenant_horizons --------------------------------------------------------------


def run_horizons(
    requests: Sequence[tuple[str, dt.datetime]],
    tenants: Sequence[str] = ("acme", "globex"),
    previous: Sequence[Row] = (),
    as_of: dt.datetime | None = None,
    delay_minutes: int = 0,
    max_silence_minutes: int = 15,
) -> dict[str, Row]:
    """int_tenant_horizons for staged requests (tenant, ts), keyed by tenant."""
    staged_rows = [
        {
            "tenant_id": tenant,
            "request_id": f"r{index}",
            "ts": ts,
            "service": "api",
            "operation": None,
            "status_code": 200,
            "latency_ms": 1.0,
            "replica": "r1",
            "replica_copies": 1,
        }
        for index, (tenant, ts) in enumerate(requests)
    ]
    specs = [
        {**slo_spec(tenant_id=tenant), "max_silence_minutes": max_silence_minutes}
        for tenant in tenants
    ]
    params = [{"as_of": as_of, "evaluation_delay_minutes": delay_minutes}]
    result = run_model(
        "int_tenant_horizons",
        {
            "stg_requests": table_frame("stg_requests", staged_rows),
            "slo_specs": table_frame("slo_specs", specs),
            "previous_tenant_horizons": table_frame("previous_tenant_horizons", previous),
            "horizon_params": table_frame("horizon_params", params),
        },
    )
    return {row["tenant_id"]: row for row in result.to_dicts()}


def test_a_tenant_is_evaluated_up_to_the_start_of_the_bucket_of_its_newest_request() -> None:
    # The newest request, 10:19:30, lies in the bucket [10:15, 10:20), which may still
    # fill: the step at 10:15 (windows ending there) is the last one its data supports.
    rows = run_horizons([("acme", at("10:02")), ("acme", at("10:19:30"))], tenants=["acme"])
    assert rows["acme"]["data_until"] == at("10:19:30")
    assert rows["acme"]["evaluated_until"] == at("10:15")
    assert rows["acme"]["horizon"] == at("10:15")
    assert rows["acme"]["silent"] is False


def test_the_horizon_is_the_newest_tenants_and_a_lagging_tenant_stops_at_its_own() -> None:
    rows = run_horizons([("acme", at("10:19")), ("globex", at("10:07"))])
    assert rows["acme"]["horizon"] == rows["globex"]["horizon"] == at("10:15")
    # globex lags by 8 minutes (within 15): not silent, but no step past its logs.
    assert rows["globex"]["evaluated_until"] == at("10:05")
    assert rows["globex"]["silent"] is False


def test_a_tenant_whose_logs_lag_the_horizon_beyond_its_silence_is_silent() -> None:
    rows = run_horizons([("acme", at("11:00")), ("globex", at("10:40:00"))])
    # horizon 11:00; globex's newest request is 20 minutes before it, more than 15.
    assert rows["globex"]["silent"] is True
    assert rows["globex"]["evaluated_until"] == at("10:40")
    quiet_cohort = run_horizons(
        [("acme", at("11:00")), ("globex", at("10:40"))], max_silence_minutes=30
    )
    assert quiet_cohort["globex"]["silent"] is False


def test_a_tenant_without_logs_is_silent_and_never_evaluated() -> None:
    rows = run_horizons([("acme", at("10:00"))])
    assert rows["globex"]["data_until"] is None
    assert rows["globex"]["evaluated_until"] is None
    assert rows["globex"]["silent"] is True


def test_what_an_earlier_run_saw_is_kept_when_this_run_brings_older_days_only() -> None:
    previous = [
        {
            "tenant_id": "acme",
            "data_until": at("09:00", days=1),
            "evaluated_until": at("09:00", days=1),
            "horizon": at("09:00", days=1),
            "max_silence_minutes": 15,
            "silent": False,
        }
    ]
    rows = run_horizons([("acme", at("10:00"))], tenants=["acme"], previous=previous)
    assert rows["acme"]["data_until"] == at("09:00", days=1)
    assert rows["acme"]["horizon"] == at("09:00", days=1)


def test_as_of_and_the_evaluation_delay_hold_the_horizon_back() -> None:
    logs = [("acme", at("12:03"))]
    assert run_horizons(logs, tenants=["acme"], as_of=at("11:07"))["acme"]["horizon"] == at("11:05")
    delayed = run_horizons(logs, tenants=["acme"], delay_minutes=10)["acme"]
    assert delayed["horizon"] == at("11:50")
    assert delayed["evaluated_until"] == at("11:50")


def test_no_step_after_a_tenants_evaluated_until_has_a_burn_rate_row() -> None:
    slos = [slo_spec()]
    horizons = whole_day_horizons(table_frame("slo_specs", slos), DAY).with_columns(
        pl.lit(at("10:15")).alias("evaluated_until")
    )
    result = run_model(
        "fct_burn_rates",
        {
            "int_sli_buckets": table_frame("int_sli_buckets", [sli_bucket(at("10:00"), 3, 1)]),
            "slo_specs": table_frame("slo_specs", slos),
            "int_tenant_horizons": horizons,
        },
    )
    assert result["eval_ts"].max() == at("10:15")
    assert result.height == (10 * 12 + 3 + 1) * len(WINDOWS)
