"""Policies through the pipeline: low-traffic guards, no data, the denominator floor and
tier suppression, compared row for row with a brute-force oracle.

The oracle (below) recomputes every evaluation from the raw requests with
`tests/oracle.py`'s bucket counts, and suppression step by step in time order
from its definition: a firing ticket is suppressed while a page of the same
tenant SLO fires, unless it was already firing unsuppressed at the step before.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from oracle import (
    alert_episodes,
    bucket_index,
    bucket_start,
    data_run_starts,
    day_steps,
    dedup,
    last_evaluable_steps,
    load_requests,
    rule_decision,
    slo_counts,
    warmed_up,
    window_buckets,
)
from oracle import burn_rate as plain_burn
from test_workbook_table import SCHEMA, build_lake

from schemas.manifest import Manifest, ResolvedRule, load_manifest

DAY = dt.date(2026, 5, 12)
DAYS = [DAY - dt.timedelta(days=1), DAY]

MANIFEST = """\
cohorts:
  std:
    availability: {objective: 99.9}
  nosup:
    availability: {objective: 99.9}
    policy: {suppress_tickets_while_paging: false}
tenants:
  - id: busy
    cohort: std
    # Two days of data: warmed up, ticket-3d could not open on the slow burn below.
    policy: {rules: [{name: ticket-3d, warm_up: false}]}
    slos: [{name: api, service: api, sli: availability}]
  - id: calm
    cohort: nosup
    slos: [{name: api, service: api, sli: availability}]
  - id: quiet
    cohort: std
    policy:
      rules:
        - {name: page-1h, min_events: 20}
        - {name: page-6h, min_denominator: 600}
    slos: [{name: api, service: api, sli: availability}]
  - id: quiet-unguarded
    cohort: std
    slos: [{name: api, service: api, sli: availability}]
"""


def _traffic() -> dict[str, list[tuple[dt.datetime, int]]]:
    """(ts, status) per tenant: busy/calm every 30 s with a slow burn then an outage;
    quiet every 10 min with a one-hour outage."""
    rng = random.Random(5)
    start = dt.datetime.combine(DAYS[0], dt.time())
    end = start + dt.timedelta(days=2)
    busy: list[tuple[dt.datetime, int]] = []
    ts = start
    index = 0
    while ts < end:
        # 0.4% errors (4x) for 12 hours: ticket-3d opens, no page does.
        slow = dt.datetime(2026, 5, 11, 14) <= ts < dt.datetime(2026, 5, 12, 2)
        outage = dt.datetime(2026, 5, 12, 10) <= ts < dt.datetime(2026, 5, 12, 10, 40)
        late = dt.datetime(2026, 5, 12, 18) <= ts < dt.datetime(2026, 5, 12, 18, 20)
        bad = outage or late or (slow and index % 250 == 0) or rng.random() < 0.0002
        busy.append((ts, 503 if bad else 200))
        ts += dt.timedelta(seconds=30)
        index += 1
    quiet: list[tuple[dt.datetime, int]] = []
    ts = start + dt.timedelta(minutes=3)
    while ts < end:
        outage = dt.datetime(2026, 5, 12, 10) <= ts < dt.datetime(2026, 5, 12, 11)
        quiet.append((ts, 500 if outage else 200))
        ts += dt.timedelta(minutes=10)
    return {"busy": busy, "calm": busy, "quiet": quiet, "quiet-unguarded": quiet}


def _write(data: Path) -> None:
    for tenant, rows in _traffic().items():
        for day in DAYS:
            records = [
                {
                    "request_id": f"{tenant}-{n}",
                    "ts": ts.replace(tzinfo=dt.UTC),
                    "tenant_id": tenant,
                    "service": "api",
                    "operation": None,
                    "status_code": status,
                    "latency_ms": 10.0,
                    "replica": "r1",
                }
                for n, (ts, status) in enumerate(rows)
                if ts.date() == day
            ]
            folder = data / "requests" / f"tenant={tenant}" / f"date={day}"
            folder.mkdir(parents=True)
            pq.write_table(pa.Table.from_pylist(records, schema=SCHEMA), folder / "p.parquet")


# --- the oracle ----------------------------------------------------------------------


def _burn(total: int, bad: int, rule: ResolvedRule) -> float | None:
    if rule.min_denominator is None:
        return plain_burn(total, bad, (100 - rule.objective) / 100)
    if total == 0:
        return None
    return bad / max(total, rule.min_denominator) / ((100 - rule.objective) / 100)


def oracle_evaluations(data: Path, manifest: Manifest) -> list[dict[str, Any]]:
    requests = list(dedup(load_requests(data)).values())
    slos = manifest.resolved_slos()
    counts = slo_counts(requests, slos)
    # A tenant's steps end at the bucket of its newest request (the evaluation horizon).
    last_step = last_evaluable_steps(requests)
    # Warm-up: where each tenant's runs of logs start (tests/oracle.py, no SQL).
    run_starts = data_run_starts(requests, slos)
    rows: list[dict[str, Any]] = []
    for rule in manifest.resolved_rules():
        buckets = counts[(rule.tenant_id, rule.slo_name)]
        until = last_step.get(rule.tenant_id, -1)
        for step in (step for step in day_steps(DAYS) if step <= until):
            long_total, long_bad = buckets.window(step, window_buckets(rule.long_window))
            short_total, short_bad = buckets.window(step, window_buckets(rule.short_window))
            long_burn, short_burn = (
                _burn(long_total, long_bad, rule),
                _burn(short_total, short_bad, rule),
            )
            warm = not rule.warm_up or warmed_up(
                run_starts.get(rule.tenant_id, []), step, rule.long_window
            )
            fires, state = rule_decision(
                long_burn,
                short_burn,
                rule.burn_threshold,
                long_total,
                short_total,
                rule.min_events,
                warm,
            )
            rows.append(
                {
                    "tenant_id": rule.tenant_id,
                    "slo_name": rule.slo_name,
                    "eval_ts": bucket_start(step),
                    "rule_name": rule.rule_name,
                    "severity": rule.severity,
                    "long_window": rule.long_window,
                    "short_window": rule.short_window,
                    "burn_threshold": rule.burn_threshold,
                    "long_total": long_total,
                    "long_bad": long_bad,
                    "long_burn_rate": long_burn,
                    "short_total": short_total,
                    "short_bad": short_bad,
                    "short_burn_rate": short_burn,
                    "fires": fires,
                    "state": state,
                    "suppressed": False,
                    "_suppress": rule.suppress_tickets_while_paging,
                }
            )
    # Suppression, by its recursive definition, walking each series in time order.
    by_slo: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_slo.setdefault((row["tenant_id"], row["slo_name"]), []).append(row)
    for series in by_slo.values():
        paging = {r["eval_ts"] for r in series if r["severity"] == "page" and r["fires"]}
        open_before: dict[str, bool] = {}
        for row in sorted(series, key=lambda r: r["eval_ts"]):
            if row["severity"] != "ticket":
                continue
            was_open = open_before.get(row["rule_name"], False)
            row["suppressed"] = bool(
                row["_suppress"] and row["fires"] and row["eval_ts"] in paging and not was_open
            )
            open_before[row["rule_name"]] = row["fires"] and not row["suppressed"]
    for row in rows:
        del row["_suppress"]
    return rows


# --- the comparison --------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pipelines.warehouse.lake import read_table

    root = tmp_path_factory.mktemp("policy_pipeline")
    _write(root / "data")
    (root / "slos.yaml").write_text(MANIFEST)
    warehouse = build_lake(root, DAYS)
    manifest = load_manifest(root / "slos.yaml")
    expected = oracle_evaluations(root / "data", manifest)
    return {
        "evaluations": read_table(warehouse, "fct_alert_evaluations"),
        "episodes": read_table(warehouse, "fct_alert_episodes"),
        "expected": expected,
    }


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["tenant_id"], row["slo_name"], row["eval_ts"], row["rule_name"])


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, float) and a is not None:
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def test_evaluations_match_the_oracle_row_for_row(run: dict[str, Any]) -> None:
    got = {_key(r): r for r in run["evaluations"].to_dicts()}
    want = {_key(r): r for r in run["expected"]}
    assert set(got) == set(want)
    differing = [
        (
            key,
            {
                c: (got[key][c], want[key][c])
                for c in want[key]
                if not _same(got[key][c], want[key][c])
            },
        )
        for key in sorted(want)
        if any(not _same(got[key][c], want[key][c]) for c in want[key])
    ]
    assert not differing, differing[:5]


def test_episodes_are_built_from_firing_unsuppressed_steps(run: dict[str, Any]) -> None:
    firing = [{**r, "fires": r["fires"] and not r["suppressed"]} for r in run["expected"]]
    expected = {
        (e["tenant_id"], e["rule_name"], e["started_at"], e["resolved_at"])
        for e in alert_episodes(firing)
    }
    got = {
        (e["tenant_id"], e["rule_name"], e["started_at"], e["resolved_at"])
        for e in run["episodes"].to_dicts()
    }
    assert got == expected


def test_the_dataset_exercises_every_state_and_suppression(run: dict[str, Any]) -> None:
    frame = run["evaluations"]
    states = set(frame.filter(pl.col("tenant_id") == "quiet")["state"])
    assert {"no_data", "low_traffic", "ok"} <= states
    busy = frame.filter(pl.col("tenant_id") == "busy")
    assert busy["suppressed"].any()
    # A ticket already open before the page (slow burn, then the outage) stays open.
    assert busy.filter((pl.col("severity") == "ticket") & pl.col("fires") & ~pl.col("suppressed"))[
        "eval_ts"
    ].min() < dt.datetime(2026, 5, 12, 10)
    assert not frame.filter(pl.col("tenant_id") == "calm")["suppressed"].any()


def test_min_events_keeps_a_low_traffic_tenant_from_paging(run: dict[str, Any]) -> None:
    frame = run["evaluations"].filter(pl.col("rule_name") == "page-1h")
    guarded = frame.filter(pl.col("tenant_id") == "quiet")
    unguarded = frame.filter(pl.col("tenant_id") == "quiet-unguarded")
    assert unguarded["fires"].any()  # six failures in an hour: 1000x
    assert not guarded["fires"].any()  # the 1h window never holds 20 requests
    assert set(guarded.filter(pl.col("long_total") > 0)["state"]) <= {
        "low_traffic",
        "no_data",
        "warming_up",  # the first hour of its logs
    }


def test_min_denominator_damps_the_burn_of_few_requests(run: dict[str, Any]) -> None:
    at = dt.datetime(2026, 5, 12, 10, 30)
    rows = run["evaluations"].filter((pl.col("rule_name") == "page-6h") & (pl.col("eval_ts") == at))
    quiet = rows.filter(pl.col("tenant_id") == "quiet").to_dicts()[0]
    plain = rows.filter(pl.col("tenant_id") == "quiet-unguarded").to_dicts()[0]
    # 3 bad of 36 requests in 6h: 83.3x plain; floored at 600 requests: 5x, under 6x.
    assert (quiet["long_bad"], quiet["long_total"]) == (3, 36)
    assert plain["long_burn_rate"] == pytest.approx(3 / 36 / 0.001)
    assert quiet["long_burn_rate"] == pytest.approx(3 / 600 / 0.001)
    assert plain["fires"] and not quiet["fires"]


def test_no_data_is_not_zero_errors(run: dict[str, Any]) -> None:
    empty = run["evaluations"].filter(pl.col("state") == "no_data")
    assert empty.height > 0
    assert not empty["fires"].any()
    assert (
        empty.filter(pl.col("short_total") == 0)["short_burn_rate"].null_count()
        == empty.filter(pl.col("short_total") == 0).height
    )


def test_bucket_helpers_agree_with_the_oracle_epoch() -> None:
    step = bucket_index(dt.datetime(2026, 5, 12, 10, 30))
    assert bucket_start(step) == dt.datetime(2026, 5, 12, 10, 30)
