"""The audit log: `<warehouse>/audit/audit.jsonl`, append-only and hash-chained.

One JSON object a line, of two kinds:

- `decision`: one per transition: the transition, the policy rule and its
  thresholds, both windows' counts and burn rates, the budget, the change
  events, what was decided (`notify` to which channels, `no_route`, or
  `suppressed` as too old) and `inputs.sha256`, the content hash of the lake
  rows behind it (see `evidence`), with the reference to find them again;
  A `no_data` / `data_resumed` decision rests on the tenant's
  `int_tenant_horizons` row, which it holds whole (`inputs.row`): that row
  describes one run's moment and is replaced by the next run, so `verify`
  checks such a decision's hash against its own row, not against the lake;
- `attempt`: one per delivery attempt: message key, channel, attempt number,
  outcome, HTTP/SMTP status, a secret-free error;
- `refresh`: one per re-send of the firing alerts to an Alertmanager channel
  (not outbox messages): the alerts' message keys, `endsAt`, the outcome;
- `adjustment` / `adjustment_withdrawn`: a budget adjustment put in force or taken out
  of the manifest (pipelines/notify/adjustment_audit.py).

Every record carries `seq`, `prev_hash` (the previous record's hash) and
`record_hash` (SHA-256 of its own canonical JSON without `record_hash`), so
removing, reordering or editing a line breaks the chain.

A chain alone cannot see its own end being cut off (keep the first 300 lines and
the chain is intact), nor an edit whose author re-hashed every record after it.
So `verify` also holds the log against its copy in the lake: the last record's
`seq` is the log's count and its `record_hash` the log's head, and
`lake/audit_log` holds the same records (re-exported whole after each append),
hence the same count and head; a log shorter than the lake's copy, or a line
that differs from it, is reported. With `BURNWATCH_AUDIT_KEY` set, `record_hash`
is an HMAC-SHA256 under that key (the record says so: `"mac": "hmac-sha256"`),
so no one without the key can re-chain an edited log, even in both places. A log
is keyed from its first record or not at all: a run refuses to append unkeyed
records to a keyed log, or keyed ones to an unkeyed log. A decision holds no
wall-clock time: it is a function of the lake and the manifest, so the same
inputs give the same records and the same bytes in `lake/audit_log` (the
attempts carry the times at which messages were actually sent). Records are written
from the outbox's state, by id, so a crash between a send and its audit line is
repaired on the next run, never duplicated.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.notify import events as events_module
from pipelines.notify.adjustment_audit import adjustment_changes, explained_by_adjustment
from pipelines.notify.evidence import (
    Evidence,
    EvidenceRef,
    canonical_json,
    content_hash,
    load_evidence,
)
from pipelines.notify.transitions import SilenceTransition, Transition
from pipelines.warehouse import lake
from schemas.errors import BurnwatchInputError

AUDIT_DIR = "audit"
AUDIT_FILE = "audit.jsonl"
GENESIS = "0" * 64
LAKE_TABLE = "audit_log"
# The secret that keys the chain (HMAC-SHA256); unset: plain SHA-256.
ENV_AUDIT_KEY = "BURNWATCH_AUDIT_KEY"
MAC = "hmac-sha256"


def audit_path(warehouse: Path) -> Path:
    return Path(warehouse) / AUDIT_DIR / AUDIT_FILE


def audit_key() -> bytes | None:
    """The chain's HMAC key from BURNWATCH_AUDIT_KEY, or None when it is unset or empty."""
    value = os.environ.get(ENV_AUDIT_KEY, "")
    return value.encode("utf-8") if value else None


def record_hash(record: dict[str, Any], key: bytes | None = None) -> str:
    """SHA-256 of the record's canonical JSON without `record_hash`; an HMAC under `key`
    when the record is keyed (`"mac": "hmac-sha256"`)."""
    body = {name: value for name, value in record.items() if name != "record_hash"}
    if record.get("mac") != MAC:
        return content_hash(body)
    if key is None:
        raise ValueError("a keyed record needs the key")
    return hmac.new(key, canonical_json(body).encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Line:
    """One line of the audit file: its number, the record (None if it is not one), the
    text, and why it is not a record."""

    number: int
    record: dict[str, Any] | None
    text: str
    problem: str = ""


def read_lines(path: Path) -> list[Line]:
    """Every complete line of the audit file (a last line without its newline is a torn
    write that the next run removes, never a record)."""
    if not path.is_file():
        return []
    data = path.read_bytes()
    chunks = data.split(b"\n")
    chunks.pop()  # after the last newline: empty, or a torn tail
    out: list[Line] = []
    for number, chunk in enumerate(chunks, start=1):
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as error:
            out.append(
                Line(
                    number,
                    None,
                    chunk.decode("utf-8", "replace"),
                    f"not UTF-8 (byte 0x{chunk[error.start]:02x} at column {error.start + 1})",
                )
            )
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            out.append(Line(number, None, text, "not a JSON record"))
            continue
        if not isinstance(record, dict):
            out.append(Line(number, None, text, "not a JSON record"))
            continue
        out.append(Line(number, record, text))
    return out


def check_log(warehouse: Path) -> None:
    """Refuse, before a run writes anything, an audit log it could not append to: a line
    that is not a record, or a keyed log without the key (or an unkeyed one with it)."""
    path = audit_path(warehouse)
    lines = read_lines(path)
    for line in lines:
        if line.record is None:
            raise BurnwatchInputError(
                f"{path}:{line.number}: {line.problem}: the audit log is damaged "
                "(`burnwatch audit verify` lists what is wrong; move the file aside to start "
                "a new log)"
            )
    if not lines:
        return
    keyed = (lines[0].record or {}).get("mac") == MAC
    if keyed and audit_key() is None:
        raise BurnwatchInputError(
            f"{path}: the audit log is keyed (HMAC-SHA256): set {ENV_AUDIT_KEY} to append to it"
        )
    if not keyed and audit_key() is not None:
        raise BurnwatchInputError(
            f"{path}: the audit log was begun without a key, and {ENV_AUDIT_KEY} is set: "
            "unset it, or move the log aside to start a keyed one"
        )


class AuditLog:
    """The audit file, opened for appending; `ids` holds every record id already written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ids: set[str] = set()
        self.seq = 0
        self.last_hash = GENESIS
        self.key = audit_key()
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            check_log(path.parent.parent)
            self._repair_torn_tail()
            for line in read_lines(path):
                record = line.record or {}
                self.ids.add(record["id"])
                self.seq = int(record["seq"])
                self.last_hash = str(record["record_hash"])

    def _repair_torn_tail(self) -> None:
        """Drop a last line that a crash left half-written (it was never complete)."""
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)

    @contextlib.contextmanager
    def writer(self) -> Iterator[AuditWriter]:
        with open(self.path, "a", encoding="utf-8") as handle:
            yield AuditWriter(self, handle)
            handle.flush()
            os.fsync(handle.fileno())


class AuditWriter:
    def __init__(self, log: AuditLog, handle: Any) -> None:
        self.log = log
        self.handle = handle

    def append(self, record: dict[str, Any]) -> bool:
        """Append the record unless its `id` is already in the log; True when written."""
        if record["id"] in self.log.ids:
            return False
        full = {
            **record,
            "seq": self.log.seq + 1,
            "prev_hash": self.log.last_hash,
        }
        if self.log.key is not None:
            full["mac"] = MAC
        full["record_hash"] = record_hash(full, self.log.key)
        self.handle.write(canonical_json(full) + "\n")
        self.log.ids.add(record["id"])
        self.log.seq += 1
        self.log.last_hash = full["record_hash"]
        return True


def decided_keys(log: AuditLog) -> set[str]:
    """The transition keys the log holds a decision record of (ids `decision:<key>-><channels>`)."""
    prefix = "decision:"
    return {
        record_id[len(prefix) :].rsplit("->", 1)[0]
        for record_id in log.ids
        if record_id.startswith(prefix)
    }


def evidence_ref(transition: Transition) -> EvidenceRef:
    # An opening and an escalation name the operations of their own rule's long window;
    # a resolution those of the alert's latest (the escalation's, if it escalated).
    basis = transition.kind if transition.kind in ("opened", "escalated") else "latest"
    return EvidenceRef(
        transition.tenant_id,
        transition.slo_name,
        transition.rule_name,
        transition.service,
        transition.at,
        alert_started_at=transition.episode_started_at,
        basis=basis,
    )


def decision_record(
    transition: Transition,
    evidence: Evidence,
    action: str,
    channels: list[str],
    dry_run: bool,
    lookback_minutes: int,
) -> dict[str, Any]:
    """The audit record of one transition's decision (no secrets: channel names only)."""
    row = evidence.at(transition.at) or {}
    budget = evidence.budget or {}
    return {
        "id": f"decision:{transition.key}",
        "kind": "decision",
        "transition_key": transition.key,
        "transition": transition.kind,
        "at": transition.at.isoformat(),
        "tenant_id": transition.tenant_id,
        "slo_name": transition.slo_name,
        "cohort": transition.cohort,
        "rule_name": transition.rule_name,
        "episode": {
            "started_at": transition.episode_started_at.isoformat(),
            "resolved_at": (
                transition.episode_resolved_at.isoformat()
                if transition.episode_resolved_at
                else None
            ),
            "escalated_from": transition.escalated_from,
        },
        "policy": {
            "rule": transition.rule_name,
            "severity": transition.severity,
            "long_window": transition.long_window,
            "short_window": transition.short_window,
            "burn_threshold": transition.burn_threshold,
        },
        "windows": {
            "long": {
                "window": transition.long_window,
                "total": row.get("long_total"),
                "bad": row.get("long_bad"),
                "burn_rate": row.get("long_burn_rate"),
            },
            "short": {
                "window": transition.short_window,
                "total": row.get("short_total"),
                "bad": row.get("short_bad"),
                "burn_rate": row.get("short_burn_rate"),
            },
            "fires": row.get("fires"),
        },
        "budget": {
            "remaining_percent": budget.get("budget_remaining_percent"),
            "consumed_percent": budget.get("budget_consumed_percent"),
            "hours_to_exhaustion": budget.get("time_to_exhaustion_hours"),
        },
        "change_events": [e.describe(transition.at, transition.severity) for e in evidence.events],
        "decision": {"action": action, "channels": channels, "dry_run": dry_run},
        "inputs": {
            "tables": ["fct_alert_evaluations", "fct_error_budget", "change_events"],
            "ref": evidence_ref(transition).as_dict(),
            "lookback_minutes": lookback_minutes,
            "sha256": evidence.sha256,
        },
    }


def silence_decision_record(
    transition: SilenceTransition, action: str, channels: list[str], dry_run: bool
) -> dict[str, Any]:
    """The audit record of a no_data / data_resumed decision, with the horizon row behind it."""
    t = transition
    return {
        "id": f"decision:{t.key}",
        "kind": "decision",
        "transition_key": t.key,
        "transition": t.kind,
        "at": t.at.isoformat(),
        "tenant_id": t.tenant_id,
        "slo_name": t.slo_name,
        "cohort": t.cohort,
        "rule_name": t.rule_name,
        "silence": {
            "since": t.since,
            "started_at": t.started_at.isoformat(),
            "data_until": t.data_until.isoformat() if t.data_until else None,
            "horizon": t.horizon.isoformat() if t.horizon else None,
            "max_silence_minutes": t.max_silence_minutes,
            "severity": t.severity,
        },
        "decision": {"action": action, "channels": channels, "dry_run": dry_run},
        "inputs": {
            "tables": ["int_tenant_horizons"],
            "row": t.horizon_row,
            "sha256": content_hash(t.horizon_row),
        },
    }


def refresh_record(
    channel: str,
    keys: list[str],
    ends_at: dt.datetime,
    started_at: dt.datetime,
    finished_at: dt.datetime,
    outcome: str,
    status_code: int | None,
    error: str | None,
    attempts: int,
) -> dict[str, Any]:
    """The audit record of one re-send of the firing alerts to an Alertmanager channel."""
    return {
        "id": f"refresh:{channel}:{started_at.isoformat()}",
        "kind": "refresh",
        "channel": channel,
        "message_keys": keys,
        "alerts": len(keys),
        "ends_at": ends_at.isoformat(),
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "attempts": attempts,
        "outcome": outcome,
        "status_code": status_code,
        "error": error,
    }


def attempt_record(row: dict[str, Any]) -> dict[str, Any]:
    """The audit record of one delivery attempt (a row of `delivery_attempts`)."""
    return {
        "id": f"attempt:{row['key']}#{row['attempt']}",
        "kind": "attempt",
        "message_key": row["key"],
        "transition_key": row["key"].rsplit("|", 1)[0],
        "channel": row["channel"],
        "attempt": row["attempt"],
        "started_at": row["started_at"].isoformat(),
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
        "outcome": row["outcome"],
        "status_code": row["status_code"],
        "error": row["error"],
        # A command channel's stdout and stderr (redacted, truncated); null otherwise.
        "output": row.get("output"),
    }


def verify(warehouse: Path) -> tuple[int, list[str]]:
    """Check the chain, hold the log against its copy in the lake, and recompute every
    decision's input hash from the lake.

    Returns (records checked, problems), one line each; no problems means the log is
    whole (not cut short, not edited, keyed as configured) and every decision still
    rests on the rows the lake holds now, or on rows that a budget adjustment recorded
    after it has since changed (pipelines/notify/adjustment_audit.py).
    """
    warehouse = Path(warehouse)
    path = audit_path(warehouse)
    lines = read_lines(path)
    key = audit_key()
    problems = _chain_problems(path, lines, key)
    problems += _lake_copy_problems(warehouse, path, lines)
    decisions = [
        (line.number, line.record)
        for line in lines
        if line.record is not None
        and line.record.get("kind") == "decision"
        and "row" not in (line.record.get("inputs") or {})
    ]
    change_events = _lake_events(warehouse)
    adjustments = adjustment_changes(lines)
    by_lookback: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for number, record in decisions:
        by_lookback.setdefault(int(record["inputs"]["lookback_minutes"]), []).append(
            (number, record)
        )
    for lookback, group in by_lookback.items():
        refs = {number: EvidenceRef.from_dict(record["inputs"]["ref"]) for number, record in group}
        found = load_evidence(warehouse, refs.values(), change_events, lookback)
        for number, record in group:
            now = found[refs[number]].sha256
            recorded = record["inputs"]["sha256"]
            # A budget adjustment recorded later recomputed these steps: the log says why.
            if now != recorded and not explained_by_adjustment(adjustments, record):
                problems.append(
                    f"{path}:{number}: {record['transition']} of {record['tenant_id']}/"
                    f"{record['slo_name']}/{record['rule_name']} at {record['at']}: inputs "
                    f"changed (recorded sha256 {recorded[:12]}, lake now {now[:12]})"
                )
    return len(lines), problems


def _chain_problems(path: Path, lines: list[Line], key: bytes | None) -> list[str]:
    problems: list[str] = []
    previous = GENESIS
    unkeyed = keyed_without_key = mismatched = 0
    for index, line in enumerate(lines, start=1):
        where = f"{path}:{line.number}"
        record = line.record
        if record is None:
            problems.append(f"{where}: {line.problem}")
            previous = "?"
            continue
        if record.get("seq") != index:
            problems.append(
                f"{where}: seq {record.get('seq')} where {index} was expected "
                "(a record was removed or reordered)"
            )
        if record.get("prev_hash") != previous:
            problems.append(f"{where}: prev_hash does not match the record before it")
        previous = str(record.get("record_hash"))
        if record.get("kind") == "decision" and "row" in (record.get("inputs") or {}):
            inputs = record["inputs"]
            if content_hash(inputs["row"]) != inputs.get("sha256"):
                problems.append(f"{where}: inputs.sha256 does not match its horizon row")
        is_keyed = record.get("mac") == MAC
        if is_keyed and key is None:
            keyed_without_key += 1
            continue
        if key is not None and not is_keyed:
            unkeyed += 1
            problems.append(
                f"{where}: not keyed, although {ENV_AUDIT_KEY} is set (written, or re-chained, "
                "without the key)"
            )
            continue
        if record.get("record_hash") != record_hash(record, key):
            mismatched += 1
            problems.append(f"{where}: record_hash does not match its content (edited)")
    count = len(lines)
    # One line for the whole log rather than one per record, where every record says the same.
    if keyed_without_key:
        problems.append(
            f"{path}: {keyed_without_key} record(s) keyed with HMAC-SHA256: set {ENV_AUDIT_KEY} "
            "to verify them"
        )
    if count > 1 and unkeyed == count:
        problems = [p for p in problems if "not keyed" not in p] + [
            f"{path}: no record is keyed, although {ENV_AUDIT_KEY} is set (an unkeyed log)"
        ]
    if count > 1 and mismatched == count:
        problems = [p for p in problems if "record_hash does not match" not in p] + [
            f"{path}: no record_hash matches (another {ENV_AUDIT_KEY}, or every record edited)"
        ]
    return problems


def _lake_copy_problems(warehouse: Path, path: Path, lines: list[Line]) -> list[str]:
    """The log against `lake/audit_log`: the same count, head and records."""
    table = lake.lake_dir(warehouse, LAKE_TABLE) / lake.DATA_FILE
    if not table.is_file():
        return [f"{path}: lake/{LAKE_TABLE} is missing: truncation cannot be ruled out"] * bool(
            lines
        )
    copy = pl.read_parquet(table, columns=["seq", "record_hash", "record"]).sort("seq")
    kept = copy["record"].to_list()
    if len(lines) < len(kept):
        have = f"holds {len(lines)} record(s)" if lines else "is empty"
        head = copy["record_hash"][-1]
        return [
            f"{path}: truncated: the log {have}, lake/{LAKE_TABLE} {len(kept)} (count "
            f"{len(kept)}, head {str(head)[:12]}): record(s) {len(lines) + 1} to {len(kept)} "
            "were removed"
        ]
    problems = []
    for line, text in zip(lines, kept, strict=False):
        if line.text != text:
            problems.append(
                f"{path}:{line.number}: differs from record {line.number} of lake/{LAKE_TABLE} "
                "(edited)"
            )
    return problems[:1] + (
        [f"{path}: {len(problems) - 1} more line(s) differ from lake/{LAKE_TABLE}"]
        if len(problems) > 1
        else []
    )


def _lake_events(warehouse: Path) -> list[events_module.ChangeEvent]:
    path = lake.lake_dir(warehouse, events_module.LAKE_TABLE) / lake.DATA_FILE
    if not path.is_file():
        return []
    return events_module.events_from_frame(pl.read_parquet(path))


def audit_frame(path: Path) -> pl.DataFrame:
    """The audit file as rows of the lake table `audit_log` (the record kept whole as JSON)."""
    rows = []
    for entry in read_lines(path):
        record, line = entry.record, entry.text
        if record is None:
            continue
        rows.append(
            {
                "seq": record.get("seq"),
                "id": record.get("id"),
                "kind": record.get("kind"),
                "at": record.get("at") or record.get("started_at"),
                "transition_key": record.get("transition_key"),
                "tenant_id": record.get("tenant_id"),
                "slo_name": record.get("slo_name"),
                "rule_name": record.get("rule_name"),
                "transition": record.get("transition"),
                "action": (record.get("decision") or {}).get("action"),
                "outcome": record.get("outcome"),
                "input_sha256": (record.get("inputs") or {}).get("sha256"),
                "prev_hash": record.get("prev_hash"),
                "record_hash": record.get("record_hash"),
                "record": line,
            }
        )
    schema: dict[str, Any] = {
        name: pl.String
        for name in (
            "id",
            "kind",
            "at",
            "transition_key",
            "tenant_id",
            "slo_name",
            "rule_name",
            "transition",
            "action",
            "outcome",
            "input_sha256",
            "prev_hash",
            "record_hash",
            "record",
        )
    }
    schema["seq"] = pl.Int64
    return pl.DataFrame(rows, schema=schema).select(["seq", *[n for n in schema if n != "seq"]])


def attempts_since(connection: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Finished (or interrupted) delivery attempts, in order, for `attempt_record`."""
    result = connection.execute(
        "select * from delivery_attempts where outcome is not null "
        "order by started_at, key, attempt"
    )
    names = [column[0] for column in result.description or []]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
