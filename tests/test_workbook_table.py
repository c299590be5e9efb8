"""The SRE Workbook's worked numbers (ch. 5, "Alerting on SLOs"), through the pipeline.

Budget consumed by a rule: burn b over long window w of a 30-day period spends
b * w / 30d: 14.4x/1h = 2%, 6x/6h = 5%, 3x/1d = 10%, 1x/3d = 10%.

Detection time of a 100% outage of a 99.9% SLO: the long window's burn passes b
once the outage has lasted b * (1 - objective) * w: 14.4 * 0.001 * 60 min =
0.864 min for 14.4x/1h, 6 * 0.001 * 360 min = 2.16 min for 6x/6h, 4.32 min for
3x/1d and 1x/3d. With traffic at a constant rate the pipeline must fire at the
first 5-minute evaluation step at or after the predicted moment, and not before.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.manifest import WINDOW_MINUTES, workbook_policy
from schemas.tables import arrow_schema

OUTAGE_DAY = dt.date(2026, 3, 4)
DAYS = [OUTAGE_DAY - dt.timedelta(days=n) for n in (3, 2, 1, 0)]
# The outage starts between two steps, so each rule's step is pinned down.
OUTAGE_START = dt.datetime(2026, 3, 4, 12, 3, 30)
OUTAGE_END = dt.datetime(2026, 3, 4, 13, 0)
EVERY = dt.timedelta(seconds=6)  # 10 requests a minute, every window full of traffic
OBJECTIVE = 99.9

MANIFEST = """\
cohorts:
  enterprise:
    availability: {objective: 99.9}
tenants:
  - id: steady
    cohort: enterprise
    slos:
      - {name: api, service: api, sli: availability}
"""

WORKBOOK = [
    # rule, budget consumed (%), detection time of a 100% outage (minutes)
    ("page-1h", 2.0, 0.864),
    ("page-6h", 5.0, 2.16),
    ("ticket-1d", 10.0, 4.32),
    ("ticket-3d", 10.0, 4.32),
]

SCHEMA = arrow_schema("raw_requests")


def _write_constant_traffic(data: Path) -> None:
    for day in DAYS:
        start = dt.datetime.combine(day, dt.time())
        rows: list[dict[str, Any]] = []
        ts = start
        while ts < start + dt.timedelta(days=1):
            bad = OUTAGE_START <= ts < OUTAGE_END
            rows.append(
                {
                    "request_id": f"r{ts:%Y%m%d%H%M%S}",
                    "ts": ts.replace(tzinfo=dt.UTC),
                    "tenant_id": "steady",
                    "service": "api",
                    "operation": None,
                    "status_code": 503 if bad else 200,
                    "latency_ms": 20.0,
                    "replica": "r1",
                }
            )
            ts += EVERY
        folder = data / "requests" / "tenant=steady" / f"date={day}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), folder / "part-0.parquet")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workbook")
    _write_constant_traffic(root / "data")
    (root / "slos.yaml").write_text(MANIFEST)
    return build_lake(root, DAYS)


def build_lake(root: Path, days: list[dt.date]) -> Path:
    """Compute the alerting tables for `days` of `root/data` through `pipelines.models.build`."""
    from pipelines.ingest import staging
    from pipelines.models import build
    from pipelines.resources import BurnwatchResource

    resource = BurnwatchResource(
        data_dir=str(root / "data"),
        manifest=str(root / "slos.yaml"),
        warehouse=str(root / "warehouse"),
        threads=2,
    )
    build.build_slo_specs(resource)
    build.build_alert_policy(resource)
    # As a batch run does: every day staged, then the horizons over them, then the rest.
    for day in days:
        staging.build_stg_requests(resource, day)
    build.build_int_tenant_horizons(resource, (days[0], days[-1]))
    for day in days:
        build.build_int_sli_buckets(resource, day)
        build.build_fct_burn_rates(resource, day)
        build.build_fct_alert_evaluations(resource, day)
    build.build_fct_alert_episodes(resource)
    return root / "warehouse"


@pytest.mark.parametrize(("rule_name", "percent", "minutes"), WORKBOOK)
def test_workbook_arithmetic(rule_name: str, percent: float, minutes: float) -> None:
    rule = next(r for r in workbook_policy() if r.name == rule_name)
    assert rule.burn_rate is not None
    window = WINDOW_MINUTES[rule.long_window]
    assert rule.burn_rate * window / (30 * 24 * 60) * 100 == pytest.approx(percent)
    assert rule.burn_rate * (1 - OBJECTIVE / 100) * window == pytest.approx(minutes)


@pytest.mark.parametrize(("rule_name", "percent", "minutes"), WORKBOOK)
def test_alert_policy_reports_the_workbook_budget_share(
    warehouse: Path, rule_name: str, percent: float, minutes: float
) -> None:
    from pipelines.warehouse.lake import read_table

    policy = read_table(warehouse, "alert_policy").filter(pl.col("rule_name") == rule_name)
    assert policy["budget_consumed_percent"].to_list() == pytest.approx([percent])
    assert policy["can_fire"].to_list() == [True]


@pytest.mark.parametrize(("rule_name", "percent", "minutes"), WORKBOOK)
def test_first_firing_step_follows_the_predicted_detection_time(
    warehouse: Path, rule_name: str, percent: float, minutes: float
) -> None:
    from pipelines.warehouse.lake import read_table

    evaluations = (
        read_table(warehouse, "fct_alert_evaluations")
        .filter(
            (pl.col("rule_name") == rule_name)
            & (pl.col("eval_ts") >= OUTAGE_START - dt.timedelta(hours=1))
            & (pl.col("eval_ts") < OUTAGE_END)
        )
        .sort("eval_ts")
    )
    first = evaluations.filter(pl.col("fires"))["eval_ts"][0]
    predicted = OUTAGE_START + dt.timedelta(minutes=minutes)
    assert predicted <= first < predicted + dt.timedelta(minutes=5)
    # Nothing fired before the outage, and from then on the rule keeps firing.
    before = evaluations.filter(pl.col("eval_ts") < first)
    assert not before["fires"].any()
    assert evaluations.filter(pl.col("eval_ts") >= first)["fires"].all()
    assert set(evaluations["state"]) <= {"ok", "firing"}


def test_detection_steps_are_exactly_the_hand_computed_ones(warehouse: Path) -> None:
    """With the outage at 12:03:30: page-1h passes 14.4x at 12:04:22 and page-6h 6x at
    12:05:40, so page-1h fires at 12:05 and page-6h only at 12:10 (at 12:05 its 6h
    window holds 15 bad of 3600 requests: 4.17x)."""
    from pipelines.warehouse.lake import read_table

    firsts = (
        read_table(warehouse, "fct_alert_evaluations")
        .filter(pl.col("fires") & (pl.col("eval_ts").dt.date() == OUTAGE_DAY))
        .group_by("rule_name")
        .agg(pl.col("eval_ts").min())
    )
    got = dict(zip(firsts["rule_name"], firsts["eval_ts"], strict=True))
    at = dt.datetime(2026, 3, 4, 12, 5)
    assert got == {
        "page-1h": at,
        "page-6h": at + dt.timedelta(minutes=5),
        "ticket-1d": at + dt.timedelta(minutes=5),
        "ticket-3d": at + dt.timedelta(minutes=5),
    }
    six = (
        read_table(warehouse, "fct_alert_evaluations")
        .filter((pl.col("rule_name") == "page-6h") & (pl.col("eval_ts") == at))
        .to_dicts()[0]
    )
    assert (six["long_bad"], six["long_total"]) == (15, 3600)
    assert math.isclose(six["long_burn_rate"], 15 / 3600 / 0.001, rel_tol=1e-9)
