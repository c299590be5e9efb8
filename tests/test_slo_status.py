"""fct_slo_status (sql/facts/fct_slo_status.sql): one row per tenant SLO, what is happening now.

Given rows -> expected rows for each state and column (the model runs alone on
frames, as in test_model_cases.py), the builder's reach (only the days of the
tenants' as_of are read), and `burnwatch run` end to end: the status has one row
per SLO of slo_specs and is what the closing table, the summary and the report's
overview show. Expected values are worked out by hand from the model's header.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import jinja2
import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.cli.commands import cli
from pipelines.models import build
from pipelines.models.registry import model_path
from pipelines.reporting.figures import series_key
from pipelines.reporting.queries import load_report_data
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake
from pipelines.warehouse.session import connect
from schemas.manifest import WINDOW_MINUTES
from schemas.tables import column_names
from tests.test_model_cases import policy_rule, run_model, slo_spec, table_frame

Row = dict[str, Any]

AS_OF = dt.datetime(2024, 3, 10, 12, 0)
EARLIER = AS_OF - dt.timedelta(minutes=5)
PAGE = policy_rule("page-1h-5m", "page", "1h", "5m", 14.4)
TICKET = policy_rule("ticket-1d-2h", "ticket", "1d", "2h", 3.0)
# A burn per window at as_of (5m has no requests), and other burns a step before.
BURNS = {"5m": None, "30m": 0.5, "1h": 1.5, "2h": 2.0, "6h": 3.0, "1d": 4.0, "3d": 0.25}
LINK = "reports/report.html#burn=acme/availability"


def horizon(
    tenant: str = "acme",
    data_until: dt.datetime | None = AS_OF + dt.timedelta(minutes=4),
    evaluated_until: dt.datetime | None = AS_OF,
    silent: bool = False,
) -> Row:
    return {
        "tenant_id": tenant,
        "data_until": data_until,
        "evaluated_until": evaluated_until,
        "horizon": AS_OF,
        "max_silence_minutes": 15,
        "silent": silent,
    }


def budget(eval_ts: dt.datetime, remaining: float | None, hours: float | None) -> Row:
    """acme's fct_error_budget row at eval_ts, `remaining` a share of the budget."""
    return {
        "tenant_id": "acme",
        "slo_name": "availability",
        "eval_ts": eval_ts,
        "objective": 99.9,
        "period_days": 30,
        "calendar": None,
        "total": 1000,
        "bad": 1,
        "budget_consumed_percent": None if remaining is None else 100 * (1 - remaining),
        "budget_remaining_percent": None if remaining is None else 100 * remaining,
        "time_to_exhaustion_hours": hours,
        "period_start": eval_ts - dt.timedelta(days=30),
    }


def burns(eval_ts: dt.datetime, rates: dict[str, float | None]) -> list[Row]:
    return [
        {
            "tenant_id": "acme",
            "slo_name": "availability",
            "eval_ts": eval_ts,
            "window": window,
            "total": 0 if rate is None else 1000,
            "bad": 0 if rate is None else round(rate),
            "burn_rate": rate,
            "slices": None,
            "bad_slices": None,
        }
        for window, rate in rates.items()
    ]


def evaluation(rule: Row, state: str, eval_ts: dt.datetime = AS_OF) -> Row:
    return {
        "tenant_id": "acme",
        "slo_name": "availability",
        "eval_ts": eval_ts,
        "rule_name": rule["rule_name"],
        "severity": rule["severity"],
        "long_window": rule["long_window"],
        "short_window": rule["short_window"],
        "burn_threshold": rule["burn_threshold"],
        "long_total": 1000,
        "long_bad": 1,
        "long_burn_rate": 1.0,
        "short_total": 100,
        "short_bad": 0,
        "short_burn_rate": 0.0,
        "fires": state == "firing",
        "state": state,
        "suppressed": False,
    }


def episode(rule: Row, started_at: dt.datetime, resolved_at: dt.datetime | None = None) -> Row:
    return {
        "tenant_id": "acme",
        "slo_name": "availability",
        "rule_name": rule["rule_name"],
        "severity": rule["severity"],
        "long_window": rule["long_window"],
        "short_window": rule["short_window"],
        "burn_threshold": rule["burn_threshold"],
        "started_at": started_at,
        "resolved_at": resolved_at,
        "peak_long_burn_rate": 20.0,
    }


def run_status(
    episodes: list[Row] = [],  # noqa: B006 (never mutated)
    states: tuple[str, str] = ("ok", "ok"),
    horizons: list[Row] | None = None,
    specs: list[Row] | None = None,
) -> list[Row]:
    """fct_slo_status of acme's availability SLO at AS_OF, with 75 % of its budget left
    and 120 h to exhaustion there (other figures a step before), BURNS at AS_OF, the
    page and ticket rules evaluated in `states`, and `episodes`."""
    frames = {
        "slo_specs": table_frame("slo_specs", specs or [slo_spec()]),
        "int_tenant_horizons": table_frame("int_tenant_horizons", horizons or [horizon()]),
        "fct_error_budget": table_frame(
            "fct_error_budget", [budget(EARLIER, 0.9, 300.0), budget(AS_OF, 0.75, 120.0)]
        ),
        "fct_burn_rates": table_frame(
            "fct_burn_rates",
            burns(EARLIER, {window: 9.0 for window in BURNS}) + burns(AS_OF, BURNS),
        ),
        "fct_alert_evaluations": table_frame(
            "fct_alert_evaluations",
            [
                evaluation(PAGE, "firing", EARLIER),
                evaluation(PAGE, states[0]),
                evaluation(TICKET, states[1]),
            ],
        ),
        "fct_alert_episodes": table_frame("fct_alert_episodes", episodes),
    }
    return run_model("fct_slo_status", frames).to_dicts()


def status_row(**columns: Any) -> Row:
    """acme's availability row as run_status gives it by default (ok), with `columns`."""
    row: Row = {
        "tenant_id": "acme",
        "slo_name": "availability",
        "state": "ok",
        "open_severity": None,
        "open_alerts": None,
        "budget_remaining_percent": pytest.approx(75.0),
        "time_to_exhaustion_hours": 120.0,
        **{f"burn_rate_{window}": rate for window, rate in BURNS.items()},
        "as_of": AS_OF,
        "data_until": AS_OF + dt.timedelta(minutes=4),
        "open_since": None,
        "report_link": LINK,
    }
    return {**row, **columns}


# --- the states ------------------------------------------------------------------------


def test_an_slo_whose_rules_judge_and_do_not_fire_is_ok() -> None:
    assert run_status() == [status_row()]


def test_a_resolved_episode_is_not_open() -> None:
    assert run_status([episode(PAGE, AS_OF - dt.timedelta(hours=2), EARLIER)]) == [status_row()]


def test_an_open_ticket_episode_makes_the_slo_ticket() -> None:
    started = AS_OF - dt.timedelta(hours=1)
    resolved_page = episode(PAGE, AS_OF - dt.timedelta(hours=3), AS_OF - dt.timedelta(hours=2))
    assert run_status([resolved_page, episode(TICKET, started)]) == [
        status_row(
            state="ticket",
            open_severity="ticket",
            open_alerts="ticket-1d-2h",
            open_since=started,
        )
    ]


def test_an_open_page_wins_over_an_open_ticket_and_open_alerts_are_listed_by_start() -> None:
    ticket_start, page_start = AS_OF - dt.timedelta(hours=2), AS_OF - dt.timedelta(minutes=30)
    rows = run_status([episode(PAGE, page_start), episode(TICKET, ticket_start)], ("firing", "ok"))
    assert rows == [
        status_row(
            state="page",
            open_severity="page",
            open_alerts="ticket-1d-2h, page-1h-5m",
            open_since=ticket_start,
        )
    ]


def test_a_silent_tenant_is_no_data_and_its_open_page_stays_listed() -> None:
    # Logs stopped 30 minutes before the horizon: the figures are the frozen ones of its
    # last evaluated step, and the page is neither resolved nor reported as paging.
    stopped = AS_OF - dt.timedelta(minutes=30)
    page_start = AS_OF - dt.timedelta(hours=1)
    rows = run_status(
        [episode(PAGE, page_start)],
        ("firing", "ok"),
        horizons=[horizon(data_until=stopped, silent=True)],
    )
    assert rows == [
        status_row(
            state="no_data",
            open_severity="page",
            open_alerts="page-1h-5m",
            open_since=page_start,
            data_until=stopped,
        )
    ]


def test_a_tenant_without_logs_is_no_data_as_of_the_run_horizon() -> None:
    specs = [slo_spec(), slo_spec(tenant_id="globex")]
    horizons = [horizon(), horizon("globex", data_until=None, evaluated_until=None, silent=True)]
    rows = run_status(horizons=horizons, specs=specs)
    assert rows == [
        status_row(),
        {
            **{column: None for column in column_names("fct_slo_status")},
            "tenant_id": "globex",
            "slo_name": "availability",
            "state": "no_data",
            "as_of": AS_OF,
            "report_link": "reports/report.html#burn=globex/availability",
        },
    ]


@pytest.mark.parametrize("guard", ["low_traffic", "no_data"])
def test_a_rule_that_cannot_judge_its_windows_makes_the_slo_low_traffic(guard: str) -> None:
    assert run_status(states=("ok", guard)) == [status_row(state="low_traffic")]


def test_an_open_alert_outranks_low_traffic() -> None:
    started = AS_OF - dt.timedelta(hours=1)
    rows = run_status([episode(TICKET, started)], ("low_traffic", "firing"))
    assert [row["state"] for row in rows] == ["ticket"]


# --- the figures -----------------------------------------------------------------------


def test_budget_percent_time_to_exhaustion_and_burns_are_the_ones_at_as_of() -> None:
    # run_status also gives a step before as_of (90 % left, 300 h, every burn 9.0).
    [row] = run_status()
    assert row["budget_remaining_percent"] == pytest.approx(75.0)
    assert row["time_to_exhaustion_hours"] == 120.0
    assert {window: row[f"burn_rate_{window}"] for window in WINDOW_MINUTES} == BURNS


def test_a_window_without_requests_has_no_burn_rate() -> None:
    [row] = run_status()
    assert row["burn_rate_5m"] is None


def test_the_burn_rate_columns_are_the_manifests_windows_in_order() -> None:
    columns = [c for c in column_names("fct_slo_status") if c.startswith("burn_rate_")]
    assert columns == [f"burn_rate_{window}" for window in WINDOW_MINUTES]
    # The labels written in the model: one filter per window, in the same order.
    text = model_path("fct_slo_status").read_text(encoding="utf-8")
    written = re.findall(r"\"window\" = '(\w+)'\)\s+as burn_rate_(\w+)", text)
    assert written == [(window, window) for window in WINDOW_MINUTES]


def test_the_report_link_is_the_pages_own_link_for_the_slo() -> None:
    # The page links an SLO as href="#burn={{ series_key | urlencode }}" (report.html.j2).
    tenant, slo = "ACME Co. ü&#1", "api/availability 99%"
    [row] = run_status(specs=[slo_spec(slo_name=slo, tenant_id=tenant)], horizons=[horizon(tenant)])
    page_link = (
        jinja2.Environment()
        .from_string("{{ key | urlencode }}")
        .render(key=series_key(tenant, slo))
    )
    assert row["report_link"] == f"reports/report.html#burn={page_link}"


# --- the builder reads only the days of the tenants' as_of ------------------------------


def write_lake(
    warehouse: Path, table: str, frame: pl.DataFrame, day: dt.date | None = None
) -> None:
    with connect() as connection:
        connection.register("rows_to_write", frame.to_arrow())
        lake.write_query(connection, "select * from rows_to_write", warehouse, table, day)


def test_the_builder_reads_only_the_days_that_hold_the_tenants_as_of(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    resource = BurnwatchResource(
        data_dir=str(tmp_path), manifest=str(tmp_path / "slos.yaml"), warehouse=str(warehouse)
    )
    old_day = AS_OF.date() - dt.timedelta(days=5)
    for table, frame in {
        "slo_specs": table_frame("slo_specs", [slo_spec()]),
        "int_tenant_horizons": table_frame("int_tenant_horizons", [horizon()]),
        "fct_alert_episodes": table_frame("fct_alert_episodes", []),
    }.items():
        write_lake(warehouse, table, frame)
    for table, frame in {
        "fct_error_budget": table_frame("fct_error_budget", [budget(AS_OF, 0.75, 120.0)]),
        "fct_burn_rates": table_frame("fct_burn_rates", burns(AS_OF, BURNS)),
        "fct_alert_evaluations": table_frame(
            "fct_alert_evaluations", [evaluation(PAGE, "ok"), evaluation(TICKET, "ok")]
        ),
    }.items():
        write_lake(warehouse, table, frame, AS_OF.date())
        # An older day that only history would need: unreadable, so reading it fails.
        old = lake.partition_path(warehouse, table, old_day)
        old.parent.mkdir(parents=True)
        old.write_bytes(b"not parquet: the status must not read history")
    assert build.build_fct_slo_status(resource) == 1
    [row] = lake.read_table(warehouse, "fct_slo_status").to_dicts()
    assert row == status_row()


# --- end to end ------------------------------------------------------------------------


def test_burnwatch_run_writes_one_status_per_slo_and_every_reader_shows_it(
    small_dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    data, manifest = small_dataset
    warehouse = tmp_path / "warehouse"
    result = CliRunner().invoke(
        cli,
        ["run", "--data", str(data), "--manifest", str(manifest), "--warehouse", str(warehouse)],
    )
    assert result.exit_code == 0, result.output
    status = lake.read_table(warehouse, "fct_slo_status")
    specs = lake.read_table(warehouse, "slo_specs")
    assert status.select("tenant_id", "slo_name").equals(
        specs.select("tenant_id", "slo_name").sort("tenant_id", "slo_name")
    )
    # Logs run to 23:59:07 of the second day: acme is evaluated to 23:55, and is not silent.
    assert status["as_of"].to_list() == [dt.datetime(2026, 10, 2, 23, 55)] * 2
    assert set(status["state"]) <= {"ok", "low_traffic", "ticket", "page"}
    budget = lake.read_table(warehouse, "fct_error_budget").filter(
        pl.col("eval_ts") == dt.datetime(2026, 10, 2, 23, 55)
    )
    assert status.sort("slo_name")["budget_remaining_percent"].to_list() == pytest.approx(
        budget.sort("slo_name")["budget_remaining_percent"].to_list()
    )
    # The closing table, the summary and the report's overview are the status.
    for row in status.iter_rows(named=True):
        line = f"| {row['tenant_id']} | {row['slo_name']} | {row['state']} |"
        assert line in result.output
        assert line in (warehouse / "reports" / "summary.md").read_text(encoding="utf-8")
    overview = load_report_data(warehouse).overview.sort("slo_name")
    assert overview["state"].to_list() == status.sort("slo_name")["state"].to_list()
