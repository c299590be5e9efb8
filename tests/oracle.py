"""A brute-force, pure-Python oracle for Burnwatch's semantics (DESIGN.md).

No SQL, no DuckDB, no polars: plain dicts, lists and datetimes, written to be
read and checked by eye rather than to be fast. The tests compare the
pipeline's tables with these functions row for row.

Conventions:
- every timestamp is a naive `datetime` in UTC, like the pipeline's columns;
- a 5-minute bucket is named by its index `k`: it covers
  `[EPOCH + 5m*k, EPOCH + 5m*(k+1))`, and the evaluation step `t = EPOCH + 5m*k`
  sees, for a window of `n` buckets, exactly the buckets `k-n .. k-1`;
- the functions return lists of dicts whose keys are the output table's
  columns (schemas/tables.py), sorted by the table's key.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from schemas.manifest import BUCKET_MINUTES, WINDOW_MINUTES, PolicyRule, ResolvedSlo

EPOCH = datetime(1970, 1, 1)
BUCKET = timedelta(minutes=BUCKET_MINUTES)
BUCKET_MICROS = BUCKET_MINUTES * 60 * 1_000_000
STEPS_PER_DAY = 24 * 60 // BUCKET_MINUTES
WINDOWS: list[str] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]

Row = dict[str, Any]


@dataclass(frozen=True)
class Request:
    """One logged request, as one replica wrote it."""

    request_id: str
    ts: datetime
    tenant_id: str
    service: str
    operation: str | None
    status_code: int
    latency_ms: float
    replica: str


# --- reading and deduplicating ---------------------------------------------------------


def _naive_utc(ts: datetime) -> datetime:
    if ts.tzinfo is not None:
        return ts.astimezone(UTC).replace(tzinfo=None)
    return ts


def load_requests(data_dir: Path) -> list[Request]:
    """Every row of every `requests/tenant=*/date=*/*.parquet` file, duplicates included,
    except rows dated on no computed day.

    The computed days are the first through the last `date=` folder of any tenant.
    A row dated outside them is quarantined (`outside_computed_range`,
    docs/contracts.md) and is no copy of anything, so it is left out before dedup.
    """
    paths = sorted((Path(data_dir) / "requests").glob("tenant=*/date=*/*.parquet"))
    folder_days = [date.fromisoformat(p.parent.name.removeprefix("date=")) for p in paths]
    rows: list[Request] = []
    for path in paths:
        folder_tenant = path.parent.parent.name.removeprefix("tenant=")
        for record in pq.read_table(path).to_pylist():
            rows.append(
                Request(
                    request_id=record["request_id"],
                    ts=_naive_utc(record["ts"]),
                    tenant_id=record.get("tenant_id") or folder_tenant,
                    service=record["service"],
                    operation=record.get("operation"),
                    status_code=int(record["status_code"]),
                    latency_ms=float(record["latency_ms"]),
                    replica=record["replica"],
                )
            )
    if not folder_days:
        return rows
    first, last = min(folder_days), max(folder_days)
    return [row for row in rows if first <= row.ts.date() <= last]


def _preference(row: Request) -> tuple[Any, ...]:
    # Earliest ts, then smallest replica (the contract). Two copies from the same
    # replica at the same ts are a degenerate input; stg_requests.sql then prefers
    # the smaller status_code, then latency_ms, then service, so the oracle does too.
    return (row.ts, row.replica, row.status_code, row.latency_ms, row.service)


def dedup(rows: Iterable[Request]) -> dict[tuple[str, str], Request]:
    """One row per (tenant_id, request_id): the earliest `ts`, ties to the smallest replica."""
    kept: dict[tuple[str, str], Request] = {}
    for row in rows:
        key = (row.tenant_id, row.request_id)
        best = kept.get(key)
        if best is None or _preference(row) < _preference(best):
            kept[key] = row
    return kept


def replica_copies(rows: Iterable[Request]) -> dict[tuple[str, str], int]:
    """How many rows were logged for each (tenant_id, request_id)."""
    copies: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row.tenant_id, row.request_id)
        copies[key] = copies.get(key, 0) + 1
    return copies


# --- time ------------------------------------------------------------------------------


def bucket_index(ts: datetime) -> int:
    """The index of the 5-minute bucket that holds `ts` (floor, in whole microseconds)."""
    delta = ts - EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return micros // BUCKET_MICROS


def bucket_start(index: int) -> datetime:
    """The start of bucket `index`; also the evaluation step whose windows end there."""
    return EPOCH + index * BUCKET


def day_steps(days: Sequence[date]) -> list[int]:
    """Every evaluation step of the given days, as bucket indexes, in time order.

    Day D has the steps D 00:00, D 00:05, ..., D 23:55; D+1 00:00 belongs to D+1.
    """
    steps: set[int] = set()
    for day in days:
        first = bucket_index(datetime(day.year, day.month, day.day))
        steps.update(range(first, first + STEPS_PER_DAY))
    return sorted(steps)


def window_buckets(label: str) -> int:
    """How many 5-minute buckets the window `label` spans."""
    return WINDOW_MINUTES[label] // BUCKET_MINUTES


# --- SLIs ------------------------------------------------------------------------------


def budget_ratio(slo: ResolvedSlo) -> float:
    """The allowed bad fraction: (100 - objective) / 100 for an objective in percent."""
    assert slo.objective is not None
    return (100.0 - slo.objective) / 100.0


def is_bad(slo: ResolvedSlo, request: Request) -> bool:
    """Whether `request` spends error budget of `slo` (availability or latency SLI)."""
    if slo.sli == "availability":
        return request.status_code >= 500
    assert slo.threshold_ms is not None
    return request.latency_ms > slo.threshold_ms


class BucketCounts:
    """Per-bucket (total, bad) of one tenant SLO, and sums over ranges of buckets."""

    def __init__(self, counts: dict[int, tuple[int, int]]) -> None:
        self.counts = counts
        self.keys = sorted(counts)

    def window(self, step: int, buckets: int) -> tuple[int, int]:
        """(total, bad) over the buckets `step - buckets .. step - 1`, i.e. `[t - w, t)`."""
        lo = bisect_left(self.keys, step - buckets)
        hi = bisect_left(self.keys, step)
        total = bad = 0
        for key in self.keys[lo:hi]:
            assert step - buckets <= key < step
            bucket_total, bucket_bad = self.counts[key]
            total += bucket_total
            bad += bucket_bad
        return total, bad


def slo_counts(
    requests: Iterable[Request], slos: Sequence[ResolvedSlo]
) -> dict[tuple[str, str], BucketCounts]:
    """Per (tenant_id, slo_name): the bucket counts of the (deduplicated) requests."""
    raw: dict[tuple[str, str], dict[int, tuple[int, int]]] = {
        (slo.tenant_id, slo.slo_name): {} for slo in slos
    }
    by_scope: dict[tuple[str, str], list[ResolvedSlo]] = {}
    for slo in slos:
        by_scope.setdefault((slo.tenant_id, slo.service), []).append(slo)
    for request in requests:
        for slo in by_scope.get((request.tenant_id, request.service), []):
            counts = raw[(slo.tenant_id, slo.slo_name)]
            k = bucket_index(request.ts)
            total, bad = counts.get(k, (0, 0))
            counts[k] = (total + 1, bad + int(is_bad(slo, request)))
    return {key: BucketCounts(counts) for key, counts in raw.items()}


def burn_rate(total: int, bad: int, ratio: float) -> float | None:
    """(bad / total) / budget ratio; None when the window saw no requests."""
    if total == 0:
        return None
    return (bad / total) / ratio


def last_evaluable_steps(requests: Iterable[Request]) -> dict[str, int]:
    """Per tenant, the last step that may be evaluated: the bucket of its newest request
    (of any service) may still be filling, so its start; the horizon, the newest such
    step of any tenant, never binds here (no delay, no --as-of)."""
    newest: dict[str, int] = {}
    for request in requests:
        index = bucket_index(request.ts)
        newest[request.tenant_id] = max(newest.get(request.tenant_id, index), index)
    return newest


def data_run_starts(
    requests: Iterable[Request], slos: Sequence[ResolvedSlo]
) -> dict[str, list[int]]:
    """Per tenant, the buckets where a run of its logs starts (warm-up), in time order.

    The tenant's buckets are those where any of its SLOs counts a request. Walked
    bucket by bucket: the first one starts a run, and so does every bucket that
    follows a stretch of empty buckets longer than the tenant's max_silence_minutes
    (the smallest of its SLOs'), a no_data gap.
    """
    services: dict[str, set[str]] = {}
    silence: dict[str, int] = {}
    for slo in slos:
        services.setdefault(slo.tenant_id, set()).add(slo.service)
        silence[slo.tenant_id] = min(
            silence.get(slo.tenant_id, slo.max_silence_minutes), slo.max_silence_minutes
        )
    buckets: dict[str, set[int]] = {}
    for request in requests:
        if request.service in services.get(request.tenant_id, set()):
            buckets.setdefault(request.tenant_id, set()).add(bucket_index(request.ts))
    starts: dict[str, list[int]] = {}
    for tenant, seen in buckets.items():
        previous: int | None = None
        for bucket in sorted(seen):
            empty_minutes = None if previous is None else (bucket - previous - 1) * BUCKET_MINUTES
            if empty_minutes is None or empty_minutes > silence[tenant]:
                starts.setdefault(tenant, []).append(bucket)
            previous = bucket
    return starts


def warmed_up(run_starts: Sequence[int], step: int, long_window: str) -> bool:
    """Whether the window `[t - w, t)` lies within the run of logs current at step `t`:
    the latest run that started before `t` started no later than `t - w`."""
    started = [start for start in run_starts if start < step]
    return bool(started) and started[-1] <= step - window_buckets(long_window)


def slo_series(
    requests: Iterable[Request], slos: Sequence[ResolvedSlo], days: Sequence[date]
) -> Iterator[tuple[ResolvedSlo, BucketCounts, list[int]]]:
    """Each tenant SLO, by (tenant_id, slo_name), with its bucket counts and the steps of
    `days` that its tenant's logs have reached: what every fact table walks. A tenant
    without requests has no step evaluated."""
    requests = list(requests)
    counts = slo_counts(requests, slos)
    last_step = last_evaluable_steps(requests)
    steps = day_steps(days)
    for slo in sorted(slos, key=lambda s: (s.tenant_id, s.slo_name)):
        until = last_step.get(slo.tenant_id)
        reached = [step for step in steps if until is not None and step <= until]
        yield slo, counts[(slo.tenant_id, slo.slo_name)], reached


# --- the fact tables -------------------------------------------------------------------


def burn_rates(
    requests: Iterable[Request], slos: Sequence[ResolvedSlo], days: Sequence[date]
) -> list[Row]:
    """fct_burn_rates: one row per tenant SLO, step of the given days and window."""
    rows: list[Row] = []
    for slo, slo_buckets, steps in slo_series(requests, slos, days):
        for step in steps:
            for label in WINDOWS:
                total, bad = slo_buckets.window(step, window_buckets(label))
                rows.append(
                    {
                        "tenant_id": slo.tenant_id,
                        "slo_name": slo.slo_name,
                        "eval_ts": bucket_start(step),
                        "window": label,
                        "total": total,
                        "bad": bad,
                        "burn_rate": burn_rate(total, bad, budget_ratio(slo)),
                    }
                )
    return rows


def error_budget(
    requests: Iterable[Request], slos: Sequence[ResolvedSlo], days: Sequence[date]
) -> list[Row]:
    """fct_error_budget: per tenant SLO and step, the budget over `[t - period, t)`, in
    percent; the hours to exhaustion at the 1d burn, None beyond one period from t."""
    rows: list[Row] = []
    for slo, slo_buckets, steps in slo_series(requests, slos, days):
        ratio = budget_ratio(slo)
        period_buckets = slo.period_days * STEPS_PER_DAY
        period_hours = slo.period_days * 24
        for step in steps:
            total, bad = slo_buckets.window(step, period_buckets)
            day_total, day_bad = slo_buckets.window(step, window_buckets("1d"))
            burn_1d = burn_rate(day_total, day_bad, ratio)
            share_spent = None if total == 0 else bad / (total * ratio)
            tte: float | None
            if share_spent is None:
                tte = None
            elif share_spent >= 1:
                tte = 0.0
            elif burn_1d is None or burn_1d == 0:
                tte = None
            else:
                tte = (1.0 - share_spent) * period_hours / burn_1d
                if tte > period_hours:  # not within the period
                    tte = None
            rows.append(
                {
                    "tenant_id": slo.tenant_id,
                    "slo_name": slo.slo_name,
                    "eval_ts": bucket_start(step),
                    "objective": slo.objective,
                    "period_days": slo.period_days,
                    "calendar": None,
                    "total": total,
                    "bad": bad,
                    "budget_consumed_percent": None if share_spent is None else 100 * share_spent,
                    "budget_remaining_percent": (
                        None if share_spent is None else 100 * (1.0 - share_spent)
                    ),
                    "time_to_exhaustion_hours": tte,
                }
            )
    return rows


def rule_decision(
    long_burn: float | None,
    short_burn: float | None,
    threshold: float,
    long_total: int,
    short_total: int,
    min_events: int,
    warm: bool,
) -> tuple[bool, str]:
    """(fires, state) of one rule at one step, from the Workbook's definition: both
    windows burn strictly faster than the threshold, the long window holds at least
    `min_events` requests and is warmed up; a window without requests never fires."""
    fires = (
        long_burn is not None
        and short_burn is not None
        and long_burn > threshold
        and short_burn > threshold
        and long_total >= min_events
        and warm
    )
    if long_total == 0 or short_total == 0:
        state = "no_data"
    elif not warm:
        state = "warming_up"
    elif long_total < min_events:
        state = "low_traffic"
    else:
        state = "firing" if fires else "ok"
    return fires, state


def alert_evaluations(
    requests: Iterable[Request],
    slos: Sequence[ResolvedSlo],
    rules: Sequence[PolicyRule],
    days: Sequence[date],
    suppress_tickets_while_paging: bool = True,
    run_starts: dict[str, list[int]] | None = None,
) -> list[Row]:
    """fct_alert_evaluations: per tenant SLO, step and rule, both windows, `fires` and
    `suppressed` (see `suppress_tickets`). `run_starts` (data_run_starts) defaults to the
    runs of these requests of these SLOs."""
    requests = list(requests)
    if run_starts is None:
        run_starts = data_run_starts(requests, slos)
    rows: list[Row] = []
    for slo, slo_buckets, steps in slo_series(requests, slos, days):
        ratio = budget_ratio(slo)
        for step in steps:
            for rule in sorted(rules, key=lambda r: r.name):
                long_total, long_bad = slo_buckets.window(step, window_buckets(rule.long_window))
                short_total, short_bad = slo_buckets.window(step, window_buckets(rule.short_window))
                threshold = rule.burn_threshold(slo.period_days)
                long_burn = burn_rate(long_total, long_bad, ratio)
                short_burn = burn_rate(short_total, short_bad, ratio)
                warm = not rule.warm_up or warmed_up(
                    run_starts.get(slo.tenant_id, []), step, rule.long_window
                )
                fires, state = rule_decision(
                    long_burn, short_burn, threshold, long_total, short_total, rule.min_events, warm
                )
                rows.append(
                    {
                        "tenant_id": slo.tenant_id,
                        "slo_name": slo.slo_name,
                        "eval_ts": bucket_start(step),
                        "rule_name": rule.name,
                        "severity": rule.severity,
                        "long_window": rule.long_window,
                        "short_window": rule.short_window,
                        "burn_threshold": threshold,
                        "long_total": long_total,
                        "long_bad": long_bad,
                        "long_burn_rate": long_burn,
                        "short_total": short_total,
                        "short_bad": short_bad,
                        "short_burn_rate": short_burn,
                        "fires": fires,
                        "state": state,
                        "suppressed": False,
                    }
                )
    if suppress_tickets_while_paging:
        suppress_tickets(rows)
    return rows


def suppress_tickets(evaluations: list[Row]) -> None:
    """Mark ticket steps `suppressed` while a page of the same tenant SLO fires.

    Walked step by step per ticket rule: a ticket that is already open (firing,
    unsuppressed, at the step before) when a page starts stays open, since it
    escalates; a ticket that would open while a page fires stays shut until a
    step without a page. A step that does not fire is never suppressed.
    """
    paging: set[tuple[str, str, datetime]] = {
        (row["tenant_id"], row["slo_name"], row["eval_ts"])
        for row in evaluations
        if row["severity"] == "page" and row["fires"]
    }
    tickets: dict[tuple[str, str, str], list[Row]] = {}
    for row in evaluations:
        if row["severity"] == "ticket":
            key = (row["tenant_id"], row["slo_name"], row["rule_name"])
            tickets.setdefault(key, []).append(row)
    for steps in tickets.values():
        is_open = False
        for row in sorted(steps, key=lambda r: r["eval_ts"]):
            paged = (row["tenant_id"], row["slo_name"], row["eval_ts"]) in paging
            if not row["fires"]:
                is_open = False
            elif not is_open and paged:
                row["suppressed"] = True
            else:
                is_open = True


def alert_episodes(evaluations: Sequence[Row]) -> list[Row]:
    """fct_alert_episodes: maximal runs of consecutive firing, unsuppressed steps per
    tenant SLO and rule.

    An episode starts at its first such step and resolves at the first evaluated
    step after it that does not qualify (None while it still does at the last step).
    """
    series: dict[tuple[str, str, str], list[Row]] = {}
    for row in evaluations:
        series.setdefault((row["tenant_id"], row["slo_name"], row["rule_name"]), []).append(row)
    episodes: list[Row] = []
    for key in sorted(series):
        steps = sorted(series[key], key=lambda r: r["eval_ts"])
        current: Row | None = None
        for row in steps:
            if row["fires"] and not row["suppressed"]:
                if current is None:
                    current = {
                        "tenant_id": row["tenant_id"],
                        "slo_name": row["slo_name"],
                        "rule_name": row["rule_name"],
                        "severity": row["severity"],
                        "long_window": row["long_window"],
                        "short_window": row["short_window"],
                        "burn_threshold": row["burn_threshold"],
                        "started_at": row["eval_ts"],
                        "resolved_at": None,
                        "peak_long_burn_rate": row["long_burn_rate"],
                    }
                else:
                    current["peak_long_burn_rate"] = max(
                        current["peak_long_burn_rate"], row["long_burn_rate"]
                    )
            elif current is not None:
                current["resolved_at"] = row["eval_ts"]
                episodes.append(current)
                current = None
        if current is not None:
            episodes.append(current)
    return episodes


def _no_data(row: Row) -> bool:
    """A rule's step judges nothing when either of its windows holds no request
    (no_data), or while its long window reaches before the tenant's logs (warming_up)."""
    if "state" in row:
        return bool(row["state"] in ("no_data", "warming_up"))
    return bool(row["long_total"] == 0 or row["short_total"] == 0)


def grouped_alerts(
    evaluations: Sequence[Row], page_cooldown_minutes: int, ticket_cooldown_minutes: int
) -> list[Row]:
    """fct_alerts, walked step by step per tenant SLO as an on-call engineer would see it.

    A closed SLO opens an alert at the first step any rule fires. An open alert
    remembers when a rule of each severity last fired in it; at a step where no rule
    fires it resolves once every severity's last fire is at least its cooldown back.
    It pages while a page fired at the step or less than the page cooldown (at least
    one step) before it. A step at which every rule is no_data or warming_up is skipped
    outright.
    """
    cooldown = {
        "page": timedelta(minutes=page_cooldown_minutes),
        "ticket": timedelta(minutes=ticket_cooldown_minutes),
    }
    by_slo: dict[tuple[str, str], dict[datetime, list[Row]]] = {}
    for row in evaluations:
        steps = by_slo.setdefault((row["tenant_id"], row["slo_name"]), {})
        steps.setdefault(row["eval_ts"], []).append(row)
    alerts: list[Row] = []
    for (tenant, slo), steps in sorted(by_slo.items()):
        current: Row | None = None
        last: dict[str, datetime] = {}
        fired_rules: set[str] = set()
        was_paging = False
        for at in sorted(steps):
            rows = steps[at]
            if all(_no_data(row) for row in rows):
                continue
            firing = sorted(
                (row for row in rows if row["fires"]),
                key=lambda r: (r["severity"] != "page", r["rule_name"]),
            )
            if current is None and not firing:
                continue
            if (
                current is not None
                and not firing
                and all(at - when >= cooldown[severity] for severity, when in last.items())
            ):
                current["resolved_at"] = at
                alerts.append(current)
                current = None
                continue
            for row in firing:
                last[row["severity"]] = at
            paging = "page" in last and at - last["page"] < max(cooldown["page"], BUCKET)
            if current is None:
                first = firing[0]
                current = {
                    "tenant_id": tenant,
                    "slo_name": slo,
                    "started_at": at,
                    "opened_severity": first["severity"],
                    "severity": first["severity"],
                    "peak_severity": first["severity"],
                    "opened_rule": first["rule_name"],
                    "opened_long_window": first["long_window"],
                    "opened_short_window": first["short_window"],
                    "opened_burn_threshold": first["burn_threshold"],
                    "escalated_rule": None,
                    "escalated_long_window": None,
                    "escalated_short_window": None,
                    "escalated_burn_threshold": None,
                    "rules": "",
                    "escalations": 0,
                    "firing_steps": 0,
                    "peak_long_burn_rate": None,
                    "escalated_at": None,
                    "stepped_down_at": None,
                    "last_fired_at": at,
                    "resolved_at": None,
                }
                fired_rules = set()
                last = {row["severity"]: at for row in firing}
            else:
                if paging and not was_paging:
                    current["escalations"] += 1
                    pages = [row for row in firing if row["severity"] == "page"]
                    if current["escalated_at"] is None and current["opened_severity"] == "ticket":
                        current["escalated_at"] = at
                        current["escalated_rule"] = pages[0]["rule_name"]
                        current["escalated_long_window"] = pages[0]["long_window"]
                        current["escalated_short_window"] = pages[0]["short_window"]
                        current["escalated_burn_threshold"] = pages[0]["burn_threshold"]
                if was_paging and not paging:
                    current["stepped_down_at"] = at
            was_paging = paging
            current["severity"] = "page" if paging else "ticket"
            if paging:
                current["peak_severity"] = "page"
            if firing:
                current["firing_steps"] += 1
                current["last_fired_at"] = at
                fired_rules.update(row["rule_name"] for row in firing)
                current["rules"] = ",".join(sorted(fired_rules))
                peak = max(row["long_burn_rate"] for row in firing)
                previous = current["peak_long_burn_rate"]
                current["peak_long_burn_rate"] = peak if previous is None else max(previous, peak)
        if current is not None:
            alerts.append(current)
    return alerts


def stg_requests(rows: Sequence[Request]) -> list[Row]:
    """stg_requests: the kept row of each (tenant_id, request_id) and its number of copies."""
    copies = replica_copies(rows)
    kept = dedup(rows)
    return [
        {
            "tenant_id": r.tenant_id,
            "request_id": r.request_id,
            "ts": r.ts,
            "service": r.service,
            "operation": r.operation,
            "status_code": r.status_code,
            "latency_ms": r.latency_ms,
            "replica": r.replica,
            "replica_copies": copies[key],
        }
        for key, r in sorted(kept.items())
    ]


def run_all(
    rows: Sequence[Request],
    slos: Sequence[ResolvedSlo],
    rules: Sequence[PolicyRule],
    days: Sequence[date],
    counted_days: Sequence[date] | None = None,
    suppress_tickets_while_paging: bool = True,
    run_starts: dict[str, list[int]] | None = None,
) -> dict[str, list[Row]]:
    """Every table the comparison tests check, from raw (not yet deduplicated) rows.

    Dedup is global over all rows; then only requests whose kept `ts` lies in one
    of `counted_days` (default: the computed `days`) exist, since the pipeline
    stages requests per computed day: buckets before the first day are empty.
    """
    computed = set(days)
    counted = computed if counted_days is None else set(counted_days)
    staged = [row for row in stg_requests(rows) if row["ts"].date() in computed]
    requests = [r for r in dedup(rows).values() if r.ts.date() in counted]
    evaluations = alert_evaluations(
        requests, slos, rules, days, suppress_tickets_while_paging, run_starts
    )
    return {
        "stg_requests": staged,
        "fct_burn_rates": burn_rates(requests, slos, days),
        "fct_error_budget": error_budget(requests, slos, days),
        "fct_alert_evaluations": evaluations,
        "fct_alert_episodes": alert_episodes(evaluations),
    }
