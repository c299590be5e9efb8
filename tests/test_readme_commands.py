"""The README's and the docs' commands work as written after `make demo`, and what the README
claims about the demo's output, the UI's groups and what runs by default is true.

A small demo is made the way the Makefile's `demo` recipe makes it (its own lines, with a
smaller sample), in a folder of its own holding a link to the project's `.venv`; then
every shell block marked `<!-- after-demo -->` in README.md and docs/*.md runs there with
bash. A marker may name placeholder substitutions: `<!-- after-demo: /path/x=demo/x -->`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from pipelines.definitions import defs

# A demo run, then Dagster processes on a machine that may be busy: more than the default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"<!-- after-demo(?::(?P<subs>[^>]*))? -->\s*```sh\n(?P<body>.*?)```", re.S)
# The demo's sample, smaller than `make demo`'s so that the test takes a minute, not ten.
SMALL_SAMPLE = ["--tenants", "3", "--days", "7", "--scale", "0.02"]


def makefile_recipe(target: str) -> list[str]:
    """The command lines of a Makefile target, as written."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"{target}:")))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def after_demo_blocks() -> list[tuple[str, str]]:
    """(where, script) for every marked block, placeholders substituted."""
    blocks = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            body = match["body"]
            for pair in (match["subs"] or "").split():
                placeholder, value = pair.split("=", 1)
                body = body.replace(placeholder, value)
            line = text[: match.start()].count("\n") + 1
            blocks.append((f"{path.relative_to(ROOT)}:{line}", body))
    return blocks


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    """(folder, environment, stdout of the run) of a small `make demo` in its own folder."""
    tree = tmp_path_factory.mktemp("clone")
    (tree / ".venv").symlink_to(ROOT / ".venv")
    home = tree / ".dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BURNWATCH_") and key != "DAGSTER_HOME"
    }
    env["DAGSTER_HOME"] = str(home)  # as the Makefile exports it
    stdout = ""
    for line in makefile_recipe("demo"):
        command = line.replace("$(BW)", ".venv/bin/burnwatch").replace("$(DEMO)", "demo")
        if " sample-data " in command:
            command += " " + " ".join(SMALL_SAMPLE)
        done = subprocess.run(
            command, shell=True, cwd=tree, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        stdout = done.stdout
    return tree, env, stdout


def test_the_demo_ends_with_the_lines_the_readme_shows(
    demo: tuple[Path, dict[str, str], str],
) -> None:
    tree, _, stdout = demo
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"<!-- demo-output:begin -->\s*```\n(.*?)```", readme, re.S)
    assert shown is not None
    expected = shown[1].strip().splitlines()
    assert stdout.strip().splitlines()[-len(expected) :] == expected
    for line in expected:  # and each path it prints is there
        path = line.split()[1]
        assert (tree / path).is_file(), path


@pytest.mark.parametrize(("where", "script"), after_demo_blocks(), ids=lambda v: v[:40])
def test_a_marked_block_runs_as_written_after_the_demo(
    demo: tuple[Path, dict[str, str], str], where: str, script: str
) -> None:
    tree, env, _ = demo
    report = tree / "demo" / "warehouse" / "reports" / "report.html"
    before = report.stat().st_mtime_ns
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"{where}\n{script}\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip() or "materialize" in script, where
    if "asset materialize" in script:
        # The sequence leaves nothing stale: the report is rendered again.
        assert report.stat().st_mtime_ns > before


def test_the_readme_names_the_groups_the_ui_shows() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = readme.split("<!-- groups -->", 1)[1].split("each asset", 1)[0]
    named = set(re.findall(r"`([a-z_]+)`", line))
    groups = {node.group_name for node in defs.resolve_asset_graph().asset_nodes}
    assert named == groups


def test_the_readme_says_what_runs_by_default() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- automation:begin -->", 1)[1].split("<!-- automation:end -->")[0]
    claimed = {
        cells[0].strip("` "): cells[2].strip()
        for row in table.strip().splitlines()[2:]
        for cells in [row.strip("|").split("|")]
    }
    actual: dict[str, str] = {}
    for schedule in defs.schedules or []:
        assert isinstance(schedule, dg.ScheduleDefinition)
        running = schedule.default_status is dg.DefaultScheduleStatus.RUNNING
        actual[schedule.name] = "on" if running else "off"
    for sensor in defs.sensors or []:
        assert isinstance(sensor, dg.SensorDefinition)
        running = sensor.default_status is dg.DefaultSensorStatus.RUNNING
        actual[sensor.name] = "on" if running else "off"
    assert claimed == actual


def test_a_copied_warehouse_opens_and_queries_where_it_now_lies(
    demo: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    tree, env, _ = demo
    original = tree / "demo" / "warehouse"
    copy = tmp_path / "elsewhere" / "warehouse"
    shutil.copytree(original, copy)
    away = original.with_name("warehouse.away")
    original.rename(away)  # the copy must not read the original's lake
    try:
        lake_rows = pq.read_metadata(copy / "lake" / "fct_alert_episodes" / "data.parquet")
        query = "select count(*) as n from fct_alert_episodes"
        for command in (
            [".venv/bin/burnwatch", "sql", "--warehouse", str(copy), query],
            # Once re-pointed, the plain shell opens it too, from any folder.
            [".venv/bin/duckdb", "-readonly", "-csv", str(copy / "burnwatch.duckdb"), query],
        ):
            done = subprocess.run(
                command, cwd=tree, env=env, capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, done.stderr
            assert str(lake_rows.num_rows) in done.stdout.split(), done.stdout
    finally:
        away.rename(original)
