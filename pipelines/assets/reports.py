"""Stage 4, reports: what people read."""

import datetime as dt

import dagster as dg

from pipelines.assets.facts import (
    fct_alert_episodes,
    fct_burn_rates,
    fct_error_budget,
    fct_slo_status,
)
from pipelines.assets.notify import notifications
from pipelines.assets.policy import cohort_thresholds, policy_replay
from pipelines.assets.specs import alert_policy, slo_specs
from pipelines.reporting.report import write_report
from pipelines.reporting.summary import write_summary
from pipelines.resources import BurnwatchResource
from schemas.manifest import load_manifest


@dg.asset(
    kinds={"html", "markdown"},
    group_name="reports",
    owners=["team:sre"],
    deps=[fct_slo_status, fct_alert_episodes],
)
def burn_summary(burnwatch: BurnwatchResource) -> dg.MaterializeResult:
    """A short Markdown and HTML summary: each SLO's status and the alert episodes."""
    files = write_summary(burnwatch.warehouse_path)
    return dg.MaterializeResult(
        metadata={
            "summary": dg.MetadataValue.md(files.markdown_text),
            "html": dg.MetadataValue.url(files.html.resolve().as_uri()),
            "markdown_path": dg.MetadataValue.path(str(files.markdown)),
        }
    )


@dg.asset(
    kinds={"html", "plotly"},
    group_name="reports",
    owners=["team:sre"],
    deps=[
        burn_summary,
        fct_slo_status,
        fct_alert_episodes,
        fct_error_budget,
        fct_burn_rates,
        alert_policy,
        slo_specs,
        # Optional sections: the page shows their lake tables when they exist.
        notifications,  # writes change_events
        cohort_thresholds,
        policy_replay,  # writes replay_comparison
    ],
)
def report(burnwatch: BurnwatchResource) -> dg.MaterializeResult:
    """The run report (reports/report.html): budgets, burn-down, burn rates against the
    policy's thresholds, and alert episodes on a timeline; self-contained and offline."""
    lookback = load_manifest(burnwatch.manifest_path).notifications.events.lookback_minutes
    files = write_report(burnwatch.warehouse_path, dt.timedelta(minutes=lookback))
    summary = files.html.with_name("summary.md")
    summary_text = (
        summary.read_text(encoding="utf-8")
        if summary.is_file()
        else "_no summary yet: materialize burn_summary_"
    )
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.url(files.html.resolve().as_uri()),
            "path": dg.MetadataValue.path(str(files.html)),
            "summary": dg.MetadataValue.md(summary_text),
            "size_bytes": dg.MetadataValue.int(files.size_bytes),
            "tenant_slos": dg.MetadataValue.int(files.tenant_slos),
            "episodes": dg.MetadataValue.int(files.episodes),
            "chart_step_minutes": dg.MetadataValue.int(files.step_minutes),
            "sections": dg.MetadataValue.text(", ".join(files.sections)),
        }
    )
