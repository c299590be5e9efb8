"""`burnwatch --help` and the command line's own start import none of the heavy
libraries: each command imports what it needs when it runs, so `--help` takes a fifth
of a second instead of four, and `rules` or `validate` do not pay for Dagster."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# What a command imports when it runs, never at the command line's start.
HEAVY = ["dagster", "pandera", "pandas", "polars", "pyarrow", "sqlglot", "pyspark"]


def _imported_after(code: str) -> set[str]:
    """The HEAVY packages a fresh interpreter holds after running `code`."""
    report = f"print(json.dumps(sorted(set({HEAVY!r}) & set(sys.modules))))"
    probe = f"{code}\nimport json, sys\n{report}"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    assert _imported_after("import pipelines.cli.commands") == set()


def test_help_lists_every_command_without_them() -> None:
    code = (
        "import contextlib, io\n"
        "from pipelines.cli.commands import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        cli(['--help'], standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
    )
    assert _imported_after(code) == set()


@pytest.mark.parametrize(
    ("module", "needs"),
    [
        ("pipelines.interop.prometheus_rules", {"pandera"}),  # `rules`: the manifest's models
        ("pipelines.validation", {"pandera", "sqlglot"}),  # `validate`: and the SQL checks
    ],
)
def test_rules_and_validate_do_without_dagster(module: str, needs: set[str]) -> None:
    """What these two commands import when they run, and not Dagster (only `run` and
    its assets need it)."""
    imported = _imported_after(f"import {module}")
    assert needs <= imported
    assert "dagster" not in imported
