"""Staging: request files read where they lie, checked against the contract, deduplicated.

`stg_requests` (sql/staging/stg_requests.sql), `contract_report` (the footers) and
`quarantine` (sql/staging/quarantine.sql) for the day folders of a run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest.files import RequestFile, computed_range, discover_request_files
from pipelines.ingest.footers import FileVerdict, inspect_files, with_undecodable
from pipelines.ingest.latency_units import latency_unit_warnings
from pipelines.ingest.quarantine import contract_report_frame, quarantined_files_frame
from pipelines.ingest.rules import DayRange, load_run_overrides
from pipelines.ingest.scan import bind_raw_requests, probe_file, request_checks_sql
from pipelines.models.build import write_frame, write_model_days
from pipelines.models.registry import model_sql
from pipelines.partitions import scan_blocks
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake
from pipelines.warehouse.params import bind_run_params
from pipelines.warehouse.session import bind
from schemas.contracts import ContractOverrides

DayProgress = Callable[[dt.date, int], None]


def run_overrides(resource: BurnwatchResource) -> ContractOverrides:
    """The per-service contract overrides in force for this resource's data and manifest."""
    return load_run_overrides(resource.data_path, resource.manifest_path, resource.contracts)


def data_range(resource: BurnwatchResource) -> DayRange:
    """The days any run over this data computes (`computed_range` of every file found)."""
    return computed_range(discover_request_files(resource.data_path))


def _undecodable(verdicts: list[FileVerdict]) -> dict[Path, str]:
    """Read each readable file alone; the ones whose pages cannot be decoded, with the error."""
    found: dict[Path, str] = {}
    for verdict in verdicts:
        error = probe_file(verdict)
        if error:
            found[verdict.file.path] = error
    return found


# The temp tables that hold a block of days before they are written out day by day.
STG_REQUESTS_RUN = "stg_requests_run"


def build_stg_requests(resource: BurnwatchResource, day: dt.date) -> int:
    """`build_stg_requests_days` for one day."""
    return build_stg_requests_days(resource, [day])[day]


def build_stg_requests_days(
    resource: BurnwatchResource, days: Sequence[dt.date], progress: DayProgress | None = None
) -> dict[dt.date, int]:
    """Deduplicated good requests of each day (sql/stg_requests.sql); bad rows and files
    are left out here and written to `quarantine` by `build_quarantine`.

    Consecutive days are deduplicated together, in blocks of at most
    `max_rows_per_scan` input rows: one scan and one dedup per block instead of
    one per day, each day's folder read once instead of three times.
    """
    files = discover_request_files(resource.data_path)
    rows = input_rows_by_day(resource, files, days)
    written: dict[dt.date, int] = {}
    for block in scan_blocks(days, rows, resource.max_rows_per_scan):
        written |= _build_stg_requests_block(resource, files, block, progress)
    return written


def input_rows_by_day(
    resource: BurnwatchResource, files: Sequence[RequestFile], days: Sequence[dt.date]
) -> dict[dt.date, int]:
    """Rows in the day folders of `days` by their footers (the same cached verdicts the
    scan uses; an unreadable footer counts 0)."""
    wanted = set(days)
    rows: dict[dt.date, int] = {}
    for verdict in inspect_files([f for f in files if f.day in wanted], run_overrides(resource)):
        rows[verdict.file.day] = rows.get(verdict.file.day, 0) + (verdict.rows or 0)
    return rows


def _build_stg_requests_block(
    resource: BurnwatchResource,
    files: list[RequestFile],
    days: list[dt.date],
    progress: DayProgress | None,
) -> dict[dt.date, int]:
    with resource.connect() as connection:
        compute_stg_requests(connection, resource, files, days[0], days[-1])
        return write_model_days(
            connection, STG_REQUESTS_RUN, resource.warehouse_path, "stg_requests", days, progress
        )


def compute_stg_requests(
    connection: duckdb.DuckDBPyConnection,
    resource: BurnwatchResource,
    files: list[RequestFile],
    first: dt.date,
    last: dt.date,
) -> None:
    """Run sql/stg_requests.sql for days [first, last] into the temp table STG_REQUESTS_RUN."""
    skew = dt.timedelta(minutes=resource.skew_tolerance_minutes)
    overrides = run_overrides(resource)
    verdicts = bind_raw_requests(connection, files, first, last, skew, overrides)
    bind_run_params(connection, first, last)
    compute = f"create or replace temp table {STG_REQUESTS_RUN} as {model_sql('stg_requests')}"
    try:
        connection.execute(compute)
    except duckdb.Error:
        # A file with a good footer but undecodable pages: find it, leave it out, retry.
        undecodable = _undecodable(verdicts)
        if not undecodable:
            raise
        bind_raw_requests(connection, files, first, last, skew, overrides, undecodable)
        connection.execute(compute)


def day_verdicts(
    resource: BurnwatchResource, day: dt.date, probe: bool = False
) -> list[FileVerdict]:
    """The footer verdicts of every file in the `date=day` folders (all tenants).

    With `probe`, files whose pages cannot be decoded are found too (reads them).
    """
    files = [f for f in discover_request_files(resource.data_path) if f.day == day]
    verdicts = inspect_files(files, run_overrides(resource))
    if probe:
        undecodable = _undecodable(verdicts)
        verdicts = [
            with_undecodable(v, undecodable[v.file.path]) if v.file.path in undecodable else v
            for v in verdicts
        ]
    return verdicts


def build_contract_report(resource: BurnwatchResource, day: dt.date) -> int:
    """The day folders' footers against the contract, plus the latency-unit heuristic."""
    verdicts = day_verdicts(resource, day)
    frame = contract_report_frame(verdicts)
    warnings = latency_unit_warnings(
        verdicts, run_overrides(resource), dt.timedelta(minutes=resource.skew_tolerance_minutes)
    )
    if warnings.height:
        frame = pl.concat([frame, warnings])
    with resource.connect() as connection:
        return write_frame(
            connection,
            frame,
            resource.warehouse_path,
            "contract_report",
            day,
        )


def build_quarantine(resource: BurnwatchResource, day: dt.date) -> int:
    """Rows and files of the `date=day` folders that break the contract (sql/quarantine.sql)."""
    skew = dt.timedelta(minutes=resource.skew_tolerance_minutes)
    overrides = run_overrides(resource)
    verdicts = day_verdicts(resource, day)
    computed = data_range(resource)
    with resource.connect() as connection:
        for attempt in range(2):
            checks = request_checks_sql(verdicts, skew, overrides, computed)
            if checks is None:
                checks = lake.typed_empty("raw_request_checks")
            bind(connection, "raw_request_checks", checks)
            connection.register(
                "quarantined_files_frame", quarantined_files_frame(verdicts).to_arrow()
            )
            bind(connection, "quarantined_files", "select * from quarantined_files_frame")
            try:
                return lake.write_query(
                    connection,
                    model_sql("quarantine"),
                    resource.warehouse_path,
                    "quarantine",
                    day,
                )
            except duckdb.Error:
                if attempt:
                    raise
                verdicts = day_verdicts(resource, day, probe=True)
        raise AssertionError("unreachable")
