"""The run report: one self-contained HTML page that an SRE reads after a run.

`write_report(warehouse)` writes `<warehouse>/reports/report.html`:

- an overview of every tenant SLO, lowest error budget remaining first;
- each tenant's budget burn-down (one small chart per tenant, a line per SLO);
- burn rates of every window for a chosen tenant SLO, one panel per policy rule
  with the rule's threshold from `alert_policy` and its episodes shaded;
- the alert episodes on a timeline, with change events near them when the lake
  holds a `change_events` table;
- cohort thresholds and replay comparison tables when the lake holds them.

The work is split by job: `queries` runs the models of `sql/reports/` and
returns `ReportData`, `figures` turns it into Plotly JSON, and `page` renders
and writes the HTML. This module keeps the names callers import.
"""

from pipelines.reporting.figures import (
    OVERVIEW_CHART_LIMIT,
    build_figures,
    burndown_id,
    series_key,
)
from pipelines.reporting.page import REPORT_FILE, ReportFiles, render_report, write_report
from pipelines.reporting.queries import (
    CHANGE_LOOKBACK,
    MAX_POINTS,
    STEP_CHOICES_MINUTES,
    ReportData,
    choose_step_minutes,
    load_report_data,
)

__all__ = [
    "CHANGE_LOOKBACK",
    "MAX_POINTS",
    "OVERVIEW_CHART_LIMIT",
    "REPORT_FILE",
    "STEP_CHOICES_MINUTES",
    "ReportData",
    "ReportFiles",
    "build_figures",
    "burndown_id",
    "choose_step_minutes",
    "load_report_data",
    "render_report",
    "series_key",
    "write_report",
]
