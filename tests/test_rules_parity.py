"""The Prometheus rules fire exactly when the batch pipeline does (promtool test rules).

A two-day dataset of 100 tenants (one service) is run through the batch pipeline.
The same requests are then turned into the counters and histograms a service
would export, sampled at every 5-minute boundary (the value at `t` counts the
requests with `ts < t`, so `increase(x[w])` at `t` is the batch's window
`[t - w, t)`), and fed to `promtool test rules` with the rules `burnwatch rules`
generates: one group per cohort and SLO, `sum by (tenant_id)`, objectives and
thresholds joined from per-tenant series. At every one of the 576 evaluation
steps the set of firing alerts, with their labels and templated annotations,
must be the set of (tenant, SLO, rule) rows where `fct_alert_evaluations.fires`
is true; every tenant's joined budget and thresholds must be its own; and at
each episode's start and resolution every window's error ratio must equal the
batch's `bad / total`.

Five tenants are written by hand: an outage and a latency regression (pages), a
slow burn (tickets), a little-traffic tenant with `min_events`, one with
`min_denominator`, a `budget_consumed_percent` rule over a 7-day period, a tenant
without any 5xx series, a gap in traffic (no data), and a burn rate that lands
on a threshold, 27 bad of 100 at 98.5% for an 18x rule, where only the batch's
own floating-point computation gives the batch's answer. 95 more tenants, spread
over the cohorts, each have an incident of their own size and length, and some
override their objective, a burn rate or a rule's guard, so the joins carry
values that differ between the tenants of one group. Suppressed tickets still
fire here, as they do in `fires`: suppressing them is Alertmanager's inhibition.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.interop.prometheus_rules import (
    ALERT_NAME,
    DURATION_METRIC,
    REQUESTS_METRIC,
    WINDOWS,
    write_rules,
)
from schemas.manifest import (
    WINDOW_MINUTES,
    Cooldowns,
    Manifest,
    ResolvedRule,
    ResolvedSlo,
    load_manifest,
)
from schemas.tables import arrow_schema
from tests.cli_helpers import promtool

pytestmark = pytest.mark.slow

START = dt.datetime(2024, 3, 1)
DAYS = 2
BUCKET = dt.timedelta(minutes=5)
STEPS = DAYS * 24 * 12
SERVICE = "api"
HAND_WRITTEN = ("acme", "globex", "hooli", "initech", "umbrella")
FILLERS = tuple(f"t{i:03d}" for i in range(95))
TENANTS = HAND_WRITTEN + FILLERS
FILLER_COHORTS = ("standard", "relaxed", "bronze")
LE_BUCKETS = ["0.1", "0.25", "0.5", "+Inf"]

MANIFEST = """\
version: 1
period_days: 30
policy:
  # The rules have no warm-up in Prometheus (docs/prometheus.md): off here too, so that
  # both fire from the first step of data and after globex's quiet hours.
  rules:
    - {name: page-1h, severity: page, long_window: 1h, short_window: 5m, burn_rate: 14.4,
       warm_up: false}
    # 5% of the budget in 6h: 6x over 30 days, 1.4x over globex's 7.
    - {name: page-6h, severity: page, long_window: 6h, short_window: 30m,
       budget_consumed_percent: 5, warm_up: false}
    - {name: ticket-1d, severity: ticket, long_window: 1d, short_window: 2h, burn_rate: 3,
       warm_up: false}
    - {name: ticket-3d, severity: ticket, long_window: 3d, short_window: 6h, burn_rate: 1,
       warm_up: false}
    - {name: page-18x, severity: page, long_window: 1h, short_window: 5m, burn_rate: 18,
       warm_up: false}
  # keep_firing_for: 20m and 55m (one step less: Prometheus counts from the first quiet step).
  cooldown_minutes: {page: 25, ticket: 60}
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


def filler_cohort(i: int) -> str:
    return FILLER_COHORTS[i % len(FILLER_COHORTS)]


def filler_has_latency(i: int) -> bool:
    return filler_cohort(i) == "standard" and i % 2 == 0


def manifest_text(tenants: tuple[str, ...]) -> str:
    """The hand-written tenants, then the fillers among `tenants`: every 10th has its own
    objective, every 7th its own page-1h burn rate, every 13th `min_events` on ticket-1d."""
    lines = [MANIFEST]
    for i, tenant in enumerate(FILLERS):
        if tenant not in tenants:
            continue
        lines.append(f"  - id: {tenant}\n    cohort: {filler_cohort(i)}\n")
        overrides = []
        if i % 7 == 3:
            overrides.append("{name: page-1h, burn_rate: 10}")
        if i % 13 == 5:
            overrides.append("{name: ticket-1d, min_events: 400}")
        if overrides:
            lines.append("    policy:\n      rules:\n")
            lines += [f"        - {rule}\n" for rule in overrides]
        objective = ", objective: 99.0" if i % 10 == 4 else ""
        lines.append("    slos:\n")
        lines.append(
            f"      - {{name: api-availability, service: api, sli: availability{objective}}}\n"
        )
        if filler_has_latency(i):
            lines.append("      - {name: api-latency, service: api, sli: latency}\n")
    return "".join(lines)


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


def bucket_traffic(tenant: str, k: int, steps: int = STEPS) -> list[tuple[int, float]]:
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
    return filler_traffic(FILLERS.index(tenant), k, steps)


def filler_traffic(i: int, k: int, steps: int = STEPS) -> list[tuple[int, float]]:
    """4 to 7 requests a bucket; an error incident and a slow spell of the tenant's own
    start, length and size; every 11th tenant goes quiet for two hours in the evening."""
    size = 4 + i % 4
    if i % 11 == 0 and _at(0, 20) <= k < _at(0, 22):
        return []
    start, length = (i * 53) % (steps - 60), 3 + (i * 7) % 40
    bad = 1 + i % size if start <= k < start + length else 0
    slow_start = (i * 97 + 200) % (steps - 60)
    slow = 1 + i % 3 if slow_start <= k < slow_start + length else 0
    return [(500 + i % 4, 50.0)] * bad + [(200, 400.0)] * slow + [(200, 50.0)] * (size - bad - slow)


def generate(tenants: tuple[str, ...], steps: int = STEPS) -> list[Req]:
    requests = []
    for tenant in tenants:
        for k in range(steps):
            rows = bucket_traffic(tenant, k, steps)
            for i, (status, latency) in enumerate(rows):
                # The first request of a bucket is exactly on its boundary.
                offset = dt.timedelta(microseconds=i * 300_000_000 // len(rows))
                requests.append(Req(tenant, START + k * BUCKET + offset, status, latency))
    return requests


def write_dataset(root: Path, requests: list[Req], tenants: tuple[str, ...]) -> tuple[Path, Path]:
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
    manifest.write_text(manifest_text(tenants))
    return data, manifest


# --- the exporter's counters ----------------------------------------------------------


def counter_series(requests: list[Req], steps: int = STEPS) -> dict[str, list[int]]:
    """Each exported series, by its text, with its value at every 5-minute boundary
    0..STEPS: the number of requests with ts < boundary. Every series a tenant ever
    has exists from time 0 at value 0, as a client library initialises them."""
    increments: dict[str, list[int]] = defaultdict(lambda: [0] * (steps + 1))
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


# --- the oracle: the policy evaluated by brute force over the requests -----------------


def is_bad(slo: ResolvedSlo, req: Req) -> bool:
    if slo.sli == "availability":
        return req.status >= 500
    assert slo.threshold_ms is not None
    return req.latency_ms > slo.threshold_ms


WindowCounts = Callable[[str, str, dt.datetime, str], tuple[int, int]]


def oracle(
    manifest: Manifest, requests: list[Req], steps: int = STEPS
) -> tuple[list[dict[str, Any]], WindowCounts, list[dict[str, Any]]]:
    """(evaluations, (bad, total) of a window, episodes) in the batch's terms, from the
    requests alone: at step t a window w counts the requests in [t - w, t); a rule fires
    when both windows hold requests and burn strictly faster than the threshold
    (bad / max(total, min_denominator) / ((100 - objective) / 100) > burn) and the long
    window holds min_events; an episode runs from its first firing step to the first
    step that does not fire."""
    buckets: dict[tuple[str, str], list[list[int]]] = {}
    slos = manifest.resolved_slos()
    by_tenant: dict[str, list[ResolvedSlo]] = defaultdict(list)
    for slo in slos:
        buckets[(slo.tenant_id, slo.slo_name)] = [[0] * steps, [0] * steps]
        by_tenant[slo.tenant_id].append(slo)
    for req in requests:
        k = (req.ts - START) // BUCKET
        for slo in by_tenant[req.tenant]:
            total, bad = buckets[(slo.tenant_id, slo.slo_name)]
            total[k] += 1
            bad[k] += is_bad(slo, req)

    # Prefix sums: a window [k - n, k) is prefix[k] - prefix[k - n].
    prefix = {}
    for key, series in buckets.items():
        sums_of = []
        for values in series:
            running, out = 0, [0]
            for value in values:
                running += value
                out.append(running)
            sums_of.append(out)
        prefix[key] = sums_of

    def window_counts(tenant: str, slo_name: str, k: int, label: str) -> tuple[int, int]:
        total, bad = prefix[(tenant, slo_name)]
        first = max(0, k - WINDOW_MINUTES[label] // 5)
        return bad[k] - bad[first], total[k] - total[first]

    objectives = {(slo.tenant_id, slo.slo_name): slo.objective for slo in slos}
    evaluations, episodes = [], []
    for rule in manifest.resolved_rules():
        key = (rule.tenant_id, rule.slo_name)
        objective = objectives[key]
        assert objective is not None
        budget = (100 - objective) / 100
        started: dt.datetime | None = None
        for k in range(steps):
            moment = START + k * BUCKET
            long_bad, long_total = window_counts(*key, k, rule.long_window)
            short_bad, short_total = window_counts(*key, k, rule.short_window)
            floor = rule.min_denominator or 0
            fires = (
                long_total > 0
                and short_total > 0
                and long_bad / max(long_total, floor) / budget > rule.burn_threshold
                and short_bad / max(short_total, floor) / budget > rule.burn_threshold
                and long_total >= rule.min_events
            )
            evaluations.append(
                {
                    "tenant_id": rule.tenant_id,
                    "slo_name": rule.slo_name,
                    "rule_name": rule.rule_name,
                    "severity": rule.severity,
                    "eval_ts": moment,
                    "fires": fires,
                    "long_bad": long_bad,
                    "long_total": long_total,
                }
            )
            if fires and started is None:
                started = moment
            elif not fires and started is not None:
                episodes.append({**evaluations[-1], "started_at": started, "resolved_at": moment})
                started = None
        if started is not None:
            episodes.append({**evaluations[-1], "started_at": started, "resolved_at": None})

    def counts_at(tenant: str, slo_name: str, moment: dt.datetime, label: str) -> tuple[int, int]:
        return window_counts(tenant, slo_name, (moment - START) // BUCKET, label)

    return evaluations, counts_at, episodes


# --- promtool -----------------------------------------------------------------------------


def go_float(value: float) -> str:
    """A float as Go's templates print it (`%v`, shortest): 6 for 6.0, 14.4 for 14.4."""
    return str(int(value)) if value == int(value) else repr(value)


def template_labels(slo: ResolvedSlo) -> dict[str, str]:
    """The labels every series of a tenant SLO carries (no template name is ambiguous
    in this manifest, so it is `<cohort>/<slo>`)."""
    return {
        "burnwatch_template": f"{slo.cohort}/{slo.slo_name}",
        "cohort": slo.cohort,
        "sloth_id": f"{slo.tenant_id}-{slo.slo_name}",
        "sloth_service": slo.service,
        "sloth_slo": slo.slo_name,
        "tenant_id": slo.tenant_id,
    }


def rule_labels(rule: ResolvedRule) -> dict[str, str]:
    """The static labels of a policy rule, on its alert and its threshold series."""
    labels = {
        "burnwatch_rule": rule.rule_name,
        "long_window": rule.long_window,
        "severity": rule.severity,
        "short_window": rule.short_window,
    }
    if rule.min_events:
        labels["min_events"] = str(rule.min_events)
    if rule.min_denominator:
        labels["min_denominator"] = str(rule.min_denominator)
    if rule.severity == "ticket" and rule.suppress_tickets_while_paging:
        labels["burnwatch_suppress_while_paging"] = "true"
    return labels


def expected_alert(slo: ResolvedSlo, rule: ResolvedRule, row: dict[str, Any]) -> dict[str, Any]:
    """The alert promtool must see for a firing row of fct_alert_evaluations: its labels,
    and its annotations with the long window's burn (the batch's counts) and threshold."""
    assert slo.objective is not None
    budget = (100 - slo.objective) / 100
    denominator = max(row["long_total"], rule.min_denominator or 0)
    burn = row["long_bad"] / denominator / budget
    windows = f"over {rule.long_window} and {rule.short_window}"
    return {
        "exp_labels": {**template_labels(slo), **rule_labels(rule)},
        "exp_annotations": {
            "summary": (
                f"{slo.tenant_id} {slo.slo_name}: error budget burning {burn:.2f}x over "
                f"{rule.long_window}, faster than {go_float(rule.burn_threshold)}x {windows}"
            ),
            "description": (
                f"{slo.sli} SLO {slo.slo_name} of tenant {slo.tenant_id} ({slo.service}, "
                f"cohort {slo.cohort}), {slo.period_days}-day period: policy rule "
                f"{rule.rule_name} fires while both {rule.long_window} and "
                f"{rule.short_window} burn the error budget faster than the tenant's threshold."
            ),
        },
    }


def parameter_tests(manifest: Manifest) -> list[dict[str, Any]]:
    """Every tenant SLO's joined error budget and burn thresholds are its own."""
    slos = {(slo.tenant_id, slo.slo_name): slo for slo in manifest.resolved_slos()}
    budgets = []
    for slo in slos.values():
        assert slo.objective is not None
        labels = template_labels(slo)
        budgets.append(
            {
                "labels": _series_text("slo:error_budget:ratio", labels),
                "value": (100 - slo.objective) / 100,
            }
        )
    thresholds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rule in manifest.resolved_rules():
        labels = {**template_labels(slos[(rule.tenant_id, rule.slo_name)]), **rule_labels(rule)}
        thresholds[rule.rule_name].append(
            {
                "labels": _series_text("burnwatch:slo_burn_threshold:ratio", labels),
                "value": rule.burn_threshold,
            }
        )
    tests = [{"expr": "slo:error_budget:ratio", "eval_time": "5m", "exp_samples": budgets}]
    tests += [
        {
            "expr": f'burnwatch:slo_burn_threshold:ratio{{burnwatch_rule="{name}"}}',
            "eval_time": "5m",
            "exp_samples": samples,
        }
        for name, samples in sorted(thresholds.items())
    ]
    return tests


def kept_firing(
    evaluations: list[dict[str, Any]], cooldowns: Cooldowns
) -> dict[dt.datetime, list[dict[str, Any]]]:
    """Per step, the evaluation row whose alert Prometheus shows for each rule of each
    tenant SLO: the step's own row while the rule fires, then its last firing row for as
    long as keep_firing_for holds it. Walked step by step with Prometheus' own clock: the
    keep starts at the first quiet step and lasts cooldown - 5m (`_alert_timing`), so the
    alert is shown at a quiet step t while t - (last firing step) < cooldown."""
    series: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in evaluations:
        series[(row["tenant_id"], row["slo_name"], row["rule_name"])].append(row)
    shown: dict[dt.datetime, list[dict[str, Any]]] = defaultdict(list)
    for rows in series.values():
        keep = dt.timedelta(minutes=max(cooldowns.for_severity(rows[0]["severity"]) - 5, 0))
        last: dict[str, Any] | None = None
        quiet_since: dt.datetime | None = None
        for row in sorted(rows, key=lambda r: r["eval_ts"]):
            if row["fires"]:
                last, quiet_since = row, None
            elif last is not None:
                quiet_since = quiet_since or row["eval_ts"]
                if row["eval_ts"] - quiet_since >= keep:
                    last = None
            if last is not None:
                shown[row["eval_ts"]].append(last)
    return shown


def promtool_test_file(
    manifest: Manifest,
    rule_files: list[Path],
    series: dict[str, list[int]],
    evaluations: list[dict[str, Any]],
    window_counts: WindowCounts,
    episodes: list[dict[str, Any]],
) -> dict[str, Any]:
    slos = {(slo.tenant_id, slo.slo_name): slo for slo in manifest.resolved_slos()}
    rules = {(r.tenant_id, r.slo_name, r.rule_name): r for r in manifest.resolved_rules()}
    firing: dict[dt.datetime, list[dict[str, Any]]] = defaultdict(list)
    for step, rows in kept_firing(evaluations, manifest.policy.cooldown_minutes).items():
        for row in rows:
            key = (row["tenant_id"], row["slo_name"])
            # A kept alert keeps the labels and annotations of its last firing step.
            firing[step].append(expected_alert(slos[key], rules[(*key, row["rule_name"])], row))
    steps = sorted({row["eval_ts"] for row in evaluations})
    assert steps[0] == START
    alert_tests = [
        {"eval_time": _duration(step), "alertname": ALERT_NAME, "exp_alerts": firing[step]}
        for step in steps
    ]
    # Error ratios of every window at each episode's start and resolution.
    moments = sorted(
        {
            (e["tenant_id"], e["slo_name"], moment)
            for e in episodes
            for moment in (e["started_at"], e["resolved_at"])
            if moment is not None
        }
    )
    expr_tests = parameter_tests(manifest)
    for tenant, slo_name, moment in moments:
        if tenant not in HAND_WRITTEN and tenant not in FILLERS[::10]:
            continue  # every tenant's alerts are checked; the ratios of a sample suffice
        labels = template_labels(slos[(tenant, slo_name)])
        for window in WINDOWS:
            bad, total = window_counts(tenant, slo_name, moment, window)
            if total == 0:
                continue
            name = f"slo:sli_error:ratio_rate{window}"
            expr_tests.append(
                {
                    "expr": f'{name}{{sloth_id="{labels["sloth_id"]}"}}',
                    "eval_time": _duration(moment),
                    "exp_samples": [
                        {
                            "labels": _series_text(name, {**labels, "sloth_window": window}),
                            "value": bad / total,
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


def run_promtool(
    tmp_path: Path,
    manifest_path: Path,
    requests: list[Req],
    evaluations: list[dict[str, Any]],
    window_counts: WindowCounts,
    episodes: list[dict[str, Any]],
    steps: int = STEPS,
) -> None:
    """Write the rules and the promtool test file, and assert that promtool passes it."""
    binary = promtool()
    manifest = load_manifest(manifest_path)
    rule_files = write_rules(manifest, tmp_path / "rules")
    test_file = tmp_path / "parity.test.yml"
    document = promtool_test_file(
        manifest, rule_files, counter_series(requests, steps), evaluations, window_counts, episodes
    )
    # JSON is YAML, and much faster to write than yaml.safe_dump for 100 tenants.
    test_file.write_text(json.dumps(document, default=str))
    checks = document["tests"][0]
    shown = sum(len(test["exp_alerts"]) for test in checks["alert_rule_test"])
    # keep_firing_for shows alerts past their rules' firing steps.
    assert shown > sum(1 for row in evaluations if row["fires"])
    assert len(checks["promql_expr_test"]) > 20
    result = subprocess.run(
        [binary, "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20_000:]
    assert "SUCCESS" in output


def _firing(rows: list[dict[str, Any]]) -> set[tuple[str, str, str, dt.datetime]]:
    return {
        (r["tenant_id"], r["slo_name"], r["rule_name"], r["eval_ts"]) for r in rows if r["fires"]
    }


def test_prometheus_rules_fire_exactly_when_the_batch_does(tmp_path: Path) -> None:
    """The hand-written tenants through the batch pipeline: promtool fires where
    `fct_alert_evaluations.fires` is true, and so does the oracle."""
    from pipelines.runner import run_pipeline

    requests = generate(HAND_WRITTEN)
    data, manifest_path = write_dataset(tmp_path, requests, HAND_WRITTEN)
    warehouse = tmp_path / "warehouse"
    run_pipeline(data, manifest_path, warehouse, say=lambda _: None)
    evaluations = _rows(warehouse, "fct_alert_evaluations")
    episodes = _rows(warehouse, "fct_alert_episodes")
    burns = {
        (r["tenant_id"], r["slo_name"], r["eval_ts"], r["window"]): (r["bad"], r["total"])
        for r in _rows(warehouse, "fct_burn_rates")
    }

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

    # The oracle of the 100-tenant test agrees with the batch, step for step.
    manifest = load_manifest(manifest_path)
    expected, _, _ = oracle(manifest, requests)
    assert _firing(expected) == _firing(evaluations)

    # The grouped alerts are open exactly where Prometheus shows an alert of the tenant
    # SLO, kept firing included: keep_firing_for is the cooldown of fct_alerts.
    alerts = _rows(warehouse, "fct_alerts")
    shown = kept_firing(evaluations, manifest.policy.cooldown_minutes)
    steps = sorted({row["eval_ts"] for row in evaluations})
    for tenant, slo_name in {(r["tenant_id"], r["slo_name"]) for r in evaluations}:
        mine = [a for a in alerts if (a["tenant_id"], a["slo_name"]) == (tenant, slo_name)]
        for step in steps:
            open_alert = any(
                a["started_at"] <= step and (a["resolved_at"] is None or step < a["resolved_at"])
                for a in mine
            )
            rows = [
                r
                for r in shown.get(step, [])
                if (r["tenant_id"], r["slo_name"]) == (tenant, slo_name)
            ]
            assert open_alert == bool(rows), (tenant, slo_name, step, rows)
    assert any(
        a["resolved_at"] is not None
        and a["last_fired_at"] < a["resolved_at"] - dt.timedelta(minutes=5)
        for a in alerts
    )

    run_promtool(
        tmp_path,
        manifest_path,
        requests,
        evaluations,
        lambda tenant, slo, moment, window: burns[(tenant, slo, moment, window)],
        episodes,
    )


def test_prometheus_rules_fire_exactly_when_the_oracle_does_for_100_tenants(
    tmp_path: Path,
) -> None:
    """100 tenants in 4 groups over one day: promtool fires exactly where the oracle does
    (which the test above ties to the batch), with every tenant's own objective and
    thresholds. One day keeps promtool's work (steps times samples per range) small."""
    steps = 24 * 12
    requests = generate(TENANTS, steps)
    manifest_path = tmp_path / "slos.yaml"
    manifest_path.write_text(manifest_text(TENANTS))
    manifest = load_manifest(manifest_path)
    assert len({slo.tenant_id for slo in manifest.resolved_slos()}) == 100
    evaluations, window_counts, episodes = oracle(manifest, requests, steps)

    # The fillers page, ticket, resolve, and differ where their overrides say.
    fired = {(r["tenant_id"], r["rule_name"]) for r in evaluations if r["fires"]}
    assert sum(1 for tenant in FILLERS if (tenant, "page-1h") in fired) > 20
    assert sum(1 for tenant in FILLERS if (tenant, "ticket-3d") in fired) > 20
    assert any(e["resolved_at"] is not None and e["tenant_id"] in FILLERS for e in episodes)
    # A burn between a tenant's own page-1h threshold (10) and the cohort's (14.4).
    rules = {(r.tenant_id, r.slo_name, r.rule_name): r for r in manifest.resolved_rules()}
    assert any(
        rules[(r["tenant_id"], r["slo_name"], r["rule_name"])].burn_threshold == 10
        and r["fires"]
        and r["long_bad"] / r["long_total"] / 0.001 < 14.4
        for r in evaluations
        if r["rule_name"] == "page-1h" and r["tenant_id"] in FILLERS
    )

    run_promtool(tmp_path, manifest_path, requests, evaluations, window_counts, episodes, steps)


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
