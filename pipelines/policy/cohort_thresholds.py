"""Cohort thresholds: alert thresholds derived from each cohort's normal burn.

A version is computed for one `effective_from` day from the `history_days`
days before it (sql/cohort_thresholds.sql) and written as the lake partition
`cohort_thresholds/date=<effective_from>`: versions accumulate, and recomputing
a day replaces only that day's version. Every write also refreshes the CSV
export `<warehouse>/exports/cohort_thresholds.csv` (all versions).

With `policy: {thresholds: cohort}` in the manifest, `fct_alert_evaluations`
evaluates each rule at its cohort's latest high-confidence threshold
(`pipelines.models.build.bind_cohort_policy`, sql/policy/alert_policy_cohort.sql).
See docs/cohort_thresholds.md.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.models import freshness
from pipelines.models.build import bind_inputs, write_model
from pipelines.models.registry import model
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake
from pipelines.warehouse.atomic import atomic_path
from pipelines.warehouse.params import bind_params
from pipelines.warehouse.session import connect
from schemas.manifest import CohortThresholdSettings, load_manifest
from schemas.tables import sql_columns

TABLE = "cohort_thresholds"
EXPORT_FILE = Path("exports") / "cohort_thresholds.csv"


def history_range(effective_from: dt.date, history_days: int) -> tuple[dt.date, dt.date]:
    """The first and last day of history that the version effective on `effective_from` uses
    (the registry's history lookback of `fct_burn_rates`)."""
    [history] = [s for s in model(TABLE).lake_inputs() if s.table == "fct_burn_rates"]
    return (
        history.lookback.first_day(effective_from, 0, history_days),
        history.lookback.last_day(effective_from),
    )


def _params(effective_from: dt.date, settings: CohortThresholdSettings) -> dict[str, object]:
    first, last = history_range(effective_from, settings.history_days)
    return {
        "effective_from": effective_from,
        "history_start": first,
        "history_end": last,
        "history_days": settings.history_days,
        "outlier_k": settings.outlier_k,
        "quantile": settings.quantile,
        "safety_margin": settings.safety_margin,
        "min_threshold": settings.min_threshold,
        "min_samples": settings.min_samples,
    }


def build_cohort_thresholds(resource: BurnwatchResource, effective_from: dt.date) -> int:
    """Write the thresholds version effective on `effective_from`; return its row count.

    Reads `fct_burn_rates` of the `history_days` days before it, `slo_specs` and
    `alert_policy` (the rules and their default thresholds), then refreshes the CSV export.
    A version whose inputs have not changed since it was written is kept as it is
    (pipelines/models/freshness.py): a live cycle of the newest day does not recompute it.
    """
    settings = load_manifest(resource.manifest_path).policy.cohort
    warehouse = resource.warehouse_path
    entry = model(TABLE)
    params = _params(effective_from, settings)
    inputs = freshness.fingerprint(
        warehouse, entry, effective_from, params, history_days=settings.history_days
    )
    if freshness.is_unchanged(warehouse, entry, effective_from, inputs):
        kept = lake.partition_path(warehouse, TABLE, effective_from)
        return int(pq.ParquetFile(kept).metadata.num_rows)
    with resource.connect() as connection:
        bind_inputs(
            connection,
            warehouse,
            entry,
            effective_from,
            effective_from,
            history_days=settings.history_days,
        )
        bind_params(connection, "cohort_threshold_params", params)
        rows = write_model(connection, warehouse, entry, effective_from)
    freshness.remember(warehouse, entry, effective_from, inputs)
    export_csv(warehouse)
    return rows


def export_csv(warehouse: Path) -> Path:
    """Write every version of the lake's cohort thresholds to exports/cohort_thresholds.csv."""
    warehouse = Path(warehouse)
    target = warehouse / EXPORT_FILE
    columns = ", ".join(f'"{name}"' for name in sql_columns(TABLE))
    with atomic_path(target) as temporary, connect() as connection:
        connection.execute(
            f"copy (select {columns} from {lake.scan_sql(warehouse, TABLE)} "
            f"order by {model(TABLE).order_sql}) to '{temporary}' (format csv, header true)"
        )
    return target
