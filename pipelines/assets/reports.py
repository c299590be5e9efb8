"""Stage 4, reports: what people read."""

import dagster as dg

from pipelines.assets.facts import fct_alert_episodes, fct_error_budget
from pipelines.resources import BurnwatchResource
from pipelines.summary import write_summary


@dg.asset(
    kinds={"html", "markdown"},
    group_name="reports",
    owners=["team:sre"],
    deps=[fct_alert_episodes, fct_error_budget],
)
def burn_summary(burnwatch: BurnwatchResource) -> dg.MaterializeResult:
    """A short Markdown and HTML summary: budgets left and alert episodes."""
    files = write_summary(burnwatch.warehouse_path)
    return dg.MaterializeResult(
        metadata={
            "summary": dg.MetadataValue.md(files.markdown_text),
            "html": dg.MetadataValue.url(files.html.resolve().as_uri()),
            "markdown_path": dg.MetadataValue.path(str(files.markdown)),
        }
    )
