"""The ingest package's modules stand alone: each imports first in a fresh interpreter
(no import cycle), and none reaches into another's private names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

INGEST = Path(__file__).resolve().parent.parent / "pipelines" / "ingest"
MODULES = sorted(path.stem for path in INGEST.glob("*.py") if path.stem != "__init__")


def test_the_ingest_package_has_one_module_per_job() -> None:
    assert MODULES == [
        "files",
        "footers",
        "latency_units",
        "quarantine",
        "rules",
        "scan",
        "staging",
    ]


@pytest.mark.parametrize("module", MODULES)
def test_each_ingest_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import pipelines.ingest.{module}"],
        cwd=INGEST.parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("module", MODULES)
def test_no_ingest_module_imports_private_names(module: str) -> None:
    tree = ast.parse((INGEST / f"{module}.py").read_text())
    private = [
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
        if alias.name.startswith("_") and alias.name != "__future__"
    ]
    assert private == []
