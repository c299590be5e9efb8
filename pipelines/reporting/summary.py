"""The run summary: budgets left and alert episodes, as Markdown and as HTML."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import jinja2

from pipelines.assets.metadata import markdown_table
from pipelines.warehouse import lake
from pipelines.warehouse.session import bind

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class SummaryFiles:
    markdown: Path
    html: Path
    markdown_text: str


def _budget_rows(connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    return connection.sql(
        """
        select
            fct_error_budget.tenant_id,
            fct_error_budget.slo_name,
            max(fct_error_budget.eval_ts) as as_of,
            arg_max_null(fct_error_budget.remaining, fct_error_budget.eval_ts) as budget_remaining,
            arg_max_null(fct_error_budget.time_to_exhaustion, fct_error_budget.eval_ts)
                as hours_to_exhaustion
        from fct_error_budget
        group by fct_error_budget.tenant_id, fct_error_budget.slo_name
        order by budget_remaining nulls last, tenant_id, slo_name
        """
    )


def write_summary(warehouse: Path) -> SummaryFiles:
    """Write `<warehouse>/reports/summary.md` and `summary.html` from the lake."""
    warehouse = Path(warehouse)
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        for table in ("fct_error_budget", "fct_alert_episodes"):
            bind(connection, table, f"select * from {lake.scan_sql(warehouse, table)}")
        budgets = _budget_rows(connection).pl()
        episodes = connection.sql(
            "select tenant_id, slo_name, rule_name, severity, started_at, resolved_at, "
            "round(peak_long_burn_rate, 2) as peak_burn from fct_alert_episodes "
            "order by started_at, tenant_id, slo_name, rule_name"
        ).pl()
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
    out.mkdir(parents=True, exist_ok=True)
    markdown_text = environment.get_template("summary.md.j2").render(context)
    (out / "summary.md").write_text(markdown_text, encoding="utf-8")
    (out / "summary.html").write_text(
        environment.get_template("summary.html.j2").render(context), encoding="utf-8"
    )
    return SummaryFiles(out / "summary.md", out / "summary.html", markdown_text)
