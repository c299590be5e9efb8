"""The SQL that reads request files: good rows for `stg_requests`, every row for the checks.

Files are read where they lie, as the footer verdicts say (`ColumnRead`), and
the contract's row rules (`pipelines.ingest.rules`) are one vectorised filter
in the same scan. A file whose footer is fine but whose pages cannot be
decoded (invalid UTF-8, corrupt pages) is found only when a scan fails;
`probe_file` then reads each file alone to find the culprit, which is
quarantined whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

import duckdb

from pipelines.ingest.files import RequestFile, computed_range, files_for_days
from pipelines.ingest.footers import (
    ColumnRead,
    FileVerdict,
    file_version,
    first_line,
    inspect_files,
    with_undecodable,
)
from pipelines.ingest.rules import (
    FOLDER_DAY,
    FOLDER_TENANT,
    DayRange,
    folder_rules,
    quote_ident,
    quote_literal,
)
from pipelines.warehouse import lake
from pipelines.warehouse.literal import path_list, path_literal
from pipelines.warehouse.session import bind
from schemas.contracts import NO_OVERRIDES, ContractOverrides
from schemas.tables import sql_columns

# The column a multi-folder scan names each row's file path by (see `read_folders_sql`).
_FILE_COLUMN = "__burnwatch_file"

Reads = tuple[ColumnRead, ...]


def column_sql(read: ColumnRead) -> str:
    """The select expression that reads one contract column as the contract's type."""
    name = quote_ident(read.name)
    if read.kind == "null":
        return f"cast(null as {read.sql_type}) as {name}"
    if read.kind == "epoch_us":
        return f"make_timestamp(epoch_us({name})) as {name}"
    if read.kind == "epoch_ns":
        # Floor to the microsecond (`//` truncates toward zero, wrong before 1970).
        ns = f"epoch_ns({name})"
        return f"make_timestamp(({ns} - (({ns} % 1000) + 1000) % 1000) // 1000) as {name}"
    return f"cast({name} as {read.sql_type}) as {name}"


def read_groups(
    verdicts: Sequence[FileVerdict],
) -> dict[tuple[str, dt.date, Reads], list[FileVerdict]]:
    """The readable files by (folder tenant, folder day, how they are read), in file order."""
    groups: dict[tuple[str, dt.date, Reads], list[FileVerdict]] = {}
    for verdict in sorted(verdicts, key=lambda v: v.file):
        if not verdict.quarantined:
            key = (verdict.file.tenant, verdict.file.day, verdict.reads)
            groups.setdefault(key, []).append(verdict)
    return groups


def read_files_sql(
    files: list[FileVerdict], reads: Reads, extra: tuple[str, ...] = (), options: str = ""
) -> str:
    """The files read as the contract's columns (`reads`), plus `extra` select expressions
    that may use the read_parquet `options` (file names, row numbers)."""
    listed = path_list(v.file.path for v in files)
    columns = ", ".join((*(column_sql(read) for read in reads), *extra))
    # hive_partitioning off: a folder below the day named like a column (`status_code=999/`)
    # would otherwise replace that column's values; folders come from discovery only.
    return (
        f"(select {columns} from read_parquet({listed}, union_by_name = true, "
        f"hive_partitioning = false{options}))"
    )


def read_folders_sql(files: list[FileVerdict], reads: Reads, row_numbers: bool = False) -> str:
    """`read_files_sql`, plus each row's folder tenant and day, joined on its file's path
    (`__burnwatch_file`), and with `row_numbers` each row's `file_row_number`.

    The folders are the ones discovery gave the file, never parsed again from its
    path: a path may hold look-alike folders above the data or below the day.
    """
    source = quote_ident(_FILE_COLUMN)
    folders = ", ".join(
        f"({quote_literal(str(v.file.path))}, {quote_literal(v.file.tenant)}, date '{v.file.day}')"
        for v in files
    )
    extra: tuple[str, ...] = (source,)
    options = f", filename = '{_FILE_COLUMN}'"
    if row_numbers:
        extra, options = (source, "file_row_number"), options + ", file_row_number = true"
    scan = read_files_sql(files, reads, extra, options)
    return (
        f"(select scan.*, folders.tenant as {quote_ident(FOLDER_TENANT)}, "
        f"folders.day as {quote_ident(FOLDER_DAY)} from {scan} as scan "
        f"join (values {folders}) as folders(path, tenant, day) on scan.{source} = folders.path)"
    )


def request_scan_sql(
    verdicts: Sequence[FileVerdict],
    skew: dt.timedelta,
    overrides: ContractOverrides,
    cut: tuple[dt.datetime, dt.datetime],
    computed: DayRange | None = None,
) -> str | None:
    """The good rows of the readable files with ts in [cut): what `raw_requests` is bound to.

    None when no file is readable. The row rules are one vectorised filter in the
    scan. Files read the same way share one scan, whatever their folders (each
    row's folder comes from its file's path): one scan of many files keeps both
    cores busy, where a union of one small scan per folder does not.
    """
    columns = ", ".join(quote_ident(name) for name in sql_columns("raw_requests"))
    bad = " or ".join(f"({rule.bad_sql})" for rule in folder_rules(skew, overrides, computed))
    by_reading: dict[Reads, list[FileVerdict]] = {}
    for (_, _, reads), files in read_groups(verdicts).items():
        by_reading.setdefault(reads, []).extend(files)
    parts = [
        f"select {columns} from {read_folders_sql(files, reads)} "
        f"where \"ts\" >= timestamp '{cut[0]:%Y-%m-%d %H:%M:%S}' "
        f"and \"ts\" < timestamp '{cut[1]:%Y-%m-%d %H:%M:%S}' and not ({bad})"
        for reads, files in by_reading.items()
    ]
    return "\nunion all\n".join(parts) if parts else None


def request_checks_sql(
    verdicts: Sequence[FileVerdict],
    skew: dt.timedelta,
    overrides: ContractOverrides,
    computed: DayRange | None = None,
) -> str | None:
    """Every row of the readable files with the first rule it breaks: `raw_request_checks`.

    Like `request_scan_sql`, files read the same way share one scan whatever their
    folders (the rules read each row's folder from its file's path): a union of one
    scan per tenant folder cost time in proportion to tenants, not rows.
    """
    raw = ", ".join(f"'{name}': {quote_ident(name)}" for name in sql_columns("raw_requests"))
    rules = folder_rules(skew, overrides, computed)
    reason = " ".join(f"when {r.bad_sql} then '{r.reason}'" for r in rules)
    detail = " ".join(f"when {r.bad_sql} then {r.detail_sql}" for r in rules)
    by_reading: dict[Reads, list[FileVerdict]] = {}
    for (_, _, reads), files in read_groups(verdicts).items():
        by_reading.setdefault(reads, []).extend(files)
    parts = [
        f"select {quote_ident(FOLDER_TENANT)} as tenant_id, {quote_ident(FOLDER_DAY)} "
        f"as folder_day, {quote_ident(_FILE_COLUMN)} as file, "
        f"cast(file_row_number as bigint) as row_number, "
        f'"request_id", case {reason} end as reason, case {detail} end as detail, '
        f"cast(to_json({{{raw}}}) as varchar) as raw_row "
        f"from {read_folders_sql(files, reads, row_numbers=True)}"
        for reads, files in by_reading.items()
    ]
    return "\nunion all\n".join(parts) if parts else None


@cache
def _probe_cached(path: Path, reads: Reads, size: int, mtime_ns: int) -> str | None:
    measures = ", ".join(
        f"max(length({quote_ident(read.name)}))"
        if read.sql_type == "VARCHAR"
        else f"count({quote_ident(read.name)})"
        for read in reads
    )
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        try:
            connection.execute(
                f"select {measures} from (select {', '.join(column_sql(r) for r in reads)} "
                f"from read_parquet({path_literal(path)}, hive_partitioning = false))"
            ).fetchall()
        except duckdb.Error as error:
            return f"undecodable data: {first_line(error)}"
    return None


def probe_file(verdict: FileVerdict) -> str | None:
    """Read every contract column of one file in full; the error if its data cannot be decoded."""
    if verdict.quarantined:
        return None
    return _probe_cached(verdict.file.path, verdict.reads, *file_version(verdict.file.path))


def bind_raw_requests(
    connection: duckdb.DuckDBPyConnection,
    files: list[RequestFile],
    first: dt.date,
    last: dt.date,
    skew_tolerance: dt.timedelta,
    overrides: ContractOverrides = NO_OVERRIDES,
    undecodable: Mapping[Path, str] | None = None,
) -> list[FileVerdict]:
    """Bind `raw_requests` to the good rows of the folders of days [first, last] and their
    neighbours', cut to those days ± skew; return the verdicts of the files considered.

    Rows from the neighbouring folders matter only when their ts is in the days
    (late arrivals) or within the skew tolerance of them (a replica's copy of a
    request from across midnight), so the cut keeps dedup exact while reading
    little of the neighbours (row groups are skipped by their ts statistics).
    Files whose footer breaks the contract, and those in `undecodable`, are not
    read; rows that break it are filtered out in the same scan.
    """
    neighbours = files_for_days(files, first - dt.timedelta(days=1), last + dt.timedelta(days=1))
    verdicts = [
        with_undecodable(verdict, undecodable[verdict.file.path])
        if undecodable and verdict.file.path in undecodable
        else verdict
        for verdict in inspect_files(neighbours, overrides)
    ]
    start = dt.datetime.combine(first, dt.time()) - skew_tolerance
    end = dt.datetime.combine(last, dt.time()) + dt.timedelta(days=1) + skew_tolerance
    # Rows on a day no run computes are quarantined (`outside_computed_range`), so they
    # must not be counted here either: the range is the whole data's, not this run's.
    scan = request_scan_sql(
        verdicts, skew_tolerance, overrides, (start, end), computed_range(files)
    )
    if scan is None:
        scan = lake.typed_empty("raw_requests")
    bind(connection, "raw_requests", scan)
    return verdicts
