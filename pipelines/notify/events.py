"""Change events (deploys, scaling, failovers, config changes) as context for alerts.

Input: optional CSV files `<data>/events/*.csv` with a header row and the columns

    ts,tenant_id,service,kind,description
    2026-10-02T09:21:00Z,acme,api,deploy,v2.3
    2026-10-02T09:40:00Z,*,db,failover,primary moved to eu-west-1b

`ts` is ISO 8601 (a zone suffix is converted to UTC; none means UTC);
`tenant_id` is a tenant or `*` for all; `service` a service or `*`;
`kind` one of deploy, scale, failover, config. An event is context for a
transition of the same tenant (or `*`) and the SLO's service (or `*`) when it
happened within `notifications.events.lookback_minutes` before the transition.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from schemas.errors import BurnwatchInputError

COLUMNS = ("ts", "tenant_id", "service", "kind", "description")
KINDS = ("deploy", "scale", "failover", "config")
LAKE_TABLE = "change_events"
LAKE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "ts": pl.Datetime("us"),
    "tenant_id": pl.String,
    "service": pl.String,
    "kind": pl.String,
    "description": pl.String,
    "source": pl.String,
}


@dataclass(frozen=True)
class ChangeEvent:
    ts: dt.datetime
    tenant_id: str
    service: str
    kind: str
    description: str
    source: str  # file:line, for the audit trail

    def applies_to(self, tenant: str, service: str) -> bool:
        return self.tenant_id in ("*", tenant) and self.service in ("*", service)

    def describe(self, at: dt.datetime, severity: str) -> str:
        """'deploy api v2.3 at 09:21, 4 min before the page'."""
        minutes = int((at - self.ts).total_seconds() // 60)
        subject = " ".join(part for part in (self.kind, self.service, self.description) if part)
        return f"{subject} at {self.ts:%H:%M}, {minutes} min before the {severity}"


def _parse_ts(text: str, where: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BurnwatchInputError(
            f"{where}: ts {text!r} is not an ISO 8601 time like 2026-10-02T09:21:00Z"
        ) from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def read_change_events(data_dir: Path) -> list[ChangeEvent]:
    """Every change event under `<data>/events/`, oldest first; bad rows name file and line."""
    folder = Path(data_dir) / "events"
    if not folder.is_dir():
        return []
    events: list[ChangeEvent] = []
    for path in sorted(folder.glob("*.csv")):
        events.extend(_read_file(path, data_dir))
    return sorted(events, key=lambda e: (e.ts, e.tenant_id, e.service, e.kind, e.source))


def _read_file(path: Path, data_dir: Path) -> list[ChangeEvent]:
    """The events of one CSV file; BurnwatchInputError names the file and line."""
    try:
        return _parse_file(path, data_dir)
    except UnicodeDecodeError as error:
        raise BurnwatchInputError(
            f"{path}: not UTF-8 text (byte {error.start}: {error.reason})"
        ) from None
    except csv.Error as error:
        raise BurnwatchInputError(f"{path}: not a CSV file: {error}") from None


def _parse_file(path: Path, data_dir: Path) -> list[ChangeEvent]:
    events: list[ChangeEvent] = []
    # utf-8-sig: a spreadsheet's byte-order mark is not part of the first column's name.
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in COLUMNS if name not in (reader.fieldnames or [])]
        if missing:
            raise BurnwatchInputError(
                f"{path}:1: missing column(s) {', '.join(missing)} "
                f"(expected header {','.join(COLUMNS)})"
            )
        for row in reader:
            where = f"{path}:{reader.line_num}"
            kind = (row["kind"] or "").strip()
            if kind not in KINDS:
                raise BurnwatchInputError(
                    f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}"
                )
            tenant = (row["tenant_id"] or "").strip()
            if not tenant:
                raise BurnwatchInputError(f"{where}: tenant_id is empty (use * for all)")
            events.append(
                ChangeEvent(
                    ts=_parse_ts(row["ts"] or "", where),
                    tenant_id=tenant,
                    service=(row["service"] or "").strip() or "*",
                    kind=kind,
                    description=(row["description"] or "").strip(),
                    source=f"{os.path.relpath(path, data_dir)}:{reader.line_num}",
                )
            )
    return events


def events_frame(events: list[ChangeEvent]) -> pl.DataFrame:
    """The events as rows of the lake table `change_events`."""
    return pl.DataFrame(
        [
            {
                "ts": e.ts,
                "tenant_id": e.tenant_id,
                "service": e.service,
                "kind": e.kind,
                "description": e.description,
                "source": e.source,
            }
            for e in events
        ],
        schema=LAKE_SCHEMA,
    )


def events_from_frame(frame: pl.DataFrame) -> list[ChangeEvent]:
    return [ChangeEvent(**row) for row in frame.iter_rows(named=True)]


def context_for(
    events: list[ChangeEvent], tenant: str, service: str, at: dt.datetime, lookback_minutes: int
) -> list[ChangeEvent]:
    """The events that may explain a transition at `at`: same tenant and service, shortly before."""
    since = at - dt.timedelta(minutes=lookback_minutes)
    return [e for e in events if since <= e.ts <= at and e.applies_to(tenant, service)]
