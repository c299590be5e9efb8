"""Capture what each model read and returned on DuckDB during a real pipeline run.

`capturing(root)` patches the DuckDB session so that whenever a statement runs a
model's SQL (a lake write, a temp table, a view), every relation the model reads
(its registry inputs, bound ones included, and an ephemeral input's own inputs)
and the model's result are copied to Parquet under
`root/<model>/<n>/{inputs/<table>.parquet, result.parquet}`.

The Spark side then runs the same model over exactly those inputs, so a
difference can only come from the engines, never from how each binds its inputs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from pipelines.models.registry import MODELS, Kind, model_sql, sql_models
from pipelines.warehouse import session


@dataclass(frozen=True)
class Capture:
    model: str
    folder: Path

    @property
    def result(self) -> Path:
        return self.folder / "result.parquet"

    def inputs(self) -> dict[str, list[str]]:
        return {
            path.stem: [str(path)] for path in sorted((self.folder / "inputs").glob("*.parquet"))
        }


def _read_tables(name: str) -> list[str]:
    entry = MODELS[name]
    tables = [source.table for source in entry.inputs]
    for source in entry.inputs:
        upstream = MODELS.get(source.table)
        if upstream is not None and upstream.kind is Kind.EPHEMERAL:
            tables += [inner.table for inner in upstream.inputs]
    return list(dict.fromkeys(tables))


class _Capturing:
    """A DuckDB connection that captures each model it runs (everything else passes)."""

    def __init__(self, real: duckdb.DuckDBPyConnection, root: Path, counts: dict[str, int]):
        self._real = real
        self._root = root
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __enter__(self) -> _Capturing:
        self._real.__enter__()
        return self

    def __exit__(self, *exc: object) -> Any:
        return self._real.__exit__(*exc)

    def execute(self, query: object, *args: Any, **kwargs: Any) -> Any:
        self._capture(query)
        return self._real.execute(query, *args, **kwargs)  # type: ignore[arg-type]

    def sql(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._capture(query)
        return self._real.sql(query, *args, **kwargs)

    def _capture(self, query: object) -> None:
        if not isinstance(query, str):
            return
        for entry in sql_models():
            text = model_sql(entry.name)
            if text not in query:
                continue
            number = self._counts.get(entry.name, 0)
            folder = self._root / entry.name / f"{number:03d}"
            try:
                (folder / "inputs").mkdir(parents=True, exist_ok=True)
                for table in _read_tables(entry.name):
                    try:
                        self._real.execute(f"select * from {table} limit 0")
                    except duckdb.Error:
                        continue
                    self._real.execute(
                        f"copy (select * from {table}) to '{folder / 'inputs' / table}.parquet'"
                        " (format parquet)"
                    )
                self._real.execute(
                    f"copy ({text}) to '{folder / 'result.parquet'}' (format parquet)"
                )
            except duckdb.Error:
                # Not every statement that mentions a model runs it with its inputs bound
                # (a view created ahead of them): nothing to compare there.
                for path in sorted(folder.rglob("*"), reverse=True):
                    path.unlink() if path.is_file() else path.rmdir()
                folder.rmdir()
                continue
            self._counts[entry.name] = number + 1


@contextlib.contextmanager
def capturing(root: Path) -> Iterator[Path]:
    """Capture every model's inputs and result under `root` while the block runs."""
    real_connect = session.connect
    counts: dict[str, int] = {}

    def connect(*args: Any, **kwargs: Any) -> Any:
        return _Capturing(real_connect(*args, **kwargs), root, counts)

    patch = [session]
    import pipelines.policy.cohort_thresholds as cohort_module
    import pipelines.reporting.queries as queries_module
    import pipelines.reporting.summary as summary_module

    modules = [*patch, queries_module, summary_module, cohort_module]
    saved = [getattr(module, "connect") for module in modules]  # noqa: B009
    for module in modules:
        module.connect = connect  # type: ignore[attr-defined]
    try:
        yield root
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.connect = original  # type: ignore[attr-defined]


def captures(root: Path) -> list[Capture]:
    """Every capture under `root`, in the registry's DAG order."""
    found = []
    for entry in sql_models():
        for folder in sorted((root / entry.name).glob("[0-9]*")):
            if (folder / "result.parquet").is_file():
                found.append(Capture(entry.name, folder))
    return found
