"""What is happening now: `fct_slo_status` as the summary and `burnwatch run` show it.

The status is computed once, by `sql/facts/fct_slo_status.sql`; readers here only
pick columns and put the most urgent SLOs first (URGENCY, then the least budget left).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.warehouse import lake

STATUS_TABLE = "fct_slo_status"
# The columns a reader sees first, in the order shown (the table has every window's burn).
SHOWN_COLUMNS = (
    "tenant_id",
    "slo_name",
    "state",
    "as_of",
    "budget_remaining_percent",
    "time_to_exhaustion_hours",
    "burn_rate_1h",
    "open_alerts",
    "open_since",
)


# What a reader must act on first: paging, then ticketing, then silent tenants, then the
# rest by budget left. sql/reports/report_overview.sql orders the report's overview the same.
URGENCY = ("page", "ticket", "no_data")


def most_urgent_first(status: pl.DataFrame) -> pl.DataFrame:
    """Status rows by URGENCY of their state, then least budget left (none last), then by
    tenant SLO."""
    rank = pl.col("state").replace_strict(
        {state: index for index, state in enumerate(URGENCY)},
        default=len(URGENCY),
        return_dtype=pl.Int32,
    )
    return (
        status.with_columns(rank.alias("_urgency"))
        .sort(["_urgency", "budget_remaining_percent", "tenant_id", "slo_name"], nulls_last=True)
        .drop("_urgency")
    )


def read_status(warehouse: Path) -> pl.DataFrame:
    """The lake's `fct_slo_status`, most urgent first, with the SHOWN_COLUMNS."""
    status = lake.read_table(Path(warehouse), STATUS_TABLE)
    return most_urgent_first(status).select(SHOWN_COLUMNS)
