"""Alert episodes -> transitions: what happened to an alert, and when.

Every episode of `fct_alert_episodes` gives:

- `opened` at `started_at`; but a *page* episode that starts while a *ticket*
  episode of the same tenant SLO is already open (it started strictly earlier
  and has not resolved) is `escalated` instead: the slow burn that was a ticket
  has become fast enough to page. It replaces `opened`, so one page is one message.
- `resolved` at `resolved_at`, once the episode has resolved.

A transition's key, `tenant|slo|rule|episode start|transition`, names it for
good: recomputing the episodes gives the same keys, which is what makes the
outbox idempotent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from schemas.routing import TransitionKind


@dataclass(frozen=True)
class Transition:
    tenant_id: str
    slo_name: str
    rule_name: str
    severity: str
    cohort: str
    service: str
    long_window: str
    short_window: str
    burn_threshold: float
    episode_started_at: dt.datetime
    episode_resolved_at: dt.datetime | None
    peak_long_burn_rate: float
    kind: TransitionKind
    at: dt.datetime
    # The open ticket rule a page escalated from (escalated only).
    escalated_from: str | None = None

    @property
    def key(self) -> str:
        """`tenant|slo|rule|episode start|transition`: stable across recomputations."""
        started = self.episode_started_at.isoformat(timespec="seconds")
        return f"{self.tenant_id}|{self.slo_name}|{self.rule_name}|{started}|{self.kind}"


def _open_ticket(tickets: list[dict[str, object]], started_at: dt.datetime) -> str | None:
    """The rule of a ticket episode open just before `started_at`, if any (earliest first)."""
    for ticket in tickets:
        ticket_start = ticket["started_at"]
        ticket_end = ticket["resolved_at"]
        assert isinstance(ticket_start, dt.datetime)
        if ticket_start < started_at and (
            ticket_end is None or (isinstance(ticket_end, dt.datetime) and started_at < ticket_end)
        ):
            return str(ticket["rule_name"])
    return None


def compute_transitions(episodes: pl.DataFrame, slo_specs: pl.DataFrame) -> list[Transition]:
    """Every transition of every episode, ordered by time, then tenant, SLO, rule and kind."""
    specs = {(row["tenant_id"], row["slo_name"]): row for row in slo_specs.iter_rows(named=True)}
    rows = episodes.sort("tenant_id", "slo_name", "started_at", "rule_name").to_dicts()
    tickets_by_slo: dict[tuple[str, str], list[dict[str, object]]] = {}
    for row in rows:
        if row["severity"] == "ticket":
            tickets_by_slo.setdefault((row["tenant_id"], row["slo_name"]), []).append(row)
    transitions: list[Transition] = []
    for row in rows:
        spec = specs.get((row["tenant_id"], row["slo_name"]), {})
        escalated_from = None
        if row["severity"] == "page":
            escalated_from = _open_ticket(
                tickets_by_slo.get((row["tenant_id"], row["slo_name"]), []), row["started_at"]
            )
        common = {
            "tenant_id": row["tenant_id"],
            "slo_name": row["slo_name"],
            "rule_name": row["rule_name"],
            "severity": row["severity"],
            "cohort": str(spec.get("cohort", "")),
            "service": str(spec.get("service", "")),
            "long_window": row["long_window"],
            "short_window": row["short_window"],
            "burn_threshold": float(row["burn_threshold"]),
            "episode_started_at": row["started_at"],
            "episode_resolved_at": row["resolved_at"],
            "peak_long_burn_rate": float(row["peak_long_burn_rate"]),
        }
        transitions.append(
            Transition(
                **common,
                kind="escalated" if escalated_from else "opened",
                at=row["started_at"],
                escalated_from=escalated_from,
            )
        )
        if row["resolved_at"] is not None:
            transitions.append(Transition(**common, kind="resolved", at=row["resolved_at"]))
    order = {"opened": 0, "escalated": 0, "resolved": 1}
    return sorted(
        transitions,
        key=lambda t: (t.at, t.tenant_id, t.slo_name, t.rule_name, order[t.kind]),
    )
