"""`burnwatch spark-sql`: the models' Spark SQL as files, without starting Spark."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from pipelines.cli.spark import write_spark_sql
from pipelines.models.registry import sql_models
from schemas.errors import BurnwatchInputError


def test_spark_sql_writes_the_functions_then_every_model_in_dag_order(tmp_path: Path) -> None:
    files = write_spark_sql(tmp_path / "out")
    names = [path.name for path in files]
    assert names[0] == "functions.sql"
    assert names[1:] == [f"{n:02d}_{e.name}.sql" for n, e in enumerate(sql_models(), start=1)]
    for path in files[1:]:
        # Every file is one statement Spark's grammar (as sqlglot reads it) accepts.
        assert len(sqlglot.parse(path.read_text(), read="spark")) == 1, path.name
    functions = files[0].read_text()
    assert functions.count("create or replace temporary function") >= 4


def test_the_spark_engine_without_java_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipelines.engines import spark_run

    monkeypatch.setattr(spark_run.shutil, "which", lambda name: None)
    with pytest.raises(BurnwatchInputError, match="openjdk-17-jre-headless"):
        spark_run.spark_session("local[1]")


def test_spark_sql_refuses_models_outside_the_portable_subset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.engines import spark_sql
    from pipelines.engines.spark_sql import LintProblem

    problem = LintProblem("sql/x.sql", 3, "hash(): ...")
    # The command imports lint_files when it runs: patched where it is defined.
    monkeypatch.setattr(spark_sql, "lint_files", lambda paths: [problem])
    with pytest.raises(BurnwatchInputError, match=r"sql/x.sql:3: hash\(\)"):
        write_spark_sql(tmp_path / "out")
    assert not (tmp_path / "out").exists()
