"""The report's deep link for each tenant SLO, which every alert message carries.

The anchor is `fct_slo_status.report_link`'s (`reports/report.html#burn=<tenant>/<slo>`,
encoded as the page's own links), so a message opens the page at the SLO's burn
rates. The page's address is the manifest's `notifications.report_url`, else
`$BURNWATCH_REPORT_URL`, else the warehouse's own `reports/report.html` as a
`file://` URL: right on the machine that ran the pipeline, and a hint elsewhere
that the setting is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.warehouse import lake
from schemas.errors import BurnwatchInputError
from schemas.routing import report_url_problem

REPORT_URL_ENV = "BURNWATCH_REPORT_URL"
STATUS_TABLE = "fct_slo_status"


def checked_report_url(text: str, source: str) -> str:
    """`text` if it is a usable report page URL (schemas.routing.report_url_problem);
    BurnwatchInputError naming `source` otherwise."""
    problem = report_url_problem(text)
    if problem:
        raise BurnwatchInputError(f"{source}={text}: {problem}")
    return text.strip()


def report_url_from_env() -> str | None:
    """$BURNWATCH_REPORT_URL, checked; None when unset or empty."""
    text = os.environ.get(REPORT_URL_ENV, "")
    return checked_report_url(text, REPORT_URL_ENV) if text.strip() else None


def report_page_url(warehouse: Path, configured: str | None) -> str:
    """The report page's address: the manifest's setting, the environment's, else the
    warehouse's report as a file:// URL."""
    if configured:
        return configured
    return report_url_from_env() or (Path(warehouse) / "reports" / "report.html").resolve().as_uri()


def report_links(warehouse: Path, page_url: str) -> dict[tuple[str, str], str]:
    """`page_url` plus each tenant SLO's anchor from the lake's fct_slo_status; empty when
    the status has not been written yet (a message then goes without the link)."""
    status = lake.read_table(Path(warehouse), STATUS_TABLE)  # empty when not written yet
    return {
        (row["tenant_id"], row["slo_name"]): f"{page_url}#{row['report_link'].split('#', 1)[1]}"
        for row in status.select("tenant_id", "slo_name", "report_link").iter_rows(named=True)
    }
