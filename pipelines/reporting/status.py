"""What is happening now: `fct_slo_status` as the summary and `burnwatch run` show it.

The status is computed once, by `sql/facts/fct_slo_status.sql`; readers here only
pick columns and put the SLOs with the least budget left first.
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


def lowest_budget_first(status: pl.DataFrame) -> pl.DataFrame:
    """Status rows with the least budget left first (no data last), then by tenant SLO."""
    return status.sort(["budget_remaining_percent", "tenant_id", "slo_name"], nulls_last=True)


def read_status(warehouse: Path) -> pl.DataFrame:
    """The lake's `fct_slo_status`, lowest budget first, with the SHOWN_COLUMNS."""
    status = lake.read_table(Path(warehouse), STATUS_TABLE)
    return lowest_budget_first(status).select(SHOWN_COLUMNS)
