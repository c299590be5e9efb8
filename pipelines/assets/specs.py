"""Stage 0, specs: the SLO manifest as tables."""

import dagster as dg

from pipelines.assets.factory import materialize_whole, model_asset
from pipelines.assets.metadata import definition_metadata
from pipelines.models import build
from pipelines.resources import BurnwatchResource
from schemas.manifest import load_manifest

slo_specs = model_asset("slo_specs", "specs", build.build_slo_specs, kinds=("duckdb", "yaml"))
budget_adjustments = model_asset(
    "budget_adjustments", "specs", build.build_budget_adjustments, kinds=("duckdb", "yaml")
)


@dg.asset(
    kinds={"duckdb", "yaml"},
    group_name="specs",
    owners=["team:sre"],
    pool="duckdb",
    metadata=definition_metadata("alert_policy"),
)
def alert_policy(
    context: dg.AssetExecutionContext, burnwatch: BurnwatchResource
) -> dg.MaterializeResult:
    """The multiwindow burn-rate rules in force for each tenant SLO (overrides merged).

    A rule whose threshold is at or above the SLO's maximum possible burn can never
    fire: it is kept (`can_fire` false) and logged as a warning.
    """
    result = materialize_whole(burnwatch, "alert_policy", build.build_alert_policy)
    warnings = load_manifest(burnwatch.manifest_path).policy_warnings()
    for line in warnings:
        context.log.warning(f"alert policy: {line}")
    return dg.MaterializeResult(
        metadata={
            **(result.metadata or {}),
            "rules_that_cannot_fire": dg.MetadataValue.int(len(warnings)),
            "policy_warnings": dg.MetadataValue.md(
                "\n".join(f"- {line}" for line in warnings) or "_none_"
            ),
        }
    )
