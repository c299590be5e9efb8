"""Late rows that change a decision already sent, cycle by cycle, with a real webhook
receiver on 127.0.0.1; the oracle is one batch run over all the data.

- **Moved.** acme's outage starts at 09:30, but its first 15 minutes of logs arrive a
  cycle late. The first cycle pages from about 09:45; the late rows move the
  alert's start to 09:30. The receiver gets one `opened` and one `resolved` for
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
    """(tenant, transition, alert start) of every document, the start as naive ISO (the
    documents' are UTC with a Z), as the lake and the audit log write it. Messages come
    from grouped alerts, one at a time per tenant SLO, so the start names the alert."""
    return Counter(
        (
            body["tenant"],
            body["transition"],
            (body.get("episode") or {})["started_at"].removesuffix("Z"),
        )
        for body in receiver.bodies()
    )


def corrections(warehouse: Path) -> list[dict[str, Any]]:
    lines = audit_path(warehouse).read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == "correction"]


def first_alert(warehouse: Path, tenant: str) -> dict[str, Any] | None:
    """The tenant's first grouped alert (fct_alerts), or None."""
    alerts = read_table(warehouse, "fct_alerts").filter(pl.col("tenant_id") == tenant)
    return alerts.sort("started_at").row(0, named=True) if alerts.height else None


def page_start(warehouse: Path, tenant: str) -> dt.datetime | None:
    alert = first_alert(warehouse, tenant)
    return None if alert is None else alert["started_at"]


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
            "acme": first_alert(live, "acme"),
            "globex": first_alert(live, "globex"),
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


def _sent(runs: dict[str, Any], tenant: str) -> str:
    return str(runs["first"][tenant]["started_at"].isoformat())


def test_the_first_cycle_pages_for_both_before_the_late_rows(runs: dict[str, Any]) -> None:
    first = runs["first"]
    assert first["acme"] is not None and first["acme"]["started_at"] >= at(9, 45)
    assert first["acme"]["opened_severity"] == "page"
    assert first["globex"] is not None and first["globex"]["opened_severity"] == "page"
    assert first["received"][("acme", "opened", _sent(runs, "acme"))] == 1
    assert first["received"][("globex", "opened", _sent(runs, "globex"))] == 1


def test_the_late_rows_move_acmes_alert_to_the_outage_start(runs: dict[str, Any]) -> None:
    start = page_start(runs["live"], "acme")
    assert start is not None and at(9, 30) <= start < runs["first"]["acme"]["started_at"]
    assert page_start(runs["batch"], "acme") == start


def _expected_resolves(warehouse: Path, tenant: str) -> int:
    """A sent alert is resolved once its recomputed form resolves, or at once if the
    corrected data has none (it vanished)."""
    alert = first_alert(warehouse, tenant)
    return 1 if alert is None or alert["resolved_at"] is not None else 0


def test_the_moved_alert_is_opened_once_and_resolved_under_the_start_sent(
    runs: dict[str, Any],
) -> None:
    live = runs["received"][0]
    sent = _sent(runs, "acme")
    mine = {k: n for k, n in live.items() if k[0] == "acme"}
    expected = {("acme", "opened", sent): 1}
    if _expected_resolves(runs["batch"], "acme"):
        expected[("acme", "resolved", sent)] = 1
    assert mine == expected


def test_globexs_page_is_resolved_or_kept_under_its_sent_start_never_sent_twice(
    runs: dict[str, Any],
) -> None:
    assert page_start(runs["live"], "globex") == page_start(runs["batch"], "globex")
    sent = _sent(runs, "globex")
    live = runs["received"][0]
    mine = {k: n for k, n in live.items() if k[0] == "globex"}
    expected = {("globex", "opened", sent): 1}
    if _expected_resolves(runs["batch"], "globex"):
        expected[("globex", "resolved", sent)] = 1
    assert mine == expected


def test_the_audit_log_records_each_correction_once(runs: dict[str, Any]) -> None:
    found = Counter((r["tenant_id"], r["correction"]) for r in corrections(runs["live"]))
    assert found[("acme", "episode_moved")] == 1
    globex = "episode_vanished" if page_start(runs["live"], "globex") is None else "episode_moved"
    if page_start(runs["live"], "globex") != runs["first"]["globex"]["started_at"]:
        assert found[("globex", globex)] == 1
    moved = next(
        r
        for r in corrections(runs["live"])
        if r["correction"] == "episode_moved" and r["tenant_id"] == "acme"
    )
    assert moved["sent"]["started_at"] == _sent(runs, "acme")
    assert moved["data"]["started_at"] == page_start(runs["live"], "acme").isoformat()
    assert corrections(runs["batch"]) == []


def test_every_other_message_and_the_lake_equal_the_batch_run(runs: dict[str, Any]) -> None:
    """Each correction replaces the batch run's messages of the recomputed alert with
    the live run's of the sent one; every other message is the batch run's."""
    live, batch = (Counter(c) for c in runs["received"])
    for record in corrections(runs["live"]):
        tenant = record["tenant_id"]
        sent, data = record["sent"]["started_at"], record["data"]["started_at"]
        live = Counter({k: n for k, n in live.items() if (k[0], k[2]) != (tenant, sent)})
        batch = Counter({k: n for k, n in batch.items() if (k[0], k[2]) != (tenant, data)})
    assert live == batch
    assert lake_digests(runs["live"]) == lake_digests(runs["batch"])


def test_each_corrected_alert_was_opened_once_and_resolved_at_most_once(
    runs: dict[str, Any],
) -> None:
    live = runs["received"][0]
    for record in corrections(runs["live"]):
        tenant = record["tenant_id"]
        sent = record["sent"]["started_at"]
        openings = sum(
            n for k, n in live.items() if k[0] == tenant and k[2] == sent and k[1] != "resolved"
        )
        assert openings == 1, record
        assert live[(tenant, "resolved", sent)] <= 1, record
