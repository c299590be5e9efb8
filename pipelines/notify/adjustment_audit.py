"""Budget adjustments in the audit log: when each came into force, and when it was withdrawn.

An adjustment hides requests from budgets and alerts, so who decided it and why
belongs beside the alert decisions. Each run's notifications step compares the
manifest's `adjustments:` with the log:

- an adjustment in the manifest that the log does not hold in force gets an
  `adjustment` record (tenant, SLO, start, end, reason, its place in the manifest);
- one the log holds in force that the manifest no longer lists gets an
  `adjustment_withdrawn` record, with the same fields.

Records are keyed by the adjustment's content hash (`adjustment_id`) and an
occurrence number, so a re-run appends nothing, and an adjustment withdrawn and
listed again is recorded again. Like a decision, a record holds no wall-clock
time: the same manifest and log give the same records.

An adjustment laid over the past recomputes steps that were already decided, so
the lake rows behind those decisions change. `burnwatch audit verify` does not
report a decision whose inputs changed when the log explains it: a later
`adjustment` or `adjustment_withdrawn` record of its tenant SLO (or `all`) that
starts before the decision's step, the only requests its windows and budget read
(`explained_by_adjustment`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schemas.manifest import ADJUST_ALL, Adjustment

if TYPE_CHECKING:  # audit imports this module; only the type is needed here
    from pipelines.notify.audit import Line

ADDED = "adjustment"
WITHDRAWN = "adjustment_withdrawn"


def _fields(index: int, adjustment: Adjustment) -> dict[str, Any]:
    return {
        "adjustment_id": adjustment.adjustment_id,
        "tenant_id": adjustment.tenant,
        "slo_name": adjustment.slo,
        "at": adjustment.starts_at.isoformat(),
        "start": adjustment.starts_at.isoformat(),
        "end": adjustment.ends_at.isoformat(),
        "reason": adjustment.reason,
        "manifest_index": index,
    }


def adjustment_records(
    lines: Sequence[Line], adjustments: list[Adjustment]
) -> list[dict[str, Any]]:
    """The records to append to the log of `lines` so that it holds in force exactly
    `adjustments` (the manifest's): new ones first, in manifest order, then the withdrawn,
    by id."""
    in_force: dict[str, dict[str, Any]] = {}
    occurrences: dict[tuple[str, str], int] = {}
    for line in lines:
        record = line.record or {}
        kind = record.get("kind")
        if kind not in (ADDED, WITHDRAWN):
            continue
        key = str(record["adjustment_id"])
        occurrences[(kind, key)] = occurrences.get((kind, key), 0) + 1
        if kind == ADDED:
            in_force[key] = record
        else:
            in_force.pop(key, None)
    listed = {adjustment.adjustment_id for adjustment in adjustments}
    out: list[dict[str, Any]] = []
    for index, adjustment in enumerate(adjustments):
        key = adjustment.adjustment_id
        if key in in_force:
            continue
        number = occurrences.get((ADDED, key), 0) + 1
        out.append({"id": f"{ADDED}:{key}#{number}", "kind": ADDED, **_fields(index, adjustment)})
    for key in sorted(set(in_force) - listed):
        number = occurrences.get((WITHDRAWN, key), 0) + 1
        kept = {
            name: in_force[key][name]
            for name in ("adjustment_id", "tenant_id", "slo_name", "at", "start", "end", "reason")
        }
        out.append({"id": f"{WITHDRAWN}:{key}#{number}", "kind": WITHDRAWN, **kept})
    return out


@dataclass(frozen=True)
class AdjustmentChange:
    """An adjustment record of the log: where it is, whom it covers, when it starts."""

    seq: int
    tenant_id: str
    slo_name: str
    start: dt.datetime


def adjustment_changes(lines: Sequence[Line]) -> list[AdjustmentChange]:
    """Every `adjustment` and `adjustment_withdrawn` record of the log, in order."""
    return [
        AdjustmentChange(
            int(record["seq"]),
            str(record["tenant_id"]),
            str(record["slo_name"]),
            dt.datetime.fromisoformat(str(record["start"])),
        )
        for line in lines
        if (record := line.record or {}).get("kind") in (ADDED, WITHDRAWN)
    ]


def explained_by_adjustment(changes: Sequence[AdjustmentChange], decision: dict[str, Any]) -> bool:
    """Whether an adjustment recorded after `decision` (a decision record) may have changed
    the rows it rests on: one of its tenant SLO that starts before its step."""
    at = dt.datetime.fromisoformat(str(decision["at"]))
    return any(
        change.seq > int(decision["seq"])
        and change.tenant_id in (ADJUST_ALL, decision["tenant_id"])
        and change.slo_name in (ADJUST_ALL, decision["slo_name"])
        and change.start < at
        for change in changes
    )
