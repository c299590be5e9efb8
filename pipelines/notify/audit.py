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
  (not outbox messages): the alerts' message keys, `endsAt`, the outcome.

Every record carries `seq`, `prev_hash` (the previous record's hash) and
`record_hash` (SHA-256 of its own canonical JSON without `record_hash`), so
removing, reordering or editing a line breaks the chain. A decision holds no
wall-clock time: it is a function of the lake and the manifest, so the same
inputs give the same records and the same bytes in `lake/audit_log` (the
attempts carry the times at which messages were actually sent). Records are written
from the outbox's state, by id, so a crash between a send and its audit line is
repaired on the next run, never duplicated.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.notify import events as events_module
from pipelines.notify.evidence import (
    Evidence,
    EvidenceRef,
    canonical_json,
    content_hash,
    load_evidence,
)
from pipelines.notify.transitions import SilenceTransition, Transition
from pipelines.warehouse import lake

AUDIT_DIR = "audit"
AUDIT_FILE = "audit.jsonl"
GENESIS = "0" * 64
LAKE_TABLE = "audit_log"


def audit_path(warehouse: Path) -> Path:
    return Path(warehouse) / AUDIT_DIR / AUDIT_FILE


def record_hash(record: dict[str, Any]) -> str:
    return content_hash({key: value for key, value in record.items() if key != "record_hash"})


class AuditLog:
    """The audit file, opened for appending; `ids` holds every record id already written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ids: set[str] = set()
        self.seq = 0
        self.last_hash = GENESIS
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            self._repair_torn_tail()
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    record = json.loads(line)
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
        full["record_hash"] = record_hash(full)
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
    return EvidenceRef(
        transition.tenant_id,
        transition.slo_name,
        transition.rule_name,
        transition.service,
        transition.at,
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
            "remaining": budget.get("remaining"),
            "consumed": budget.get("consumed"),
            "hours_to_exhaustion": budget.get("time_to_exhaustion"),
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
    }


def read_records(path: Path) -> list[tuple[int, dict[str, Any] | None, str]]:
    """(line number, parsed record or None, raw line) for every line of the audit file."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[tuple[int, dict[str, Any] | None, str]] = []
    for number, line in enumerate(lines, start=1):
        try:
            out.append((number, json.loads(line), line))
        except json.JSONDecodeError:
            out.append((number, None, line))
    return out


def verify(warehouse: Path) -> tuple[int, list[str]]:
    """Check the chain and recompute every decision's input hash from the lake.

    Returns (records checked, problems); no problems means the log is intact
    and every decision still rests on the rows the lake holds now.
    """
    warehouse = Path(warehouse)
    path = audit_path(warehouse)
    records = read_records(path)
    problems: list[str] = []
    previous = GENESIS
    decisions: list[tuple[int, dict[str, Any]]] = []
    for index, (number, record, _) in enumerate(records, start=1):
        where = f"{path}:{number}"
        if record is None:
            problems.append(f"{where}: not a JSON record")
            previous = "?"
            continue
        if record.get("seq") != index:
            problems.append(
                f"{where}: seq {record.get('seq')} where {index} was expected "
                "(a record was removed or reordered)"
            )
        if record.get("prev_hash") != previous:
            problems.append(f"{where}: prev_hash does not match the record before it")
        if record.get("record_hash") != record_hash(record):
            problems.append(f"{where}: record_hash does not match its content (edited)")
        previous = str(record.get("record_hash"))
        if record.get("kind") == "decision" and "row" in (record.get("inputs") or {}):
            inputs = record["inputs"]
            if content_hash(inputs["row"]) != inputs.get("sha256"):
                problems.append(f"{where}: inputs.sha256 does not match its horizon row")
        elif record.get("kind") == "decision":
            decisions.append((number, record))
    change_events = _lake_events(warehouse)
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
            if now != recorded:
                problems.append(
                    f"{path}:{number}: {record['transition']} of {record['tenant_id']}/"
                    f"{record['slo_name']}/{record['rule_name']} at {record['at']}: inputs "
                    f"changed (recorded sha256 {recorded[:12]}, lake now {now[:12]})"
                )
    return len(records), problems


def _lake_events(warehouse: Path) -> list[events_module.ChangeEvent]:
    path = lake.lake_dir(warehouse, events_module.LAKE_TABLE) / lake.DATA_FILE
    if not path.is_file():
        return []
    return events_module.events_from_frame(pl.read_parquet(path))


def audit_frame(path: Path) -> pl.DataFrame:
    """The audit file as rows of the lake table `audit_log` (the record kept whole as JSON)."""
    rows = []
    for _, record, line in read_records(path):
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
