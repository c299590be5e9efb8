"""The one Dagster resource: where the inputs and the warehouse are, and DuckDB settings.

`dagster dev`, `dagster asset materialize` and `burnwatch run` all build it
from the same environment variables, so every entry point sees the same data.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from pipelines import settings
from pipelines.notify.report_links import report_url_from_env
from pipelines.settings import (
    ENV_CONTRACTS,
    ENV_DATA_DIR,
    ENV_DRY_RUN,
    ENV_ENGINE,
    ENV_MANIFEST,
    ENV_MAX_QUARANTINED_SHARE,
    ENV_MAX_ROWS_PER_SCAN,
    ENV_MEMORY_LIMIT,
    ENV_SPARK_MASTER,
    ENV_SPARK_REMOTE,
    ENV_THREADS,
    ENV_WAREHOUSE,
)
from pipelines.warehouse import session


class BurnwatchResource(dg.ConfigurableResource):
    """Paths of the request logs, the SLO manifest and the warehouse, and DuckDB limits."""

    data_dir: str
    manifest: str
    warehouse: str
    threads: int = 0
    memory_limit: str = ""
    # How far a replica's copy of a request may lie across midnight from its
    # other copies; bounds how much of the neighbouring day folders is read.
    skew_tolerance_minutes: int = 60
    # Consecutive days are deduplicated in one scan, up to this many input rows
    # per scan (by the files' footers); bounds the memory a long backfill needs.
    max_rows_per_scan: int = 30_000_000
    # Write notifications to the outbox without delivering them.
    dry_run: bool = False
    # Per-service contract overrides; empty: <data>/contracts.yaml, else next to the manifest.
    contracts: str = ""
    # Above this share of quarantined rows, a tenant-day's SLIs are "no data".
    max_quarantined_share: float = 0.05
    # `burnwatch run --as-of`: no step after this time is evaluated (ISO 8601, UTC); empty:
    # the horizon the data gives.
    as_of: str = ""
    # `burnwatch run --full`: recompute from the logs alone, not from what earlier runs saw.
    full: bool = False
    # Which engine computes the SQL models: "duckdb", or "spark" (pipelines/engines/
    # spark_connection.py; the extra burnwatch[spark]). Spark runs on `spark_master`
    # (empty: local[*]), or on the Spark Connect server `spark_remote` (sc://host:15002).
    engine: str = "duckdb"
    spark_master: str = ""
    spark_remote: str = ""

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def manifest_path(self) -> Path:
        return Path(self.manifest)

    @property
    def warehouse_path(self) -> Path:
        return Path(self.warehouse)

    @property
    def as_of_time(self) -> dt.datetime | None:
        return dt.datetime.fromisoformat(self.as_of).replace(tzinfo=None) if self.as_of else None

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A fresh in-memory DuckDB connection for one step, spilling under the warehouse.

        With engine "spark", the connection hands the SQL models it runs to Spark
        (the binding and the lake writes stay the same)."""
        connection = session.connect(
            threads=self.threads or None,
            memory_limit=self.memory_limit or None,
            temp_directory=self.warehouse_path / ".spill",
        )
        if settings.engine(self.engine, "engine") == "duckdb":
            return connection
        from pipelines.engines.spark_connection import SCRATCH_DIR, SparkModelConnection
        from pipelines.engines.spark_run import shared_session

        spark = shared_session(self.spark_master, self.spark_remote)
        scratch = self.warehouse_path / SCRATCH_DIR
        # Typed as the connection it wraps: every call the build functions make passes.
        return SparkModelConnection(connection, spark, scratch)  # type: ignore[return-value]


def resource_from_env() -> BurnwatchResource:
    """The resource as the UI and `dagster asset materialize` build it: from the environment."""
    return BurnwatchResource(
        data_dir=dg.EnvVar(ENV_DATA_DIR),
        manifest=dg.EnvVar(ENV_MANIFEST),
        warehouse=dg.EnvVar(ENV_WAREHOUSE),
        threads=threads_from_env() or 0,
        memory_limit=memory_limit_from_env() or "",
        dry_run=settings.boolean(settings.env(ENV_DRY_RUN), ENV_DRY_RUN),
        contracts=os.environ.get(ENV_CONTRACTS, ""),
        **limits_from_env(),
        **engine_from_env(),
    )


def engine_from_env() -> dict[str, Any]:
    """BURNWATCH_ENGINE (duckdb or spark), BURNWATCH_SPARK_MASTER, BURNWATCH_SPARK_REMOTE."""
    found: dict[str, Any] = {}
    if settings.env(ENV_ENGINE).strip():
        found["engine"] = settings.engine(settings.env(ENV_ENGINE), ENV_ENGINE)
    if settings.env(ENV_SPARK_MASTER).strip():
        found["spark_master"] = settings.env(ENV_SPARK_MASTER).strip()
    if settings.env(ENV_SPARK_REMOTE).strip():
        found["spark_remote"] = settings.env(ENV_SPARK_REMOTE).strip()
    return found


def threads_from_env() -> int | None:
    """BURNWATCH_THREADS (unset, empty or 0: all cores); BurnwatchInputError if not a count."""
    text = settings.env(ENV_THREADS)
    return settings.whole_number(text, ENV_THREADS, 0) or None if text.strip() else None


def memory_limit_from_env() -> str | None:
    """BURNWATCH_MEMORY_LIMIT, checked the way DuckDB parses it (unset: DuckDB's default)."""
    text = settings.env(ENV_MEMORY_LIMIT).strip()
    return settings.memory_limit(text, f"{ENV_MEMORY_LIMIT}={text}") if text else None


def checked_limits(threads: int | None, memory_limit: str | None) -> dict[str, Any]:
    """The resource's DuckDB settings and limits: `--threads`/`--memory-limit` if given,
    else the environment's; BurnwatchInputError naming the setting if one is invalid."""
    return {
        "threads": (settings.threads(threads) if threads is not None else threads_from_env()) or 0,
        "memory_limit": (settings.memory_limit(memory_limit) or "")
        if memory_limit
        else (memory_limit_from_env() or ""),
        **limits_from_env(),
    }


def limits_from_env() -> dict[str, Any]:
    """The data-quality and memory limits set in the environment (unset: the defaults).

    Raises BurnwatchInputError naming the variable when one is not a valid value."""
    limits: dict[str, Any] = {}
    # Checked here, before anything is written; the notifications stage reads it again.
    report_url_from_env()
    if settings.env(ENV_MAX_QUARANTINED_SHARE).strip():
        limits["max_quarantined_share"] = settings.share(
            settings.env(ENV_MAX_QUARANTINED_SHARE), ENV_MAX_QUARANTINED_SHARE
        )
    if settings.env(ENV_MAX_ROWS_PER_SCAN).strip():
        limits["max_rows_per_scan"] = settings.whole_number(
            settings.env(ENV_MAX_ROWS_PER_SCAN), ENV_MAX_ROWS_PER_SCAN, 1
        )
    return limits
