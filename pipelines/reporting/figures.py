"""The report's charts as Plotly JSON, one figure per element of the page.

Figures are plain Plotly JSON (dicts), not plotly.graph_objects: the object
model validates every assignment and costs seconds per tenant SLO. The tests
load every figure into `go.Figure` to validate it. Every figure is a pure
function of `ReportData`: series are sorted and ids derived from names.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from typing import Any

import polars as pl

from pipelines.reporting.queries import WILDCARD, ReportData
from schemas.manifest import WINDOW_MINUTES

# How many tenant SLOs the overview chart shows, lowest budget first (the table shows all).
OVERVIEW_CHART_LIMIT = 30
# Significant digits kept in chart data: far beyond what a chart can show.
SIGNIFICANT_DIGITS = 5

SEVERITY_COLORS = {"page": "#c62828", "ticket": "#ef8f00"}
# Tickets held back while a page fired: a pale fill, hatched in the ticket colour.
SUPPRESSED_COLOR = "#fff3e0"
WINDOW_COLORS = {
    "5m": "#9e9e9e",
    "30m": "#26a69a",
    "1h": "#1565c0",
    "2h": "#6a1b9a",
    "6h": "#2e7d32",
    "1d": "#ad1457",
    "3d": "#4e342e",
}


Figure = dict[str, Any]


def _round(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def ts_text(value: dt.datetime) -> str:
    """A time as the page shows it: UTC, to the minute."""
    return value.strftime("%Y-%m-%d %H:%M")


def series_key(tenant_id: str, slo_name: str) -> str:
    """The key of a tenant SLO in the page (selector values, figure ids)."""
    return f"{tenant_id}/{slo_name}"


def burndown_id(tenant_id: str) -> str:
    """The element id of a tenant's burn-down chart."""
    return f"burndown-{tenant_id}"


def _budget_color(remaining_percent: float | None) -> str:
    if remaining_percent is None or remaining_percent <= 0:
        return "#7f0000"
    if remaining_percent < 25:
        return "#c62828"
    return "#ef8f00" if remaining_percent < 50 else "#2e7d32"


def _overview_figure(overview: pl.DataFrame) -> Figure:
    # The table is in urgency order; the budget chart stays lowest budget first.
    with_budget = overview.filter(pl.col("budget_remaining_percent").is_not_null())
    lowest = with_budget.sort(["budget_remaining_percent", "tenant_id", "slo_name"])
    rows = lowest.head(OVERVIEW_CHART_LIMIT).to_dicts()
    remaining = [_round(r["budget_remaining_percent"]) for r in rows]
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
                "hovertemplate": "%{y}<br>remaining %{x:.1f} %<extra></extra>",
            }
        ],
        "layout": {
            "height": 120 + 22 * max(len(rows), 1),
            "margin": {"l": 10, "r": 20, "t": 30, "b": 40},
            "xaxis": {
                "title": {"text": "error budget remaining, % (newest step)"},
                "ticksuffix": " %",
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
            "x": [ts_text(v) for v in series["eval_ts"]],
            "y": [_round(v) for v in series["budget_remaining_percent"]],
            "meta": {"slo_name": slo_name},
            "hovertemplate": "%{x}<br>"
            + html.escape(str(slo_name))
            + ": %{y:.1f} %<extra></extra>",
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
                "ticksuffix": " %",
                "title": {"text": "budget remaining, %"},
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
                    "x0": ts_text(first),
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
                "x": [ts_text(first), ts_text(last + dt.timedelta(minutes=step_minutes))],
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
                    "x0": ts_text(episode["started_at"]),
                    "x1": ts_text(end),
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


def _span_ms(start: dt.datetime, end: dt.datetime) -> int:
    return int((end - start).total_seconds() * 1000)


def _short_markers(
    spans: list[tuple[dict[str, Any], dt.datetime]], step_minutes: int, color: str, meta: Figure
) -> Figure | None:
    """A fixed-size tick at the start of every span shorter than a chart step, whose bar
    alone could vanish. The step is at least the data's span / queries.MAX_POINTS (400),
    so on a plot at least 400 pixels wide a pixel column is at most a step: every span
    under one pixel column gets a tick."""
    short = [
        (r, end) for r, end in spans if end - r["started_at"] < dt.timedelta(minutes=step_minutes)
    ]
    if not short:
        return None
    return {
        "type": "scatter",
        "mode": "markers",
        "name": f"{meta['severity']} under {step_minutes} min",
        "showlegend": False,
        "x": [ts_text(r["started_at"]) for r, _ in short],
        "y": [_episode_label(r) for r, _ in short],
        "marker": {
            "symbol": "line-ns-open",
            "size": 14,
            "line": {"width": 3, "color": color},
            "color": color,
        },
        "customdata": [
            [
                ts_text(r["started_at"]),
                ts_text(end),
                round((end - r["started_at"]).total_seconds() / 60),
            ]
            for r, end in short
        ],
        "hovertemplate": "%{y}<br>%{customdata[0]} → %{customdata[1]}"
        " (%{customdata[2]} min)<extra></extra>",
        "meta": meta,
    }


def _timeline_figure(
    episodes: pl.DataFrame,
    suppressed: pl.DataFrame,
    changes: pl.DataFrame | None,
    period_end: dt.datetime | None,
    step_minutes: int,
) -> Figure:
    """Episodes as bars from start to resolution (open ones run to the end of the data),
    one row per tenant SLO rule; tickets suppressed while paging as hatched, pale bars on
    their rule's row; a tick marker on every episode or suppressed span shorter than a
    chart step, so that none vanishes at the chart's width; change events as diamonds on
    a row per tenant."""
    rows = episodes.to_dicts()
    held = suppressed.to_dicts()
    tenants = sorted({r["tenant_id"] for r in rows} | {r["tenant_id"] for r in held})
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
        categories.extend(
            sorted({_episode_label(r) for r in [*rows, *held] if r["tenant_id"] == tenant})
        )
    traces: list[dict[str, Any]] = []
    markers: list[Figure] = []
    if held:
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": "ticket suppressed while paging",
                "base": [ts_text(r["started_at"]) for r in held],
                "x": [_span_ms(r["started_at"], r["ended_at"]) for r in held],
                "y": [_episode_label(r) for r in held],
                "marker": {
                    "color": SUPPRESSED_COLOR,
                    "opacity": 0.6,
                    "pattern": {"shape": "/", "fgcolor": SEVERITY_COLORS["ticket"], "size": 6},
                    "line": {"width": 1, "color": SEVERITY_COLORS["ticket"]},
                },
                "customdata": [
                    [ts_text(r["started_at"]), ts_text(r["ended_at"]), r["suppressed_steps"]]
                    for r in held
                ],
                "hovertemplate": "%{y}<br>suppressed while paging %{customdata[0]} → "
                "%{customdata[1]} (%{customdata[2]} steps)<extra></extra>",
                "meta": {"kind": "suppressed"},
            }
        )
        marker = _short_markers(
            [(r, r["ended_at"]) for r in held],
            step_minutes,
            SEVERITY_COLORS["ticket"],
            {"kind": "short_suppressed", "severity": "ticket"},
        )
        if marker:
            markers.append(marker)
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
                "base": [ts_text(r["started_at"]) for r in chosen],
                "x": [_span_ms(r["started_at"], end) for r, end in zip(chosen, ends, strict=True)],
                "y": [_episode_label(r) for r in chosen],
                "marker": {
                    "color": SEVERITY_COLORS[severity],
                    "opacity": [1.0 if r["resolved_at"] else 0.55 for r in chosen],
                },
                "customdata": [
                    [
                        ts_text(r["started_at"]),
                        ts_text(r["resolved_at"]) if r["resolved_at"] else "open",
                        _round(r["peak_long_burn_rate"]),
                    ]
                    for r in chosen
                ],
                "hovertemplate": "%{y}<br>%{customdata[0]} → %{customdata[1]}"
                "<br>peak long-window burn %{customdata[2]}×<extra></extra>",
                "meta": {"kind": "episodes", "severity": severity},
            }
        )
        marker = _short_markers(
            list(zip(chosen, ends, strict=True)),
            step_minutes,
            SEVERITY_COLORS[severity],
            {"kind": "short_episodes", "severity": severity},
        )
        if marker:
            markers.append(marker)
    # Markers last, so that they are drawn above every bar.
    traces.extend(markers)
    if change_rows:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "change event",
                "x": [ts_text(c["ts"]) for c in change_rows],
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
    for row in data.charted.sort(["tenant_id", "slo_name"]).iter_rows(named=True):
        key = (row["tenant_id"], row["slo_name"])
        figures["burn:" + series_key(*key)] = _burn_rate_figure(
            *key,
            rates.get(key, empty_rates),
            policy.get(key, empty_policy),
            episodes.get(key, data.episodes.clear()),
            data.step_minutes,
            data.period_end,
        )
    if not data.episodes.is_empty() or not data.suppressed.is_empty():
        figures["episodes-timeline"] = _timeline_figure(
            data.episodes, data.suppressed, data.change_events, data.period_end, data.step_minutes
        )
    return figures
