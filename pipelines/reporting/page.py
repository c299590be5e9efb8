"""The report page: the figures and tables rendered into one HTML file with jinja, and
written atomically to `<warehouse>/reports/report.html`.

Plotly.js is embedded inline, so the page opens offline and fetches nothing.
The page is a pure function of the lake: data are sorted, element ids are
derived from names, and the only time shown is the data's own.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import plotly.io as pio
import polars as pl
from plotly.offline import get_plotlyjs

from pipelines.policy.paging_guard import paging_more
from pipelines.reporting.figures import (
    OVERVIEW_CHART_LIMIT,
    build_figures,
    burndown_id,
    series_key,
    ts_text,
)
from pipelines.reporting.queries import (
    CHANGE_LOOKBACK,
    OPTIONAL_TABLES,
    ReportData,
    load_report_data,
)
from pipelines.warehouse.atomic import write_text_atomic

TEMPLATES = Path(__file__).resolve().parent / "templates"
REPORT_FILE = "report.html"
# How many rows of an optional table the page shows (the lake holds them all).
TABLE_ROW_LIMIT = 500
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


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element: no '<', '>' or '&' survive."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _percent(value: float | None) -> str:
    return "no data" if value is None else f"{value:.1f} %"


def exhaustion_text(hours: float | None, budget_remaining_percent: float | None) -> str:
    """Time to exhaustion as a reader takes it in: "spent", "≈ 40 min", "≈ 6 h", "≈ 10 d",
    "not within the period" (null hours with a known budget: nothing burns, or the 1d
    burn is too slow to spend it before the period rolls on or resets), or "" when there
    is no budget to speak of (no traffic, no step yet)."""
    if hours is None or math.isnan(hours):
        return "" if budget_remaining_percent is None else "not within the period"
    if hours <= 0:
        return "spent"
    if hours < 1:
        return f"≈ {max(1, round(hours * 60))} min"
    if hours < 48:
        return f"≈ {round(hours)} h"
    return f"≈ {round(hours / 24)} d"


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, dt.datetime):
        return ts_text(value)
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
    environment.globals["exhaustion_text"] = exhaustion_text
    figures = build_figures(data)
    template = pio.templates["plotly_white"].to_plotly_json()
    overview = data.overview.to_dicts()
    tenants = sorted({row["tenant_id"] for row in overview})
    episodes = data.episodes.to_dicts()
    # One burn-rate figure per charted tenant SLO (build_figures): the keys the page links.
    burn_keys = sorted(key.removeprefix("burn:") for key in figures if key.startswith("burn:"))
    charted = set(burn_keys)
    context = {
        "period_start": ts_text(data.period_start) if data.period_start else None,
        "period_end": ts_text(data.period_end) if data.period_end else None,
        "step_minutes": data.step_minutes,
        "overview": overview,
        "series_key": series_key,
        "burndown_ids": [burndown_id(t) for t in tenants if burndown_id(t) in figures],
        "burn_keys": burn_keys,
        "charted_keys": charted,
        "max_charted_slos": data.max_charted_slos,
        # The most urgent charted tenant SLO (the overview's order): its panel drawn at load.
        "default_burn_key": next(
            (
                key
                for row in overview
                if (key := series_key(row["tenant_id"], row["slo_name"])) in charted
            ),
            None,
        ),
        "episodes": episodes,
        "contributors": [
            {**row, "key": series_key(row["tenant_id"], row["slo_name"])}
            for row in data.contributors.to_dicts()
        ],
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
        # Proposed policies that sent more pages in the replay than the current one.
        "paging_more": [
            flag.describe()
            for flag in paging_more(data.extra_tables.get("replay_comparison", pl.DataFrame()))
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
    target = write_text_atomic(warehouse / "reports" / REPORT_FILE, text)
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
