"""The Prometheus rules fire exactly when the batch pipeline does (promtool test rules).

A two-day dataset (five tenants, one service) is run through the batch pipeline.
The same requests are then turned into the counters and histograms a service
would export, sampled at every 5-minute boundary (the value at `t` counts the
requests with `ts < t`, so `increase(x[w])` at `t` is the batch's window
`[t - w, t)`), and fed to `promtool test rules` with the rules `burnwatch rules`
generates. At every one of the 576 evaluation steps the set of firing alerts
must be the set of (tenant, SLO, rule) rows where `fct_alert_evaluations.fires`
is true, and at each episode's start and resolution every window's error ratio
must equal the batch's `bad / total`.

The dataset has an outage and a latency regression (pages), a slow burn
(tickets), a little-traffic tenant with `min_events`, one with `min_denominator`,
a `budget_consumed_percent` rule over a 7-day period, a tenant without any 5xx
series, a gap in traffic (no data), and a burn rate that lands on a threshold,
27 bad of 100 at 98.5% for an 18x rule, where only the batch's own
floating-point computation gives the batch's answer. Suppressed tickets still
fire here, as they do in `fires`: suppressing them is Alertmanager's inhibition.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from pipelines.interop.prometheus_rules import (
    ALERT_NAME,
    DURATION_METRIC,
    REQUESTS_METRIC,
    WINDOWS,
    alert_annotations,
    alert_labels,
    write_rules,
)
from schemas.manifest import WINDOW_MINUTES, Manifest, load_manifest
from schemas.tables import arrow_schema
from tests.cli_helpers import promtool

pytestmark = pytest.mark.slow

START = dt.datetime(2024, 3, 1)
DAYS = 2
BUCKET = dt.timedelta(minutes=5)
STEPS = DAYS * 24 * 12
SERVICE = "api"
TENANTS = ("acme", "globex", "hooli", "initech", "umbrella")
LE_BUCKETS = ["0.1", "0.25", "0.5", "+Inf"]

MANIFEST = """\
version: 1
period_days: 30
policy:
  rules:
    - {name: page-1h, severity: page, long_window: 1h, short_window: 5m, burn_rate: 14.4}
    # 5% of the budget in 6h: 6x over 30 days, 1.4x over globex's 7.
    - {name: page-6h, severity: page, long_window: 6h, short_window: 30m,
       budget_consumed_percent: 5}
    - {name: ticket-1d, severity: ticket, long_window: 1d, short_window: 2h, burn_rate: 3}
    - {name: ticket-3d, severity: ticket, long_window: 3d, short_window: 6h, burn_rate: 1}
    - {name: page-18x, severity: page, long_window: 1h, short_window: 5m, burn_rate: 18}
cohorts:
  standard:
    availability: {objective: 99.9}
    latency: {objective: 99.0, threshold_ms: 250}
  relaxed:
    period_days: 7
    availability: {objective: 99.5}
  bronze:
    availability: {objective: 98.5}
tenants:
  - id: acme
    cohort: standard
    slos:
      - {name: api-availability, service: api, sli: availability}
      - {name: api-latency, service: api, sli: latency}
  - id: globex
    cohort: relaxed
    slos:
      - {name: api-availability, service: api, sli: availability}
  - id: hooli
    cohort: standard
    policy:
      rules:
        - {name: page-1h, min_events: 100}  # its hour holds 72 requests: never pages on 1h
    slos:
      - {name: api-availability, service: api, sli: availability}
  - id: initech
    cohort: bronze
    policy:
      rules:
        - {name: page-1h, min_denominator: 150}  # its 5 minutes hold 100 requests
    slos:
      - {name: api-availability, service: api, sli: availability}
  - id: umbrella
    cohort: standard
    slos:
      - {name: api-availability, service: api, sli: availability}
"""

REQUEST_SCHEMA = arrow_schema("raw_requests", timezone=None)


@dataclass(frozen=True)
class Req:
    tenant: str
    ts: dt.datetime
    status: int
    latency_ms: float


def _at(day: int, hour: int, minute: int = 0) -> int:
    """The index of the 5-minute bucket that starts at day/hour/minute."""
    return (day * 24 * 60 + hour * 60 + minute) // 5


def bucket_traffic(tenant: str, k: int) -> list[tuple[int, float]]:
    """(status, latency_ms) of each request of `tenant` in bucket k."""
    if tenant == "acme":
        rows = [(200, 80.0)] * 10 + [(404, 250.0)] * 2  # 250 ms is not slow: "> threshold"
        if _at(1, 10) <= k < _at(1, 10, 40):  # outage: half the requests fail
            rows = [(503, 30.0)] * 6 + rows[6:]
        if _at(0, 14) <= k < _at(0, 15, 30):  # latency regression: a quarter are slow
            rows = [(200, 400.0)] * 3 + rows[3:]
        if k % 37 == 5:  # a stray error now and then
            rows = [(500, 80.0), *rows[1:]]
        return rows
    if tenant == "globex":  # slow burn: 2% errors for a day (4x a 99.5% SLO)
        if _at(1, 20) <= k < _at(1, 22):
            return []  # no traffic: no data, never "zero errors"
        burning = _at(0, 6) <= k < _at(1, 6)
        return [(502, 60.0)] * (1 if burning else 0) + [(200, 60.0)] * (49 if burning else 50)
    if tenant == "hooli":  # a half-hour burst of errors in little traffic
        bad = 3 if _at(0, 12) <= k < _at(0, 12, 30) else 0
        return [(500, 40.0)] * bad + [(200, 40.0)] * (6 - bad)
    if tenant == "initech":
        bad = 0
        if _at(1, 3, 5) <= k < _at(1, 4):
            bad = 40
        elif k == _at(1, 4):
            bad = 27  # 27/100 at 98.5%: burn exactly 18 (18.000000000000004 in doubles)
        return [(500, 90.0)] * bad + [(200, 90.0)] * (100 - bad)
    if tenant == "umbrella":  # never an error: no 5xx series at all
        return [(200, 40.0)] * 3
    raise AssertionError(tenant)


def generate() -> list[Req]:
    requests = []
    for tenant in TENANTS:
        for k in range(STEPS):
            rows = bucket_traffic(tenant, k)
            for i, (status, latency) in enumerate(rows):
                # The first request of a bucket is exactly on its boundary.
                offset = dt.timedelta(microseconds=i * 300_000_000 // len(rows))
                requests.append(Req(tenant, START + k * BUCKET + offset, status, latency))
    return requests


def write_dataset(root: Path, requests: list[Req]) -> tuple[Path, Path]:
    data = root / "data"
    by_folder: dict[tuple[str, dt.date], list[dict[str, Any]]] = defaultdict(list)
    for number, req in enumerate(requests):
        by_folder[(req.tenant, req.ts.date())].append(
            {
                "request_id": f"r{number:07d}",
                "ts": req.ts,
                "tenant_id": req.tenant,
                "service": SERVICE,
                "operation": "GET /items",
                "status_code": req.status,
                "latency_ms": req.latency_ms,
                "replica": "r1",
            }
        )
    for (tenant, day), rows in sorted(by_folder.items()):
        folder = data / "requests" / f"tenant={tenant}" / f"date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=REQUEST_SCHEMA), folder / "part-0.parquet")
    manifest = root / "slos.yaml"
    manifest.write_text(MANIFEST)
    return data, manifest


# --- the exporter's counters ----------------------------------------------------------


def counter_series(requests: list[Req]) -> dict[str, list[int]]:
    """Each exported series, by its text, with its value at every 5-minute boundary
    0..STEPS: the number of requests with ts < boundary. Every series a tenant ever
    has exists from time 0 at value 0, as a client library initialises them."""
    increments: dict[str, list[int]] = defaultdict(lambda: [0] * (STEPS + 1))
    for req in requests:
        k = (req.ts - START) // BUCKET  # counted from the next boundary on
        base = f'tenant_id="{req.tenant}", service="{SERVICE}"'
        increments[f'{REQUESTS_METRIC}{{{base}, code="{req.status}"}}'][k + 1] += 1
        increments[f"{DURATION_METRIC}_count{{{base}}}"][k + 1] += 1
        for le in LE_BUCKETS:
            if le == "+Inf" or req.latency_ms / 1000 <= float(le):
                increments[f'{DURATION_METRIC}_bucket{{{base}, le="{le}"}}'][k + 1] += 1
    series = {}
    for name, deltas in sorted(increments.items()):
        running, values = 0, []
        for delta in deltas:
            running += delta
            values.append(running)
        series[name] = values
    return series


def expanding(values: list[int]) -> str:
    """promtool's expanding notation: runs of equal steps as `a+bxn` (n+1 values)."""
    parts, i = [], 0
    while i < len(values):
        j = i
        if i + 1 < len(values):
            step = values[i + 1] - values[i]
            j = i + 1
            while j + 1 < len(values) and values[j + 1] - values[j] == step:
                j += 1
            parts.append(f"{values[i]}+{step}x{j - i}")
        else:
            parts.append(str(values[i]))
        i = j + 1
    return " ".join(parts)


def _duration(moment: dt.datetime) -> str:
    return f"{int((moment - START).total_seconds()) // 60}m"


def _series_text(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def promtool_test_file(
    manifest: Manifest,
    rule_files: list[Path],
    series: dict[str, list[int]],
    evaluations: list[dict[str, Any]],
    burn_rows: list[dict[str, Any]],
    episodes: list[dict[str, Any]],
) -> dict[str, Any]:
    slos = {(slo.tenant_id, slo.slo_name): slo for slo in manifest.resolved_slos()}
    rules = {(r.tenant_id, r.slo_name, r.rule_name): r for r in manifest.resolved_rules()}
    firing: dict[dt.datetime, list[dict[str, Any]]] = defaultdict(list)
    for row in evaluations:
        if row["fires"]:
            key = (row["tenant_id"], row["slo_name"])
            slo, rule = slos[key], rules[(*key, row["rule_name"])]
            firing[row["eval_ts"]].append(
                {
                    "exp_labels": alert_labels(slo, rule),
                    "exp_annotations": alert_annotations(slo, rule),
                }
            )
    steps = sorted({row["eval_ts"] for row in evaluations})
    assert len(steps) == STEPS and steps[0] == START
    alert_tests = [
        {"eval_time": _duration(step), "alertname": ALERT_NAME, "exp_alerts": firing[step]}
        for step in steps
    ]
    # Error ratios of every window at each episode's start and resolution.
    counts = {(r["tenant_id"], r["slo_name"], r["eval_ts"], r["window"]): r for r in burn_rows}
    moments = sorted(
        {
            (e["tenant_id"], e["slo_name"], moment)
            for e in episodes
            for moment in (e["started_at"], e["resolved_at"])
            if moment is not None
        }
    )
    expr_tests = []
    for tenant, slo_name, moment in moments:
        slo = slos[(tenant, slo_name)]
        labels = {
            key: value
            for key, value in alert_labels(slo, rules[(tenant, slo_name, "page-1h")]).items()
            if key.startswith("sloth_") or key in ("tenant_id", "cohort")
        }
        for window in WINDOWS:
            row = counts[(tenant, slo_name, moment, window)]
            if row["total"] == 0:
                continue
            name = f"slo:sli_error:ratio_rate{window}"
            expr_tests.append(
                {
                    "expr": f'{name}{{sloth_id="{labels["sloth_id"]}"}}',
                    "eval_time": _duration(moment),
                    "exp_samples": [
                        {
                            "labels": _series_text(name, {**labels, "sloth_window": window}),
                            "value": row["bad"] / row["total"],
                        }
                    ],
                }
            )
    return {
        "rule_files": [str(path) for path in rule_files],
        "evaluation_interval": "5m",
        "tests": [
            {
                "interval": "5m",
                "input_series": [
                    {"series": name, "values": expanding(values)} for name, values in series.items()
                ],
                "alert_rule_test": alert_tests,
                "promql_expr_test": expr_tests,
            }
        ],
    }


def _rows(warehouse: Path, table: str) -> list[dict[str, Any]]:
    from pipelines.warehouse.lake import read_table

    return read_table(warehouse, table).to_dicts()


def test_prometheus_rules_fire_exactly_when_the_batch_does(tmp_path: Path) -> None:
    from pipelines.runner import run_pipeline

    binary = promtool()
    requests = generate()
    data, manifest_path = write_dataset(tmp_path, requests)
    warehouse = tmp_path / "warehouse"
    run_pipeline(data, manifest_path, warehouse, say=lambda _: None)
    evaluations = _rows(warehouse, "fct_alert_evaluations")
    episodes = _rows(warehouse, "fct_alert_episodes")
    burn_rows = _rows(warehouse, "fct_burn_rates")

    # The dataset exercises what it should.
    fired = {(r["tenant_id"], r["slo_name"], r["severity"]) for r in evaluations if r["fires"]}
    assert ("acme", "api-availability", "page") in fired
    assert ("acme", "api-latency", "page") in fired
    assert ("globex", "api-availability", "ticket") in fired
    assert any(r["suppressed"] for r in evaluations)  # Alertmanager's inhibition, not ours
    assert not any(e["tenant_id"] == "umbrella" for e in episodes)
    assert any(e["resolved_at"] is not None for e in episodes)

    def evaluation(tenant: str, rule: str, moment: dt.datetime) -> dict[str, Any]:
        (row,) = [
            r
            for r in evaluations
            if r["tenant_id"] == tenant and r["rule_name"] == rule and r["eval_ts"] == moment
        ]
        return row

    # hooli's hour never holds min_events: page-1h stays quiet while page-6h pages.
    assert ("hooli", "page-6h") in {(e["tenant_id"], e["rule_name"]) for e in episodes}
    quiet = evaluation("hooli", "page-1h", START + dt.timedelta(hours=12, minutes=30))
    assert quiet["long_bad"] / quiet["long_total"] / 0.001 > 14.4 and not quiet["fires"]
    # globex's page-6h spends 5% of a 7-day budget in 6h: a 1.4x threshold.
    assert evaluation("globex", "page-6h", START)["burn_threshold"] == 1.4
    edge_time = START + dt.timedelta(days=1, hours=4, minutes=5)
    edge = evaluation("initech", "page-18x", edge_time)
    assert (edge["short_bad"], edge["short_total"]) == (27, 100)
    assert edge["fires"] is True  # 0.27 / 0.015 = 18.000000000000004 > 18 in doubles
    assert not (0.27 > 18 * ((100 - 98.5) / 100))  # Sloth's form would not have fired
    # initech's page-1h burns over max(total, 150): 27/150 is 12x, below 14.4.
    damped = evaluation("initech", "page-1h", edge_time)
    assert 27 / 100 / 0.015 > 14.4 and not damped["fires"]

    manifest = load_manifest(manifest_path)
    rule_files = write_rules(manifest, tmp_path / "rules")
    test_file = tmp_path / "parity.test.yml"
    document = promtool_test_file(
        manifest, rule_files, counter_series(requests), evaluations, burn_rows, episodes
    )
    test_file.write_text(yaml.safe_dump(document, sort_keys=False, width=1000))
    checks = document["tests"][0]
    assert sum(len(test["exp_alerts"]) for test in checks["alert_rule_test"]) == sum(
        1 for row in evaluations if row["fires"]
    )
    assert len(checks["promql_expr_test"]) > 20

    result = subprocess.run(
        [binary, "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode == 0, output[-20_000:]
    assert "SUCCESS" in output


def test_the_counter_windows_are_the_batch_windows() -> None:
    """The exporter's counters, read the way `increase()` reads them, give the batch's
    window counts: value at t minus value at t - w is the requests in [t - w, t)."""
    requests = [
        Req("acme", START + dt.timedelta(minutes=m, seconds=s), 200, 1.0)
        for m, s in [(0, 0), (4, 59), (5, 0), (9, 0), (10, 0), (60, 0)]
    ]
    values = counter_series(requests)[
        f'{REQUESTS_METRIC}{{tenant_id="acme", service="api", code="200"}}'
    ]
    assert values[:3] == [0, 2, 4]  # 00:00 and 04:59 before 05:00; 05:00 and 09:00 before 10:00
    assert values[13] - values[1] == 4  # [00:05, 01:05): 05:00, 09:00, 10:00 and 01:00
    assert WINDOW_MINUTES["1h"] // 5 == 12
    assert expanding([0, 2, 4, 4, 4, 5]) == "0+2x2 4+0x1 5"
