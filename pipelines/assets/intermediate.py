"""Stage 2, intermediate: requests counted per tenant SLO and 5-minute bucket."""

import dagster as dg

from pipelines.assets._common import materialize_day_blocks
from pipelines.assets.ingest_checks import int_quarantine_counts
from pipelines.assets.metadata import definition_metadata
from pipelines.assets.specs import slo_specs
from pipelines.assets.staging import stg_requests
from pipelines.models import build as steps
from pipelines.partitions import daily_partitions
from pipelines.resources import BurnwatchResource


@dg.asset(
    kinds={"duckdb", "parquet"},
    group_name="intermediate",
    owners=["team:sre"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[stg_requests, slo_specs, int_quarantine_counts],
    pool="duckdb",
    metadata=definition_metadata("int_sli_buckets"),
)
def int_sli_buckets(
    context: dg.AssetExecutionContext, burnwatch: BurnwatchResource
) -> dg.MaterializeResult:
    """Total and bad requests and exact latency quantiles per 5-minute bucket.

    SQL: sql/int_sli_buckets.sql.
    """
    return materialize_day_blocks(
        context, burnwatch, "int_sli_buckets", steps.build_int_sli_buckets_days
    )
