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

Silence (`int_tenant_horizons.silent`) gives each SLO of the tenant:

- `no_data` when a run sees the tenant silent and the outbox holds no open
  silence for that SLO; key `tenant|slo|-|<since>|no_data`, where `since` is the
  tenant's `data_until` at detection (to the second), or `never` when it has no
  logs at all. The horizon is not used for `never`: it moves every run, so a
  crash between enqueueing and recording the silence would give a second key.
- `data_resumed` when a later run sees it no longer silent while that silence
  is open; same `since`, so the pair names one silence.

Whether a silence is open is the outbox's own record (`silences`), never
recomputed from the data: late rows that move `data_until` while the tenant is
still silent do not announce a second silence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from schemas.routing import TransitionKind

NO_RULE = "-"  # the rule part of a silence's key: a silence is the tenant's, not a rule's
NEVER = "never"  # the silence start of a tenant that has no logs at all


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


@dataclass(frozen=True)
class OpenSilence:
    """A silence announced by `no_data` and not yet ended by `data_resumed` (the outbox's)."""

    tenant_id: str
    slo_name: str
    since: str
    started_at: dt.datetime


@dataclass(frozen=True)
class SilenceTransition:
    """`no_data` or `data_resumed` for one SLO of a tenant whose logs stopped or came back."""

    tenant_id: str
    slo_name: str
    severity: str
    cohort: str
    service: str
    kind: TransitionKind
    # The silence's name in keys: `data_until` at detection (ISO, seconds) or `never`.
    since: str
    # When the silence began: its `data_until`, or (never) the horizon that first saw it.
    started_at: dt.datetime
    at: dt.datetime  # the horizon of the run that saw it start or end
    data_until: dt.datetime | None
    horizon: dt.datetime | None
    max_silence_minutes: int
    # The int_tenant_horizons row it was decided from (the audit record's inputs).
    horizon_row: dict[str, object]
    rule_name: str = NO_RULE

    @property
    def key(self) -> str:
        """`tenant|slo|-|since|transition`: one silence, one no_data, one data_resumed."""
        return f"{self.tenant_id}|{self.slo_name}|{NO_RULE}|{self.since}|{self.kind}"

    @property
    def episode_started_at(self) -> dt.datetime:
        return self.started_at


AnyTransition = Transition | SilenceTransition


def silence_since(data_until: dt.datetime | None) -> str:
    return NEVER if data_until is None else data_until.isoformat(timespec="seconds")


def compute_silences(
    horizons: pl.DataFrame,
    slo_specs: pl.DataFrame,
    open_silences: dict[tuple[str, str], OpenSilence],
    severity: str,
) -> list[SilenceTransition]:
    """The no_data / data_resumed transitions this run owes, given the open silences.

    A tenant without a row in `horizons` (none computed yet) changes nothing.
    """
    rows = {row["tenant_id"]: row for row in horizons.iter_rows(named=True)}
    found: list[SilenceTransition] = []
    for spec in slo_specs.sort("tenant_id", "slo_name").iter_rows(named=True):
        tenant, slo = spec["tenant_id"], spec["slo_name"]
        row = rows.get(tenant)
        if row is None:
            continue
        opened = open_silences.get((tenant, slo))
        if row["silent"] and opened is None:
            kind: TransitionKind = "no_data"
            since = silence_since(row["data_until"])
            started = row["data_until"] or row["horizon"]
        elif not row["silent"] and opened is not None:
            kind, since, started = "data_resumed", opened.since, opened.started_at
        else:
            continue
        at = row["horizon"] or started
        if started is None or at is None:
            continue  # no data anywhere yet: nothing to date a silence by
        found.append(
            SilenceTransition(
                tenant_id=tenant,
                slo_name=slo,
                severity=severity,
                cohort=str(spec.get("cohort", "")),
                service=str(spec.get("service", "")),
                kind=kind,
                since=since,
                started_at=started,
                at=at,
                data_until=row["data_until"],
                horizon=row["horizon"],
                max_silence_minutes=int(row["max_silence_minutes"]),
                horizon_row=dict(row),
            )
        )
    return sorted(found, key=lambda t: (t.at, t.tenant_id, t.slo_name, t.kind))
