"""Shared fixtures: tiny request-log datasets built in tmp_path."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.tables import arrow_schema

# Tests never touch a developer's (or `make`'s) Dagster instance.
os.environ.pop("DAGSTER_HOME", None)

REQUEST_SCHEMA = arrow_schema("raw_requests")

SMALL_MANIFEST = """\
cohorts:
  enterprise:
    availability: {objective: 99.9}
    latency: {objective: 99.0, threshold_ms: 300}
tenants:
  - id: acme
    cohort: enterprise
    slos:
      - {name: api-availability, service: api, sli: availability}
      - {name: api-latency, service: api, sli: latency}
"""


def write_requests(path: Path, rows: Iterable[dict[str, object]]) -> Path:
    """Write request rows (dicts with the contract's columns) as one Parquet file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(list(rows), schema=REQUEST_SCHEMA), path)
    return path


def request(
    request_id: str,
    ts: dt.datetime,
    tenant: str = "acme",
    status: int = 200,
    latency: float = 50.0,
    replica: str = "r1",
    service: str = "api",
    operation: str | None = "GET /items",
) -> dict[str, object]:
    """One raw_requests row (the contract's columns)."""
    return {
        "request_id": request_id,
        "ts": ts,
        "tenant_id": tenant,
        "service": service,
        "operation": operation,
        "status_code": status,
        "latency_ms": latency,
        "replica": replica,
    }


@pytest.fixture
def small_dataset(tmp_path: Path) -> tuple[Path, Path]:
    """Two days of one tenant's traffic, one request a minute, with a 20-minute outage."""
    data = tmp_path / "data"
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    for day in range(2):
        rows = []
        for minute in range(24 * 60):
            ts = start + dt.timedelta(days=day, minutes=minute, seconds=7)
            in_outage = day == 1 and 600 <= minute < 620
            rows.append(request(f"d{day}-{minute}", ts, status=503 if in_outage else 200))
        folder_day = (start + dt.timedelta(days=day)).date()
        write_requests(data / "requests" / "tenant=acme" / f"date={folder_day}" / "a.parquet", rows)
    manifest = data / "slos.yaml"
    manifest.write_text(SMALL_MANIFEST)
    return data, manifest
