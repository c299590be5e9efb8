"""The pipeline's tables, row for row, against the brute-force oracle (tests/oracle.py).

A small but nasty dataset is generated in tmp_path: several tenants and
services over four days, an outage and a latency regression so that alerts
fire, a slow burn, copies of requests from several replicas (jittered, tied,
differing in status and latency), copies across midnight in the neighbouring
day's folder, late rows, a tenant without an SLO and SLOs without traffic.
Property tests (hypothesis) then vary the input itself.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import Request, load_requests, run_all

from schemas.errors import BurnwatchInputError
from schemas.manifest import load_manifest
from schemas.tables import arrow_schema, column_names

pytestmark = pytest.mark.slow

DAYS = [date(2024, 3, 1) + timedelta(days=i) for i in range(4)]
TENANTS = ["acme", "globex", "hooli", "initech"]  # hooli has no SLOs
SERVICES = ["api", "web"]
REPLICAS = ["r1", "r2", "r10"]  # "r10" < "r2": replica ties break by string order

MANIFEST = """\
version: 1
period_days: 30
cohorts:
  standard:
    availability: {objective: 99.9}
    latency: {objective: 99.0, threshold_ms: 250}
  relaxed:
    period_days: 7
    availability: {objective: 99.5}
    latency: {objective: 95.0, threshold_ms: 800}
tenants:
  - id: acme
    cohort: standard
    slos:
      - {name: api-availability, service: api, sli: availability}
      - {name: api-latency, service: api, sli: latency}
      - {name: web-availability, service: web, sli: availability, objective: 99.95}
  - id: globex
    cohort: relaxed
    slos:
      - {name: api-availability, service: api, sli: availability}
      - {name: web-latency, service: web, sli: latency, threshold_ms: 400}
  - id: initech
    cohort: standard
    slos:
      - {name: api-availability, service: api, sli: availability, period_days: 2}
      - {name: batch-availability, service: batch, sli: availability}
  - id: umbrella
    cohort: standard
    slos:
      - {name: api-availability, service: api, sli: availability}
"""

REQUEST_SCHEMA = arrow_schema("raw_requests", timezone=None)

# Keys of each compared table: the pipeline's rows are matched to the oracle's by these.
KEYS: dict[str, list[str]] = {
    "stg_requests": ["tenant_id", "request_id"],
    "fct_burn_rates": ["tenant_id", "slo_name", "eval_ts", "window"],
    "fct_error_budget": ["tenant_id", "slo_name", "eval_ts"],
    "fct_alert_evaluations": ["tenant_id", "slo_name", "eval_ts", "rule_name"],
    "fct_alert_episodes": ["tenant_id", "slo_name", "rule_name", "started_at"],
}


# --- generating inputs -----------------------------------------------------------------


def write_requests(
    data_dir: Path, placed: Sequence[tuple[date, Request]], files_per_folder: int, seed: int
) -> None:
    """Write rows into `requests/tenant=/date=/part-N.parquet`, shuffled and split."""
    rng = random.Random(seed)
    folders: dict[tuple[str, date], list[Request]] = {}
    for folder_day, row in placed:
        folders.setdefault((row.tenant_id, folder_day), []).append(row)
    for (tenant, folder_day), rows in sorted(folders.items()):
        rows = list(rows)
        rng.shuffle(rows)
        folder = data_dir / "requests" / f"tenant={tenant}" / f"date={folder_day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        parts = max(1, min(files_per_folder, len(rows)))
        cuts = sorted(rng.sample(range(1, len(rows)), parts - 1)) if parts > 1 else []
        for index, (lo, hi) in enumerate(zip([0, *cuts], [*cuts, len(rows)], strict=True)):
            table = pa.Table.from_pylist([vars(row) for row in rows[lo:hi]], schema=REQUEST_SCHEMA)
            pq.write_table(table, folder / f"part-{index}.parquet")


def _at(day: date, seconds: float) -> datetime:
    return datetime(day.year, day.month, day.day) + timedelta(microseconds=round(seconds * 1e6))


def generate_dataset(seed: int = 7) -> list[tuple[date, Request]]:
    """The rows of the main dataset, each with the day folder it is written to."""
    rng = np.random.default_rng(seed)
    originals: list[Request] = []
    counter = 0

    def add(tenant: str, service: str, ts: datetime, status: int, latency: float) -> None:
        nonlocal counter
        counter += 1
        originals.append(
            Request(
                request_id=f"req-{counter:07d}",
                ts=ts,
                tenant_id=tenant,
                service=service,
                operation=None if rng.random() < 0.2 else str(rng.choice(["get", "put", "list"])),
                status_code=status,
                latency_ms=round(float(rng.lognormal(4.0, 0.6)) if latency < 0 else latency, 3),
                replica=str(rng.choice(REPLICAS)),
            )
        )

    for day in DAYS:
        for tenant in TENANTS:
            # initech burns slowly all along (0.5% errors, 5x a 99.9% SLO): tickets.
            error_rate = 0.005 if tenant == "initech" else 0.0002
            for _ in range(int(rng.integers(700, 900))):
                seconds = float(rng.uniform(0, 86_400))
                status = int(rng.choice([500, 503])) if rng.random() < error_rate else 200
                if status == 200 and rng.random() < 0.03:
                    status = 404
                add(tenant, str(rng.choice(SERVICES)), _at(day, seconds), status, -1.0)
    # acme api: a 40% outage on day 3, 10:00-11:00 (burn 400x): every rule fires.
    for _ in range(600):
        seconds = float(rng.uniform(10 * 3600, 11 * 3600))
        status = 500 if rng.random() < 0.4 else 200
        add("acme", "api", _at(DAYS[2], seconds), status, -1.0)
    # globex web: 2 hours of slow responses on day 2 from 14:00.
    for _ in range(400):
        seconds = float(rng.uniform(14 * 3600, 16 * 3600))
        add("globex", "web", _at(DAYS[1], seconds), 200, float(rng.uniform(450, 900)))
    # Traffic right around midnight, so that copies cross day folders.
    for day in DAYS[1:]:
        for _ in range(40):
            seconds = float(rng.uniform(-0.2, 0.2))
            status = 503 if rng.random() < 0.05 else 200
            add(str(rng.choice(TENANTS)), "api", _at(day, seconds), status, -1.0)

    placed: list[tuple[date, Request]] = []
    for row in originals:
        folder = row.ts.date()
        if folder < DAYS[0]:
            continue
        # 2% arrive late: written only in the next day's folder.
        if folder < DAYS[-1] and rng.random() < 0.02:
            folder += timedelta(days=1)
        placed.append((folder, row))
        # 15% were also logged by other replicas, a few ms apart (sometimes at the
        # very same ts), with their own latency and now and then another status.
        others = [r for r in REPLICAS if r != row.replica]
        for replica in others[: int(rng.choice([0, 1, 2], p=[0.85, 0.1, 0.05]))]:
            jitter = 0 if rng.random() < 0.2 else int(rng.integers(-50_000, 50_000))
            copy = Request(
                request_id=row.request_id,
                ts=row.ts + timedelta(microseconds=jitter),
                tenant_id=row.tenant_id,
                service=row.service,
                operation=row.operation,
                status_code=200 if rng.random() < 0.1 else row.status_code,
                latency_ms=round(row.latency_ms + float(rng.uniform(-5, 5)), 3),
                replica=replica,
            )
            placed.append((folder, copy))
        # Rows near midnight: a replica's copy lands in the neighbouring day's folder.
        near_end = row.ts - datetime.combine(row.ts.date(), datetime.min.time())
        if near_end > timedelta(hours=23, minutes=59) and row.ts.date() < DAYS[-1]:
            jitter = int(rng.integers(-30_000_000, 90_000_000))
            copy = Request(
                row.request_id,
                row.ts + timedelta(microseconds=jitter),
                row.tenant_id,
                row.service,
                row.operation,
                503 if rng.random() < 0.3 else row.status_code,
                row.latency_ms + 1.0,
                "r2" if row.replica != "r2" else "r1",
            )
            placed.append((row.ts.date() + timedelta(days=1), copy))
    return placed


def write_manifest(path: Path, text: str = MANIFEST) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- running and comparing -------------------------------------------------------------


def run(
    data_dir: Path,
    manifest: Path,
    warehouse: Path,
    days: Sequence[date],
    threads: int | None = None,
) -> None:
    from pipelines.runner import run_pipeline

    run_pipeline(data_dir, manifest, warehouse, start=days[0], end=days[-1], threads=threads)


def pipeline_rows(warehouse: Path, table: str) -> list[dict[str, Any]]:
    from pipelines.warehouse.lake import read_table

    frame = read_table(warehouse, table)
    assert frame.columns == column_names(table), f"{table}: columns differ from schemas.tables"
    return frame.to_dicts()


def same_value(actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(expected, float) and not isinstance(expected, bool):
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12)
    return bool(actual == expected) and type(actual) is type(expected)


def assert_same_rows(
    table: str, actual: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> None:
    """Row for row: the same keys, and every column equal (floats to 1e-9 relative)."""
    key_columns = KEYS[table]

    def keyed(rows: list[dict[str, Any]], side: str) -> dict[tuple[Any, ...], dict[str, Any]]:
        out = {tuple(row[c] for c in key_columns): row for row in rows}
        assert len(out) == len(rows), f"{table}: duplicate keys in the {side} rows"
        return out

    got, want = keyed(actual, "pipeline"), keyed(expected, "oracle")
    missing = sorted(set(want) - set(got), key=repr)
    extra = sorted(set(got) - set(want), key=repr)
    problems = [f"missing (oracle has, pipeline lacks): {key}" for key in missing[:5]]
    problems += [f"extra (pipeline has, oracle lacks): {key} -> {got[key]}" for key in extra[:5]]
    differing = 0
    for key in sorted(set(got) & set(want), key=repr):
        bad = {
            column: (got[key].get(column), want[key][column])
            for column in want[key]
            if not same_value(got[key].get(column), want[key][column])
        }
        if bad:
            differing += 1
            if differing <= 10:
                problems.append(f"{key}: (pipeline, oracle) = {bad}")
    summary = (
        f"{table}: {len(got)} pipeline rows, {len(want)} oracle rows; {len(missing)} missing, "
        f"{len(extra)} extra, {differing} differing"
    )
    assert not problems, "\n".join([summary, *problems])


def lake_digests(warehouse: Path) -> dict[str, str]:
    lake = warehouse / "lake"
    return {
        str(path.relative_to(lake)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(lake.rglob("*.parquet"))
    }


# --- the main dataset ------------------------------------------------------------------


@pytest.fixture(scope="module")
def main_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("oracle_main")
    data_dir = root / "data"
    write_requests(data_dir, generate_dataset(), files_per_folder=3, seed=11)
    manifest = write_manifest(root / "slos.yaml")
    warehouse = root / "warehouse"
    run(data_dir, manifest, warehouse, DAYS)
    loaded = load_manifest(manifest)
    expected = run_all(load_requests(data_dir), loaded.resolved_slos(), loaded.policy.rules, DAYS)
    return {
        "root": root,
        "data_dir": data_dir,
        "manifest": manifest,
        "warehouse": warehouse,
        "expected": expected,
    }


def test_the_dataset_exercises_what_it_should(main_run: dict[str, Any]) -> None:
    rows = load_requests(main_run["data_dir"])
    assert len(rows) > len(main_run["expected"]["stg_requests"]) + 1000  # many copies
    episodes = main_run["expected"]["fct_alert_episodes"]
    fired = {(e["tenant_id"], e["slo_name"], e["rule_name"]) for e in episodes}
    assert ("acme", "api-availability", "page-1h") in fired
    assert ("globex", "web-latency", "page-1h") in fired
    assert any(t == "initech" and rule.startswith("ticket") for t, _, rule in fired)
    copies = main_run["expected"]["stg_requests"]
    assert any(row["replica_copies"] == 3 for row in copies)
    budget = main_run["expected"]["fct_error_budget"]
    exhaustion = [row["time_to_exhaustion_hours"] for row in budget]
    assert sum(1 for tte in exhaustion if tte is not None and tte > 0) > 50
    assert sum(1 for tte in exhaustion if tte == 0.0) > 50
    assert None in exhaustion


def test_stg_requests_keeps_the_oracles_copy_of_every_request(main_run: dict[str, Any]) -> None:
    actual = pipeline_rows(main_run["warehouse"], "stg_requests")
    expected = main_run["expected"]["stg_requests"]
    assert len(actual) == len(expected)
    assert {(r["tenant_id"], r["request_id"], r["replica"]) for r in actual} == {
        (r["tenant_id"], r["request_id"], r["replica"]) for r in expected
    }
    assert_same_rows("stg_requests", actual, expected)


@pytest.mark.parametrize(
    "table",
    ["fct_burn_rates", "fct_error_budget", "fct_alert_evaluations", "fct_alert_episodes"],
)
def test_fact_table_matches_the_oracle_row_for_row(main_run: dict[str, Any], table: str) -> None:
    assert_same_rows(
        table, pipeline_rows(main_run["warehouse"], table), main_run["expected"][table]
    )


def test_outputs_are_byte_identical_across_runs_and_thread_counts(
    main_run: dict[str, Any],
) -> None:
    first = lake_digests(main_run["warehouse"])
    assert first, "the lake holds no Parquet files"
    # The first run used DuckDB's default thread count: two more runs make three in all.
    for name, threads in [("one_thread", 1), ("two_threads", 2)]:
        warehouse = main_run["root"] / f"warehouse_{name}"
        run(main_run["data_dir"], main_run["manifest"], warehouse, DAYS, threads=threads)
        digests = lake_digests(warehouse)
        differing = sorted(
            path for path in set(first) | set(digests) if first.get(path) != digests.get(path)
        )
        assert not differing, f"{name}: these lake files differ from the first run: {differing}"


def test_scan_blocks_of_one_day_give_the_same_bytes_as_one_scan(
    main_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The main run deduplicated its four days in one scan, and bucketed them in one
    # query. With a one-row budget every day is its own block for both; the dataset's
    # copies across midnight lie within the skew tolerance, and a day's buckets hold only
    # its own requests, so every table must come out byte for byte the same.
    from pipelines.ingest import staging
    from pipelines.models import build
    from pipelines.resources import ENV_MAX_ROWS_PER_SCAN

    blocks: list[list[date]] = []
    bucket_blocks: list[tuple[date, date]] = []
    build_block = staging._build_stg_requests_block
    compute_buckets = build.compute_int_sli_buckets

    def counting_block(resource: Any, files: Any, days: list[date], progress: Any) -> Any:
        blocks.append(list(days))
        return build_block(resource, files, days, progress)

    def counting_buckets(connection: Any, resource: Any, first: date, last: date) -> None:
        bucket_blocks.append((first, last))
        compute_buckets(connection, resource, first, last)

    monkeypatch.setattr(staging, "_build_stg_requests_block", counting_block)
    monkeypatch.setattr(build, "compute_int_sli_buckets", counting_buckets)
    monkeypatch.setenv(ENV_MAX_ROWS_PER_SCAN, "1")
    warehouse = main_run["root"] / "warehouse_day_blocks"
    run(main_run["data_dir"], main_run["manifest"], warehouse, DAYS)
    assert blocks == [[day] for day in DAYS], "the run did not scan one day per block"
    assert bucket_blocks == [(day, day) for day in DAYS], "the run did not bucket day by day"
    first, blocked = lake_digests(main_run["warehouse"]), lake_digests(warehouse)
    differing = sorted(p for p in set(first) | set(blocked) if first.get(p) != blocked.get(p))
    assert not differing, f"one scan block per day changed these lake files: {differing}"


# --- properties on random small inputs -------------------------------------------------

TWO_DAYS = [date(2024, 5, 6), date(2024, 5, 7)]
SMALL_MANIFEST = """\
version: 1
cohorts:
  standard:
    availability: {objective: 99.0}
    latency: {objective: 95.0, threshold_ms: 100}
tenants:
  - id: t1
    cohort: standard
    slos:
      - {name: avail, service: api, sli: availability}
      - {name: fast, service: api, sli: latency}
  - id: t2
    cohort: standard
    slos:
      - {name: avail, service: api, sli: availability, period_days: 1}
"""
MIDNIGHT = datetime(2024, 5, 7)

# A logged copy: (tenant, request number, seconds from the midnight between the two
# days, replica, status, latency, whether it sits in the other day's folder).
copy_strategy = st.tuples(
    st.sampled_from(["t1", "t2"]),
    st.integers(0, 7),
    st.integers(-3000, 3000).map(lambda s: s / 2),
    st.sampled_from(REPLICAS),
    st.sampled_from([200, 500]),
    st.sampled_from([50.0, 150.0]),
    st.booleans(),
)


def place_copies(copies: list[tuple[Any, ...]]) -> list[tuple[date, Request]]:
    placed = []
    for tenant, number, seconds, replica, status, latency, elsewhere in copies:
        ts = MIDNIGHT + timedelta(seconds=seconds)
        folder = ts.date()
        if elsewhere:
            folder = TWO_DAYS[1] if folder == TWO_DAYS[0] else TWO_DAYS[0]
        placed.append(
            (folder, Request(f"q{number}", ts, tenant, "api", None, status, latency, replica))
        )
    return placed


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    copies=st.lists(copy_strategy, min_size=1, max_size=30),
    layouts=st.lists(st.tuples(st.integers(0, 2**16), st.integers(1, 3)), min_size=2, max_size=2),
)
def test_dedup_depends_neither_on_row_order_nor_on_file_split(
    tmp_path_factory: pytest.TempPathFactory,
    copies: list[tuple[Any, ...]],
    layouts: list[tuple[int, int]],
) -> None:
    root = tmp_path_factory.mktemp("dedup")
    manifest = write_manifest(root / "slos.yaml", SMALL_MANIFEST)
    placed = place_copies(copies)
    digests = []
    for index, (seed, files) in enumerate(layouts):
        data_dir, warehouse = root / f"data{index}", root / f"warehouse{index}"
        write_requests(data_dir, placed, files_per_folder=files, seed=seed)
        days = sorted({folder for folder, _ in placed})
        run(data_dir, manifest, warehouse, days)
        loaded = load_manifest(manifest)
        expected = run_all(load_requests(data_dir), loaded.resolved_slos(), [], days)
        assert_same_rows(
            "stg_requests", pipeline_rows(warehouse, "stg_requests"), expected["stg_requests"]
        )
        digests.append(
            {path: digest for path, digest in lake_digests(warehouse).items() if "stg" in path}
        )
    assert digests[0] == digests[1], "stg_requests bytes depend on row order or file split"


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    requests=st.lists(
        st.tuples(
            st.sampled_from(["t1", "t2"]),
            st.integers(0, 2 * 86_400 * 1000 - 1),  # ms into the two days
            st.sampled_from([200, 404, 500, 503]),
            st.floats(0, 200, allow_nan=False),
        ),
        max_size=60,
    )
)
def test_every_windows_burn_rate_matches_the_oracle(
    tmp_path_factory: pytest.TempPathFactory, requests: list[tuple[str, int, int, float]]
) -> None:
    root = tmp_path_factory.mktemp("burn")
    manifest = write_manifest(root / "slos.yaml", SMALL_MANIFEST)
    start = datetime.combine(TWO_DAYS[0], datetime.min.time())
    rows = [
        Request(
            f"q{i}", start + timedelta(milliseconds=ms), tenant, "api", "get", status, latency, "r1"
        )
        for i, (tenant, ms, status, latency) in enumerate(requests)
    ]
    # Both day folders exist for both tenants, even when a day has no requests.
    placed = [(row.ts.date(), row) for row in rows]
    placed += [
        (
            day,
            Request(
                f"web-{tenant}-{day}",
                datetime.combine(day, datetime.min.time()),
                tenant,
                "web",
                None,
                200,
                1.0,
                "r1",
            ),
        )
        for day in TWO_DAYS
        for tenant in ["t1", "t2"]
    ]
    data_dir, warehouse = root / "data", root / "warehouse"
    write_requests(data_dir, placed, files_per_folder=2, seed=len(rows))
    run(data_dir, manifest, warehouse, TWO_DAYS)
    loaded = load_manifest(manifest)
    expected = run_all(
        load_requests(data_dir), loaded.resolved_slos(), loaded.policy.rules, TWO_DAYS
    )
    for table in ["fct_burn_rates", "fct_alert_evaluations", "fct_error_budget"]:
        assert_same_rows(table, pipeline_rows(warehouse, table), expected[table])


# --- known gaps: the pipeline departs from the contract (see each reason) ---------------


def _one_request(rid: str, ts: datetime, replica: str, status: int = 200) -> Request:
    return Request(rid, ts, "t1", "api", None, status, 10.0, replica)


def _write_small(tmp_path: Path, placed: list[tuple[date, Request]]) -> tuple[Path, Path, Path]:
    """SMALL_MANIFEST and `placed`, one file a folder: (data dir, manifest, warehouse)."""
    data_dir, warehouse = tmp_path / "data", tmp_path / "warehouse"
    manifest = write_manifest(tmp_path / "slos.yaml", SMALL_MANIFEST)
    write_requests(data_dir, placed, files_per_folder=1, seed=0)
    return data_dir, manifest, warehouse


def _run_small(
    tmp_path: Path, placed: list[tuple[date, Request]], days: list[date]
) -> tuple[Path, Path, Path]:
    data_dir, manifest, warehouse = _write_small(tmp_path, placed)
    run(data_dir, manifest, warehouse, days)
    return data_dir, manifest, warehouse


def _assert_staged_as_the_oracle(
    data_dir: Path, manifest: Path, warehouse: Path, days: list[date]
) -> None:
    """stg_requests equals the oracle's over `days` (no alert rules needed)."""
    expected = run_all(load_requests(data_dir), load_manifest(manifest).resolved_slos(), [], days)
    assert_same_rows(
        "stg_requests", pipeline_rows(warehouse, "stg_requests"), expected["stg_requests"]
    )


FAR_APART_COPIES = [
    (TWO_DAYS[0], _one_request("q1", datetime(2024, 5, 6, 22, 45), "r1")),
    (TWO_DAYS[1], _one_request("q1", datetime(2024, 5, 7, 0, 15), "r2")),
]


def test_copies_of_a_request_far_apart_across_midnight_count_once_in_one_run(
    tmp_path: Path,
) -> None:
    # Days computed in one run are deduplicated together, however far apart the copies.
    data_dir, manifest, warehouse = _run_small(tmp_path, FAR_APART_COPIES, TWO_DAYS)
    _assert_staged_as_the_oracle(data_dir, manifest, warehouse, TWO_DAYS)


@pytest.mark.xfail(
    strict=True,
    raises=(AssertionError, BurnwatchInputError),
    reason="a documented limit: days computed in separate runs (or scan blocks) see only "
    "rows within skew_tolerance_minutes (60) of them, so copies of one request further "
    "apart across midnight are kept once in each day (the check "
    "stg_requests_unique_request_keys reports how many)",
)
def test_copies_far_apart_across_midnight_count_once_when_days_run_separately(
    tmp_path: Path,
) -> None:
    data_dir, manifest, warehouse = _write_small(tmp_path, FAR_APART_COPIES)
    for day in TWO_DAYS:
        run(data_dir, manifest, warehouse, [day])
    _assert_staged_as_the_oracle(data_dir, manifest, warehouse, TWO_DAYS)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="a day reads only its own and its neighbours' folders: a row found two or more "
    "day folders after its ts is silently dropped",
)
def test_a_row_found_two_day_folders_late_still_counts(tmp_path: Path) -> None:
    days = [*TWO_DAYS, TWO_DAYS[1] + timedelta(days=1)]
    placed = [
        (days[0], _one_request("a", datetime(2024, 5, 6, 12), "r1")),
        (days[1], _one_request("b", datetime(2024, 5, 7, 12), "r1")),
        (days[2], _one_request("late", datetime(2024, 5, 6, 13), "r1", 500)),
    ]
    data_dir, manifest, warehouse = _run_small(tmp_path, placed, days)
    _assert_staged_as_the_oracle(data_dir, manifest, warehouse, days)


def test_windows_at_the_first_computed_day_see_the_days_before_it(tmp_path: Path) -> None:
    placed = [
        (TWO_DAYS[0], _one_request("a", datetime(2024, 5, 6, 23, 50), "r1", 500)),
        (TWO_DAYS[1], _one_request("b", datetime(2024, 5, 7, 0, 1), "r1")),
    ]
    data_dir, manifest, warehouse = _run_small(tmp_path, placed, TWO_DAYS[1:])
    loaded = load_manifest(manifest)
    expected = run_all(
        load_requests(data_dir),
        loaded.resolved_slos(),
        loaded.policy.rules,
        TWO_DAYS[1:],
        counted_days=TWO_DAYS,
    )
    # The run computed the day before start too (it was missing from the warehouse);
    # the day asked for must equal the oracle's, which sees every request.
    asked = [
        row
        for row in pipeline_rows(warehouse, "fct_burn_rates")
        if row["eval_ts"].date() in TWO_DAYS[1:]
    ]
    assert_same_rows("fct_burn_rates", asked, expected["fct_burn_rates"])


def test_copies_dated_after_the_last_folder_are_quarantined_not_counted(tmp_path: Path) -> None:
    # Found by the dedup property test's search: four copies of t1/q0 all in the one
    # (last) folder, two dated the day after it. Those two are on no computed day, so
    # they are quarantined (outside_computed_range) and are no copies: 2, not 4.
    copies = [
        ("t2", 0, 116.5, "r1", 200, 50.0, True),
        ("t1", 0, 331.5, "r1", 200, 50.0, True),
        ("t1", 0, -132.5, "r1", 200, 50.0, False),
        ("t1", 0, -152.5, "r1", 200, 50.0, False),
        ("t1", 0, 158.0, "r1", 200, 50.0, True),
    ]
    placed = place_copies(copies)
    days = sorted({folder for folder, _ in placed})
    data_dir, manifest, warehouse = _run_small(tmp_path, placed, days)
    _assert_staged_as_the_oracle(data_dir, manifest, warehouse, days)
    staged = pipeline_rows(warehouse, "stg_requests")
    assert [(r["tenant_id"], r["replica_copies"]) for r in staged] == [("t1", 2)]
    quarantined = pipeline_rows(warehouse, "quarantine")
    assert sorted((r["tenant_id"], r["reason"]) for r in quarantined) == [
        ("t1", "outside_computed_range"),
        ("t1", "outside_computed_range"),
        ("t2", "outside_computed_range"),
    ]
