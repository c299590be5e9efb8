"""The lake rows that support a transition, and the content hash that pins them.

A transition at `t` of rule `r` rests on the rule's evaluation rows at `t` and
at the step before (`t - 5m`: it fired at one and not at the other), on the
SLO's error budget row at `t`, and on the change events that give it context.
Their canonical JSON (sorted keys, ISO times, no whitespace) is hashed with
SHA-256; `burnwatch audit verify` reloads the same rows from the lake and
recomputes the hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.notify.events import ChangeEvent, context_for
from pipelines.warehouse import lake
from schemas.manifest import BUCKET_MINUTES

STEP = dt.timedelta(minutes=BUCKET_MINUTES)


@dataclass(frozen=True)
class EvidenceRef:
    """What identifies a transition's inputs (stored in each audit decision record)."""

    tenant_id: str
    slo_name: str
    rule_name: str
    service: str
    at: dt.datetime

    def as_dict(self) -> dict[str, str]:
        return {
            "tenant_id": self.tenant_id,
            "slo_name": self.slo_name,
            "rule_name": self.rule_name,
            "service": self.service,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> EvidenceRef:
        return cls(
            tenant_id=data["tenant_id"],
            slo_name=data["slo_name"],
            rule_name=data["rule_name"],
            service=data["service"],
            at=dt.datetime.fromisoformat(data["at"]),
        )


@dataclass
class Evidence:
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    budget: dict[str, Any] | None = None
    events: list[ChangeEvent] = field(default_factory=list)

    def at(self, when: dt.datetime) -> dict[str, Any] | None:
        """The rule's evaluation row at `when`, if the lake has one."""
        return next((row for row in self.evaluations if row["eval_ts"] == when), None)

    def inputs(self) -> dict[str, Any]:
        return {
            "fct_alert_evaluations": self.evaluations,
            "fct_error_budget": [self.budget] if self.budget else [],
            "change_events": [
                {
                    "ts": e.ts,
                    "tenant_id": e.tenant_id,
                    "service": e.service,
                    "kind": e.kind,
                    "description": e.description,
                    "source": e.source,
                }
                for e in self.events
            ],
        }

    @property
    def sha256(self) -> str:
        return content_hash(self.inputs())


def _default(value: object) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot hash {type(value).__name__}")


def canonical_json(value: object) -> str:
    """JSON with sorted keys, no whitespace and ISO times: the same value, the same text."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        default=_default,
        ensure_ascii=False,
        allow_nan=True,
    )


def content_hash(value: object) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _rows(connection: duckdb.DuckDBPyConnection, query: str) -> list[dict[str, Any]]:
    result = connection.execute(query)
    names = [column[0] for column in result.description or []]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def load_evidence(
    warehouse: Path,
    refs: Iterable[EvidenceRef],
    events: list[ChangeEvent],
    lookback_minutes: int,
) -> dict[EvidenceRef, Evidence]:
    """Each reference's supporting rows, read from the lake in two scans."""
    refs = sorted(set(refs), key=lambda r: (r.at, r.tenant_id, r.slo_name, r.rule_name))
    found: dict[EvidenceRef, Evidence] = {
        ref: Evidence(
            events=context_for(events, ref.tenant_id, ref.service, ref.at, lookback_minutes)
        )
        for ref in refs
    }
    if not refs:
        return found
    warehouse = Path(warehouse)
    first = (refs[0].at - STEP).date()
    last = max(ref.at for ref in refs).date()
    frame = pl.DataFrame(
        [
            {"tenant_id": r.tenant_id, "slo_name": r.slo_name, "rule_name": r.rule_name, "at": r.at}
            for r in refs
        ],
        schema={
            "tenant_id": pl.String,
            "slo_name": pl.String,
            "rule_name": pl.String,
            "at": pl.Datetime("us"),
        },
    )
    evaluations = lake.scan_sql(
        warehouse,
        "fct_alert_evaluations",
        lake.existing_partition_files(warehouse, "fct_alert_evaluations", first, last),
    )
    budgets = lake.scan_sql(
        warehouse,
        "fct_error_budget",
        lake.existing_partition_files(warehouse, "fct_error_budget", first, last),
    )
    by_rule: dict[tuple[str, str, str, dt.datetime], list[EvidenceRef]] = {}
    by_slo: dict[tuple[str, str, dt.datetime], list[EvidenceRef]] = {}
    for ref in refs:
        by_rule.setdefault((ref.tenant_id, ref.slo_name, ref.rule_name, ref.at), []).append(ref)
        by_slo.setdefault((ref.tenant_id, ref.slo_name, ref.at), []).append(ref)
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        connection.register("refs", frame.to_arrow())
        for row in _rows(
            connection,
            f"""
            select refs.at as ref_at, evaluation.*
            from refs
            inner join {evaluations} as evaluation
                on evaluation.tenant_id = refs.tenant_id
                and evaluation.slo_name = refs.slo_name
                and evaluation.rule_name = refs.rule_name
                and evaluation.eval_ts between refs.at - interval 5 minute and refs.at
            order by refs.at, refs.tenant_id, refs.slo_name, refs.rule_name, evaluation.eval_ts
            """,
        ):
            at = row.pop("ref_at")
            for ref in by_rule.get((row["tenant_id"], row["slo_name"], row["rule_name"], at), []):
                found[ref].evaluations.append(row)
        for row in _rows(
            connection,
            f"""
            select distinct budget.*
            from refs
            inner join {budgets} as budget
                on budget.tenant_id = refs.tenant_id
                and budget.slo_name = refs.slo_name
                and budget.eval_ts = refs.at
            order by budget.tenant_id, budget.slo_name, budget.eval_ts
            """,
        ):
            for ref in by_slo.get((row["tenant_id"], row["slo_name"], row["eval_ts"]), []):
                found[ref].budget = row
    return found
