"""The ingest ledger: which request files the warehouse has counted, so a cycle reads only
what is new or changed.

`<warehouse>/state/ingest_ledger.parquet` holds one row per request file that a
successful run counted: its path (relative to the data folder), partition
folders, size, modification time and SHA-256, and the run that counted it.

A cycle (`burnwatch run` without --start/--end on a warehouse that has a ledger)
compares the data folder with it:

- a file not in the ledger is **new**; one whose size or mtime differ is hashed,
  and is **changed** if its hash differs (a touched file is not);
- a ledger file that is gone is an error: its rows are counted in the lake, and
  recomputing without them would silently drop them, so the cycle stops and
  names it (restore it, or run with --full to recount without it);
- the days to recompute are those the new and changed files' rows fall in
  (their footers' ts statistics, within the folder's skew window), through the
  newest day with logs, since a late bucket moves every later window and budget;
  when a new day folder extends the data, the old last day too (its quarantine
  held the rows past it as `outside_computed_range`);
- the days that a changed list of budget adjustments covers (old and new ranges,
  pipelines/ingest/adjustment_days.py) are recomputed too, new files or not.

The ledger is written only after the run succeeded, and only with files whose
status-change time (ctime, which copying with preserved mtimes cannot fake) is
before the run started: a file that lands during a run is new to the next one.
A killed run leaves the ledger as it was, so the next cycle does its work again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from pipelines.ingest import adjustment_days
from pipelines.ingest.files import RequestFile
from pipelines.warehouse import lake
from pipelines.warehouse.atomic import atomic_path
from schemas.errors import BurnwatchInputError
from schemas.manifest import ResolvedAdjustment

LEDGER_FILE = Path("state") / "ingest_ledger.parquet"

_SCHEMA = {
    "path": pl.String,
    "tenant_id": pl.String,
    "folder_day": pl.Date,
    "size_bytes": pl.Int64,
    "mtime_ns": pl.Int64,
    "sha256": pl.String,
    "run_id": pl.String,
}


@dataclass(frozen=True)
class LedgerEntry:
    path: str
    tenant_id: str
    folder_day: dt.date
    size_bytes: int
    mtime_ns: int
    sha256: str
    run_id: str


@dataclass(frozen=True)
class CyclePlan:
    """What a cycle must do: the files it brings and the days they make stale."""

    new: tuple[RequestFile, ...]
    changed: tuple[RequestFile, ...]
    days: tuple[dt.date, ...]
    # Days (with logs) whose budget adjustments changed since they were computed.
    adjusted: tuple[dt.date, ...] = ()

    @property
    def has_work(self) -> bool:
        return bool(self.new or self.changed)


def ledger_path(warehouse: Path) -> Path:
    return Path(warehouse) / LEDGER_FILE


def read_ledger(warehouse: Path) -> dict[str, LedgerEntry]:
    """The ledger's entries by relative path (empty when the warehouse has none)."""
    path = ledger_path(warehouse)
    if not path.is_file():
        return {}
    frame = pl.read_parquet(path)
    return {row["path"]: LedgerEntry(**row) for row in frame.iter_rows(named=True)}


def _relative(data_dir: Path, file: RequestFile) -> str:
    return Path(file.path).resolve().relative_to(Path(data_dir).resolve()).as_posix()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_same(entry: LedgerEntry, path: Path) -> bool:
    """Whether the file is the one the ledger counted: same size and mtime, or, if those
    moved, the same content (hashed only then)."""
    stat = path.stat()
    if stat.st_size != entry.size_bytes:
        return False
    if stat.st_mtime_ns == entry.mtime_ns:
        return True
    return file_sha256(path) == entry.sha256


def _ts_days(file: RequestFile) -> set[dt.date]:
    """The days the file's rows fall in, by its footer's ts statistics, within the skew
    window around its folder (the folder's neighbours); the folder's day if unknown."""
    window = {file.day - dt.timedelta(days=1), file.day, file.day + dt.timedelta(days=1)}
    try:
        metadata = pq.ParquetFile(file.path).metadata
        index = metadata.schema.to_arrow_schema().get_field_index("ts")
        lows, highs = [], []
        for group in range(metadata.num_row_groups):
            stats = metadata.row_group(group).column(index).statistics
            if stats is None or not stats.has_min_max:
                return window
            lows.append(stats.min)
            highs.append(stats.max)
    except Exception:  # an unreadable footer is quarantined by the run; recompute its window
        return window
    if not lows:
        return {file.day}
    low = min(value.date() if isinstance(value, dt.datetime) else file.day for value in lows)
    high = max(value.date() if isinstance(value, dt.datetime) else file.day for value in highs)
    return {day for day in window if low <= day <= high} or {file.day}


def plan_cycle(
    data_dir: Path,
    warehouse: Path,
    files: Sequence[RequestFile],
    evaluated_until: Mapping[str, dt.datetime | None] | None = None,
    horizon_moves_all: bool = False,
    adjusted_days: Iterable[dt.date] = (),
) -> CyclePlan:
    """Compare the data folder with the ledger: new and changed files, and the days from
    the earliest day their rows touch through the newest day with logs.

    `evaluated_until` is each tenant's last evaluated step after the previous run: a
    tenant that brings logs extends its evaluation from there, so that day is
    recomputed too (its later steps were beyond the horizon then). With
    `horizon_moves_all` (an evaluation delay, or --as-of), every tenant's is.
    `adjusted_days` are days whose budget adjustments changed: those with logs are
    recomputed even when no file is new.

    Raises BurnwatchInputError naming a counted file that has disappeared.
    """
    ledger = read_ledger(warehouse)
    present = {_relative(data_dir, file): file for file in files}
    gone = sorted(set(ledger) - set(present))
    if gone:
        entry = ledger[gone[0]]
        more = f" (and {len(gone) - 1} more)" if len(gone) > 1 else ""
        raise BurnwatchInputError(
            f"{Path(data_dir) / gone[0]}: counted by run {entry.run_id} but gone from the data "
            f"folder{more}; restore it, or run with --full to recount without it"
        )
    new = tuple(file for path, file in present.items() if path not in ledger)
    changed = tuple(
        file
        for path, file in present.items()
        if path in ledger and not _is_same(ledger[path], Path(file.path))
    )
    touched = {day for file in (*new, *changed) for day in _ts_days(file)}
    logged = [file.day for file in files]
    adjusted = tuple(
        sorted(day for day in adjusted_days if logged and min(logged) <= day <= max(logged))
    )
    touched.update(adjusted)
    if not touched:
        return CyclePlan(new, changed, ())
    bringing = {file.tenant for file in (*new, *changed)}
    for tenant, until in (evaluated_until or {}).items():
        if until is not None and (horizon_moves_all or tenant in bringing):
            touched.add(until.date())
    newest = max(file.day for file in files)
    counted_last = max((entry.folder_day for entry in ledger.values()), default=None)
    if counted_last is not None and newest > counted_last:
        # The computed range grows: rows of the old last folder that were quarantined as
        # `outside_computed_range` (ts within the skew after it) now land in a day.
        touched.add(counted_last)
    first = min(touched)
    days = tuple(first + dt.timedelta(days=i) for i in range((newest - first).days + 1))
    return CyclePlan(new, changed, days, adjusted)


def plan_next_cycle(
    data_dir: Path,
    warehouse: Path,
    files: Sequence[RequestFile],
    evaluation_delay_minutes: int,
    as_of: dt.datetime | None = None,
    adjustments: Sequence[ResolvedAdjustment] = (),
) -> CyclePlan:
    """`plan_cycle` against the warehouse's last horizons and the days' recorded budget
    adjustments (`adjustments`: the manifest's): what `burnwatch run` and the UI's cycle
    schedule both do next. A delay or --as-of moves every tenant's horizon."""
    previous = lake.read_table(warehouse, "int_tenant_horizons")
    return plan_cycle(
        data_dir,
        warehouse,
        files,
        dict(zip(previous["tenant_id"], previous["evaluated_until"], strict=True)),
        horizon_moves_all=evaluation_delay_minutes > 0 or as_of is not None,
        adjusted_days=adjustment_days.changed_days(warehouse, adjustments),
    )


def commit(
    data_dir: Path,
    warehouse: Path,
    files: Iterable[RequestFile],
    run_id: str,
    started_before_ns: int,
) -> int:
    """Record `files` as counted by `run_id`, keeping only those whose ctime is before
    `started_before_ns` (a file that changed during the run stays new); return how many
    entries were added or replaced."""
    ledger = read_ledger(warehouse)
    recorded = 0
    for file in files:
        path = Path(file.path)
        stat = path.stat()
        if stat.st_ctime_ns >= started_before_ns:
            continue
        relative = _relative(data_dir, file)
        known = ledger.get(relative)
        if (
            known is not None
            and known.size_bytes == stat.st_size
            and known.mtime_ns == stat.st_mtime_ns
        ):
            continue
        sha = file_sha256(path)
        if known is not None and known.sha256 == sha and known.size_bytes == stat.st_size:
            ledger[relative] = LedgerEntry(**{**known.__dict__, "mtime_ns": stat.st_mtime_ns})
            continue
        ledger[relative] = LedgerEntry(
            relative, file.tenant, file.day, stat.st_size, stat.st_mtime_ns, sha, run_id
        )
        recorded += 1
    rows = [entry.__dict__ for _, entry in sorted(ledger.items())]
    frame = pl.DataFrame(rows, schema=_SCHEMA) if rows else pl.DataFrame(schema=_SCHEMA)
    with atomic_path(ledger_path(warehouse)) as temporary:
        frame.write_parquet(temporary)
    return recorded


def now_ns() -> int:
    """The wall clock in the units of a file's ctime, for `commit`'s started_before_ns."""
    return time.time_ns()
