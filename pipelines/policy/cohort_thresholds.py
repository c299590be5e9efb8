"""Cohort thresholds: alert thresholds derived from each cohort's normal burn.

A version is computed for one `effective_from` day from the `history_days`
days before it (sql/cohort_thresholds.sql) and written as the lake partition
`cohort_thresholds/date=<effective_from>`: versions accumulate, and recomputing
a day replaces only that day's version. Every write also refreshes the CSV
export `<warehouse>/exports/cohort_thresholds.csv` (all versions).

With `policy: {thresholds: cohort}` in the manifest, `fct_alert_evaluations`
evaluates each rule at its cohort's latest high-confidence threshold
(`bind_cohort_policy`, sql/alert_policy_cohort.sql). See docs/cohort_thresholds.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path

import duckdb

from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake
from pipelines.warehouse.session import bind, bind_run_params, model_sql
from schemas.manifest import CohortThresholdSettings, load_manifest
from schemas.tables import sql_columns

TABLE = "cohort_thresholds"
EXPORT_FILE = Path("exports") / "cohort_thresholds.csv"
_ORDER = "effective_from, cohort, sli, rule_name, long_window, short_window"


def history_range(effective_from: dt.date, history_days: int) -> tuple[dt.date, dt.date]:
    """The first and last day of history that the version effective on `effective_from` uses."""
    return (effective_from - dt.timedelta(days=history_days), effective_from - dt.timedelta(days=1))


def _bind_params(
    connection: duckdb.DuckDBPyConnection,
    effective_from: dt.date,
    settings: CohortThresholdSettings,
) -> None:
    first, _ = history_range(effective_from, settings.history_days)
    bind(
        connection,
        "cohort_threshold_params",
        f"select date '{effective_from.isoformat()}' as effective_from, "
        f"date '{first.isoformat()}' as history_start, "
        f"cast({settings.history_days} as integer) as history_days, "
        f"cast({settings.outlier_k!r} as double) as outlier_k, "
        f"cast({settings.quantile!r} as double) as quantile, "
        f"cast({settings.safety_margin!r} as double) as safety_margin, "
        f"cast({settings.min_threshold!r} as double) as min_threshold, "
        f"cast({settings.min_samples} as bigint) as min_samples",
    )


def build_cohort_thresholds(resource: BurnwatchResource, effective_from: dt.date) -> int:
    """Write the thresholds version effective on `effective_from`; return its row count.

    Reads `fct_burn_rates` of the `history_days` days before it, `slo_specs` and
    `alert_policy` (the rules and their default thresholds), then refreshes the CSV export.
    """
    settings = load_manifest(resource.manifest_path).policy.cohort
    warehouse = resource.warehouse_path
    first, last = history_range(effective_from, settings.history_days)
    with resource.connect() as connection:
        lake.bind_table(connection, warehouse, "fct_burn_rates", first, last)
        lake.bind_table(connection, warehouse, "slo_specs")
        lake.bind_table(connection, warehouse, "alert_policy")
        _bind_params(connection, effective_from, settings)
        rows = lake.write_query(connection, model_sql(TABLE), warehouse, TABLE, effective_from)
    export_csv(warehouse)
    return rows


def export_csv(warehouse: Path) -> Path:
    """Write every version of the lake's cohort thresholds to exports/cohort_thresholds.csv."""
    warehouse = Path(warehouse)
    target = warehouse / EXPORT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    columns = ", ".join(f'"{name}"' for name in sql_columns(TABLE))
    try:
        with duckdb.connect() as connection:
            connection.execute("set TimeZone = 'UTC'")
            connection.execute(
                f"copy (select {columns} from {lake.scan_sql(warehouse, TABLE)} "
                f"order by {_ORDER}) to '{temporary}' (format csv, header true)"
            )
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return target


def bind_cohort_policy(
    connection: duckdb.DuckDBPyConnection, warehouse: Path, day: dt.date
) -> None:
    """Rebind `alert_policy` (already bound, static) to its cohort-threshold form for `day`.

    Needs `alert_policy` bound; binds `slo_specs`, `cohort_thresholds` and `run_params`.
    """
    lake.bind_table(connection, warehouse, "slo_specs")
    lake.bind_table(connection, warehouse, TABLE)
    bind_run_params(connection, day)
    cohort_policy = model_sql("alert_policy_cohort")
    connection.execute(
        f"create or replace temp table alert_policy_cohort_result as {cohort_policy}"
    )
    bind(connection, "alert_policy", "select * from alert_policy_cohort_result")
