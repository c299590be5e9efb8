"""Every SQL model parses, qualifies and types against `schemas/tables.py` (sqlglot, no data)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.models.registry import model_path
from pipelines.models.sql_check import check_model, check_models, model_files
from schemas.tables import TABLES


def test_every_model_in_sql_checks_clean_against_the_schemas() -> None:
    problems = check_models()
    assert not problems, "\n".join(str(problem) for problem in problems)


def test_every_model_has_a_table_and_models_are_taken_in_dag_order() -> None:
    names = [path.stem for path in model_files()]
    assert all(name in TABLES for name in names)
    assert names == [name for name in TABLES if name in names]


def _broken_copy(tmp_path: Path, model: str, old: str, new: str) -> Path:
    copy = tmp_path / f"{model}.sql"
    text = model_path(model).read_text(encoding="utf-8")
    assert old in text
    copy.write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def test_a_typo_in_a_column_names_the_file_line_and_column(tmp_path: Path) -> None:
    copy = _broken_copy(
        tmp_path, "int_slo_requests", "stg_requests.latency_ms,", "stg_requests.latncy_ms,"
    )
    [problem] = check_model(copy)
    assert problem.column == "latncy_ms"
    assert problem.line == _line_of(copy, "latncy_ms")
    assert str(problem).startswith(f"{copy}:{problem.line}: ")
    assert "latncy_ms" in str(problem)


def test_reading_a_table_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    copy = _broken_copy(tmp_path, "stg_requests", "from raw_requests", "from raw_requestz")
    [problem] = check_model(copy)
    assert "raw_requestz" in problem.message
    assert problem.line == _line_of(copy, "raw_requestz")


def test_reading_a_later_table_in_the_dag_is_an_error(tmp_path: Path) -> None:
    copy = _broken_copy(tmp_path, "stg_requests", "from raw_requests", "from fct_burn_rates")
    [problem] = check_model(copy)
    assert "later in the DAG" in problem.message


def test_comparing_a_number_with_text_is_an_error(tmp_path: Path) -> None:
    copy = _broken_copy(
        tmp_path,
        "int_quarantine_counts",
        "when inputs.input_rows > 0",
        "when inputs.input_rows > inputs.tenant_id",
    )
    problems = check_model(copy)
    assert any("incompatible types" in p.message for p in problems)
    assert any(p.line == _line_of(copy, "> inputs.tenant_id") for p in problems)


def test_an_output_column_the_schema_does_not_declare_is_an_error(tmp_path: Path) -> None:
    copy = _broken_copy(
        tmp_path,
        "int_quarantine_counts",
        "shares.quarantined_share,",
        "shares.quarantined_share, 1 as surprise,",
    )
    [problem] = check_model(copy)
    assert problem.column == "surprise"


def test_an_output_type_that_differs_from_the_schema_is_an_error(tmp_path: Path) -> None:
    copy = _broken_copy(
        tmp_path,
        "stg_requests",
        "        requests.replica_copies\n",
        "        cast(requests.replica_copies as varchar) as replica_copies\n",
    )
    [problem] = check_model(copy)
    assert problem.column == "replica_copies"
    assert "INTEGER" in problem.message


def test_a_model_without_a_table_in_the_schemas_is_an_error(tmp_path: Path) -> None:
    copy = tmp_path / "int_mystery.sql"
    shutil.copy(model_path("stg_requests"), copy)
    [problem] = check_model(copy)
    assert "schemas/tables.py" in problem.message


@pytest.mark.parametrize("path", model_files(), ids=lambda path: path.name)
def test_each_model_checks_clean(path: Path) -> None:
    assert check_model(path) == []
