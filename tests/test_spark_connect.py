"""`burnwatch run --engine spark --spark-remote sc://...` against a real Spark Connect server.

The server is the one Spark ships (org.apache.spark.sql.connect.service.SparkConnectServer,
in PySpark's jars), started by `spark-submit` as a cluster's would be, listening on
127.0.0.1 only. `timeout` stops it by itself should the test process die before its
teardown. One day of the oracle dataset runs through the CLI as a user runs it, and the
lake must equal the DuckDB run's, partition for partition, and the oracle's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from oracle import load_requests, run_all
from test_pipeline_vs_oracle import (
    DAYS,
    MANIFEST,
    assert_same_rows,
    generate_dataset,
    pipeline_rows,
    write_manifest,
    write_requests,
)
from test_spark_run import BURNWATCH, lake_differences, requires_java

from pipelines.cli.validate import EXIT_QUARANTINED
from schemas.manifest import load_manifest
from tests.notify_fixtures import free_port, stop_server

# The server's whole life, should the teardown never run (a killed test process).
SERVER_LIFETIME_SECONDS = 1800
# Spark's start-up on a loaded 2-core machine: tens of seconds.
SERVER_START_SECONDS = 240
ONE_DAY = DAYS[:1]
# The dataset's tenant hooli logs requests but has no SLOs: the run says so and exits 3.
RUN_EXIT = EXIT_QUARANTINED


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Spark Connect server on 127.0.0.1 (local[2]); its sc:// URL."""
    pyspark = pytest.importorskip("pyspark")
    pytest.importorskip("grpc_status", reason="the Spark Connect client: pyspark[connect]")
    home = Path(pyspark.__file__).parent
    root = tmp_path_factory.mktemp("connect_server")
    port = free_port()
    settings = {
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.warehouse.dir": str(root / "spark-warehouse"),
    }
    command = ["timeout", str(SERVER_LIFETIME_SECONDS), str(home / "bin" / "spark-submit")]
    command += ["--class", "org.apache.spark.sql.connect.service.SparkConnectServer"]
    command += ["--master", "local[2]", "--name", "burnwatch-test-connect"]
    for key, value in settings.items():
        command += ["--conf", f"{key}={value}"]
    command.append("spark-internal")
    environment = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        # spark-submit runs bin/find-spark-home, which needs this Python on PATH.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = (root / "server.log").open("w")
    server = subprocess.Popen(
        command, cwd=root, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Spark Connect server did not start: {root / 'server.log'}")
            time.sleep(1)
        yield f"sc://127.0.0.1:{port}"
    finally:
        stop_server(server, timeout=60)
        log.close()


@pytest.fixture(scope="module")
def connect_run(connect_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One day of the oracle dataset run by the CLI on DuckDB and over Spark Connect."""
    root = tmp_path_factory.mktemp("connect_run")
    data = root / "data"
    day = [(folder, row) for folder, row in generate_dataset() if folder in ONE_DAY]
    write_requests(data, day, files_per_folder=2, seed=5)
    manifest = write_manifest(root / "slos.yaml", MANIFEST)
    environment = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    results = {}
    for engine, options in (
        ("duckdb", []),
        ("spark", ["--engine", "spark", "--spark-remote", connect_server]),
    ):
        command = [str(BURNWATCH), "run", "--data", str(data), "--manifest", str(manifest)]
        command += ["--warehouse", str(root / engine), "--quiet", *options]
        results[engine] = subprocess.run(
            command, capture_output=True, text=True, env=environment, timeout=1500, check=False
        )
    loaded = load_manifest(manifest)
    expected = run_all(load_requests(data), loaded.resolved_slos(), loaded.policy.rules, ONE_DAY)
    return {"root": root, "results": results, "expected": expected}


@pytest.mark.spark
@requires_java
@pytest.mark.timeout(3600)
def test_a_run_over_spark_connect_writes_the_duckdb_runs_lake(connect_run: dict[str, Any]) -> None:
    for engine, result in connect_run["results"].items():
        assert result.returncode == RUN_EXIT, f"{engine}: {result.stderr}"
    root = connect_run["root"]
    assert lake_differences(root / "spark", root / "duckdb") == []
    # Spark did the computing: its staged results went through the warehouse's scratch.
    assert (root / "spark" / ".spark").is_dir()
    assert not (root / "duckdb" / ".spark").exists()


@pytest.mark.spark
@requires_java
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("table", ["stg_requests", "fct_burn_rates", "fct_alert_evaluations"])
def test_a_run_over_spark_connect_matches_the_oracle(
    connect_run: dict[str, Any], table: str
) -> None:
    result = connect_run["results"]["spark"]
    assert result.returncode == RUN_EXIT, result.stderr
    rows = pipeline_rows(connect_run["root"] / "spark", table)
    assert rows, f"{table}: the run wrote no rows, so the comparison would prove nothing"
    assert_same_rows(table, rows, connect_run["expected"][table])
