"""Command-line programs run from tests: `burnwatch` in a subprocess, and promtool."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BURNWATCH = [sys.executable, "-c", "from pipelines.cli.commands import main; main()"]


def run_args(data: Path, manifest: Path, warehouse: Path) -> list[str]:
    """The arguments of `burnwatch run` on one data folder, manifest and warehouse."""
    return ["run", "--data", str(data), "--manifest", str(manifest), "--warehouse", str(warehouse)]


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `burnwatch ARGS...` to the end, capturing its output (any exit code)."""
    return subprocess.run(
        [*BURNWATCH, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def promtool() -> str:
    """The promtool binary; skips the test without it (fails it on CI)."""
    found = shutil.which("promtool")
    if found:
        return found
    message = (
        "promtool not found: install Debian's `prometheus` package "
        "(make system-deps / scripts/install-system-deps.sh)"
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)
