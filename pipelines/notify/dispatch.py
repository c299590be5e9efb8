"""Plan, enqueue, deliver, audit, export: the body of the `notifications` asset.

1. Transitions are recomputed from the whole `fct_alert_episodes` table.
2. Each transition x matching channel becomes a message whose idempotency key
   is the outbox's primary key; a key already there is left alone, so
   re-materializing, backfilling or retrying never makes a second message.
3. Unless this is a dry run, every due message (`pending`, `failed`, or
   `sending` left by a crash) is delivered with exponential backoff (tenacity);
   each attempt is committed as `sending` before the request and as its
   outcome after it.
4. The audit log gets the decisions and attempts it lacks; the outbox, the
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
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import polars as pl
import tenacity

from pipelines.notify import audit, events
from pipelines.notify.channels import DeliveryError, deliver, secret_env_names
from pipelines.notify.evidence import load_evidence
from pipelines.notify.outbox import Outbox, OutboxRow, open_outbox, utcnow
from pipelines.notify.render import message_id, render
from pipelines.notify.transitions import Transition, compute_transitions
from pipelines.warehouse import lake
from pipelines.warehouse.atomic import atomic_path
from schemas.manifest import load_manifest
from schemas.routing import NotificationConfig

NOTIFICATIONS_TABLE = "notifications"
ATTEMPTS_TABLE = "delivery_attempts"
REDACTED = "[REDACTED]"


@dataclass
class NotifySummary:
    transitions: int = 0
    new_messages: int = 0
    delivered: int = 0
    failed: int = 0
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


def write_lake_frame(warehouse: Path, table: str, frame: pl.DataFrame) -> Path:
    """Write a whole, unpartitioned lake table atomically (temporary file, fsync, rename)."""
    target = lake.lake_dir(warehouse, table) / lake.DATA_FILE
    with atomic_path(target) as temporary:
        frame.write_parquet(temporary, compression="zstd")
    return target


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
            )
            raise
        status = outbox.end_attempt(row.key, attempt, ok=True, status_code=result.status_code)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts),
        wait=tenacity.wait_exponential(multiplier=policy.initial_seconds, max=policy.max_seconds),
        retry=tenacity.retry_if_exception(
            lambda error: isinstance(error, DeliveryError) and error.retry_now
        ),
        reraise=True,
    )
    # A last failure is already recorded: `failed` is retried by the next run, `rejected` never.
    with contextlib.suppress(DeliveryError):
        retrying(attempt_once)
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


def _is_stale(transition: Transition, config: NotificationConfig, now: dt.datetime) -> bool:
    if config.max_age_hours is None:
        return False
    return transition.at < now - dt.timedelta(hours=config.max_age_hours)


def run_notifications(
    warehouse: Path,
    data_dir: Path,
    manifest_path: Path,
    dry_run: bool = False,
    log: Callable[[str], None] | None = None,
    before_send: Callable[[str], None] | None = None,
) -> NotifySummary:
    """Turn the lake's alert episodes into delivered (or, dry run, queued) notifications.

    `before_send(key)` is called after a message is marked `sending` and
    before its request: the tests use it to stop the process at that point.
    """
    say = log or (lambda _: None)
    warehouse = Path(warehouse)
    config = load_manifest(manifest_path).notifications
    redact = Redactor(config)
    change_events = events.read_change_events(data_dir)
    write_lake_frame(warehouse, events.LAKE_TABLE, events.events_frame(change_events))

    transitions = compute_transitions(
        lake.read_table(warehouse, "fct_alert_episodes"), lake.read_table(warehouse, "slo_specs")
    )
    lookback = config.events.lookback_minutes
    evidence = load_evidence(
        warehouse, [audit.evidence_ref(t) for t in transitions], change_events, lookback
    )
    summary = NotifySummary(transitions=len(transitions), dry_run=dry_run)
    now = utcnow()
    log_file = audit.AuditLog(audit.audit_path(warehouse))
    with open_outbox(warehouse) as outbox:
        outbox.close_interrupted_attempts()
        with log_file.writer() as writer:
            for transition in transitions:
                found = evidence[audit.evidence_ref(transition)]
                channels = config.channels_for(
                    transition.cohort, transition.tenant_id, transition.severity, transition.kind
                )
                stale = _is_stale(transition, config, now)
                action = "no_route" if not channels else ("suppressed" if stale else "notify")
                for name in channels:
                    message = render(
                        transition, found, name, config.channels[name], config.runbook_url
                    )
                    if outbox.enqueue(message, status="suppressed" if stale else "pending"):
                        summary.new_messages += 1
                record = audit.decision_record(
                    transition, found, action, channels, dry_run, lookback
                )
                record["id"] += "->" + (",".join(channels) or "none")
                writer.append(record)
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
            for attempt in audit.attempts_since(outbox.connection):
                writer.append(audit.attempt_record(attempt))
        summary.status_counts = outbox.status_counts()
        _export(outbox, warehouse)
    write_lake_frame(warehouse, audit.LAKE_TABLE, audit.audit_frame(log_file.path))
    say(
        f"notifications: {summary.transitions} transitions, {summary.new_messages} new "
        f"messages, {summary.delivered} delivered, {summary.failed} not delivered"
        + (" (dry run: nothing sent)" if dry_run else "")
        + f"; outbox {summary.status_counts}"
    )
    return summary
