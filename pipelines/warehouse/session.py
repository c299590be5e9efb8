"""The DuckDB session every model runs in, and `bind`, how a model's inputs are named.

A model is one `select` in `sql/<layer>/<name>.sql`. It reads its inputs by their
table names; before running it, the caller binds each name to a relation (a
lake scan, a registered DataFrame) with `bind`. That keeps the SQL free of
paths and parameters, so sqlglot can check every model against `schemas/`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.engines.functions import FUNCTIONS
from schemas.manifest import WINDOW_MINUTES


def connect(
    threads: int | None = None, memory_limit: str | None = None, temp_directory: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with Burnwatch's fixed session settings.

    UTC everywhere, so no result depends on the machine's time zone; insertion
    order preserved, so `order by` fixes the bytes of every Parquet file; no
    extension downloads, so nothing is fetched at run time.
    """
    connection = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": True}
    )
    connection.execute("set TimeZone = 'UTC'")
    connection.execute("set preserve_insertion_order = true")
    _define_engine_functions(connection)
    _bind_window_labels(connection)
    if threads:
        connection.execute(f"set threads = {int(threads)}")
    if memory_limit:
        connection.execute(f"set memory_limit = '{memory_limit}'")
    if temp_directory is not None:
        temp_directory.mkdir(parents=True, exist_ok=True)
        connection.execute(f"set temp_directory = '{temp_directory}'")
    return connection


def _bind_window_labels(connection: duckdb.DuckDBPyConnection) -> None:
    """`window_labels`: the burn-rate windows, from the one list the manifest checks against."""
    rows = ", ".join(f"('{label}', {minutes})" for label, minutes in WINDOW_MINUTES.items())
    bind(
        connection,
        "window_labels",
        "select window_label, cast(window_minutes as integer) as window_minutes "
        f"from (values {rows}) as window_spec (window_label, window_minutes)",
    )


def _define_engine_functions(connection: duckdb.DuckDBPyConnection) -> None:
    """The macros the models call: the DuckDB side of pipelines/engines/functions.py
    (step_number, calendar_period_start/end, key_hash), beside their Spark definitions."""
    for function in FUNCTIONS:
        connection.execute(function.duckdb_sql())


def bind(connection: duckdb.DuckDBPyConnection, name: str, relation_sql: str) -> None:
    """Make `name` readable by the models as the relation `relation_sql`."""
    connection.execute(f"create or replace temp view {name} as {relation_sql}")
