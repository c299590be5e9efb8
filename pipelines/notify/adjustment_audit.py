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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.notify.audit import read_lines
from schemas.manifest import Adjustment

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


def adjustment_records(log_path: Path, adjustments: list[Adjustment]) -> list[dict[str, Any]]:
    """The records to append so that the log holds in force exactly `adjustments` (the
    manifest's): new ones first, in manifest order, then the withdrawn, by id."""
    in_force: dict[str, dict[str, Any]] = {}
    occurrences: dict[tuple[str, str], int] = {}
    for line in read_lines(log_path):
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
