"""After a small demo, `dagster dev` (as `make ui` starts it) shows what `burnwatch run` made.

The demo's run is recorded in $DAGSTER_HOME; the test asks the UI's own GraphQL API on
127.0.0.1, then stops the server. What the answers must say comes from the lake and
the data folder, not from anything the run printed.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from notify_fixtures import free_port

from schemas.tables import TABLES

# A demo run, then Dagster processes on a machine that may be busy: more than the default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
ROOT = Path(__file__).parent.parent
BURNWATCH = [sys.executable, "-c", "from pipelines.cli.commands import main; main()"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A small `make demo`: sample data, then `burnwatch run` with DAGSTER_HOME set."""
    root = tmp_path_factory.mktemp("demo")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "BURNWATCH_DATA_DIR": str(root / "data"),
        "BURNWATCH_MANIFEST": str(root / "data" / "slos.yaml"),
        "BURNWATCH_WAREHOUSE": str(root / "warehouse"),
    }
    env.pop("BURNWATCH_PARTITION_START", None)
    sample = ["sample-data", "--out", str(root / "data"), "--tenants", "3", "--days", "7"]
    for args in (
        [*sample, "--scale", "0.02", "--quiet"],
        ["run", "--dry-run", "--quiet"],  # the paths come from the environment, as in the UI
    ):
        done = subprocess.run(
            [*BURNWATCH, *args], env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr
    return env


@pytest.fixture(scope="module")
def graphql(demo: dict[str, str]) -> Iterator[str]:
    """`dagster dev` on 127.0.0.1 as `make ui` runs it (from $DAGSTER_HOME), stopped after."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--working-directory",
            str(ROOT),
            "-m",
            "pipelines.definitions",
        ],
        cwd=demo["DAGSTER_HOME"],
        env=demo,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2).is_success:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "dagster dev exited"
            assert time.monotonic() < deadline, "dagster dev did not start in 240 s"
            time.sleep(1)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        warnings = server.stderr.read() if server.stderr else ""
        # `make ui` starts it from $DAGSTER_HOME: no "will not be used" warning.
        assert "will not be used" not in warnings


def ask(url: str, query: str) -> dict[str, Any]:
    # The code location loads in the background: retry while it is not there yet.
    deadline = time.monotonic() + 180
    while True:
        answer = httpx.post(url, json={"query": query}, timeout=60).json()
        data = answer.get("data") or {}
        first = next(iter(data.values()), None) if data else None
        if "errors" not in answer and first and first.get("__typename") == "AssetNode":
            return data
        assert time.monotonic() < deadline, answer
        time.sleep(2)


NODE = """
  __typename
  ... on AssetNode {{
    {fields}
  }}
"""


def node_query(asset: str, fields: str) -> str:
    body = NODE.format(fields=fields)
    return f'{{ assetNodeOrError(assetKey: {{path: ["{asset}"]}}) {{ {body} }} }}'


def test_the_episodes_are_materialized_with_their_metadata(
    demo: dict[str, str], graphql: str
) -> None:
    fields = """
      assetMaterializations(limit: 1) {
        runId
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on MarkdownMetadataEntry { mdStr }
        }
      }
    """
    node = ask(graphql, node_query("fct_alert_episodes", fields))["assetNodeOrError"]
    (latest,) = node["assetMaterializations"]
    entries = {entry["label"]: entry for entry in latest["metadataEntries"]}
    lake = Path(demo["BURNWATCH_WAREHOUSE"]) / "lake" / "fct_alert_episodes" / "data.parquet"
    assert entries["dagster/row_count"]["intValue"] == pq.read_metadata(lake).num_rows
    first_tenant = pq.read_table(lake).column("tenant_id")[0].as_py()
    assert first_tenant in entries["preview"]["mdStr"]


def test_every_asset_shows_a_materialization(demo: dict[str, str], graphql: str) -> None:
    ask(graphql, node_query("fct_alert_episodes", "id"))  # the code location is loaded
    query = "{ assetNodes { assetKey { path } assetMaterializations(limit: 1) { runId } } }"
    answer = httpx.post(graphql, json={"query": query}, timeout=60).json()
    nodes = answer["data"]["assetNodes"]
    assert nodes
    never = [node["assetKey"]["path"] for node in nodes if not node["assetMaterializations"]]
    assert never == []


def test_partitions_start_at_the_first_day_of_the_data(demo: dict[str, str], graphql: str) -> None:
    node = ask(graphql, node_query("stg_requests", "partitionKeys"))["assetNodeOrError"]
    keys = node["partitionKeys"]
    requests = ds.dataset(
        Path(demo["BURNWATCH_DATA_DIR"]) / "requests", format="parquet", partitioning="hive"
    )
    first_request = min(requests.to_table(columns=["ts"]).column("ts").to_pylist())
    assert keys[0] == first_request.date().isoformat()
    # Through today (the schedule evaluates the newest steps), one partition a day.
    today = dt.datetime.now(dt.UTC).date()
    assert keys[-1] == today.isoformat()
    assert len(keys) == (today - dt.date.fromisoformat(keys[0])).days + 1


def test_the_column_schema_carries_the_column_descriptions(graphql: str) -> None:
    fields = """
      metadataEntries {
        label
        ... on TableSchemaMetadataEntry { schema { columns { name description } } }
      }
    """
    node = ask(graphql, node_query("fct_alert_episodes", fields))["assetNodeOrError"]
    (schema,) = [e for e in node["metadataEntries"] if e["label"] == "dagster/column_schema"]
    shown = {column["name"]: column["description"] for column in schema["schema"]["columns"]}
    documented = {
        name: column.description
        for name, column in TABLES["fct_alert_episodes"].to_schema().columns.items()
    }
    assert shown == documented
    assert all(shown.values())
