"""Whether a day partition's inputs have changed since it was written.

A cycle recomputes the days that its new logs touch. A model whose partition of
day D reads only earlier days (the cohort thresholds: the history days *before*
D) would then be recomputed from unchanged inputs on every cycle of D, at a cost
that grows with its history. So each write of such a partition records a
fingerprint of what it read, and a later build of that partition with the same
fingerprint keeps the partition as it is.

The fingerprint covers, per lake input of the model's entry in the registry:

- for partitioned inputs, every partition file its lookback reaches from D, by
  path inside the warehouse, size and modification time (a recomputed partition is a new file);
- for whole tables (small, and rewritten every run), their content;

plus the parameters the model is bound with. The records live in
`<warehouse>/state/fingerprints/<table>/<day>.sha256`, outside the lake.

A whole table that is extended rather than recomputed (`fct_alert_episodes`)
records instead the stamp (size and modification time) of each partition it
read, so that its next build knows the first day that changed
(`first_changed_day`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipelines.models.registry import Model, Reach
from pipelines.warehouse import lake
from pipelines.warehouse.atomic import atomic_path

FINGERPRINT_DIR = Path("state") / "fingerprints"


def _record_path(warehouse: Path, table: str, day: dt.date) -> Path:
    return Path(warehouse) / FINGERPRINT_DIR / table / f"{day.isoformat()}.sha256"


def fingerprint(
    warehouse: Path,
    entry: Model,
    day: dt.date,
    params: Mapping[str, object],
    history_days: int = 0,
    longest_period_days: int = 0,
) -> str:
    """A digest of everything the partition `day` of `entry` reads (see the module doc)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(params, sort_keys=True, default=str).encode())
    for source in sorted(entry.lake_inputs(), key=lambda s: s.table):
        digest.update(f"\0{source.table}\0".encode())
        if source.lookback.reach is Reach.WHOLE:
            whole = lake.partition_path(warehouse, source.table, None)
            files = [str(whole)] if whole.is_file() else []
            files += lake.existing_partition_files(
                warehouse, source.table, dt.date.min, dt.date.max
            )
            for name in files:
                digest.update(_relative(warehouse, name))
                digest.update(Path(name).read_bytes())
            continue
        first = source.lookback.first_day(day, longest_period_days, history_days)
        for name in lake.existing_partition_files(
            warehouse, source.table, first, source.lookback.last_day(day)
        ):
            stat = Path(name).stat()
            digest.update(_relative(warehouse, name))
            digest.update(f"\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _relative(warehouse: Path, name: str) -> bytes:
    """A partition's path inside the warehouse: a moved or copied warehouse (the catalog is
    portable, README) keeps its fingerprints."""
    return Path(name).relative_to(Path(warehouse)).as_posix().encode()


def is_unchanged(warehouse: Path, entry: Model, day: dt.date, current: str) -> bool:
    """Whether the partition exists and was written from inputs with this fingerprint."""
    record = _record_path(warehouse, entry.name, day)
    return (
        lake.partition_path(warehouse, entry.name, day).is_file()
        and record.is_file()
        and record.read_text(encoding="ascii").strip() == current
    )


def remember(warehouse: Path, entry: Model, day: dt.date, current: str) -> None:
    """Record the fingerprint of the partition just written (after the write: a crash in
    between leaves no record, so the next build recomputes)."""
    record = _record_path(warehouse, entry.name, day)
    record.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(record) as temporary:
        Path(temporary).write_text(current + "\n", encoding="ascii")


def partition_stamps(warehouse: Path, table: str) -> dict[str, str]:
    """Each partition of a daily table by day, stamped with its size and modification time."""
    stamps = {}
    for day in lake.partition_days(warehouse, table):
        stat = lake.partition_path(warehouse, table, day).stat()
        stamps[day.isoformat()] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return stamps


def _stamps_path(warehouse: Path, table: str, source: str) -> Path:
    return Path(warehouse) / FINGERPRINT_DIR / table / f"{source}.json"


@dataclass(frozen=True)
class BuiltFrom:
    """What an extended table was built from: its parameters, and the stamp of each
    partition of its source by day (`partition_stamps`)."""

    parameters: str
    partitions: Mapping[str, str]


def first_changed_day(
    warehouse: Path, table: str, source: str, current: BuiltFrom
) -> dt.date | None:
    """The first day whose partition of `source` differs from (or was added to, or removed
    from) what `table` was last built from; `dt.date.min` when there is no record or the
    parameters changed (build everything), None when nothing changed."""
    path = _stamps_path(warehouse, table, source)
    if not path.is_file():
        return dt.date.min
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("parameters") != current.parameters:
        return dt.date.min
    previous: dict[str, str] = record.get("partitions", {})
    now = current.partitions
    changed = sorted(day for day in set(previous) | set(now) if previous.get(day) != now.get(day))
    return dt.date.fromisoformat(changed[0]) if changed else None


def remember_built_from(warehouse: Path, table: str, source: str, current: BuiltFrom) -> None:
    """Record what `table` was just built from (after its write, as `remember`)."""
    path = _stamps_path(warehouse, table, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"parameters": current.parameters, "partitions": dict(current.partitions)}
    with atomic_path(path) as temporary:
        Path(temporary).write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
