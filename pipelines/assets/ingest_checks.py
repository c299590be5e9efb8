"""The checks that hold every input partition to the request-log contract.

They guard the staging tables (`contract_report`, `quarantine`, `stg_requests`)
and `int_quarantine_counts`, which sets the counts beside the SLIs and decides
which tenant-days are "no data": blocking where downstream must not run on bad data.
"""

import datetime as dt
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandera.errors
import polars as pl

from pipelines.assets.factory import daily_check
from pipelines.assets.intermediate import int_quarantine_counts
from pipelines.assets.metadata import markdown_table
from pipelines.assets.staging import contract_report, quarantine, stg_requests
from pipelines.ingest import staging
from pipelines.ingest.footers import with_undecodable
from pipelines.ingest.rules import row_rules
from pipelines.ingest.scan import request_checks_sql
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake
from pipelines.warehouse.literal import path_list
from pipelines.warehouse.session import bind
from schemas.tables import Quarantine

# Partitioned asset checks are how Dagster checks each day; they are marked "preview".
warnings.filterwarnings("ignore", message=r".*partitions_def on an AssetCheckSpec.*")


def _read_days(warehouse: Path, table: str, days: list[dt.date]) -> pl.DataFrame:
    files = lake.existing_partition_files(warehouse, table, days[0], days[-1]) if days else []
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        return connection.sql(f"select * from {lake.scan_sql(warehouse, table, files)}").pl()


def _failure(off: pl.DataFrame, describe: Callable[[dict[str, Any]], str]) -> dict[str, str]:
    """The `failure` metadata of a failed check: its first offending row on one line, which
    `burnwatch run` prints instead of a trace (pipelines/run_failures.py)."""
    if off.is_empty():
        return {}
    more = f" (and {off.height - 1} more)" if off.height > 1 else ""
    return {"failure": describe(off.row(0, named=True)) + more}


def _check_days(context: dg.AssetCheckExecutionContext) -> list[dt.date]:
    return [dt.date.fromisoformat(key) for key in context.partition_keys]


@daily_check(
    asset=contract_report,
    description="Every file's footer matches the contract (drift is reported).",
)
def partitions_on_contract(
    context: dg.AssetCheckExecutionContext, burnwatch: BurnwatchResource
) -> dg.AssetCheckResult:
    report = _read_days(burnwatch.warehouse_path, "contract_report", _check_days(context))
    off = report.filter(pl.col("status") != "ok")
    return dg.AssetCheckResult(
        passed=off.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "files": report["file"].n_unique(),
            "drifted_or_unreadable": off["file"].n_unique(),
            "quarantined_files": off.filter(pl.col("action") == "quarantine")["file"].n_unique(),
            "findings": dg.MetadataValue.md(
                markdown_table(
                    off.select(
                        "tenant_id",
                        "folder_day",
                        "file",
                        "status",
                        "action",
                        "column_name",
                        "expected_type",
                        "found_type",
                        "detail",
                    ),
                    limit=50,
                )
            ),
        },
    )


@daily_check(
    asset=quarantine,
    blocking=True,
    description="Quarantine rows meet their schema (pandera) and name a reason.",
)
def quarantine_rows_valid(
    context: dg.AssetCheckExecutionContext, burnwatch: BurnwatchResource
) -> dg.AssetCheckResult:
    frame = _read_days(burnwatch.warehouse_path, "quarantine", _check_days(context))
    by_reason = (
        frame.group_by("reason")
        .agg(pl.len().alias("entries"), pl.col("row_count").sum().alias("rows"))
        .sort("reason")
    )
    try:
        Quarantine.validate(frame, lazy=True)
        problem = ""
    except (pandera.errors.SchemaErrors, pandera.errors.SchemaError) as error:
        problem = str(error)[:2000]
    return dg.AssetCheckResult(
        passed=not problem,
        metadata={
            "quarantined_entries": frame.height,
            "by_reason": dg.MetadataValue.md(markdown_table(by_reason, limit=50)),
            "schema_errors": dg.MetadataValue.md(problem or "_none_"),
        },
    )


@daily_check(
    asset=stg_requests,
    blocking=True,
    description="(tenant_id, request_id) is unique in each day of stg_requests.",
)
def unique_request_keys(
    context: dg.AssetCheckExecutionContext, burnwatch: BurnwatchResource
) -> dg.AssetCheckResult:
    days = _check_days(context)
    files = lake.existing_partition_files(
        burnwatch.warehouse_path, "stg_requests", days[0], days[-1]
    )
    # The resource's session: memory_limit and spilling hold for the checks' scans of a
    # whole run's requests as they do for the models.
    with burnwatch.connect() as connection:
        keys = (
            f"select filename, tenant_id, request_id "
            f"from read_parquet({path_list(files)}, filename = true)"
            if files
            else "select '' as filename, '' as tenant_id, '' as request_id limit 0"
        )
        dupes = connection.sql(
            f"select filename as partition, tenant_id, request_id, count(*) as copies "
            f"from ({keys}) group by all having count(*) > 1 order by all limit 20"
        ).pl()
        # A request whose replica copies lie further apart across midnight than the skew
        # tolerance, on days computed in separate runs (or scan blocks), is kept once in
        # each day (a documented limit): reported, not blocking.
        across = connection.execute(
            f"select count(*) from (select tenant_id, request_id from ({keys}) "
            "group by all having count(*) > 1)"
        ).fetchall()[0][0]
    return dg.AssetCheckResult(
        passed=dupes.is_empty(),
        metadata={
            **_failure(
                dupes,
                lambda row: (
                    f"tenant {row['tenant_id']}, request {row['request_id']}: kept "
                    f"{row['copies']} times in {row['partition']}"
                ),
            ),
            "duplicated_keys": dg.MetadataValue.md(markdown_table(dupes, limit=20)),
            "keys_kept_in_more_than_one_day": int(across),
        },
    )


@daily_check(
    asset=stg_requests,
    blocking=True,
    description="Every kept request meets the contract's row rules.",
)
def rows_meet_contract(
    context: dg.AssetCheckExecutionContext, burnwatch: BurnwatchResource
) -> dg.AssetCheckResult:
    days = _check_days(context)
    warehouse = burnwatch.warehouse_path
    overrides = staging.run_overrides(burnwatch)
    rules = [
        rule
        for rule in row_rules("", days[0], dt.timedelta(0), overrides)
        if rule.reason not in ("tenant_mismatch", "ts_outside_folder_window")
    ]
    reason = " ".join(f"when {rule.bad_sql} then '{rule.reason}'" for rule in rules)
    files = lake.existing_partition_files(warehouse, "stg_requests", days[0], days[-1])
    with burnwatch.connect() as connection:
        broken = connection.sql(
            f"select reason, count(*) as requests from (select case {reason} end as reason "
            f"from {lake.scan_sql(warehouse, 'stg_requests', files)}) "
            "where reason is not null group by all order by all"
        ).pl()
    return dg.AssetCheckResult(
        passed=broken.is_empty(),
        metadata={
            **_failure(
                broken,
                lambda row: (
                    f"{row['requests']} kept request(s) break rule {row['reason']} "
                    f"on {days[0]} .. {days[-1]}"
                ),
            ),
            "broken_rules": dg.MetadataValue.md(markdown_table(broken)),
        },
    )


def conservation_frame(burnwatch: BurnwatchResource, day: dt.date) -> pl.DataFrame:
    """Per tenant of the `date=day` folders: rows the footers declare, rows that land in
    a computed day, rows quarantined, and the difference (which must be 0).

    One SQL statement over the day's files: the rows are re-checked against the rules
    (with the data's computed range) and counted in DuckDB, never row by row in Python.
    Files the quarantine holds whole are left out of the re-check (their rows are in
    `quarantined_rows` already).
    """
    skew = dt.timedelta(minutes=burnwatch.skew_tolerance_minutes)
    overrides = staging.run_overrides(burnwatch)
    whole = _whole_files(burnwatch.warehouse_path, day)
    verdicts = [
        with_undecodable(v, "quarantined") if str(v.file.path) in whole else v
        for v in staging.day_verdicts(burnwatch, day)
    ]
    checks = request_checks_sql(verdicts, skew, overrides, staging.data_range(burnwatch))
    counts = _read_days(burnwatch.warehouse_path, "int_quarantine_counts", [day])
    with burnwatch.connect() as connection:
        bind(connection, "raw_request_checks", checks or lake.typed_empty("raw_request_checks"))
        connection.register("counts_frame", counts.to_arrow())
        return connection.sql(
            "with landed as (select tenant_id, count(*) as landed_rows from raw_request_checks "
            "where reason is null group by all) "
            "select counts.tenant_id, counts.folder_day, counts.input_rows, "
            "coalesce(landed.landed_rows, 0) as landed_rows, counts.quarantined_rows, "
            "counts.unknown_row_files, counts.input_rows - coalesce(landed.landed_rows, 0) "
            "- counts.quarantined_rows as unaccounted_rows "
            "from counts_frame as counts left join landed on counts.tenant_id = landed.tenant_id "
            "order by counts.tenant_id"
        ).pl()


def _whole_files(warehouse: Path, day: dt.date) -> set[str]:
    """The files the day's quarantine holds whole (read in SQL: the rows are not loaded)."""
    files = lake.existing_partition_files(warehouse, "quarantine", day, day)
    with duckdb.connect() as connection:
        found = connection.execute(
            f"select distinct file from {lake.scan_sql(warehouse, 'quarantine', files)} "
            "where row_number is null"
        ).fetchall()
    return {file for (file,) in found}


def unaccounted_summary(frame: pl.DataFrame, limit: int = 3) -> str:
    """One line naming the tenant-days whose rows do not add up (empty when all do)."""
    off = frame.filter(pl.col("unaccounted_rows") != 0)
    if off.is_empty():
        return ""
    named = [
        f"tenant {row['tenant_id']}, day {row['folder_day']}: {row['input_rows']} read, "
        f"{row['landed_rows']} counted, {row['quarantined_rows']} quarantined"
        for row in off.head(limit).iter_rows(named=True)
    ]
    more = f" (and {off.height - limit} more tenant-days)" if off.height > limit else ""
    return "rows unaccounted for: " + "; ".join(named) + more


@daily_check(
    asset=int_quarantine_counts,
    blocking=True,
    description="Every input row lands in a computed day or is quarantined, exactly once, "
    "per tenant and day folder.",
)
def conservation(
    context: dg.AssetCheckExecutionContext, burnwatch: BurnwatchResource
) -> dg.AssetCheckResult:
    frames = [conservation_frame(burnwatch, day) for day in _check_days(context)]
    frame = pl.concat(frames) if frames else pl.DataFrame()
    off = frame.filter(pl.col("unaccounted_rows") != 0) if frame.height else frame
    return dg.AssetCheckResult(
        passed=off.is_empty(),
        description=unaccounted_summary(frame) if frame.height else None,
        metadata={
            **_failure(
                off,
                lambda row: (
                    f"tenant {row['tenant_id']}, day {row['folder_day']}: "
                    f"{row['unaccounted_rows']} of {row['input_rows']} input row(s) neither"
                    " counted nor quarantined"
                ),
            ),
            "tenant_days": frame.height,
            "input_rows": int(frame["input_rows"].sum()) if frame.height else 0,
            "unaccounted": dg.MetadataValue.md(markdown_table(off, limit=50)),
        },
    )


@daily_check(
    asset=int_quarantine_counts,
    description="No tenant-day lost its SLIs to quarantined input.",
)
def sli_not_suppressed(
    context: dg.AssetCheckExecutionContext, burnwatch: BurnwatchResource
) -> dg.AssetCheckResult:
    counts = _read_days(burnwatch.warehouse_path, "int_quarantine_counts", _check_days(context))
    suppressed = counts.filter(pl.col("sli_status") == "no_data")
    return dg.AssetCheckResult(
        passed=suppressed.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"no_data_tenant_days": dg.MetadataValue.md(markdown_table(suppressed, limit=50))},
    )
