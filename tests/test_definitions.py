"""The Dagster code location loads, and wires what the UI shows."""

from __future__ import annotations

import dagster as dg

from pipelines import definitions


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(definitions.defs)


def test_every_table_asset_has_a_group_owner_description_and_column_schema() -> None:
    repository = definitions.defs.get_repository_def()
    graph = repository.asset_graph
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name != "default", key
        assert node.owners, key
        assert node.description, key


def test_schedule_requests_yesterday_and_today() -> None:
    import datetime as dt

    schedule = definitions.defs.get_schedule_def("burnwatch_hourly")
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 10, 5, 3, 7, tzinfo=dt.UTC)
    )
    request = schedule.evaluate_tick(context).run_requests[0]
    assert request.tags["dagster/asset_partition_range_start"] == "2026-10-04"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-10-05"


def test_dagster_yaml_is_a_valid_instance_config(tmp_path) -> None:
    import shutil
    from pathlib import Path

    shutil.copy(Path(__file__).parent.parent / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        assert not instance.telemetry_enabled
    finally:
        instance.dispose()
