"""`burnwatch run --engine spark`: the whole pipeline with its SQL models on Spark.

One Spark session (local[2]) serves the module: the oracle test's dataset runs
through the real pipeline once per engine, and the Spark run must agree with the
brute-force oracle (tests/oracle.py) and with the DuckDB run's lake, file for
file. The bad-input tests need no Spark session and are not marked.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from oracle import load_requests, run_all
from test_pipeline_vs_oracle import (
    DAYS,
    MANIFEST,
    assert_same_rows,
    generate_dataset,
    lake_digests,
    pipeline_rows,
    write_manifest,
    write_requests,
)

from schemas.manifest import load_manifest

BURNWATCH = Path(sys.executable).with_name("burnwatch")
requires_java = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17")
# The first test's set-up runs the pipeline on both engines (Spark's start-up and its
# planning of every model-day included): minutes on a quiet machine, many more on a
# loaded one, beyond the suite's 600 s per test.
runs_both_engines = pytest.mark.timeout(3600)


@pytest.fixture(scope="module")
def engines_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The oracle dataset run once on DuckDB and once with --engine spark (local[2])."""
    pytest.importorskip("pyspark")
    from pipelines.engines import spark_run
    from pipelines.runner import run_pipeline

    root = tmp_path_factory.mktemp("spark_run")
    data = root / "data"
    write_requests(data, generate_dataset(), files_per_folder=3, seed=11)
    manifest = write_manifest(root / "slos.yaml", MANIFEST)
    run_pipeline(data, manifest, root / "duckdb", start=DAYS[0], end=DAYS[-1])
    started = time.monotonic()
    run_pipeline(
        data,
        manifest,
        root / "spark",
        start=DAYS[0],
        end=DAYS[-1],
        engine="spark",
        spark_master="local[2]",
    )
    print(f"--engine spark run (Spark start-up included): {time.monotonic() - started:.1f} s")
    loaded = load_manifest(manifest)
    expected = run_all(load_requests(data), loaded.resolved_slos(), loaded.policy.rules, DAYS)
    yield {
        "duckdb": root / "duckdb",
        "spark": root / "spark",
        "expected": expected,
        "data": data,
        "manifest": manifest,
    }
    for session in spark_run._SHARED.values():
        session.stop()
    spark_run._SHARED.clear()


@pytest.mark.parametrize(
    "table",
    [
        "stg_requests",
        "fct_burn_rates",
        "fct_error_budget",
        "fct_alert_evaluations",
        "fct_alert_episodes",
    ],
)
@pytest.mark.spark
@requires_java
@runs_both_engines
def test_spark_run_matches_the_oracle(engines_run: dict[str, Any], table: str) -> None:
    assert_same_rows(
        table, pipeline_rows(engines_run["spark"], table), engines_run["expected"][table]
    )


@pytest.mark.spark
@requires_java
@runs_both_engines
def test_spark_run_writes_the_duckdb_runs_lake_row_for_row(engines_run: dict[str, Any]) -> None:
    duck = lake_digests(engines_run["duckdb"])
    assert any(path.startswith("fct_alert_episodes/") for path in duck)
    assert lake_differences(engines_run["spark"], engines_run["duckdb"]) == []


def lake_differences(
    spark_warehouse: Path, duckdb_warehouse: Path, tables: list[str] | None = None
) -> list[Any]:
    """The lake partitions of the two runs that differ (of `tables`, else all): by path,
    then by rows and types."""

    def kept(digests: dict[str, str]) -> dict[str, str]:
        if tables is None:
            return digests
        return {path: d for path, d in digests.items() if path.split("/")[0] in tables}

    spark = kept(lake_digests(spark_warehouse))
    duck = kept(lake_digests(duckdb_warehouse))
    if sorted(spark) != sorted(duck):
        return [("partitions", sorted(set(spark) ^ set(duck)))]
    connection = duckdb.connect()
    differing = []
    for path in sorted(duck):
        if spark[path] == duck[path]:
            continue  # the same bytes
        # Otherwise the same rows (multisets, every value exactly equal: `except all`
        # compares floats bit for bit) in the same columns and types. The bytes differ in
        # whether a column is marked required, which DuckDB derives from its query plan.
        on_spark = f"read_parquet('{spark_warehouse / 'lake' / path}')"
        on_duckdb = f"read_parquet('{duckdb_warehouse / 'lake' / path}')"
        types = [connection.execute(f"describe from {f}").fetchall() for f in (on_spark, on_duckdb)]
        only = [
            connection.execute(f"select count(*) from (from {a} except all from {b})").fetchall()
            for a, b in ((on_spark, on_duckdb), (on_duckdb, on_spark))
        ]
        if types[0] != types[1] or only != [[(0,)], [(0,)]]:
            differing.append((path, only))
    return differing


@pytest.mark.spark
@requires_java
@runs_both_engines
def test_the_catalog_reads_the_spark_runs_lake(engines_run: dict[str, Any]) -> None:
    catalog = engines_run["spark"] / "burnwatch.duckdb"
    with duckdb.connect(str(catalog), read_only=True) as connection:
        views = {
            row[0] for row in connection.execute("select view_name from duckdb_views()").fetchall()
        }
        assert {"stg_requests", "fct_alert_episodes", "fct_slo_status"} <= views
        episodes = connection.execute("select count(*) from fct_alert_episodes").fetchone()
    assert episodes is not None
    assert episodes[0] == len(engines_run["expected"]["fct_alert_episodes"])


@pytest.mark.spark
@requires_java
@runs_both_engines
def test_a_spark_run_leaves_no_scratch_files(engines_run: dict[str, Any]) -> None:
    scratch = engines_run["spark"] / ".spark"
    assert scratch.is_dir()  # the run staged its inputs and results there
    assert not any(scratch.rglob("*.parquet"))


@pytest.mark.spark
@requires_java
@runs_both_engines
def test_a_step_run_first_on_a_session_defines_the_manifests_predicates(
    engines_run: dict[str, Any], tmp_path: Path
) -> None:
    # `make bench` runs int_sli_buckets as the first model that calls the manifest's
    # predicates (burnwatch_custom_bad, through the ephemeral int_slo_requests): the
    # step must define them itself, not find them left by an earlier step.
    from pipelines.engines.spark_run import shared_session
    from pipelines.models import build
    from pipelines.resources import BurnwatchResource

    warehouse = tmp_path / "warehouse"
    shutil.copytree(engines_run["duckdb"], warehouse)
    rebuilt = warehouse / "lake" / "int_sli_buckets" / f"date={DAYS[0]}" / "data.parquet"
    rebuilt.unlink()
    shared_session("local[2]").sql("drop temporary function if exists burnwatch_custom_bad")
    resource = BurnwatchResource(
        data_dir=str(engines_run["data"]),
        manifest=str(engines_run["manifest"]),
        warehouse=str(warehouse),
        engine="spark",
        spark_master="local[2]",
    )
    build.build_int_sli_buckets_days(resource, DAYS[:1])
    assert rebuilt.is_file()
    assert lake_differences(warehouse, engines_run["duckdb"], tables=["int_sli_buckets"]) == []


# --- bad input: one line, exit 2, nothing written --------------------------------------


def _run_cli(
    tmp_path: Path, *options: str, env: dict[str, str] | None = None, python_code: str = ""
) -> Any:
    """`burnwatch run` on a small dataset, as a user runs it (or through `python -c code`)."""
    data = tmp_path / "data"
    write_requests(data, generate_dataset()[:50], files_per_folder=1, seed=1)
    manifest = write_manifest(tmp_path / "slos.yaml", MANIFEST)
    arguments = ["run", "--data", str(data), "--manifest", str(manifest)]
    arguments += ["--warehouse", str(tmp_path / "warehouse"), "--quiet", *options]
    command = [sys.executable, "-c", python_code] if python_code else [str(BURNWATCH)]
    environment = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    return subprocess.run(
        [*command, *arguments],
        capture_output=True,
        text=True,
        env={**environment, **(env or {})},
        timeout=300,
        check=False,
    )


def _one_error_line(result: Any) -> str:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("burnwatch: error: ")
    return lines[0]


def test_spark_connect_that_does_not_answer_is_one_line_within_seconds(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nobody answers there
    started = time.monotonic()
    result = _run_cli(tmp_path, "--engine", "spark", "--spark-remote", f"sc://127.0.0.1:{port}")
    elapsed = time.monotonic() - started
    line = _one_error_line(result)
    assert f"sc://127.0.0.1:{port}" in line and "no Spark Connect server answers" in line
    assert elapsed < 60, elapsed
    assert not (tmp_path / "warehouse" / "lake").exists()


def test_engine_spark_without_java_says_to_install_java(tmp_path: Path) -> None:
    # A PATH without java, and no JAVA_HOME: what a machine without the JRE looks like.
    result = _run_cli(tmp_path, "--engine", "spark", env={"PATH": str(tmp_path), "JAVA_HOME": ""})
    line = _one_error_line(result)
    assert "Java 17" in line and "openjdk-17-jre-headless" in line
    assert not (tmp_path / "warehouse" / "lake").exists()


def test_engine_spark_without_pyspark_says_to_install_the_extra(tmp_path: Path) -> None:
    # `sys.modules["pyspark"] = None` makes `import pyspark` fail as if it were absent.
    code = (
        "import sys; sys.modules['pyspark'] = None; sys.argv = ['burnwatch', *sys.argv[1:]]; "
        "from pipelines.cli.commands import main; main()"
    )
    result = _run_cli(tmp_path, "--engine", "spark", python_code=code)
    line = _one_error_line(result)
    assert "burnwatch[spark]" in line
    assert not (tmp_path / "warehouse" / "lake").exists()


def test_an_unknown_engine_in_the_environment_is_one_line(tmp_path: Path) -> None:
    result = _run_cli(tmp_path, env={"BURNWATCH_ENGINE": "presto"})
    line = _one_error_line(result)
    assert "BURNWATCH_ENGINE=presto" in line


def test_the_resource_takes_the_engine_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipelines.resources import resource_from_env

    monkeypatch.setenv("BURNWATCH_ENGINE", "Spark")
    monkeypatch.setenv("BURNWATCH_SPARK_REMOTE", "sc://spark.internal:15002")
    resource = resource_from_env()
    assert (resource.engine, resource.spark_master, resource.spark_remote) == (
        "spark",
        "",
        "sc://spark.internal:15002",
    )
    monkeypatch.delenv("BURNWATCH_ENGINE")
    assert resource_from_env().engine == "duckdb"
