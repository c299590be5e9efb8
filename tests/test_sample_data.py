"""The sample-data generator: deterministic, in the contract's shape, with honest ground truth.

The checks read the generated Parquet back with polars, deduplicate replicas the way
DESIGN.md says (per tenant and request id, the earliest `ts`, then the smallest
replica), and replay the SRE Workbook policy by brute force over 5-minute buckets.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from pipelines.sample.generator import generate_sample
from schemas.errors import BurnwatchInputError
from schemas.manifest import WINDOW_MINUTES, ResolvedSlo, load_manifest, workbook_policy
from schemas.tables import arrow_schema

START = dt.date(2026, 10, 1)
BUCKET_US = 5 * 60 * 1_000_000
STEPS_PER_DAY = 288
EXPECTED_SCHEMA = arrow_schema("raw_requests")


@dataclass(frozen=True)
class Sample:
    out: Path
    days: int
    raw: pl.DataFrame  # every row, with the day folder it was found in
    requests: pl.DataFrame  # one row per (tenant_id, request_id): the earliest copy
    incidents: list[dict[str, str]]
    slos: list[ResolvedSlo]


def _epoch_us(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * 86_400 * 1_000_000


def _parse_us(text: str) -> int:
    moment = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    return int((moment - dt.datetime(1970, 1, 1)).total_seconds()) * 1_000_000


def _load(out: Path, days: int) -> Sample:
    raw = pl.read_parquet(
        str(out / "requests" / "*" / "*" / "*.parquet"),
        hive_partitioning=False,
        include_file_paths="path",
    ).with_columns(
        us=pl.col("ts").dt.epoch("us"),
        folder=pl.col("path").str.extract(r"date=(\d{4}-\d{2}-\d{2})").str.to_date(),
        folder_tenant=pl.col("path").str.extract(r"tenant=([^/]+)"),
    )
    requests = raw.sort(["tenant_id", "request_id", "ts", "replica"]).unique(
        subset=["tenant_id", "request_id"], keep="first", maintain_order=True
    )
    with (out / "incidents.csv").open(encoding="utf-8") as handle:
        incidents = list(csv.DictReader(handle))
    slos = load_manifest(out / "slos.yaml").resolved_slos()
    return Sample(out, days, raw, requests, incidents, slos)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """Six tenants (two per cohort), a week, a quarter of the default traffic."""
    out = tmp_path_factory.mktemp("sample")
    generate_sample(out, tenants=6, days=7, seed=7, scale=0.25)
    return _load(out, days=7)


@pytest.fixture(scope="module")
def full_volume(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """One tenant per cohort at the default volume: incidents behave as designed."""
    out = tmp_path_factory.mktemp("full")
    generate_sample(out, tenants=3, days=7, seed=3, scale=1.0)
    return _load(out, days=7)


def _hashes(out: Path) -> dict[str, str]:
    return {
        path.relative_to(out).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.rglob("*"))
        if path.is_file()
    }


# --- brute-force replay of the policy -----------------------------------------------------


def _is_bad(slo: ResolvedSlo, rows: pl.DataFrame) -> np.ndarray:
    if slo.sli == "availability":
        return (rows["status_code"] >= 500).to_numpy()
    assert slo.threshold_ms is not None
    return (rows["latency_ms"] > slo.threshold_ms).to_numpy()


def _buckets(sample: Sample, slo: ResolvedSlo) -> tuple[np.ndarray, np.ndarray]:
    rows = sample.requests.filter(
        (pl.col("tenant_id") == slo.tenant_id) & (pl.col("service") == slo.service)
    )
    index = (rows["us"].to_numpy() - _epoch_us(START)) // BUCKET_US
    size = sample.days * STEPS_PER_DAY
    total = np.bincount(index, minlength=size)
    bad = np.bincount(index, weights=_is_bad(slo, rows), minlength=size).astype(np.int64)
    return total, bad


def _firing(sample: Sample, slo: ResolvedSlo) -> dict[str, np.ndarray]:
    """Per rule: does it fire at each step t = START + 5m*k (windows [t - w, t))."""
    total, bad = _buckets(sample, slo)
    budget = (100.0 - (slo.objective or 0.0)) / 100.0
    running_total = np.concatenate([[0], np.cumsum(total)])
    running_bad = np.concatenate([[0], np.cumsum(bad)])
    steps = np.arange(total.size)
    fires: dict[str, np.ndarray] = {}
    for rule in workbook_policy():
        both = np.ones(total.size, dtype=bool)
        for label in (rule.long_window, rule.short_window):
            since = np.maximum(steps - WINDOW_MINUTES[label] // 5, 0)
            window_total = running_total[steps] - running_total[since]
            window_bad = running_bad[steps] - running_bad[since]
            with np.errstate(divide="ignore", invalid="ignore"):
                burn = (window_bad / window_total) / budget
            both &= (window_total > 0) & (burn > rule.burn_threshold(slo.period_days))
        fires[rule.name] = both
    return fires


def _related(sample: Sample, slo: ResolvedSlo, long_window: str) -> np.ndarray:
    """Steps whose long window overlaps one of this tenant SLO's incidents."""
    steps = _epoch_us(START) + np.arange(sample.days * STEPS_PER_DAY) * BUCKET_US
    related = np.zeros(steps.size, dtype=bool)
    for incident in sample.incidents:
        if (incident["tenant_id"], incident["slo_name"]) == (slo.tenant_id, slo.slo_name):
            start, end = _parse_us(incident["start"]), _parse_us(incident["end"])
            reach = WINDOW_MINUTES[long_window] * 60 * 1_000_000
            related |= (steps > start) & (steps - reach < end)
    return related


def _first_alert(sample: Sample, incident: dict[str, str]) -> tuple[str, str]:
    slo = next(
        s
        for s in sample.slos
        if (s.tenant_id, s.slo_name) == (incident["tenant_id"], incident["slo_name"])
    )
    fires = _firing(sample, slo)
    first: dict[str, tuple[int, int, str]] = {}
    for order, rule in enumerate(workbook_policy()):
        steps = np.flatnonzero(fires[rule.name] & _related(sample, slo, rule.long_window))
        if steps.size:
            candidate = (int(steps[0]), order, rule.name)
            first[rule.severity] = min(first.get(rule.severity, candidate), candidate)
    for severity in ("page", "ticket"):
        if severity in first:
            return severity, first[severity][2]
    return "none", ""


# --- determinism -------------------------------------------------------------------------


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    generate_sample(tmp_path / "a", tenants=3, days=7, seed=11, scale=0.05)
    generate_sample(tmp_path / "b", tenants=3, days=7, seed=11, scale=0.05)
    first, second = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert len(first) == 3 * 7 + 2
    assert first == second


def test_another_seed_gives_other_traffic(tmp_path: Path) -> None:
    generate_sample(tmp_path / "a", tenants=3, days=7, seed=11, scale=0.05)
    generate_sample(tmp_path / "b", tenants=3, days=7, seed=12, scale=0.05)
    first, second = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert first.keys() == second.keys()
    parquet = [name for name in first if name.endswith(".parquet")]
    assert all(first[name] != second[name] for name in parquet)


def test_rerunning_into_the_same_folder_replaces_the_sample(tmp_path: Path) -> None:
    generate_sample(tmp_path, tenants=4, days=7, seed=1, scale=0.05)
    generate_sample(tmp_path, tenants=3, days=7, seed=1, scale=0.05)
    tenants = sorted(p.name for p in (tmp_path / "requests").iterdir())
    assert tenants == ["tenant=acme", "tenant=globex", "tenant=initech"]
    assert not (tmp_path / ".requests.partial").exists()


def test_a_foreign_requests_folder_is_left_alone(tmp_path: Path) -> None:
    foreign = tmp_path / "requests" / "notes.txt"
    foreign.parent.mkdir()
    foreign.write_text("mine")
    with pytest.raises(BurnwatchInputError, match="did not write"):
        generate_sample(tmp_path, tenants=3, days=7, scale=0.05)
    assert foreign.read_text() == "mine"


# --- shape -------------------------------------------------------------------------------


def test_request_files_have_exactly_the_contract_columns_and_types(sample: Sample) -> None:
    files = sorted((sample.out / "requests").glob("tenant=*/date=*/part-0.parquet"))
    assert len(files) == 6 * 7
    for path in files:
        schema = pq.read_schema(path).remove_metadata()
        assert schema.equals(EXPECTED_SCHEMA), path


def test_each_file_holds_its_folder_tenant_sorted_by_ts_request_and_replica(
    sample: Sample,
) -> None:
    for path in sorted((sample.out / "requests").glob("tenant=*/date=*/part-0.parquet")):
        table = pl.read_parquet(path)
        tenant = path.parent.parent.name.removeprefix("tenant=")
        assert table["tenant_id"].unique().to_list() in ([tenant], [])
        assert table.equals(table.sort(["ts", "request_id", "replica"])), path


def test_values_look_like_real_traffic(sample: Sample) -> None:
    raw = sample.raw
    assert set(raw["service"].unique()) == {"api", "checkout", "search"}
    assert set(raw["replica"].unique()) == {"r1", "r2", "r3"}
    assert set(raw["status_code"].unique()) <= {200, 201, 204, 404, 429, 500, 502, 503}
    assert {200, 201, 204, 404, 429} <= set(raw["status_code"].unique())
    assert 0 < raw["operation"].null_count() < 0.05 * raw.height
    assert (raw["latency_ms"] >= 0).all()
    shares = sample.requests["service"].value_counts(normalize=True).sort("service")
    assert np.allclose(shares["proportion"].to_numpy(), [0.60, 0.15, 0.25], atol=0.01)
    assert sample.requests["request_id"].str.len_chars().unique().to_list() == [16]


def test_traffic_follows_cohort_volume_and_a_daily_cycle(sample: Sample) -> None:
    per_tenant = sample.requests.group_by("tenant_id").len()
    cohort = {slo.tenant_id: slo.cohort for slo in sample.slos}
    volume = {row["tenant_id"]: row["len"] for row in per_tenant.iter_rows(named=True)}
    least_enterprise = min(v for t, v in volume.items() if cohort[t] == "enterprise")
    most_standard = max(v for t, v in volume.items() if cohort[t] == "standard")
    most_free = max(v for t, v in volume.items() if cohort[t] == "free")
    assert least_enterprise > most_standard > most_free
    hourly = (
        sample.requests.filter(pl.col("tenant_id") == "acme")
        .group_by(pl.col("ts").dt.hour())
        .len()["len"]
        .to_numpy()
    )
    assert 0.25 < hourly.min() / hourly.max() < 0.5


def test_manifest_loads_with_three_cohorts_and_five_slos_per_tenant(sample: Sample) -> None:
    manifest = load_manifest(sample.out / "slos.yaml")
    assert set(manifest.cohorts) == {"enterprise", "standard", "free"}
    assert manifest.policy.rules == workbook_policy()
    assert {t.cohort for t in manifest.tenants} == {"enterprise", "standard", "free"}
    for tenant in manifest.tenants:
        assert sorted(slo.name for slo in tenant.slos) == [
            "api-availability", "api-latency", "checkout-availability",
            "search-availability", "search-latency",
        ]  # fmt: skip
    resolved = {
        (s.cohort, s.sli): (s.objective, s.threshold_ms, s.period_days) for s in sample.slos
    }
    assert resolved[("enterprise", "availability")] == (99.95, None, 30)
    assert resolved[("standard", "latency")] == (99.0, 500.0, 30)
    assert resolved[("free", "latency")] == (98.0, 800.0, 28)
    assert {t.id for t in manifest.tenants} == set(sample.raw["tenant_id"].unique())


# --- replicas and late rows --------------------------------------------------------------


def test_replicas_relog_over_five_percent_of_requests_with_the_same_content(
    sample: Sample,
) -> None:
    copies = sample.raw.group_by("tenant_id", "request_id").agg(
        rows=pl.len(),
        replicas=pl.col("replica").n_unique(),
        contents=pl.struct("service", "operation", "status_code", "latency_ms").n_unique(),
        spread=pl.col("us").max() - pl.col("us").min(),
        earliest_replica=pl.col("replica").sort_by("us", "replica").first(),
        latest_replica=pl.col("replica").sort_by("us", "replica").last(),
    )
    duplicated = copies.filter(pl.col("rows") > 1)
    assert duplicated.height / copies.height >= 0.05
    assert (duplicated["rows"] == 2).all()
    assert (duplicated["replicas"] == 2).all()
    assert (duplicated["contents"] == 1).all()
    assert (duplicated["spread"] <= 3_000_000).all()
    # Either copy can be the earliest: a dedup must not trust replica names or file order.
    assert (duplicated["earliest_replica"] > duplicated["latest_replica"]).any()
    assert (duplicated["earliest_replica"] < duplicated["latest_replica"]).any()


def test_rows_sit_in_their_ts_day_folder_or_arrive_late_in_the_next(sample: Sample) -> None:
    lag = (sample.raw["folder"] - sample.raw["ts"].dt.date()).dt.total_days()
    assert set(lag.unique()) == {0, 1}
    late = sample.raw.filter(lag == 1)
    assert late.height > 0
    assert (late["ts"].dt.time() >= dt.time(23, 45)).all()
    assert (sample.raw["folder_tenant"] == sample.raw["tenant_id"]).all()
    folders = sample.raw.group_by("tenant_id", "request_id").agg(pl.col("folder").n_unique())
    assert (folders["folder"] == 2).any(), "some replica copies straddle two day folders"


def test_summary_counts_what_was_written(tmp_path: Path) -> None:
    messages: list[str] = []
    summary = generate_sample(tmp_path, tenants=3, days=7, scale=0.1, progress=messages.append)
    loaded = _load(tmp_path, days=7)
    assert len(messages) == 7
    assert messages[0].startswith("2026-10-01")
    assert summary.rows_written == loaded.raw.height
    assert summary.duplicate_rows == loaded.raw.height - loaded.requests.height
    lag = (loaded.raw["folder"] - loaded.raw["ts"].dt.date()).dt.total_days()
    assert summary.late_rows == (lag == 1).sum() > 0
    assert summary.files == 3 * 7
    assert (summary.tenants, summary.days) == (3, 7)
    assert summary.manifest == tmp_path / "slos.yaml"
    assert summary.incidents == tmp_path / "incidents.csv"


# --- ground truth ------------------------------------------------------------------------


def test_incidents_csv_has_the_agreed_columns_and_kinds(sample: Sample) -> None:
    with (sample.out / "incidents.csv").open(encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
    assert header == [
        "incident_id", "tenant_id", "slo_name", "service", "kind", "start", "end",
        "bad_fraction", "baseline_bad_fraction", "expected_severity", "expected_rule",
    ]  # fmt: skip
    kinds = sorted(incident["kind"] for incident in sample.incidents)
    assert kinds == ["latency_regression", "outage", "slow_burn", "slow_burn"]
    end_of_sample = _epoch_us(START) + 7 * 86_400 * 1_000_000
    for incident in sample.incidents:
        assert _epoch_us(START) <= _parse_us(incident["start"]) < _parse_us(incident["end"])
        assert _parse_us(incident["end"]) <= end_of_sample
    outage = next(i for i in sample.incidents if i["kind"] == "outage")
    assert outage["start"].endswith("T10:02:00Z") and outage["end"].endswith("T10:42:00Z")


def test_incident_bad_fractions_match_the_raw_logs(sample: Sample) -> None:
    for incident in sample.incidents:
        slo = next(
            s
            for s in sample.slos
            if (s.tenant_id, s.slo_name) == (incident["tenant_id"], incident["slo_name"])
        )
        rows = sample.requests.filter(
            (pl.col("tenant_id") == slo.tenant_id)
            & (pl.col("service") == slo.service)
            & pl.col("us").is_between(
                _parse_us(incident["start"]), _parse_us(incident["end"]), closed="left"
            )
        )
        bad = _is_bad(slo, rows.sort("us", "request_id"))
        assert rows.height > 50
        assert abs(bad.mean() - float(incident["bad_fraction"])) <= 1 / rows.height
        # Spread evenly: over every prefix, within one request of the fraction.
        drift = np.cumsum(bad) - np.arange(1, bad.size + 1) * float(incident["bad_fraction"])
        assert np.abs(drift).max() <= 1.0 + 1e-6


def test_baseline_errors_stay_below_a_tenth_of_the_budget(sample: Sample) -> None:
    hosts = {incident["tenant_id"] for incident in sample.incidents}
    bucket_start = _epoch_us(START) + np.arange(sample.days * STEPS_PER_DAY) * BUCKET_US
    for slo in sample.slos:
        total, bad = _buckets(sample, slo)
        outside = np.ones(total.size, dtype=bool)
        for incident in sample.incidents:
            if (incident["tenant_id"], incident["slo_name"]) == (slo.tenant_id, slo.slo_name):
                outside &= (bucket_start + BUCKET_US <= _parse_us(incident["start"])) | (
                    bucket_start >= _parse_us(incident["end"])
                )
        budget = (100.0 - (slo.objective or 0.0)) / 100.0
        share = bad[outside].sum() / total[outside].sum() / budget
        assert share <= (0.05 if slo.tenant_id in hosts else 0.1), (slo.tenant_id, slo.slo_name)


def test_no_rule_fires_outside_an_incident(sample: Sample) -> None:
    stray = []
    for slo in sample.slos:
        fires = _firing(sample, slo)
        for rule in workbook_policy():
            outside = fires[rule.name] & ~_related(sample, slo, rule.long_window)
            stray += [
                (slo.tenant_id, slo.slo_name, rule.name, int(k)) for k in np.flatnonzero(outside)
            ]
    assert stray == []


def test_expected_alerts_match_a_replay_of_the_policy(sample: Sample) -> None:
    for incident in sample.incidents:
        expected = (incident["expected_severity"], incident["expected_rule"])
        assert _first_alert(sample, incident) == expected, incident["incident_id"]


def test_at_full_volume_each_incident_raises_its_designed_alert(full_volume: Sample) -> None:
    designed = {
        ("outage", "1.00000000"): ("page", "page-1h"),
        ("latency_regression", ""): ("page", "page-1h"),
        ("slow_burn", "page"): ("page", "page-6h"),
        ("slow_burn", "ticket"): ("ticket", "ticket-1d"),
    }
    for incident in full_volume.incidents:
        kind = incident["kind"]
        key = (
            (kind, incident["bad_fraction"]) if kind == "outage"
            else (kind, "page" if float(incident["bad_fraction"]) < 0.015 else "ticket")
            if kind == "slow_burn" else (kind, "")
        )  # fmt: skip
        assert (incident["expected_severity"], incident["expected_rule"]) == designed[key]
        assert _first_alert(full_volume, incident) == designed[key], incident["incident_id"]
    assert _no_stray_alerts(full_volume)


def _no_stray_alerts(sample: Sample) -> bool:
    for slo in sample.slos:
        fires = _firing(sample, slo)
        for rule in workbook_policy():
            if (fires[rule.name] & ~_related(sample, slo, rule.long_window)).any():
                return False
    return True


# --- arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"tenants": 2}, "tenants must be between 3"),
        ({"days": 6}, "days must be between 7"),
        ({"seed": -1}, "seed must be between 0"),
        ({"scale": 0.0}, "scale must be greater than 0"),
        ({"scale": float("nan")}, "scale must be a number"),
        ({"tenants": 3.5}, "tenants must be a whole number"),
        ({"start": dt.datetime(2026, 10, 1)}, "start must be a date"),
    ],
)
def test_bad_arguments_raise_a_one_line_input_error(
    tmp_path: Path, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(BurnwatchInputError, match=message) as caught:
        generate_sample(tmp_path, **arguments)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "requests").exists()


def test_an_out_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("")
    with pytest.raises(BurnwatchInputError, match="not a folder"):
        generate_sample(target, tenants=3, days=7, scale=0.05)
