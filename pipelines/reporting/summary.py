"""The run summary: budgets left and alert episodes, as Markdown and as HTML.

Its budgets are the report's (`sql/reports/report_budget_latest.sql`) and its
episodes are `sql/reports/report_summary_episodes.sql`; both files are written
atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import polars as pl

from pipelines.assets.metadata import markdown_table
from pipelines.reporting.queries import SUMMARY_INPUTS, bind_lake, run_model
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
        budgets = run_model(connection, "report_budget_latest").select(
            "tenant_id",
            "slo_name",
            "as_of",
            pl.col("remaining").alias("budget_remaining"),
            pl.col("time_to_exhaustion").alias("hours_to_exhaustion"),
        )
        run_model(connection, "report_episodes")
        episodes = run_model(connection, "report_summary_episodes")
    pages = episodes.filter(episodes["severity"] == "page").height
    tickets = episodes.height - pages
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html"])
    )
    context = {
        "budgets": budgets.to_dicts(),
        "episodes": episodes.to_dicts(),
        "pages": pages,
        "tickets": tickets,
        "budget_table": markdown_table(budgets, limit=50),
        "episode_table": markdown_table(episodes, limit=200),
    }
    out = warehouse / "reports"
    markdown_text = environment.get_template("summary.md.j2").render(context)
    markdown = write_text_atomic(out / "summary.md", markdown_text)
    html = write_text_atomic(
        out / "summary.html", environment.get_template("summary.html.j2").render(context)
    )
    return SummaryFiles(markdown, html, markdown_text)
