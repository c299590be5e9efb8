"""The HTML run report (pipelines/report.py): what it shows, checked against the lake.

A small dataset is built in tmp_path (three tenants over two days, an outage
of acme's api on the second morning so that alerts fire) and run through the
whole pipeline; the report's data are then compared with values computed here
independently from the lake's tables with polars.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dagster as dg
import plotly.graph_objects as go
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.assets.reports import report
from pipelines.reporting.figures import burndown_id
from pipelines.reporting.page import render_report
from pipelines.reporting.report import (
    MAX_POINTS,
    STEP_CHOICES_MINUTES,
    build_figures,
    choose_step_minutes,
    load_report_data,
    write_report,
)
from pipelines.resources import BurnwatchResource
from pipelines.runner import run_pipeline
from pipelines.warehouse import lake
from schemas.tables import arrow_schema

pytestmark = pytest.mark.slow

DAYS = [dt.date(2026, 3, 1), dt.date(2026, 3, 2)]
OUTAGE = (dt.datetime(2026, 3, 2, 10, 0), dt.datetime(2026, 3, 2, 10, 40))
MANIFEST = """\
version: 1
cohorts:
  standard:
    availability: {objective: 99.9}
    latency: {objective: 99.0, threshold_ms: 300}
tenants:
  - id: acme
    cohort: standard
    slos:
      - {name: api-availability, service: api, sli: availability}
      - {name: api-latency, service: api, sli: latency}
  - id: globex
    cohort: standard
    slos:
      - {name: api-availability, service: api, sli: availability, objective: 99.5}
      - {name: web-availability, service: web, sli: availability}
  - id: initech
    cohort: standard
    slos:
      - {name: api-availability, service: api, sli: availability}
"""
REQUEST_SCHEMA = arrow_schema("raw_requests", timezone=None)
# Each tenant's background error rate: globex burns slowly, acme only in its outage.
ERROR_RATES = {"acme": 0.0, "globex": 0.004, "initech": 0.0}


def _status(tenant: str, service: str, ts: dt.datetime, rng: random.Random) -> int:
    if tenant == "acme" and service == "api" and OUTAGE[0] <= ts < OUTAGE[1]:
        return 503
    return 500 if rng.random() < ERROR_RATES[tenant] else 200


def build_dataset(root: Path, requests_per_day: int = 2400) -> tuple[Path, Path]:
    """Write request logs and `slos.yaml` under `root`; return (data dir, manifest)."""
    rng = random.Random(20260301)
    for tenant in ERROR_RATES:
        for day in DAYS:
            start = dt.datetime.combine(day, dt.time())
            rows = []
            for index in range(requests_per_day):
                ts = start + dt.timedelta(seconds=86_400 * index / requests_per_day)
                service = "api" if index % 3 else "web"
                rows.append(
                    {
                        "request_id": f"{tenant}-{day}-{index}",
                        "ts": ts,
                        "tenant_id": tenant,
                        "service": service,
                        "operation": None,
                        "status_code": _status(tenant, service, ts, rng),
                        "latency_ms": 40 + 200 * rng.random(),
                        "replica": "r1",
                    }
                )
            folder = root / "requests" / f"tenant={tenant}" / f"date={day}"
            folder.mkdir(parents=True)
            pq.write_table(
                pa.Table.from_pylist(rows, schema=REQUEST_SCHEMA), folder / "part-0.parquet"
            )
    manifest = root / "slos.yaml"
    manifest.write_text(MANIFEST, encoding="utf-8")
    return root, manifest


def write_change_events(warehouse: Path) -> pl.DataFrame:
    """A `change_events` lake table as the notifications stage writes it; "*" is everyone."""
    folder = lake.lake_dir(warehouse, "change_events")
    folder.mkdir(parents=True, exist_ok=True)
    events = pl.DataFrame(
        [
            ("2026-03-01 06:00", "acme", "api", "deploy", "v41"),
            ("2026-03-01 03:00", "globex", "web", "config", "feature flag"),
            ("2026-03-02 09:30", "*", "*", "scale", "cluster resized"),
            ("2026-03-02 09:45", "acme", "api", "deploy", "v42 <canary>"),
            ("2026-03-02 09:50", "acme", "web", "deploy", "v7"),
            ("2026-03-02 10:00", "*", "db", "failover", "primary moved"),
        ],
        schema=["ts", "tenant_id", "service", "kind", "description"],
        orient="row",
    ).with_columns(
        pl.col("ts").str.to_datetime("%Y-%m-%d %H:%M", time_unit="us"),
        pl.lit("events/changes.csv").alias("source"),
    )
    events.write_parquet(folder / "data.parquet")
    return events


def build_warehouse(root: Path) -> Path:
    """Run the whole pipeline over the small dataset; return the warehouse."""
    data, manifest = build_dataset(root / "input")
    warehouse = root / "warehouse"
    run_pipeline(data, manifest, warehouse, say=lambda _: None)
    return warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("report"))


def test_the_run_writes_the_report(warehouse: Path) -> None:
    page = (warehouse / "reports" / "report.html").read_text(encoding="utf-8")
    assert "Burnwatch report" in page
    assert 'id="overview-budget"' in page


def test_the_report_is_byte_identical_for_the_same_lake(warehouse: Path) -> None:
    first = write_report(warehouse).html.read_bytes()
    second = write_report(warehouse).html.read_bytes()
    assert first == second


def test_the_report_fetches_nothing(warehouse: Path) -> None:
    page = write_report(warehouse).html.read_text(encoding="utf-8")
    assert "<script src" not in page
    assert "<link" not in page
    assert "cdn.plot.ly/plotly" not in page


def test_every_figure_is_valid_plotly(warehouse: Path) -> None:
    for key, figure in build_figures(load_report_data(warehouse)).items():
        try:
            go.Figure(figure)
        except ValueError as error:  # plotly names the bad property
            pytest.fail(f"figure {key}: {error}")


def _latest_budgets(warehouse: Path) -> pl.DataFrame:
    budget = lake.read_table(warehouse, "fct_error_budget")
    return (
        budget.sort("eval_ts")
        .group_by("tenant_id", "slo_name")
        .agg(pl.col("budget_remaining_percent").last(), pl.col("eval_ts").last().alias("as_of"))
    )


def test_overview_is_the_newest_budget_most_urgent_first(warehouse: Path) -> None:
    # The overview reads fct_slo_status: its budget is the newest fct_error_budget
    # row's. Order: paging, ticketing, no data, then the least budget left.
    overview = load_report_data(warehouse).overview
    states = lake.read_table(warehouse, "fct_slo_status").select("tenant_id", "slo_name", "state")
    rank = {"page": 0, "ticket": 1, "no_data": 2}
    expected = (
        _latest_budgets(warehouse)
        .join(states, on=["tenant_id", "slo_name"])
        .with_columns(rank=pl.col("state").replace_strict(rank, default=3))
        .sort(["rank", "budget_remaining_percent", "tenant_id", "slo_name"], nulls_last=True)
    )
    assert overview.select("tenant_id", "slo_name", "as_of").equals(
        expected.select("tenant_id", "slo_name", "as_of")
    )
    assert overview["budget_remaining_percent"].to_list() == pytest.approx(
        expected["budget_remaining_percent"].to_list()
    )


def test_overview_shows_each_slos_status(warehouse: Path) -> None:
    overview = load_report_data(warehouse).overview.sort("tenant_id", "slo_name")
    status = lake.read_table(warehouse, "fct_slo_status")
    assert overview.select("tenant_id", "slo_name", "state", "open_alerts").equals(
        status.select("tenant_id", "slo_name", "state", "open_alerts")
    )
    page = write_report(warehouse).html.read_text(encoding="utf-8")
    assert "<th>state</th>" in page
    for row in status.iter_rows(named=True):
        assert f'<td class="{row["state"]}">{row["state"]}</td>' in page


def test_burndown_samples_step_boundaries_and_the_newest_step(warehouse: Path) -> None:
    data = load_report_data(warehouse)
    budget = lake.read_table(warehouse, "fct_error_budget")
    newest = budget["eval_ts"].max()
    step = dt.timedelta(minutes=data.step_minutes)
    on_grid = budget.filter(
        ((pl.col("eval_ts") - pl.col("eval_ts").dt.truncate(step)) == dt.timedelta(0))
        | (pl.col("eval_ts") == newest)
    ).sort("tenant_id", "slo_name", "eval_ts")
    assert data.burndown.equals(on_grid.select(data.burndown.columns))


def test_burn_rates_are_peaks_per_step(warehouse: Path) -> None:
    data = load_report_data(warehouse)
    rates = lake.read_table(warehouse, "fct_burn_rates")
    peaks = (
        rates.with_columns(
            pl.col("eval_ts").dt.truncate(f"{data.step_minutes}m").alias("step_start")
        )
        .group_by("tenant_id", "slo_name", "window", "step_start")
        .agg(pl.col("burn_rate").max().alias("peak_burn_rate"))
        .sort("tenant_id", "slo_name", "window", "step_start")
    )
    assert data.burn_rates.equals(peaks.select(data.burn_rates.columns))


def test_thresholds_come_from_the_lakes_alert_policy(warehouse: Path) -> None:
    figures = build_figures(load_report_data(warehouse))
    policy = lake.read_table(warehouse, "alert_policy")
    for row in policy.iter_rows(named=True):
        figure = figures[f"burn:{row['tenant_id']}/{row['slo_name']}"]
        lines = [
            t
            for t in figure["data"]
            if t["meta"]["kind"] == "threshold" and t["meta"]["rule"] == row["rule_name"]
        ]
        assert [line["y"] for line in lines] == [[row["burn_threshold"]] * 2]


def _chart_order(warehouse: Path) -> list[tuple[str, str]]:
    """Every tenant SLO in the order report_charted charts them, computed here: those with
    episodes first, then paging, ticketing, no data, the least budget left, the names."""
    status = lake.read_table(warehouse, "fct_slo_status")
    episodes = lake.read_table(warehouse, "fct_alert_episodes").select("tenant_id", "slo_name")
    with_episodes = set(episodes.unique().rows())
    rank = {"page": 0, "ticket": 1, "no_data": 2}

    def order(row: dict[str, Any]) -> tuple[Any, ...]:
        budget = row["budget_remaining_percent"]
        return (
            (row["tenant_id"], row["slo_name"]) not in with_episodes,
            rank.get(row["state"], 3),
            budget is None,
            budget if budget is not None else 0.0,
            row["tenant_id"],
            row["slo_name"],
        )

    return [(r["tenant_id"], r["slo_name"]) for r in sorted(status.to_dicts(), key=order)]


def test_every_tenant_slo_is_charted_under_the_cap(warehouse: Path) -> None:
    data = load_report_data(warehouse)
    assert data.charted.select("tenant_id", "slo_name").rows() == _chart_order(warehouse)
    page = write_report(warehouse).html.read_text(encoding="utf-8")
    assert 'id="charted-note"' not in page


def test_over_the_cap_only_episodes_then_the_most_urgent_are_charted(warehouse: Path) -> None:
    order = _chart_order(warehouse)
    assert len(order) > 2, "the dataset needs more tenant SLOs than the cap to test it"
    data = load_report_data(warehouse, max_charted_slos=2)
    charted = order[:2]
    assert data.charted.select("tenant_id", "slo_name").rows() == charted
    for frame in (data.burndown, data.burn_rates):
        assert sorted(frame.select("tenant_id", "slo_name").unique().rows()) == sorted(charted)
    figures = build_figures(data)
    assert sorted(k for k in figures if k.startswith("burn:")) == sorted(
        f"burn:{tenant}/{slo}" for tenant, slo in charted
    )
    assert {k for k in figures if k.startswith("burndown")} == {
        burndown_id(tenant) for tenant, _ in charted
    }
    page = render_report(data)
    assert f"Charts for 2 of {len(order)} tenant SLOs" in page
    for tenant, slo in order:
        link = f'href="#burn={quote(f"{tenant}/{slo}")}"'
        assert (link in page) == ((tenant, slo) in charted), (tenant, slo)


def _copy_of_the_core_tables(warehouse: Path, copy: Path) -> Path:
    """A warehouse holding only the tables every report needs (no replay, no optional
    sections), copied from `warehouse`."""
    for table in (
        "slo_specs",
        "alert_policy",
        "fct_burn_rates",
        "fct_error_budget",
        "fct_alert_episodes",
        "fct_slo_status",
    ):
        source = lake.lake_dir(warehouse, table)
        for file in source.rglob("*.parquet"):
            target = lake.lake_dir(copy, table) / file.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.read_bytes())
    return copy


def test_optional_sections_render_only_when_their_tables_exist(
    warehouse: Path, tmp_path: Path
) -> None:
    copy = _copy_of_the_core_tables(warehouse, tmp_path / "warehouse")
    page = write_report(copy).html.read_text(encoding="utf-8")
    assert 'id="cohort-thresholds"' not in page
    assert 'id="replay-comparison"' not in page
    assert "change events nearby" not in page

    for table, frame in {
        "cohort_thresholds": pl.DataFrame(
            {"cohort": ["standard", "gold"], "burn_threshold": [6.0, 14.4]}
        ),
        "replay_comparison": pl.DataFrame({"rule_name": ["page-1h"], "precision": [0.75]}),
    }.items():
        lake.lake_dir(copy, table).mkdir(parents=True)
        frame.write_parquet(lake.lake_dir(copy, table) / "data.parquet")
    page = write_report(copy).html.read_text(encoding="utf-8")
    assert 'id="cohort-thresholds"' in page
    assert 'id="replay-comparison"' in page
    # rows sorted, whatever order the files hold
    assert page.index("<td>gold</td>") < page.index("<td>standard</td>")
    assert "<td>0.75</td>" in page


def test_a_proposal_that_would_page_more_is_flagged_in_the_replay_section(
    warehouse: Path, tmp_path: Path
) -> None:
    copy = _copy_of_the_core_tables(warehouse, tmp_path / "warehouse")
    replay = lake.lake_dir(copy, "replay_comparison")
    replay.mkdir(parents=True)

    def page_with(pages: list[int]) -> str:
        pl.DataFrame(
            {
                "policy_name": ["workbook", "cohort", "single-window"],
                "policy_order": [1, 2, 3],
                "pages_sent": pages,
            }
        ).write_parquet(replay / "data.parquet")
        return write_report(copy).html.read_text(encoding="utf-8")

    flagged = page_with([6, 315, 40])
    assert 'id="replay-pages-more"' in flagged
    assert "cohort would send 315 pages over the replay, 309 more than the current policy" in (
        flagged
    )
    assert "single-window would send" not in flagged  # a reference, not a proposal
    assert 'id="replay-pages-more"' not in page_with([6, 6, 40])


def test_change_events_are_matched_to_episodes_of_their_tenant_and_service(
    warehouse: Path,
) -> None:
    write_change_events(warehouse)
    try:
        data = load_report_data(warehouse)
        page = write_report(warehouse).html.read_text(encoding="utf-8")
    finally:
        for file in lake.lake_dir(warehouse, "change_events").glob("*.parquet"):
            file.unlink()
    outage = data.episodes.filter(
        (pl.col("tenant_id") == "acme")
        & (pl.col("slo_name") == "api-availability")
        & (pl.col("rule_name") == "page-1h")
        & (pl.col("started_at") >= OUTAGE[0])
    )
    assert outage.height == 1
    # everyone's resize and the api deploy shortly before; not the web deploy, not the db
    # failover, not yesterday's deploy
    assert outage["changes"].to_list() == [
        ["2026-03-02 09:30 scale cluster resized", "2026-03-02 09:45 deploy v42 <canary>"]
    ]
    assert "deploy v42 &lt;canary&gt;" in page
    assert "<canary>" not in page.split('<script type="application/json"')[0]


def test_report_asset_links_the_page_and_carries_the_summary(warehouse: Path) -> None:
    resource = BurnwatchResource(
        data_dir=str(warehouse.parent / "input"),
        manifest=str(warehouse.parent / "input" / "slos.yaml"),
        warehouse=str(warehouse),
    )
    result = dg.materialize([report], resources={"burnwatch": resource})
    metadata = result.asset_materializations_for_node("report")[0].metadata
    page = warehouse / "reports" / "report.html"
    assert metadata["report"] == dg.MetadataValue.url(page.resolve().as_uri())
    assert metadata["path"] == dg.MetadataValue.path(str(page))
    summary = metadata["summary"]
    assert isinstance(summary, dg.MarkdownMetadataValue)
    assert "acme" in (summary.md_str or "")


@given(
    start=st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)),
    span_minutes=st.integers(min_value=0, max_value=5 * 366 * 1440),
)
def test_chart_resolution_keeps_series_short(start: dt.datetime, span_minutes: int) -> None:
    step = choose_step_minutes(start, start + dt.timedelta(minutes=span_minutes))
    assert step in STEP_CHOICES_MINUTES
    finer = [s for s in STEP_CHOICES_MINUTES if s < step]
    # the finest step that fits, or the coarsest there is
    assert span_minutes / step < MAX_POINTS or step == STEP_CHOICES_MINUTES[-1]
    assert all(span_minutes / s >= MAX_POINTS for s in finer)
