"""The ingest package's modules stand alone: each imports first in a fresh interpreter
(no import cycle), each imports only the ingest modules below it in the layering, and
none reaches into another's private names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

INGEST = Path(__file__).resolve().parent.parent / "pipelines" / "ingest"
MODULES = sorted(path.stem for path in INGEST.glob("*.py") if path.stem != "__init__")
# Lowest first: a module may import only the ingest modules before it.
LAYERS = [
    "files",
    "adjustment_days",
    "ledger",
    "footers",
    "rules",
    "scan",
    "quarantine",
    "latency_units",
    "staging",
]


def _ingest_imports(module: str) -> set[str]:
    tree = ast.parse((INGEST / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "pipelines.ingest":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("pipelines.ingest."):
                found.add(node.module.removeprefix("pipelines.ingest."))
        elif isinstance(node, ast.Import):
            found |= {
                alias.name.removeprefix("pipelines.ingest.")
                for alias in node.names
                if alias.name.startswith("pipelines.ingest.")
            }
    return found


def test_the_ingest_package_has_one_module_per_job() -> None:
    assert sorted(LAYERS) == MODULES


@pytest.mark.parametrize("module", LAYERS)
def test_each_ingest_module_imports_only_modules_below_it(module: str) -> None:
    below = set(LAYERS[: LAYERS.index(module)])
    assert _ingest_imports(module) <= below


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
