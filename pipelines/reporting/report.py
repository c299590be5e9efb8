"""The run report: one self-contained HTML page that an SRE reads after a run.

`write_report(warehouse)` reads the lake (never the catalog, so it works while
a user holds `burnwatch.duckdb` open) and writes `<warehouse>/reports/report.html`:

- an overview of every tenant SLO, lowest error budget remaining first;
- each tenant's budget burn-down (one small chart per tenant, a line per SLO);
- burn rates of every window for a chosen tenant SLO, one panel per policy rule
  with the rule's threshold from `alert_policy` and its episodes shaded;
- the alert episodes on a timeline, with change events near them when the lake
  holds a `change_events` table;
- cohort thresholds and replay comparison tables when the lake holds them.

Plotly.js is embedded inline, so the page opens offline and fetches nothing.
The page is a pure function of the lake: data are sorted, element ids are
derived from names, and the only time shown is the data's own.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import plotly.io as pio
import polars as pl
from plotly.offline import get_plotlyjs

from pipelines.warehouse import lake
from pipelines.warehouse.session import bind, connect
from schemas.manifest import WINDOW_MINUTES

TEMPLATES = Path(__file__).resolve().parent / "templates"
REPORT_FILE = "report.html"

# Lake tables that other stages may or may not have written; each adds a section.
CHANGE_EVENTS = "change_events"
OPTIONAL_TABLES = {
    "cohort_thresholds": "Cohort thresholds",
    "replay_comparison": "Replay comparison",
}
# How many tenant SLOs the overview chart shows, lowest budget first (the table shows all).
OVERVIEW_CHART_LIMIT = 30
# How many rows of an optional table the page shows (the lake holds them all).
TABLE_ROW_LIMIT = 500

# Charts are downsampled to the finest of these steps (minutes) that keeps a
# series under MAX_POINTS points, so the page stays small at any period length.
STEP_CHOICES_MINUTES = (5, 15, 60, 180, 360, 1440)
MAX_POINTS = 400
# Significant digits kept in chart data: far beyond what a chart can show.
SIGNIFICANT_DIGITS = 5

# A change event correlates with an episode when it happened between this long
# before the episode started and the episode's resolution (the default of the
# manifest's `notifications.events.lookback_minutes`, which the asset passes).
CHANGE_LOOKBACK = dt.timedelta(hours=2)
# Column names a `change_events` table may use (first match wins).
_CHANGE_TIME_COLUMNS = ("ts", "event_ts", "changed_at", "occurred_at", "started_at", "at")
_CHANGE_TEXT_COLUMNS = ("kind", "change_type", "event_type", "description", "summary", "title")
# A change event's tenant_id or service "*" applies to every tenant or service.
WILDCARD = "*"

SEVERITY_COLORS = {"page": "#c62828", "ticket": "#ef8f00"}
WINDOW_COLORS = {
    "5m": "#9e9e9e",
    "30m": "#26a69a",
    "1h": "#1565c0",
    "2h": "#6a1b9a",
    "6h": "#2e7d32",
    "1d": "#ad1457",
    "3d": "#4e342e",
}
_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass(frozen=True)
class ReportFiles:
    """What `write_report` wrote, with counts for the asset's metadata."""

    html: Path
    size_bytes: int
    tenant_slos: int
    episodes: int
    step_minutes: int
    sections: tuple[str, ...]


@dataclass
class ReportData:
    """Everything the page shows, queried from the lake and sorted."""

    period_start: dt.datetime | None
    period_end: dt.datetime | None
    step_minutes: int
    overview: pl.DataFrame
    burndown: pl.DataFrame
    burn_rates: pl.DataFrame
    policy: pl.DataFrame
    episodes: pl.DataFrame
    change_events: pl.DataFrame | None
    change_lookback: dt.timedelta
    extra_tables: dict[str, pl.DataFrame] = field(default_factory=dict)


def _has_parquet(warehouse: Path, table: str) -> bool:
    base = lake.lake_dir(warehouse, table)
    return base.is_dir() and any(base.rglob("*.parquet"))


def _extra_scan(warehouse: Path, table: str) -> str:
    """A scan of a lake table whose schema `schemas.tables` does not know."""
    return (
        f"read_parquet('{lake.lake_dir(warehouse, table)}/**/*.parquet', "
        "hive_partitioning = true, union_by_name = true)"
    )


def choose_step_minutes(start: dt.datetime | None, end: dt.datetime | None) -> int:
    """The chart resolution: the finest step that keeps a series under MAX_POINTS points."""
    if start is None or end is None:
        return STEP_CHOICES_MINUTES[0]
    span_minutes = (end - start).total_seconds() / 60
    for step in STEP_CHOICES_MINUTES:
        if span_minutes / step < MAX_POINTS:
            return step
    return STEP_CHOICES_MINUTES[-1]


def _overview(connection: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The newest budget row of every tenant SLO, lowest remaining budget first."""
    return connection.sql(
        """
        with latest as (
            select
                fct_error_budget.tenant_id,
                fct_error_budget.slo_name,
                fct_error_budget.eval_ts as as_of,
                fct_error_budget.total,
                fct_error_budget.bad,
                fct_error_budget.consumed,
                fct_error_budget.remaining,
                fct_error_budget.time_to_exhaustion
            from fct_error_budget
            qualify row_number() over (
                partition by fct_error_budget.tenant_id, fct_error_budget.slo_name
                order by fct_error_budget.eval_ts desc
            ) = 1
        ),

        burn_1h as (
            select
                fct_burn_rates.tenant_id,
                fct_burn_rates.slo_name,
                fct_burn_rates.burn_rate
            from fct_burn_rates
            where fct_burn_rates."window" = '1h'
            qualify row_number() over (
                partition by fct_burn_rates.tenant_id, fct_burn_rates.slo_name
                order by fct_burn_rates.eval_ts desc
            ) = 1
        ),

        episode_counts as (
            select
                fct_alert_episodes.tenant_id,
                fct_alert_episodes.slo_name,
                count(*) filter (where fct_alert_episodes.severity = 'page') as pages,
                count(*) filter (where fct_alert_episodes.severity = 'ticket') as tickets,
                count(*) filter (where fct_alert_episodes.resolved_at is null) as open_episodes
            from fct_alert_episodes
            group by fct_alert_episodes.tenant_id, fct_alert_episodes.slo_name
        )

        select
            latest.tenant_id,
            latest.slo_name,
            slo_specs.cohort,
            slo_specs.sli,
            slo_specs.objective,
            slo_specs.period_days,
            latest.as_of,
            latest.total,
            latest.bad,
            latest.consumed,
            latest.remaining,
            latest.time_to_exhaustion,
            burn_1h.burn_rate as burn_rate_1h,
            coalesce(episode_counts.pages, 0) as pages,
            coalesce(episode_counts.tickets, 0) as tickets,
            coalesce(episode_counts.open_episodes, 0) as open_episodes
        from latest
        left join slo_specs
            on latest.tenant_id = slo_specs.tenant_id
            and latest.slo_name = slo_specs.slo_name
        left join burn_1h
            on latest.tenant_id = burn_1h.tenant_id
            and latest.slo_name = burn_1h.slo_name
        left join episode_counts
            on latest.tenant_id = episode_counts.tenant_id
            and latest.slo_name = episode_counts.slo_name
        order by latest.remaining nulls last, latest.tenant_id, latest.slo_name
        """
    ).pl()


def _burndown(connection: duckdb.DuckDBPyConnection, step_minutes: int) -> pl.DataFrame:
    """Budget remaining sampled every step (on step boundaries), plus each series' newest row."""
    return connection.sql(
        f"""
        select
            fct_error_budget.tenant_id,
            fct_error_budget.slo_name,
            fct_error_budget.eval_ts,
            fct_error_budget.remaining
        from fct_error_budget
        qualify
            epoch(fct_error_budget.eval_ts)::bigint % {step_minutes * 60} = 0
            or fct_error_budget.eval_ts = max(fct_error_budget.eval_ts) over (
                partition by fct_error_budget.tenant_id, fct_error_budget.slo_name
            )
        order by fct_error_budget.tenant_id, fct_error_budget.slo_name,
            fct_error_budget.eval_ts
        """
    ).pl()


def _burn_rates(connection: duckdb.DuckDBPyConnection, step_minutes: int) -> pl.DataFrame:
    """Peak burn rate per tenant SLO, window and step, on a dense grid of steps.

    The peak (not a sample) is kept so that a short spike over a threshold
    still shows at any resolution; a step whose windows had no requests is null.
    """
    step = f"interval {step_minutes} minute"
    return connection.sql(
        f"""
        with peaks as (
            select
                fct_burn_rates.tenant_id,
                fct_burn_rates.slo_name,
                fct_burn_rates."window",
                time_bucket({step}, fct_burn_rates.eval_ts) as step_start,
                max(fct_burn_rates.burn_rate) as peak_burn_rate
            from fct_burn_rates
            group by all
        ),

        series as (
            select distinct peaks.tenant_id, peaks.slo_name, peaks."window" from peaks
        ),

        steps as (
            select unnest(generate_series(min(peaks.step_start), max(peaks.step_start), {step}))
                as step_start
            from peaks
        ),

        final as (
            select
                series.tenant_id,
                series.slo_name,
                series."window",
                steps.step_start,
                peaks.peak_burn_rate
            from series
            cross join steps
            left join peaks
                on series.tenant_id = peaks.tenant_id
                and series.slo_name = peaks.slo_name
                and series."window" = peaks."window"
                and steps.step_start = peaks.step_start
        )

        select * from final
        order by tenant_id, slo_name, "window", step_start
        """
    ).pl()


def _change_events(connection: duckdb.DuckDBPyConnection, warehouse: Path) -> pl.DataFrame | None:
    """The lake's change events as (tenant_id, service, ts, description), or None if absent."""
    if not _has_parquet(warehouse, CHANGE_EVENTS):
        return None
    frame = connection.sql(f"select * from {_extra_scan(warehouse, CHANGE_EVENTS)}").pl()
    time_column = next((name for name in _CHANGE_TIME_COLUMNS if name in frame.columns), None)
    if "tenant_id" not in frame.columns or time_column is None or frame.is_empty():
        return None
    text_columns = [name for name in _CHANGE_TEXT_COLUMNS if name in frame.columns]
    description = (
        pl.concat_str(
            [pl.col(name).cast(pl.String) for name in text_columns],
            separator=" ",
            ignore_nulls=True,
        )
        if text_columns
        else pl.lit("change")
    )
    service = pl.col("service").cast(pl.String) if "service" in frame.columns else pl.lit(None)
    return (
        frame.select(
            pl.col("tenant_id").cast(pl.String),
            service.cast(pl.String).alias("service"),
            pl.col(time_column).cast(pl.Datetime("us")).alias("ts"),
            description.alias("description"),
        )
        .drop_nulls(["tenant_id", "ts"])
        .sort(["tenant_id", "ts", "service", "description"], nulls_last=True)
    )


def _correlate(
    episodes: pl.DataFrame,
    specs: pl.DataFrame,
    changes: pl.DataFrame | None,
    period_end: dt.datetime | None,
    lookback: dt.timedelta,
) -> pl.DataFrame:
    """Add to each episode the change events of its tenant and its SLO's service (or of
    all, "*") from `lookback` before it started until it resolved."""
    if changes is None or episodes.is_empty():
        return episodes.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("changes"))
    end = pl.coalesce(pl.col("resolved_at"), pl.lit(period_end, dtype=pl.Datetime("us")))
    keyed = episodes.with_row_index("episode_index").join(
        specs.select("tenant_id", "slo_name", pl.col("service").alias("slo_service")),
        on=["tenant_id", "slo_name"],
        how="left",
    )
    everywhere = changes.filter(pl.col("tenant_id") == WILDCARD).drop("tenant_id")
    candidates = pl.concat(
        [
            keyed.join(changes, on="tenant_id", how="inner"),
            keyed.join(everywhere, how="cross"),
        ]
    )
    near = (
        candidates.filter(
            (pl.col("ts") >= pl.col("started_at") - lookback)
            & (pl.col("ts") <= end)
            & (
                pl.col("service").is_null()
                | pl.col("service").is_in([WILDCARD])
                | (pl.col("service") == pl.col("slo_service"))
            )
        )
        .sort(["episode_index", "ts", "description"])
        .group_by("episode_index", maintain_order=True)
        .agg(
            (pl.col("ts").dt.strftime("%Y-%m-%d %H:%M") + " " + pl.col("description")).alias(
                "changes"
            )
        )
    )
    return (
        episodes.with_row_index("episode_index")
        .join(near, on="episode_index", how="left")
        .with_columns(pl.col("changes").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .drop("episode_index")
    )


def load_report_data(
    warehouse: Path, change_lookback: dt.timedelta = CHANGE_LOOKBACK
) -> ReportData:
    """Query everything the report shows from the lake at `warehouse`."""
    warehouse = Path(warehouse)
    with connect() as connection:
        for table in (
            "slo_specs",
            "alert_policy",
            "fct_burn_rates",
            "fct_error_budget",
            "fct_alert_episodes",
        ):
            bind(connection, table, f"select * from {lake.scan_sql(warehouse, table)}")
        connection.execute("set enable_progress_bar = false")
        start, end = connection.sql(
            "select min(eval_ts), max(eval_ts) from ("
            "select eval_ts from fct_error_budget union all select eval_ts from fct_burn_rates)"
        ).fetchall()[0]
        step = choose_step_minutes(start, end)
        specs = connection.sql("select * from slo_specs order by tenant_id, slo_name").pl()
        episodes = connection.sql(
            """
            select tenant_id, slo_name, rule_name, severity, long_window, short_window,
                burn_threshold, started_at, resolved_at, peak_long_burn_rate
            from fct_alert_episodes
            order by started_at, tenant_id, slo_name, rule_name
            """
        ).pl()
        changes = _change_events(connection, warehouse)
        extras = {
            table: connection.sql(f"select * from {_extra_scan(warehouse, table)}")
            .pl()
            .pipe(_sorted_all)
            for table in OPTIONAL_TABLES
            if _has_parquet(warehouse, table)
        }
        return ReportData(
            period_start=start,
            period_end=end,
            step_minutes=step,
            overview=_overview(connection),
            burndown=_burndown(connection, step),
            burn_rates=_burn_rates(connection, step),
            policy=connection.sql(
                "select * from alert_policy order by tenant_id, slo_name, "
                "long_window_minutes, short_window_minutes, rule_name"
            ).pl(),
            episodes=_correlate(episodes, specs, changes, end, change_lookback),
            change_events=changes,
            change_lookback=change_lookback,
            extra_tables=extras,
        )


def _sorted_all(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in a fixed order whatever order the files were read in."""
    sortable = [
        name
        for name, kind in frame.schema.items()
        if kind.is_numeric()
        or kind in (pl.String, pl.Boolean, pl.Date)
        or isinstance(kind, pl.Datetime)
    ]
    return frame.sort(sortable, nulls_last=True) if sortable else frame


# ---------------------------------------------------------------- figures
#
# Figures are plain Plotly JSON (dicts), not plotly.graph_objects: the object
# model validates every assignment and costs seconds per tenant SLO. The tests
# load every figure into `go.Figure` to validate it.

Figure = dict[str, Any]


def _round(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def _ts(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def series_key(tenant_id: str, slo_name: str) -> str:
    """The key of a tenant SLO in the page (selector values, figure ids)."""
    return f"{tenant_id}/{slo_name}"


def burndown_id(tenant_id: str) -> str:
    """The element id of a tenant's burn-down chart."""
    return f"burndown-{tenant_id}"


def _budget_color(remaining: float | None) -> str:
    if remaining is None or remaining <= 0:
        return "#7f0000"
    if remaining < 0.25:
        return "#c62828"
    return "#ef8f00" if remaining < 0.5 else "#2e7d32"


def _overview_figure(overview: pl.DataFrame) -> Figure:
    rows = overview.filter(pl.col("remaining").is_not_null()).head(OVERVIEW_CHART_LIMIT).to_dicts()
    remaining = [_round(r["remaining"]) for r in rows]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": "budget remaining",
                "x": remaining,
                "y": [f"{r['tenant_id']} · {r['slo_name']}" for r in rows],
                "customdata": [[series_key(r["tenant_id"], r["slo_name"])] for r in rows],
                "marker": {"color": [_budget_color(v) for v in remaining]},
                "hovertemplate": "%{y}<br>remaining %{x:.1%}<extra></extra>",
            }
        ],
        "layout": {
            "height": 120 + 22 * max(len(rows), 1),
            "margin": {"l": 10, "r": 20, "t": 30, "b": 40},
            "xaxis": {
                "title": {"text": "error budget remaining (newest step)"},
                "tickformat": ".0%",
                "zeroline": True,
                "zerolinecolor": "#555",
            },
            "yaxis": {"type": "category", "autorange": "reversed", "automargin": True},
            "showlegend": False,
        },
    }


def _burndown_figure(tenant_id: str, rows: pl.DataFrame) -> Figure:
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": str(slo_name),
            "x": [_ts(v) for v in series["eval_ts"]],
            "y": [_round(v) for v in series["remaining"]],
            "meta": {"slo_name": slo_name},
            "hovertemplate": "%{x}<br>" + html.escape(str(slo_name)) + ": %{y:.1%}<extra></extra>",
        }
        for (slo_name,), series in rows.group_by("slo_name", maintain_order=True)
    ]
    return {
        "data": traces,
        "layout": {
            "title": {"text": html.escape(tenant_id), "x": 0.01, "font": {"size": 14}},
            "height": 280,
            "margin": {"l": 50, "r": 10, "t": 40, "b": 40},
            "xaxis": {"type": "date"},
            "yaxis": {
                "tickformat": ".0%",
                "title": {"text": "budget remaining"},
                "zeroline": True,
                "zerolinecolor": "#555",
                "zerolinewidth": 1.5,
            },
            "legend": {"orientation": "h", "y": -0.2, "font": {"size": 10}},
            "meta": {"tenant_id": tenant_id},
        },
    }


def _axis_ref(letter: str, row: int) -> str:
    """Plotly's name for the row's axis as a reference: x, x2, ... / y, y2, ..."""
    return letter if row == 1 else f"{letter}{row}"


def _axis_key(letter: str, row: int) -> str:
    """Plotly's layout key for the row's axis: xaxis, xaxis2, ..."""
    return f"{letter}axis" if row == 1 else f"{letter}axis{row}"


def _burn_rate_figure(
    tenant_id: str,
    slo_name: str,
    rates: pl.DataFrame,
    policy: pl.DataFrame,
    episodes: pl.DataFrame,
    step_minutes: int,
    period_end: dt.datetime | None,
) -> Figure:
    """One panel per policy rule: its long and short windows' peak burn and its threshold.

    Windows that no rule uses share a last panel. Series are evenly spaced
    (x0 + dx), which keeps the page small: the x values are not repeated.
    """
    by_window = {str(w): s for (w,), s in rates.group_by("window", maintain_order=True)}
    rules = policy.to_dicts()
    used = {r["long_window"] for r in rules} | {r["short_window"] for r in rules}
    unused = sorted((w for w in by_window if w not in used), key=lambda w: WINDOW_MINUTES[w])
    panels: list[tuple[str, list[str], dict[str, Any] | None]] = [
        (
            f"{r['rule_name']} ({r['severity']}): {r['long_window']} and "
            f"{r['short_window']} above {r['burn_threshold']:g}×",
            [r["long_window"], r["short_window"]],
            r,
        )
        for r in rules
    ]
    if unused:
        panels.append(("windows no rule uses", unused, None))
    count = max(len(panels), 1)
    gap = 0.3 / count
    height = (1 - gap * (count - 1)) / count
    step_starts: list[dt.datetime] = rates["step_start"].to_list()
    first = min(step_starts) if step_starts else None
    last = max(step_starts) if step_starts else None
    traces: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    layout: dict[str, Any] = {}
    annotations: list[dict[str, Any]] = []
    in_legend: set[str] = set()
    for row, (title, windows, rule) in enumerate(panels, start=1):
        top = 1 - (row - 1) * (height + gap)
        layout[_axis_key("x", row)] = {
            "type": "date",
            "anchor": _axis_ref("y", row),
            "showticklabels": row == count,
            **({} if row == 1 else {"matches": "x"}),
        }
        layout[_axis_key("y", row)] = {
            "type": "log",
            "dtick": 1,
            "anchor": _axis_ref("x", row),
            "domain": [top - height, top],
            "title": {"text": "burn ×", "font": {"size": 11}},
        }
        annotations.append(
            {
                "text": html.escape(title),
                "x": 0,
                "xref": "paper",
                "xanchor": "left",
                "y": top,
                "yref": "paper",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 12},
            }
        )
        if first is None or last is None:
            continue
        axes = {"xaxis": _axis_ref("x", row), "yaxis": _axis_ref("y", row)}
        for position, window in enumerate(windows):
            series = by_window.get(window)
            if series is None:
                continue
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    **axes,
                    "name": window,
                    "legendgroup": window,
                    "showlegend": window not in in_legend,
                    "x0": _ts(first),
                    "dx": step_minutes * 60_000,
                    "y": [_round(v) for v in series["peak_burn_rate"]],
                    "line": {
                        "color": WINDOW_COLORS.get(window, "#455a64"),
                        "width": 1.5,
                        "dash": "solid" if position == 0 else "dot",
                    },
                    "meta": {
                        "kind": "burn_rate",
                        "window": window,
                        "rule": rule["rule_name"] if rule else None,
                    },
                    "hovertemplate": f"{window} peak burn %{{y:.3g}}×<br>%{{x}}<extra></extra>",
                }
            )
            in_legend.add(window)
        if rule is None:
            continue
        threshold = float(rule["burn_threshold"])
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                **axes,
                "name": f"threshold {rule['rule_name']}",
                "showlegend": False,
                "x": [_ts(first), _ts(last + dt.timedelta(minutes=step_minutes))],
                "y": [threshold, threshold],
                "line": {
                    "color": SEVERITY_COLORS.get(rule["severity"], "#000"),
                    "width": 1.5,
                    "dash": "dash",
                },
                "meta": {"kind": "threshold", "rule": rule["rule_name"]},
                "hovertemplate": f"{html.escape(rule['rule_name'])} threshold "
                f"{threshold:g}×<extra></extra>",
            }
        )
        for episode in episodes.filter(pl.col("rule_name") == rule["rule_name"]).to_dicts():
            end = episode["resolved_at"] or period_end or episode["started_at"]
            shapes.append(
                {
                    "type": "rect",
                    "layer": "below",
                    "line": {"width": 0},
                    "opacity": 0.12,
                    "fillcolor": SEVERITY_COLORS.get(episode["severity"], "#999"),
                    "xref": _axis_ref("x", row),
                    "yref": _axis_ref("y", row) + " domain",
                    "x0": _ts(episode["started_at"]),
                    "x1": _ts(end),
                    "y0": 0,
                    "y1": 1,
                }
            )
    # Log axes label decades only (dtick 1); linear ones go back to automatic ticks.
    scale_buttons = [
        {
            "label": scale,
            "method": "relayout",
            "args": [
                {
                    f"{_axis_key('y', row)}.{name}": value
                    for row in range(1, count + 1)
                    for name, value in (("type", scale), ("dtick", dtick))
                }
            ],
        }
        for scale, dtick in (("log", 1), ("linear", None))
    ]
    return {
        "data": traces,
        "layout": {
            **layout,
            "height": 110 + 190 * count,
            "margin": {"l": 60, "r": 20, "t": 90, "b": 40},
            "annotations": annotations,
            "shapes": shapes,
            "hovermode": "x unified",
            "legend": {
                "orientation": "h",
                "x": 0,
                "y": 1,
                "yref": "container",
                "yanchor": "top",
                "title": {"text": "window (solid: long, dotted: short)"},
            },
            "updatemenus": [
                {
                    "type": "buttons",
                    "direction": "left",
                    "x": 1,
                    "xanchor": "right",
                    "y": 1.0,
                    "yanchor": "bottom",
                    "pad": {"b": 36},
                    "buttons": scale_buttons,
                }
            ],
            "meta": {"tenant_id": tenant_id, "slo_name": slo_name, "step_minutes": step_minutes},
        },
    }


def _episode_label(row: dict[str, Any]) -> str:
    return f"{row['tenant_id']} · {row['slo_name']} · {row['rule_name']}"


def _timeline_figure(
    episodes: pl.DataFrame, changes: pl.DataFrame | None, period_end: dt.datetime | None
) -> Figure:
    """Episodes as bars from start to resolution (open ones run to the end of the data),
    one row per tenant SLO rule; change events as diamonds on a row per tenant."""
    rows = episodes.to_dicts()
    tenants = sorted({r["tenant_id"] for r in rows})
    change_rows: list[dict[str, Any]] = []
    if changes is not None:
        # An event for every tenant ("*") shows on the row of each tenant with episodes.
        everywhere = changes.filter(pl.col("tenant_id") == WILDCARD).drop("tenant_id")
        change_rows = (
            pl.concat(
                [
                    changes.filter(pl.col("tenant_id").is_in(tenants)),
                    pl.DataFrame({"tenant_id": tenants}, schema={"tenant_id": pl.String})
                    .join(everywhere, how="cross")
                    .select(changes.columns),
                ]
            )
            .sort(["tenant_id", "ts", "service", "description"], nulls_last=True)
            .to_dicts()
        )
    categories: list[str] = []
    for tenant in tenants:
        if any(c["tenant_id"] == tenant for c in change_rows):
            categories.append(f"{tenant} · changes")
        categories.extend(sorted({_episode_label(r) for r in rows if r["tenant_id"] == tenant}))
    traces: list[dict[str, Any]] = []
    for severity in ("page", "ticket"):
        chosen = [r for r in rows if r["severity"] == severity]
        if not chosen:
            continue
        ends = [r["resolved_at"] or period_end or r["started_at"] for r in chosen]
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": severity,
                "base": [_ts(r["started_at"]) for r in chosen],
                "x": [
                    int((end - r["started_at"]).total_seconds() * 1000)
                    for r, end in zip(chosen, ends, strict=True)
                ],
                "y": [_episode_label(r) for r in chosen],
                "marker": {
                    "color": SEVERITY_COLORS[severity],
                    "opacity": [1.0 if r["resolved_at"] else 0.55 for r in chosen],
                },
                "customdata": [
                    [
                        _ts(r["started_at"]),
                        _ts(r["resolved_at"]) if r["resolved_at"] else "open",
                        _round(r["peak_long_burn_rate"]),
                    ]
                    for r in chosen
                ],
                "hovertemplate": "%{y}<br>%{customdata[0]} → %{customdata[1]}"
                "<br>peak long-window burn %{customdata[2]}×<extra></extra>",
                "meta": {"kind": "episodes", "severity": severity},
            }
        )
    if change_rows:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "change event",
                "x": [_ts(c["ts"]) for c in change_rows],
                "y": [f"{c['tenant_id']} · changes" for c in change_rows],
                "marker": {"symbol": "diamond", "size": 10, "color": "#37474f"},
                "text": [
                    html.escape(f"{c['service'] or ''} {c['description']}".strip())
                    for c in change_rows
                ],
                "hovertemplate": "%{x}<br>%{text}<extra></extra>",
                "meta": {"kind": "change_events"},
            }
        )
    return {
        "data": traces,
        "layout": {
            "barmode": "overlay",
            "height": 140 + 22 * max(len(categories), 1),
            "margin": {"l": 10, "r": 20, "t": 30, "b": 40},
            "xaxis": {"type": "date", "title": {"text": "UTC"}},
            "yaxis": {
                "type": "category",
                "categoryorder": "array",
                "categoryarray": categories,
                "autorange": "reversed",
                "automargin": True,
            },
            "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom"},
        },
    }


def build_figures(data: ReportData) -> dict[str, Figure]:
    """Every chart of the page as Plotly JSON, keyed by its element id.

    Burn-rate figures are keyed `burn:<tenant>/<slo>`: the page draws the
    chosen one into the element `burn-rates`.
    """
    figures: dict[str, Figure] = {}
    if not data.overview.is_empty():
        figures["overview-budget"] = _overview_figure(data.overview)
    for (tenant_id,), rows in data.burndown.group_by("tenant_id", maintain_order=True):
        figures[burndown_id(str(tenant_id))] = _burndown_figure(str(tenant_id), rows)
    rates = data.burn_rates.partition_by(["tenant_id", "slo_name"], as_dict=True)
    policy = data.policy.partition_by(["tenant_id", "slo_name"], as_dict=True)
    episodes = data.episodes.partition_by(["tenant_id", "slo_name"], as_dict=True)
    empty_rates, empty_policy = data.burn_rates.clear(), data.policy.clear()
    for row in data.overview.sort(["tenant_id", "slo_name"]).iter_rows(named=True):
        key = (row["tenant_id"], row["slo_name"])
        figures["burn:" + series_key(*key)] = _burn_rate_figure(
            *key,
            rates.get(key, empty_rates),
            policy.get(key, empty_policy),
            episodes.get(key, data.episodes.clear()),
            data.step_minutes,
            data.period_end,
        )
    if not data.episodes.is_empty():
        figures["episodes-timeline"] = _timeline_figure(
            data.episodes, data.change_events, data.period_end
        )
    return figures


# ---------------------------------------------------------------- page


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element: no '<', '>' or '&' survive."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _percent(value: float | None) -> str:
    return "no data" if value is None else f"{100 * value:.1f} %"


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, dt.datetime):
        return _ts(value)
    return str(value)


def _table(frame: pl.DataFrame) -> dict[str, Any]:
    shown = frame.head(TABLE_ROW_LIMIT)
    return {
        "columns": shown.columns,
        "rows": [[_number(v) for v in row] for row in shown.iter_rows()],
        "total": frame.height,
    }


def render_report(data: ReportData) -> str:
    """The report page as HTML text."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters["percent"] = _percent
    environment.filters["number"] = _number
    figures = build_figures(data)
    template = pio.templates["plotly_white"].to_plotly_json()
    overview = data.overview.to_dicts()
    tenants = sorted({row["tenant_id"] for row in overview})
    episodes = data.episodes.to_dicts()
    context = {
        "period_start": _ts(data.period_start) if data.period_start else None,
        "period_end": _ts(data.period_end) if data.period_end else None,
        "step_minutes": data.step_minutes,
        "overview": overview,
        "series_key": series_key,
        "burndown_ids": [burndown_id(t) for t in tenants if burndown_id(t) in figures],
        "burn_keys": sorted(
            key.removeprefix("burn:") for key in figures if key.startswith("burn:")
        ),
        "default_burn_key": series_key(overview[0]["tenant_id"], overview[0]["slo_name"])
        if overview
        else None,
        "episodes": episodes,
        "pages": sum(1 for e in episodes if e["severity"] == "page"),
        "tickets": sum(1 for e in episodes if e["severity"] == "ticket"),
        "open_episodes": sum(1 for e in episodes if e["resolved_at"] is None),
        "has_change_events": data.change_events is not None,
        "change_lookback_minutes": int(data.change_lookback.total_seconds() // 60),
        "extra_tables": [
            {
                "id": name.replace("_", "-"),
                "title": OPTIONAL_TABLES[name],
                "table": name,
                **_table(frame),
            }
            for name, frame in data.extra_tables.items()
        ],
        "row_limit": TABLE_ROW_LIMIT,
        "overview_chart_limit": OVERVIEW_CHART_LIMIT,
        "figures_json": _script_json(figures),
        "template_json": _script_json(template),
        "config_json": _script_json(_PLOTLY_CONFIG),
        "plotly_js": get_plotlyjs(),
    }
    return environment.get_template("report.html.j2").render(context)


def write_report(warehouse: Path, change_lookback: dt.timedelta = CHANGE_LOOKBACK) -> ReportFiles:
    """Write `<warehouse>/reports/report.html` from the lake, atomically; say what it holds."""
    warehouse = Path(warehouse)
    data = load_report_data(warehouse, change_lookback)
    text = render_report(data)
    out = warehouse / "reports"
    out.mkdir(parents=True, exist_ok=True)
    target = out / REPORT_FILE
    temporary = out / f".{REPORT_FILE}.tmp"
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(target)
    sections = ["overview", "burn-down", "burn rates", "episodes"]
    if data.change_events is not None:
        sections.append("change events")
    sections.extend(OPTIONAL_TABLES[name].lower() for name in data.extra_tables)
    return ReportFiles(
        html=target,
        size_bytes=target.stat().st_size,
        tenant_slos=data.overview.height,
        episodes=data.episodes.height,
        step_minutes=data.step_minutes,
        sections=tuple(sections),
    )
