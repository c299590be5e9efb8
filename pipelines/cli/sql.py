"""`burnwatch sql`: the DuckDB shell on a warehouse's catalog, wherever the warehouse now lies."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import click

from pipelines.cli.options import warehouse_option
from schemas.errors import BurnwatchInputError


def duckdb_shell() -> str:
    """The pinned DuckDB shell (duckdb-cli, installed beside this Python), else one on PATH."""
    beside = Path(sys.executable).parent / "duckdb"
    found = str(beside) if beside.is_file() else shutil.which("duckdb")
    if not found:
        raise BurnwatchInputError(
            "no duckdb shell found: `make install` installs the pinned one into .venv/bin"
        )
    return found


def current_catalog(warehouse: Path) -> Path:
    """The warehouse's catalog, re-created first when its views point elsewhere (the
    warehouse was copied or moved). A read-only warehouse gets a catalog in a temporary
    folder instead."""
    from pipelines.warehouse import lake

    warehouse = Path(warehouse)
    if not (warehouse / "lake").is_dir():
        raise BurnwatchInputError(f"{warehouse}: no lake/ folder; is it a burnwatch warehouse?")
    if lake.catalog_is_current(warehouse):
        return warehouse / lake.CATALOG_FILE
    try:
        return lake.refresh_catalog(warehouse)
    except OSError:
        spare = Path(tempfile.mkdtemp(prefix="burnwatch-catalog-")) / lake.CATALOG_FILE
        return lake.refresh_catalog(warehouse, spare)


@click.command("sql")
@warehouse_option("The warehouse to query (its burnwatch.duckdb and lake/).")
@click.argument("query", required=False)
def sql_command(warehouse: Path, query: str | None) -> None:
    """Query a warehouse with the DuckDB shell: QUERY, or an interactive shell without one.

    Opens <warehouse>/burnwatch.duckdb read-only, after pointing its views at this
    warehouse's own lake if it was copied or moved."""
    catalog = current_catalog(warehouse)
    shell = duckdb_shell()
    args = [shell, "-readonly", str(catalog)]
    if query:
        args.append(query)
    sys.stdout.flush()
    os.execv(shell, args)
