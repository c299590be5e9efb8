"""The contract's row rules: vectorised SQL predicates true for a row that breaks it.

Rows of readable files are checked in the same scan that feeds `stg_requests`
(`pipelines.ingest.scan.request_scan_sql`): a row that breaks a rule is left
out there and written, with its reason, file and row number, to the
`quarantine` table by the day of its folder. Also here: which contract
overrides a run uses, and the SQL quoting the ingest modules share.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from schemas.contracts import (
    ContractOverrides,
    find_overrides_file,
    load_overrides,
    request_columns,
    ts_window,
)

# The columns a multi-folder scan derives from each row's file path (see
# `pipelines.ingest.scan`), which `folder_rules` read the row's folder from.
FOLDER_TENANT = "__folder_tenant"
FOLDER_DAY = "__folder_day"


def quote_literal(value: str) -> str:
    """`value` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    """`name` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def overrides_path(data_dir: Path, manifest: Path, explicit: str = "") -> Path | None:
    """The contracts file a run uses (see `schemas.contracts.find_overrides_file`)."""
    return find_overrides_file(explicit or None, data_dir, manifest)


def load_run_overrides(data_dir: Path, manifest: Path, explicit: str = "") -> ContractOverrides:
    """The per-service contract overrides of a run (the defaults when there is no file)."""
    return load_overrides(overrides_path(data_dir, manifest, explicit))


@dataclass(frozen=True)
class RowRule:
    """One row-level rule: a reason code, a SQL predicate true for a bad row, a detail."""

    reason: str
    bad_sql: str
    detail_sql: str


def _value_text(name: str) -> str:
    return f"coalesce(cast({quote_ident(name)} as varchar), 'null')"


# The days a run can compute (`pipelines.ingest.files.computed_range`), first and last.
DayRange = tuple[dt.date, dt.date]


def row_rules(
    tenant: str,
    folder_day: dt.date,
    skew: dt.timedelta,
    overrides: ContractOverrides,
    computed: DayRange | None = None,
) -> list[RowRule]:
    """The row rules for rows found in folder `tenant`/`folder_day`, first-broken first.

    Null checks come first, so every later predicate sees non-null values. With
    `computed`, a row whose ts lies on no computed day breaks `outside_computed_range`.
    """
    start, end = ts_window(folder_day, skew)
    return _rules(
        quote_literal(tenant),
        # The detail names the tenant without quotes, as `folder_rules` does.
        quote_literal(f"folder tenant={tenant.replace(chr(39), '')}"),
        (f"timestamp '{start:%Y-%m-%d %H:%M:%S}'", f"timestamp '{end:%Y-%m-%d %H:%M:%S}'"),
        quote_literal(
            f"[{start:%Y-%m-%d %H:%M}, {end:%Y-%m-%d %H:%M}) of folder date={folder_day}"
        ),
        overrides,
        computed,
    )


def folder_rules(
    skew: dt.timedelta, overrides: ContractOverrides, computed: DayRange | None = None
) -> list[RowRule]:
    """`row_rules` for rows of any folder, which is read from the row's own columns
    FOLDER_TENANT and FOLDER_DAY (the same window as `ts_window`), with the same details:
    one scan checks the rows of every folder, where `row_rules` take a scan per folder."""
    tenant = quote_ident(FOLDER_TENANT)
    day = quote_ident(FOLDER_DAY)
    minutes = int(skew.total_seconds() // 60)
    start = f"({day} - interval 1 day)"
    end = f"({day} + interval 1 day + interval {minutes} minute)"
    minute = "'%Y-%m-%d %H:%M'"
    return _rules(
        tenant,
        f"'folder tenant=' || replace({tenant}, chr(39), '')",
        (start, end),
        f"'[' || strftime({start}, {minute}) || ', ' || strftime({end}, {minute}) "
        f"|| ') of folder date=' || strftime({day}, '%Y-%m-%d')",
        overrides,
        computed,
    )


def _rules(
    tenant_sql: str,
    tenant_text_sql: str,
    window_sql: tuple[str, str],
    window_text_sql: str,
    overrides: ContractOverrides,
    computed: DayRange | None,
) -> list[RowRule]:
    columns = request_columns()
    rules = [
        RowRule(f"null_{c.name}", f"{quote_ident(c.name)} is null", f"'{c.name} is null'")
        for c in columns
        if not c.nullable
    ]
    rules.append(
        RowRule(
            "tenant_mismatch",
            f'"tenant_id" <> {tenant_sql}',
            f"'tenant_id ' || \"tenant_id\" || ' in ' || {tenant_text_sql}",
        )
    )
    for c in columns:
        name = quote_ident(c.name)
        if c.min_length:
            rules.append(
                RowRule(
                    f"empty_{c.name}",
                    f"length({name}) < {int(c.min_length)}",
                    f"'{c.name} is empty'",
                )
            )
        if c.min_value is None and c.max_value is None and c.sql_type != "DOUBLE":
            continue
        default = [f"{name} >= {c.min_value}"] if c.min_value is not None else []
        if c.max_value is not None:
            default.append(f"{name} <= {c.max_value}")
        if c.sql_type == "DOUBLE":
            default.append(f"isfinite({name})")
        allowed = " and ".join(default) or "true"
        if c.name == "status_code":
            cases = [
                f"when {quote_literal(service)} then {name} between {bounds[0]} and {bounds[1]}"
                for service in sorted(overrides.services)
                if (bounds := overrides.status_range(service)) is not None
            ]
            if cases:
                allowed = f'case "service" {" ".join(cases)} else {allowed} end'
        rules.append(
            RowRule(
                f"{c.name}_out_of_range",
                f"not ({allowed})",
                f"'{c.name}=' || {_value_text(c.name)}",
            )
        )
    rules.append(
        RowRule(
            "ts_outside_folder_window",
            f'"ts" < {window_sql[0]} or "ts" >= {window_sql[1]}',
            f"'ts=' || {_value_text('ts')} || ' outside ' || {window_text_sql}",
        )
    )
    if computed is not None:
        # Inside its folder's window but on a day no run computes (the day before the
        # first folder, or within the skew after the last): counted by no day, so
        # quarantined rather than lost.
        first = dt.datetime.combine(computed[0], dt.time())
        end = dt.datetime.combine(computed[1], dt.time()) + dt.timedelta(days=1)
        rules.append(
            RowRule(
                "outside_computed_range",
                f"\"ts\" < timestamp '{first:%Y-%m-%d %H:%M:%S}' "
                f"or \"ts\" >= timestamp '{end:%Y-%m-%d %H:%M:%S}'",
                f"'ts=' || {_value_text('ts')} || ' on no computed day "
                f"({computed[0]} .. {computed[1]}, the day folders found)'",
            )
        )
    return rules
