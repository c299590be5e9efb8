"""No message in the first hours of data on the sample, even when they start badly.

The sample's first 20 minutes get a blip for acme: extra failed requests, 20 times
its error budget's rate over those minutes and no more. With windows that hold
only those minutes, every rule reads the blip as the whole story: without warm-up
`page-1h` pages at once. Warmed up, a rule waits until its long window lies within
the logs, and by then the blip is a small part of it (at 01:00 the hour burns about
20 / 3 = 6.7x, under 14.4x; at 06:00 the 6 hours 1.1x, under 6x): no alert, hence no
message, until the sample's own incidents.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.notify.transitions import compute_transitions
from pipelines.runner import run_pipeline
from pipelines.sample.generator import generate_sample
from pipelines.warehouse.lake import read_table
from schemas.manifest import load_manifest
from schemas.tables import arrow_schema

pytestmark = pytest.mark.slow

TENANT, SLO = "acme", "api-availability"
BLIP = dt.timedelta(minutes=20)
FIRST_HOURS = dt.timedelta(hours=6)
COLD_RULES = """
policy:
  rules:
    - {name: page-1h, severity: page, long_window: 1h, short_window: 5m, burn_rate: 14.4,
       warm_up: false}
    - {name: page-6h, severity: page, long_window: 6h, short_window: 30m, burn_rate: 6,
       warm_up: false}
    - {name: ticket-1d, severity: ticket, long_window: 1d, short_window: 2h, burn_rate: 3,
       warm_up: false}
    - {name: ticket-3d, severity: ticket, long_window: 3d, short_window: 6h, burn_rate: 1,
       warm_up: false}
"""


def add_blip(data: Path) -> dt.datetime:
    """Append acme's failed requests in the first 20 minutes of its api logs (a file of
    their own in the first day folder); return when its logs begin."""
    folder = sorted((data / "requests" / f"tenant={TENANT}").glob("date=*"))[0]
    frame = pl.read_parquet(folder / "*.parquet")
    api = frame.filter(pl.col("service") == "api").unique("request_id")
    start = api["ts"].min()
    assert isinstance(start, dt.datetime)
    early = api.filter(pl.col("ts") < pl.col("ts").min() + BLIP)
    [slo] = [
        s
        for s in load_manifest(data / "slos.yaml").resolved_slos()
        if (s.tenant_id, s.slo_name) == (TENANT, SLO)
    ]
    assert slo.objective is not None
    if start.tzinfo is not None:
        start = start.astimezone(dt.UTC).replace(tzinfo=None)
    bad = round(20 * (100 - slo.objective) / 100 * early.height)
    assert bad >= 3, "too little traffic to burn visibly"
    rows = [
        {
            "request_id": f"blip-{i}",
            "ts": start + BLIP * (i / bad),
            "tenant_id": TENANT,
            "service": "api",
            "operation": None,
            "status_code": 500,
            "latency_ms": 20.0,
            "replica": "r1",
        }
        for i in range(bad)
    ]
    schema = arrow_schema("raw_requests", timezone=None)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "blip.parquet")
    return start


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dt.datetime]:
    root = tmp_path_factory.mktemp("warm_up_sample")
    generate_sample(root / "data", tenants=3, days=7, seed=7)
    return root, add_blip(root / "data")


def alerts_and_messages(root: Path, manifest: Path, name: str) -> pl.DataFrame:
    warehouse = root / name
    # The first day is all the first hours need (and its windows read no day before it).
    first = dt.date(2026, 10, 1)
    run_pipeline(root / "data", manifest, warehouse, first, first, dry_run=True, say=lambda _: None)
    alerts = read_table(warehouse, "fct_alerts")
    # Messages come from fct_alerts: every transition it gives, as the outbox would.
    transitions = compute_transitions(alerts, read_table(warehouse, "slo_specs"))
    return pl.DataFrame(
        {"tenant_id": [t.tenant_id for t in transitions], "at": [t.at for t in transitions]},
        schema={"tenant_id": pl.String, "at": pl.Datetime("us")},
    )


def test_no_message_in_the_first_hours_of_data(sample: tuple[Path, dt.datetime]) -> None:
    root, start = sample
    messages = alerts_and_messages(root, root / "data" / "slos.yaml", "warm")
    early = messages.filter(pl.col("at") < start + FIRST_HOURS)
    assert early.is_empty(), early


def test_without_warm_up_the_blip_pages_in_the_first_minutes(
    sample: tuple[Path, dt.datetime],
) -> None:
    # What the test above guards against, on the same data: the test can fail.
    root, start = sample
    cold = root / "cold.yaml"
    cold.write_text((root / "data" / "slos.yaml").read_text() + COLD_RULES)
    messages = alerts_and_messages(root, cold, "cold")
    early = messages.filter((pl.col("tenant_id") == TENANT) & (pl.col("at") < start + BLIP * 2))
    assert not early.is_empty()
