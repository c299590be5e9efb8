"""Stage 0, specs: the SLO manifest as tables."""

import dagster as dg

from pipelines import steps
from pipelines.assets._common import materialize_whole
from pipelines.metadata import definition_metadata
from pipelines.resources import BurnwatchResource


@dg.asset(
    kinds={"duckdb", "yaml"},
    group_name="specs",
    owners=["team:sre"],
    pool="duckdb",
    metadata=definition_metadata("slo_specs"),
)
def slo_specs(burnwatch: BurnwatchResource) -> dg.MaterializeResult:
    """Every tenant's SLOs from `slos.yaml`, with cohort defaults resolved."""
    return materialize_whole(burnwatch, "slo_specs", steps.build_slo_specs)


@dg.asset(
    kinds={"duckdb", "yaml"},
    group_name="specs",
    owners=["team:sre"],
    pool="duckdb",
    metadata=definition_metadata("alert_policy"),
)
def alert_policy(burnwatch: BurnwatchResource) -> dg.MaterializeResult:
    """The multiwindow burn-rate rules in force for each tenant SLO."""
    return materialize_whole(burnwatch, "alert_policy", steps.build_alert_policy)
