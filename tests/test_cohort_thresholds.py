"""Cohort thresholds: robust noise floors from history, versions, export, and use in evaluation."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.models import build
from pipelines.policy.cohort_thresholds import EXPORT_FILE, build_cohort_thresholds, export_csv
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake
from schemas.tables import sql_columns
from tests.lake_rows import write_daily

START = dt.date(2026, 10, 1)
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
TENANTS = ("t1", "t2", "t3")
MANIFEST = """\
cohorts:
  gold:
    availability: {{objective: 99.9}}
tenants:
{tenants}
policy:
  cohort: {{history_days: {history_days}, min_samples: {min_samples}, outlier_k: {outlier_k}}}
"""


def _manifest(
    path: Path, history_days: int = 3, min_samples: int = 100, outlier_k: float = 5.0
) -> Path:
    tenants = "\n".join(
        f"  - {{id: {tenant}, cohort: gold, slos: [{{name: avail, service: api, "
        f"sli: availability}}]}}"
        for tenant in TENANTS
    )
    path.write_text(
        MANIFEST.format(
            tenants=tenants,
            history_days=history_days,
            min_samples=min_samples,
            outlier_k=outlier_k,
        )
    )
    return path


def _resource(tmp_path: Path, manifest: Path) -> BurnwatchResource:
    return BurnwatchResource(
        data_dir=str(tmp_path / "data"),
        manifest=str(manifest),
        warehouse=str(tmp_path / "warehouse"),
    )


BURN_SCHEMA: dict[str, pl.DataType] = {
    "tenant_id": pl.String(),
    "slo_name": pl.String(),
    "eval_ts": pl.Datetime("us"),
    "window": pl.String(),
    "total": pl.Int64(),
    "bad": pl.Int64(),
    "burn_rate": pl.Float64(),
}


def _burn_frame(days: int, seed: int, incident: bool) -> pl.DataFrame:
    """Synthetic burn rates: lognormal noise with many zeros; optionally one tenant burning
    40x to 400x for six hours on day 1 (an incident)."""
    rng = np.random.default_rng(seed)
    steps_per_day = 288
    rows: dict[str, list[object]] = {name: [] for name in BURN_SCHEMA}
    base = dt.datetime.combine(START, dt.time())
    for tenant in TENANTS:
        for index in range(days * steps_per_day):
            eval_ts = base + dt.timedelta(minutes=5 * index)
            for window in WINDOWS:
                # Draw every number whether or not it is used, so that the runs with and
                # without the incident share their noise exactly.
                noise, busy, spike = rng.lognormal(-1.0, 0.8), rng.random(), rng.uniform(40, 400)
                burn = float(noise) if busy < 0.6 else 0.0
                if incident and tenant == "t2" and 300 <= index < 372:
                    burn = float(spike)
                rows["tenant_id"].append(tenant)
                rows["slo_name"].append("avail")
                rows["eval_ts"].append(eval_ts)
                rows["window"].append(window)
                rows["total"].append(1000)
                rows["bad"].append(round(burn))
                rows["burn_rate"].append(burn)
    return pl.DataFrame(rows, schema=BURN_SCHEMA)


def _write_burn_rates(warehouse: Path, frame: pl.DataFrame) -> None:
    write_daily(warehouse, "fct_burn_rates", frame, "eval_ts", 'tenant_id, eval_ts, "window"')


def _setup(
    tmp_path: Path, incident: bool, days: int = 3, seed: int = 1, **settings: int
) -> tuple[BurnwatchResource, pl.DataFrame]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    manifest = _manifest(tmp_path / "slos.yaml", **settings)
    resource = _resource(tmp_path, manifest)
    build.build_slo_specs(resource)
    build.build_alert_policy(resource)
    frame = _burn_frame(days, seed, incident)
    _write_burn_rates(resource.warehouse_path, frame)
    return resource, frame


def _oracle(burns: np.ndarray, k: float = 5.0, quantile: float = 0.999) -> tuple[float, int]:
    """Brute force: leave out burns whose ln(1 + burn) lies above the median + k * scale
    (1.4826 MAD, or 1.2533 mean absolute deviation when the MAD is 0), then take the
    nearest-rank quantile of the rest. Returns (noise floor, outliers left out)."""
    logs = [math.log1p(b) for b in burns]
    center = statistics.median(logs)
    deviations = [abs(value - center) for value in logs]
    mad = statistics.median(deviations)
    scale = 1.4826 * mad if mad > 0 else 1.253314 * statistics.fmean(deviations)
    kept = sorted(b for b, value in zip(burns, logs, strict=True) if value <= center + k * scale)
    rank = max(math.ceil(quantile * len(kept)), 1)
    return float(kept[rank - 1]), len(burns) - len(kept)


def _oracle_floor(burns: np.ndarray) -> float:
    return _oracle(burns)[0]


def test_noise_floor_matches_a_brute_force_oracle(tmp_path: Path) -> None:
    resource, frame = _setup(tmp_path, incident=True)
    effective = START + dt.timedelta(days=3)
    build_cohort_thresholds(resource, effective)
    table = lake.read_table(resource.warehouse_path, "cohort_thresholds")
    page = table.filter(pl.col("rule_name") == "page-1h").row(0, named=True)
    for side, window in (("long", "1h"), ("short", "5m")):
        burns = frame.filter(pl.col("window") == window)["burn_rate"].to_numpy()
        assert page[f"{side}_samples"] == len(burns)
        assert page[f"{side}_noise_floor"] == pytest.approx(_oracle_floor(burns), rel=1e-12)
    expected = max(page["long_noise_floor"], page["short_noise_floor"]) * 1.2
    noise = min(max(expected, 1.0), page["max_threshold"])
    assert page["noise_threshold"] == pytest.approx(noise)
    # A guard, never a flood: never below the Workbook's 14.4x for page-1h.
    assert page["default_threshold"] == pytest.approx(14.4)
    assert page["proposed_threshold"] == pytest.approx(max(noise, 14.4))
    assert page["held_at_default"] == (noise < 14.4)
    assert page["max_threshold"] == pytest.approx(500.0)
    assert page["confidence"] == "high"


@pytest.mark.parametrize("seed", range(8))
def test_small_histories_match_the_oracle_in_floor_and_outliers(tmp_path: Path, seed: int) -> None:
    """Few samples, with even counts, zeros, repeated burns and a long tail, and a fence
    close to the median (k = 1): where it falls depends on both middle samples of each
    median, so the floor and the outliers left out must be the oracle's exactly."""
    rng = np.random.default_rng(seed)
    shares = [0.7, 0.05, 0.25] if seed % 2 else [0.2, 0.1, 0.7]
    steps = int(rng.integers(2, 8)) * 2  # 3 tenants x an even number of steps
    tmp_path.mkdir(parents=True, exist_ok=True)
    resource = _resource(tmp_path, _manifest(tmp_path / "slos.yaml", history_days=1, outlier_k=1.0))
    build.build_slo_specs(resource)
    build.build_alert_policy(resource)
    base = dt.datetime.combine(START, dt.time())
    rows = [
        {
            "tenant_id": tenant,
            "slo_name": "avail",
            "eval_ts": base + dt.timedelta(minutes=5 * index),
            "window": window,
            "total": 1000,
            "bad": 0,
            # Zeros, repeated burns and a long tail of distinct ones; with most burns 0
            # (odd seeds) the MAD is 0 and the scale is the mean absolute deviation.
            "burn_rate": float(rng.choice([0.0, 2.0, rng.lognormal(0.0, 1.5)], p=shares)),
        }
        for tenant in TENANTS
        for index in range(steps)
        for window in WINDOWS
    ]
    frame = pl.DataFrame(rows, schema=BURN_SCHEMA)
    _write_burn_rates(resource.warehouse_path, frame)
    build_cohort_thresholds(resource, START + dt.timedelta(days=1))
    table = lake.read_table(resource.warehouse_path, "cohort_thresholds")
    for rule in table.iter_rows(named=True):
        for side in ("long", "short"):
            window = rule[f"{side}_window"]
            burns = frame.filter(pl.col("window") == window)["burn_rate"].to_numpy()
            floor, outliers = _oracle(burns, k=1.0)
            assert rule[f"{side}_samples"] == len(burns)
            assert (rule[f"{side}_noise_floor"], rule[f"{side}_outliers"]) == (floor, outliers), (
                rule["rule_name"],
                side,
            )


def test_an_injected_incident_barely_moves_the_noise_floor(tmp_path: Path) -> None:
    effective = START + dt.timedelta(days=3)
    floors = {}
    for incident in (False, True):
        resource, frame = _setup(tmp_path / str(incident), incident=incident)
        build_cohort_thresholds(resource, effective)
        table = lake.read_table(resource.warehouse_path, "cohort_thresholds")
        floors[incident] = table.filter(pl.col("rule_name") == "page-1h").row(0, named=True)
        if incident:
            naive = float(np.quantile(frame.filter(pl.col("window") == "1h")["burn_rate"], 0.999))
    clean, dirty = floors[False], floors[True]
    # At most a handful of the clean tail is left out; every incident step is.
    assert clean["long_outliers"] <= 0.002 * clean["long_samples"]
    assert dirty["long_outliers"] >= 72
    assert dirty["long_noise_floor"] == pytest.approx(clean["long_noise_floor"], rel=0.15)
    assert dirty["noise_threshold"] == pytest.approx(clean["noise_threshold"], rel=0.15)
    # Without leaving the incident out, the 99.9th percentile would be the incident's burn.
    assert naive > 10 * dirty["long_noise_floor"]


def test_versions_accumulate_by_effective_from(tmp_path: Path) -> None:
    resource, _ = _setup(tmp_path, incident=False, history_days=2)
    later = START + dt.timedelta(days=3)
    for effective in (START + dt.timedelta(days=2), later, later):
        build_cohort_thresholds(resource, effective)
    table = lake.read_table(resource.warehouse_path, "cohort_thresholds")
    versions = (
        table.group_by("effective_from")
        .agg(pl.col("history_start").first(), pl.col("history_end").first(), pl.len())
        .sort("effective_from")
    )
    assert versions["effective_from"].to_list() == [START + dt.timedelta(days=2), later]
    assert versions["history_start"].to_list() == [START, START + dt.timedelta(days=1)]
    assert versions["history_end"].to_list() == [
        START + dt.timedelta(days=1),
        START + dt.timedelta(days=2),
    ]
    # Four rules of one cohort and SLI kind, per version.
    assert versions["len"].to_list() == [4, 4]


def test_csv_export_equals_the_parquet_versions(tmp_path: Path) -> None:
    resource, _ = _setup(tmp_path, incident=True)
    for offset in (1, 2, 3):
        build_cohort_thresholds(resource, START + dt.timedelta(days=offset))
    parquet = lake.read_table(resource.warehouse_path, "cohort_thresholds")
    export = resource.warehouse_path / EXPORT_FILE
    assert export == export_csv(resource.warehouse_path)
    types = {
        "DATE": pl.Date,
        "VARCHAR": pl.String,
        "DOUBLE": pl.Float64,
        "BIGINT": pl.Int64,
        "BOOLEAN": pl.Boolean,
    }
    schema = {name: types[kind] for name, kind in sql_columns("cohort_thresholds").items()}
    csv = pl.read_csv(export, schema=schema)
    assert csv.height == parquet.height == 12
    assert csv.equals(parquet.sort("effective_from", "cohort", "sli", "rule_name"))


def test_thin_history_is_low_confidence_and_no_history_keeps_the_default(tmp_path: Path) -> None:
    resource, _ = _setup(tmp_path, incident=False, days=1, min_samples=10_000)
    build_cohort_thresholds(resource, START)  # no history before the first day
    build_cohort_thresholds(resource, START + dt.timedelta(days=1))
    table = lake.read_table(resource.warehouse_path, "cohort_thresholds").sort(
        "effective_from", "rule_name"
    )
    first = table.filter(pl.col("effective_from") == START)
    assert set(first["confidence"]) == {"none"}
    assert first["proposed_threshold"].to_list() == first["default_threshold"].to_list()
    second = table.filter(pl.col("effective_from") == START + dt.timedelta(days=1))
    assert set(second["confidence"]) == {"low"}
    assert (second["noise_threshold"] >= 1.0).all()
    assert (second["noise_threshold"] <= second["max_threshold"]).all()
    assert (second["proposed_threshold"] >= second["default_threshold"]).all()


def test_evaluation_with_cohort_thresholds_uses_them(
    small_dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    from pipelines.runner import run_pipeline

    data, manifest = small_dataset
    manifest.write_text(
        manifest.read_text()
        + "policy:\n  thresholds: cohort\n  cohort: {history_days: 1, min_samples: 50}\n"
    )
    warehouse = tmp_path / "warehouse"
    run_pipeline(data, manifest, warehouse)
    thresholds = lake.read_table(warehouse, "cohort_thresholds")
    evaluations = lake.read_table(warehouse, "fct_alert_evaluations")
    day1, day2 = START, START + dt.timedelta(days=1)

    def threshold_at(day: dt.date, rule: str) -> float:
        rows = evaluations.filter(
            (pl.col("eval_ts").dt.date() == day)
            & (pl.col("slo_name") == "api-availability")
            & (pl.col("rule_name") == rule)
        )["burn_threshold"].unique()
        assert rows.len() == 1
        return float(rows[0])

    # Day 1 has no history: the policy's own thresholds.
    assert threshold_at(day1, "page-1h") == pytest.approx(14.4)
    # Day 2: the version effective that day, from day 1's clean traffic. The noise alone
    # asks for the 1.0 floor, which would page more than the Workbook: held at 14.4x.
    version = thresholds.filter(
        (pl.col("effective_from") == day2)
        & (pl.col("sli") == "availability")
        & (pl.col("rule_name") == "page-1h")
    ).row(0, named=True)
    assert version["confidence"] == "high"
    assert version["noise_threshold"] == pytest.approx(1.0)
    assert version["held_at_default"]
    assert version["proposed_threshold"] == pytest.approx(14.4)
    assert threshold_at(day2, "page-1h") == pytest.approx(version["proposed_threshold"])
