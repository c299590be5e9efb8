"""Late rows that change a decision already sent, cycle by cycle, with a real webhook
receiver on 127.0.0.1; the oracle is one batch run over all the data.

- **Moved.** acme's outage starts at 09:30, but its first 15 minutes of logs arrive a
  cycle late. The first cycle pages from about 09:45; the late rows move the
  episode's start to 09:30. The receiver gets one `opened` and one `resolved` for
  it, under the start that was sent, and the audit log says what moved.
- **Vanished.** globex's bad replica logs first; its healthy replica's many
  requests for the same minutes arrive a cycle late, and with them the burn is
  below the threshold. The page sent on the first cycle is resolved, never left
  open, and the audit log says why.

Everything else equals the batch run: the lake byte for byte, and every other message.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipelines.notify.audit import audit_path
from pipelines.policy.replay import DEFAULT_POLICIES, replay
from pipelines.runner import run_pipeline
from pipelines.warehouse.lake import read_table
from tests.conftest import request, write_requests
from tests.notify_fixtures import HttpReceiver, start_receiver, stop_receiver
from tests.test_live_cycles import lake_digests

pytestmark = pytest.mark.slow

DAY = dt.datetime(2024, 3, 1)
MANIFEST = """\
cohorts:
  standard:
    availability: {objective: 99.9}
tenants:
  - id: acme
    cohort: standard
    slos: [{name: api-availability, service: api, sli: availability}]
  - id: globex
    cohort: standard
    slos: [{name: api-availability, service: api, sli: availability}]
notifications:
  retry: {attempts: 2, initial_seconds: 0.01, timeout_seconds: 5}
  channels:
    hook: {type: webhook, url_env: LATE_HOOK_URL, hmac_key_env: LATE_HOOK_KEY}
  routes:
    - {channel: hook}
"""
PAGE = "page-1h"


def at(hours: int, minutes: int = 0) -> dt.datetime:
    return DAY + dt.timedelta(hours=hours, minutes=minutes)


def steady(tenant: str, start: dt.datetime, end: dt.datetime, every_s: int, **fields: Any) -> list:
    rows, moment = [], start
    while moment < end:
        rows.append(request(f"{tenant}-{every_s}-{moment:%H%M%S}", moment, tenant=tenant, **fields))
        moment += dt.timedelta(seconds=every_s)
    return rows


def acme(start: dt.datetime, end: dt.datetime) -> list:
    """A request every 10 s; they fail from 09:30 to 10:30."""
    return [
        {**row, "status_code": 503 if at(9, 30) <= row["ts"] < at(10, 30) else 200}
        for row in steady("acme", start, end, 10)
    ]


def globex_bad_replica() -> list:
    """globex's replica b: one failing request a minute in 09:00 .. 09:10."""
    return steady("globex", at(9), at(9, 10), 60, replica="b", status=503)


def globex_healthy_replica() -> list:
    """globex's replica c: a good request every second in 09:00 .. 09:10 (600 requests)."""
    return steady("globex", at(9), at(9, 10), 1, replica="c")


def deliver(data: Path, tenant: str, name: str, rows: list) -> None:
    folder = data / "requests" / f"tenant={tenant}" / f"date={DAY:%Y-%m-%d}"
    write_requests(folder / f"{name}.parquet", rows)


def slice_one(data: Path) -> None:
    deliver(data, "acme", "a-0800-0930", acme(at(8), at(9, 30)))
    deliver(data, "acme", "a-0945-1015", acme(at(9, 45), at(10, 15)))
    deliver(data, "globex", "g-0800-1015", steady("globex", at(8), at(10, 15), 10))
    deliver(data, "globex", "g-bad", globex_bad_replica())


def slice_two(data: Path) -> None:
    deliver(data, "acme", "a-0930-0945-late", acme(at(9, 30), at(9, 45)))
    deliver(data, "globex", "g-healthy-late", globex_healthy_replica())
    deliver(data, "acme", "a-1015-1200", acme(at(10, 15), at(12)))
    deliver(data, "globex", "g-1015-1200", steady("globex", at(10, 15), at(12), 10))


def received(receiver: HttpReceiver) -> Counter[tuple[Any, ...]]:
    """(tenant, rule, transition, episode start) of every document, the start as naive
    ISO (the documents' are UTC with a Z), as the lake and the audit log write it."""
    return Counter(
        (
            body["tenant"],
            body["rule"],
            body["transition"],
            (body.get("episode") or {})["started_at"].removesuffix("Z"),
        )
        for body in receiver.bodies()
    )


def corrections(warehouse: Path) -> list[dict[str, Any]]:
    lines = audit_path(warehouse).read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == "correction"]


def page_start(warehouse: Path, tenant: str) -> dt.datetime | None:
    episodes = read_table(warehouse, "fct_alert_episodes").filter(
        (pl.col("tenant_id") == tenant) & (pl.col("rule_name") == PAGE)
    )
    return episodes["started_at"].min() if episodes.height else None


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("late")
    data = root / "data"
    data.mkdir()
    (data / "slos.yaml").write_text(MANIFEST, encoding="utf-8")
    receivers = [start_receiver(HttpReceiver()) for _ in range(2)]
    patch = pytest.MonkeyPatch()
    patch.setenv("LATE_HOOK_KEY", "late-test-key")
    quiet = lambda _message: None  # noqa: E731
    try:
        live = root / "live"
        patch.setenv("LATE_HOOK_URL", receivers[0].receiver.url)
        slice_one(data)
        run_pipeline(data, data / "slos.yaml", live, say=quiet)
        first = {
            "received": received(receivers[0].receiver),
            "acme_start": page_start(live, "acme"),
            "globex_start": page_start(live, "globex"),
        }
        slice_two(data)
        run_pipeline(data, data / "slos.yaml", live, say=quiet)
        run_pipeline(data, data / "slos.yaml", live, say=quiet)  # a cycle with nothing new
        # Cycles leave the replay to its daily schedule; run it as burnwatch_history would.
        replay(live, data / "slos.yaml", DEFAULT_POLICIES, None)
        batch = root / "batch"
        patch.setenv("LATE_HOOK_URL", receivers[1].receiver.url)
        run_pipeline(data, data / "slos.yaml", batch, say=quiet)
        yield {
            "first": first,
            "live": live,
            "batch": batch,
            "received": [received(running.receiver) for running in receivers],
        }
    finally:
        patch.undo()
        for running in receivers:
            stop_receiver(running)


def test_the_first_cycle_pages_for_both_before_the_late_rows(runs: dict[str, Any]) -> None:
    first = runs["first"]
    assert first["acme_start"] is not None and first["acme_start"] >= at(9, 45)
    assert first["globex_start"] is not None
    assert first["received"][("acme", PAGE, "opened", first["acme_start"].isoformat())] == 1
    assert first["received"][("globex", PAGE, "opened", first["globex_start"].isoformat())] == 1


def test_the_late_rows_move_acmes_page_to_the_outage_start(runs: dict[str, Any]) -> None:
    start = page_start(runs["live"], "acme")
    assert start is not None and at(9, 30) <= start < runs["first"]["acme_start"]
    assert page_start(runs["batch"], "acme") == start


def test_the_moved_page_is_opened_once_and_resolved_under_the_start_sent(
    runs: dict[str, Any],
) -> None:
    live = runs["received"][0]
    sent = runs["first"]["acme_start"].isoformat()
    acme_pages = {k: n for k, n in live.items() if k[0] == "acme" and k[1] == PAGE}
    assert acme_pages == {("acme", PAGE, "opened", sent): 1, ("acme", PAGE, "resolved", sent): 1}


def test_globexs_page_vanishes_from_the_data_and_is_resolved_not_left_open(
    runs: dict[str, Any],
) -> None:
    assert page_start(runs["live"], "globex") is None
    assert page_start(runs["batch"], "globex") is None
    sent = runs["first"]["globex_start"].isoformat()
    live = runs["received"][0]
    assert live[("globex", PAGE, "opened", sent)] == 1
    assert live[("globex", PAGE, "resolved", sent)] == 1


def test_the_audit_log_records_each_correction_once(runs: dict[str, Any]) -> None:
    found = Counter(
        (r["tenant_id"], r["rule_name"], r["correction"]) for r in corrections(runs["live"])
    )
    assert found[("acme", PAGE, "episode_moved")] == 1
    assert found[("globex", PAGE, "episode_vanished")] == 1
    moved = next(r for r in corrections(runs["live"]) if r["correction"] == "episode_moved")
    assert moved["sent"]["started_at"] == runs["first"]["acme_start"].isoformat()
    assert moved["data"]["started_at"] == page_start(runs["live"], "acme").isoformat()
    assert corrections(runs["batch"]) == []


def test_every_other_message_and_the_lake_equal_the_batch_run(runs: dict[str, Any]) -> None:
    """Each correction replaces the batch run's messages of the recomputed episode with
    the live run's of the sent one; every other message is the batch run's."""
    live, batch = (Counter(c) for c in runs["received"])
    for record in corrections(runs["live"]):
        tenant, rule = record["tenant_id"], record["rule_name"]
        sent, data = record["sent"]["started_at"], record["data"]["started_at"]
        live = Counter(
            {k: n for k, n in live.items() if (k[0], k[1], k[3]) != (tenant, rule, sent)}
        )
        batch = Counter(
            {k: n for k, n in batch.items() if (k[0], k[1], k[3]) != (tenant, rule, data)}
        )
    assert live == batch
    assert lake_digests(runs["live"]) == lake_digests(runs["batch"])


def test_each_corrected_episode_was_opened_once_and_resolved_at_most_once(
    runs: dict[str, Any],
) -> None:
    live = runs["received"][0]
    for record in corrections(runs["live"]):
        key = (record["tenant_id"], record["rule_name"])
        sent = record["sent"]["started_at"]
        openings = sum(
            n for k, n in live.items() if k[:2] == key and k[3] == sent and k[2] != "resolved"
        )
        assert openings == 1, record
        assert live[(*key, "resolved", sent)] <= 1, record
