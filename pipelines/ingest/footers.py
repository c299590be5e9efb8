"""Holding request-log files to the contract by their Parquet footers, never their data.

Each file's footer (schema and row-group statistics) is compared with the
contract (`inspect_file`). A file on contract is read as is; a safe drift (a
narrower number, an integer that fits, a missing optional column) is cast and
reported; an unsafe drift (a string status code, a missing or renamed required
column, ids stored as binary) or an unreadable footer quarantines the whole file.

The verdict says how to read each contract column (`ColumnRead`) as data, not
SQL: `pipelines.ingest.scan` writes the SQL from it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingest.files import RequestFile
from schemas.contracts import ContractOverrides, request_columns
from schemas.tables import sql_columns

INT32_RANGE = (-(2**31), 2**31 - 1)
_UTC_NAMES = {None, "UTC", "utc", "+00:00", "Etc/UTC", "Z"}

# How a contract column is read from a file:
# - "cast": the file's column, cast to the contract's type;
# - "null": the file has no such (optional) column: a typed null;
# - "epoch_us": a zoned timestamp, read as its microseconds since the epoch;
# - "epoch_ns": a nanosecond timestamp (zoned or not), floored to the microsecond.
ReadKind = Literal["cast", "null", "epoch_us", "epoch_ns"]


@dataclass(frozen=True)
class ColumnRead:
    """How one contract column is read from a file: its name, the contract's SQL type, how."""

    name: str
    sql_type: str
    kind: ReadKind


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
    # One read per contract column, in contract order; empty when the file is quarantined.
    reads: tuple[ColumnRead, ...] = ()
    error: str | None = None

    @property
    def status(self) -> str:
        if not self.readable:
            return "unreadable"
        return "drifted" if self.findings else "ok"

    @property
    def quarantined(self) -> bool:
        return not self.reads

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


def first_line(error: BaseException) -> str:
    """The first line of an error's message (its type when it has none), for a one-line detail."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def file_version(path: Path) -> tuple[int, int]:
    """(size, mtime in ns) of a file, (-1, -1) if it is gone: the key of per-file caches."""
    try:
        stat = os.stat(path)
    except OSError:
        return -1, -1
    return stat.st_size, stat.st_mtime_ns


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
            # Every unit and zone is an instant that converts exactly to UTC microseconds
            # (`_column_read` says how); nanoseconds lose only their sub-microsecond digits.
            if kind.unit == "us" and kind.tz in _UTC_NAMES:
                return "read", ""
            zone = f" from zone {kind.tz}" if kind.tz not in _UTC_NAMES else ""
            if kind.unit == "ns":
                return (
                    "cast",
                    f"converted{zone} to UTC microseconds (sub-microsecond digits dropped)",
                )
            return "cast", f"converted{zone} to UTC microseconds"
        return "quarantine", "not a timestamp"
    if expected == "BOOLEAN":
        return ("read", "") if pa.types.is_boolean(kind) else ("quarantine", "not a boolean")
    if expected == "DATE":
        return ("read", "") if pa.types.is_date32(kind) else ("quarantine", "not a date")
    return "quarantine", f"unsupported contract type {expected}"


def _column_read(name: str, sql_type: str, kind: pa.DataType) -> ColumnRead:
    """How to read column `name` (arrow type `kind`) as the contract's `sql_type`.

    The one decision for timestamps, which `burnwatch validate` reports and the run
    reads by: tests/test_contracts.py holds it to every unit and zone.
    """
    if sql_type == "TIMESTAMP" and pa.types.is_timestamp(kind) and kind.unit == "ns":
        # DuckDB reads a zoned nanosecond timestamp as TIMESTAMPTZ_NS, which it cannot
        # cast to TIMESTAMP (nor take epoch_us of); its epoch nanoseconds always work.
        return ColumnRead(name, sql_type, "epoch_ns")
    if (
        sql_type == "TIMESTAMP"
        and pa.types.is_timestamp(kind)
        and kind.tz is not None
        and kind.unit != "ns"
    ):
        # DuckDB reads a zoned timestamp as TIMESTAMPTZ; a cast to TIMESTAMP goes
        # through ICU's calendar row by row (about 1 s per 20 million rows). The
        # instant's microseconds since the epoch are the naive UTC timestamp as is.
        return ColumnRead(name, sql_type, "epoch_us")
    return ColumnRead(name, sql_type, "cast")


def _inspect(file: RequestFile, overrides: ContractOverrides) -> FileVerdict:
    try:
        metadata = pq.read_metadata(file.path)
        schema = metadata.schema.to_arrow_schema()
    except Exception as error:  # pyarrow raises several types for a bad footer
        return FileVerdict(
            file,
            readable=False,
            rows=None,
            error=f"unreadable Parquet footer: {first_line(error)}",
        )
    fields = {item.name: item.type for item in schema}
    findings: list[Finding] = []
    reads: list[ColumnRead] = []
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
                reads.append(ColumnRead(column.name, column.sql_type, "null"))
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
        reads.append(_column_read(column.name, column.sql_type, kind))
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
        reads = []
    return FileVerdict(
        file,
        readable=True,
        rows=metadata.num_rows,
        findings=tuple(findings),
        reads=tuple(reads),
    )


@cache
def _inspect_cached(file: RequestFile, overrides: str, size: int, mtime_ns: int) -> FileVerdict:
    return _inspect(file, ContractOverrides.model_validate_json(overrides))


def inspect_file(file: RequestFile, overrides: ContractOverrides) -> FileVerdict:
    """Hold one file's footer (never its data) against the contract; cached per file version."""
    return _inspect_cached(file, overrides.model_dump_json(), *file_version(file.path))


def inspect_files(files: Iterable[RequestFile], overrides: ContractOverrides) -> list[FileVerdict]:
    """`inspect_file` for each file, in the order given."""
    return [inspect_file(file, overrides) for file in files]


def with_undecodable(verdict: FileVerdict, error: str) -> FileVerdict:
    """The verdict of a file whose footer is fine but whose pages cannot be decoded."""
    return FileVerdict(
        verdict.file,
        readable=True,
        rows=verdict.rows,
        findings=verdict.findings,
        reads=(),
        error=error,
    )


_MICROS_PER_UNIT = {"s": 1_000_000, "ms": 1000, "us": 1}


def ts_day_range(file: RequestFile) -> tuple[dt.date, dt.date] | None:
    """The first and last day of the file's `ts` by its footer's statistics (UTC), or
    None when the footer cannot say. Raw statistics: pyarrow's own conversion fails for
    nanoseconds."""
    try:
        metadata = pq.read_metadata(file.path)
        kind = metadata.schema.to_arrow_schema().field("ts").type
        index = _leaf_index(metadata, "ts")
    except Exception:  # unreadable footers and missing columns are the verdict's business
        return None
    if index is None or not pa.types.is_timestamp(kind) or metadata.num_row_groups == 0:
        return None
    lows, highs = [], []
    for group in range(metadata.num_row_groups):
        stats = metadata.row_group(group).column(index).statistics
        if stats is None or not stats.has_min_max or not isinstance(stats.min_raw, int):
            return None
        lows.append(stats.min_raw)
        highs.append(stats.max_raw)

    def day(raw: int) -> dt.date:
        micros = raw // 1000 if kind.unit == "ns" else raw * _MICROS_PER_UNIT[kind.unit]
        return (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=micros)).date()

    try:
        return day(min(lows)), day(max(highs))
    except OverflowError:  # year 10000 and beyond: the row rules quarantine those
        return None
