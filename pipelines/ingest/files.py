"""Finding the raw request logs: `<data>/requests/tenant=<id>/date=<day>/*.parquet`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import BurnwatchInputError

_TENANT_DIR = re.compile(r"^tenant=(?P<tenant>.+)$")
_DATE_DIR = re.compile(r"^date=(?P<day>\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True, order=True)
class RequestFile:
    """One Parquet file of request logs and the partition folders it sits in."""

    day: dt.date
    tenant: str
    path: Path


def requests_root(data_dir: Path) -> Path:
    """The folder that holds the request logs: `<data>/requests`."""
    return Path(data_dir) / "requests"


def discover_request_files(data_dir: Path) -> list[RequestFile]:
    """Every request-log file under the data folder, sorted by day, tenant and path.

    Raises BurnwatchInputError when the folder is missing or holds no logs.
    """
    root = requests_root(data_dir)
    if not Path(data_dir).is_dir():
        raise BurnwatchInputError(f"{data_dir}: data folder not found")
    if not root.is_dir():
        raise BurnwatchInputError(
            f"{root}: no requests/ folder (expected requests/tenant=<id>/date=<YYYY-MM-DD>/)"
        )
    found: list[RequestFile] = []
    for tenant_dir in sorted(root.iterdir()):
        tenant_match = _TENANT_DIR.match(tenant_dir.name)
        if not tenant_dir.is_dir() or not tenant_match:
            continue
        for day_dir in sorted(tenant_dir.iterdir()):
            day_match = _DATE_DIR.match(day_dir.name)
            if not day_dir.is_dir() or not day_match:
                continue
            try:
                day = dt.date.fromisoformat(day_match["day"])
            except ValueError:
                raise BurnwatchInputError(f"{day_dir}: folder name is not a valid date") from None
            found.extend(
                RequestFile(day, tenant_match["tenant"], path)
                for path in sorted(day_dir.glob("*.parquet"))
            )
    if not found:
        raise BurnwatchInputError(
            f"{root}: no Parquet files under tenant=<id>/date=<YYYY-MM-DD>/ folders"
        )
    return sorted(found)


def files_for_days(files: list[RequestFile], first: dt.date, last: dt.date) -> list[RequestFile]:
    """The files in the day folders of days [first, last], in the order given."""
    return [file for file in files if first <= file.day <= last]
