"""The request-log contract and its per-service overrides (`contracts.yaml`).

The contract is derived from the pandera model `schemas.tables.RequestLog`,
the only place its columns are listed: names, types, nullability, minimum
string lengths and value ranges all come from there. On top of the model the
contract adds what a DataFrame model cannot say about a partitioned input:

- `ts` must lie in the window of the day folder F the row was found in:
  [F - 1 day, F + 1 day + skew tolerance). Rows legitimately land in the next
  day's folder (late arrival), and a replica's clock may run ahead by up to the
  skew tolerance. The window starts at F - 1 day sharp (no tolerance on that
  side) because the day F - 2 is computed from folders F - 3 .. F - 1 only: a
  row of day F - 2 found in folder F would be counted by no day, so it is
  quarantined instead of silently lost.
- `tenant_id` must equal the tenant folder's name.
- `latency_ms` must be finite (NaN and infinity break the contract).

Overrides (YAML, validated with pydantic; errors name the file, line and key):

    version: 1
    services:
      legacy-gateway:
        status_codes: {min: 100, max: 999}   # accept non-standard codes
        extra_columns: {region: VARCHAR}      # columns the service may add
        check_latency_unit: false             # silence the seconds-vs-ms heuristic
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.tables import RequestLog, sql_columns
from schemas.yaml_documents import load_document

CONTRACTS_FILE = "contracts.yaml"

ColumnType = Literal["VARCHAR", "INTEGER", "BIGINT", "DOUBLE", "BOOLEAN", "TIMESTAMP", "DATE"]


@dataclass(frozen=True)
class ColumnContract:
    """One request-log column as the contract sees it."""

    name: str
    sql_type: str
    nullable: bool
    min_length: int | None = None
    min_value: float | None = None
    max_value: float | None = None


@cache
def request_columns() -> tuple[ColumnContract, ...]:
    """The request-log columns, in order, with their checks, read from `RequestLog`."""
    types = sql_columns("raw_requests")
    found: list[ColumnContract] = []
    for name, column in RequestLog.to_schema().columns.items():
        min_length = min_value = max_value = None
        for check in column.checks:
            stats = check.statistics or {}
            if check.name == "str_length":
                min_length = stats.get("min_value")
            elif check.name in ("greater_than_or_equal_to", "greater_than"):
                min_value = stats.get("min_value")
            elif check.name in ("less_than_or_equal_to", "less_than"):
                max_value = stats.get("max_value")
        found.append(
            ColumnContract(
                name, types[name], bool(column.nullable), min_length, min_value, max_value
            )
        )
    return tuple(found)


def request_column(name: str) -> ColumnContract:
    """The contract of one request-log column."""
    return next(column for column in request_columns() if column.name == name)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatusRange(_Strict):
    min: int = Field(ge=0)
    max: int = Field(le=2**31 - 1)

    @model_validator(mode="after")
    def _ordered(self) -> StatusRange:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class ServiceOverride(_Strict):
    """What one service may do differently from the default contract."""

    status_codes: StatusRange | None = None
    extra_columns: dict[str, ColumnType] = Field(default_factory=dict)
    check_latency_unit: bool = True

    @model_validator(mode="after")
    def _extra_are_extra(self) -> ServiceOverride:
        clash = sorted(set(self.extra_columns) & set(sql_columns("raw_requests")))
        if clash:
            raise ValueError(f"extra_columns: {', '.join(clash)} already in the contract")
        return self


class ContractOverrides(_Strict):
    """The whole `contracts.yaml`."""

    version: Literal[1] = 1
    services: dict[str, ServiceOverride] = Field(default_factory=dict)

    def status_range(self, service: str) -> tuple[int, int] | None:
        override = self.services.get(service)
        if override is None or override.status_codes is None:
            return None
        return override.status_codes.min, override.status_codes.max

    def extra_columns(self) -> dict[str, str]:
        """Every column some service declares, with its type (first declaration wins)."""
        columns: dict[str, str] = {}
        for name in sorted(self.services):
            for column, kind in self.services[name].extra_columns.items():
                columns.setdefault(column, kind)
        return columns

    def checks_latency_unit(self, service: str) -> bool:
        override = self.services.get(service)
        return override is None or override.check_latency_unit


NO_OVERRIDES = ContractOverrides()


def find_overrides_file(
    explicit: str | Path | None, data_dir: Path | None, manifest: Path | None
) -> Path | None:
    """Where the overrides are: the given path, else `<data>/contracts.yaml`, else next to
    the manifest; None when there is no such file (the default contract applies)."""
    if explicit:
        return Path(explicit)
    for folder in (data_dir, manifest.parent if manifest else None):
        if folder is not None and (Path(folder) / CONTRACTS_FILE).is_file():
            return Path(folder) / CONTRACTS_FILE
    return None


def load_overrides(path: str | Path | None) -> ContractOverrides:
    """Read and validate `contracts.yaml`; raise BurnwatchInputError naming file, line, key."""
    if path is None:
        return NO_OVERRIDES
    return load_document(path, ContractOverrides, "contracts file") or NO_OVERRIDES


def ts_window(folder_day: dt.date, skew: dt.timedelta) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) range of `ts` a row found in day folder `folder_day` may have."""
    midnight = dt.datetime.combine(folder_day, dt.time())
    return midnight - dt.timedelta(days=1), midnight + dt.timedelta(days=1) + skew
