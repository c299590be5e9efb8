"""Each channel's request matches the receiving service's documented schema.

The schemas are written here as pydantic models (extra keys forbidden), from:
PagerDuty Events API v2 (developer.pagerduty.com, "Send an Alert Event"),
Slack incoming webhooks with Block Kit (header, section, context blocks),
the generic webhook's own `burnwatch.alert.v1`, and RFC 5322 for email.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from tests.notify_fixtures import (
    HttpReceiver,
    SmtpSink,
    Workspace,
    alerts,
    http_receiver,
    make_workspace,
    smtp_server,
)

ROUTING_KEY = "R0UT1NGKEY0123456789abcdef012345"  # 32 characters, like a real one
HMAC_KEY = "webhook-signing-key"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PdPayload(_Doc):
    summary: str = Field(min_length=1, max_length=1024)
    source: str = Field(min_length=1)
    severity: Literal["critical", "error", "warning", "info"]
    timestamp: dt.datetime | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = Field(default=None, alias="class")
    custom_details: dict[str, Any] | None = None


class PdLink(_Doc):
    href: str
    text: str | None = None


class PdTrigger(_Doc):
    routing_key: str = Field(min_length=32, max_length=32)
    event_action: Literal["trigger"]
    dedup_key: str = Field(max_length=255)
    payload: PdPayload
    links: list[PdLink] = Field(default_factory=list)
    images: list[dict[str, str]] = Field(default_factory=list)
    client: str | None = None
    client_url: str | None = None


class PdResolve(_Doc):
    routing_key: str = Field(min_length=32, max_length=32)
    event_action: Literal["resolve", "acknowledge"]
    dedup_key: str = Field(max_length=255)


class SlackText(_Doc):
    type: Literal["plain_text", "mrkdwn"]
    text: str = Field(min_length=1, max_length=3000)
    emoji: bool | None = None


class SlackHeader(_Doc):
    type: Literal["header"]
    text: SlackText = Field()


class SlackSection(_Doc):
    type: Literal["section"]
    text: SlackText


class SlackContext(_Doc):
    type: Literal["context"]
    elements: list[SlackText] = Field(min_length=1, max_length=10)


class SlackMessage(_Doc):
    text: str = Field(min_length=1)
    blocks: list[SlackHeader | SlackSection | SlackContext] = Field(max_length=50)


class Window(_Doc):
    window: str
    total: int | None
    bad: int | None
    burn_rate: float | None


class TopOperation(_Doc):
    """One of fct_alert_contributors' operations (README: What burned the budget)."""

    rank: int = Field(ge=1, le=3)
    operation: str | None
    bad: int = Field(ge=1)
    total: int = Field(ge=1)
    bad_share: float = Field(gt=0, le=1)
    request_share: float = Field(gt=0, le=1)
    standout_replicas: str | None
    window: str
    window_start: dt.datetime
    window_end: dt.datetime


class WebhookAlert(_Doc):
    schema_: Literal["burnwatch.alert.v1"] = Field(alias="schema")
    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    idempotency_key: str
    episode_key: str
    transition: Literal["opened", "escalated", "stepped_down", "resolved"]
    at: dt.datetime
    summary: str
    tenant: str
    cohort: str
    slo: str
    service: str
    rule: str
    severity: Literal["page", "ticket"]
    escalated_from: str | None
    episode: dict[str, dt.datetime | None]
    policy: dict[str, str | float]
    windows: dict[Literal["long", "short"], Window]
    budget: dict[
        Literal["remaining_percent", "consumed_percent", "hours_to_exhaustion"], float | None
    ]
    change_events: list[str]
    top_operations: list[TopOperation] = Field(max_length=3)
    runbook_url: str
    report_url: str


@dataclass
class Delivered:
    workspace: Workspace
    pagerduty: HttpReceiver
    slack: HttpReceiver
    webhook: HttpReceiver
    smtp: SmtpSink


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delivered]:
    """One run that sends every transition to every kind of channel."""
    receivers = [http_receiver() for _ in range(3)]
    pagerduty, slack, webhook = (next(r) for r in receivers)
    smtp = smtp_server()
    sink, smtp_port = next(smtp)
    workspace = make_workspace(tmp_path_factory, tmp_path_factory.mktemp("payloads"))
    workspace.configure(
        f"""
notifications:
  runbook_url: "https://runbooks.example.com/{{tenant}}/{{slo}}#{{rule}}"
  retry: {{attempts: 2, initial_seconds: 0.01, timeout_seconds: 5}}
  channels:
    pd: {{type: pagerduty, routing_key_env: PD_KEY, url: "{pagerduty.url}/v2/enqueue"}}
    slack: {{type: slack, url_env: SLACK_URL}}
    hook: {{type: webhook, url_env: HOOK_URL, hmac_key_env: HOOK_KEY}}
    mail: {{type: email, host: 127.0.0.1, port: {smtp_port}, sender: burnwatch@example.com,
           to: [sre@example.com]}}
  routes:
    - {{channel: pd, match: {{severities: [page]}}}}
    - {{channel: slack}}
    - {{channel: hook}}
    - {{channel: mail, match: {{transitions: [opened, escalated]}}}}
"""
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PD_KEY", ROUTING_KEY)
        patch.setenv("SLACK_URL", f"{slack.url}/services/T000/B000/XXXX")
        patch.setenv("HOOK_URL", f"{webhook.url}/burnwatch")
        patch.setenv("HOOK_KEY", HMAC_KEY)
        workspace.run()
    try:
        yield Delivered(workspace, pagerduty, slack, webhook, sink)
    finally:
        for receiver in receivers:
            receiver.close()
        smtp.close()


def test_pagerduty_events_follow_events_api_v2(delivered: Delivered) -> None:
    events = delivered.pagerduty.bodies()
    # The route takes pages: an alert's opening as a page, or its escalation to one.
    pages = [a for a in alerts(delivered.workspace) if a["peak_severity"] == "page"]
    triggers = [PdTrigger.model_validate(e) for e in events if e["event_action"] == "trigger"]
    resolves = [PdResolve.model_validate(e) for e in events if e["event_action"] == "resolve"]
    assert pages and any(a["escalated_at"] for a in pages)
    assert any(a["stepped_down_at"] for a in pages)
    stepped = sum(a["stepped_down_at"] is not None for a in pages)
    # A page each, and a step down (page -> ticket) updates the same incident.
    assert len(triggers) == len(pages) + stepped
    assert len(resolves) == sum(a["resolved_at"] is not None for a in pages)
    # One incident per alert: its escalation, step down and resolve carry one dedup_key.
    assert {r.dedup_key for r in resolves} <= {t.dedup_key for t in triggers}
    assert len({t.dedup_key for t in triggers}) == len(pages)
    severities = sorted(t.payload.severity for t in triggers)
    assert severities == ["critical"] * len(pages) + ["warning"] * stepped
    assert all(r.path == "/v2/enqueue" for r in delivered.pagerduty.requests)


def test_slack_messages_are_valid_incoming_webhook_block_kit(delivered: Delivered) -> None:
    messages = [SlackMessage.model_validate(body) for body in delivered.slack.bodies()]
    assert (
        len(messages)
        == delivered.workspace.table("notifications")
        .filter(delivered.workspace.table("notifications")["channel"] == "slack")
        .height
    )
    assert all(len(m.blocks[0].text.text) <= 150 for m in messages)  # type: ignore[union-attr]
    assert {r.path for r in delivered.slack.requests} == {"/services/T000/B000/XXXX"}


def test_webhook_bodies_are_signed_with_hmac_sha256_and_follow_the_schema(
    delivered: Delivered,
) -> None:
    for request in delivered.webhook.requests:
        timestamp = request.headers["X-Burnwatch-Timestamp"]
        expected = hmac.new(
            HMAC_KEY.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
        ).hexdigest()
        assert hmac.compare_digest(request.headers["X-Burnwatch-Signature"], f"sha256={expected}")
        alert = WebhookAlert.model_validate_json(request.body)
        assert request.headers["Idempotency-Key"] == alert.id
        assert (
            alert.runbook_url == f"https://runbooks.example.com/acme/api-availability#{alert.rule}"
        )
        # No report_url in the manifest or environment: the warehouse's own report, at
        # the SLO's anchor (the page's `#burn=<tenant>/<slo>`).
        assert alert.report_url == report_link(delivered.workspace, alert.tenant, alert.slo)


def report_link(workspace: Workspace, tenant: str, slo: str) -> str:
    page = (workspace.warehouse / "reports" / "report.html").resolve().as_uri()
    return f"{page}#burn={tenant}/{slo}"


def test_every_message_links_to_the_report_at_its_slo(delivered: Delivered) -> None:
    link = report_link(delivered.workspace, "acme", "api-availability")
    triggers = [e for e in delivered.pagerduty.bodies() if e["event_action"] == "trigger"]
    assert triggers
    for event in triggers:
        assert {"href": link, "text": "Report"} in event["links"]
    for body in delivered.slack.bodies():
        assert f"<{link}|Report>" in json.dumps(body, ensure_ascii=False)
    for envelope in delivered.smtp.messages:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert f"Report: {link}" in message.get_content()


def test_webhook_carries_change_events_as_context(delivered: Delivered) -> None:
    by_rule = {(b["rule"], b["transition"], b["at"]): b for b in delivered.webhook.bodies()}
    # The slow burn's ticket escalates when the outage starts paging at 08:10.
    [morning] = [
        a
        for a in alerts(delivered.workspace)
        if a["escalated_at"] == dt.datetime(2026, 11, 20, 8, 10)
    ]
    morning_page = by_rule[("page-1h", "escalated", "2026-11-20T08:10:00Z")]
    assert morning_page["escalated_from"] == morning["opened_rule"]
    # The api deploy 12 minutes before; the db failover is another service's.
    assert morning_page["change_events"] == ["deploy api v2.3 at 07:58, 12 min before the page"]
    # The evening outage opens its own alert, a ticket first (the 1h window fills later).
    evening_ticket = by_rule[("ticket-1d", "opened", "2026-11-20T22:05:00Z")]
    assert evening_ticket["change_events"] == [
        "config api rate limits lowered at 21:50, 15 min before the ticket"
    ]


def test_email_is_a_well_formed_message_with_a_stable_message_id(delivered: Delivered) -> None:
    grouped = alerts(delivered.workspace)
    # The route takes openings and escalations: one thread per alert.
    openings = grouped + [a for a in grouped if a["escalated_at"] is not None]
    assert len(delivered.smtp.messages) == len(openings)
    ids = set()
    threads: dict[str, list[str]] = {}
    for envelope in delivered.smtp.messages:
        assert envelope.mail_from == "burnwatch@example.com"
        assert envelope.rcpt_tos == ["sre@example.com"]
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert message["Subject"].startswith(("[PAGE]", "[TICKET]"))
        assert message["Message-ID"].endswith("@burnwatch>")
        assert message["Date"]
        body = message.get_content()
        assert (
            "Burn rate 5m" in body
            or "Burn rate 6h" in body
            or "Burn rate 2h" in body
            or "Burn rate 30m" in body
        )
        assert "Error budget remaining" in body and "Runbook: https://" in body
        ids.add(message["Message-ID"])
        thread = message["In-Reply-To"] or message["Message-ID"]
        threads.setdefault(str(thread), []).append(str(message["Message-ID"]))
    assert len(ids) == len(openings)
    # An escalation answers its alert's opening: as many threads as alerts.
    assert len(threads) == len(grouped)
    assert all(thread in ids for thread in threads)
