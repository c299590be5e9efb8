"""Each channel's message for a transition, rendered from jinja2 templates.

Episode transitions use `title.txt.j2` / `body.txt.j2`; no_data and
data_resumed use `silence_title.txt.j2` / `silence_body.txt.j2`, and in
Alertmanager are alerts of their own (`BurnwatchNoData`, one per silence).

A rendered message never holds a secret: the PagerDuty routing key, webhook
URLs and HMAC signatures are added by `channels` at send time, so the outbox,
the lake and the audit log can hold payloads verbatim. The payload is frozen
when it enters the outbox, so every retry sends the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from pipelines.notify.evidence import Evidence
from pipelines.notify.transitions import NEVER, AnyTransition, SilenceTransition, Transition
from schemas.routing import Channel

TEMPLATES = Path(__file__).resolve().parent / "templates"
ALERTNAME = "SLOBurnRate"
NO_DATA_ALERTNAME = "BurnwatchNoData"
PAGERDUTY_SEVERITY = {"page": "critical", "ticket": "warning"}


@dataclass(frozen=True)
class Message:
    key: str  # transition key + "|" + channel name: the outbox's primary key
    transition: AnyTransition
    channel: str
    channel_type: str
    dedup_key: str  # what the receiver may deduplicate on (PagerDuty dedup_key, ...)
    payload: dict[str, Any]


def message_id(key: str) -> str:
    """A short, stable id for a message key (Idempotency-Key header, Message-ID)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def episode_dedup_key(transition: Transition) -> str:
    """One key per alert, shared by its trigger, its escalation and its resolve (PagerDuty's
    dedup_key): an escalation updates the incident that the opening created."""
    started = transition.episode_started_at.isoformat(timespec="seconds")
    t = transition
    return f"burnwatch:{t.tenant_id}:{t.slo_name}:alert:{started}"


def thread_message_id(transition: Transition, channel_name: str) -> str:
    """The email Message-ID of the alert's opening on a channel, which its escalation and
    resolution answer (In-Reply-To, References): one alert, one thread."""
    opening = transition.key_of("opened") + "|" + channel_name
    return f"<{message_id(opening)}@burnwatch>"


def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _pct(percent: float | None) -> str:
    return "n/a" if percent is None else f"{percent:.1f}%"


def _as_percent(share: float | None) -> float | None:
    """A share (fct_alert_contributors' bad_share, 0..1) in percent, as _pct prints."""
    return None if share is None else share * 100


def _hours(value: float | None) -> str:
    # fct_error_budget leaves the hours null when the budget is not spent within the
    # period at the 1d burn (nothing burns, or too slowly to matter before it resets).
    if value is None:
        return "not within the period"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} days"


def _lag(minutes: int | None) -> str:
    if minutes is None:
        return "n/a"
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"


_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # plain text; Slack escaping is done by `_slack_escape`
    keep_trailing_newline=False,
)
_ENVIRONMENT.filters.update(num=_num, pct=_pct, hours=_hours, lag=_lag)


def _iso(value: dt.datetime | None) -> str | None:
    """RFC 3339 in UTC, as every receiver expects: 2026-10-02T10:05:00Z."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def contributor_lines(contributors: list[dict[str, Any]]) -> list[str]:
    """One line per top operation: its bad requests, share, and the replicas standing out
    (`GET /v1/items: 18 of 59 bad requests (31%); replicas standing out: r2 (...)`)."""
    lines = []
    for row in contributors:
        operation = row["operation"] if row["operation"] is not None else "(operation not logged)"
        line = (
            f"{operation}: {row['bad']} of {row['window_bad']} bad requests "
            f"({_pct(_as_percent(row['bad_share']))}) in the {row['long_window']} window"
        )
        if row["standout_replicas"]:
            line += f"; replicas standing out: {row['standout_replicas']}"
        lines.append(line)
    return lines


def _contributors_json(contributors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "rank": row["operation_rank"],
            "operation": row["operation"],
            "bad": row["bad"],
            "total": row["total"],
            "bad_share": row["bad_share"],
            "request_share": row["request_share"],
            "standout_replicas": row["standout_replicas"],
            "window": row["long_window"],
            "window_start": _iso(row["window_start"]),
            "window_end": _iso(row["window_end"]),
        }
        for row in contributors
    ]


def context(
    transition: Transition,
    evidence: Evidence,
    runbook_template: str,
    report_url: str | None = None,
) -> dict[str, Any]:
    """Everything a template may use, from the transition and the lake rows behind it;
    `report_url` is the report page at the SLO's anchor (pipelines.notify.report_links)."""
    row = evidence.at(transition.at) or {}
    budget = evidence.budget or {}
    names = {
        "tenant": transition.tenant_id,
        "slo": transition.slo_name,
        "rule": transition.rule_name,
    }
    return {
        "kind": transition.kind,
        "tenant": transition.tenant_id,
        "slo": transition.slo_name,
        "rule": transition.rule_name,
        "severity": transition.severity,
        "cohort": transition.cohort,
        "service": transition.service,
        "at": _iso(transition.at),
        "started_at": _iso(transition.episode_started_at),
        "resolved_at": _iso(transition.episode_resolved_at),
        "long_window": transition.long_window,
        "short_window": transition.short_window,
        "threshold": transition.burn_threshold,
        "long_burn": row.get("long_burn_rate"),
        "short_burn": row.get("short_burn_rate"),
        "long_total": row.get("long_total"),
        "long_bad": row.get("long_bad"),
        "short_total": row.get("short_total"),
        "short_bad": row.get("short_bad"),
        "budget_remaining_percent": budget.get("budget_remaining_percent"),
        "budget_consumed_percent": budget.get("budget_consumed_percent"),
        "hours_to_exhaustion": budget.get("time_to_exhaustion_hours"),
        "peak": transition.peak_long_burn_rate,
        "escalated_from": transition.escalated_from,
        "events": [e.describe(transition.at, transition.severity) for e in evidence.events],
        "contributors": contributor_lines(evidence.contributors or []),
        "contributors_json": _contributors_json(evidence.contributors or []),
        "runbook_url": runbook_template.format_map(names),
        "report_url": report_url,
    }


def _text(template: str, values: dict[str, Any]) -> str:
    return _ENVIRONMENT.get_template(template).render(values).strip()


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def alertmanager_payload(values: dict[str, Any], title: str, body: str) -> list[dict[str, Any]]:
    """One alert for `POST /api/v2/alerts`; its labels identify it, so a repeat is a no-op."""
    alert: dict[str, Any] = {
        # Labels name the alert, never what changes while it lasts: a severity or rule
        # label would make the escalation a second Alertmanager alert. Its start tells
        # alerts of one SLO apart, so a late resolve can never end a newer one.
        "labels": {
            "alertname": ALERTNAME,
            "tenant": values["tenant"],
            "slo": values["slo"],
            "alert": values["started_at"],
        },
        "annotations": {
            "summary": title,
            "severity": values["severity"],
            "rule": values["rule"],
            "description": body,
            "transition": values["kind"],
            "long_window_burn_rate": _num(values["long_burn"]),
            "short_window_burn_rate": _num(values["short_burn"]),
            "burn_threshold": _num(values["threshold"]),
            "budget_remaining": _pct(values["budget_remaining_percent"]),
            "time_to_exhaustion": _hours(values["hours_to_exhaustion"]),
            "runbook_url": values["runbook_url"],
            "change_events": "; ".join(values["events"]),
            "top_operations": " | ".join(values["contributors"]),
            **({"report_url": values["report_url"]} if values["report_url"] else {}),
        },
        "startsAt": values["started_at"],
    }
    if values["kind"] == "resolved":
        alert["endsAt"] = values["resolved_at"]
    return [alert]


# The fields of a PagerDuty event's custom_details, for an episode and for a silence.
_PAGERDUTY_EPISODE_DETAILS = (
    "kind",
    "rule",
    "cohort",
    "long_window",
    "short_window",
    "threshold",
    "long_burn",
    "short_burn",
    "budget_remaining_percent",
    "hours_to_exhaustion",
    "escalated_from",
    "events",
    "contributors",
)
_PAGERDUTY_SILENCE_DETAILS = ("kind", "cohort", "data_until", "horizon", "max_silence_minutes")


def _pagerduty_event(
    values: dict[str, Any], title: str, dedup_key: str, ends: str, details: tuple[str, ...]
) -> dict[str, Any]:
    """An Events API v2 event without its routing key (added at send time): `resolve` for
    the transition kind `ends`, else `trigger` with `details` as custom_details."""
    if values["kind"] == ends:
        return {"event_action": "resolve", "dedup_key": dedup_key}
    return {
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": title[:1024],
            "source": f"burnwatch/{values['tenant']}",
            "severity": PAGERDUTY_SEVERITY[values["severity"]],
            "timestamp": values["at"],
            "component": values["service"],
            "group": values["tenant"],
            "class": values["slo"],
            "custom_details": {key: values[key] for key in details},
        },
        "links": [
            {"href": values["runbook_url"], "text": "Runbook"},
            *(
                [{"href": values["report_url"], "text": "Report"}]
                if values.get("report_url")
                else []
            ),
        ],
        "client": "Burnwatch",
    }


def pagerduty_payload(values: dict[str, Any], title: str, dedup_key: str) -> dict[str, Any]:
    """An episode's event: trigger, or resolve once it resolved."""
    return _pagerduty_event(values, title, dedup_key, "resolved", _PAGERDUTY_EPISODE_DETAILS)


def slack_payload(values: dict[str, Any], title: str, body: str) -> dict[str, Any]:
    """An incoming-webhook message: `text` for notifications, blocks for the layout."""
    report = f"<{values['report_url']}|Report> · " if values.get("report_url") else ""
    return {
        "text": _slack_escape(title),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"```{_slack_escape(body)[:2990]}```"},
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"<{values['runbook_url']}|Runbook> · {report}"
                        f"{values['kind']} at {values['at']}",
                    }
                ],
            },
        ],
    }


def _webhook_head(
    values: dict[str, Any], title: str, key: str, dedup_key: str, rule: str | None
) -> dict[str, Any]:
    """The fields every `burnwatch.alert.v1` document starts with, alert or silence."""
    return {
        "schema": "burnwatch.alert.v1",
        "id": message_id(key),
        "idempotency_key": key,
        "episode_key": dedup_key,
        "transition": values["kind"],
        "at": values["at"],
        "summary": title,
        "tenant": values["tenant"],
        "cohort": values["cohort"],
        "slo": values["slo"],
        "service": values["service"],
        "rule": rule,
        "severity": values["severity"],
    }


def webhook_payload(values: dict[str, Any], title: str, key: str, dedup_key: str) -> dict[str, Any]:
    """The generic JSON document (schema `burnwatch.alert.v1`)."""
    return {
        **_webhook_head(values, title, key, dedup_key, values["rule"]),
        "escalated_from": values["escalated_from"],
        "episode": {"started_at": values["started_at"], "resolved_at": values["resolved_at"]},
        "policy": {
            "long_window": values["long_window"],
            "short_window": values["short_window"],
            "burn_threshold": values["threshold"],
        },
        "windows": {
            "long": {
                "window": values["long_window"],
                "total": values["long_total"],
                "bad": values["long_bad"],
                "burn_rate": values["long_burn"],
            },
            "short": {
                "window": values["short_window"],
                "total": values["short_total"],
                "bad": values["short_bad"],
                "burn_rate": values["short_burn"],
            },
        },
        "budget": {
            "remaining_percent": values["budget_remaining_percent"],
            "consumed_percent": values["budget_consumed_percent"],
            "hours_to_exhaustion": values["hours_to_exhaustion"],
        },
        "change_events": values["events"],
        "top_operations": values["contributors_json"],
        "runbook_url": values["runbook_url"],
        "report_url": values["report_url"],
    }


def render(
    transition: Transition,
    evidence: Evidence,
    channel_name: str,
    channel: Channel,
    runbook_template: str,
    report_url: str | None = None,
) -> Message:
    """The message for one transition on one channel; `report_url` (the report at the SLO's
    anchor) goes into every channel's message when given."""
    values = context(transition, evidence, runbook_template, report_url)
    payloads = _Payloads(alertmanager_payload, pagerduty_payload, webhook_payload)
    return _message(
        transition, episode_dedup_key(transition), channel_name, channel, values, "", payloads
    )


@dataclass(frozen=True)
class _Payloads:
    """The payload builders that differ between episodes and silences."""

    alertmanager: Callable[[dict[str, Any], str, str], list[dict[str, Any]]]
    pagerduty: Callable[[dict[str, Any], str, str], dict[str, Any]]
    webhook: Callable[[dict[str, Any], str, str, str], dict[str, Any]]


def _message(
    transition: AnyTransition,
    dedup_key: str,
    channel_name: str,
    channel: Channel,
    values: dict[str, Any],
    template_prefix: str,
    payloads: _Payloads,
) -> Message:
    """Render the title and body (`<prefix>title.txt.j2`, `<prefix>body.txt.j2`) and the
    channel's payload: the one message of a transition on a channel."""
    title = _text(f"{template_prefix}title.txt.j2", values)
    body = _text(f"{template_prefix}body.txt.j2", values)
    key = f"{transition.key}|{channel_name}"
    payload: dict[str, Any]
    if channel.type == "alertmanager":
        payload = {"alerts": payloads.alertmanager(values, title, body)}
    elif channel.type == "pagerduty":
        payload = payloads.pagerduty(values, title, dedup_key)
    elif channel.type == "slack":
        payload = slack_payload(values, title, body)
    elif channel.type == "webhook" or channel.type == "command":
        # A command reads the same `burnwatch.alert.v1` document on its stdin.
        payload = payloads.webhook(values, title, key, dedup_key)
    else:
        payload = {
            "subject": title,
            "text": body,
            "from": channel.sender,
            "to": list(channel.to),
            "message_id": f"<{message_id(key)}@burnwatch>",
        }
        if isinstance(transition, Transition) and transition.kind != "opened":
            payload["in_reply_to"] = thread_message_id(transition, channel_name)
    return Message(key, transition, channel_name, channel.type, dedup_key, payload)


def silence_dedup_key(transition: SilenceTransition) -> str:
    """One key per silence, shared by its no_data and its data_resumed."""
    t = transition
    return f"burnwatch:{t.tenant_id}:{t.slo_name}:no_data:{t.since}"


def silence_context(transition: SilenceTransition, runbook_template: str) -> dict[str, Any]:
    """Everything the silence templates may use."""
    t = transition
    lag = None
    if t.data_until is not None and t.horizon is not None:
        lag = int((t.horizon - t.data_until).total_seconds() // 60)
    names = {"tenant": t.tenant_id, "slo": t.slo_name, "rule": "no_data"}
    return {
        "kind": t.kind,
        "tenant": t.tenant_id,
        "slo": t.slo_name,
        "rule": None,
        "severity": t.severity,
        "cohort": t.cohort,
        "service": t.service,
        "at": _iso(t.at),
        "since": t.since,
        "never": t.since == NEVER,
        "started_at": _iso(t.started_at),
        "data_until": _iso(t.data_until),
        "horizon": _iso(t.horizon),
        "lag_minutes": lag,
        "max_silence_minutes": t.max_silence_minutes,
        "runbook_url": runbook_template.format_map(names),
    }


def silence_alertmanager_payload(
    values: dict[str, Any], title: str, body: str
) -> list[dict[str, Any]]:
    """The no_data alert: its own alertname, one alert per silence (label `since`);
    it fires from the silence's start until data_resumed sends endsAt."""
    alert: dict[str, Any] = {
        "labels": {
            "alertname": NO_DATA_ALERTNAME,
            "tenant": values["tenant"],
            "slo": values["slo"],
            "severity": values["severity"],
            "since": values["since"],
        },
        "annotations": {
            "summary": title,
            "description": body,
            "transition": values["kind"],
            "data_until": values["data_until"] or "none",
            "horizon": values["horizon"] or "none",
            "max_silence_minutes": str(values["max_silence_minutes"]),
            "runbook_url": values["runbook_url"],
        },
        "startsAt": values["started_at"],
    }
    if values["kind"] == "data_resumed":
        alert["endsAt"] = values["at"]
    return [alert]


def silence_pagerduty_payload(values: dict[str, Any], title: str, dedup_key: str) -> dict[str, Any]:
    """A silence's event: trigger on no_data, resolve on data_resumed."""
    return _pagerduty_event(values, title, dedup_key, "data_resumed", _PAGERDUTY_SILENCE_DETAILS)


def silence_webhook_payload(
    values: dict[str, Any], title: str, key: str, dedup_key: str
) -> dict[str, Any]:
    """`burnwatch.alert.v1` for a silence: `rule` is null and `silence` replaces the windows."""
    return {
        **_webhook_head(values, title, key, dedup_key, None),
        "silence": {
            "since": values["since"],
            "started_at": values["started_at"],
            "data_until": values["data_until"],
            "horizon": values["horizon"],
            "max_silence_minutes": values["max_silence_minutes"],
        },
        "runbook_url": values["runbook_url"],
    }


def render_silence(
    transition: SilenceTransition, channel_name: str, channel: Channel, runbook_template: str
) -> Message:
    """The message for one no_data / data_resumed transition on one channel."""
    values = silence_context(transition, runbook_template)
    payloads = _Payloads(
        silence_alertmanager_payload, silence_pagerduty_payload, silence_webhook_payload
    )
    return _message(
        transition,
        silence_dedup_key(transition),
        channel_name,
        channel,
        values,
        "silence_",
        payloads,
    )


def refreshed(alert: dict[str, Any], ends_at: dt.datetime) -> dict[str, Any]:
    """A firing alert as re-sent each cycle: the same labels, `endsAt` moved to `ends_at`."""
    return {**alert, "endsAt": _iso(ends_at)}
