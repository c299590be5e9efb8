"""Live operation, tested as it happens: the sample's logs arrive in slices cut in the
middle of its incidents, with late copies and late rows, and `burnwatch run` runs after
each slice on one warehouse. The oracle is one batch run over all the data.

- At every cycle no fact row describes a step after its tenant's horizon.
- At the end the lake is byte-identical to the batch run's.
- The outbox holds exactly the batch run's messages: none sent too early, none missing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines.ingest import ledger
from pipelines.policy.replay import DEFAULT_POLICIES, replay
from pipelines.runner import run_pipeline
from pipelines.sample.generator import generate_sample
from pipelines.warehouse.lake import read_table
from schemas.errors import BurnwatchInputError
from schemas.tables import TABLES
from tests.notify_fixtures import HttpReceiver, start_receiver, stop_receiver

pytestmark = pytest.mark.slow

# Cut in the middle of the sample's incidents: oscorp's slow burn (10-04 01:21 .. 10-05
# 07:21), tyrell's outage (10-04 10:02 .. 10:42), hooli's slow burn (10-05 08:04 .. 16:04),
# stark's latency regression (10-06 04:18 .. 06:18).
CUTS = [
    dt.datetime(2026, 10, 4, 10, 20),
    # At midnight: the next slice brings only the next day's logs, and the steps of
    # this day after the horizon must still be evaluated then.
    dt.datetime(2026, 10, 5, 0, 0),
    dt.datetime(2026, 10, 5, 12, 0),
    dt.datetime(2026, 10, 6, 5, 0),
    dt.datetime(2026, 10, 6, 18, 0),
]
# Rows held back and delivered with a later slice, for steps already evaluated: a share
# of acme's requests (a tenant without incidents) and replica copies of tyrell's outage.
LATE_FROM, LATE_TO = dt.datetime(2026, 10, 4, 6, 0), dt.datetime(2026, 10, 4, 8, 0)
LATE_TENANT = "acme"
LATE_SLICE = 4  # delivered with the fifth slice


def _mask(table: pa.Table, low: dt.datetime | None, high: dt.datetime | None) -> Any:
    ts = table.column("ts")
    kind = ts.type
    mask = pc.greater_equal(ts, pa.scalar(low, type=kind)) if low else None
    if high is not None:
        upper = pc.less(ts, pa.scalar(high, type=kind))
        mask = upper if mask is None else pc.and_(mask, upper)
    return mask


def _held_back(table: pa.Table) -> Any:
    """Every fifth row of LATE_TENANT's requests in [LATE_FROM, LATE_TO)."""
    window = _mask(table, LATE_FROM, LATE_TO)
    tenant = pc.equal(table.column("tenant_id"), LATE_TENANT)
    every_fifth = pa.array([index % 5 == 0 for index in range(table.num_rows)])
    return pc.and_(pc.and_(window, tenant), every_fifth)


def write_slice(source: Path, target: Path, index: int) -> None:
    """Add slice `index` of the sample's logs to `target` as new files in their folders."""
    bounds = [None, *CUTS, None]
    low, high = bounds[index], bounds[index + 1]
    for path in sorted((source / "requests").rglob("*.parquet")):
        table = pq.read_table(path)
        held = _held_back(table)
        part = table.filter(pc.and_(_mask(table, low, high), pc.invert(held)))
        if index == LATE_SLICE:
            late = table.filter(held)
            # Copies of tyrell's outage requests from another replica, a second later: the
            # original copy stays the kept one, so nothing may change.
            outage = table.filter(
                pc.and_(
                    _mask(table, dt.datetime(2026, 10, 4, 10, 2), dt.datetime(2026, 10, 4, 10, 20)),
                    pc.equal(table.column("tenant_id"), "tyrell"),
                )
            )
            copies = outage.set_column(
                outage.schema.get_field_index("replica"),
                "replica",
                pa.array(["zz-late"] * outage.num_rows, type=pa.string()),
            ).set_column(
                outage.schema.get_field_index("ts"),
                "ts",
                pc.add(outage.column("ts"), pa.scalar(dt.timedelta(seconds=1))),
            )
            part = pa.concat_tables([part, late, copies])
        if part.num_rows:
            out = target / path.relative_to(source)
            out = out.with_name(f"{out.stem}-slice{index}.parquet")
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(part, out)
    (target / "incidents.csv").write_bytes((source / "incidents.csv").read_bytes())
    (target / "slos.yaml").write_text(
        (source / "slos.yaml").read_text(encoding="utf-8") + ROUTES, encoding="utf-8"
    )


# Every transition to a real webhook receiver on 127.0.0.1 (tests/notify_fixtures.py).
ROUTES = """
notifications:
  retry: {attempts: 2, initial_seconds: 0.01, timeout_seconds: 5}
  channels:
    hook: {type: webhook, url_env: LIVE_HOOK_URL, hmac_key_env: LIVE_HOOK_KEY}
  routes:
    - {channel: hook}
"""


def lake_digests(warehouse: Path) -> dict[str, str]:
    """sha256 of every lake file of a table that `schemas.tables` declares (the outbox
    exports hold wall-clock times and are compared as messages instead)."""
    lake = warehouse / "lake"
    return {
        str(path.relative_to(lake)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(lake.rglob("*.parquet"))
        if path.relative_to(lake).parts[0] in TABLES
    }


def messages(warehouse: Path) -> Counter[tuple[Any, ...]]:
    """The outbox as a multiset of (tenant, slo, rule, transition, episode start, at, channel)."""
    frame = read_table(warehouse, "notifications")
    return Counter(
        (
            row["tenant_id"],
            row["slo_name"],
            row["rule_name"],
            row["transition"],
            row["episode_started_at"],
            row["transition_at"],
            row["channel"],
        )
        for row in frame.iter_rows(named=True)
    )


def assert_nothing_after_the_horizon(warehouse: Path) -> None:
    horizons = read_table(warehouse, "int_tenant_horizons")
    horizon = horizons["horizon"].max()
    limits = dict(zip(horizons["tenant_id"], horizons["evaluated_until"], strict=True))
    for table in ("fct_burn_rates", "fct_error_budget", "fct_alert_evaluations"):
        newest = read_table(warehouse, table).group_by("tenant_id").agg(pl.col("eval_ts").max())
        for tenant, eval_ts in newest.iter_rows():
            assert limits[tenant] is not None and eval_ts <= limits[tenant] <= horizon, (
                f"{table}: {tenant} evaluated at {eval_ts}, past its horizon {limits[tenant]}"
            )
    episodes = read_table(warehouse, "fct_alert_episodes")
    late = episodes.filter(pl.col("resolved_at") > horizon)
    assert late.is_empty(), f"episodes resolved after the horizon {horizon}: {late}"
    alerts = read_table(warehouse, "fct_alerts")
    late = alerts.filter(pl.col("resolved_at") > horizon)
    assert late.is_empty(), f"alerts resolved after the horizon {horizon}: {late}"


def _delivered(receiver: HttpReceiver) -> Counter[tuple[Any, ...]]:
    """What the receiver got, as the same multiset as `messages` (webhook documents)."""
    return Counter(_webhook_key(body) for body in receiver.bodies())


def _webhook_key(body: dict[str, Any]) -> tuple[Any, ...]:
    """(tenant, slo, rule, transition, episode start, transition time) of a webhook document."""
    episode = body.get("episode") or {}
    return (
        body["tenant"],
        body["slo"],
        body["rule"],
        body["transition"],
        episode.get("started_at"),
        body["at"],
    )


@pytest.fixture(scope="module")
def live_and_batch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("live")
    sample = root / "sample"
    generate_sample(sample, days=7, scale=0.05)
    data, live = root / "data", root / "live"
    horizons = []
    receivers = [start_receiver(HttpReceiver()) for _ in range(2)]
    patch = pytest.MonkeyPatch()
    patch.setenv("LIVE_HOOK_KEY", "live-test-key")
    try:
        patch.setenv("LIVE_HOOK_URL", receivers[0].receiver.url)
        for index in range(len(CUTS) + 1):
            write_slice(sample, data, index)
            run_pipeline(data, data / "slos.yaml", live, say=lambda _: None)
            assert_nothing_after_the_horizon(live)
            horizons.append(read_table(live, "int_tenant_horizons")["horizon"].max())
            if index == 0:
                first_cycle_messages = messages(live)
        # Cycles leave the replay (and the report) to their own daily schedule: run it,
        # as burnwatch_history would, before comparing with the batch run.
        replay(live, data / "slos.yaml", DEFAULT_POLICIES, data / "incidents.csv")
        batch = root / "batch"
        patch.setenv("LIVE_HOOK_URL", receivers[1].receiver.url)
        run_pipeline(data, data / "slos.yaml", batch, say=lambda _: None)
        yield {
            "data": data,
            "live": live,
            "batch": batch,
            "horizons": horizons,
            "first_cycle_messages": first_cycle_messages,
            "received": [_delivered(running.receiver) for running in receivers],
        }
    finally:
        patch.undo()
        for running in receivers:
            stop_receiver(running)


def test_each_cycle_moves_the_horizon_to_its_slice(live_and_batch: dict[str, Any]) -> None:
    horizons = live_and_batch["horizons"]
    assert horizons[:-1] == [cut - dt.timedelta(minutes=5) for cut in CUTS]
    assert horizons == sorted(horizons)


def test_the_outage_page_is_open_not_resolved_when_the_logs_stop_inside_it(
    live_and_batch: dict[str, Any],
) -> None:
    # After the first slice (cut at 10:20, the outage runs to 10:42) nothing may say
    # the outage is over: the first cycle sent "opened" for tyrell and no "resolved".
    sent = live_and_batch["first_cycle_messages"]
    tyrell = [key for key in sent if key[0] == "tyrell"]
    assert any(key[3] in ("opened", "escalated") for key in tyrell)
    assert not [key for key in tyrell if key[3] == "resolved"]


def test_after_the_last_slice_the_lake_is_byte_identical_to_one_batch_run(
    live_and_batch: dict[str, Any],
) -> None:
    live, batch = lake_digests(live_and_batch["live"]), lake_digests(live_and_batch["batch"])
    assert live.keys() == batch.keys()
    differing = sorted(path for path in live if live[path] != batch[path])
    assert not differing, f"lake files that differ from the batch run: {differing}"


def test_the_outbox_holds_exactly_the_batch_runs_messages(live_and_batch: dict[str, Any]) -> None:
    live, batch = messages(live_and_batch["live"]), messages(live_and_batch["batch"])
    assert batch, "the batch run sent nothing: the test data exercises no alert"
    assert live - batch == Counter(), f"sent live, not in the batch run: {live - batch}"
    assert batch - live == Counter(), f"in the batch run, never sent live: {batch - live}"


def test_the_receiver_got_each_message_once_live_as_in_the_batch_run(
    live_and_batch: dict[str, Any],
) -> None:
    live, batch = live_and_batch["received"]
    assert sum(batch.values()) == sum(messages(live_and_batch["batch"]).values())
    assert live == batch


def test_a_cycle_without_new_files_computes_no_day(live_and_batch: dict[str, Any]) -> None:
    data, live = live_and_batch["data"], live_and_batch["live"]
    before = lake_digests(live)
    outcome = run_pipeline(data, data / "slos.yaml", live, dry_run=True, say=lambda _: None)
    assert outcome.first_day is None
    assert lake_digests(live) == before


def test_a_file_rewritten_in_place_is_recounted_not_counted_twice(tmp_path: Path) -> None:
    from tests.conftest import SMALL_MANIFEST, request, write_requests

    data, warehouse = tmp_path / "data", tmp_path / "warehouse"
    (data).mkdir()
    (data / "slos.yaml").write_text(SMALL_MANIFEST, encoding="utf-8")
    folder = data / "requests" / "tenant=acme" / "date=2024-03-01"
    start = dt.datetime(2024, 3, 1, 10)
    rows = [request(f"r{i}", start + dt.timedelta(seconds=i)) for i in range(50)]
    write_requests(folder / "part-0.parquet", rows)
    run_pipeline(data, data / "slos.yaml", warehouse, say=lambda _: None)
    more = rows + [request(f"s{i}", start + dt.timedelta(seconds=60 + i)) for i in range(30)]
    write_requests(folder / "part-0.parquet", more)
    plan = ledger.plan_cycle(data, warehouse, _files(data))
    assert [Path(f.path).name for f in plan.changed] == ["part-0.parquet"]
    run_pipeline(data, data / "slos.yaml", warehouse, say=lambda _: None)
    assert read_table(warehouse, "stg_requests").height == 80


def test_a_counted_file_that_disappears_stops_the_cycle_naming_it(tmp_path: Path) -> None:
    from tests.conftest import SMALL_MANIFEST, request, write_requests

    data, warehouse = tmp_path / "data", tmp_path / "warehouse"
    data.mkdir()
    (data / "slos.yaml").write_text(SMALL_MANIFEST, encoding="utf-8")
    folder = data / "requests" / "tenant=acme" / "date=2024-03-01"
    start = dt.datetime(2024, 3, 1, 10)
    write_requests(folder / "part-0.parquet", [request("a", start)])
    write_requests(folder / "part-1.parquet", [request("b", start)])
    run_pipeline(data, data / "slos.yaml", warehouse, say=lambda _: None)
    (folder / "part-1.parquet").unlink()
    with pytest.raises(BurnwatchInputError, match=r"part-1\.parquet: counted by run .* gone"):
        run_pipeline(data, data / "slos.yaml", warehouse, say=lambda _: None)
    assert read_table(warehouse, "stg_requests").height == 2


def test_as_of_beyond_the_data_or_before_the_last_horizon_is_refused(tmp_path: Path) -> None:
    from tests.conftest import SMALL_MANIFEST, request, write_requests

    data, warehouse = tmp_path / "data", tmp_path / "warehouse"
    data.mkdir()
    (data / "slos.yaml").write_text(SMALL_MANIFEST, encoding="utf-8")
    folder = data / "requests" / "tenant=acme" / "date=2024-03-01"
    start = dt.datetime(2024, 3, 1, 10)
    write_requests(
        folder / "part-0.parquet",
        [request(f"r{i}", start + dt.timedelta(minutes=i)) for i in range(60)],
    )
    with pytest.raises(BurnwatchInputError, match="beyond the data"):
        run_pipeline(
            data,
            data / "slos.yaml",
            warehouse,
            as_of=dt.datetime(2024, 3, 1, 12),
            say=lambda _: None,
        )
    run_pipeline(
        data,
        data / "slos.yaml",
        tmp_path / "w2",
        as_of=dt.datetime(2024, 3, 1, 10, 30),
        say=lambda _: None,
    )
    assert read_table(tmp_path / "w2", "fct_burn_rates")["eval_ts"].max() == dt.datetime(
        2024, 3, 1, 10, 30
    )
    run_pipeline(data, data / "slos.yaml", warehouse, say=lambda _: None)
    with pytest.raises(BurnwatchInputError, match="before the warehouse's last horizon"):
        run_pipeline(
            data,
            data / "slos.yaml",
            warehouse,
            as_of=dt.datetime(2024, 3, 1, 10, 30),
            say=lambda _: None,
        )


def _files(data: Path) -> list[Any]:
    from pipelines.ingest.files import discover_request_files

    return discover_request_files(data)
