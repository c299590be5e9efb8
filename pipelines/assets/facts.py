"""Stage 3, facts: burn rates, error budgets, rule evaluations and alert episodes."""

import dagster as dg

from pipelines.assets._common import materialize_days, materialize_whole
from pipelines.assets.intermediate import int_sli_buckets
from pipelines.assets.metadata import definition_metadata
from pipelines.assets.specs import alert_policy, slo_specs
from pipelines.models import build as steps
from pipelines.partitions import daily_partitions
from pipelines.resources import BurnwatchResource

# A day's 3-day windows reach back into the three days before it.
_LONGEST_WINDOW_DAYS = dg.TimeWindowPartitionMapping(
    start_offset=-3, end_offset=0, allow_nonexistent_upstream_partitions=True
)


@dg.asset(
    kinds={"duckdb", "parquet"},
    group_name="facts",
    owners=["team:sre"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[dg.AssetDep(int_sli_buckets, partition_mapping=_LONGEST_WINDOW_DAYS), slo_specs],
    pool="duckdb",
    metadata=definition_metadata("fct_burn_rates"),
)
def fct_burn_rates(
    context: dg.AssetExecutionContext, burnwatch: BurnwatchResource
) -> dg.MaterializeResult:
    """Counts and burn rate per 5-minute step and window 5m..3d (sql/fct_burn_rates.sql)."""
    return materialize_days(context, burnwatch, "fct_burn_rates", steps.build_fct_burn_rates)


@dg.asset(
    kinds={"duckdb", "parquet"},
    group_name="facts",
    owners=["team:sre"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[int_sli_buckets, fct_burn_rates, slo_specs],
    pool="duckdb",
    metadata=definition_metadata("fct_error_budget"),
)
def fct_error_budget(
    context: dg.AssetExecutionContext, burnwatch: BurnwatchResource
) -> dg.MaterializeResult:
    """Budget consumed and remaining over each SLO's period, and time to exhaustion."""
    return materialize_days(context, burnwatch, "fct_error_budget", steps.build_fct_error_budget)


@dg.asset(
    kinds={"duckdb", "parquet"},
    group_name="facts",
    owners=["team:sre"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    # cohort_thresholds: the day's thresholds when the manifest sets policy.thresholds: cohort.
    # fct_burn_rates of the day before too: ticket suppression follows a run across midnight.
    deps=[
        dg.AssetDep(
            fct_burn_rates,
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-1, end_offset=0, allow_nonexistent_upstream_partitions=True
            ),
        ),
        alert_policy,
        dg.AssetKey("cohort_thresholds"),
    ],
    pool="duckdb",
    metadata=definition_metadata("fct_alert_evaluations"),
)
def fct_alert_evaluations(
    context: dg.AssetExecutionContext, burnwatch: BurnwatchResource
) -> dg.MaterializeResult:
    """Each policy rule at each step: both windows' burn and whether it fires."""
    return materialize_days(
        context, burnwatch, "fct_alert_evaluations", steps.build_fct_alert_evaluations
    )


@dg.asset(
    kinds={"duckdb", "parquet"},
    group_name="facts",
    owners=["team:sre"],
    deps=[fct_alert_evaluations],
    pool="duckdb",
    metadata=definition_metadata("fct_alert_episodes"),
)
def fct_alert_episodes(burnwatch: BurnwatchResource) -> dg.MaterializeResult:
    """Alert episodes: from a rule's first firing step to its first quiet one."""
    return materialize_whole(burnwatch, "fct_alert_episodes", steps.build_fct_alert_episodes)
