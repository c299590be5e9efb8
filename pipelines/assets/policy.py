"""Stage 3b, policy: thresholds derived from history, and policies replayed against incidents."""

import dagster as dg

from pipelines.assets._common import materialize_days
from pipelines.assets.facts import fct_burn_rates
from pipelines.assets.metadata import definition_metadata, markdown_table
from pipelines.assets.specs import alert_policy, slo_specs
from pipelines.partitions import daily_partitions
from pipelines.policy.cohort_thresholds import build_cohort_thresholds
from pipelines.policy.replay import DEFAULT_POLICIES, comparison_text, replay
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake

# A version effective on day D is computed from the 14 days before D (the
# default history; a longer `policy.cohort.history_days` still reads what exists).
_HISTORY_DAYS = dg.TimeWindowPartitionMapping(
    start_offset=-14, end_offset=-1, allow_nonexistent_upstream_partitions=True
)
INCIDENTS_FILE = "incidents.csv"


@dg.asset(
    kinds={"duckdb", "parquet", "csv"},
    group_name="policy",
    owners=["team:sre"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[dg.AssetDep(fct_burn_rates, partition_mapping=_HISTORY_DAYS), slo_specs, alert_policy],
    pool="duckdb",
    metadata=definition_metadata("cohort_thresholds"),
)
def cohort_thresholds(
    context: dg.AssetExecutionContext, burnwatch: BurnwatchResource
) -> dg.MaterializeResult:
    """Per cohort, SLI kind and rule: the noise floor of normal burn over the days before the
    partition and the threshold proposed from it, effective from the partition's day
    (sql/cohort_thresholds.sql; also exports/cohort_thresholds.csv)."""
    return materialize_days(context, burnwatch, "cohort_thresholds", build_cohort_thresholds)


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
