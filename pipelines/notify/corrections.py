"""Late data against what was already decided: what the outbox holds stands.

A cycle recomputes the steps that late rows reach, so an episode of
`fct_alert_episodes` can differ from the one whose messages the outbox already
holds: late bad rows move its start earlier, late good rows move it later or
make it vanish. One batch run over all the data would have sent the corrected
episode; a live run has already sent the first one, and a message sent is never
retracted. So, per tenant SLO and rule (for grouped alerts, the rule that opened
the alert: the outbox and the transition keys name an alert by it and its start):

1. **The same episode, moved.** A recomputed episode that overlaps an episode
   the outbox opened (the recomputed span `[start, resolved)` meets the sent
   span `[start, sent resolve)`) *is* that episode. Its transitions keep the sent
   start, so their keys are the sent keys: no second `opened`, and its
   `resolved` arrives under the key PagerDuty, Alertmanager and the threads
   already know. Its opening keeps the kind that was sent (`opened` or
   `escalated`), so a late ticket cannot turn a sent escalation into a new page.
2. **A vanished episode.** An episode the outbox opened, that no recomputed
   episode overlaps, did not happen by the corrected data. If its resolve was
   not sent, it is resolved at its tenant's `evaluated_until` (when Burnwatch
   learned it), so no page is left open for good.
3. **Every such difference is a correction record** in the audit log, with the
   sent and the recomputed episode side by side. A resolve already sent stands
   even if late rows move it; the correction says so.

The matching uses only the outbox and the recomputed episodes, so a crash
between two cycles changes nothing: the next cycle finds the same differences,
and the audit log's record ids make each correction appear once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from pipelines.notify.transitions import Transition

OPENINGS = ("opened", "escalated")
ANY_RULE = "*"


@dataclass(frozen=True)
class SentEpisode:
    """An episode as the outbox knows it: the opening and the resolve it enqueued."""

    tenant_id: str
    slo_name: str
    rule_name: str
    severity: str
    started_at: dt.datetime
    opening: str | None  # "opened" / "escalated", None if only a resolve was enqueued
    resolved_at: dt.datetime | None

    @property
    def rule_key(self) -> tuple[str, str, str]:
        return (self.tenant_id, self.slo_name, self.rule_name)


@dataclass(frozen=True)
class Correction:
    """A difference between an episode the outbox holds and the recomputed one."""

    kind: str  # "episode_moved", "opening_kind_kept", "resolve_moved" or "episode_vanished"
    sent: SentEpisode
    data_started_at: dt.datetime | None
    data_resolved_at: dt.datetime | None
    action: str

    def record(self) -> dict[str, Any]:
        """The audit record; its id names the sent episode and the recomputed one, so each
        distinct correction is written once however many cycles see it."""
        sent = self.sent
        name = f"{sent.tenant_id}|{sent.slo_name}|{sent.rule_name}|{_iso(sent.started_at)}"
        return {
            "id": (
                f"correction:{self.kind}:{name}:"
                f"{_iso(self.data_started_at)}:{_iso(self.data_resolved_at)}"
            ),
            "kind": "correction",
            "correction": self.kind,
            "tenant_id": sent.tenant_id,
            "slo_name": sent.slo_name,
            "rule_name": sent.rule_name,
            "sent": {
                "started_at": _iso(sent.started_at),
                "opening": sent.opening,
                "resolved_at": _iso(sent.resolved_at),
            },
            "data": {
                "started_at": _iso(self.data_started_at),
                "resolved_at": _iso(self.data_resolved_at),
            },
            "action": self.action,
        }


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def sent_episodes(outbox_rows: pl.DataFrame) -> list[SentEpisode]:
    """The episodes of the outbox's rule messages (one row per message: tenant_id,
    slo_name, rule_name, severity, transition, episode_started_at, transition_at);
    silences, whose rule is '-', are not episodes."""
    grouped: dict[tuple[str, str, str, dt.datetime], dict[str, Any]] = {}
    for row in outbox_rows.filter(pl.col("rule_name") != "-").iter_rows(named=True):
        key = (row["tenant_id"], row["slo_name"], row["rule_name"], row["episode_started_at"])
        episode = grouped.setdefault(
            key,
            {"severity": row["severity"], "opening": None, "opened_at": None, "resolved_at": None},
        )
        # An alert's first opening names it (an escalation follows its `opened`).
        if row["transition"] in OPENINGS and (
            episode["opening"] is None or row["transition_at"] < episode["opened_at"]
        ):
            episode["opening"] = row["transition"]
            episode["opened_at"] = row["transition_at"]
        elif row["transition"] == "resolved":
            episode["resolved_at"] = row["transition_at"]
    return [
        SentEpisode(tenant, slo, rule, e["severity"], started, e["opening"], e["resolved_at"])
        for (tenant, slo, rule, started), e in sorted(grouped.items())
    ]


def _overlaps(
    start: dt.datetime, end: dt.datetime | None, other: dt.datetime, other_end: dt.datetime | None
) -> bool:
    return (end is None or other < end) and (other_end is None or start < other_end)


def reconcile(
    transitions: list[Transition],
    sent: Iterable[SentEpisode],
    evaluated_until: Mapping[str, dt.datetime | None],
    settings: Mapping[tuple[str, str, str], Mapping[str, Any]],
) -> tuple[list[Transition], list[Correction]]:
    """The transitions to enqueue, with every recomputed episode that is a sent one under
    its sent identity, plus a `resolved` for each vanished sent episode; and the
    corrections found. Transitions of episodes the outbox does not know pass unchanged.

    `settings` (from `rule_settings`) gives, per (tenant, SLO, rule), the cohort,
    service, windows and threshold that a vanished episode's `resolved` carries."""
    by_episode: dict[tuple[str, str, str, dt.datetime], list[Transition]] = defaultdict(list)
    for transition in transitions:
        by_episode[(*_rule_key(transition), transition.episode_started_at)].append(transition)
    # Grouped alerts are one at a time per tenant SLO: a sent alert is matched whatever
    # rule opens its recomputed form (late rows may let a ticket fire first).
    sent_by_rule: dict[tuple[str, str, str], list[SentEpisode]] = defaultdict(list)
    for episode in sent:
        sent_by_rule[(episode.tenant_id, episode.slo_name, ANY_RULE)].append(episode)

    result: list[Transition] = []
    corrections: list[Correction] = []
    used: set[SentEpisode] = set()
    for (tenant, slo, rule, started), group in sorted(by_episode.items()):
        resolved = group[0].episode_resolved_at
        candidates = [s for s in sent_by_rule.get((tenant, slo, rule), []) if s not in used]
        match = next((s for s in candidates if s.started_at == started), None) or next(
            (
                s
                for s in candidates
                if s.opening is not None
                and _overlaps(started, resolved, s.started_at, s.resolved_at)
            ),
            None,
        )
        if match is None:
            result.extend(group)
            continue
        used.add(match)
        # Only the alert's first opening takes the sent opening; its escalation stays one.
        first = next((t for t in group if t.kind in OPENINGS), None)
        adopted = [_as_sent(t, match, t is first) for t in group]
        result.extend(adopted)
        corrections.extend(_differences(match, started, resolved, group))
    for episodes in sent_by_rule.values():
        for episode in episodes:
            if episode in used or episode.opening is None:
                continue
            until = evaluated_until.get(episode.tenant_id)
            if until is None or until < episode.started_at:
                continue  # not evaluated past its start yet: nothing is known to have changed
            if episode.resolved_at is not None:
                corrections.append(
                    Correction(
                        "episode_vanished",
                        episode,
                        None,
                        None,
                        "its opening and resolve were sent and stand",
                    )
                )
                continue
            result.append(_vanished_resolve(episode, until, settings.get(episode.rule_key, {})))
            corrections.append(
                Correction(
                    "episode_vanished",
                    episode,
                    None,
                    None,
                    f"resolved at {_iso(until)}: late data shows no burn in its span",
                )
            )
    order = {"opened": 0, "escalated": 0, "stepped_down": 0, "resolved": 1}
    result.sort(key=lambda t: (t.at, t.tenant_id, t.slo_name, t.rule_name, order[t.kind]))
    return result, corrections


def _rule_key(transition: Transition) -> tuple[str, str, str]:
    """What a sent alert is matched on: its tenant SLO (one alert at a time there)."""
    return (transition.tenant_id, transition.slo_name, ANY_RULE)


def _as_sent(transition: Transition, sent: SentEpisode, first_opening: bool) -> Transition:
    """The transition under the sent episode's identity: its start, and for the opening
    the kind that was sent and the time it was sent for."""
    if first_opening and sent.opening is not None:
        return dataclasses.replace(
            transition,
            episode_started_at=sent.started_at,
            alert_rule=sent.rule_name,
            kind=sent.opening,  # type: ignore[arg-type]
            at=sent.started_at,
        )
    return dataclasses.replace(
        transition, episode_started_at=sent.started_at, alert_rule=sent.rule_name
    )


def _differences(
    sent: SentEpisode,
    started: dt.datetime,
    resolved: dt.datetime | None,
    group: list[Transition],
) -> list[Correction]:
    found = []
    if started != sent.started_at:
        found.append(
            Correction(
                "episode_moved",
                sent,
                started,
                resolved,
                f"kept the sent start {_iso(sent.started_at)}: no second opening",
            )
        )
    opening = next((t.kind for t in group if t.kind in OPENINGS), None)
    if opening is not None and sent.opening is not None and opening != sent.opening:
        found.append(
            Correction(
                "opening_kind_kept",
                sent,
                started,
                resolved,
                f"kept the sent {sent.opening}; the data now says {opening}",
            )
        )
    if sent.resolved_at is not None and resolved != sent.resolved_at:
        found.append(
            Correction(
                "resolve_moved",
                sent,
                started,
                resolved,
                f"kept the resolve sent for {_iso(sent.resolved_at)}",
            )
        )
    return found


def rule_settings(
    alert_policy: pl.DataFrame, slo_specs: pl.DataFrame
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Per (tenant, SLO, rule): the cohort, service, windows and threshold in force."""
    specs = {
        (row["tenant_id"], row["slo_name"]): row
        for row in slo_specs.select("tenant_id", "slo_name", "cohort", "service").iter_rows(
            named=True
        )
    }
    settings = {}
    for row in alert_policy.iter_rows(named=True):
        spec = specs.get((row["tenant_id"], row["slo_name"]), {})
        settings[(row["tenant_id"], row["slo_name"], row["rule_name"])] = {
            "cohort": spec.get("cohort", ""),
            "service": spec.get("service", ""),
            "long_window": row["long_window"],
            "short_window": row["short_window"],
            "burn_threshold": float(row["burn_threshold"]),
        }
    return settings


def _vanished_resolve(
    sent: SentEpisode, at: dt.datetime, settings: Mapping[str, Any]
) -> Transition:
    """A `resolved` for a sent episode the data no longer has, at `at`; its peak burn
    rate is 0.0, which is what the corrected data shows over its span."""
    return Transition(
        tenant_id=sent.tenant_id,
        slo_name=sent.slo_name,
        rule_name=sent.rule_name,
        severity=sent.severity,
        cohort=str(settings.get("cohort", "")),
        service=str(settings.get("service", "")),
        long_window=str(settings.get("long_window", "")),
        short_window=str(settings.get("short_window", "")),
        burn_threshold=float(settings.get("burn_threshold", 0.0)),
        episode_started_at=sent.started_at,
        episode_resolved_at=at,
        peak_long_burn_rate=0.0,
        kind="resolved",
        at=at,
        alert_rule=sent.rule_name,
    )
