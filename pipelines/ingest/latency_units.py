"""A heuristic for latency logged in seconds: report-only `contract_report` warnings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import polars as pl

from pipelines.ingest.footers import FileVerdict
from pipelines.ingest.rules import FOLDER_DAY, FOLDER_TENANT, folder_rules, quote_ident
from pipelines.ingest.scan import Reads, read_folders_sql, read_groups
from schemas.contracts import ContractOverrides
from schemas.tables import ContractReport

# A service whose median latency is below this many "milliseconds" over at least
# LATENCY_UNIT_MIN_ROWS requests most likely logs seconds: real services answer in
# milliseconds, and a sub-millisecond median is rare enough to be worth a look.
LATENCY_UNIT_MAX_MEDIAN_MS = 1.0
LATENCY_UNIT_MIN_ROWS = 20


def latency_unit_warnings(
    verdicts: Sequence[FileVerdict], overrides: ContractOverrides, skew: dt.timedelta
) -> pl.DataFrame:
    """`contract_report` rows (action `warn`) for services whose latency looks like seconds.

    A heuristic, so it only reports: it reads two columns of the folder's good rows.
    """
    schema = {
        name: column.dtype.type for name, column in ContractReport.to_schema().columns.items()
    }
    groups = read_groups(verdicts)
    rows: list[dict[str, object]] = []
    if groups:
        # One scan per way of reading, whatever the folders (each row's folder comes from
        # its file's path): one scan per tenant folder cost time in proportion to tenants.
        bad = " or ".join(f"({rule.bad_sql})" for rule in folder_rules(skew, overrides))
        by_reading: dict[Reads, list[FileVerdict]] = {}
        for (_, _, reads), files in groups.items():
            by_reading.setdefault(reads, []).extend(files)
        parts = [
            f"select {quote_ident(FOLDER_TENANT)} as tenant_id, {quote_ident(FOLDER_DAY)} "
            f'as folder_day, "service", "latency_ms" from {read_folders_sql(files, reads)} '
            f"where not ({bad})"
            for reads, files in by_reading.items()
        ]
        query = (
            "select tenant_id, folder_day, service, median(latency_ms), count(*) from ("
            + " union all ".join(parts)
            + ") group by all having count(*) >= ? and median(latency_ms) < ? order by all"
        )
        with duckdb.connect() as connection:
            connection.execute("set TimeZone = 'UTC'")
            found = connection.execute(
                query, [LATENCY_UNIT_MIN_ROWS, LATENCY_UNIT_MAX_MEDIAN_MS]
            ).fetchall()
        folders = {(v.file.tenant, v.file.day): v.file.path.parent for v in verdicts}
        for tenant, day, service, median, count in found:
            if not overrides.checks_latency_unit(service):
                continue
            rows.append(
                {
                    "tenant_id": tenant,
                    "folder_day": day,
                    "file": str(folders[(tenant, day)]),
                    "status": "drifted",
                    "action": "warn",
                    "column_name": "latency_ms",
                    "expected_type": "DOUBLE (milliseconds)",
                    "found_type": "DOUBLE (seconds?)",
                    "detail": f"service {service}: median latency_ms {median:.3g} over {count} "
                    "requests; is latency logged in seconds? (report only)",
                    "file_rows": None,
                }
            )
    return ContractReport.validate(pl.DataFrame(rows, schema=schema))
