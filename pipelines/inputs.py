"""Finding and binding the raw request logs: `<data>/requests/tenant=<id>/date=<day>/*.parquet`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.sql_models import bind
from schemas.errors import BurnwatchInputError
from schemas.tables import sql_columns

_TENANT_DIR = re.compile(r"^tenant=(?P<tenant>.+)$")
_DATE_DIR = re.compile(r"^date=(?P<day>\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True, order=True)
class RequestFile:
    """One Parquet file of request logs and the partition folders it sits in."""

    day: dt.date
    tenant: str
    path: Path


def requests_root(data_dir: Path) -> Path:
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
    return [file for file in files if first <= file.day <= last]


def bind_raw_requests(
    connection: duckdb.DuckDBPyConnection,
    files: list[RequestFile],
    day: dt.date,
    skew_tolerance: dt.timedelta,
) -> None:
    """Bind `raw_requests` to the day's folder and its neighbours', cut to the day ± skew.

    Rows from the neighbouring folders matter only when their ts is in the day
    (late arrivals) or within the skew tolerance of it (a replica's copy of a
    request from across midnight), so the cut keeps dedup exact while reading
    little of the neighbours (row groups are skipped by their ts statistics).
    """
    neighbours = files_for_days(files, day - dt.timedelta(days=1), day + dt.timedelta(days=1))
    columns = sql_columns("raw_requests")
    if not neighbours:
        typed = ", ".join(f'null::{kind} as "{name}"' for name, kind in columns.items())
        bind(connection, "raw_requests", f"select {typed} limit 0")
        return
    start = dt.datetime.combine(day, dt.time()) - skew_tolerance
    end = dt.datetime.combine(day, dt.time()) + dt.timedelta(days=1) + skew_tolerance
    listed = ", ".join(f"'{file.path}'" for file in neighbours)
    casts = ", ".join(f'cast("{name}" as {kind}) as "{name}"' for name, kind in columns.items())
    bind(
        connection,
        "raw_requests",
        f"select {casts} from read_parquet([{listed}], union_by_name = true) "
        f"where cast(ts as timestamp) >= timestamp '{start:%Y-%m-%d %H:%M:%S}' "
        f"and cast(ts as timestamp) < timestamp '{end:%Y-%m-%d %H:%M:%S}'",
    )
