"""The run summary: each tenant SLO's status and the alert episodes, as Markdown and HTML.

Its statuses are `fct_slo_status` (the table the report's overview and
`burnwatch run` read too), most urgent first, and its episodes are
`sql/reports/report_summary_episodes.sql`; both files are written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from pipelines.assets.metadata import markdown_table
from pipelines.reporting.queries import SUMMARY_INPUTS, bind_lake, run_model
from pipelines.reporting.status import SHOWN_COLUMNS, STATUS_TABLE, most_urgent_first
from pipelines.warehouse.atomic import write_text_atomic
from pipelines.warehouse.session import connect

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class SummaryFiles:
    markdown: Path
    html: Path
    markdown_text: str


def write_summary(warehouse: Path) -> SummaryFiles:
    """Write `<warehouse>/reports/summary.md` and `summary.html` from the lake."""
    warehouse = Path(warehouse)
    with connect() as connection:
        bind_lake(connection, warehouse, SUMMARY_INPUTS)
        statuses = most_urgent_first(connection.table(STATUS_TABLE).pl()).select(SHOWN_COLUMNS)
        run_model(connection, "report_episodes")
        episodes = run_model(connection, "report_summary_episodes")
    pages = episodes.filter(episodes["severity"] == "page").height
    tickets = episodes.height - pages
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html"])
    )
    context = {
        "statuses": statuses.to_dicts(),
        "episodes": episodes.to_dicts(),
        "pages": pages,
        "tickets": tickets,
        "status_table": markdown_table(statuses, limit=50),
        "episode_table": markdown_table(episodes, limit=200),
    }
    out = warehouse / "reports"
    markdown_text = environment.get_template("summary.md.j2").render(context)
    markdown = write_text_atomic(out / "summary.md", markdown_text)
    html = write_text_atomic(
        out / "summary.html", environment.get_template("summary.html.j2").render(context)
    )
    return SummaryFiles(markdown, html, markdown_text)
