"""Write hand-made rows straight into a test warehouse's lake (no raw logs needed)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from pipelines.warehouse import lake
from pipelines.warehouse.session import connect
from schemas.tables import sql_columns


def write_daily(
    warehouse: Path, table: str, frame: pl.DataFrame, time_column: str, order_by: str
) -> list[dt.date]:
    """Write `frame` as the table's daily partitions (by the day of `time_column`).

    Columns of the table that the frame lacks are written as nulls, so a test
    states only the columns it is about.
    """
    select = ", ".join(
        f'"{name}"' if name in frame.columns else f'null::{kind} as "{name}"'
        for name, kind in sql_columns(table).items()
    )
    days = []
    for (day,), part in frame.group_by(pl.col(time_column).dt.date(), maintain_order=True):
        with connect() as connection:
            connection.register("rows_to_write", part.to_arrow())
            lake.write_query(
                connection,
                f"select {select} from rows_to_write order by {order_by}",
                warehouse,
                table,
                day,
            )
            days.append(day)
    return days
