"""Finding and binding the raw request logs: `<data>/requests/tenant=<id>/date=<day>/*.parquet`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.warehouse.session import bind
from schemas.contracts import NO_OVERRIDES, ContractOverrides
from schemas.errors import BurnwatchInputError
from schemas.tables import sql_columns

if TYPE_CHECKING:
    from pipelines.ingest.file_contract import FileVerdict

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
    first: dt.date,
    last: dt.date,
    skew_tolerance: dt.timedelta,
    overrides: ContractOverrides = NO_OVERRIDES,
    undecodable: Mapping[Path, str] | None = None,
) -> list[FileVerdict]:
    """Bind `raw_requests` to the good rows of the folders of days [first, last] and their
    neighbours', cut to those days ± skew; return the verdicts of the files considered.

    Rows from the neighbouring folders matter only when their ts is in the days
    (late arrivals) or within the skew tolerance of them (a replica's copy of a
    request from across midnight), so the cut keeps dedup exact while reading
    little of the neighbours (row groups are skipped by their ts statistics).
    Files whose footer breaks the contract, and those in `undecodable`, are not
    read; rows that break it are filtered out in the same scan (see
    `pipelines.ingest.file_contract`), so they can neither be counted nor win a dedup.
    """
    from pipelines.ingest import file_contract as contracts

    neighbours = files_for_days(files, first - dt.timedelta(days=1), last + dt.timedelta(days=1))
    verdicts = [
        contracts.with_undecodable(verdict, undecodable[verdict.file.path])
        if undecodable and verdict.file.path in undecodable
        else verdict
        for verdict in contracts.inspect_files(neighbours, overrides)
    ]
    start = dt.datetime.combine(first, dt.time()) - skew_tolerance
    end = dt.datetime.combine(last, dt.time()) + dt.timedelta(days=1) + skew_tolerance
    scan = contracts.request_scan_sql(verdicts, skew_tolerance, overrides, (start, end))
    if scan is None:
        columns = sql_columns("raw_requests")
        typed = ", ".join(f'null::{kind} as "{name}"' for name, kind in columns.items())
        scan = f"select {typed} limit 0"
    bind(connection, "raw_requests", scan)
    return verdicts
