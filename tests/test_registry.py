"""The model registry is the one lineage: the SQL files, the Dagster graph, the binder and
the README all agree with it, and every lookback is written there once."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import dagster as dg
import pytest

from pipelines import definitions
from pipelines.models import build
from pipelines.models.registry import (
    LONGEST_WINDOW,
    MODELS,
    SQL_DIR,
    STEP,
    Kind,
    Lookback,
    Reach,
    Source,
    history_days_needed,
    longest_period_days,
    model,
    render_models_markdown,
    sql_models,
)
from pipelines.runner import lookback_days
from pipelines.warehouse import session
from schemas.manifest import WINDOW_MINUTES, load_manifest
from schemas.tables import TABLES

README = Path(__file__).resolve().parent.parent / "README.md"
DAY = dt.date(2024, 3, 10)


def test_every_file_in_sql_has_one_registry_entry_and_every_sql_entry_a_file() -> None:
    files = {path.relative_to(SQL_DIR).as_posix() for path in SQL_DIR.glob("*/*.sql")}
    entries = {f"{entry.layer}/{entry.name}.sql" for entry in sql_models()}
    assert files == entries


def test_every_registry_entry_has_a_table_schema() -> None:
    assert [name for name in MODELS if name not in TABLES] == []


def test_registry_order_is_a_dag_order() -> None:
    seen: set[str] = set()
    for entry in MODELS.values():
        for source in entry.inputs:
            if source.table in MODELS:
                assert source.table in seen, f"{entry.name} reads {source.table} before it is built"
        seen.add(entry.name)


def _parents(name: str) -> set[str]:
    graph = definitions.defs.get_repository_def().asset_graph
    return {key.to_user_string() for key in graph.get(dg.AssetKey(name)).parent_keys}


@pytest.mark.parametrize(
    "name",
    [n for n, e in MODELS.items() if e.kind is not Kind.EPHEMERAL and e.layer != "replay"],
)
def test_each_model_assets_deps_are_its_registry_inputs(name: str) -> None:
    entry = model(name)
    expected = {source.table for source in entry.lake_inputs()} | set(entry.extra_deps)
    assert _parents(name) == expected


def _mapping_offsets(name: str, upstream: str) -> tuple[int, int] | None:
    asset = next(
        a
        for a in definitions.all_assets
        if isinstance(a, dg.AssetsDefinition) and dg.AssetKey(name) in a.keys
    )
    mapping = asset.get_partition_mapping(dg.AssetKey(upstream))
    if isinstance(mapping, dg.TimeWindowPartitionMapping):
        return mapping.start_offset, mapping.end_offset
    return None


def test_dagster_mappings_reach_as_far_back_as_the_binder() -> None:
    # fct_error_budget reads its SLO period of buckets: the mapping must cover the
    # longest period a manifest may set, not the same day (the bug this replaced).
    start, end = _mapping_offsets("fct_error_budget", "int_sli_buckets") or (0, 0)
    assert end == 0 and -start >= 366
    assert _mapping_offsets("fct_burn_rates", "int_sli_buckets") == (-4, 0)
    assert _mapping_offsets("fct_alert_evaluations", "fct_burn_rates") == (-1, 0)
    start, end = _mapping_offsets("cohort_thresholds", "fct_burn_rates") or (0, 0)
    assert end == -1 and -start >= 366
    assert _mapping_offsets("int_sli_buckets", "stg_requests") is None


def _first_bucket_read(span: dt.timedelta) -> dt.date:
    """Brute force: the earliest bucket any step of DAY needs, walking every step."""
    earliest = None
    step = dt.datetime.combine(DAY, dt.time())
    while step.date() == DAY:
        # A window [t - span, t) is the difference of running sums at t and t - span,
        # the latter ending in the bucket before t - span.
        first = step - span - STEP
        earliest = first if earliest is None or first < earliest else earliest
        step += STEP
    assert earliest is not None
    return earliest.date()


@pytest.mark.parametrize("days", [1, 2, 7, 28, 30, 31, 92, 366])
def test_the_slo_period_lookback_matches_a_brute_force_walk_of_the_days_steps(days: int) -> None:
    reach = Lookback(Reach.SLO_PERIOD)
    assert reach.first_day(DAY, days, 0) == _first_bucket_read(dt.timedelta(days=days))
    assert reach.max_days_back() is not None
    assert (DAY - reach.first_day(DAY, days, 0)).days <= reach.max_days_back()


def test_the_longest_window_lookback_is_the_longest_window_of_the_manifest_list() -> None:
    assert dt.timedelta(minutes=max(WINDOW_MINUTES.values())) == LONGEST_WINDOW
    reach = Lookback(Reach.LONGEST_WINDOW)
    assert reach.first_day(DAY, 30, 0) == _first_bucket_read(LONGEST_WINDOW)
    assert (DAY - reach.first_day(DAY, 30, 0)).days == reach.max_days_back()


def test_history_lookback_is_the_days_before_not_the_day() -> None:
    reach = Lookback(Reach.HISTORY)
    assert (reach.first_day(DAY, 0, 14), reach.last_day(DAY)) == (
        DAY - dt.timedelta(days=14),
        DAY - dt.timedelta(days=1),
    )


def test_calendar_periods_reach_their_longest_length() -> None:
    assert longest_period_days([(30, None), (7, "week")]) == 30
    assert longest_period_days([(7, None), (30, "month")]) == 31
    assert longest_period_days([(30, "quarter")]) == 92


def test_burnwatch_run_extends_history_by_the_registrys_reach(tmp_path: Path) -> None:
    manifest = tmp_path / "slos.yaml"
    manifest.write_text(
        "cohorts: {c: {availability: {objective: 99.9}}}\n"
        "tenants:\n"
        "  - {id: a, cohort: c, slos: [{name: s, service: api, sli: availability,"
        " calendar: quarter}]}\n",
        encoding="utf-8",
    )
    assert lookback_days(load_manifest(manifest)) == history_days_needed(92)
    assert (
        lookback_days(load_manifest(manifest))
        == (DAY - _first_bucket_read(dt.timedelta(days=92))).days
    )


def test_no_model_writes_a_window_length_or_step_size_of_its_own() -> None:
    literal = re.compile(r"interval\s+'?\d+\s*(day|hour)|//\s*300\b|\b(259200|4320)\b", re.I)
    offenders = [
        f"{path.relative_to(SQL_DIR)}:{number}"
        for path in SQL_DIR.glob("*/*.sql")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if not line.lstrip().startswith("--") and literal.search(line)
    ]
    assert offenders == []


def test_the_binder_binds_each_input_for_the_days_its_lookback_reaches(tmp_path: Path) -> None:
    # Empty lake partitions for 40 days of int_sli_buckets; fct_error_budget of DAY
    # over a 30-day SLO must bind the 31 days its period (plus one bucket) touches.
    from pipelines.warehouse import lake

    warehouse = tmp_path / "warehouse"
    connection = session.connect()
    connection.execute(
        "create table specs as select 'a' as tenant_id, 's' as slo_name, 'c' as cohort, "
        "'api' as service, 'availability' as sli, 99.9 as objective, null::double as "
        "threshold_ms, 30::integer as period_days, null::varchar as calendar, 'UTC' as timezone, "
        "'occurrences' as budgeting, 5::integer as timeslice_minutes, null::double as "
        "timeslice_target, null::varchar as bad_predicate, 15::integer as max_silence_minutes"
    )
    lake.write_query(connection, "select * from specs", warehouse, "slo_specs")
    for offset in range(40):
        day = DAY - dt.timedelta(days=offset)
        lake.write_query(
            connection, lake.typed_empty("int_sli_buckets"), warehouse, "int_sli_buckets", day
        )
    probe = session.connect()
    build.bind_inputs(probe, warehouse, model("fct_error_budget"), DAY, DAY)
    plan = probe.execute(
        "select sql from duckdb_views() where view_name = 'int_sli_buckets'"
    ).fetchone()
    assert plan is not None
    days = sorted(set(re.findall(r"date=(\d{4}-\d{2}-\d{2})", plan[0])))
    assert days[0] == (DAY - dt.timedelta(days=31)).isoformat()
    assert days[-1] == DAY.isoformat()
    assert len(days) == 32
    connection.close()
    probe.close()


def test_readme_model_table_is_the_registrys() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- models:begin -->\n(.*?)\n<!-- models:end -->", text, re.S)
    assert match, "README.md lacks the <!-- models:begin --> ... <!-- models:end --> block"
    assert match.group(1) == render_models_markdown(), (
        "README's model table differs from the registry: run "
        "`.venv/bin/python scripts/table_docs.py --write`"
    )


def test_python_built_tables_have_no_sql_file() -> None:
    for entry in MODELS.values():
        if entry.source is Source.PYTHON:
            with pytest.raises(ValueError):
                _ = entry.path
