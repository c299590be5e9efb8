"""Settings from the command line and the environment, checked before anything is written.

A setting DuckDB or Dagster would only refuse deep inside a step (a thread
count of -1, a memory limit of "lots", a share of "abc") is refused here, on
one line that names the setting and where it came from: `--threads -1: ...`
or `BURNWATCH_THREADS=two: ...`.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import duckdb

from schemas.errors import BurnwatchInputError

# The environment variables the Dagster resource reads (pipelines/resources.py): here,
# so that the command line names them without importing Dagster.
ENV_DATA_DIR = "BURNWATCH_DATA_DIR"
ENV_MANIFEST = "BURNWATCH_MANIFEST"
ENV_WAREHOUSE = "BURNWATCH_WAREHOUSE"
ENV_THREADS = "BURNWATCH_THREADS"
ENV_MEMORY_LIMIT = "BURNWATCH_MEMORY_LIMIT"
ENV_DRY_RUN = "BURNWATCH_DRY_RUN"
ENV_CONTRACTS = "BURNWATCH_CONTRACTS"
ENV_MAX_QUARANTINED_SHARE = "BURNWATCH_MAX_QUARANTINED_SHARE"
ENV_MAX_ROWS_PER_SCAN = "BURNWATCH_MAX_ROWS_PER_SCAN"
ENV_ENGINE = "BURNWATCH_ENGINE"
ENV_SPARK_MASTER = "BURNWATCH_SPARK_MASTER"
ENV_SPARK_REMOTE = "BURNWATCH_SPARK_REMOTE"


def whole_number(text: str, source: str, minimum: int) -> int:
    """`text` as an integer of at least `minimum`; `source` names the setting in errors."""
    try:
        value = int(text.strip())
    except ValueError:
        raise BurnwatchInputError(f"{source}={text}: not a whole number") from None
    if value < minimum:
        raise BurnwatchInputError(f"{source}={text}: must be at least {minimum}")
    return value


def share(text: str, source: str) -> float:
    """`text` as a share between 0 and 1 (0.05 is 5 %)."""
    try:
        value = float(text.strip())
    except ValueError:
        raise BurnwatchInputError(f"{source}={text}: not a number (a share like 0.05)") from None
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise BurnwatchInputError(f"{source}={text}: must be a share from 0 to 1, like 0.05")
    return value


def threads(value: int | None, label: str | None = None) -> int | None:
    """A DuckDB thread count (None: all cores); DuckDB itself would fail the first step."""
    if value is not None and value < 1:
        where = label or f"--threads {value}"
        raise BurnwatchInputError(f"{where}: must be at least 1 (omit it for all cores)")
    return value


def memory_limit(value: str | None, label: str | None = None) -> str | None:
    """A DuckDB memory limit such as 4GB, as DuckDB itself parses it (None: its default)."""
    if not value:
        return None
    where = label or f"--memory-limit {value}"
    problem = f"{where}: not a memory size like 4GB or 512MB"
    # The value is spliced into `set memory_limit = '...'`: a quote is never a size.
    if "'" in value or "\\" in value:
        raise BurnwatchInputError(problem)
    with duckdb.connect() as connection:
        try:
            connection.execute(f"set memory_limit = '{value}'")
        except duckdb.Error:
            raise BurnwatchInputError(problem) from None
    return value


ENGINES = ("duckdb", "spark")


def engine(text: str, source: str) -> str:
    """An engine name, duckdb or spark (any case)."""
    name = text.strip().lower()
    if name not in ENGINES:
        raise BurnwatchInputError(f"{source}={text}: not an engine (duckdb or spark)")
    return name


def boolean(text: str, source: str) -> bool:
    """1/true/yes or 0/false/no (any case); empty is false."""
    lowered = text.strip().lower()
    if lowered in ("", "0", "false", "no"):
        return False
    if lowered in ("1", "true", "yes"):
        return True
    raise BurnwatchInputError(f"{source}={text}: not a boolean (1/true/yes or 0/false/no)")


def env(name: str) -> str:
    return os.environ.get(name, "")


def check_warehouse(path: Path) -> None:
    """Refuse a warehouse that is a file, or whose nearest existing folder is not writable,
    before a step fails on it half-way (OSError deep in a write)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise BurnwatchInputError(f"{path}: the warehouse is a file, not a folder")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise BurnwatchInputError(
            f"{path}: cannot create the warehouse: {existing} is a file, not a folder"
        )
    # A probe, not os.access: permission bits say nothing for root, nor for a read-only
    # mount; creating (and removing) a folder is the question itself.
    try:
        Path(tempfile.mkdtemp(prefix=".burnwatch-probe-", dir=existing)).rmdir()
    except OSError as error:
        raise BurnwatchInputError(
            f"{path}: cannot write the warehouse in {existing} ({error.strerror})"
        ) from None
