"""Many small tenants: 300 tenants with a few requests each run through the whole
pipeline, and every fact table matches the brute-force oracle (tests/oracle.py).

Tenants are rows, not partitions: the run must not fail, skip or mix tenants
when there are hundreds of them and almost none has traffic at a given step.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from oracle import Request, load_requests, run_all
from test_pipeline_vs_oracle import assert_same_rows, pipeline_rows, run, write_requests
from test_replay import assert_replay_is_every_step_replay

from schemas.manifest import load_manifest

pytestmark = pytest.mark.slow

TENANTS = 300
DAY = date(2024, 6, 3)
# These tenants have an outage: most of their few requests fail, so their rules fire.
FAILING = {7, 150, 299}


def manifest_text() -> str:
    lines = [
        "version: 1",
        "period_days: 30",
        "cohorts:",
        "  standard:",
        "    availability: {objective: 99.0}",
        # A few requests a day, hours apart: a low-traffic cohort, which says so. Its
        # quiet hours are no gaps, so its rules warm up once, from the first request.
        "    max_silence_minutes: 1440",
        "tenants:",
    ]
    for number in range(TENANTS):
        lines += [
            f"  - id: t{number:03d}",
            "    cohort: standard",
            "    slos:",
            "      - {name: api-availability, service: api, sli: availability}",
        ]
    return "\n".join(lines) + "\n"


def dataset(seed: int = 5) -> list[tuple[date, Request]]:
    """A few requests per tenant over the day, some logged twice by another replica."""
    rng = random.Random(seed)
    placed: list[tuple[date, Request]] = []
    for number in range(TENANTS):
        tenant = f"t{number:03d}"
        for index in range(rng.randint(2, 6)):
            ts = datetime(DAY.year, DAY.month, DAY.day) + timedelta(seconds=rng.uniform(0, 86_399))
            failing = number in FAILING and index > 0
            row = Request(
                request_id=f"{tenant}-{index}",
                ts=ts,
                tenant_id=tenant,
                service="api",
                operation=None,
                status_code=503 if failing else 200,
                latency_ms=round(rng.uniform(5, 400), 3),
                replica="r1",
            )
            placed.append((DAY, row))
            if rng.random() < 0.3:
                copy = Request(**{**vars(row), "replica": "r2"})
                placed.append((DAY, copy))
    return placed


@pytest.fixture(scope="module")
def many_tenants_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("many_tenants")
    data_dir, warehouse, manifest = root / "data", root / "warehouse", root / "slos.yaml"
    write_requests(data_dir, dataset(), files_per_folder=1, seed=3)
    manifest.write_text(manifest_text(), encoding="utf-8")
    run(data_dir, manifest, warehouse, [DAY])
    loaded = load_manifest(manifest)
    expected = run_all(load_requests(data_dir), loaded.resolved_slos(), loaded.policy.rules, [DAY])
    return {"warehouse": warehouse, "expected": expected, "manifest": manifest}


def test_every_tenant_is_evaluated(many_tenants_run: dict[str, Any]) -> None:
    rows = pipeline_rows(many_tenants_run["warehouse"], "fct_error_budget")
    assert len({row["tenant_id"] for row in rows}) == TENANTS


def test_the_failing_tenants_and_only_they_fire(many_tenants_run: dict[str, Any]) -> None:
    episodes = pipeline_rows(many_tenants_run["warehouse"], "fct_alert_episodes")
    assert {row["tenant_id"] for row in episodes} == {f"t{n:03d}" for n in FAILING}


@pytest.mark.parametrize(
    "table",
    [
        "stg_requests",
        "fct_burn_rates",
        "fct_error_budget",
        "fct_alert_evaluations",
        "fct_alert_episodes",
    ],
)
def test_many_tenants_match_the_oracle_row_for_row(
    many_tenants_run: dict[str, Any], table: str
) -> None:
    assert_same_rows(
        table,
        pipeline_rows(many_tenants_run["warehouse"], table),
        many_tenants_run["expected"][table],
    )


def test_the_replay_of_many_quiet_tenants_equals_every_step_evaluated(
    many_tenants_run: dict[str, Any],
) -> None:
    """Almost every step of these tenants is no rule's candidate: the replay evaluates the
    few that are, and its episodes and alerts are still every step's."""
    warehouse = many_tenants_run["warehouse"]
    assert_replay_is_every_step_replay(warehouse, many_tenants_run["manifest"])
