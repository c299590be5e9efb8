"""Grouped alerts -> transitions: what happened to an alert, and when.

Messages come from `fct_alerts`, one alert per tenant SLO incident (its rules
grouped, with a cooldown), so one incident is one page. Every alert gives:

- `opened` at `started_at`, at the severity it opened with, named after the rule
  that opened it;
- `escalated` at `escalated_at` when it opened as a ticket and a page rule fired
  later: an update of the same alert (same PagerDuty dedup_key, same
  Alertmanager labels, a reply in the same email thread), never a new one;
- `stepped_down` at `stepped_down_at` when a paging alert's page rules stopped
  (past the page cooldown) while ticket rules still fire: one update of the
  same alert, now a ticket, to the routes of both severities (the pager learns
  the page is over, the ticket queue that it is theirs). Its key is the alert's,
  so it is sent once however often the alert steps down;
- `resolved` at `resolved_at`, a cooldown after the last rule fired. It goes to
  the routes of every severity the alert had, so a channel that got its opening
  or its escalation also gets its end.

A transition's key, `tenant|slo|opening rule|alert start|transition`, names it
for good: the alert's start and opening rule are fixed at its first step, so
the keys stay the same as the alert grows, escalates or cools down, and
recomputing gives the same keys, which is what makes the outbox idempotent.

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
    # The rule that opened the alert: its name in keys, whatever rule a transition is about.
    alert_rule: str | None = None
    # The severities whose routes take the transition (default: its own severity).
    route_severities: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """`tenant|slo|opening rule|alert start|transition`: stable across recomputations."""
        return self.key_of(self.kind)

    def key_of(self, kind: str) -> str:
        """The key of the alert's transition `kind` (the opening of a thread, say)."""
        started = self.episode_started_at.isoformat(timespec="seconds")
        rule = self.alert_rule or self.rule_name
        return f"{self.tenant_id}|{self.slo_name}|{rule}|{started}|{kind}"

    @property
    def severities(self) -> tuple[str, ...]:
        """The severities whose routes take this transition."""
        return self.route_severities or (self.severity,)


def compute_transitions(alerts: pl.DataFrame, slo_specs: pl.DataFrame) -> list[Transition]:
    """Every transition of every alert of `fct_alerts`, ordered by time, then tenant, SLO,
    opening rule and kind (opened and escalated before resolved)."""
    specs = {(row["tenant_id"], row["slo_name"]): row for row in slo_specs.iter_rows(named=True)}
    transitions: list[Transition] = []
    for row in alerts.sort("tenant_id", "slo_name", "started_at").iter_rows(named=True):
        spec = specs.get((row["tenant_id"], row["slo_name"]), {})
        common = {
            "tenant_id": row["tenant_id"],
            "slo_name": row["slo_name"],
            "cohort": str(spec.get("cohort", "")),
            "service": str(spec.get("service", "")),
            "episode_started_at": row["started_at"],
            "episode_resolved_at": row["resolved_at"],
            "peak_long_burn_rate": float(row["peak_long_burn_rate"]),
            "alert_rule": row["opened_rule"],
        }
        opening = {
            "rule_name": row["opened_rule"],
            "long_window": row["opened_long_window"],
            "short_window": row["opened_short_window"],
            "burn_threshold": float(row["opened_burn_threshold"]),
        }
        transitions.append(
            Transition(
                **common,
                **opening,
                severity=row["opened_severity"],
                kind="opened",
                at=row["started_at"],
            )
        )
        escalation = opening
        if row["escalated_at"] is not None:
            escalation = {
                "rule_name": row["escalated_rule"],
                "long_window": row["escalated_long_window"],
                "short_window": row["escalated_short_window"],
                "burn_threshold": float(row["escalated_burn_threshold"]),
            }
            transitions.append(
                Transition(
                    **common,
                    **escalation,
                    severity="page",
                    kind="escalated",
                    at=row["escalated_at"],
                    escalated_from=row["opened_rule"],
                )
            )
        if row["stepped_down_at"] is not None:
            # Named after the page rule that stopped: the ticket rules still firing are
            # not one rule, and the message says that the page is over.
            transitions.append(
                Transition(
                    **common,
                    **escalation,
                    severity="ticket",
                    kind="stepped_down",
                    at=row["stepped_down_at"],
                    route_severities=("page", "ticket"),
                )
            )
        if row["resolved_at"] is not None:
            # Told about the most severe rule it had, on the routes of every severity it had.
            severities = tuple(dict.fromkeys((row["peak_severity"], row["opened_severity"])))
            transitions.append(
                Transition(
                    **common,
                    **escalation,
                    severity=row["peak_severity"],
                    kind="resolved",
                    at=row["resolved_at"],
                    route_severities=severities,
                )
            )
    order = {"opened": 0, "escalated": 0, "stepped_down": 0, "resolved": 1}
    return sorted(
        transitions,
        key=lambda t: (t.at, t.tenant_id, t.slo_name, t.alert_rule or t.rule_name, order[t.kind]),
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
