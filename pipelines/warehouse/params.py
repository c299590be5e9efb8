"""Parameters for the models: one-row relations bound by name, typed from `schemas/`.

A model never has a value pasted into its SQL. It reads a parameter relation
(`run_params`, `quarantine_policy`, `cohort_threshold_params`, `replay_params`)
whose columns and types are declared in `schemas/tables.py`; `bind_params`
is the one way such a relation is bound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import duckdb

from pipelines.warehouse.session import bind
from schemas.tables import sql_columns


def sql_literal(value: object) -> str:
    """A Python value as a DuckDB literal (dates and times in UTC, naive)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return f"timestamp '{value:%Y-%m-%d %H:%M:%S.%f}'"
    if isinstance(value, dt.date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def bind_params(
    connection: duckdb.DuckDBPyConnection, name: str, values: Mapping[str, object]
) -> None:
    """Bind the one-row relation `name` with `values`, one per column of its schema."""
    columns = sql_columns(name)
    if set(values) != set(columns):
        raise ValueError(
            f"{name}: parameters {sorted(values)} differ from schemas/tables.py {list(columns)}"
        )
    cells = ", ".join(
        f'cast({sql_literal(values[column])} as {kind}) as "{column}"'
        for column, kind in columns.items()
    )
    bind(connection, name, f"select {cells}")


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def bind_run_params(
    connection: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date | None = None
) -> None:
    """Tell the models which days they compute: `run_params` holds [first, last + 1)
    (one day when `last` is not given)."""
    bind_params(
        connection,
        "run_params",
        {
            "partition_start": day_start(first),
            "partition_end": day_start(last or first) + dt.timedelta(days=1),
        },
    )
