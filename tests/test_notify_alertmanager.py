"""A real Alertmanager (Debian's prometheus-alertmanager) receives one alert per episode,
re-sent every cycle while it fires (as Prometheus does), and a no_data alert per silence."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipelines.notify.outbox import utcnow
from pipelines.warehouse import lake
from tests.notify_fixtures import (
    DAY,
    Workspace,
    alerts,
    free_port,
    make_workspace,
    rewrite,
    stop_server,
    write_horizons,
)

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

pytestmark = pytest.mark.skipif(
    BINARY is None, reason="prometheus-alertmanager is not installed (make system-deps)"
)

CONFIG = """\
route:
  receiver: nowhere
  group_wait: 1h
receivers:
  - name: nowhere
"""


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A throwaway Alertmanager on 127.0.0.1 (no clustering), stopped at teardown."""
    assert BINARY is not None
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG)
    port = free_port()
    process = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("alertmanager did not start")
            time.sleep(0.1)
        yield url
    finally:
        stop_server(process, timeout=10)


@pytest.fixture
def workspace(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path_factory, tmp_path)


def received(url: str) -> dict[str, float]:
    """Alertmanager's own count of alerts received over API v2, by status."""
    counts = {"firing": 0.0, "resolved": 0.0}
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("alertmanager_alerts_received_total{"):
            labels, value = line.rsplit(" ", 1)
            for status in counts:
                if f'status="{status}"' in labels:
                    counts[status] += float(value)
    return counts


def active_alerts(url: str, alertname: str = "SLOBurnRate") -> list[dict[str, Any]]:
    """The alerts Alertmanager holds as firing (its API leaves out those whose endsAt passed)."""
    response = httpx.get(f"{url}/api/v2/alerts", params={"filter": f'alertname="{alertname}"'})
    response.raise_for_status()
    return list(response.json())


def am_time(text: str) -> dt.datetime:
    """Alertmanager's RFC 3339 time as naive UTC, to the second."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)


def am_routes(url: str) -> str:
    return f"""
notifications:
  channels:
    am: {{type: alertmanager, url: "{url}"}}
  routes:
    - channel: am
"""


def test_alertmanager_gets_exactly_one_alert_per_grouped_alert_across_two_runs(
    workspace: Workspace, alertmanager: str
) -> None:
    workspace.configure(
        f"""
notifications:
  channels:
    am: {{type: alertmanager, url: "{alertmanager}"}}
  routes:
    - channel: am
"""
    )
    grouped = alerts(workspace)
    open_alerts = [a for a in grouped if a["resolved_at"] is None]
    resolved = [a for a in grouped if a["resolved_at"] is not None]
    escalated = [a for a in grouped if a["escalated_at"] is not None]
    stepped_down = [a for a in grouped if a["stepped_down_at"] is not None]
    assert open_alerts and resolved and escalated

    first = workspace.run()
    # An opening per alert, an escalation per escalated one, a step down per one that
    # went from page to ticket, a resolve per resolved one: updates of the same alert.
    assert first.delivered == len(grouped) + len(escalated) + len(stepped_down) + len(resolved)
    after_first = received(alertmanager)
    second = workspace.run()
    assert (second.new_messages, second.delivered) == (0, 0)

    # Each run re-sends the alerts still firing (not outbox messages): the first run's
    # openings, escalations, step downs and resolves, then one re-send of each open alert
    # per run.
    assert first.refreshed == second.refreshed == len(open_alerts)
    assert after_first == {
        "firing": len(grouped) + len(escalated) + len(stepped_down) + len(open_alerts),
        "resolved": len(resolved),
    }
    assert received(alertmanager) == {
        "firing": after_first["firing"] + len(open_alerts),
        "resolved": len(resolved),
    }
    active = active_alerts(alertmanager)
    # Resolved alerts ended in the past; the open ones are active, once each, an
    # escalation having updated its opening (the same labels) rather than added one.
    got = sorted((a["labels"]["alert"], a["startsAt"][:19]) for a in active)
    want = sorted(
        (f"{a['started_at']:%Y-%m-%dT%H:%M:%SZ}", a["started_at"].isoformat()) for a in open_alerts
    )
    assert got == want
    for alert in active:
        assert set(alert["labels"]) == {"alertname", "tenant", "slo", "alert"}
        assert alert["labels"]["tenant"] == "acme"
        assert alert["labels"]["slo"] == "api-availability"
        annotations = alert["annotations"]
        assert annotations["severity"] in {"page", "ticket"}
        for name in (
            "long_window_burn_rate",
            "short_window_burn_rate",
            "budget_remaining",
            "time_to_exhaustion",
            "runbook_url",
            "summary",
            "description",
        ):
            assert annotations[name], name
        assert annotations["runbook_url"].startswith("https://")


def test_an_open_page_outlives_the_default_resolve_timeout_across_three_cycles_until_resolved(
    workspace: Workspace, alertmanager: str
) -> None:
    workspace.configure(am_routes(alertmanager))
    grouped = alerts(workspace)
    open_alerts = [a for a in grouped if a["resolved_at"] is None]
    assert any(a["severity"] == "page" for a in open_alerts)
    start = utcnow().replace(microsecond=0)
    # This Alertmanager runs with the default resolve_timeout (5 minutes): an alert
    # sent without endsAt, as Burnwatch used to send an open page, lapses then.
    control = [{"labels": {"alertname": "Control"}, "startsAt": f"{start:%Y-%m-%dT%H:%M:%SZ}"}]
    httpx.post(f"{alertmanager}/api/v2/alerts", json=control).raise_for_status()
    (held,) = active_alerts(alertmanager, "Control")
    lapses_at = am_time(held["endsAt"])
    assert dt.timedelta(minutes=4) < lapses_at - start <= dt.timedelta(minutes=5, seconds=5)

    # Three cycles 5 minutes apart (the clock the dispatcher dates endsAt by is moved).
    cycles = [start + dt.timedelta(minutes=5 * n) for n in range(3)]
    for number, now in enumerate(cycles, start=1):
        summary = workspace.run(now=now)
        if number > 1:
            assert summary.new_messages == 0
        assert summary.refreshed == len(open_alerts)
        active = active_alerts(alertmanager)
        assert sorted(a["labels"]["alert"] for a in active) == sorted(
            f"{a['started_at']:%Y-%m-%dT%H:%M:%SZ}" for a in open_alerts
        )
        for alert in active:
            assert am_time(alert["endsAt"]) == now + dt.timedelta(minutes=20), number
            assert alert["status"]["state"] == "active"
    # At the end (a cycle after the third) the page is still firing: its endsAt is
    # 20 minutes past the third cycle, long after the control alert lapsed.
    end = cycles[-1] + dt.timedelta(minutes=5)
    assert lapses_at < end
    assert all(am_time(a["endsAt"]) > end for a in active_alerts(alertmanager))
    escalations = sum(a["escalated_at"] is not None for a in grouped)
    step_downs = sum(a["stepped_down_at"] is not None for a in grouped)
    assert workspace.table("notifications").height == len(grouped) + escalations + step_downs + len(
        [a for a in grouped if a["resolved_at"] is not None]
    )

    # The outage ends: the alerts resolve, the resolve sends endsAt = the resolve time.
    import polars as pl

    resolved_at = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(0, 5))
    table = lake.read_table(workspace.warehouse, "fct_alerts")
    rewrite(
        workspace,
        "fct_alerts",
        table.with_columns(pl.col("resolved_at").fill_null(resolved_at)),
    )
    summary = workspace.run(now=end)
    assert (summary.new_messages, summary.delivered, summary.refreshed) == (
        len(open_alerts),
        len(open_alerts),
        0,
    )
    assert active_alerts(alertmanager) == []
    resolves = [
        row
        for row in workspace.table("notifications").to_dicts()
        if row["transition"] == "resolved" and row["transition_at"] == resolved_at
    ]
    assert len(resolves) == len(open_alerts)
    for row in resolves:
        (alert,) = json.loads(row["payload"])["alerts"]
        assert alert["endsAt"] == f"{resolved_at:%Y-%m-%dT%H:%M:%SZ}"
    refreshes = [r for r in workspace.audit() if r["kind"] == "refresh"]
    assert [r["alerts"] for r in refreshes] == [len(open_alerts)] * 3
    assert all(r["outcome"] == "ok" and r["channel"] == "am" for r in refreshes)


def test_a_no_data_alert_fires_in_alertmanager_until_data_resumed_resolves_it(
    workspace: Workspace, alertmanager: str
) -> None:
    workspace.configure(am_routes(alertmanager))
    day = dt.datetime.combine(DAY, dt.time())
    horizon = day + dt.timedelta(hours=23, minutes=55)
    stopped = day + dt.timedelta(hours=23, minutes=20)
    acme = {"tenant_id": "acme", "data_until": horizon, "horizon": horizon, "silent": False}
    write_horizons(
        workspace,
        [acme, {"tenant_id": "globex", "data_until": stopped, "horizon": horizon, "silent": True}],
    )
    start = utcnow().replace(microsecond=0)
    for number in range(2):
        now = start + dt.timedelta(minutes=5 * number)
        summary = workspace.run(now=now)
        assert summary.silences == (1 if number == 0 else 0)
        (alert,) = active_alerts(alertmanager, "BurnwatchNoData")
        assert alert["labels"] == {
            "alertname": "BurnwatchNoData",
            "tenant": "globex",
            "slo": "api-availability",
            "severity": "page",
            "since": "2026-11-20T23:20:00",
        }
        assert am_time(alert["startsAt"]) == stopped
        assert am_time(alert["endsAt"]) == now + dt.timedelta(minutes=20)
        assert "no logs since 2026-11-20T23:20:00Z" in alert["annotations"]["summary"]

    back = day + dt.timedelta(days=1, minutes=10)
    write_horizons(
        workspace,
        [
            {**acme, "data_until": back, "horizon": back},
            {"tenant_id": "globex", "data_until": back, "horizon": back, "silent": False},
        ],
    )
    summary = workspace.run(now=start + dt.timedelta(minutes=10))
    assert summary.silences == 1 and summary.new_messages == 1
    assert active_alerts(alertmanager, "BurnwatchNoData") == []
    kinds = [r["transition"] for r in workspace.table("notifications").to_dicts()]
    assert (kinds.count("no_data"), kinds.count("data_resumed")) == (1, 1)
