"""Policy replay: episodes from history, scored against incidents, checked by brute force."""

from __future__ import annotations

import csv
import datetime as dt
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.models import build
from pipelines.models.registry import model_sql
from pipelines.policy.replay import (
    DEFAULT_POLICIES,
    POLICY_FRAME,
    bind_policy_day,
    load_incidents,
    replay,
    resolve_policy,
)
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake, session
from schemas.errors import BurnwatchInputError
from schemas.manifest import WINDOW_MINUTES, load_manifest
from schemas.tables import sql_columns
from tests.lake_rows import write_daily

START = dt.datetime(2026, 10, 1)
DAYS = 2
STEPS = DAYS * 288
BUDGET = 0.01  # objective 99%
MANIFEST = """\
cohorts:
  gold:
    availability: {objective: 99.0}
tenants:
  - {id: a, cohort: gold, slos: [{name: avail, service: api, sli: availability}]}
  - {id: b, cohort: gold, slos: [{name: avail, service: api, sli: availability}]}
"""
POLICY_FILE = """\
suppress_tickets_while_paging: false
rules:
  - {name: fast, severity: page, long_window: 1h, short_window: 5m, burn_rate: 10}
  - {name: slow, severity: ticket, long_window: 6h, short_window: 30m, burn_rate: 2}
"""
WORKBOOK = [
    ("page-1h", "page", "1h", "5m", 14.4),
    ("page-6h", "page", "6h", "30m", 6.0),
    ("ticket-1d", "ticket", "1d", "2h", 3.0),
    ("ticket-3d", "ticket", "3d", "6h", 1.0),
]
FILE_RULES = [("fast", "page", "1h", "5m", 10.0), ("slow", "ticket", "6h", "30m", 2.0)]


@dataclass(frozen=True)
class Incident:
    incident_id: str
    tenant: str
    start: dt.datetime
    end: dt.datetime
    expected: str


def _buckets(seed: int | None) -> dict[str, np.ndarray]:
    """Bad requests per 5-minute bucket (100 requests each) per tenant."""
    bad = {tenant: np.zeros(STEPS, dtype=np.int64) for tenant in ("a", "b")}
    bad["a"][120:126] = 60  # day 0, 10:00-10:30: an outage (incident)
    bad["b"][240:243] = 100  # day 0, 20:00-20:15: errors nobody declared (false positive)
    bad["b"][312:384] = 8  # day 1, 02:00-08:00: a slow burn (incident)
    if seed is not None:
        rng = np.random.default_rng(seed)
        for tenant in bad:
            for _ in range(4):
                first = int(rng.integers(0, STEPS - 20))
                bad[tenant][first : first + int(rng.integers(1, 20))] = int(rng.integers(1, 100))
    return bad


def _incidents() -> list[Incident]:
    minute = dt.timedelta(minutes=1)
    return [
        Incident("I-1", "a", START + 600 * minute, START + 630 * minute, "page"),
        Incident("I-2", "b", START + 1560 * minute, START + 1920 * minute, "ticket"),
        # Declared, but no errors reached the logs: no policy can detect it.
        Incident("I-3", "a", START + 2340 * minute, START + 2360 * minute, "page"),
    ]


def _burns(bad: np.ndarray) -> dict[str, list[float | None]]:
    """Burn rate per window at each step t: buckets [t - w, t) of the data."""
    cumulative_bad = np.concatenate([[0], np.cumsum(bad)])
    cumulative_total = np.concatenate([[0], np.cumsum(np.full(STEPS, 100))])
    out: dict[str, list[float | None]] = {}
    for window, minutes in WINDOW_MINUTES.items():
        values: list[float | None] = []
        for step in range(STEPS):
            low = max(step - minutes // 5, 0)
            total = cumulative_total[step] - cumulative_total[low]
            errors = cumulative_bad[step] - cumulative_bad[low]
            values.append(None if total == 0 else (errors / total) / BUDGET)
        out[window] = values
    return out


def _setup(tmp_path: Path, seed: int | None) -> tuple[Path, Path, Path, dict[str, dict]]:
    manifest = tmp_path / "slos.yaml"
    manifest.write_text(MANIFEST)
    warehouse = tmp_path / "warehouse"
    resource = BurnwatchResource(
        data_dir=str(tmp_path), manifest=str(manifest), warehouse=str(warehouse)
    )
    build.build_slo_specs(resource)
    build.build_alert_policy(resource)
    burns = {tenant: _burns(bad) for tenant, bad in _buckets(seed).items()}
    rows: dict[str, list[object]] = {
        k: [] for k in ("tenant_id", "slo_name", "eval_ts", "window", "total", "bad", "burn_rate")
    }
    for tenant, by_window in burns.items():
        for step in range(STEPS):
            for window, values in by_window.items():
                rows["tenant_id"].append(tenant)
                rows["slo_name"].append("avail")
                rows["eval_ts"].append(START + dt.timedelta(minutes=5 * step))
                rows["window"].append(window)
                rows["total"].append(0)
                rows["bad"].append(0)
                rows["burn_rate"].append(values[step])
    frame = pl.DataFrame(
        rows,
        schema={
            "tenant_id": pl.String,
            "slo_name": pl.String,
            "eval_ts": pl.Datetime("us"),
            "window": pl.String,
            "total": pl.Int64,
            "bad": pl.Int64,
            "burn_rate": pl.Float64,
        },
    )
    write_daily(warehouse, "fct_burn_rates", frame, "eval_ts", 'tenant_id, eval_ts, "window"')
    # The logs behind those burns: 100 requests in every bucket from START on, which is
    # where warm-up counts each tenant's logs from.
    buckets = pl.DataFrame(
        {
            "tenant_id": [tenant for tenant in burns for _ in range(STEPS)],
            "slo_name": ["avail"] * (len(burns) * STEPS),
            "bucket_start": [
                START + dt.timedelta(minutes=5 * step) for _ in burns for step in range(STEPS)
            ],
            "total": [100] * (len(burns) * STEPS),
        },
        schema={
            "tenant_id": pl.String,
            "slo_name": pl.String,
            "bucket_start": pl.Datetime("us"),
            "total": pl.Int64,
        },
    )
    write_daily(warehouse, "int_sli_buckets", buckets, "bucket_start", "tenant_id, bucket_start")
    incidents = tmp_path / "incidents.csv"
    with incidents.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["incident_id", "tenant_id", "slo_name", "start", "end", "expected_severity"]
        )
        for incident in _incidents():
            writer.writerow(
                [
                    incident.incident_id,
                    incident.tenant,
                    "avail",
                    f"{incident.start:%Y-%m-%dT%H:%M:%SZ}",
                    f"{incident.end:%Y-%m-%dT%H:%M:%SZ}",
                    incident.expected,
                ]
            )
    policy = tmp_path / "fast-slow.yaml"
    policy.write_text(POLICY_FILE)
    return warehouse, manifest, incidents, burns


def _oracle(
    burns: dict[str, dict], rules: list[tuple[str, str, str, str, float]], suppress: bool
) -> dict[str, object]:
    """Brute force: evaluate every rule at every step, cut episodes, match incidents."""
    range_end = START + dt.timedelta(days=DAYS)
    episodes: list[
        tuple[str, tuple[str, str, str, str, float], dt.datetime, dt.datetime | None]
    ] = []
    for tenant, by_window in burns.items():

        def fires(
            rule: tuple[str, str, str, str, float], step: int, by_window: dict = by_window
        ) -> bool:
            _, _, long, short, threshold = rule
            values = (by_window[long][step], by_window[short][step])
            # Warm-up: the logs start at step 0, so the long window is all logs from
            # the step that is a whole long window after it.
            warm = step >= WINDOW_MINUTES[long] // 5
            return warm and all(value is not None and value > threshold for value in values)

        for rule in rules:
            # A ticket cannot open while a page fires, but one already open stays open.
            active: list[bool] = []
            for step in range(STEPS):
                paging = any(fires(other, step) for other in rules if other[1] == "page")
                held = suppress and rule[1] == "ticket" and paging
                active.append(fires(rule, step) and (not held or (step > 0 and active[-1])))
            step = 0
            while step < STEPS:
                if not active[step]:
                    step += 1
                    continue
                first = step
                while step < STEPS and active[step]:
                    step += 1
                resolved = START + dt.timedelta(minutes=5 * step) if step < STEPS else None
                episodes.append((tenant, rule, START + dt.timedelta(minutes=5 * first), resolved))

    def matches(episode: tuple, incident: Incident) -> bool:
        tenant, rule, started, resolved = episode
        grace = dt.timedelta(minutes=WINDOW_MINUTES[rule[2]])
        return (
            tenant == incident.tenant
            and started < incident.end + grace
            and (resolved or range_end) > incident.start
        )

    incidents = _incidents()
    true_episodes = sum(any(matches(e, i) for i in incidents) for e in episodes)
    detections, resets, at_severity = [], [], 0
    for incident in incidents:
        found = [e for e in episodes if matches(e, incident)]
        if not found:
            continue
        detections.append(min((e[2] - incident.start).total_seconds() / 60 for e in found))
        if all(e[3] is not None for e in found):
            resets.append(
                max(((e[3] or range_end) - incident.end).total_seconds() / 60 for e in found)
            )
        rank = {"page": 2, "ticket": 1}
        at_severity += max(rank[e[1][1]] for e in found) >= rank[incident.expected]
    pages = sum(e[1][1] == "page" for e in episodes)
    tenant_weeks = 2 * DAYS / 7
    return {
        "episodes": len(episodes),
        "pages": pages,
        "tickets": len(episodes) - pages,
        "pages_per_tenant_week": pages / tenant_weeks,
        "true_episodes": true_episodes,
        "precision": true_episodes / len(episodes) if episodes else None,
        "incidents": len(incidents),
        "detected": len(detections),
        "recall": len(detections) / len(incidents),
        "recall_at_severity": at_severity / len(incidents),
        "detection_median_minutes": statistics.median(detections) if detections else None,
        "detection_max_minutes": max(detections) if detections else None,
        "reset_median_minutes": statistics.median(resets) if resets else None,
        "reset_max_minutes": max(resets) if resets else None,
    }


@pytest.mark.parametrize("seed", [None, 3])
def test_replay_metrics_match_a_brute_force_oracle(tmp_path: Path, seed: int | None) -> None:
    warehouse, manifest, incidents, burns = _setup(tmp_path, seed)
    result = replay(warehouse, manifest, ["workbook", str(tmp_path / "fast-slow.yaml")], incidents)
    rows = {row["policy_name"]: row for row in result.comparison.iter_rows(named=True)}
    assert list(rows) == ["workbook", "fast-slow"]
    for name, rules, suppress in (("workbook", WORKBOOK, True), ("fast-slow", FILE_RULES, False)):
        expected = _oracle(burns, rules, suppress)
        for key, value in expected.items():
            assert rows[name][key] == pytest.approx(value), (name, key)


def test_the_fixed_case_has_a_false_positive_and_a_missed_incident(tmp_path: Path) -> None:
    warehouse, manifest, incidents, _ = _setup(tmp_path, None)
    replay(warehouse, manifest, ["workbook"], incidents)
    episodes = lake.read_table(warehouse, "replay_episodes")
    false_positives = episodes.filter(pl.col("matched_incidents") == 0)
    assert set(false_positives["tenant_id"]) == {"b"}
    # 1h burn: 100 bad of 1200 at 20:05 (8.3x), 200 of 1200 at 20:10 (16.7x > 14.4x).
    assert false_positives["started_at"].min() == START + dt.timedelta(hours=20, minutes=10)
    detections = lake.read_table(warehouse, "replay_detections")
    assert detections.filter(~pl.col("detected"))["incident_id"].to_list() == ["I-3"]


def test_single_window_resets_later_than_multiwindow(tmp_path: Path) -> None:
    warehouse, manifest, incidents, _ = _setup(tmp_path, None)
    result = replay(warehouse, manifest, ["workbook", "single-window"], incidents)
    rows = {row["policy_name"]: row for row in result.comparison.iter_rows(named=True)}
    assert rows["single-window"]["recall"] == rows["workbook"]["recall"]
    assert rows["single-window"]["reset_max_minutes"] > rows["workbook"]["reset_max_minutes"]


def test_bad_policy_and_incident_inputs_are_named(tmp_path: Path) -> None:
    warehouse, manifest, incidents, _ = _setup(tmp_path, None)
    with pytest.raises(BurnwatchInputError, match="not a built-in policy"):
        replay(warehouse, manifest, ["no-such-policy"], incidents)
    broken = tmp_path / "broken.csv"
    broken.write_text("tenant_id,start\na,2026-10-01T00:00:00Z\n")
    with pytest.raises(BurnwatchInputError, match="missing column"):
        load_incidents(broken)
    with pytest.raises(BurnwatchInputError, match="--from"):
        replay(
            warehouse, manifest, ["workbook"], incidents, dt.date(2026, 10, 2), dt.date(2026, 10, 1)
        )


def test_sample_data_replay_detects_every_incident(tmp_path: Path) -> None:
    """The generator's ground truth, through the whole pipeline, then replayed."""
    from click.testing import CliRunner

    from pipelines.cli.commands import cli
    from pipelines.runner import run_pipeline
    from pipelines.sample.generator import generate_sample

    sample = generate_sample(tmp_path / "sample", tenants=3, days=7, seed=7, scale=0.2)
    warehouse = tmp_path / "warehouse"
    run_pipeline(tmp_path / "sample", sample.manifest, warehouse)
    # The policy_replay asset already scored the default policies against incidents.csv.
    by_asset = lake.read_table(warehouse, "replay_comparison")
    assert by_asset["policy_name"].to_list() == ["workbook", "cohort", "single-window"]
    outcome = CliRunner().invoke(
        cli,
        [
            "replay",
            "--warehouse",
            str(warehouse),
            "--manifest",
            str(sample.manifest),
            "--incidents",
            str(sample.incidents),
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    assert "workbook" in outcome.output and "single-window" in outcome.output
    comparison = lake.read_table(warehouse, "replay_comparison")
    workbook = comparison.row(0, named=True)
    assert workbook["incidents"] == len(load_incidents(sample.incidents)) > 0
    assert workbook["recall"] == 1.0
    assert workbook["recall_at_severity"] == 1.0
    # The Workbook policy replayed equals the pipeline's own episodes (same manifest policy).
    replayed = (
        lake.read_table(warehouse, "replay_episodes")
        .filter(pl.col("policy_name") == "workbook")
        .select("tenant_id", "slo_name", "rule_name", "started_at", "resolved_at")
    )
    pipeline = lake.read_table(warehouse, "fct_alert_episodes").select(
        "tenant_id", "slo_name", "rule_name", "started_at", "resolved_at"
    )
    assert replayed.sort(replayed.columns).equals(pipeline.sort(pipeline.columns))


def every_step_replay(
    warehouse: Path, manifest_path: Path, policy_name: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A policy's episodes and alerts with its rules evaluated at every step: the
    pipeline's own models over every day of fct_burn_rates, with none of the replay's
    narrowing to the steps where a rule could fire (the reference the replay must equal)."""
    policy = resolve_policy(policy_name, load_manifest(manifest_path))
    with session.connect() as connection:
        connection.register(POLICY_FRAME, policy.alert_policy.to_arrow())
        days: list[pl.DataFrame] = []
        for day in lake.partition_days(warehouse, "fct_burn_rates"):
            bind_policy_day(connection, warehouse, policy, day)
            days.append(connection.sql(model_sql("fct_alert_evaluations")).pl())
        connection.register("every_step_evaluations", pl.concat(days).to_arrow())
        session.bind(connection, "fct_alert_evaluations", "select * from every_step_evaluations")
        episodes = connection.sql(model_sql("fct_alert_episodes")).pl()
        build.bind_alert_params(connection, policy.policy)
        alerts = connection.sql(model_sql("fct_alerts")).pl()
    return episodes, alerts


def assert_replay_is_every_step_replay(
    warehouse: Path, manifest_path: Path, policies: tuple[str, ...] = DEFAULT_POLICIES
) -> None:
    """The lake's replay_episodes and replay_alerts of each policy hold the rows of
    `every_step_replay`: evaluating only where a rule could fire loses nothing."""
    replayed_episodes = lake.read_table(warehouse, "replay_episodes")
    replayed_alerts = lake.read_table(warehouse, "replay_alerts")
    # The columns the replay keeps of fct_alert_episodes and fct_alerts.
    episode_columns = [c for c in sql_columns("fct_alert_episodes") if c in replayed_episodes]
    alert_columns = [c for c in sql_columns("fct_alerts") if c in replayed_alerts]
    for name in policies:
        episodes, alerts = every_step_replay(warehouse, manifest_path, name)
        for replayed, expected, columns in (
            (replayed_episodes, episodes, episode_columns),
            (replayed_alerts, alerts, alert_columns),
        ):
            got = replayed.filter(pl.col("policy_name") == name).select(columns)
            want = expected.select(columns)
            assert got.sort(columns, nulls_last=True).equals(want.sort(columns, nulls_last=True)), (
                name,
                columns[0],
                got.height,
                want.height,
            )


def test_the_sample_replay_equals_every_step_evaluated(tmp_path: Path) -> None:
    """Silences, warm-ups, cooldowns and cohort thresholds of the sample: each default
    policy's replayed episodes and alerts are those of every step evaluated."""
    from pipelines.runner import run_pipeline
    from pipelines.sample.generator import generate_sample

    sample = generate_sample(tmp_path / "sample", tenants=4, days=7, seed=11, scale=0.2)
    warehouse = tmp_path / "warehouse"
    run_pipeline(tmp_path / "sample", sample.manifest, warehouse)
    alerts = lake.read_table(warehouse, "replay_alerts")
    # Something to compare: each policy alerted, and some alert resolved after a quiet step.
    assert set(alerts["policy_name"]) == set(DEFAULT_POLICIES)
    assert alerts["resolved_at"].is_not_null().any()
    assert_replay_is_every_step_replay(warehouse, sample.manifest)


SILENCE_MANIFEST = """\
cohorts:
  standard:
    availability: {objective: 99.9}
tenants:
  - id: acme
    cohort: standard
    slos: [{name: api-availability, service: api, sli: availability}]
  - id: globex
    cohort: standard
    slos: [{name: api-availability, service: api, sli: availability}]
"""


def test_an_alert_open_through_days_without_a_candidate_step_resolves_as_every_step_says(
    tmp_path: Path,
) -> None:
    """acme's page fires on day 1, then its logs stop (no_data: no step is quiet, so the
    alert stays open) and come back healthy on day 6. The 3-day window holds the outage
    into day 4; no window of days 5 and 6 burns at all, so day 6 and the day before it
    have no candidate step: the replay must still count day 6's quiet steps, from the
    candidates of earlier days, to resolve the alert where every step evaluated does."""
    from pipelines.runner import run_pipeline
    from tests.conftest import request, write_requests

    first = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    outage = (first + dt.timedelta(hours=9, minutes=30), first + dt.timedelta(hours=11))
    back = first + dt.timedelta(days=5)
    data = tmp_path / "data"
    for day in range(7):
        for tenant in ("acme", "globex"):
            rows = []
            for minute in range(24 * 60):
                ts = first + dt.timedelta(days=day, minutes=minute, seconds=7)
                if tenant == "acme" and outage[1] <= ts < back:
                    continue  # the silence
                failing = tenant == "acme" and outage[0] <= ts < outage[1]
                rows.append(
                    request(f"{tenant}-{day}-{minute}", ts, tenant, 503 if failing else 200)
                )
            folder = data / "requests" / f"tenant={tenant}" / f"date={ts:%Y-%m-%d}"
            if rows:
                write_requests(folder / "part.parquet", rows)
    manifest = tmp_path / "slos.yaml"
    manifest.write_text(SILENCE_MANIFEST)
    warehouse = tmp_path / "warehouse"
    run_pipeline(data, manifest, warehouse)
    alerts = lake.read_table(warehouse, "replay_alerts").filter(
        (pl.col("policy_name") == "workbook") & (pl.col("tenant_id") == "acme")
    )
    # The scenario holds: the page opened on day 1 and resolved once the logs came back.
    assert alerts.height == 1
    [alert] = alerts.to_dicts()
    assert alert["started_at"] < outage[1].replace(tzinfo=None)
    assert alert["resolved_at"] is not None and alert["resolved_at"] > back.replace(tzinfo=None)
    assert_replay_is_every_step_replay(warehouse, manifest)
