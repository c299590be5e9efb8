"""A deterministic generator of realistic multi-tenant request logs, with known incidents.

`generate_sample` writes, under one folder:

- `requests/tenant=<id>/date=<YYYY-MM-DD>/part-0.parquet`: the request logs, one row
  per request per logging replica, in the request-log contract's columns;
- `slos.yaml`: an SLO manifest for every tenant (three cohorts, the default policy);
- `incidents.csv`: the ground truth, one row per injected incident.

Design notes (why it is built this way):

- Every tenant-day draws from its own PCG64 stream seeded with (seed, tenant, day),
  so a tenant-day's traffic does not depend on any other's, and the same arguments
  give byte-identical files.
- Which requests are bad is not left to chance. Along each tenant SLO's stream of
  requests (in order of their deduplicated `ts`), request `k` is bad iff
  `floor((k+1)*f) > floor(k*f)`, for the stream's bad fraction `f`. Any stretch of `n`
  consecutive requests then holds `floor(n*f)` or `ceil(n*f)` bad ones, so a burn rate
  over any window is known to within one request. Baseline errors (at most 8% of the
  error budget) fall only in minutes of the day busy enough that no rule of the SRE
  Workbook's policy can fire outside an incident; an incident's requests follow their
  own stream with the incident's fraction. These streams run on from day to day (a
  running count, not random state), which is what keeps them exact across midnight.
- Replicas re-log about 6% of requests with the `ts` jittered by up to 3 s either way;
  about 1% of rows near midnight arrive late, in the next day's folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from schemas.errors import BurnwatchInputError
from schemas.manifest import BUCKET_MINUTES, WINDOW_MINUTES, PolicyRule, workbook_policy
from schemas.tables import arrow_schema

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

MINUTE_US = 60_000_000
DAY_MINUTES = 24 * 60
DAY_US = DAY_MINUTES * MINUTE_US
BUCKET_US = BUCKET_MINUTES * MINUTE_US
BUCKETS_PER_DAY = DAY_MINUTES // BUCKET_MINUTES
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Bad fractions are rationals over this denominator, so designation is integer arithmetic.
FRACTION_DENOMINATOR = 1_000_000

SERVICES: tuple[str, ...] = ("api", "checkout", "search")
SERVICE_SHARES: tuple[float, ...] = (0.60, 0.15, 0.25)
REPLICAS: tuple[str, ...] = ("r1", "r2", "r3")
PRIMARY_REPLICA_SHARES: tuple[float, ...] = (0.70, 0.20, 0.10)
DUPLICATE_SHARE = 0.06
MAX_JITTER_US = 3_000_000
LATE_WINDOW_US = 15 * MINUTE_US
LATE_SHARE_PRIMARY = 0.01
# A second replica's log shipper lags more often, so duplicates straddle day folders.
LATE_SHARE_DUPLICATE = 0.25
# Baseline bad fraction, as a share of the SLO's error budget (1 - objective).
BASELINE_BUDGET_SHARE = 0.08
HOST_BASELINE_BUDGET_SHARE = 0.04

TENANT_NAMES: tuple[str, ...] = (
    "acme", "globex", "initech", "umbrella", "hooli", "soylent", "stark", "wayne",
    "wonka", "tyrell", "cyberdyne", "oscorp", "aperture", "vandelay", "dunder", "massive",
    "pied-piper", "wernham", "prestige", "monarch", "nakatomi", "gringotts", "bluth", "krusty",
)  # fmt: skip

REQUEST_SCHEMA = arrow_schema("raw_requests")

INCIDENT_COLUMNS: tuple[str, ...] = (
    "incident_id", "tenant_id", "slo_name", "service", "kind", "start", "end",
    "bad_fraction", "baseline_bad_fraction", "expected_severity", "expected_rule",
)  # fmt: skip

_REQUESTS_LAYOUT = re.compile(r"^tenant=[^/]+(/date=\d{4}-\d{2}-\d{2}(/part-\d+\.parquet)?)?$")

IncidentKind = Literal["outage", "slow_burn", "latency_regression"]


@dataclass(frozen=True)
class SampleSummary:
    """What `generate_sample` wrote."""

    rows_written: int
    duplicate_rows: int
    late_rows: int
    files: int
    tenants: int
    days: int
    incidents: Path
    manifest: Path


@dataclass(frozen=True)
class _Cohort:
    name: str
    requests_per_minute: float
    availability: float
    latency: float
    threshold_ms: float
    period_days: int
    throttled_share: tuple[float, float]


COHORTS: tuple[_Cohort, ...] = (
    _Cohort("enterprise", 40.0, 99.95, 99.0, 300.0, 30, (0.001, 0.004)),
    _Cohort("standard", 15.0, 99.9, 99.0, 500.0, 30, (0.003, 0.010)),
    _Cohort("free", 5.0, 99.5, 98.0, 800.0, 28, (0.010, 0.030)),
)


@dataclass(frozen=True)
class _Slo:
    name: str
    service: int
    sli: Literal["availability", "latency"]


# Latency SLOs first: an incident's status override (outage) then wins over latency.
SLOS: tuple[_Slo, ...] = (
    _Slo("api-latency", 0, "latency"),
    _Slo("search-latency", 2, "latency"),
    _Slo("api-availability", 0, "availability"),
    _Slo("checkout-availability", 1, "availability"),
    _Slo("search-availability", 2, "availability"),
)
_MANIFEST_SLO_ORDER = (
    "api-availability", "checkout-availability", "search-availability",
    "api-latency", "search-latency",
)  # fmt: skip

# Operations per service, with their shares; None is a request logged without a route.
_OPERATIONS: dict[str, tuple[tuple[str | None, float], ...]] = {
    "api": (
        ("GET /v1/items", 0.30), ("GET /v1/items/{id}", 0.28), ("POST /v1/items", 0.10),
        ("PATCH /v1/items/{id}", 0.07), ("DELETE /v1/items/{id}", 0.03),
        ("GET /v1/users/me", 0.20), (None, 0.02),
    ),
    "checkout": (
        ("GET /v1/cart", 0.30), ("POST /v1/cart/items", 0.25), ("POST /v1/checkout", 0.20),
        ("POST /v1/payments", 0.15), ("GET /v1/orders/{id}", 0.08), (None, 0.02),
    ),
    "search": (
        ("GET /v1/search", 0.65), ("GET /v1/search/suggest", 0.30), (None, 0.05),
    ),
}  # fmt: skip
OPERATION_NAMES: tuple[str, ...] = tuple(
    name for ops in _OPERATIONS.values() for name, _ in ops if name is not None
)


def _operation_tables() -> list[tuple[npt.NDArray[np.int16], FloatArray]]:
    tables = []
    for service in SERVICES:
        ops = _OPERATIONS[service]
        codes = np.array(
            [OPERATION_NAMES.index(name) if name is not None else -1 for name, _ in ops],
            dtype=np.int16,
        )
        shares = np.array([share for _, share in ops])
        tables.append((codes, np.cumsum(shares / shares.sum())[:-1]))
    return tables


_OPERATION_TABLES = _operation_tables()
# The success status of each operation; the last entry serves requests with no operation.
_SUCCESS_STATUS = np.array(
    [201 if n.startswith("POST") else 204 if n.startswith("DELETE") else 200
     for n in OPERATION_NAMES] + [200],
    dtype=np.int32,
)  # fmt: skip
_SERVICE_CUTS = np.cumsum(SERVICE_SHARES)[:-1]
_REPLICA_CUTS = np.cumsum(PRIMARY_REPLICA_SHARES)[:-1]
_SERVER_ERRORS = np.array([500, 502, 503], dtype=np.int32)
_SERVER_ERROR_CUTS = np.array([0.5, 0.75])


@dataclass(frozen=True, eq=False)
class _Tenant:
    index: int
    tenant_id: str
    cohort: _Cohort
    mean_rpm: float  # mean requests per minute on a weekday, all services
    volume_factor: float
    cycle: FloatArray  # per-minute load multiplier over a day, mean 1
    peak_minute: int
    weekend_factor: float
    latency_mu: FloatArray  # per service, of log(ms)
    latency_sigma: FloatArray
    latency_cap: FloatArray  # per service: a good request's latency stays at or below this
    not_found_share: float
    throttled_share: float

    def budget(self, slo: _Slo) -> float:
        objective = self.cohort.availability if slo.sli == "availability" else self.cohort.latency
        return (100.0 - objective) / 100.0


@dataclass(frozen=True)
class _Incident:
    incident_id: str
    kind: IncidentKind
    tenant: int
    slo: _Slo
    start_us: int
    end_us: int
    fraction: int  # bad requests per FRACTION_DENOMINATOR


@dataclass
class _IncidentTally:
    stream_position: int = 0
    total: int = 0
    bad: int = 0


@dataclass
class _Rows:
    """Log rows as parallel arrays; `folder` is each row's day-folder index."""

    ts: IntArray
    key: npt.NDArray[np.uint64]
    service: npt.NDArray[np.int8]
    operation: npt.NDArray[np.int16]
    status: npt.NDArray[np.int32]
    latency: FloatArray
    replica: npt.NDArray[np.int8]
    folder: IntArray

    def take(self, index: npt.NDArray[np.intp] | BoolArray) -> _Rows:
        return _Rows(*(getattr(self, name)[index] for name in _ROW_FIELDS))

    @staticmethod
    def concat(parts: list[_Rows]) -> _Rows:
        return _Rows(*(np.concatenate([getattr(p, name) for p in parts]) for name in _ROW_FIELDS))


_ROW_FIELDS = ("ts", "key", "service", "operation", "status", "latency", "replica", "folder")


@dataclass
class _Context:
    seed: int
    days: int
    start: dt.date
    start_us: int
    salt: np.uint64
    tenants: list[_Tenant]
    incidents: list[_Incident]
    baseline: dict[tuple[int, str], _Baseline]
    # Per tenant SLO: the running sum of baseline fractions along its request stream.
    baseline_progress: dict[tuple[int, str], int] = field(default_factory=dict)
    tallies: dict[str, _IncidentTally] = field(default_factory=dict)
    # Per incident: requests and bad requests of its tenant SLO per 5-minute bucket.
    series: dict[str, tuple[IntArray, IntArray]] = field(default_factory=dict)


def generate_sample(
    out_dir: Path,
    tenants: int = 12,
    days: int = 14,
    seed: int = 7,
    start: dt.date = dt.date(2026, 10, 1),
    scale: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> SampleSummary:
    """Write a deterministic multi-tenant sample (request logs, slos.yaml, incidents.csv).

    The same arguments give byte-identical files. `scale` multiplies every tenant's
    traffic (about 4.5 million rows at 1.0 with the defaults). `progress` is called once
    per generated day. Raises BurnwatchInputError for bad arguments, or when `out_dir`
    already holds a `requests/` folder that this generator did not write.
    """
    out_dir = Path(out_dir)
    _validate(out_dir, tenants, days, seed, start, scale)
    profiles = [_tenant_profile(seed, index, scale) for index in range(tenants)]
    start_us = _to_us(dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC))
    incidents = _plan_incidents(profiles, days, start, start_us)
    hosts = {incident.tenant for incident in incidents}
    baseline = {
        (tenant.index, slo.name): _baseline(
            tenant, slo,
            HOST_BASELINE_BUDGET_SHARE if tenant.index in hosts else BASELINE_BUDGET_SHARE,
        )
        for tenant in profiles
        for slo in SLOS
    }  # fmt: skip
    salt = np.random.SeedSequence([seed, 0x5A17]).generate_state(1, dtype=np.uint64)[0]
    ctx = _Context(seed, days, start, start_us, salt, profiles, incidents, baseline)
    for incident in incidents:
        ctx.tallies[incident.incident_id] = _IncidentTally()
        ctx.series[incident.incident_id] = (
            np.zeros(days * BUCKETS_PER_DAY, dtype=np.int64),
            np.zeros(days * BUCKETS_PER_DAY, dtype=np.int64),
        )

    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out_dir / ".requests.partial"
    if partial.exists():
        shutil.rmtree(partial)
    rows_written = duplicate_rows = late_rows = files = 0
    spill: dict[int, _Rows] = {}
    # Parquet encoding releases the GIL: write one folder while generating the next.
    day_started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as writers:
        for day in range(days):
            date = start + dt.timedelta(days=day)
            day_rows = 0
            pending: list[Future[None]] = []
            for tenant in profiles:
                rows, duplicates = _generate_tenant_day(ctx, tenant, day)
                duplicate_rows += duplicates
                parts = [rows.take(rows.folder == day)]
                if tenant.index in spill:
                    parts.insert(0, spill.pop(tenant.index))
                later = rows.take(rows.folder == day + 1)
                if len(later.ts):
                    spill[tenant.index] = later
                folder_rows = _Rows.concat(parts)
                late_rows += int(np.count_nonzero((folder_rows.ts - start_us) // DAY_US < day))
                folder = partial / f"tenant={tenant.tenant_id}" / f"date={date.isoformat()}"
                pending.append(
                    writers.submit(
                        _write_requests, folder / "part-0.parquet", tenant.tenant_id, folder_rows
                    )
                )
                files += 1
                day_rows += len(folder_rows.ts)
            for future in pending:
                future.result()
            rows_written += day_rows
            if progress is not None:
                seconds, day_started = time.perf_counter() - day_started, time.perf_counter()
                progress(
                    f"{date.isoformat()}: {day_rows:,} rows for {tenants} tenants in "
                    f"{seconds:.1f} s ({day + 1}/{days} days)"
                )

    requests_dir = out_dir / "requests"
    if requests_dir.exists():
        shutil.rmtree(requests_dir)
    partial.rename(requests_dir)
    manifest_path = out_dir / "slos.yaml"
    manifest_path.write_text(_manifest_text(profiles, seed), encoding="utf-8")
    incidents_path = out_dir / "incidents.csv"
    _write_incidents(incidents_path, ctx)
    return SampleSummary(
        rows_written=rows_written,
        duplicate_rows=duplicate_rows,
        late_rows=late_rows,
        files=files,
        tenants=tenants,
        days=days,
        incidents=incidents_path,
        manifest=manifest_path,
    )


# --- arguments ---------------------------------------------------------------------------


# Enough for the tenant sweep's 2,000-tenant point (`pipelines/bench_tenants.py`) and more;
# names past the list get a numeric suffix (`_tenant_id`), so the bound is only a guard.
MAX_TENANTS = 5_000


def _validate(
    out_dir: Path, tenants: int, days: int, seed: int, start: dt.date, scale: float
) -> None:
    def whole(name: str, value: object, low: int, high: int, why: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BurnwatchInputError(f"{name} must be a whole number, got {value!r}")
        if not low <= value <= high:
            raise BurnwatchInputError(f"{name} must be between {low} and {high}{why}, got {value}")

    whole("tenants", tenants, 3, MAX_TENANTS, " (at least one per cohort)")
    whole("days", days, 7, 1000, " (incidents need a week of history)")
    whole("seed", seed, 0, 2**63 - 1, "")
    if isinstance(start, dt.datetime) or not isinstance(start, dt.date):
        raise BurnwatchInputError(f"start must be a date (YYYY-MM-DD), got {start!r}")
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale):
        raise BurnwatchInputError(f"scale must be a number, got {scale!r}")
    if not 0 < scale <= 50:
        raise BurnwatchInputError(f"scale must be greater than 0 and at most 50, got {scale}")
    if out_dir.exists() and not out_dir.is_dir():
        raise BurnwatchInputError(f"{out_dir}: exists and is not a folder")
    requests_dir = out_dir / "requests"
    if requests_dir.exists():
        for path in requests_dir.rglob("*"):
            relative = path.relative_to(requests_dir).as_posix()
            if not _REQUESTS_LAYOUT.match(relative) or (
                path.is_file() != relative.endswith(".parquet")
            ):
                raise BurnwatchInputError(
                    f"{requests_dir}: holds {relative!r}, which sample-data did not write; "
                    "choose another --out folder or remove it"
                )


# --- tenants -----------------------------------------------------------------------------


def _rng(seed: int, tenant: int, day: int, purpose: int) -> np.random.Generator:
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([seed, tenant, day, purpose]))
    )


def _tenant_id(index: int) -> str:
    if index < len(TENANT_NAMES):
        return TENANT_NAMES[index]
    return f"{TENANT_NAMES[index % len(TENANT_NAMES)]}-{index // len(TENANT_NAMES) + 1}"


def _tenant_profile(seed: int, index: int, scale: float) -> _Tenant:
    """A tenant's traffic shape: volume, daily cycle, weekend dip, latency and status mix."""
    rng = _rng(seed, index, 0, 1)
    cohort = COHORTS[index % len(COHORTS)]
    volume_factor = float(rng.uniform(0.8, 1.25))
    trough = float(rng.uniform(0.30, 0.40))
    # Where the tenant's users are: US east, Europe, US west or Asia-Pacific, in UTC.
    region_peak_hour = float(rng.choice([15.5, 12.0, 19.5, 5.0], p=[0.35, 0.3, 0.2, 0.15]))
    peak_minute = round((region_peak_hour + float(rng.uniform(-1.0, 1.0))) * 60) % DAY_MINUTES
    minutes = np.arange(DAY_MINUTES) + 0.5
    shape = (
        trough + (1 - trough) * (1 + np.cos(2 * np.pi * (minutes - peak_minute) / DAY_MINUTES)) / 2
    )
    threshold = cohort.threshold_ms
    medians = np.array(
        [threshold * rng.uniform(0.12, 0.20), rng.uniform(120.0, 220.0),
         threshold * rng.uniform(0.15, 0.22)]
    )  # fmt: skip
    return _Tenant(
        index=index,
        tenant_id=_tenant_id(index),
        cohort=cohort,
        mean_rpm=cohort.requests_per_minute * volume_factor * scale,
        volume_factor=volume_factor,
        cycle=shape / shape.mean(),
        peak_minute=peak_minute,
        weekend_factor=float(rng.uniform(0.65, 0.80)),
        latency_mu=np.log(medians),
        latency_sigma=np.array([rng.uniform(0.45, 0.55), 0.5, rng.uniform(0.45, 0.55)]),
        latency_cap=np.array([0.97 * threshold, np.inf, 0.97 * threshold]),
        not_found_share=float(rng.uniform(0.01, 0.03)),
        throttled_share=float(rng.uniform(*cohort.throttled_share)),
    )


@dataclass(frozen=True, eq=False)
class _Baseline:
    """A tenant SLO's errors outside incidents: a bad fraction, in the minutes it applies."""

    fraction: int  # bad requests per FRACTION_DENOMINATOR of the eligible requests
    eligible: BoolArray  # per minute of the day
    expected_fraction: float  # over all of the SLO's requests


def _baseline(tenant: _Tenant, slo: _Slo, budget_share: float) -> _Baseline:
    """The SLO's baseline errors, placed so that no rule of the Workbook policy can fire.

    Along the stream, the bad count over any n consecutive requests is below
    n*f + 1 (f: the fraction). A rule with threshold R and long window L therefore
    cannot fire on a window of n >= 1/(R*budget - f) requests. So baseline errors are
    only drawn in minutes of the day where every window of every rule that contains
    the minute is certain to see that many requests (the 1e-9 quantile of its Poisson
    count, at the quietest weekend level, less two requests for replica jitter); a window
    without such a minute holds no baseline error at all. Low-volume SLOs thus err only
    around their daily peak, or never. Windows that reach back before the first day
    hold a prefix of the stream, with at most n*f bad requests, below any threshold.
    """
    budget = tenant.budget(slo)
    fraction = math.floor(budget_share * budget * FRACTION_DENOMINATOR)
    level = tenant.mean_rpm * SERVICE_SHARES[slo.service] * min(1.0, tenant.weekend_factor)
    eligible = np.ones(DAY_MINUTES, dtype=np.bool_)
    for rule in workbook_policy():
        threshold = rule.burn_threshold(tenant.cohort.period_days)
        margin = threshold * budget - fraction / FRACTION_DENOMINATOR
        needed = _poisson_mean_for_floor(1.0 / margin + 2.0, 1e-9)
        eligible &= (
            _fewest_expected(tenant.cycle, WINDOW_MINUTES[rule.long_window]) * level >= needed
        )
    if not eligible.any():
        return _Baseline(0, eligible, 0.0)
    share = float((tenant.cycle * eligible).sum() / tenant.cycle.sum())
    return _Baseline(fraction, eligible, fraction / FRACTION_DENOMINATOR * share)


def _fewest_expected(cycle: FloatArray, minutes: int) -> FloatArray:
    """Per minute of the day: the least expected load of a `minutes` window containing it."""
    if minutes >= DAY_MINUTES:
        # Every such window covers whole days, so its load is the same wherever it lies
        # within the cycle, up to the partial day (bounded below by its quietest stretch).
        whole, rest = divmod(minutes, DAY_MINUTES)
        partial = _fewest_expected(cycle, rest).min() if rest else 0.0
        return np.full(DAY_MINUTES, whole * cycle.sum() + partial)
    cumulative = np.concatenate([[0.0], np.cumsum(np.tile(cycle, 2))])
    starts = np.arange(DAY_MINUTES)
    load = cumulative[starts + minutes] - cumulative[starts]  # window starting at each minute
    # Minute m lies in the windows starting at m - minutes + 1 .. m (modulo a day).
    circular = np.concatenate([load[DAY_MINUTES - minutes + 1 :], load])
    fewest: FloatArray = np.lib.stride_tricks.sliding_window_view(circular, minutes).min(axis=1)
    return fewest


def _poisson_mean_for_floor(count: float, tail: float) -> float:
    """The least Poisson mean whose `tail` lower quantile reaches `count` (to 0.1%)."""
    low, high = 0.0, max(1.0, count)
    while _poisson_lower_quantile(high, tail) < count:
        high *= 2
    while high - low > 1e-3 * high:
        middle = (low + high) / 2
        low, high = (
            (middle, high) if _poisson_lower_quantile(middle, tail) < count else (low, middle)
        )
    return high


def _poisson_lower_quantile(mean: float, tail: float) -> float:
    """The largest n with P(N < n) <= tail for N ~ Poisson(mean)."""
    if mean <= 0:
        return 0.0
    if mean > 600:
        # The normal approximation; a Poisson's left tail is lighter than the normal's.
        return mean - 7.5 * math.sqrt(mean)
    cumulative = 0.0
    count = 0
    while True:
        cumulative += math.exp(-mean + count * math.log(mean) - math.lgamma(count + 1))
        if cumulative > tail:
            return float(count)
        count += 1


# --- incidents ---------------------------------------------------------------------------


def _plan_incidents(
    tenants: list[_Tenant], days: int, start: dt.date, start_us: int
) -> list[_Incident]:
    """Four incidents at fixed offsets from `start`, on the busiest tenant of a cohort.

    - outage: day 3, 10:02-10:42, every api request of an enterprise tenant fails (503);
    - slow_burn: day 4, 10x for 8 h on a standard tenant's api, centred on its daily
      peak, so page-6h fires (page-1h does not: 10x stays under 14.4x even one bad request
      off, as long as an hour holds some 230 requests, as it does at scale 1);
    - latency_regression: day 5, 2 h around an enterprise tenant's peak, 30% of api
      requests take 1.5x-6x the threshold;
    - slow_burn: 4.5x for 30 h on a free tenant's api, from 01:21 on the first Sunday (else
      Saturday) in days 3..days-2: the quieter weekend in the 1-day window makes it burn
      faster than the 3-day one, so ticket-1d fires before ticket-3d (a tie otherwise).

    incidents.csv reports the severity and rule that the policy really raises first on the
    generated traffic, which at a small `scale` may differ from these designed ones.
    """

    def busiest(cohort: str) -> list[_Tenant]:
        members = [t for t in tenants if t.cohort.name == cohort]
        return sorted(members, key=lambda t: (-t.volume_factor, t.index))

    enterprise, standard, free = busiest("enterprise"), busiest("standard"), busiest("free")
    slos = {slo.name: slo for slo in SLOS}

    def at(day: int, minute: int) -> int:
        return start_us + day * DAY_US + minute * MINUTE_US

    weekend = [d for d in range(3, days - 1) if (start + dt.timedelta(days=d)).weekday() == 6]
    weekend += [d for d in range(3, days - 1) if (start + dt.timedelta(days=d)).weekday() == 5]
    ticket_day = weekend[0] if weekend else 3
    paging = standard[0]
    regressing = enterprise[1] if len(enterprise) > 1 else enterprise[0]
    plan: list[tuple[IncidentKind, _Tenant, str, int, int, float]] = [
        ("outage", enterprise[0], "api-availability", at(3, 10 * 60 + 2), 40, 1.0),
        ("slow_burn", paging, "api-availability", at(4, paging.peak_minute - 240 + 13), 480,
         0.010),
        ("latency_regression", regressing, "api-latency",
         at(5, regressing.peak_minute - 60 + 7), 120, 0.30),
        ("slow_burn", free[0], "api-availability", at(ticket_day, 81), 30 * 60, 0.0225),
    ]  # fmt: skip
    plan.sort(key=lambda item: (item[3], item[1].index))
    return [
        _Incident(
            incident_id=f"INC-{number:03d}",
            kind=kind,
            tenant=tenant.index,
            slo=slos[slo_name],
            start_us=start_at,
            end_us=start_at + minutes * MINUTE_US,
            fraction=round(fraction * FRACTION_DENOMINATOR),
        )
        for number, (kind, tenant, slo_name, start_at, minutes, fraction) in enumerate(plan, 1)
    ]


# --- one tenant-day ----------------------------------------------------------------------


def _designated(first: int, count: int, fraction: int) -> BoolArray:
    """Requests first..first+count-1 of a stream: bad iff floor((k+1)f) > floor(k f)."""
    k = np.arange(first, first + count, dtype=np.int64)
    return ((k + 1) * fraction) // FRACTION_DENOMINATOR > (k * fraction) // FRACTION_DENOMINATOR


def _mix64(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finalizer: a bijection on 64-bit integers that looks random."""
    x = values ^ (values >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _generate_tenant_day(ctx: _Context, tenant: _Tenant, day: int) -> tuple[_Rows, int]:
    """Every row logged for one tenant's requests of one day; returns (rows, duplicates)."""
    rng = _rng(ctx.seed, tenant.index, day, 0)
    day_start = ctx.start_us + day * DAY_US
    weekday = (ctx.start + dt.timedelta(days=day)).weekday()
    level = tenant.mean_rpm * (tenant.weekend_factor if weekday >= 5 else 1.0)
    counts = rng.poisson(level * tenant.cycle)
    n = int(counts.sum())
    ts = np.repeat(day_start + np.arange(DAY_MINUTES, dtype=np.int64) * MINUTE_US, counts)
    ts = np.sort(ts + rng.integers(0, MINUTE_US, n))
    # Unique per (tenant, day, sequence number): a bijection of the packed triple.
    packed = (np.uint64(tenant.index) << np.uint64(48)) | (np.uint64(day) << np.uint64(32))
    key = _mix64((packed | np.arange(n, dtype=np.uint64)) ^ ctx.salt)

    service = np.searchsorted(_SERVICE_CUTS, rng.random(n), side="right").astype(np.int8)
    operation = np.full(n, -1, dtype=np.int16)
    draw = rng.random(n)
    for code, (codes, cuts) in enumerate(_OPERATION_TABLES):
        mine = service == code
        operation[mine] = codes[np.searchsorted(cuts, draw[mine], side="right")]
    status = _SUCCESS_STATUS[operation]
    draw = rng.random(n)
    status[draw < tenant.not_found_share] = 404
    throttled = (draw >= tenant.not_found_share) & (
        draw < tenant.not_found_share + tenant.throttled_share
    )
    status[throttled] = 429
    latency = _good_latency(rng, tenant, service)
    replica = np.searchsorted(_REPLICA_CUTS, rng.random(n), side="right").astype(np.int8)

    duplicated = np.flatnonzero(rng.random(n) < DUPLICATE_SHARE)
    copy_replica = ((replica[duplicated] + 1 + rng.integers(0, 2, duplicated.size)) % 3).astype(
        np.int8
    )
    copy_ts = ts[duplicated] + rng.integers(-MAX_JITTER_US, MAX_JITTER_US + 1, duplicated.size)
    # A copy may spill past midnight into the next day, never back into the previous
    # one (nor past the last day), so a request's earliest row lies in its own day.
    copy_ts = np.maximum(copy_ts, day_start)
    if day == ctx.days - 1:
        copy_ts = np.minimum(copy_ts, day_start + DAY_US - 1)
    earliest = ts.copy()
    earliest[duplicated] = np.minimum(ts[duplicated], copy_ts)

    order = np.lexsort((key, earliest))
    ordered_service = service[order]
    for slo in SLOS:
        stream = order[ordered_service == slo.service]
        _designate(ctx, rng, tenant, slo, stream, earliest, status, latency)
    _tally_incidents(ctx, tenant, day, service, status, latency, earliest)

    primary = _Rows(ts, key, service, operation, status, latency, replica,
                    np.zeros(n, dtype=np.int64))  # fmt: skip
    copies = primary.take(duplicated)
    copies.ts, copies.replica = copy_ts, copy_replica
    rows = _Rows.concat([primary, copies])
    ts_day = (rows.ts - ctx.start_us) // DAY_US
    near_midnight = rows.ts - (ctx.start_us + ts_day * DAY_US) >= DAY_US - LATE_WINDOW_US
    late_share = np.where(np.arange(len(rows.ts)) >= n, LATE_SHARE_DUPLICATE, LATE_SHARE_PRIMARY)
    late = near_midnight & (rng.random(len(rows.ts)) < late_share) & (ts_day + 1 < ctx.days)
    rows.folder = ts_day + late
    return rows, int(duplicated.size)


def _good_latency(
    rng: np.random.Generator, tenant: _Tenant, service: npt.NDArray[np.int8]
) -> FloatArray:
    """Lognormal latencies, redrawn until each is within its service's cap (a truncation)."""
    mu, sigma, cap = (
        tenant.latency_mu[service],
        tenant.latency_sigma[service],
        tenant.latency_cap[service],
    )
    latency: FloatArray = np.exp(mu + sigma * rng.standard_normal(service.size))
    over = np.flatnonzero(latency > cap)
    for _ in range(100):
        if over.size == 0:
            break
        latency[over] = np.exp(mu[over] + sigma[over] * rng.standard_normal(over.size))
        over = over[latency[over] > cap[over]]
    return np.round(np.minimum(latency, cap), 3).astype(np.float64)


def _designate(
    ctx: _Context,
    rng: np.random.Generator,
    tenant: _Tenant,
    slo: _Slo,
    stream: npt.NDArray[np.intp],
    earliest: IntArray,
    status: npt.NDArray[np.int32],
    latency: FloatArray,
) -> None:
    """Mark the SLO's bad requests along its time-ordered stream, baseline and incidents."""
    key = (tenant.index, slo.name)
    baseline = ctx.baseline[key]
    minute = (earliest[stream] - ctx.start_us) % DAY_US // MINUTE_US
    step = np.where(baseline.eligible[minute], baseline.fraction, 0).astype(np.int64)
    # The running sum carries over from day to day: one stream per tenant SLO.
    after = ctx.baseline_progress.get(key, 0) + np.cumsum(step)
    if after.size:
        ctx.baseline_progress[key] = int(after[-1])
    bad = after // FRACTION_DENOMINATOR > (after - step) // FRACTION_DENOMINATOR
    for incident in ctx.incidents:
        if incident.tenant != tenant.index or incident.slo != slo:
            continue
        at = earliest[stream]
        inside = np.flatnonzero((at >= incident.start_us) & (at < incident.end_us))
        if inside.size == 0:
            continue
        bad[inside] = False
        tally = ctx.tallies[incident.incident_id]
        hit = stream[inside[_designated(tally.stream_position, inside.size, incident.fraction)]]
        tally.stream_position += inside.size
        if incident.kind == "outage":
            status[hit] = 503
            # A load balancer's 503 comes back fast.
            latency[hit] = np.round(rng.uniform(0.5, 15.0, hit.size), 3)
        elif incident.kind == "latency_regression":
            slowdown = np.exp(rng.uniform(math.log(1.5), math.log(6.0), hit.size))
            latency[hit] = np.round(tenant.cohort.threshold_ms * slowdown, 3)
        else:
            status[hit] = _server_errors(rng, hit.size)
    hit = stream[bad]
    if slo.sli == "availability":
        status[hit] = _server_errors(rng, hit.size)
    else:
        tail = np.exp(0.02 + 0.6 * np.abs(rng.standard_normal(hit.size)))
        latency[hit] = np.round(tenant.cohort.threshold_ms * tail, 3)


def _server_errors(rng: np.random.Generator, count: int) -> npt.NDArray[np.int32]:
    return _SERVER_ERRORS[np.searchsorted(_SERVER_ERROR_CUTS, rng.random(count), side="right")]


def _is_bad(
    tenant: _Tenant, slo: _Slo, status: npt.NDArray[np.int32], latency: FloatArray
) -> BoolArray:
    if slo.sli == "availability":
        return status >= 500
    return latency > tenant.cohort.threshold_ms


def _tally_incidents(
    ctx: _Context,
    tenant: _Tenant,
    day: int,
    service: npt.NDArray[np.int8],
    status: npt.NDArray[np.int32],
    latency: FloatArray,
    earliest: IntArray,
) -> None:
    """Count each hosted incident's requests and bad ones, and its SLO's 5-minute buckets."""
    for incident in ctx.incidents:
        if incident.tenant != tenant.index:
            continue
        mine = service == incident.slo.service
        at = earliest[mine]
        bad = _is_bad(tenant, incident.slo, status[mine], latency[mine])
        inside = (at >= incident.start_us) & (at < incident.end_us)
        tally = ctx.tallies[incident.incident_id]
        tally.total += int(np.count_nonzero(inside))
        tally.bad += int(np.count_nonzero(inside & bad))
        bucket = (at - (ctx.start_us + day * DAY_US)) // BUCKET_US
        totals, bads = ctx.series[incident.incident_id]
        span = slice(day * BUCKETS_PER_DAY, (day + 1) * BUCKETS_PER_DAY)
        totals[span] += np.bincount(bucket, minlength=BUCKETS_PER_DAY)
        bads[span] += np.bincount(bucket, weights=bad, minlength=BUCKETS_PER_DAY).astype(np.int64)


# --- writing -----------------------------------------------------------------------------

_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLE_SHIFTS = np.arange(60, -1, -4, dtype=np.uint64)


def _hex_strings(keys: npt.NDArray[np.uint64]) -> pa.StringArray:
    """16 lower-case hex digits per key, built as one Arrow buffer."""
    nibbles = (keys[:, None] >> _NIBBLE_SHIFTS[None, :]) & np.uint64(15)
    data = np.ascontiguousarray(_HEX_DIGITS[nibbles.astype(np.intp)]).tobytes()
    offsets = np.arange(0, 16 * (keys.size + 1), 16, dtype=np.int32).tobytes()
    return pa.StringArray.from_buffers(keys.size, pa.py_buffer(offsets), pa.py_buffer(data))


def _write_requests(path: Path, tenant_id: str, rows: _Rows) -> None:
    """One folder's rows, sorted by (ts, request_id, replica), as one zstd Parquet file."""
    # Fixed-width lower-case hex sorts like the integer it spells.
    rows = rows.take(np.lexsort((rows.replica, rows.key, rows.ts)))
    count = len(rows.ts)
    operation = pa.array(rows.operation.astype(np.int32), mask=rows.operation < 0)
    table = pa.Table.from_arrays(
        [
            _hex_strings(rows.key),
            pa.array(rows.ts, type=pa.timestamp("us", tz="UTC")),
            pa.repeat(pa.scalar(tenant_id, pa.string()), count),
            pa.array(SERVICES, pa.string()).take(pa.array(rows.service.astype(np.int32))),
            pa.array(OPERATION_NAMES, pa.string()).take(operation),
            pa.array(rows.status, type=pa.int32()),
            pa.array(rows.latency, type=pa.float64()),
            pa.array(REPLICAS, pa.string()).take(pa.array(rows.replica.astype(np.int32))),
        ],
        schema=REQUEST_SCHEMA,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=1,
        # Request ids are unique: a dictionary for them would be built only to be dropped.
        use_dictionary=["tenant_id", "service", "operation", "status_code", "replica"],
        write_statistics=True,
        row_group_size=1 << 20,
        version="2.6",
    )


def _manifest_text(tenants: list[_Tenant], seed: int) -> str:
    document = {
        "version": 1,
        "period_days": 30,
        "cohorts": {
            cohort.name: {
                "availability": {"objective": cohort.availability},
                "latency": {"objective": cohort.latency, "threshold_ms": cohort.threshold_ms},
                "period_days": cohort.period_days,
            }
            for cohort in COHORTS
        },
        "tenants": [
            {
                "id": tenant.tenant_id,
                "cohort": tenant.cohort.name,
                "slos": [_slo_entry(name) for name in _MANIFEST_SLO_ORDER],
            }
            for tenant in tenants
        ],
    }
    header = (
        f"# Sample SLO manifest written by `burnwatch sample-data` (seed {seed}).\n"
        "# No `policy:` key: the SRE Workbook's multiwindow, multi-burn-rate policy applies.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=100)


def _slo_entry(name: str) -> dict[str, str]:
    slo = next(s for s in SLOS if s.name == name)
    return {"name": slo.name, "service": SERVICES[slo.service], "sli": slo.sli}


def _to_us(moment: dt.datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _iso(us: int) -> str:
    return (_EPOCH + dt.timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_incidents(path: Path, ctx: _Context) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(INCIDENT_COLUMNS)
        for incident in ctx.incidents:
            tenant = ctx.tenants[incident.tenant]
            tally = ctx.tallies[incident.incident_id]
            totals, bads = ctx.series[incident.incident_id]
            severity, rule = _expected_alert(totals, bads, tenant, ctx.start_us, incident)
            baseline = ctx.baseline[(incident.tenant, incident.slo.name)].expected_fraction
            writer.writerow(
                [
                    incident.incident_id,
                    tenant.tenant_id,
                    incident.slo.name,
                    SERVICES[incident.slo.service],
                    incident.kind,
                    _iso(incident.start_us),
                    _iso(incident.end_us),
                    f"{tally.bad / tally.total:.8f}" if tally.total else "",
                    f"{baseline:.8f}",
                    severity,
                    rule,
                ]
            )


def _firing_steps(
    totals: IntArray, bads: IntArray, budget: float, rule: PolicyRule, threshold: float
) -> IntArray:
    """The evaluation steps (bucket indexes from the first bucket) where `rule` fires.

    Step k evaluates the windows [k - w, k) over the buckets' counts; the rule fires when
    both its windows saw requests and burn strictly faster than `threshold`.
    """
    cumulative_total = np.concatenate([[0], np.cumsum(totals)])
    cumulative_bad = np.concatenate([[0], np.cumsum(bads)])
    steps = np.arange(totals.size)

    def burning(label: str) -> BoolArray:
        low = np.maximum(steps - WINDOW_MINUTES[label] // BUCKET_MINUTES, 0)
        total = cumulative_total[steps] - cumulative_total[low]
        bad = cumulative_bad[steps] - cumulative_bad[low]
        with np.errstate(divide="ignore", invalid="ignore"):
            burn = (bad / total) / budget
        return (total > 0) & (burn > threshold)

    return np.flatnonzero(burning(rule.long_window) & burning(rule.short_window))


def _expected_alert(
    totals: IntArray, bads: IntArray, tenant: _Tenant, start_us: int, incident: _Incident
) -> tuple[str, str]:
    """(severity, rule) the Workbook policy raises first for the incident, from bucket counts.

    Only steps whose long window overlaps the incident count. The severity is the highest
    that fires ("none" if no rule does); the rule is that severity's earliest, ties going
    to the policy's order.
    """
    best: dict[str, tuple[int, int, str]] = {}
    for order, rule in enumerate(workbook_policy()):
        threshold = rule.burn_threshold(tenant.cohort.period_days)
        steps = _firing_steps(totals, bads, tenant.budget(incident.slo), rule, threshold)
        at = start_us + steps * BUCKET_US
        reach = WINDOW_MINUTES[rule.long_window] * MINUTE_US
        related = steps[(at > incident.start_us) & (at - reach < incident.end_us)]
        if related.size:
            candidate = (int(related[0]), order, rule.name)
            best[rule.severity] = min(best.get(rule.severity, candidate), candidate)
    for severity in ("page", "ticket"):
        if severity in best:
            return severity, best[severity][2]
    return "none", ""
