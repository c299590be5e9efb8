"""Which days a changed list of budget adjustments makes stale, for the next cycle.

A budget adjustment (the manifest's `adjustments:`) changes what int_sli_buckets
counts on the days it covers, and so every window and budget from there on. The
ingest ledger only sees request files; this module lets a cycle see the manifest's
adjustments too.

`<warehouse>/state/adjustment_days.json` holds, per day that adjustments covered
when it was last computed, a digest of those adjustments cut to that day (tenant,
SLO, start, end: the reason changes nothing that is computed). A day without an
entry was computed without adjustments. A cycle compares it with the manifest's
adjustments: a day whose digest differs (an adjustment added, removed, moved or
widened over it: the old range and the new) is recomputed, with every day after it
(pipelines/ingest/ledger.py). The record is written only after a run succeeded,
and only for the days that run computed, so a failed or partial run leaves the
other days to the next cycle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from pipelines.warehouse.atomic import atomic_path
from schemas.manifest import ResolvedAdjustment

RECORD_FILE = Path("state") / "adjustment_days.json"
_DAY = dt.timedelta(days=1)


def record_path(warehouse: Path) -> Path:
    return Path(warehouse) / RECORD_FILE


def day_digests(adjustments: Iterable[ResolvedAdjustment]) -> dict[str, str]:
    """Per ISO day that an adjustment covers, a digest of the adjustments cut to that day."""
    pieces: dict[str, set[str]] = {}
    for adjustment in adjustments:
        day = adjustment.starts_at.date()
        while dt.datetime.combine(day, dt.time()) < adjustment.ends_at:
            start = max(adjustment.starts_at, dt.datetime.combine(day, dt.time()))
            end = min(adjustment.ends_at, dt.datetime.combine(day + _DAY, dt.time()))
            piece = "|".join(
                (adjustment.tenant_id, adjustment.slo_name, start.isoformat(), end.isoformat())
            )
            pieces.setdefault(day.isoformat(), set()).add(piece)
            day += _DAY
    return {
        day: hashlib.sha256("\n".join(sorted(found)).encode("utf-8")).hexdigest()
        for day, found in pieces.items()
    }


def _read(warehouse: Path) -> dict[str, str]:
    path = record_path(warehouse)
    if not path.is_file():
        return {}
    recorded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return recorded


def changed_days(warehouse: Path, adjustments: Iterable[ResolvedAdjustment]) -> set[dt.date]:
    """The days whose adjustments differ from those they were last computed with."""
    previous, current = _read(warehouse), day_digests(adjustments)
    return {
        dt.date.fromisoformat(day)
        for day in set(previous) | set(current)
        if previous.get(day) != current.get(day)
    }


def commit(
    warehouse: Path, adjustments: Iterable[ResolvedAdjustment], first: dt.date, last: dt.date
) -> None:
    """Record that days [first, last] were just computed with `adjustments`."""
    recorded: Mapping[str, str] = _read(warehouse)
    current = day_digests(adjustments)
    kept = {
        day: digest
        for day, digest in recorded.items()
        if not first <= dt.date.fromisoformat(day) <= last
    }
    kept |= {
        day: digest
        for day, digest in current.items()
        if first <= dt.date.fromisoformat(day) <= last
    }
    path = record_path(warehouse)
    if not kept and not path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        Path(temporary).write_text(json.dumps(kept, sort_keys=True, indent=0), encoding="utf-8")
