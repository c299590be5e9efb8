"""Holding request-log files to the contract: footers first, then rows, in SQL.

Two levels, both cheap on good data:

1. Each file's Parquet footer (schema and row-group statistics, never the
   data) is compared with the contract (`inspect_file`). A file on contract
   is read as is; a safe drift (a narrower number, an integer that fits, a
   missing optional column) is cast and reported; an unsafe drift (a string
   status code, a missing or renamed required column, ids stored as binary)
   or an unreadable footer quarantines the whole file.
2. Rows of readable files are checked by vectorised SQL predicates in the
   same scan that feeds `stg_requests` (`request_scan_sql`): a row that breaks
   a rule is left out there and written, with its reason, file and row
   number, to the `quarantine` table by the day of its folder.

A file whose footer is fine but whose pages cannot be decoded (invalid UTF-8,
corrupt pages) is found only when a scan fails; `probe_file` then reads each
file alone to find the culprit, which is quarantined whole.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.contracts import (
    ContractOverrides,
    find_overrides_file,
    load_overrides,
    request_columns,
    ts_window,
)
from schemas.tables import sql_columns

if TYPE_CHECKING:
    from pipelines.ingest.files import RequestFile

INT32_RANGE = (-(2**31), 2**31 - 1)
_UTC_NAMES = {None, "UTC", "utc", "+00:00", "Etc/UTC", "Z"}


@dataclass(frozen=True)
class Finding:
    """One way a file's footer differs from the contract."""

    action: str  # cast | ignore | warn | quarantine
    column: str | None
    expected: str | None
    found: str | None
    detail: str


@dataclass(frozen=True)
class FileVerdict:
    """What the footer says about one file, and how to read it if it is read at all."""

    file: RequestFile
    readable: bool
    rows: int | None
    findings: tuple[Finding, ...] = ()
    # One select expression per contract column; empty when the file is quarantined.
    read_exprs: tuple[str, ...] = field(default=())
    error: str | None = None

    @property
    def status(self) -> str:
        if not self.readable:
            return "unreadable"
        return "drifted" if self.findings else "ok"

    @property
    def quarantined(self) -> bool:
        return not self.read_exprs

    @property
    def reason(self) -> str:
        """The quarantine reason code of a quarantined file."""
        if not self.readable:
            return "unreadable_file"
        return "undecodable_data" if self.error else "schema_drift"

    @property
    def detail(self) -> str:
        if self.error:
            return self.error
        return "; ".join(f.detail for f in self.findings if f.action == "quarantine")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _stats_within(metadata: pq.FileMetaData, index: int, low: int, high: int) -> bool:
    """Whether every row group's min/max statistics of column `index` lie in [low, high]."""
    for group in range(metadata.num_row_groups):
        column = metadata.row_group(group).column(index)
        stats = column.statistics
        if column.num_values == 0 or (stats is not None and stats.null_count == column.num_values):
            continue
        if stats is None or not stats.has_min_max:
            return False
        if not (low <= int(stats.min) and int(stats.max) <= high):
            return False
    return True


def _leaf_index(metadata: pq.FileMetaData, name: str) -> int | None:
    for index in range(metadata.num_columns):
        if metadata.schema.column(index).path == name:
            return index
    return None


def _classify(
    expected: str, kind: pa.DataType, name: str, metadata: pq.FileMetaData
) -> tuple[str, str]:
    """(action, why) for a column of arrow type `kind` where the contract wants `expected`."""
    if pa.types.is_null(kind):
        return "cast", "every value is null"
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if expected == "VARCHAR":
        if (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or (pa.types.is_string_view(kind))
        ):
            return "read", ""
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            return "quarantine", "binary instead of UTF-8 text"
        return "quarantine", "not text"
    if expected in ("INTEGER", "BIGINT"):
        if not pa.types.is_integer(kind):
            return "quarantine", "not an integer"
        if expected == "BIGINT" and not pa.types.is_uint64(kind):
            return ("read", "") if pa.types.is_int64(kind) else ("cast", "widened")
        if expected == "INTEGER":
            if pa.types.is_int32(kind):
                return "read", ""
            if kind.bit_width < 32:
                return "cast", "widened"
        index = _leaf_index(metadata, name)
        low, high = INT32_RANGE if expected == "INTEGER" else (-(2**63), 2**63 - 1)
        if index is not None and _stats_within(metadata, index, low, high):
            return "cast", "narrowed: footer statistics show every value fits"
        return "quarantine", "values may not fit (no statistics or out of range)"
    if expected == "DOUBLE":
        if pa.types.is_float64(kind):
            return "read", ""
        if pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind):
            return "cast", "widened"
        return "quarantine", "not a number"
    if expected == "TIMESTAMP":
        if pa.types.is_timestamp(kind):
            if kind.unit == "us" and kind.tz in _UTC_NAMES:
                return "read", ""
            return "cast", "converted to UTC microseconds"
        return "quarantine", "not a timestamp"
    if expected == "BOOLEAN":
        return ("read", "") if pa.types.is_boolean(kind) else ("quarantine", "not a boolean")
    if expected == "DATE":
        return ("read", "") if pa.types.is_date32(kind) else ("quarantine", "not a date")
    return "quarantine", f"unsupported contract type {expected}"


def _read_expr(name: str, sql_type: str, kind: pa.DataType) -> str:
    """How to read column `name` (arrow type `kind`) as the contract's `sql_type`."""
    if (
        sql_type == "TIMESTAMP"
        and pa.types.is_timestamp(kind)
        and kind.tz is not None
        and kind.unit != "ns"
    ):
        # DuckDB reads a zoned timestamp as TIMESTAMPTZ; a cast to TIMESTAMP goes
        # through ICU's calendar row by row (about 1 s per 20 million rows). The
        # instant's microseconds since the epoch are the naive UTC timestamp as is.
        return f"make_timestamp(epoch_us({_ident(name)}))"
    return f"cast({_ident(name)} as {sql_type})"


def _inspect(file: RequestFile, overrides: ContractOverrides) -> FileVerdict:
    try:
        metadata = pq.read_metadata(file.path)
        schema = metadata.schema.to_arrow_schema()
    except Exception as error:  # pyarrow raises several types for a bad footer
        return FileVerdict(
            file,
            readable=False,
            rows=None,
            error=f"unreadable Parquet footer: {_first_line(error)}",
        )
    fields = {item.name: item.type for item in schema}
    findings: list[Finding] = []
    exprs: list[str] = []
    for column in request_columns():
        kind = fields.get(column.name)
        if kind is None:
            if column.nullable:
                findings.append(
                    Finding(
                        "cast",
                        column.name,
                        column.sql_type,
                        None,
                        f"optional column {column.name} missing: read as null",
                    )
                )
                exprs.append(f"cast(null as {column.sql_type}) as {_ident(column.name)}")
            else:
                findings.append(
                    Finding(
                        "quarantine",
                        column.name,
                        column.sql_type,
                        None,
                        f"required column {column.name} missing",
                    )
                )
            continue
        action, why = _classify(column.sql_type, kind, column.name, metadata)
        if action != "read":
            findings.append(
                Finding(
                    action,
                    column.name,
                    column.sql_type,
                    str(kind),
                    f"{column.name}: {kind} where {column.sql_type} is expected ({why})",
                )
            )
        exprs.append(f"{_read_expr(column.name, column.sql_type, kind)} as {_ident(column.name)}")
    declared = overrides.extra_columns()
    contract = set(sql_columns("raw_requests"))
    for name, kind in fields.items():
        if name in contract:
            continue
        if name in declared:
            action, why = _classify(declared[name], kind, name, metadata)
            if action == "quarantine":
                findings.append(
                    Finding(
                        "quarantine",
                        name,
                        declared[name],
                        str(kind),
                        f"extra column {name}: {kind} where {declared[name]} is declared ({why})",
                    )
                )
            continue
        findings.append(
            Finding("ignore", name, None, str(kind), f"undeclared column {name} ({kind}) ignored")
        )
    if any(f.action == "quarantine" for f in findings):
        exprs = []
    return FileVerdict(
        file,
        readable=True,
        rows=metadata.num_rows,
        findings=tuple(findings),
        read_exprs=tuple(exprs),
    )


@cache
def _inspect_cached(file: RequestFile, overrides: str, size: int, mtime_ns: int) -> FileVerdict:
    return _inspect(file, ContractOverrides.model_validate_json(overrides))


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = os.stat(path)
    except OSError:
        return -1, -1
    return stat.st_size, stat.st_mtime_ns


def inspect_file(file: RequestFile, overrides: ContractOverrides) -> FileVerdict:
    """Hold one file's footer (never its data) against the contract; cached per file version."""
    return _inspect_cached(file, overrides.model_dump_json(), *_stamp(file.path))


def inspect_files(files: Iterable[RequestFile], overrides: ContractOverrides) -> list[FileVerdict]:
    return [inspect_file(file, overrides) for file in files]


@cache
def _probe_cached(path: Path, exprs: tuple[str, ...], size: int, mtime_ns: int) -> str | None:
    measures = ", ".join(
        f"max(length({name}))" if "VARCHAR" in expr else f"count({name})"
        for expr in exprs
        for name in [expr.rsplit(" as ", 1)[1]]
    )
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        try:
            connection.execute(
                f"select {measures} from (select {', '.join(exprs)} "
                f"from read_parquet({_quote(str(path))}))"
            ).fetchall()
        except duckdb.Error as error:
            return f"undecodable data: {_first_line(error)}"
    return None


def probe_file(verdict: FileVerdict) -> str | None:
    """Read every contract column of one file in full; the error if its data cannot be decoded."""
    if verdict.quarantined:
        return None
    return _probe_cached(verdict.file.path, verdict.read_exprs, *_stamp(verdict.file.path))


def with_undecodable(verdict: FileVerdict, error: str) -> FileVerdict:
    """The verdict of a file whose footer is fine but whose pages cannot be decoded."""
    return FileVerdict(
        verdict.file,
        readable=True,
        rows=verdict.rows,
        findings=verdict.findings,
        read_exprs=(),
        error=error,
    )


@dataclass(frozen=True)
class RowRule:
    """One row-level rule: a reason code, a SQL predicate true for a bad row, a detail."""

    reason: str
    bad_sql: str
    detail_sql: str


def _value_text(name: str) -> str:
    return f"coalesce(cast({_ident(name)} as varchar), 'null')"


def row_rules(
    tenant: str, folder_day: dt.date, skew: dt.timedelta, overrides: ContractOverrides
) -> list[RowRule]:
    """The row rules for rows found in folder `tenant`/`folder_day`, first-broken first.

    Null checks come first, so every later predicate sees non-null values.
    """
    start, end = ts_window(folder_day, skew)
    return _rules(
        _quote(tenant),
        f"folder tenant={tenant.replace(chr(39), '')}",
        (f"timestamp '{start:%Y-%m-%d %H:%M:%S}'", f"timestamp '{end:%Y-%m-%d %H:%M:%S}'"),
        f"[{start:%Y-%m-%d %H:%M}, {end:%Y-%m-%d %H:%M}) of folder date={folder_day}",
        overrides,
    )


# The columns a multi-folder scan derives from each row's file path (see `_read_folders`).
_FILE_COLUMN = "__burnwatch_file"
_FOLDER_TENANT = "__folder_tenant"
_FOLDER_DAY = "__folder_day"


def _folder_rules(skew: dt.timedelta, overrides: ContractOverrides) -> list[RowRule]:
    """`row_rules` for rows of any folder, which is read from the row's own columns
    `__folder_tenant` and `__folder_day` (the same window as `ts_window`)."""
    day = _ident(_FOLDER_DAY)
    minutes = int(skew.total_seconds() // 60)
    return _rules(
        _ident(_FOLDER_TENANT),
        "its folder's tenant",
        (
            f"({day} - interval 1 day)",
            f"({day} + interval 1 day + interval {minutes} minute)",
        ),
        "its folder's window",
        overrides,
    )


def _rules(
    tenant_sql: str,
    tenant_text: str,
    window_sql: tuple[str, str],
    window_text: str,
    overrides: ContractOverrides,
) -> list[RowRule]:
    columns = request_columns()
    rules = [
        RowRule(f"null_{c.name}", f"{_ident(c.name)} is null", f"'{c.name} is null'")
        for c in columns
        if not c.nullable
    ]
    rules.append(
        RowRule(
            "tenant_mismatch",
            f'"tenant_id" <> {tenant_sql}',
            f"'tenant_id ' || \"tenant_id\" || ' in {tenant_text}'",
        )
    )
    for c in columns:
        name = _ident(c.name)
        if c.min_length:
            rules.append(
                RowRule(
                    f"empty_{c.name}",
                    f"length({name}) < {int(c.min_length)}",
                    f"'{c.name} is empty'",
                )
            )
        if c.min_value is None and c.max_value is None and c.sql_type != "DOUBLE":
            continue
        default = [f"{name} >= {c.min_value}"] if c.min_value is not None else []
        if c.max_value is not None:
            default.append(f"{name} <= {c.max_value}")
        if c.sql_type == "DOUBLE":
            default.append(f"isfinite({name})")
        allowed = " and ".join(default) or "true"
        if c.name == "status_code":
            cases = [
                f"when {_quote(service)} then {name} between {bounds[0]} and {bounds[1]}"
                for service in sorted(overrides.services)
                if (bounds := overrides.status_range(service)) is not None
            ]
            if cases:
                allowed = f'case "service" {" ".join(cases)} else {allowed} end'
        rules.append(
            RowRule(
                f"{c.name}_out_of_range",
                f"not ({allowed})",
                f"'{c.name}=' || {_value_text(c.name)}",
            )
        )
    rules.append(
        RowRule(
            "ts_outside_folder_window",
            f'"ts" < {window_sql[0]} or "ts" >= {window_sql[1]}',
            f"'ts=' || {_value_text('ts')} || ' outside {window_text}'",
        )
    )
    return rules


def _groups(
    verdicts: Sequence[FileVerdict],
) -> dict[tuple[str, dt.date, tuple[str, ...]], list[FileVerdict]]:
    groups: dict[tuple[str, dt.date, tuple[str, ...]], list[FileVerdict]] = {}
    for verdict in sorted(verdicts, key=lambda v: v.file):
        if not verdict.quarantined:
            key = (verdict.file.tenant, verdict.file.day, verdict.read_exprs)
            groups.setdefault(key, []).append(verdict)
    return groups


def _read(
    files: list[FileVerdict], exprs: tuple[str, ...], extra: tuple[str, ...] = (), options: str = ""
) -> str:
    """The files read as the contract's columns (`exprs`), plus `extra` select expressions
    that may use the read_parquet `options` (file names, row numbers)."""
    listed = ", ".join(_quote(str(v.file.path)) for v in files)
    columns = ", ".join((*exprs, *extra))
    return f"(select {columns} from read_parquet([{listed}], union_by_name = true{options}))"


def _read_located(files: list[FileVerdict], exprs: tuple[str, ...]) -> str:
    """`_read`, plus each row's file and row number (for the quarantine)."""
    return _read(
        files, exprs, ("filename", "file_row_number"), ", filename = true, file_row_number = true"
    )


def _read_folders(files: list[FileVerdict], exprs: tuple[str, ...]) -> str:
    """`_read`, plus each row's folder tenant and day, taken from its file's path."""
    source = _ident(_FILE_COLUMN)
    # The last tenant=/date= folders of the path, as `discover_request_files` reads them.
    folders = r"/tenant=([^/]+)/date=(\d{4}-\d{2}-\d{2})/[^/]*$"
    return _read(
        files,
        exprs,
        (
            f"regexp_extract({source}, '{folders}', 1) as {_ident(_FOLDER_TENANT)}",
            f"cast(regexp_extract({source}, '{folders}', 2) as date) as {_ident(_FOLDER_DAY)}",
        ),
        f", filename = '{_FILE_COLUMN}'",
    )


def request_scan_sql(
    verdicts: Sequence[FileVerdict],
    skew: dt.timedelta,
    overrides: ContractOverrides,
    cut: tuple[dt.datetime, dt.datetime],
) -> str | None:
    """The good rows of the readable files with ts in [cut): what `raw_requests` is bound to.

    None when no file is readable. The row rules are one vectorised filter in the
    scan. Files read the same way share one scan, whatever their folders (each
    row's folder comes from its file's path): one scan of many files keeps both
    cores busy, where a union of one small scan per folder does not.
    """
    columns = ", ".join(_ident(name) for name in sql_columns("raw_requests"))
    bad = " or ".join(f"({rule.bad_sql})" for rule in _folder_rules(skew, overrides))
    by_reading: dict[tuple[str, ...], list[FileVerdict]] = {}
    for (_, _, exprs), files in _groups(verdicts).items():
        by_reading.setdefault(exprs, []).extend(files)
    parts = [
        f"select {columns} from {_read_folders(files, exprs)} "
        f"where \"ts\" >= timestamp '{cut[0]:%Y-%m-%d %H:%M:%S}' "
        f"and \"ts\" < timestamp '{cut[1]:%Y-%m-%d %H:%M:%S}' and not ({bad})"
        for exprs, files in by_reading.items()
    ]
    return "\nunion all\n".join(parts) if parts else None


def request_checks_sql(
    verdicts: Sequence[FileVerdict], skew: dt.timedelta, overrides: ContractOverrides
) -> str | None:
    """Every row of the readable files with the first rule it breaks: `raw_request_checks`."""
    parts = []
    raw = ", ".join(f"'{name}': {_ident(name)}" for name in sql_columns("raw_requests"))
    for (tenant, day, exprs), files in _groups(verdicts).items():
        rules = row_rules(tenant, day, skew, overrides)
        reason = " ".join(f"when {r.bad_sql} then '{r.reason}'" for r in rules)
        detail = " ".join(f"when {r.bad_sql} then {r.detail_sql}" for r in rules)
        parts.append(
            f"select {_quote(tenant)} as tenant_id, date '{day}' as folder_day, "
            f"filename as file, cast(file_row_number as bigint) as row_number, "
            f'"request_id", case {reason} end as reason, case {detail} end as detail, '
            f"cast(to_json({{{raw}}}) as varchar) as raw_row "
            f"from {_read_located(files, exprs)}"
        )
    return "\nunion all\n".join(parts) if parts else None


def quarantined_files_frame(verdicts: Sequence[FileVerdict]) -> pl.DataFrame:
    """One `quarantine` row per whole file that is not read, in file order."""
    from schemas.tables import Quarantine

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
    from schemas.tables import ContractReport

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


def overrides_path(data_dir: Path, manifest: Path, explicit: str = "") -> Path | None:
    """The contracts file a run uses (see `schemas.contracts.find_overrides_file`)."""
    return find_overrides_file(explicit or None, data_dir, manifest)


def load_run_overrides(data_dir: Path, manifest: Path, explicit: str = "") -> ContractOverrides:
    return load_overrides(overrides_path(data_dir, manifest, explicit))


# A service whose median latency is below this many "milliseconds" over at least
# LATENCY_UNIT_MIN_ROWS requests most likely logs seconds: real services answer in
# milliseconds, and a sub-millisecond median is rare enough to be worth a look.
LATENCY_UNIT_MAX_MEDIAN_MS = 1.0
LATENCY_UNIT_MIN_ROWS = 20


def latency_unit_warnings(
    verdicts: Sequence[FileVerdict], overrides: ContractOverrides, skew: dt.timedelta
) -> pl.DataFrame:
    """`contract_report` rows (action `warn`) for services whose latency looks like seconds.

    A heuristic, so it only reports: it reads two columns of the folder's good rows.
    """
    from schemas.tables import ContractReport

    schema = {
        name: column.dtype.type for name, column in ContractReport.to_schema().columns.items()
    }
    groups = _groups(verdicts)
    rows: list[dict[str, object]] = []
    if groups:
        parts = []
        for (tenant, day, exprs), files in groups.items():
            bad = " or ".join(f"({r.bad_sql})" for r in row_rules(tenant, day, skew, overrides))
            parts.append(
                f"select {_quote(tenant)} as tenant_id, date '{day}' as folder_day, "
                f'"service", "latency_ms" from {_read(files, exprs)} '
                f"where not ({bad})"
            )
        query = (
            "select tenant_id, folder_day, service, median(latency_ms), count(*) from ("
            + " union all ".join(parts)
            + ") group by all having count(*) >= ? and median(latency_ms) < ? order by all"
        )
        with duckdb.connect() as connection:
            connection.execute("set TimeZone = 'UTC'")
            found = connection.execute(
                query, [LATENCY_UNIT_MIN_ROWS, LATENCY_UNIT_MAX_MEDIAN_MS]
            ).fetchall()
        folders = {(v.file.tenant, v.file.day): v.file.path.parent for v in verdicts}
        for tenant, day, service, median, count in found:
            if not overrides.checks_latency_unit(service):
                continue
            rows.append(
                {
                    "tenant_id": tenant,
                    "folder_day": day,
                    "file": str(folders[(tenant, day)]),
                    "status": "drifted",
                    "action": "warn",
                    "column_name": "latency_ms",
                    "expected_type": "DOUBLE (milliseconds)",
                    "found_type": "DOUBLE (seconds?)",
                    "detail": f"service {service}: median latency_ms {median:.3g} over {count} "
                    "requests; is latency logged in seconds? (report only)",
                    "file_rows": None,
                }
            )
    return ContractReport.validate(pl.DataFrame(rows, schema=schema))


def quarantine_warnings(warehouse: Path, first: dt.date, last: dt.date) -> tuple[str, ...]:
    """One line per input file quarantined whole or in part on days [first, last]."""
    from pipelines.warehouse import lake

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
