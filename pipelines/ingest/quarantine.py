"""What the contract kept out: `quarantine` rows of whole files, `contract_report` rows of
footers, and the command line's one warning line per quarantined file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest.footers import FileVerdict
from pipelines.warehouse import lake
from schemas.tables import ContractReport, Quarantine


def quarantined_files_frame(verdicts: Sequence[FileVerdict]) -> pl.DataFrame:
    """One `quarantine` row per whole file that is not read, in file order."""
    rows = [
        {
            "tenant_id": v.file.tenant,
            "folder_day": v.file.day,
            "file": str(v.file.path),
            "row_number": None,
            "row_count": v.rows,
            "reason": v.reason,
            "detail": v.detail,
            "request_id": None,
            "raw_row": None,
        }
        for v in sorted(verdicts, key=lambda v: v.file)
        if v.quarantined
    ]
    schema = {name: column.dtype.type for name, column in Quarantine.to_schema().columns.items()}
    return Quarantine.validate(pl.DataFrame(rows, schema=schema))


def contract_report_frame(verdicts: Sequence[FileVerdict]) -> pl.DataFrame:
    """Rows of `contract_report`: one per finding, or one `ok` row for a file on contract."""
    rows = []
    for v in sorted(verdicts, key=lambda v: v.file):
        base = {
            "tenant_id": v.file.tenant,
            "folder_day": v.file.day,
            "file": str(v.file.path),
            "status": v.status,
            "file_rows": v.rows,
        }
        if not v.findings:
            action = "quarantine" if v.quarantined else "read"
            rows.append(
                {
                    **base,
                    "action": action,
                    "column_name": None,
                    "expected_type": None,
                    "found_type": None,
                    "detail": v.error,
                }
            )
        for f in v.findings:
            rows.append(
                {
                    **base,
                    "action": f.action,
                    "column_name": f.column,
                    "expected_type": f.expected,
                    "found_type": f.found,
                    "detail": f.detail,
                }
            )
    schema = {
        name: column.dtype.type for name, column in ContractReport.to_schema().columns.items()
    }
    return ContractReport.validate(pl.DataFrame(rows, schema=schema))


def quarantine_warnings(warehouse: Path, first: dt.date, last: dt.date) -> tuple[str, ...]:
    """One line per input file quarantined whole or in part on days [first, last]."""
    files = lake.existing_partition_files(warehouse, "quarantine", first, last)
    if not files:
        return ()
    with duckdb.connect() as connection:
        found = connection.sql(
            "select file, any_value(tenant_id), any_value(folder_day), "
            "bool_or(row_number is null) as whole, count(*) filter (row_number is not null), "
            "string_agg(distinct reason, ', ' order by reason), "
            "any_value(detail) filter (row_number is null) "
            f"from {lake.scan_sql(warehouse, 'quarantine', files)} group by file order by file"
        ).fetchall()
    lines = []
    for file, tenant, day, whole, rows, reasons, detail in found:
        where = f"(tenant {tenant}, partition {day})"
        if whole:
            lines.append(f"quarantined file {file} {where}: {detail}")
        else:
            lines.append(f"quarantined {rows} row(s) of {file} {where}: {reasons}")
    return tuple(lines)
