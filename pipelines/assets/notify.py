"""Stage 5, notifications: alert transitions delivered to their routes, exactly once."""

import dagster as dg

from pipelines.assets.facts import (
    fct_alert_contributors,
    fct_alert_evaluations,
    fct_alerts,
    fct_error_budget,
    fct_slo_status,
)
from pipelines.assets.intermediate import int_tenant_horizons
from pipelines.notify.dispatch import run_notifications
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake


@dg.asset(
    kinds={"duckdb", "parquet"},
    group_name="notifications",
    owners=["team:sre"],
    # fct_slo_status: each message links to the report at the SLO's anchor (report_link).
    deps=[
        fct_alerts,
        fct_alert_contributors,
        fct_alert_evaluations,
        fct_error_budget,
        int_tenant_horizons,
        fct_slo_status,
    ],
    pool="duckdb",
)
def notifications(
    context: dg.AssetExecutionContext, burnwatch: BurnwatchResource
) -> dg.MaterializeResult:
    """Each grouped alert's transitions (opened, escalated, resolved) and each silent tenant's
    no_data / data_resumed, one message per route, through the outbox
    (state/outbox.duckdb) and into the audit log (audit/audit.jsonl); alerts still
    firing are re-sent to Alertmanager every run (docs/notifications.md)."""
    summary = run_notifications(
        burnwatch.warehouse_path,
        burnwatch.data_path,
        burnwatch.manifest_path,
        dry_run=burnwatch.dry_run,
        log=context.log.info,
    )
    lake.refresh_catalog(burnwatch.warehouse_path)
    statuses = "\n".join(
        f"| {status} | {count} |" for status, count in sorted(summary.status_counts.items())
    )
    return dg.MaterializeResult(
        metadata={
            "transitions": dg.MetadataValue.int(summary.transitions),
            "silences": dg.MetadataValue.int(summary.silences),
            "alertmanager_refreshes": dg.MetadataValue.int(summary.refreshed),
            "new_messages": dg.MetadataValue.int(summary.new_messages),
            "delivered": dg.MetadataValue.int(summary.delivered),
            "not_delivered": dg.MetadataValue.int(summary.failed),
            "dry_run": dg.MetadataValue.bool(summary.dry_run),
            "outbox": dg.MetadataValue.md(
                "| status | messages |\n|---|---|\n" + (statuses or "| (empty) | 0 |")
            ),
        }
    )
