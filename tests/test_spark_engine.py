"""Two engines, one set of models: every SQL model on DuckDB and on Spark, row for row.

The oracle test's dataset (replica copies, ties, late rows, copies across midnight)
runs through the real pipeline on DuckDB, under a manifest that adds what the
engines disagree on when nobody looks: timeslices and ratio timeslices, calendar
month, week and quarter in three time zones, a custom predicate on the day of the
week, cohort-derived thresholds, and copies of a request that differ only in a null
`operation` (the struct tie-break). Every model's inputs and result are captured as
the pipeline ran it (tests/engine_capture.py); Spark (local[2], one session for the
module) then runs the same model, translated by pipelines.engines.spark_sql, over the
same inputs, and the two results must be equal as multisets of rows, every value
exactly equal, floats included (no tolerance: see docs/spark.md for why none is needed).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from engine_capture import Capture, captures, capturing
from oracle import Request
from test_pipeline_vs_oracle import DAYS, MANIFEST, generate_dataset, write_requests

from pipelines.engines.spark_sql import lint, lint_files, to_spark
from pipelines.models.registry import sql_models

pytestmark = pytest.mark.spark

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java 17 (openjdk-17-jre-headless)", allow_module_level=True)

VARIANT_MANIFEST = (
    MANIFEST
    + """\
  - id: hooli
    cohort: standard
    slos:
      - {name: api-slices, service: api, sli: availability, budgeting: timeslices,
         timeslice_minutes: 15, timeslice_target: 99.5, calendar: month,
         timezone: America/New_York}
      - {name: api-ratio, service: api, sli: latency, budgeting: ratio_timeslices,
         timeslice_minutes: 10, calendar: week, timezone: Asia/Kolkata}
      - {name: web-sunday, service: web, sli: availability,
         bad_when: "dayofweek(ts) = 0 and status_code >= 400", calendar: quarter,
         timezone: Europe/Berlin}
policy:
  thresholds: cohort
  cohort: {history_days: 1, min_samples: 50}
# So that int_sli_adjusted has rows on both engines: part of acme's outage, and six
# hours of every hooli SLO on a Sunday (2024-03-03), where web-sunday's predicate bites.
adjustments:
  - {tenant: acme, slo: api-availability, start: 2024-03-03T10:00:00Z,
     end: 2024-03-03T10:30:00Z, reason: two-engine test}
  - {tenant: hooli, start: 2024-03-03T00:00:00Z, end: 2024-03-03T06:00:00Z,
     reason: two-engine test}
"""
)


def _with_null_operation_ties(placed: list[tuple[Any, Request]]) -> list[tuple[Any, Request]]:
    """Add, for some requests, a copy equal in every column but a null `operation`: only
    the struct tie-break's null ordering decides which copy is kept."""
    extra = []
    for index, (folder, row) in enumerate(placed):
        if index % 97 == 0:
            twin = Request(**{**vars(row), "operation": None if row.operation else "get"})
            extra.append((folder, twin))
    return placed + extra


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> list[Capture]:
    from pipelines.runner import run_pipeline

    root = tmp_path_factory.mktemp("two_engines")
    data = root / "data"
    write_requests(data, _with_null_operation_ties(generate_dataset()), 3, seed=11)
    manifest = root / "slos.yaml"
    manifest.write_text(VARIANT_MANIFEST, encoding="utf-8")
    with capturing(root / "captures"):
        run_pipeline(data, manifest, root / "warehouse", start=DAYS[0], end=DAYS[-1])
    return captures(root / "captures")


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pipelines.engines.spark_run import spark_session

    started = time.monotonic()
    session = spark_session(
        "local[2]",
        "burnwatch-tests",
        **{
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
        },
    )
    print(f"Spark started in {time.monotonic() - started:.1f} s")
    yield session
    session.stop()


def _differences(duck: pa.Table, spark_rows: pa.Table) -> tuple[int, int, list[Any]]:
    """Rows only on DuckDB, rows only on Spark (multisets), and a few examples."""
    connection = duckdb.connect()
    connection.register("duck_rows", duck)
    connection.register("spark_raw", spark_rows)
    assert spark_rows.column_names == duck.column_names
    duck_types = dict(zip(duck.column_names, connection.sql("from duck_rows").types, strict=True))
    spark_types = dict(zip(duck.column_names, connection.sql("from spark_raw").types, strict=True))
    # Spark's types differ in width here and there (int for DuckDB's bigint, an unsigned
    # hash): the values are compared in DuckDB's type, as the lake writer stores them.
    casts = ", ".join(
        f'"{name}"'
        if duck_types[name] == spark_types[name]
        else f'cast("{name}" as {duck_types[name]}) as "{name}"'
        for name in duck.column_names
    )
    connection.execute(f"create table spark_rows as select {casts} from spark_raw")
    only_duck = connection.sql("select * from duck_rows except all select * from spark_rows")
    only_spark = connection.sql("select * from spark_rows except all select * from duck_rows")
    examples = only_duck.limit(3).fetchall() + only_spark.limit(3).fetchall()
    return len(only_duck.fetchall()), len(only_spark.fetchall()), examples


def test_every_model_run_by_the_pipeline_was_captured(captured: list[Capture]) -> None:
    models = {capture.model for capture in captured}
    expected = {entry.name for entry in sql_models()}
    assert expected <= models, f"never captured: {sorted(expected - models)}"


@pytest.mark.parametrize("name", [entry.name for entry in sql_models()])
def test_model_gives_the_same_rows_on_spark_as_on_duckdb(
    name: str, captured: list[Capture], spark: Any
) -> None:
    from pipelines.engines.spark_run import run_model

    runs = [capture for capture in captured if capture.model == name]
    assert runs, f"{name} was not captured"
    # The first and the last run of a model (its first day, and its last with the most
    # history behind it): the days between add Spark time, not new cases.
    runs = list(dict.fromkeys([runs[0], runs[-1]]))
    nonempty = 0
    for capture in runs:
        duck = pq.read_table(capture.result)
        # As in a run whose first Spark model this is: no function an earlier model
        # defined from the manifest (run_model must define what the model calls).
        spark.sql("drop temporary function if exists burnwatch_custom_bad")
        spark_rows = run_model(spark, name, capture.inputs()).toArrow()
        only_duck, only_spark, examples = _differences(duck, spark_rows)
        assert (only_duck, only_spark) == (0, 0), (
            f"{name} ({capture.folder.name}): {only_duck} rows only on DuckDB, "
            f"{only_spark} only on Spark, e.g. {examples}"
        )
        nonempty += duck.num_rows > 0
    # The dataset is clean, so nothing is quarantined, and it has no incidents file, so
    # the replay detects nothing: quarantine and the three incident models are only
    # checked to run and to agree on being empty (their DuckDB behaviour is tested in
    # test_corruption / test_replay).
    incident_models = ("replay_incident_matches", "replay_detections", "replay_alert_detections")
    assert nonempty or name in ("quarantine", *incident_models), f"{name}: all empty"


def test_spark_plans_have_no_nested_loop_join_on_a_condition(
    captured: list[Capture], spark: Any
) -> None:
    from pipelines.engines.spark_run import explain, run_model

    conditional = []
    # The models that join per step and window (planning every model costs minutes).
    for name in (
        "int_sli_units",
        "fct_burn_rates",
        "fct_error_budget",
        "fct_alert_evaluations",
        "fct_alert_episodes",
        "fct_slo_status",
    ):
        capture = next(c for c in captured if c.model == name)
        plan = explain(run_model(spark, name, capture.inputs()))
        # A nested-loop join with a condition (`BroadcastNestedLoopJoin BuildRight, Inner,
        # (cond)`): each row tried against every other. Cross joins with the one-row
        # parameter relations have no condition and cost nothing.
        conditional += [
            f"{name}: {line.strip()}"
            for line in plan.splitlines()
            if re.search(r"(BroadcastNestedLoopJoin \w+, \w+, |CartesianProduct \()", line)
            # A filter against the one-row run_params pushed into its cross join: one
            # comparison per row, not a product.
            and not re.search(r"partition_(start|end)#\d+", line)
            # fct_burn_rates crosses each step with the 7 windows on purpose (then joins
            # the window's start bucket on plain keys); Spark adds the inferred not-null
            # filter of that start to the cross join, which stays steps x 7.
            and not re.search(
                r"BroadcastNestedLoopJoin \w+, Cross, isnotnull\([^()]*\+ -make_dt_interval", line
            )
        ]
    # fct_burn_rates computes each window's start bucket in a CTE and then joins on plain
    # keys (issue 14), so no model is left with a conditional nested-loop join.
    assert conditional == [], conditional


# --- the lint: one trap per test ------------------------------------------------------


def _lint_messages(sql: str) -> list[str]:
    return [problem.message for problem in lint(sql)]


def test_the_models_are_in_the_portable_subset() -> None:
    assert [str(p) for p in lint_files(entry.path for entry in sql_models())] == []


def test_lint_rejects_date_bin() -> None:
    messages = _lint_messages(
        "select date_bin(interval 5 minute, ts, timestamp '2000-01-01') from t"
    )
    assert any(m.startswith("date_bin()") for m in messages)


def test_lint_rejects_a_within_group_percentile() -> None:
    messages = _lint_messages("select percentile_disc(0.5) within group (order by x) from t")
    assert any("percentile_approx" in m for m in messages)


def test_lint_rejects_dayofweek() -> None:
    assert any(m.startswith("dayofweek()") for m in _lint_messages("select dayofweek(ts) from t"))


def test_lint_rejects_hash() -> None:
    assert any(m.startswith("hash()") for m in _lint_messages("select hash(a, b) from t"))


def test_lint_rejects_star_replace() -> None:
    messages = _lint_messages("select t.* replace (1 as a) from t")
    assert any(m.startswith("* replace") for m in messages)


def test_lint_rejects_qualify() -> None:
    messages = _lint_messages("select a from t qualify row_number() over (order by a) = 1")
    assert any(m.startswith("qualify") for m in messages)


def test_lint_rejects_an_unknown_function() -> None:
    messages = _lint_messages("select list_sort(a) from t")
    assert any(m.startswith("list_sort()") and "portable subset" in m for m in messages)


def test_lint_accepts_the_per_engine_functions() -> None:
    sql = "select step_number(ts), key_hash(a, b), time_bucket(interval 5 minute, ts) from t"
    assert _lint_messages(sql) == []


# --- the rewrite pass: what sqlglot alone gets wrong ----------------------------------


def test_exact_quantiles_stay_exact_on_spark() -> None:
    out = to_spark("select quantile_disc(x, [0.5, 0.9]) as q from t")
    assert "PERCENTILE_APPROX" not in out.upper()
    assert out.upper().count("WITHIN GROUP") == 2


def test_not_materialized_is_dropped() -> None:
    assert "MATERIALIZED" not in to_spark(
        "with a as not materialized (select 1 as x) select x from a"
    )


def test_an_empty_generate_series_stays_empty_on_spark(spark: Any) -> None:
    sql = to_spark(
        "select unnest(generate_series(timestamp '2024-01-02', timestamp '2024-01-01', "
        "interval 5 minute)) as b"
    )
    assert spark.sql(sql).count() == 0


def test_lead_over_a_named_window_matches_duckdb(spark: Any) -> None:
    # fct_burn_rates and fct_error_budget spread a running total up to the next bucket
    # with requests: lead() over a window of its own (no frame: Spark refuses one), null
    # at a partition's last row, beside a framed running sum.
    query = (
        "select k, b, sum(x) over running as total, lead(b) over next_b as next_b "
        "from (values (1, 1, 10), (1, 4, 20), (1, 9, 30), (2, 2, 5)) as t(k, b, x) "
        "window running as (partition by k order by b rows between unbounded preceding "
        "and current row), next_b as (partition by k order by b) order by k, b"
    )
    expected = [(1, 1, 10, 4), (1, 4, 30, 9), (1, 9, 60, None), (2, 2, 5, None)]
    assert duckdb.connect().execute(query).fetchall() == expected
    assert [tuple(row) for row in spark.sql(to_spark(query)).collect()] == expected


def test_time_bucket_of_an_odd_width_matches_duckdb(spark: Any) -> None:
    duck = duckdb.connect()
    moments = [f"timestamp '2024-03-0{d} 0{h}:17:41'" for d in range(1, 4) for h in range(5)]
    for moment in moments:
        query = f"select time_bucket(interval 7 minute, {moment}) as b"
        expected = duck.execute(query).fetchall()[0][0]
        assert spark.sql(to_spark(query)).collect()[0][0] == expected, moment


def test_sunday_is_day_zero_on_both_engines(spark: Any) -> None:
    from pipelines.engines.spark_sql import expression_to_spark

    sunday = "timestamp '2024-03-03 12:00:00'"
    predicate = expression_to_spark(f"dayofweek({sunday}) = 0")
    assert spark.sql(f"select {predicate}").collect()[0][0] is True
    assert duckdb.connect().execute(f"select dayofweek({sunday}) = 0").fetchall()[0][0] is True


def test_calendar_boundaries_match_across_dst(spark: Any) -> None:
    from pipelines.engines.functions import FUNCTIONS
    from pipelines.warehouse.session import connect

    duck = connect()
    names = [f.name for f in FUNCTIONS if f.name.startswith("calendar_period")]
    moments = ["2024-03-10 06:59:00", "2024-03-31 01:30:00", "2024-11-03 05:30:00"]
    for name in names:
        for calendar in ("week", "month", "quarter"):
            for zone in ("America/New_York", "Europe/Berlin", "Asia/Kolkata"):
                for moment in moments:
                    call = f"{name}('{calendar}', '{zone}', timestamp '{moment}')"
                    expected = duck.execute(f"select {call}").fetchall()[0][0]
                    got = spark.sql(f"select {call}").collect()[0][0]
                    assert got == expected, call
