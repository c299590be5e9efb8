"""The lake rows that support a transition, and the content hash that pins them.

A transition at `t` of rule `r` rests on the rule's evaluation rows at `t` and
at the step before (`t - 5m`: it fired at one and not at the other), on the
SLO's error budget row at `t`, on the change events that give it context, and
on the alert's top operations by bad requests in the long window of the rule that
opened or escalated it (fct_alert_contributors).
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
    # The alert's start and which of its long windows names its contributors: opened,
    # escalated, or latest (a resolution: the escalation's if any). None in records
    # written before contributors were evidence, whose hashes must still verify.
    alert_started_at: dt.datetime | None = None
    basis: str | None = None

    def as_dict(self) -> dict[str, str]:
        found = {
            "tenant_id": self.tenant_id,
            "slo_name": self.slo_name,
            "rule_name": self.rule_name,
            "service": self.service,
            "at": self.at.isoformat(),
        }
        if self.alert_started_at is not None and self.basis is not None:
            found["alert_started_at"] = self.alert_started_at.isoformat()
            found["basis"] = self.basis
        return found

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> EvidenceRef:
        started = data.get("alert_started_at")
        return cls(
            tenant_id=data["tenant_id"],
            slo_name=data["slo_name"],
            rule_name=data["rule_name"],
            service=data["service"],
            at=dt.datetime.fromisoformat(data["at"]),
            alert_started_at=dt.datetime.fromisoformat(started) if started else None,
            basis=data.get("basis"),
        )


@dataclass
class Evidence:
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    budget: dict[str, Any] | None = None
    events: list[ChangeEvent] = field(default_factory=list)
    # fct_alert_contributors rows, by operation_rank; None: not part of this evidence.
    contributors: list[dict[str, Any]] | None = None

    def at(self, when: dt.datetime) -> dict[str, Any] | None:
        """The rule's evaluation row at `when`, if the lake has one."""
        return next((row for row in self.evaluations if row["eval_ts"] == when), None)

    def inputs(self) -> dict[str, Any]:
        contributors = (
            {} if self.contributors is None else {"fct_alert_contributors": self.contributors}
        )
        return {
            **contributors,
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
            events=context_for(events, ref.tenant_id, ref.service, ref.at, lookback_minutes),
            contributors=None if ref.basis is None else [],
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
        _add_contributors(connection, warehouse, [ref for ref in refs if ref.basis], found)
    return found


def _add_contributors(
    connection: duckdb.DuckDBPyConnection,
    warehouse: Path,
    refs: list[EvidenceRef],
    found: dict[EvidenceRef, Evidence],
) -> None:
    """Each ref's alert's contributors of its basis (latest: escalated if the alert has
    them, else opened), read from the whole fct_alert_contributors (a few rows an alert)."""
    if not refs:
        return
    contributors = lake.scan_sql(warehouse, "fct_alert_contributors")
    by_alert: dict[tuple[str, str, dt.datetime], dict[str, list[dict[str, Any]]]] = {}
    wanted = pl.DataFrame(
        [
            {"tenant_id": r.tenant_id, "slo_name": r.slo_name, "at": r.alert_started_at}
            for r in refs
        ],
        schema={"tenant_id": pl.String, "slo_name": pl.String, "at": pl.Datetime("us")},
    ).unique()
    connection.register("alert_refs", wanted.to_arrow())
    for row in _rows(
        connection,
        f"""
        select contributor.*
        from {contributors} as contributor
        semi join alert_refs
            on contributor.tenant_id = alert_refs.tenant_id
            and contributor.slo_name = alert_refs.slo_name
            and contributor.started_at = alert_refs.at
        order by contributor.tenant_id, contributor.slo_name, contributor.started_at,
            contributor.basis, contributor.operation_rank
        """,
    ):
        alert = (row["tenant_id"], row["slo_name"], row["started_at"])
        by_alert.setdefault(alert, {}).setdefault(row["basis"], []).append(row)
    for ref in refs:
        if ref.alert_started_at is None:
            continue
        bases = by_alert.get((ref.tenant_id, ref.slo_name, ref.alert_started_at), {})
        basis = ref.basis
        if basis == "latest":
            basis = "escalated" if "escalated" in bases else "opened"
        found[ref].contributors = bases.get(basis or "opened", [])
