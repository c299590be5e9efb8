"""The Dagster code location: every asset, check, job, schedule, sensor and resource."""

from __future__ import annotations

import dagster as dg

from pipelines import assets
from pipelines.resources import resource_from_env
from pipelines.schedules import (
    build_cycle_schedule,
    build_history_schedule,
    build_ledger_sensor,
    build_new_day_folder_sensor,
    build_newest_days_schedule,
)

all_assets = dg.load_assets_from_package_module(assets)
all_asset_checks = dg.load_asset_checks_from_package_module(assets)

# One job over the whole graph: unpartitioned assets (specs, episodes, reports)
# run once, partitioned ones for the run's day or day range.
burnwatch_job = dg.define_asset_job(
    "burnwatch",
    selection=dg.AssetSelection.all(),
    description="Specs, then each day's SLIs and burn rates, then episodes and reports.",
)

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=all_asset_checks,
    jobs=[burnwatch_job],
    schedules=[
        build_cycle_schedule(burnwatch_job),
        build_history_schedule(burnwatch_job),
        build_newest_days_schedule(burnwatch_job),
    ],
    sensors=[build_new_day_folder_sensor(burnwatch_job), build_ledger_sensor(burnwatch_job)],
    resources={"burnwatch": resource_from_env()},
    # Steps that write the lake take the one "duckdb" pool slot, so they run one at a time
    # anyway: a process per step (the default) would only add a Python start-up and an
    # import of this code location to every step of a UI or `dagster asset materialize` run.
    executor=dg.in_process_executor,
)
