"""The lake writer's retry when an ordered write runs out of memory (lake.write_query).

DuckDB's one `copy (<model> order by <key>)` can run out of memory where staging the
rows first and then copying them in order does not (a day of fct_burn_rates at 2,000
tenants under a 3 GiB limit: README, Benchmark). Here the first copy is made to fail
as DuckDB does, and the partition written by the retry must hold the rows of a plain
ordered write, in the same order.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.models.registry import Kind, model, model_sql, sql_models, unordered_model_sql
from pipelines.warehouse import lake

DAY = dt.date(2026, 1, 1)
KEY = model("fct_burn_rates").order_sql
# fct_burn_rates-shaped rows in no particular order, each key once.
ROWS = """
select
    't' || (i % 13) as tenant_id,
    's' || (i % 5) as slo_name,
    timestamp '2026-01-01' + to_minutes((i * 7919) % 20000) as eval_ts,
    ['5m', '1h', '1d'][1 + i % 3] as "window",
    i as total,
    i % 7 as bad,
    i / 7.0 as burn_rate,
    null::double as slices,
    null::double as bad_slices
from range(20000) as numbers(i)
"""


class FirstCopyRunsOutOfMemory:
    """A DuckDB connection whose first `copy` fails as DuckDB's does when out of memory."""

    def __init__(self, real: duckdb.DuckDBPyConnection) -> None:
        self.real = real
        self.statements: list[str] = []

    def execute(self, query: str, *args: Any) -> Any:
        self.statements.append(query)
        if query.startswith("copy") and sum(s.startswith("copy") for s in self.statements) == 1:
            raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block")
        return self.real.execute(query, *args)


def _rows(path: Path) -> list[tuple[Any, ...]]:
    return duckdb.connect().execute(f"select * from read_parquet('{path}')").fetchall()


def test_an_ordered_write_out_of_memory_is_retried_through_a_staged_table(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    lake.write_query(duckdb.connect(), f"{ROWS} order by {KEY}", reference, "fct_burn_rates", DAY)
    retried = tmp_path / "retried"
    connection = FirstCopyRunsOutOfMemory(duckdb.connect())
    written = lake.write_query(
        connection,  # type: ignore[arg-type]
        ROWS,
        retried,
        "fct_burn_rates",
        DAY,
        order_by=KEY,
    )
    assert written == 20000
    assert any(s.startswith("create or replace temp table") for s in connection.statements)
    expected = _rows(lake.partition_path(reference, "fct_burn_rates", DAY))
    assert _rows(lake.partition_path(retried, "fct_burn_rates", DAY)) == expected
    assert expected == sorted(expected, key=lambda row: (row[0], row[1], row[2], row[3]))
    # The staged rows are dropped, and no temporary file is left beside the partition.
    assert connection.real.execute("select count(*) from duckdb_tables()").fetchone() == (0,)
    assert sorted(p.name for p in lake.lake_dir(retried, "fct_burn_rates").rglob("*")) == [
        "data.parquet",
        f"date={DAY}",
    ]


def test_a_write_without_its_key_apart_is_not_retried(tmp_path: Path) -> None:
    connection = FirstCopyRunsOutOfMemory(duckdb.connect())
    with pytest.raises(duckdb.OutOfMemoryException):
        lake.write_query(
            connection,  # type: ignore[arg-type]
            f"{ROWS} order by {KEY}",
            tmp_path,
            "fct_burn_rates",
            DAY,
        )


def test_every_model_written_whole_or_per_day_ends_in_its_key() -> None:
    # stg_requests, int_sli_buckets and int_sli_adjusted are computed for several days
    # at once and written per day from a temp table (lake.write_days): no order by.
    written_by_days = {"stg_requests", "int_sli_buckets", "int_sli_adjusted"}
    for entry in sql_models():
        if entry.kind is Kind.EPHEMERAL or entry.name in written_by_days:
            continue
        unordered = unordered_model_sql(entry)
        rest = model_sql(entry.name).removeprefix(unordered)
        assert " ".join(rest.split()) == f"order by {entry.sort_sql}", entry.name
    with pytest.raises(ValueError, match="must end in `order by"):
        unordered_model_sql(model("stg_requests"))
