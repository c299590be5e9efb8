"""Routes and channels in the manifest; transitions and their escalation rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from pipelines.notify.transitions import compute_transitions
from schemas.errors import BurnwatchInputError
from schemas.manifest import load_manifest
from schemas.routing import NotificationConfig
from tests.notify_fixtures import BASE_MANIFEST


def manifest_with(tmp_path: Path, block: str) -> Path:
    path = tmp_path / "slos.yaml"
    path.write_text(BASE_MANIFEST + block)
    return path


def test_a_manifest_without_notifications_routes_nothing(tmp_path: Path) -> None:
    config = load_manifest(manifest_with(tmp_path, "")).notifications
    assert config.routes == [] and config.channels_for("enterprise", "acme", "page", "opened") == []


@pytest.mark.parametrize(
    ("channel", "complaint"),
    [
        (
            "{type: slack, url: 'https://hooks.slack.com/services/T/B/X'}",
            "url: secrets are not written in the manifest; put the value in an environment "
            "variable and name it with url_env",
        ),
        (
            "{type: pagerduty, routing_key: abc, routing_key_env: PD}",
            "routing_key: secrets are not written in the manifest",
        ),
        (
            "{type: webhook, url_env: HOOK_URL, hmac_key: s3cret, hmac_key_env: K}",
            "hmac_key: secrets are not written",
        ),
        (
            "{type: email, host: h, sender: a@b, to: [c@d], password: hunter2}",
            "password: secrets are not written",
        ),
        ("{type: alertmanager, url: 'http://am:9093', token: x}", "unknown key 'token'"),
        ("{type: slack, url_env: 'https://hooks.slack.com/x'}", "not an environment variable"),
    ],
)
def test_secrets_cannot_be_written_in_the_manifest(
    tmp_path: Path, channel: str, complaint: str
) -> None:
    block = f"notifications:\n  channels:\n    c: {channel}\n"
    with pytest.raises(BurnwatchInputError) as error:
        load_manifest(manifest_with(tmp_path, block))
    assert complaint in str(error.value)
    assert "slos.yaml:" in str(error.value)
    for secret in ("hooks.slack.com/services", "s3cret", "hunter2"):
        assert secret not in str(error.value)


def test_a_route_to_an_unknown_channel_is_named(tmp_path: Path) -> None:
    block = "notifications:\n  channels: {}\n  routes:\n    - channel: pagers\n"
    with pytest.raises(BurnwatchInputError, match="unknown channel 'pagers'"):
        load_manifest(manifest_with(tmp_path, block))


def test_routes_match_by_cohort_tenant_severity_and_transition_once_per_channel() -> None:
    config = NotificationConfig.model_validate(
        {
            "channels": {
                "pd": {"type": "pagerduty", "routing_key_env": "PD"},
                "chat": {"type": "slack", "url_env": "SLACK"},
            },
            "routes": [
                {"channel": "pd", "match": {"severities": ["page"], "cohorts": ["enterprise"]}},
                {"channel": "chat", "match": {"tenants": ["acme"]}},
                {"channel": "chat", "match": {"transitions": ["escalated"]}},
            ],
        }
    )
    assert config.channels_for("enterprise", "acme", "page", "opened") == ["pd", "chat"]
    assert config.channels_for("standard", "acme", "page", "opened") == ["chat"]
    assert config.channels_for("enterprise", "globex", "ticket", "opened") == []
    assert config.channels_for("standard", "globex", "page", "escalated") == ["chat"]


def _alert(start: int, opened: str, escalated: str | None, end: int | None) -> dict[str, object]:
    """A fct_alerts row: opened by rule `opened`, escalated at start + 50 by `escalated`."""
    base = dt.datetime(2026, 1, 1)
    severity = opened.split("-")[0]
    return {
        "tenant_id": "acme",
        "slo_name": "avail",
        "started_at": base + dt.timedelta(minutes=start),
        "opened_severity": severity,
        "severity": "page" if escalated else severity,
        "peak_severity": "page" if escalated else severity,
        "opened_rule": opened,
        "opened_long_window": "1d",
        "opened_short_window": "2h",
        "opened_burn_threshold": 3.0,
        "escalated_rule": escalated,
        "escalated_long_window": "1h" if escalated else None,
        "escalated_short_window": "5m" if escalated else None,
        "escalated_burn_threshold": 14.4 if escalated else None,
        "rules": ",".join(sorted(r for r in (opened, escalated) if r)),
        "escalations": 1 if escalated else 0,
        "firing_steps": 3,
        "peak_long_burn_rate": 20.0,
        "escalated_at": base + dt.timedelta(minutes=start + 50) if escalated else None,
        "stepped_down_at": None,
        "last_fired_at": base + dt.timedelta(minutes=start + 50),
        "resolved_at": None if end is None else base + dt.timedelta(minutes=end),
    }


def test_an_alert_that_escalates_and_resolves_is_three_transitions_of_one_alert() -> None:
    alerts = pl.DataFrame(
        [
            _alert(0, "ticket-1d", "page-1h", 120),  # ticket, then a page, then quiet
            _alert(200, "page-6h", None, None),  # opened as a page, still open
        ]
    )
    specs = pl.DataFrame(
        [{"tenant_id": "acme", "slo_name": "avail", "cohort": "c", "service": "api"}]
    )
    transitions = compute_transitions(alerts, specs)
    kinds = [(t.rule_name, t.severity, t.kind, t.at.minute + 60 * t.at.hour) for t in transitions]
    assert kinds == [
        ("ticket-1d", "ticket", "opened", 0),
        ("page-1h", "page", "escalated", 50),
        ("page-1h", "page", "resolved", 120),
        ("page-6h", "page", "opened", 200),
    ]
    first = transitions[:3]
    # One alert: its keys name its start and opening rule, whichever rule a transition is about.
    assert [t.key for t in first] == [
        f"acme|avail|ticket-1d|2026-01-01T00:00:00|{kind}"
        for kind in ("opened", "escalated", "resolved")
    ]
    assert first[1].escalated_from == "ticket-1d"
    # Its end goes to the routes of both severities it had.
    assert first[2].severities == ("page", "ticket")
    assert transitions[3].severities == ("page",)


def test_change_events_with_an_unknown_kind_name_file_and_line(tmp_path: Path) -> None:
    from pipelines.notify.events import read_change_events

    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "x.csv").write_text(
        "ts,tenant_id,service,kind,description\n2026-01-01T00:00:00Z,acme,api,reboot,box\n"
    )
    with pytest.raises(BurnwatchInputError, match=r"x\.csv:2: kind 'reboot'"):
        read_change_events(tmp_path)


def test_no_data_and_data_resumed_are_routed_like_other_transitions(tmp_path: Path) -> None:
    block = """
notifications:
  no_data_severity: ticket
  cycle_minutes: 10
  channels:
    am: {type: alertmanager, url: "http://am:9093"}
    mail: {type: email, host: h, sender: a@b, to: [c@d]}
    hook: {type: webhook, url_env: HOOK_URL, hmac_key_env: HOOK_KEY}
  routes:
    - channel: am
    - channel: mail
      match: {severities: [ticket]}
    - channel: hook
      match: {transitions: [no_data, data_resumed]}
"""
    config = load_manifest(manifest_with(tmp_path, block)).notifications
    assert (config.no_data_severity, config.cycle_minutes) == ("ticket", 10)
    for kind in ("no_data", "data_resumed"):
        assert config.channels_for("standard", "globex", "ticket", kind) == ["am", "mail", "hook"]
    assert config.channels_for("standard", "globex", "page", "opened") == ["am"]


def test_the_defaults_page_on_no_data_and_assume_five_minute_cycles(tmp_path: Path) -> None:
    config = load_manifest(manifest_with(tmp_path, "")).notifications
    assert (config.no_data_severity, config.cycle_minutes) == ("page", 5)


@pytest.mark.parametrize("setting", ["cycle_minutes: 0", "no_data_severity: warn"])
def test_bad_cycle_or_no_data_settings_are_errors(tmp_path: Path, setting: str) -> None:
    with pytest.raises(BurnwatchInputError) as error:
        load_manifest(manifest_with(tmp_path, f"notifications:\n  {setting}\n"))
    assert "slos.yaml:" in str(error.value) and setting.split(":")[0] in str(error.value)
