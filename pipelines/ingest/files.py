"""Finding the raw request logs: `<data>/requests/tenant=<id>/date=<day>/**/*.parquet`.

Everything under `requests/` is accounted for: a file is read (a Parquet file in a
tenant's day folder, at any depth and in any extension case), or it is named in a
`SkippedEntry` with the reason it is not read. Nothing is skipped without a word.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import BurnwatchInputError

_TENANT_DIR = re.compile(r"^tenant=(?P<tenant>.+)\Z", re.DOTALL)
_DATE_DIR = re.compile(r"^date=(?P<day>\d{4}-\d{2}-\d{2})\Z")
# Parquet is Parquet whatever the case of its extension (`part-0.PARQUET`).
PARQUET_SUFFIX = ".parquet"


@dataclass(frozen=True, order=True)
class RequestFile:
    """One Parquet file of request logs and the partition folders it sits in."""

    day: dt.date
    tenant: str
    path: Path


@dataclass(frozen=True, order=True)
class SkippedEntry:
    """A file or folder under `requests/` that is not read, and why (for a warning)."""

    path: Path
    reason: str

    def warning(self) -> str:
        return f"{self.path}: not read: {self.reason}"


@dataclass(frozen=True)
class RequestInventory:
    """What `requests/` holds: the files that are read and the entries that are not."""

    root: Path
    files: list[RequestFile]
    skipped: list[SkippedEntry]

    @property
    def tenants(self) -> set[str]:
        return {file.tenant for file in self.files}

    def tenant_warnings(self, manifest_tenants: Iterable[str]) -> tuple[list[str], list[str]]:
        """(logs nobody counts, SLOs no logs feed): tenants with logs but no manifest entry
        (their requests get no SLI), and manifest tenants without logs (no data)."""
        wanted = set(manifest_tenants)
        unknown = [
            f"{self.root / f'tenant={tenant}'}: tenant {tenant!r} has logs but no entry in "
            "the manifest: its requests are read but get no SLI"
            for tenant in sorted(self.tenants - wanted)
        ]
        silent = [
            f"{self.root}: manifest tenant {tenant!r} has no logs (no tenant={tenant} folder): "
            "its SLOs are no data"
            for tenant in sorted(wanted - self.tenants)
        ]
        return unknown, silent

    def uncounted_warnings(self, manifest_tenants: Iterable[str]) -> list[str]:
        """One line per entry not read and per tenant whose logs have no SLO: input that
        no SLI counts (`burnwatch run` exits 3 when there is any)."""
        return [entry.warning() for entry in self.skipped] + self.tenant_warnings(manifest_tenants)[
            0
        ]


def requests_root(data_dir: Path) -> Path:
    """The folder that holds the request logs: `<data>/requests`."""
    return Path(data_dir) / "requests"


def _day_folder(day_dir: Path) -> dt.date | str:
    """The day of a `date=` folder, or why its name is not one."""
    match = _DATE_DIR.match(day_dir.name)
    if not match:
        return "folder name is not date=YYYY-MM-DD"
    try:
        return dt.date.fromisoformat(match["day"])
    except ValueError:
        return f"{match['day']} is not a valid date"


def _day_files(
    tenant: str, day: dt.date, day_dir: Path, skipped: list[SkippedEntry]
) -> list[RequestFile]:
    """The Parquet files of one day folder at any depth (`date=D/hour=00/x.parquet` is
    that tenant's and that day's: a layout finer than days is still that day).

    Walked with os.walk, which reads each folder's entry types from one directory scan:
    pathlib's rglob plus a stat per entry cost 0.1 s per 1,000 folders, which a run
    over thousands of tenant-day folders paid several times a day. As with rglob, a
    symlink to a folder is not followed (and not read).
    """
    found = []
    for folder, _, names in os.walk(day_dir):
        for name in names:
            path = Path(folder, name)
            if path.suffix.lower() == PARQUET_SUFFIX:
                found.append(RequestFile(day, tenant, path))
            else:
                skipped.append(SkippedEntry(path, f"not a {PARQUET_SUFFIX} file"))
    return found


# The inventories pinned by `pinned_inventory`, by the data folder's resolved path.
_PINNED: dict[Path, RequestInventory] = {}


@contextmanager
def pinned_inventory(data_dir: Path) -> Iterator[RequestInventory]:
    """Walk the data folder once; within the block, `inventory_requests` of that folder
    (under any spelling of its path) answers with this walk instead of walking again.

    `burnwatch run` pins one for its steps: each per-day step asked for the files of its
    day by walking every tenant's every day folder, so a run of D days over T tenants
    and H days of logs walked about 5 x D x T x H folders (37 walks for 7 days, 0.16 s a
    walk at 500 tenants; README, Benchmark), and a cycle's cost grew with all the history kept.
    Pinned, the steps also agree on one view of the logs while files keep arriving.
    """
    key = Path(data_dir).resolve()
    inventory = _walk_requests(key)
    _PINNED[key] = inventory
    try:
        yield inventory
    finally:
        _PINNED.pop(key, None)


def inventory_requests(data_dir: Path) -> RequestInventory:
    """Every request-log file under the data folder (sorted by day, tenant and path) and
    every entry under `requests/` that is not read, with its reason (the pinned walk
    within `pinned_inventory`, a fresh one otherwise).

    Raises BurnwatchInputError when the folder is missing or holds no logs.
    """
    pinned = _PINNED.get(Path(data_dir).resolve()) if _PINNED else None
    if pinned is not None:
        # Copies of the lists, so that no caller can change what the next one is told.
        return RequestInventory(pinned.root, list(pinned.files), list(pinned.skipped))
    return _walk_requests(data_dir)


def _walk_requests(data_dir: Path) -> RequestInventory:
    root = requests_root(data_dir)
    if not Path(data_dir).is_dir():
        raise BurnwatchInputError(f"{data_dir}: data folder not found")
    if not root.is_dir():
        raise BurnwatchInputError(
            f"{root}: no requests/ folder (expected requests/tenant=<id>/date=<YYYY-MM-DD>/)"
        )
    found: list[RequestFile] = []
    skipped: list[SkippedEntry] = []
    for tenant_dir in sorted(root.iterdir()):
        tenant_match = _TENANT_DIR.match(tenant_dir.name)
        if not tenant_dir.is_dir() or not tenant_match:
            skipped.append(SkippedEntry(tenant_dir, "not a tenant=<id> folder"))
            continue
        for day_dir in sorted(tenant_dir.iterdir()):
            day = _day_folder(day_dir) if day_dir.is_dir() else "not a date=YYYY-MM-DD folder"
            if isinstance(day, str):
                skipped.append(SkippedEntry(day_dir, day))
                continue
            found.extend(_day_files(tenant_match["tenant"], day, day_dir, skipped))
    if not found:
        more = f" ({len(skipped)} entries not read, e.g. {skipped[0].warning()})" if skipped else ""
        raise BurnwatchInputError(
            f"{root}: no Parquet files under tenant=<id>/date=<YYYY-MM-DD>/ folders{more}"
        )
    return RequestInventory(root, sorted(found), sorted(skipped))


def discover_request_files(data_dir: Path) -> list[RequestFile]:
    """Every request-log file under the data folder, sorted by day, tenant and path
    (`inventory_requests` also says what is not read).

    Raises BurnwatchInputError when the folder is missing or holds no logs.
    """
    return inventory_requests(data_dir).files


def computed_range(files: list[RequestFile]) -> tuple[dt.date, dt.date]:
    """The days any run over these files can compute: the first through the last day folder.

    A row whose ts falls outside them is counted by no run (no partition holds its
    day), so it is quarantined as `outside_computed_range` instead of lost.
    """
    return min(file.day for file in files), max(file.day for file in files)


def files_for_days(files: list[RequestFile], first: dt.date, last: dt.date) -> list[RequestFile]:
    """The files in the day folders of days [first, last], in the order given."""
    return [file for file in files if first <= file.day <= last]
