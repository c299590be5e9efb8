"""Firing alerts are re-sent to Alertmanager every cycle, outside the exactly-once outbox.

A local HTTP receiver stands in for Alertmanager here (the real one is in
test_notify_alertmanager.py); it sees every request, so it shows what is sent.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notify_fixtures import (
    HttpReceiver,
    Workspace,
    alerts,
    http_receiver,
    make_workspace,
    write_horizons,
)

NOW = dt.datetime(2026, 11, 21, 0, 3)


@pytest.fixture
def am(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpReceiver]:
    for receiver in http_receiver():
        monkeypatch.setenv("AM_URL", receiver.url + "/am")
        monkeypatch.setenv("HOOK_URL", receiver.url + "/hook")
        monkeypatch.setenv("HOOK_KEY", "k" * 32)
        yield receiver


def configure(
    factory: pytest.TempPathFactory, tmp_path: Path, extra: str = "", hook: bool = False
) -> Workspace:
    workspace = make_workspace(factory, tmp_path)
    workspace.configure(
        "\nnotifications:\n"
        f"{extra}"
        "  retry: {attempts: 2, initial_seconds: 0}\n"
        "  channels:\n"
        "    am: {type: alertmanager, url_env: AM_URL}\n"
        + ("    hook: {type: webhook, url_env: HOOK_URL, hmac_key_env: HOOK_KEY}\n" if hook else "")
        + "  routes:\n    - channel: am\n"
        + ("    - channel: hook\n" if hook else "")
    )
    return workspace


def test_each_run_re_sends_the_open_alerts_once_to_alertmanager_with_their_labels(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, am: HttpReceiver
) -> None:
    workspace = configure(tmp_path_factory, tmp_path, "  cycle_minutes: 2\n", hook=True)
    open_alerts = [a for a in alerts(workspace) if a["resolved_at"] is None]
    first = workspace.run(now=NOW)
    before = len(am.requests)
    second = workspace.run(now=NOW + dt.timedelta(minutes=2))
    assert (second.new_messages, second.delivered, second.refreshed) == (
        0,
        0,
        len(open_alerts),
    )
    assert first.refreshed == len(open_alerts)
    (refresh,) = am.requests[before:]  # one POST, to Alertmanager only
    assert refresh.path == "/am/api/v2/alerts"
    sent = refresh.json()
    # The newest of an alert's opening and escalation (same labels) is what is re-sent.
    latest = {
        json.dumps(opening["labels"], sort_keys=True): opening
        for row in workspace.table("notifications").sort("transition_at", "key").to_dicts()
        if row["channel"] == "am" and row["transition"] in ("opened", "escalated")
        for opening in json.loads(row["payload"])["alerts"]
    }
    assert sorted(a["labels"]["alert"] for a in sent) == sorted(
        f"{a['started_at']:%Y-%m-%dT%H:%M:%SZ}" for a in open_alerts
    )
    for alert in sent:
        opening = latest[json.dumps(alert["labels"], sort_keys=True)]
        assert {**opening, "endsAt": alert["endsAt"]} == alert
        assert alert["endsAt"] == "2026-11-21T00:13:00Z"  # now + 4 cycles of 2 minutes


def test_a_dry_run_re_sends_nothing(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, am: HttpReceiver
) -> None:
    workspace = configure(tmp_path_factory, tmp_path)
    summary = workspace.run(dry_run=True, now=NOW)
    assert summary.refreshed == 0 and am.requests == []
    assert not [r for r in workspace.audit() if r["kind"] == "refresh"]


def test_a_failed_re_send_is_audited_and_leaves_the_outbox_alone(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, am: HttpReceiver
) -> None:
    workspace = configure(tmp_path_factory, tmp_path)
    messages = workspace.run(dry_run=True, now=NOW).new_messages
    am.statuses = [200] * messages + [400]
    summary = workspace.run(now=NOW)
    assert (summary.delivered, summary.refreshed) == (messages, 0)
    assert workspace.table("notifications")["status"].unique().to_list() == ["sent"]
    (refresh,) = [r for r in workspace.audit() if r["kind"] == "refresh"]
    assert (refresh["outcome"], refresh["status_code"], refresh["attempts"]) == ("error", 400, 1)
    assert refresh["error"] == "HTTP 400 Bad Request"


def test_an_opening_too_old_to_send_is_never_re_sent(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, am: HttpReceiver
) -> None:
    workspace = configure(tmp_path_factory, tmp_path, "  max_age_hours: 1\n")
    summary = workspace.run(now=NOW + dt.timedelta(days=2))
    assert summary.refreshed == 0 and am.requests == []
    assert workspace.table("notifications")["status"].unique().to_list() == ["suppressed"]


def test_a_no_data_alert_is_re_sent_while_its_tenant_is_silent_and_not_after_it_leaves(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, am: HttpReceiver
) -> None:
    workspace = configure(tmp_path_factory, tmp_path)
    horizon = dt.datetime(2026, 11, 20, 23, 55)
    acme = {"tenant_id": "acme", "data_until": horizon, "horizon": horizon, "silent": False}
    stopped = {"tenant_id": "globex", "data_until": horizon, "horizon": horizon, "silent": True}
    write_horizons(workspace, [acme, {**stopped, "data_until": dt.datetime(2026, 11, 20, 23)}])
    workspace.run(now=NOW)

    def no_data_refreshed() -> list[str]:
        body = am.requests[-1].json()
        return [a["labels"]["tenant"] for a in body if a["labels"]["alertname"] != "SLOBurnRate"]

    assert no_data_refreshed() == ["globex"]
    # globex is gone from the manifest (and so from the horizons) while still silent.
    workspace.manifest.write_text(
        workspace.manifest.read_text().replace(
            "  - id: globex\n    cohort: standard\n    slos:\n"
            "      - {name: api-availability, service: api, sli: availability}\n",
            "",
        )
    )
    from pipelines.models import build
    from pipelines.resources import BurnwatchResource

    build.build_slo_specs(
        BurnwatchResource(
            data_dir=str(workspace.data),
            manifest=str(workspace.manifest),
            warehouse=str(workspace.warehouse),
        )
    )
    write_horizons(workspace, [acme])
    summary = workspace.run(now=NOW + dt.timedelta(minutes=5))
    assert summary.silences == 0 and no_data_refreshed() == []
