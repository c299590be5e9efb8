"""`burnwatch run --engine spark`: a step's DuckDB connection whose SQL models run on Spark.

Every build function (pipelines/models/build.py, pipelines/ingest/staging.py, ...)
binds a model's inputs under their table names and then runs one statement that
holds the model's SQL: a lake write, a temp table, a query. `SparkModelConnection`
wraps the step's DuckDB connection and, for such a statement, runs the model on
Spark instead (pipelines.engines.spark_run.run_model, the SQL translated by
spark_sql.to_spark), then runs the statement with the model's text replaced by a
scan of Spark's result, cast to the types DuckDB's own run of the model has and
in the registry's order. So one code path binds and writes for both engines, and
only the computing of the models changes hands.

What Spark reads: an input bound to lake partitions (lake.scan_sql) is read by
Spark from those files; any other bound relation (the request scan, parameters,
the manifest's tables) is first written to Parquet under `<warehouse>/.spark/`,
where Spark reads it. Spark's result is written there too, as Spark's multi-file
output, and the lake partition is written from it by the same atomic writer as on
DuckDB (a temporary file renamed into place), in the registry's order: content
identical to DuckDB's run, bytes deterministic. With a cluster, `<warehouse>` must
be on storage the cluster sees.
"""

from __future__ import annotations

import itertools
import re
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.models.registry import (
    MODELS,
    Kind,
    Model,
    model_sql,
    sql_models,
    unordered_model_sql,
)
from pipelines.warehouse.literal import path_literal

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Where a step's inputs and Spark's results are staged, under the warehouse.
SCRATCH_DIR = ".spark"
_VIEW = re.compile(r"^\s*create\s+or\s+replace\s+temp\s+view\s+(\w+)\s+as\s+(.*)$", re.I | re.S)
# A lake scan as pipelines.warehouse.lake.scan_sql writes it, bound by `bind`.
_LAKE_SCAN = re.compile(
    r"^select \* from \(select (?P<columns>[^()]*) from read_parquet\(\[(?P<files>.*)\]\)\)$",
    re.S,
)
_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_UNGLOB = {"[*]": "*", "[?]": "?", "[[]": "["}


def _lake_files(relation_sql: str) -> tuple[list[str], list[str]] | None:
    """(columns, files) when `relation_sql` is a plain scan of lake files, else None."""
    match = _LAKE_SCAN.match(relation_sql.strip())
    if match is None:
        return None
    columns = [name.strip().strip('"') for name in match["columns"].split(",")]
    files = []
    for quoted in _QUOTED.findall(match["files"]):
        path = quoted.replace("''", "'")
        for escaped, char in _UNGLOB.items():
            path = path.replace(escaped, char)
        files.append(path)
    return columns, files


def _unordered_text(entry: Model) -> str | None:
    """`entry`'s text as the lake writer runs it (unordered_model_sql), or None for a model
    written otherwise (one without its key as its final order by)."""
    try:
        return unordered_model_sql(entry)
    except ValueError:
        return None


def _read_tables(entry: Model) -> list[str]:
    """The relations `entry` reads, an ephemeral input's own inputs in its place (Spark
    computes the ephemeral model itself, from them)."""
    tables: list[str] = []
    for source in entry.inputs:
        upstream = MODELS.get(source.table)
        if upstream is not None and upstream.kind is Kind.EPHEMERAL:
            tables += [inner.table for inner in upstream.inputs]
        else:
            tables.append(source.table)
    return list(dict.fromkeys(tables))


class SparkModelConnection:
    """A DuckDB connection that hands every SQL model it runs to Spark (see the module)."""

    def __init__(self, real: duckdb.DuckDBPyConnection, spark: SparkSession, scratch: Path):
        self._real = real
        self._spark = spark
        self._scratch = Path(scratch)
        self._views: dict[str, str] = {}
        self._step = uuid.uuid4().hex[:12]
        self._counter = itertools.count()
        # Each model's text, and its text as the lake writer runs it, read once per step
        # (not on every statement). Longest first: no model's text is part of another's,
        # but be sure of it.
        self._models = sorted(
            (
                (entry, model_sql(entry.name), _unordered_text(entry))
                for entry in sql_models()
                if entry.kind is not Kind.EPHEMERAL
            ),
            key=lambda texts: -len(texts[1]),
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __enter__(self) -> SparkModelConnection:
        self._real.__enter__()
        return self

    def __exit__(self, *exc: object) -> Any:
        shutil.rmtree(self._scratch / self._step, ignore_errors=True)
        return self._real.__exit__(*exc)

    def execute(self, query: object, *args: Any, **kwargs: Any) -> Any:
        return self._real.execute(self._on_spark(query), *args, **kwargs)  # type: ignore[arg-type]

    def sql(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return self._real.sql(str(self._on_spark(query)), *args, **kwargs)

    def _on_spark(self, query: object) -> object:
        if not isinstance(query, str):
            return query
        view = _VIEW.match(query)
        if view is not None:
            # Binding an input (or an ephemeral model, which Spark computes itself).
            self._views[view[1].lower()] = view[2]
            return query
        for entry, text, unordered in self._models:
            if text in query:
                query = query.replace(text, self._run(entry))
            elif unordered is not None and unordered in query:
                # The lake writer's form (lake.write_query adds the order by itself).
                query = query.replace(unordered, self._run(entry, ordered=False))
        return query

    def _run(self, entry: Model, ordered: bool = True) -> str:
        """Run `entry` on Spark over the bound inputs; a DuckDB query of its result (in
        the registry's order unless not `ordered`)."""
        from pipelines.engines.spark_run import run_model

        folder = self._scratch / self._step / f"{next(self._counter):03d}_{entry.name}"
        present = {
            row[0].lower()
            for row in self._real.execute(
                "select view_name from duckdb_views() union all "
                "select table_name from duckdb_tables()"
            ).fetchall()
        }
        inputs: dict[str, list[str]] = {}
        projections: dict[str, list[str]] = {}
        for table in _read_tables(entry):
            if table.lower() not in present:
                continue
            scan = _lake_files(self._views.get(table.lower(), ""))
            if scan is not None and scan[1]:
                projections[table], inputs[table] = scan
                continue
            target = folder / "inputs" / f"{table}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            self._real.execute(
                f"copy (select * from {table}) to {path_literal(target)} (format parquet)"
            )
            inputs[table] = [str(target)]
        # The types DuckDB gives the model's columns: the lake must not depend on the engine.
        types = self._real.execute(f"describe {model_sql(entry.name)}").fetchall()
        result = folder / "result"
        run_model(self._spark, entry.name, inputs, projections).write.parquet(str(result))
        files = sorted(str(path) for path in result.glob("*.parquet"))
        columns = ", ".join(f'cast("{name}" as {kind}) as "{name}"' for name, kind, *_ in types)
        if not files:
            nulls = ", ".join(f'null::{kind} as "{name}"' for name, kind, *_ in types)
            return f"select {nulls} limit 0"
        listed = "[" + ", ".join(path_literal(path) for path in files) + "]"
        order = f" order by {entry.order_sql}" if entry.order_by and ordered else ""
        return f"select {columns} from read_parquet({listed}){order}"
