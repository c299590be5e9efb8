"""What is happening now: `fct_slo_status` as the summary and `burnwatch run` show it.

The status is computed once, by `sql/facts/fct_slo_status.sql`; readers here only
pick columns and put the most urgent SLOs first (STATUS_URGENCY of schemas/tables.py,
then the least budget left): the report's overview's order (engine function urgency_rank).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.warehouse import lake
from schemas.tables import STATUS_URGENCY

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


def most_urgent_first(status: pl.DataFrame) -> pl.DataFrame:
    """Status rows by STATUS_URGENCY of their state, then least budget left (none last),
    then by tenant SLO."""
    rank = pl.col("state").replace_strict(
        {state: index for index, state in enumerate(STATUS_URGENCY)},
        default=len(STATUS_URGENCY),
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
