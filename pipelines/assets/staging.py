"""Stage 1, staging: request logs read where they lie, deduplicated across replicas."""

import dagster as dg

from pipelines.assets._common import materialize_day_blocks
from pipelines.assets.metadata import definition_metadata
from pipelines.ingest import staging
from pipelines.partitions import daily_partitions
from pipelines.resources import BurnwatchResource


@dg.asset(
    kinds={"duckdb", "parquet"},
    group_name="staging",
    owners=["team:sre"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb",
    metadata=definition_metadata("stg_requests"),
)
def stg_requests(
    context: dg.AssetExecutionContext, burnwatch: BurnwatchResource
) -> dg.MaterializeResult:
    """One row per request of the day: replicas' copies collapsed to the earliest.

    SQL: sql/stg_requests.sql.
    """
    return materialize_day_blocks(
        context, burnwatch, "stg_requests", staging.build_stg_requests_days
    )
