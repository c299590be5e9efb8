"""Budgeting methods, calendar periods and custom predicates, against a brute-force oracle.

The oracle below is plain Python over the raw requests: no SQL, no bucketing
shortcuts beyond the definitions themselves. Cases cross a daylight-saving
change (Europe/Berlin, 2026-10-25), a 31-day month boundary in a zone that is
not UTC, and a 28-day February.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from pipelines.runner import run_pipeline
from pipelines.warehouse.lake import read_table
from schemas.errors import BurnwatchInputError
from schemas.manifest import load_manifest
from tests.conftest import request, write_requests

STEP = dt.timedelta(minutes=5)
WINDOWS = {"5m": 5, "30m": 30, "1h": 60, "2h": 120, "6h": 360, "1d": 1440, "3d": 4320}


@dataclass(frozen=True)
class Req:
    ts: dt.datetime  # naive UTC
    status: int
    latency: float


def make_requests(first_day: dt.date, days: int, seed: int) -> list[Req]:
    """Irregular traffic with bursts of 5xx and 429s, and gaps with no traffic at all."""
    rng = random.Random(seed)
    start = dt.datetime.combine(first_day, dt.time())
    out = []
    for minute in range(days * 1440):
        if (minute // 90) % 7 == 3:  # a quiet gap every ~10 hours
            continue
        for _ in range(rng.choice([0, 1, 1, 2])):
            ts = start + dt.timedelta(minutes=minute, seconds=rng.randrange(60))
            burst = (minute // 240) % 5 == 1
            status = rng.choices([200, 500, 429], [0.9, 0.07 if burst else 0.004, 0.03])[0]
            out.append(Req(ts, status, rng.uniform(10, 400)))
    return out


def write_dataset(root: Path, tenant: str, rows: list[Req]) -> None:
    by_day: dict[dt.date, list[dict[str, object]]] = {}
    for index, row in enumerate(rows):
        by_day.setdefault(row.ts.date(), []).append(
            request(
                f"{tenant}-{index}",
                row.ts.replace(tzinfo=dt.UTC),
                tenant=tenant,
                status=row.status,
                latency=row.latency,
            )
        )
    for day, day_rows in by_day.items():
        write_requests(
            root / "requests" / f"tenant={tenant}" / f"date={day}" / "p.parquet", day_rows
        )


# --- the oracle ---------------------------------------------------------------------------


class SloOracle:
    """Counts for one SLO's requests over any [begin, end): binary search on sorted
    timestamps, and slices keyed by their end time."""

    def __init__(
        self,
        rows: list[tuple[dt.datetime, bool]],
        budgeting: str,
        slice_minutes: int,
        target: float | None,
    ) -> None:
        rows = sorted(rows)
        self.times = [ts for ts, _ in rows]
        self.bad_prefix = [0]
        for _, bad in rows:
            self.bad_prefix.append(self.bad_prefix[-1] + bad)
        self.budgeting = budgeting
        length = dt.timedelta(minutes=slice_minutes)
        slices: dict[dt.datetime, list[bool]] = {}
        for ts, bad in rows:
            midnight = dt.datetime.combine(ts.date(), dt.time())
            slice_end = midnight + length * ((ts - midnight) // length) + length
            slices.setdefault(slice_end, []).append(bad)
        self.slice_ends = sorted(slices)
        self.slice_bad: list[float] = []
        for slice_end in self.slice_ends:
            flags = slices[slice_end]
            if budgeting == "ratio_timeslices":
                self.slice_bad.append(sum(flags) / len(flags))
            else:
                good_ratio = (len(flags) - sum(flags)) / len(flags)
                self.slice_bad.append(
                    1.0 if target is not None and good_ratio < target / 100 else 0.0
                )

    def requests(self, begin: dt.datetime, end: dt.datetime) -> tuple[int, int]:
        """(requests, bad requests) with begin <= ts < end."""
        lo, hi = bisect.bisect_left(self.times, begin), bisect.bisect_left(self.times, end)
        return hi - lo, self.bad_prefix[hi] - self.bad_prefix[lo]

    def units(self, begin: dt.datetime, end: dt.datetime) -> tuple[float, float]:
        """(units, bad units): requests, or the slices that ended in (begin, end]."""
        if self.budgeting == "occurrences":
            total, bad = self.requests(begin, end)
            return float(total), float(bad)
        lo = bisect.bisect_right(self.slice_ends, begin)
        hi = bisect.bisect_right(self.slice_ends, end)
        return float(hi - lo), sum(self.slice_bad[lo:hi])


def period_bounds(
    t: dt.datetime, calendar: str | None, zone: str, period_days: int
) -> tuple[dt.datetime, float]:
    """(period start as naive UTC, period length in hours) for the step at t."""
    if calendar is None:
        return t - dt.timedelta(days=period_days), period_days * 24.0
    tz = zoneinfo.ZoneInfo(zone)
    local = t.replace(tzinfo=dt.UTC).astimezone(tz)
    if calendar == "week":
        begin = (local - dt.timedelta(days=local.weekday())).date()
        end = begin + dt.timedelta(days=7)
    elif calendar == "month":
        begin = local.date().replace(day=1)
        end = (begin + dt.timedelta(days=32)).replace(day=1)
    else:
        begin = dt.date(local.year, 3 * ((local.month - 1) // 3) + 1, 1)
        end = (begin + dt.timedelta(days=93)).replace(day=1)

    def utc(day: dt.date) -> dt.datetime:
        aware = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        return aware.astimezone(dt.UTC).replace(tzinfo=None)

    return utc(begin), (utc(end) - utc(begin)).total_seconds() / 3600


# --- the cases ------------------------------------------------------------------------------

MANIFEST = """\
cohorts:
  c:
    availability: {objective: 99.0}
tenants:
  - id: %(tenant)s
    cohort: c
    slos:
      - {name: occ-rolling, service: api, sli: availability, period_days: 2}
      - {name: occ-month-berlin, service: api, sli: availability, calendar: month,
         timezone: Europe/Berlin}
      - {name: occ-week-berlin, service: api, sli: availability, calendar: week,
         timezone: Europe/Berlin}
      - {name: occ-month-utc, service: api, sli: availability, calendar: month}
      - {name: slices-15m, service: api, sli: availability, budgeting: timeslices,
         timeslice_minutes: 15, timeslice_target: 95.0, calendar: month, timezone: Europe/Berlin}
      - {name: ratio-slices-1h, service: api, sli: availability, budgeting: ratio_timeslices,
         timeslice_minutes: 60, period_days: 1}
      - {name: with-429, service: api, sli: availability,
         bad_when: "status_code >= 500 or status_code = 429", period_days: 1}
      - {name: good-fast, service: api, sli: latency, threshold_ms: 1000, objective: 99.0,
         good_when: "status_code < 500 and latency_ms <= 250", period_days: 1}
"""


def is_bad(slo: str, row: Req) -> bool:
    if slo == "with-429":
        return row.status >= 500 or row.status == 429
    if slo == "good-fast":
        return not (row.status < 500 and row.latency <= 250)
    return row.status >= 500


@pytest.fixture(
    scope="module",
    params=[
        # DST ends 2026-10-25; Berlin's November starts 2026-10-31 23:00 UTC.
        ("dst", dt.date(2026, 10, 23), 10),
        ("feb", dt.date(2026, 2, 25), 6),  # a 28-day February into March
    ],
)
def computed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    name, first_day, days = request.param
    root = tmp_path_factory.mktemp(name)
    rows = make_requests(first_day, days, seed=len(name))
    write_dataset(root / "data", "acme", rows)
    (root / "slos.yaml").write_text(MANIFEST % {"tenant": "acme"})
    run_pipeline(root / "data", root / "slos.yaml", root / "wh")
    specs = {slo.slo_name: slo for slo in load_manifest(root / "slos.yaml").resolved_slos()}
    return (
        rows,
        specs,
        read_table(root / "wh", "fct_burn_rates"),
        read_table(root / "wh", "fct_error_budget"),
    )


def _sample_steps(frame: pl.DataFrame) -> pl.DataFrame:
    # Every 7th step (coprime with the hour) keeps the oracle fast yet hits every phase.
    return frame.with_row_index("n").filter(pl.col("n") % 7 == 0).drop("n")


def _oracles(rows: list[Req], specs: dict) -> dict[str, SloOracle]:
    return {
        name: SloOracle(
            [(row.ts, is_bad(name, row)) for row in rows],
            spec.budgeting,
            spec.timeslice_minutes,
            spec.timeslice_target,
        )
        for name, spec in specs.items()
    }


def test_burn_rates_match_oracle_for_every_budgeting_method(computed) -> None:
    rows, specs, burn, _ = computed
    oracles = _oracles(rows, specs)
    checked = 0
    for record in _sample_steps(burn).iter_rows(named=True):
        spec, oracle = specs[record["slo_name"]], oracles[record["slo_name"]]
        t = record["eval_ts"]
        begin = t - dt.timedelta(minutes=WINDOWS[record["window"]])
        assert (record["total"], record["bad"]) == oracle.requests(begin, t)
        units, bad_units = oracle.units(begin, t)
        if units == 0:
            assert record["burn_rate"] is None, record
        else:
            expected = (bad_units / units) / ((100 - spec.objective) / 100)
            assert record["burn_rate"] == pytest.approx(expected, rel=1e-9, abs=1e-12), record
        checked += 1
    assert checked > 1000


def test_error_budget_matches_oracle_for_rolling_and_calendar_periods(computed) -> None:
    rows, specs, burn, budget = computed
    oracles = _oracles(rows, specs)
    burn_1d = {
        (r["slo_name"], r["eval_ts"]): r["burn_rate"]
        for r in burn.filter(pl.col("window") == "1d").iter_rows(named=True)
    }
    outcomes = set()
    for record in _sample_steps(budget).iter_rows(named=True):
        spec, oracle = specs[record["slo_name"]], oracles[record["slo_name"]]
        t = record["eval_ts"]
        begin, hours = period_bounds(t, spec.calendar, spec.timezone, spec.period_days)
        assert record["period_start"] == begin, record
        assert (record["objective"], record["period_days"], record["calendar"]) == (
            spec.objective,
            spec.period_days,
            spec.calendar,
        )
        assert (record["total"], record["bad"]) == oracle.requests(begin, t)
        units, bad_units = oracle.units(begin, t)
        if units == 0:
            assert record["budget_consumed_percent"] is None
            continue
        consumed = bad_units / (units * ((100 - spec.objective) / 100))
        assert record["budget_consumed_percent"] == pytest.approx(
            100 * consumed, rel=1e-9, abs=1e-10
        )
        assert record["budget_remaining_percent"] == pytest.approx(
            100 * (1 - consumed), rel=1e-9, abs=1e-10
        )
        burn_now = burn_1d[(record["slo_name"], t)]
        # Within the period: a rolling one's length from t, or until a calendar one ends.
        hours_left = hours if spec.calendar is None else hours - (t - begin).total_seconds() / 3600
        lasts = None if not burn_now else (1 - consumed) * hours / burn_now
        if consumed >= 1:
            outcomes.add("spent")
            assert record["time_to_exhaustion_hours"] == 0.0
        elif lasts is not None and lasts <= hours_left:
            outcomes.add("within")
            assert record["time_to_exhaustion_hours"] == pytest.approx(lasts)
        else:
            outcomes.add("not within")
            assert record["time_to_exhaustion_hours"] is None
    assert "within" in outcomes and "not within" in outcomes


def test_calendar_budget_resets_at_the_local_boundary(computed) -> None:
    _, _, _, budget = computed
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    month = budget.filter(pl.col("slo_name") == "occ-month-berlin").sort("eval_ts")
    starts = month["period_start"].unique().sort().to_list()
    assert len(starts) == 2  # both datasets cross one of Berlin's month boundaries
    for start in starts:
        local = start.replace(tzinfo=dt.UTC).astimezone(berlin)
        assert (local.day, local.hour, local.minute) == (1, 0, 0)
    # At the boundary the new period holds nothing yet: the budget is whole again.
    at_boundary = month.filter(pl.col("eval_ts") == starts[1])
    assert at_boundary["total"].to_list() == [0]
    assert at_boundary["budget_consumed_percent"].to_list() == [None]
    week = budget.filter(pl.col("slo_name") == "occ-week-berlin")
    for start in week["period_start"].unique().to_list():
        local = start.replace(tzinfo=dt.UTC).astimezone(berlin)
        assert (local.weekday(), local.hour, local.minute) == (0, 0, 0)


def test_february_has_28_days_and_march_31() -> None:
    _, feb_hours = period_bounds(dt.datetime(2026, 2, 10), "month", "UTC", 30)
    _, mar_hours = period_bounds(dt.datetime(2026, 3, 10), "month", "UTC", 30)
    _, oct_berlin = period_bounds(dt.datetime(2026, 10, 10), "month", "Europe/Berlin", 30)
    assert (feb_hours, mar_hours) == (28 * 24, 31 * 24)
    assert oct_berlin == 31 * 24 + 1  # October 2026 in Berlin gains the hour DST returns


@pytest.mark.parametrize(
    ("predicate", "fragment"),
    [
        ("colour = 'red'", "unknown column 'colour'"),
        ("(select 1) = 1", "subqueries"),
        ("read_parquet('x') is null", "function 'READ_PARQUET' is not allowed"),
        ("sum(latency_ms) > 5", "aggregate"),
        ("status_code >=", "not a SQL expression"),
    ],
)
def test_bad_predicates_are_refused_with_the_key(
    tmp_path: Path, predicate: str, fragment: str
) -> None:
    manifest = tmp_path / "slos.yaml"
    manifest.write_text(
        "cohorts: {c: {availability: {objective: 99}}}\n"
        "tenants:\n  - id: a\n    cohort: c\n    slos:\n"
        f'      - {{name: s, service: api, sli: availability, bad_when: "{predicate}"}}\n'
    )
    with pytest.raises(BurnwatchInputError) as error:
        load_manifest(manifest)
    assert "tenants[0].slos[0].bad_when" in str(error.value)
    assert fragment in str(error.value)
