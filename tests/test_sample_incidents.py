"""The sample's injected incidents page (or ticket) when the SRE Workbook's math says they
should, and nothing pages outside them.

The predicted detection time is computed here from the raw logs alone: per-minute
request counts of the incident's tenant and service, the incident's bad fraction
inside it and the baseline fraction outside, and the rule's two windows and
threshold. A rule fires when the expected bad fraction of both windows exceeds
burn_rate x (1 - objective): the Workbook's detection-time formula, applied to
the traffic the sample really has instead of a constant rate.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from pipelines.runner import run_pipeline
from pipelines.sample.generator import generate_sample
from pipelines.warehouse.lake import read_table
from schemas.manifest import WINDOW_MINUTES, load_manifest

pytestmark = pytest.mark.slow
STEP = dt.timedelta(minutes=5)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("sample")
    generate_sample(root / "data", tenants=6, days=7, seed=7)
    run_pipeline(root / "data", root / "data" / "slos.yaml", root / "wh", dry_run=True)
    with open(root / "data" / "incidents.csv", newline="") as handle:
        incidents = [row for row in csv.DictReader(handle) if row["expected_severity"] != "none"]
    return root, incidents, read_table(root / "wh", "fct_alert_episodes")


@pytest.fixture(scope="module")
def sample_alerts(sample_run) -> tuple[list[dict[str, str]], list[dict[str, object]]]:
    """Every injected incident (expected or not) and the run's grouped alerts."""
    root = sample_run[0]
    with open(root / "data" / "incidents.csv", newline="") as handle:
        incidents = list(csv.DictReader(handle))
    return incidents, read_table(root / "wh", "fct_alerts").to_dicts()


def _explains(incident: dict[str, str], alert: dict[str, object]) -> bool:
    """The alert opened during the incident, or within the longest window after it."""
    longest = dt.timedelta(minutes=max(WINDOW_MINUTES.values()))
    started = alert["started_at"]
    assert isinstance(started, dt.datetime)
    return (
        incident["tenant_id"] == alert["tenant_id"]
        and incident["slo_name"] == alert["slo_name"]
        and _parse(incident["start"]) <= started <= _parse(incident["end"]) + longest
    )


def _pages(alert: dict[str, object]) -> int:
    """Pages people receive from an alert: its opening if it paged, then its escalation."""
    return int(alert["opened_severity"] == "page") + int(alert["escalated_at"] is not None)


def _minute_counts(data: Path, tenant: str, service: str) -> dict[dt.datetime, int]:
    """Requests per minute of one tenant and service, each request once (earliest copy)."""
    frame = (
        pl.scan_parquet(str(data / "requests" / f"tenant={tenant}" / "*" / "*.parquet"))
        .filter(pl.col("service") == service)
        .group_by("request_id")
        .agg(pl.col("ts").min())
        .with_columns(pl.col("ts").dt.replace_time_zone(None).dt.truncate("1m").alias("minute"))
        .group_by("minute")
        .len()
        .collect()
    )
    return dict(zip(frame["minute"].to_list(), frame["len"].to_list(), strict=True))


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def predicted_detection(
    counts: dict[dt.datetime, int],
    start: dt.datetime,
    end: dt.datetime,
    bad_fraction: float,
    baseline: float,
    windows: tuple[int, int],
    allowed: float,
) -> dt.datetime:
    """The first minute at which both windows' expected bad fraction exceeds `allowed`."""

    def expected_fraction(at: dt.datetime, minutes: int) -> float:
        total = bad = 0.0
        for offset in range(1, minutes + 1):
            minute = at - dt.timedelta(minutes=offset)
            n = counts.get(minute, 0)
            total += n
            bad += n * (bad_fraction if start <= minute < end else baseline)
        return bad / total if total else 0.0

    at = start
    while at <= end + dt.timedelta(days=1):
        if all(expected_fraction(at, minutes) > allowed for minutes in windows):
            return at
        at += dt.timedelta(minutes=1)
    raise AssertionError("the incident never crosses its threshold")


def test_each_incident_opens_its_expected_episode_when_the_workbook_predicts(sample_run) -> None:
    root, incidents, episodes = sample_run
    manifest = load_manifest(root / "data" / "slos.yaml")
    objectives = {(s.tenant_id, s.slo_name): s for s in manifest.resolved_slos()}
    rules = {rule.name: rule for rule in manifest.policy.rules}
    assert {row["kind"] for row in incidents} >= {"outage", "slow_burn"}
    for incident in incidents:
        tenant, slo = incident["tenant_id"], incident["slo_name"]
        rule = rules[incident["expected_rule"]]
        spec = objectives[(tenant, slo)]
        start, end = _parse(incident["start"]), _parse(incident["end"])
        predicted = predicted_detection(
            _minute_counts(root / "data", tenant, incident["service"]),
            start,
            end,
            float(incident["bad_fraction"]),
            float(incident["baseline_bad_fraction"]),
            (WINDOW_MINUTES[rule.long_window], WINDOW_MINUTES[rule.short_window]),
            rule.burn_threshold(spec.period_days) * (100 - spec.objective) / 100,
        )
        opened = episodes.filter(
            (pl.col("tenant_id") == tenant)
            & (pl.col("slo_name") == slo)
            & (pl.col("rule_name") == rule.name)
            & (pl.col("started_at") >= start)
            & (pl.col("started_at") <= end + dt.timedelta(minutes=WINDOW_MINUTES[rule.long_window]))
        )
        assert opened.height >= 1, f"{incident['incident_id']}: no {rule.name} episode"
        started = opened["started_at"].min()
        assert abs(started - predicted) <= STEP, (
            f"{incident['incident_id']} ({incident['kind']}): {rule.name} opened at {started}, "
            f"the Workbook's math predicts {predicted}"
        )


def test_no_page_outside_the_incidents(sample_run) -> None:
    _, incidents, episodes = sample_run
    longest = dt.timedelta(minutes=max(WINDOW_MINUTES.values()))
    for page in episodes.filter(pl.col("severity") == "page").iter_rows(named=True):
        explained = any(
            row["tenant_id"] == page["tenant_id"]
            and row["slo_name"] == page["slo_name"]
            and _parse(row["start"]) <= page["started_at"] <= _parse(row["end"]) + longest
            for row in incidents
        )
        assert explained, f"page outside any incident: {page}"


def test_each_incident_is_one_alert_that_pages_or_tickets_once(sample_alerts) -> None:
    incidents, alerts = sample_alerts
    for incident in incidents:
        if incident["expected_severity"] == "none":
            continue
        mine = [a for a in alerts if _explains(incident, a)]
        assert len(mine) == 1, f"{incident['incident_id']}: {len(mine)} alerts"
        [alert] = mine
        assert alert["escalations"] <= 1
        # One page, or one ticket: a page alert sends one page, a ticket alert none.
        expected = incident["expected_severity"]
        assert alert["peak_severity"] == expected, incident["incident_id"]
        assert _pages(alert) == (1 if expected == "page" else 0)


def test_alerts_detect_no_later_than_the_first_episode(sample_run, sample_alerts) -> None:
    _, _, episodes = sample_run
    incidents, alerts = sample_alerts
    for incident in incidents:
        if incident["expected_severity"] == "none":
            continue
        [alert] = [a for a in alerts if _explains(incident, a)]
        first = episodes.filter(
            (pl.col("tenant_id") == incident["tenant_id"])
            & (pl.col("slo_name") == incident["slo_name"])
            & (pl.col("started_at") >= _parse(incident["start"]))
        )["started_at"].min()
        assert alert["started_at"] <= first


def test_no_alert_outside_the_incidents_the_first_hours_included(sample_alerts) -> None:
    incidents, alerts = sample_alerts
    for alert in alerts:
        assert any(_explains(incident, alert) for incident in incidents), alert


def test_the_slow_burn_that_flaps_per_rule_pages_once(sample_run, sample_alerts) -> None:
    _, _, episodes = sample_run
    incidents, alerts = sample_alerts
    [slow] = [i for i in incidents if i["kind"] == "slow_burn" and i["expected_severity"] == "page"]
    rule = episodes.filter(
        (pl.col("tenant_id") == slow["tenant_id"])
        & (pl.col("rule_name") == slow["expected_rule"])
        & (pl.col("started_at") >= _parse(slow["start"]))
    )
    assert rule.height >= 2, "the per-rule episodes no longer flap: the test shows nothing"
    [alert] = [a for a in alerts if _explains(slow, a)]
    assert _pages(alert) == 1


def test_the_replay_counts_one_page_per_incident_and_the_cohort_guard_pages_no_more(
    sample_run,
) -> None:
    """Replay on the sample (issue 13): the default (Workbook) policy sends one page per
    paging incident, and the cohort policy is at least as precise at the same recall, with
    no more pages: its thresholds are a guard, never below the rule's own."""
    root = sample_run[0]
    comparison = {
        row["policy_name"]: row for row in read_table(root / "wh", "replay_comparison").to_dicts()
    }
    workbook, cohort = comparison["workbook"], comparison["cohort"]
    assert workbook["pages_per_incident"] == 1.0
    assert workbook["alert_recall"] == 1.0
    assert cohort["alert_recall"] == workbook["alert_recall"]
    assert cohort["recall"] == workbook["recall"]
    assert cohort["alert_precision"] >= workbook["alert_precision"]
    assert cohort["precision"] >= workbook["precision"]
    assert cohort["pages_sent"] <= workbook["pages_sent"]
