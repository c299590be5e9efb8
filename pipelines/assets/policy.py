"""Stage 3b, policy: thresholds derived from history, and policies replayed against incidents."""

import datetime as dt

import dagster as dg
import duckdb
import polars as pl

from pipelines.assets.factory import daily_check, model_asset
from pipelines.assets.facts import fct_burn_rates
from pipelines.assets.metadata import definition_metadata, markdown_table
from pipelines.assets.specs import alert_policy, slo_specs
from pipelines.policy.cohort_thresholds import build_cohort_thresholds
from pipelines.policy.paging_guard import current_policy, paging_more
from pipelines.policy.replay import DEFAULT_POLICIES, comparison_text, replay
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake

INCIDENTS_FILE = "incidents.csv"


cohort_thresholds = model_asset(
    "cohort_thresholds", "policy", build_cohort_thresholds, kinds=("duckdb", "parquet", "csv")
)


@daily_check(
    asset=cohort_thresholds,
    description=(
        "No derived threshold pages more than the policy: a noise threshold below a rule's own "
        "threshold is flagged, and the proposal held at the rule's own."
    ),
)
def cohort_thresholds_never_page_more(
    context: dg.AssetCheckExecutionContext, burnwatch: BurnwatchResource
) -> dg.AssetCheckResult:
    days = [dt.date.fromisoformat(key) for key in context.partition_keys]
    files = (
        lake.existing_partition_files(
            burnwatch.warehouse_path, "cohort_thresholds", days[0], days[-1]
        )
        if days
        else []
    )
    with duckdb.connect() as connection:
        table = connection.sql(
            f"select * from {lake.scan_sql(burnwatch.warehouse_path, 'cohort_thresholds', files)}"
        ).pl()
    held = table.filter(pl.col("held_at_default")).sort(
        "effective_from", "cohort", "sli", "rule_name"
    )
    preview = held.select(
        "effective_from", "cohort", "sli", "rule_name", "noise_threshold", "default_threshold"
    )
    return dg.AssetCheckResult(
        # A warning, not a failure: the guard already held each one at the policy's threshold.
        passed=held.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "proposals": table.height,
            "would_page_more": held.height,
            "held_at_default": dg.MetadataValue.md(markdown_table(preview.head(50))),
        },
    )


@dg.asset(
    kinds={"duckdb", "parquet"},
    group_name="policy",
    owners=["team:sre"],
    deps=[fct_burn_rates, cohort_thresholds, slo_specs, alert_policy],
    pool="duckdb",
    metadata=definition_metadata("replay_comparison"),
)
def policy_replay(
    context: dg.AssetExecutionContext, burnwatch: BurnwatchResource
) -> dg.MaterializeResult:
    """The Workbook, cohort-threshold and single-window policies replayed over every computed
    day and scored against <data>/incidents.csv when present: replay_comparison,
    replay_episodes and replay_detections."""
    if not lake.partition_days(burnwatch.warehouse_path, "fct_burn_rates"):
        context.log.info("no fct_burn_rates yet: nothing to replay")
        return dg.MaterializeResult(metadata={"dagster/row_count": dg.MetadataValue.int(0)})
    incidents = burnwatch.data_path / INCIDENTS_FILE
    result = replay(
        burnwatch.warehouse_path,
        burnwatch.manifest_path,
        DEFAULT_POLICIES,
        incidents if incidents.is_file() else None,
        threads=burnwatch.threads or None,
        memory_limit=burnwatch.memory_limit or None,
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(result.comparison.height),
            "comparison": dg.MetadataValue.md(comparison_text(result.comparison)),
            "preview": dg.MetadataValue.md(markdown_table(result.comparison)),
            "episodes": dg.MetadataValue.int(result.episodes),
            "incidents": dg.MetadataValue.int(result.incidents),
            "range": dg.MetadataValue.text(f"{result.first_day} .. {result.last_day}"),
        }
    )


@dg.asset_check(
    asset=policy_replay,
    description=(
        "No proposed policy of the replay sends more pages (grouped alerts and escalations) "
        "than the current policy; a warning names each one that does."
    ),
)
def replay_proposals_never_page_more(burnwatch: BurnwatchResource) -> dg.AssetCheckResult:
    comparison = lake.read_table(burnwatch.warehouse_path, "replay_comparison")
    flagged = paging_more(comparison)
    return dg.AssetCheckResult(
        # A warning, not a failure: a replay proposes, it changes nothing in force.
        passed=not flagged,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "current_policy": dg.MetadataValue.text(current_policy(comparison) or "not replayed"),
            "would_page_more": len(flagged),
            "proposals": dg.MetadataValue.md(
                "\n".join(f"- {flag.describe()}" for flag in flagged) or "none"
            ),
        },
    )
