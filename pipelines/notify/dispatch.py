"""Plan, enqueue, deliver, audit, export: the body of the `notifications` asset.

1. Transitions are recomputed from the whole `fct_alerts` table (one alert per
   tenant SLO incident, its rules grouped; `fct_alert_episodes` stays per rule).
2. Each transition x matching channel becomes a message whose idempotency key
   is the outbox's primary key; a key already there is left alone, so
   re-materializing, backfilling or retrying never makes a second message.
3. Unless this is a dry run, every due message (`pending`, `failed`, or
   `sending` left by a crash) is delivered with exponential backoff (tenacity);
   each attempt is committed as `sending` before the request and as its
   outcome after it.
4. Silence: each SLO of a tenant that `int_tenant_horizons` says is silent gets
   one `no_data` message per route, and `data_resumed` once it no longer is;
   the outbox's `silences` table says which silences are open.
5. Unless this is a dry run, every alert still firing (an alert without
   `resolved_at`, an open silence) whose opening message an Alertmanager
   channel was sent is re-sent there with `endsAt` = now + 4 cycles, one POST
   per channel, as Prometheus re-sends firing alerts every evaluation; these
   re-sends are not outbox messages, each is an audit record of kind `refresh`.
6. The audit log gets the decisions and attempts it lacks; the outbox, the
   attempts, the audit log and the change events are exported to the lake.

Exactly once, and its limit: a message marked `sent` is never sent again. If
the process dies after a request reached the receiver but before `sent` was
committed, the message is `sending` on the next run and is sent again. That
window (one in-flight request) is closed by the receivers' own deduplication:
Alertmanager keys alerts by their labels, PagerDuty by `dedup_key`, the
webhook carries `Idempotency-Key`, email a stable `Message-ID`; a Slack
webhook has no deduplication, so Slack can see a repeat in that window.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import tenacity

from pipelines.notify import audit, corrections, events
from pipelines.notify.adjustment_audit import adjustment_records
from pipelines.notify.channels import CommandOutput, DeliveryError, deliver, secret_env_names
from pipelines.notify.evidence import load_evidence
from pipelines.notify.outbox import Outbox, OutboxRow, open_outbox, utcnow
from pipelines.notify.render import message_id, refreshed, render, render_silence
from pipelines.notify.report_links import report_links, report_page_url
from pipelines.notify.transitions import (
    AnyTransition,
    SilenceTransition,
    Transition,
    compute_silences,
    compute_transitions,
)
from pipelines.warehouse import lake
from pipelines.warehouse.atomic import atomic_path
from schemas.manifest import load_manifest
from schemas.routing import AlertmanagerChannel, Channel, NotificationConfig, RetryPolicy

NOTIFICATIONS_TABLE = "notifications"
ATTEMPTS_TABLE = "delivery_attempts"
REDACTED = "[REDACTED]"
# An alert re-sent to Alertmanager stays firing for this many cycles: three
# cycles may fail or be late before an open page lapses.
REFRESH_CYCLES = 4
# How much of each of a command channel's streams the attempt record keeps.
OUTPUT_LIMIT_CHARS = 4000


@dataclass
class NotifySummary:
    transitions: int = 0
    new_messages: int = 0
    delivered: int = 0
    failed: int = 0
    silences: int = 0  # no_data and data_resumed transitions decided by this run
    refreshed: int = 0  # firing alerts re-sent to Alertmanager (not outbox messages)
    dry_run: bool = False
    status_counts: dict[str, int] = field(default_factory=dict)


class Redactor:
    """Replaces the value of every secret the manifest names with [REDACTED]."""

    def __init__(self, config: NotificationConfig) -> None:
        names = {name for channel in config.channels.values() for name in secret_env_names(channel)}
        values = (os.environ.get(name, "") for name in names)
        self.secrets = sorted((v for v in values if len(v) >= 4), key=len, reverse=True)

    def __call__(self, text: str | None) -> str | None:
        if text is None:
            return None
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class _RedactingFilter(logging.Filter):
    """Redacts secrets from other libraries' log records (httpx logs every request's URL)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


@contextlib.contextmanager
def _redacted_library_logs(redact: Redactor) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore", "tenacity")]
    redacting = _RedactingFilter(redact)
    for logger in loggers:
        logger.addFilter(redacting)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(redacting)


def recorded_output(redact: Redactor, output: CommandOutput | None) -> str | None:
    """A command's output as its attempt record keeps it, each non-empty stream under its
    name: secrets redacted first (so a cut never leaves part of a secret), then each
    stream cut to OUTPUT_LIMIT_CHARS. None when the command printed nothing."""
    if output is None:
        return None
    parts = []
    for name, text in (("stdout", output.stdout), ("stderr", output.stderr)):
        clean = redact(text) or ""
        if len(clean) > OUTPUT_LIMIT_CHARS:
            cut = len(clean) - OUTPUT_LIMIT_CHARS
            clean = clean[:OUTPUT_LIMIT_CHARS] + f"... [{cut} more characters cut]"
        if clean:
            parts.append(f"[{name}]\n{clean}" + ("" if clean.endswith("\n") else "\n"))
    return "".join(parts) or None


def write_lake_frame(warehouse: Path, table: str, frame: pl.DataFrame) -> Path:
    """Write a whole, unpartitioned lake table atomically (temporary file, fsync, rename)."""
    target = lake.lake_dir(warehouse, table) / lake.DATA_FILE
    with atomic_path(target) as temporary:
        frame.write_parquet(temporary, compression="zstd")
    return target


def _retrying(policy: RetryPolicy) -> tenacity.Retrying:
    """Exponential backoff over the errors worth retrying now (5xx, 429, network)."""
    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts),
        wait=tenacity.wait_exponential(multiplier=policy.initial_seconds, max=policy.max_seconds),
        retry=tenacity.retry_if_exception(
            lambda error: isinstance(error, DeliveryError) and error.retry_now
        ),
        reraise=True,
    )


def _deliver_one(
    outbox: Outbox,
    row: OutboxRow,
    config: NotificationConfig,
    client: httpx.Client,
    redact: Redactor,
    before_send: Callable[[str], None] | None,
) -> str:
    """Deliver one message with retries; every attempt is recorded. Returns the final status."""
    channel = config.channels[row.channel]
    policy = config.retry
    status = row.status

    def attempt_once() -> None:
        nonlocal status
        attempt = outbox.begin_attempt(row.key, row.channel)
        if before_send is not None:
            before_send(row.key)
        try:
            result = deliver(
                channel, row.payload, message_id(row.key), client, policy.timeout_seconds
            )
        except DeliveryError as error:
            status = outbox.end_attempt(
                row.key,
                attempt,
                ok=False,
                final=error.final,
                status_code=error.status_code,
                error=redact(error.safe),
                output=recorded_output(redact, error.output),
            )
            raise
        status = outbox.end_attempt(
            row.key,
            attempt,
            ok=True,
            status_code=result.status_code,
            output=recorded_output(redact, result.output),
        )

    # A last failure is already recorded: `failed` is retried by the next run, `rejected` never.
    with contextlib.suppress(DeliveryError):
        _retrying(policy)(attempt_once)
    return status


def _export(outbox: Outbox, warehouse: Path) -> None:
    connection = outbox.connection
    write_lake_frame(
        warehouse,
        NOTIFICATIONS_TABLE,
        connection.sql("select * from outbox order by transition_at, key").pl(),
    )
    write_lake_frame(
        warehouse,
        ATTEMPTS_TABLE,
        connection.sql("select * from delivery_attempts order by started_at, key, attempt").pl(),
    )


def _firing_keys(
    transitions: list[Transition],
    silences: dict[tuple[str, str], str],
    config: NotificationConfig,
) -> dict[str, list[str]]:
    """Per Alertmanager channel, the message keys of the alerts still firing there:
    the opening, escalation and step-down messages of every alert without `resolved_at`
    (the later wins, as all carry the same labels), and the no_data
    message of every open silence (`silences`: tenant SLO -> its `since`)."""
    opening = [
        t.key
        for t in transitions
        if t.kind in ("opened", "escalated", "stepped_down") and t.episode_resolved_at is None
    ]
    opening += [f"{tenant}|{slo}|-|{since}|no_data" for (tenant, slo), since in silences.items()]
    return {
        name: [f"{key}|{name}" for key in opening]
        for name, channel in config.channels.items()
        if isinstance(channel, AlertmanagerChannel)
    }


def _refresh(
    outbox: Outbox,
    keys_by_channel: dict[str, list[str]],
    config: NotificationConfig,
    client: httpx.Client,
    redact: Redactor,
    now: dt.datetime,
    writer: audit.AuditWriter,
) -> int:
    """Re-send every firing alert that was sent to each Alertmanager channel, with `endsAt`
    = now + 4 cycles, in one POST per channel; return how many alerts were re-sent.

    Only sent messages are re-sent: a suppressed or undelivered opening is the
    outbox's business, never sent behind its back. A failure is recorded and
    left for the next cycle, which re-sends everything again.
    """
    ends_at = now + dt.timedelta(minutes=REFRESH_CYCLES * config.cycle_minutes)
    count = 0
    for name, keys in keys_by_channel.items():
        payloads = outbox.sent_payloads(keys)
        if not payloads:
            continue
        # One alert per label set: an escalation (sent after its opening) carries the
        # opening's labels and the newer annotations, and replaces it.
        latest = {
            json.dumps(alert["labels"], sort_keys=True): (key, alert)
            for key, p in payloads.items()
            for alert in p["alerts"]
        }
        alerts = [refreshed(alert, ends_at) for _, alert in latest.values()]
        resent = sorted({key for key, _ in latest.values()})
        started, attempts = utcnow(), 0
        outcome, status_code, error = "ok", None, None

        channel = config.channels[name]

        def post(channel: Channel = channel, alerts: list[dict[str, Any]] = alerts) -> int:
            nonlocal attempts
            attempts += 1
            timeout = config.retry.timeout_seconds
            return deliver(channel, {"alerts": alerts}, "", client, timeout).status_code

        try:
            status_code = _retrying(config.retry)(post)
            count += len(alerts)
        except DeliveryError as failure:
            outcome, status_code, error = "error", failure.status_code, redact(failure.safe)
        writer.append(
            audit.refresh_record(
                name,
                resent,
                ends_at,
                started,
                utcnow(),
                outcome,
                status_code,
                error,
                attempts,
            )
        )
    return count


def _channels(config: NotificationConfig, transition: Transition) -> list[str]:
    """The channels whose routes take `transition`, once each, in route order: the union
    over its severities (a resolution goes where the alert's opening and escalation went)."""
    names: list[str] = []
    for severity in transition.severities:
        for name in config.channels_for(
            transition.cohort, transition.tenant_id, severity, transition.kind
        ):
            if name not in names:
                names.append(name)
    return names


def _is_stale(transition: AnyTransition, config: NotificationConfig, now: dt.datetime) -> bool:
    if config.max_age_hours is None:
        return False
    return transition.at < now - dt.timedelta(hours=config.max_age_hours)


def _plan_silence(
    outbox: Outbox,
    writer: audit.AuditWriter,
    silence: SilenceTransition,
    config: NotificationConfig,
    now: dt.datetime,
    dry_run: bool,
) -> int:
    """Enqueue a no_data / data_resumed on its routes and audit the decision;
    return the number of new messages."""
    channels = config.channels_for(
        silence.cohort, silence.tenant_id, silence.severity, silence.kind
    )
    stale = _is_stale(silence, config, now)
    action = "no_route" if not channels else ("suppressed" if stale else "notify")
    added = 0
    for name in channels:
        message = render_silence(silence, name, config.channels[name], config.runbook_url)
        added += outbox.enqueue(message, status="suppressed" if stale else "pending")
    record = audit.silence_decision_record(silence, action, channels, dry_run)
    record["id"] += "->" + (",".join(channels) or "none")
    writer.append(record)
    return added


def run_notifications(
    warehouse: Path,
    data_dir: Path,
    manifest_path: Path,
    dry_run: bool = False,
    log: Callable[[str], None] | None = None,
    before_send: Callable[[str], None] | None = None,
    now: dt.datetime | None = None,
) -> NotifySummary:
    """Turn the lake's grouped alerts and silent tenants into delivered (or, dry run,
    queued) notifications, and re-send the alerts still firing to Alertmanager.

    `before_send(key)` is called after a message is marked `sending` and
    before its request: the tests use it to stop the process at that point.
    `now` (naive UTC, default the clock) dates staleness and the re-sends' `endsAt`.
    """
    say = log or (lambda _: None)
    warehouse = Path(warehouse)
    config = load_manifest(manifest_path).notifications
    redact = Redactor(config)
    change_events = events.read_change_events(data_dir)
    write_lake_frame(warehouse, events.LAKE_TABLE, events.events_frame(change_events))

    slo_specs = lake.read_table(warehouse, "slo_specs")
    transitions = compute_transitions(lake.read_table(warehouse, "fct_alerts"), slo_specs)
    lookback = config.events.lookback_minutes
    summary = NotifySummary(transitions=len(transitions), dry_run=dry_run)
    now = now or utcnow()
    horizons = lake.read_table(warehouse, "int_tenant_horizons")
    log_file = audit.AuditLog(audit.audit_path(warehouse))
    with open_outbox(warehouse) as outbox:
        outbox.close_interrupted_attempts()
        # Late rows may have moved an episode whose messages are already out: they keep
        # the identity that was sent (pipelines/notify/corrections.py).
        transitions, found_corrections = corrections.reconcile(
            transitions,
            corrections.sent_episodes(outbox.decided_messages()),
            dict(zip(horizons["tenant_id"], horizons["evaluated_until"], strict=True)),
            corrections.rule_settings(lake.read_table(warehouse, "alert_policy"), slo_specs),
        )
        # Only transitions not decided yet need their evidence (and a decision): reading
        # it for every episode ever would make each cycle cost in proportion to history.
        # A decision is recorded after its messages are enqueued on every channel, so a
        # crash in between leaves it undecided and the next run completes it.
        decided = audit.decided_keys(log_file)
        undecided = [t for t in transitions if t.key not in decided]
        links = report_links(warehouse, report_page_url(warehouse, config.report_url))
        evidence = load_evidence(
            warehouse, [audit.evidence_ref(t) for t in undecided], change_events, lookback
        )
        silences = compute_silences(
            horizons,
            slo_specs,
            outbox.open_silences(),
            config.no_data_severity,
        )
        summary.silences = len(silences)
        summary.transitions += len(silences)
        with log_file.writer() as writer:
            # Adjustments first: they say why the decisions after them saw fewer requests.
            for record in adjustment_records(
                audit.read_lines(log_file.path), load_manifest(manifest_path).adjustments
            ):
                writer.append(record)
            for correction in found_corrections:
                writer.append(correction.record())
            for transition in undecided:
                found = evidence[audit.evidence_ref(transition)]
                channels = _channels(config, transition)
                stale = _is_stale(transition, config, now)
                action = "no_route" if not channels else ("suppressed" if stale else "notify")
                for name in channels:
                    message = render(
                        transition,
                        found,
                        name,
                        config.channels[name],
                        config.runbook_url,
                        links.get((transition.tenant_id, transition.slo_name)),
                    )
                    if outbox.enqueue(message, status="suppressed" if stale else "pending"):
                        summary.new_messages += 1
                record = audit.decision_record(
                    transition, found, action, channels, dry_run, lookback
                )
                record["id"] += "->" + (",".join(channels) or "none")
                writer.append(record)
        # A silence is per tenant SLO, so a collector outage brings thousands at once: their
        # messages and records are one transaction, committed after their audit records
        # are on disk. A crash before the commit leaves them all undecided, and the next
        # run decides them again (the audit log skips the records it already holds).
        with outbox.transaction(), log_file.writer() as writer:
            for silence in silences:
                summary.new_messages += _plan_silence(outbox, writer, silence, config, now, dry_run)
            outbox.record_silences(silences)
        if not dry_run:
            due = [row for row in outbox.due() if row.channel in config.channels]
            if due:
                with (
                    _redacted_library_logs(redact),
                    httpx.Client(timeout=config.retry.timeout_seconds) as client,
                ):
                    for row in due:
                        status = _deliver_one(outbox, row, config, client, redact, before_send)
                        summary.delivered += status == "sent"
                        summary.failed += status != "sent"
        with log_file.writer() as writer:
            if not dry_run:
                # A silence fires while it is open and its tenant is still silent (and
                # still in the manifest): a tenant removed while silent does not fire forever.
                silent = set(horizons.filter(pl.col("silent"))["tenant_id"].to_list())
                known = set(zip(slo_specs["tenant_id"], slo_specs["slo_name"], strict=True))
                open_since = {
                    key: o.since
                    for key, o in outbox.open_silences().items()
                    if key in known and key[0] in silent
                }
                firing = _firing_keys(transitions, open_since, config)
                if any(firing.values()):
                    with (
                        _redacted_library_logs(redact),
                        httpx.Client(timeout=config.retry.timeout_seconds) as client,
                    ):
                        summary.refreshed = _refresh(
                            outbox, firing, config, client, redact, now, writer
                        )
            for attempt in audit.attempts_since(outbox.connection):
                writer.append(audit.attempt_record(attempt))
        summary.status_counts = outbox.status_counts()
        _export(outbox, warehouse)
    write_lake_frame(warehouse, audit.LAKE_TABLE, audit.audit_frame(log_file.path))
    say(
        f"notifications: {summary.transitions} transitions ({summary.silences} no_data or "
        f"data_resumed), {summary.new_messages} new messages, {summary.delivered} delivered, "
        f"{summary.failed} not delivered, {summary.refreshed} firing alerts re-sent"
        + (" (dry run: nothing sent)" if dry_run else "")
        + f"; outbox {summary.status_counts}"
    )
    return summary
