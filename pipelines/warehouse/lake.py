"""The warehouse on disk: a Parquet lake plus a DuckDB catalog of views over it.

Layout under `<warehouse>`:

    lake/<table>/date=<YYYY-MM-DD>/data.parquet   one file per daily partition
    lake/<table>/data.parquet                     tables without partitions
    burnwatch.duckdb                              views over the lake, one per table

Every file is written to a temporary name in its final folder, flushed to disk,
and renamed into place, so a reader (or a crash) never sees half a partition,
and re-writing a partition replaces it whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import duckdb
import polars as pl

from pipelines.warehouse.atomic import atomic_path
from pipelines.warehouse.literal import path_list, path_literal, pattern_under
from pipelines.warehouse.session import bind
from schemas.errors import BurnwatchInputError
from schemas.tables import TABLES, sql_columns

CATALOG_FILE = "burnwatch.duckdb"
DATA_FILE = "data.parquet"


def lake_dir(warehouse: Path, table: str) -> Path:
    return Path(warehouse) / "lake" / table


def partition_path(warehouse: Path, table: str, day: dt.date | None) -> Path:
    """Where a table's partition (or its single file, when `day` is None) lives."""
    base = lake_dir(warehouse, table)
    return base / DATA_FILE if day is None else base / f"date={day.isoformat()}" / DATA_FILE


def partition_days(warehouse: Path, table: str) -> list[dt.date]:
    """The days for which a partitioned table has been written, oldest first."""
    base = lake_dir(warehouse, table)
    if not base.is_dir():
        return []
    days = [
        dt.date.fromisoformat(child.name.removeprefix("date="))
        for child in base.iterdir()
        if child.name.startswith("date=") and (child / DATA_FILE).is_file()
    ]
    return sorted(days)


def existing_partition_files(
    warehouse: Path, table: str, first: dt.date, last: dt.date
) -> list[str]:
    """Paths of the table's partitions whose day lies in [first, last], in day order."""
    return [
        str(partition_path(warehouse, table, day))
        for day in partition_days(warehouse, table)
        if first <= day <= last
    ]


# The temp table a model's rows are staged in when its ordered copy runs out of memory.
_STAGED_ROWS = "lake_rows_to_write"
_PARQUET_OPTIONS = (
    # zstd level 1: about 20 % faster to write than the default level 3 for some 8 %
    # more bytes (measured on stg_requests), a fair trade for a lake that is rewritten on
    # every run.
    "(format parquet, compression zstd, compression_level 1, row_group_size 122880)"
)


def write_query(
    connection: duckdb.DuckDBPyConnection,
    query: str,
    warehouse: Path,
    table: str,
    day: dt.date | None = None,
    order_by: str | None = None,
    sort_by: str | None = None,
) -> int:
    """Write `query`'s result as the table's partition atomically; return its row count.

    The rows are written in the order of the table's key, which makes the bytes
    independent of thread count and input file order: either `query` ends in an
    `order by` over the key, or it is unordered and `order_by` is the key. `sort_by`,
    if given, is what the unordered query is sorted by instead: columns of its own,
    not all of them output, in the key's order (a model's sort_key, registry.py).

    With `order_by`, a write that runs out of memory (DuckDB's memory_limit) is
    retried in two steps: the rows are staged in a temp table, which DuckDB spills
    to its temp directory, and then copied in order. The one statement fails where
    the two do not because its sort runs while the query's hash tables are still
    held (measured on a day of fct_burn_rates at 2,000 tenants: README, Benchmark).
    The retried partition holds the same rows in the same order; only the Parquet
    columns' "required" flags, which DuckDB derives from the query plan, may differ.
    """
    target = partition_path(warehouse, table, day)
    columns = ", ".join(f'"{name}"' for name in sql_columns(table))
    ordered = query if order_by is None else f"{query}\norder by {sort_by or order_by}"
    with atomic_path(target) as temporary:
        copy = f"copy (select {columns} from ({{}})) to '{temporary}' {_PARQUET_OPTIONS}"
        try:
            connection.execute(copy.format(ordered))
        except duckdb.OutOfMemoryException:
            if order_by is None:
                raise
            connection.execute(f"create or replace temp table {_STAGED_ROWS} as {query}")
            try:
                connection.execute(copy.format(f"select * from {_STAGED_ROWS} order by {order_by}"))
            finally:
                connection.execute(f"drop table if exists {_STAGED_ROWS}")
    row = connection.execute(
        f"select count(*) from read_parquet({path_literal(target)})"
    ).fetchone()
    return int(row[0]) if row else 0


def write_days(
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    warehouse: Path,
    table: str,
    days: Sequence[dt.date],
    day_column: str,
    order_by: str,
    progress: Callable[[dt.date, int], None] | None = None,
) -> dict[dt.date, int]:
    """Write each day's rows of `relation` (a table computed for several days at once) as
    that day's partition, ordered by `order_by`; return the row count of each day.

    A row belongs to the day that holds its `day_column` timestamp. Every day
    in `days` gets a partition, an empty one if it has no rows.
    """
    written: dict[dt.date, int] = {}
    for day in days:
        start = dt.datetime.combine(day, dt.time())
        query = (
            f"select * from {relation} "
            f"where {day_column} >= timestamp '{start:%Y-%m-%d %H:%M:%S}' "
            f"and {day_column} < timestamp '{start:%Y-%m-%d %H:%M:%S}' + interval 1 day "
            f"order by {order_by}"
        )
        written[day] = write_query(connection, query, warehouse, table, day)
        if progress is not None:
            progress(day, written[day])
    return written


def typed_empty(table: str) -> str:
    """A relation with the table's columns and types and no rows (schemas/tables.py)."""
    typed_nulls = ", ".join(
        f'null::{kind} as "{name}"' for name, kind in sql_columns(table).items()
    )
    return f"select {typed_nulls} limit 0"


def scan_sql(warehouse: Path, table: str, files: list[str] | None = None) -> str:
    """A SQL expression that reads a table from the lake (an empty, typed relation if absent)."""
    if files is None:
        single = partition_path(warehouse, table, None)
        files = (
            [str(single)]
            if single.is_file()
            else [
                str(partition_path(warehouse, table, day))
                for day in partition_days(warehouse, table)
            ]
        )
    columns = sql_columns(table)
    if not files:
        return f"({typed_empty(table)})"
    names = ", ".join(f'"{name}"' for name in columns)
    return f"(select {names} from read_parquet({path_list(files)}))"


def bind_table(
    connection: duckdb.DuckDBPyConnection,
    warehouse: Path,
    table: str,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> None:
    """Bind a lake table under its own name for the models, limited to days [first, last]
    if given."""
    files = None
    if first is not None and last is not None:
        files = existing_partition_files(warehouse, table, first, last)
    bind(connection, table, f"select * from {scan_sql(warehouse, table, files)}")


def read_table(warehouse: Path, table: str) -> pl.DataFrame:
    """A whole table from the lake as a polars DataFrame (for tests, reports and the CLI)."""
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        return connection.sql(f"select * from {scan_sql(Path(warehouse), table)}").pl()


# The catalog is written in DuckDB 1.4's storage format, which every DuckDB since 1.4 opens,
# the pinned command-line shell (duckdb-cli 1.5.6, `.venv/bin/duckdb`) included: the
# Python package's own newer format would be refused by every 1.x shell.
CATALOG_STORAGE_VERSION = "v1.4.0"
# One row naming the warehouse the catalog's views point into; a copied or moved warehouse
# is noticed by `catalog_is_current` and its catalog re-created (`burnwatch sql`, any run).
CATALOG_LOCATION_TABLE = "burnwatch_catalog"


def refresh_catalog(warehouse: Path, target: Path | None = None) -> Path:
    """Rebuild `burnwatch.duckdb` (or `target`): one view per table over the lake's Parquet.

    The catalog is built under a temporary name and renamed over the old one, so
    a user who holds the catalog open never blocks the pipeline, and never sees
    a half-built catalog: their session keeps the old file until they reopen.
    The views hold the lake's absolute paths, so the catalog opens from any folder;
    `burnwatch_catalog.warehouse` says which warehouse they point into.
    """
    warehouse = Path(warehouse).resolve()
    target = Path(target) if target is not None else warehouse / CATALOG_FILE
    with atomic_path(target) as temporary:
        _build_catalog(warehouse, temporary)
        # A write-ahead log beside the old catalog (left by a read-write session that was
        # killed) belongs to that file: DuckDB would replay it into the new one and refuse
        # to open it ever after ("WAL does not match database file"). The views are
        # rebuilt from the lake on every run, so the old catalog's log holds nothing to keep.
        remove_stale_wal(target)
    remove_stale_wal(target)  # one a session of the old file wrote during the rename
    check_catalog(target)
    return target


def wal_path(catalog: Path) -> Path:
    return catalog.with_name(catalog.name + ".wal")


def remove_stale_wal(catalog: Path) -> bool:
    """Remove the catalog's write-ahead log if there is one; True if there was."""
    try:
        wal_path(catalog).unlink()
    except FileNotFoundError:
        return False
    return True


def check_catalog(catalog: Path) -> None:
    """Open the catalog as a user would; a run must not succeed with a catalog no one
    can open."""
    try:
        with duckdb.connect(str(catalog), read_only=True) as connection:
            connection.execute("select count(*) from duckdb_views()").fetchall()
    except duckdb.Error as error:
        if "lock" in str(error).lower():
            return  # a user opened it read-write since the rename: it opens
        raise BurnwatchInputError(
            f"{catalog}: the catalog just written does not open: {error}"
        ) from None


def _build_catalog(warehouse: Path, temporary: Path) -> None:
    with duckdb.connect() as connection:
        connection.execute(
            f"attach '{temporary}' as catalog (storage_version '{CATALOG_STORAGE_VERSION}')"
        )
        connection.execute("use catalog")
        for table in TABLES:
            base = lake_dir(warehouse, table)
            if (base / DATA_FILE).is_file():
                source = f"read_parquet({path_literal(base / DATA_FILE)})"
            elif partition_days(warehouse, table):
                # The warehouse path literal, the partition folders a pattern.
                source = f"read_parquet({pattern_under(base, f'date=*/{DATA_FILE}')})"
            else:
                continue
            names = ", ".join(f'"{name}"' for name in sql_columns(table))
            connection.execute(f"create or replace view {table} as select {names} from {source}")
        for extra in sorted(_extra_tables(warehouse)):
            connection.execute(
                f"create or replace view {extra} as select * from "
                f"read_parquet({pattern_under(lake_dir(warehouse, extra), '**/*.parquet')})"
            )
        connection.execute(
            f"create table {CATALOG_LOCATION_TABLE} as select ? as warehouse", [str(warehouse)]
        )
        connection.execute("use memory")
        connection.execute("detach catalog")


def catalog_is_current(warehouse: Path) -> bool:
    """Whether `<warehouse>/burnwatch.duckdb` exists and its views point into this warehouse
    (False after the warehouse was copied or moved, or for a catalog from before the check)."""
    warehouse = Path(warehouse).resolve()
    catalog = warehouse / CATALOG_FILE
    if not catalog.is_file():
        return False
    try:
        with duckdb.connect(str(catalog), read_only=True) as connection:
            row = connection.execute(f"select warehouse from {CATALOG_LOCATION_TABLE}").fetchone()
    except duckdb.Error:
        return False
    return row is not None and row[0] == str(warehouse)


def _extra_tables(warehouse: Path) -> Iterator[str]:
    """Lake tables written by later stages whose schema is not in `schemas.tables`."""
    lake = warehouse / "lake"
    if not lake.is_dir():
        return
    for child in lake.iterdir():
        if child.is_dir() and child.name not in TABLES and any(child.rglob("*.parquet")):
            yield child.name
