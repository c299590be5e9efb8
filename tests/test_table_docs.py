"""`schemas/tables.py` is the one place a table's columns, descriptions and key live:
every column is described, every key names real columns and is unique in a small lake,
the notification tables match what the notify stage writes, the README's table
reference is generated from it, and the Dagster UI shows the same descriptions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.assets.metadata import definition_metadata
from pipelines.notify.outbox import open_outbox
from pipelines.warehouse import lake
from schemas.docs import readme_block, render_tables_markdown
from schemas.tables import OTHER_TABLES, TABLE_KEYS, TABLES, sql_columns, table_key, table_model
from tests.notify_fixtures import Workspace, make_workspace

README = Path(__file__).resolve().parent.parent / "README.md"
ALL_TABLES = [*TABLES, *OTHER_TABLES]

ROUTES = """
notifications:
  channels:
    am: {type: alertmanager, url: "http://127.0.0.1:9/am"}
  routes:
    - {channel: am}
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A small lake up to fct_alert_episodes, plus a dry run of the notifications."""
    space = make_workspace(tmp_path_factory, tmp_path_factory.mktemp("table-docs"))
    space.configure(ROUTES)
    space.run(dry_run=True)
    yield space


@pytest.mark.parametrize("table", ALL_TABLES)
def test_every_column_has_a_description(table: str) -> None:
    columns = table_model(table).to_schema().columns
    undescribed = [name for name, column in columns.items() if not (column.description or "")]
    assert not undescribed, f"{table}: describe {undescribed} in schemas/tables.py"


@pytest.mark.parametrize("table", ALL_TABLES)
def test_every_table_has_a_key_of_its_own_columns(table: str) -> None:
    key = table_key(table)
    assert set(key) <= set(sql_columns(table)), f"{table}: key {key} names unknown columns"
    assert len(set(key)) == len(key)


def test_no_key_is_left_over_from_a_removed_table() -> None:
    assert set(TABLE_KEYS) == set(ALL_TABLES)


def test_the_tables_kept_outside_the_lake_writer_are_not_in_the_dag() -> None:
    assert not set(OTHER_TABLES) & set(TABLES)


def _duplicate_keys(warehouse: Path, table: str) -> list[Any]:
    key = table_key(table)
    group = ", ".join(f'"{c}"' for c in key) if key else "1"
    select = f"select {group}, count(*) from {lake.scan_sql(warehouse, table)}"
    with duckdb.connect() as connection:
        return connection.sql(f"{select} group by all having count(*) > 1 limit 5").fetchall()


@pytest.mark.parametrize(
    "table",
    [
        "slo_specs",
        "alert_policy",
        "stg_requests",
        "int_sli_buckets",
        "fct_burn_rates",
        "fct_error_budget",
        "fct_alert_evaluations",
        "fct_alert_episodes",
        *OTHER_TABLES,
    ],
)
def test_the_key_is_unique_in_a_small_lake(workspace: Workspace, table: str) -> None:
    path = lake.lake_dir(workspace.warehouse, table)
    assert any(path.rglob("*.parquet")), f"{table}: the fixture wrote no rows"
    assert not _duplicate_keys(workspace.warehouse, table)


@pytest.mark.parametrize("table", [*OTHER_TABLES])
def test_the_notify_stage_writes_the_columns_of_its_schema(
    workspace: Workspace, table: str
) -> None:
    with duckdb.connect() as connection:
        found = connection.sql(
            f"describe select * from read_parquet('{lake.lake_dir(workspace.warehouse, table)}"
            "/data.parquet')"
        ).fetchall()
    assert {name: kind for name, kind, *_ in found} == sql_columns(table)


@pytest.mark.parametrize("table", ["outbox", "delivery_attempts"])
def test_the_outbox_database_holds_the_columns_of_its_schema(
    workspace: Workspace, table: str
) -> None:
    schema = "notifications" if table == "outbox" else table
    with open_outbox(workspace.warehouse) as outbox:
        found = outbox.connection.execute(
            "select column_name, data_type, is_nullable from information_schema.columns "
            "where table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
    columns = table_model(schema).to_schema().columns
    assert [(name, kind) for name, kind, _ in found] == list(sql_columns(schema).items())
    nullable = {name: value == "YES" for name, _, value in found}
    assert nullable == {name: bool(column.nullable) for name, column in columns.items()}


def test_the_readme_table_reference_is_generated_from_the_schemas() -> None:
    assert readme_block(README) == render_tables_markdown(), (
        "README.md's table reference is stale: run `.venv/bin/python scripts/table_docs.py "
        "--write` (descriptions live in schemas/tables.py)"
    )


def test_a_column_description_reaches_the_dagster_column_schema() -> None:
    schema = definition_metadata("fct_burn_rates")["dagster/column_schema"]
    columns = {column.name: column for column in schema.columns}
    expected = TABLES["fct_burn_rates"].to_schema().columns["burn_rate"].description
    assert expected and columns["burn_rate"].description == expected
    assert columns["burn_rate"].type == "DOUBLE"
