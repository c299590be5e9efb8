"""Materialization metadata: row counts, previews and column schemas for the UI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from pipelines.warehouse import lake
from schemas.tables import TABLES, sql_columns


def column_schema(table: str) -> dg.TableSchema:
    """The table's columns and types, from `schemas.tables`, for the asset's definition."""
    model = TABLES[table]
    descriptions = {
        name: (column.description or "") for name, column in model.to_schema().columns.items()
    }
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=name, type=kind, description=descriptions.get(name) or None)
            for name, kind in sql_columns(table).items()
        ]
    )


def definition_metadata(table: str) -> dict[str, Any]:
    return {"dagster/column_schema": column_schema(table)}


def markdown_table(frame: pl.DataFrame, limit: int = 10) -> str:
    """A small Markdown table of the frame's first rows."""
    if frame.is_empty():
        return "_no rows_"
    head = frame.head(limit)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    for row in head.iter_rows():
        cells = [
            f"{value:.6g}" if isinstance(value, float) else ("" if value is None else str(value))
            for value in row
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def materialization_metadata(
    warehouse: Path,
    table: str,
    rows_by_day: dict[dt.date, int] | None = None,
    rows: int | None = None,
) -> dict[str, Any]:
    """Row counts and a preview of what was just written."""
    days = sorted(rows_by_day) if rows_by_day else []
    total = sum(rows_by_day.values()) if rows_by_day else (rows or 0)
    files = (
        lake.existing_partition_files(warehouse, table, days[0], days[-1])
        if days
        else [str(lake.partition_path(warehouse, table, None))]
    )
    preview = pl.DataFrame()
    if files and Path(files[-1]).is_file():
        preview = pl.read_parquet(files[-1], n_rows=10)
    metadata: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(total),
        "preview": dg.MetadataValue.md(markdown_table(preview)),
        "path": dg.MetadataValue.path(str(Path(files[-1]).parent) if files else ""),
    }
    if table in TABLES:
        # On the materialization too, so the run's event and the asset's latest
        # materialization show the columns with their descriptions, not only the definition.
        metadata["dagster/column_schema"] = column_schema(table)
    if rows_by_day and len(rows_by_day) > 1:
        metadata["rows_by_day"] = dg.MetadataValue.md(
            "| day | rows |\n|---|---|\n"
            + "\n".join(f"| {day} | {count} |" for day, count in sorted(rows_by_day.items()))
        )
    return metadata
