"""The report in a real browser: headless Chromium, driven over the DevTools protocol.

The page must render with no console error, no uncaught exception and no
network request (everything is inline), and the data of every chart, read
back from the DOM (`element.data`, what Plotly draws), must equal values
computed here from the lake with polars. A screenshot of the page is saved
to $BURNWATCH_TEST_ARTIFACTS (or the test's tmp_path) for a human to look at.

Chromium is the Debian package (`make test` installs it). Without it the
test is skipped locally and fails in CI (CI=true).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from test_report import build_warehouse, write_change_events
from websockets.sync.client import ClientConnection, connect

from pipelines.reporting.report import OVERVIEW_CHART_LIMIT, write_report
from pipelines.warehouse import lake

pytestmark = pytest.mark.slow

STARTUP_TIMEOUT = 30.0
COMMAND_TIMEOUT = 30.0
RENDER_TIMEOUT = 60.0
VIEWPORT = (1400, 1000)
# What a chart value may differ from the lake by: the page keeps 5 significant digits.
RELATIVE_TOLERANCE = 1e-4


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is not installed: run scripts/install-system-deps.sh")
    pytest.skip("chromium is not installed (make system-deps installs it)")


class DevTools:
    """A minimal Chrome DevTools protocol client over one page session, with timeouts."""

    def __init__(self, socket: ClientConnection, session_id: str) -> None:
        self.socket = socket
        self.session_id = session_id
        self.events: list[dict[str, Any]] = []
        self._ids = itertools.count(1000)

    @staticmethod
    def send_browser(socket: ClientConnection, method: str, **params: Any) -> dict[str, Any]:
        """A command to the browser itself (no session); events in between are dropped."""
        command_id = next(_BROWSER_IDS)
        socket.send(json.dumps({"id": command_id, "method": method, "params": params}))
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            message = json.loads(socket.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if message.get("id") == command_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def send(self, method: str, timeout: float = COMMAND_TIMEOUT, **params: Any) -> Any:
        """Send a command to the page and wait for its answer, keeping events that arrive."""
        command_id = next(self._ids)
        self.socket.send(
            json.dumps(
                {"id": command_id, "method": method, "params": params, "sessionId": self.session_id}
            )
        )
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline, method)
            if message.get("id") == command_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_for_event(self, method: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            message = self._receive(deadline, method)
            if message.get("method") == method:
                return message

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no answer from chromium for {waiting_for}")
        try:
            message: dict[str, Any] = json.loads(self.socket.recv(timeout=remaining))
        except TimeoutError:
            raise TimeoutError(f"no answer from chromium for {waiting_for}") from None
        if "method" in message:
            self.events.append(message)
        return message

    def evaluate(self, expression: str, timeout: float = COMMAND_TIMEOUT) -> Any:
        """The JSON value of a JavaScript expression (awaited if it is a promise)."""
        result = self.send(
            "Runtime.evaluate",
            timeout=timeout,
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and log errors seen so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(
                    "console: "
                    + " ".join(
                        str(arg.get("value", arg.get("description"))) for arg in params["args"]
                    )
                )
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                found.append(
                    "exception: "
                    + str(details.get("exception", {}).get("description", details.get("text")))
                )
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
        return found

    def requests(self) -> list[str]:
        """URLs the page requested."""
        return [
            event["params"]["request"]["url"]
            for event in self.events
            if event.get("method") == "Network.requestWillBeSent"
        ]


_BROWSER_IDS = itertools.count(1)


@contextlib.contextmanager
def chromium_page(profile: Path) -> Iterator[DevTools]:
    """A headless Chromium with one page attached; Chromium is killed on the way out."""
    binary = _chromium()
    profile.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if process.poll() is not None:
                stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"chromium exited with {process.returncode}: {stderr[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"chromium wrote no {port_file} in {STARTUP_TIMEOUT}s")
            time.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        with connect(
            f"ws://127.0.0.1:{port}{path}",
            open_timeout=STARTUP_TIMEOUT,
            close_timeout=5,
            max_size=None,
        ) as socket:
            target = DevTools.send_browser(socket, "Target.createTarget", url="about:blank")
            session = DevTools.send_browser(
                socket, "Target.attachToTarget", targetId=target["targetId"], flatten=True
            )
            page = DevTools(socket, session["sessionId"])
            for domain in ("Page", "Runtime", "Log", "Network"):
                page.send(f"{domain}.enable")
            page.send(
                "Emulation.setDeviceMetricsOverride",
                width=VIEWPORT[0],
                height=VIEWPORT[1],
                deviceScaleFactor=1,
                mobile=False,
            )
            yield page
    finally:
        # Chromium forks helpers into its own session: end the whole group we started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def open_report(page: DevTools, report: Path) -> None:
    """Load the report and wait until every chart is drawn."""
    page.send("Page.navigate", url=report.resolve().as_uri())
    page.wait_for_event("Page.loadEventFired", timeout=RENDER_TIMEOUT)
    page.evaluate("window.burnwatchReport.ready.then(() => true)", timeout=RENDER_TIMEOUT)


def screenshot(page: DevTools, target: Path, selector: str | None = None) -> Path:
    """Save a PNG of the whole page (or of one element) to `target`."""
    if selector is None:
        size = page.send("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}
    else:
        clip = page.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return {x: r.left + window.scrollX, "
            "y: r.top + window.scrollY, width: r.width, height: r.height}; })()"
        )
    shot = page.send(
        "Page.captureScreenshot",
        format="png",
        captureBeyondViewport=True,
        clip={**clip, "scale": 1},
    )
    target.write_bytes(base64.b64decode(shot["data"]))
    return target


def _close(actual: list[Any], expected: list[float | None]) -> bool:
    if len(actual) != len(expected):
        return False
    for got, want in zip(actual, expected, strict=True):
        if want is None or (isinstance(want, float) and math.isnan(want)):
            if got is not None:
                return False
        elif got is None or not math.isclose(got, want, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-9):
            return False
    return True


def _minute(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small dataset run through the pipeline, with change events, and its report."""
    warehouse = build_warehouse(tmp_path_factory.mktemp("browser"))
    write_change_events(warehouse)
    write_report(warehouse)
    return warehouse


@pytest.fixture(scope="module")
def rendered_events(rendered: Path) -> pl.DataFrame:
    return pl.read_parquet(lake.lake_dir(rendered, "change_events") / "data.parquet")


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BURNWATCH_TEST_ARTIFACTS") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_report_renders_in_chromium_and_its_charts_match_the_lake(
    rendered: Path, rendered_events: pl.DataFrame, artifacts: Path, tmp_path: Path
) -> None:
    report = rendered / "reports" / "report.html"
    with chromium_page(tmp_path / "chromium-profile") as page:
        open_report(page, report)
        full = screenshot(page, artifacts / "report.png")
        burn = screenshot(page, artifacts / "report-burn-rates.png", "#burn-rates-section")
        print(f"report screenshots: {full} {burn}")

        # Overview: budget remaining at the newest step, lowest first.
        budget = lake.read_table(rendered, "fct_error_budget")
        latest = (
            budget.sort("eval_ts")
            .group_by("tenant_id", "slo_name")
            .agg(pl.col("budget_remaining_percent").last())
            .filter(pl.col("budget_remaining_percent").is_not_null())
            .sort(["budget_remaining_percent", "tenant_id", "slo_name"])
            .head(OVERVIEW_CHART_LIMIT)
        )
        overview = page.evaluate(
            "(() => { const t = document.getElementById('overview-budget').data[0];"
            " return {x: t.x, y: t.y}; })()"
        )
        assert overview["y"] == [
            f"{t} · {s}" for t, s in zip(latest["tenant_id"], latest["slo_name"], strict=True)
        ]
        assert _close(overview["x"], latest["budget_remaining_percent"].to_list())

        # Burn-down: each tenant's chart has a line per SLO through the lake's values.
        step = page.evaluate("document.getElementById('burn-rates').layout.meta.step_minutes")
        newest = budget["eval_ts"].max()
        for (tenant,), rows in budget.group_by("tenant_id"):
            lines = page.evaluate(
                f"document.getElementById('burndown-{tenant}').data"
                ".map(t => ({name: t.name, x: t.x, y: t.y}))"
            )
            for line in lines:
                expected = rows.filter(
                    (pl.col("slo_name") == line["name"])
                    & (
                        (pl.col("eval_ts").dt.truncate(f"{step}m") == pl.col("eval_ts"))
                        | (pl.col("eval_ts") == newest)
                    )
                ).sort("eval_ts")
                assert line["x"] == [_minute(v) for v in expected["eval_ts"]]
                assert _close(line["y"], expected["budget_remaining_percent"].to_list()), (
                    tenant,
                    line["name"],
                )
            assert sorted(line["name"] for line in lines) == sorted(rows["slo_name"].unique())

        # Burn rates: choose each tenant SLO; every window's peak per step and every
        # rule's threshold, as in the lake.
        rates = lake.read_table(rendered, "fct_burn_rates").with_columns(
            pl.col("eval_ts").dt.truncate(f"{step}m").alias("step_start")
        )
        policy = lake.read_table(rendered, "alert_policy")
        keys = page.evaluate(
            "Array.from(document.querySelectorAll('#burn-select option')).map(o => o.value)"
        )
        assert keys == sorted(
            f"{t}/{s}" for t, s in policy.select("tenant_id", "slo_name").unique().iter_rows()
        )
        for key in keys:
            tenant, slo = key.split("/")
            traces = page.evaluate(
                f"window.burnwatchReport.showBurnRates({json.dumps(key)}).then(() =>"
                " document.getElementById('burn-rates').data.map(t =>"
                " ({meta: t.meta, x0: t.x0, dx: t.dx, y: t.y})))"
            )
            series = rates.filter((pl.col("tenant_id") == tenant) & (pl.col("slo_name") == slo))
            first_step = min(series["step_start"].to_list())
            for trace in (t for t in traces if t["meta"]["kind"] == "burn_rate"):
                peaks = (
                    series.filter(pl.col("window") == trace["meta"]["window"])
                    .group_by("step_start")
                    .agg(pl.col("burn_rate").max())
                    .sort("step_start")
                )
                assert trace["x0"] == _minute(first_step)
                assert trace["dx"] == step * 60_000
                assert _close(trace["y"], peaks["burn_rate"].to_list()), (key, trace["meta"])
            rules = policy.filter((pl.col("tenant_id") == tenant) & (pl.col("slo_name") == slo))
            thresholds = {
                t["meta"]["rule"]: t["y"][0] for t in traces if t["meta"]["kind"] == "threshold"
            }
            assert thresholds == dict(rules.select("rule_name", "burn_threshold").iter_rows())
            windows_drawn = {
                t["meta"]["window"] for t in traces if t["meta"]["kind"] == "burn_rate"
            }
            assert windows_drawn == set(series["window"].unique())

        # Timeline: one bar per episode, from its start to its resolution.
        episodes = lake.read_table(rendered, "fct_alert_episodes")
        bars = page.evaluate(
            "document.getElementById('episodes-timeline').data"
            ".filter(t => t.meta.kind === 'episodes')"
            ".map(t => ({severity: t.meta.severity, base: t.base, x: t.x, y: t.y}))"
        )
        drawn = sorted(
            (label, base, duration)
            for bar in bars
            for label, base, duration in zip(bar["y"], bar["base"], bar["x"], strict=True)
        )
        period_end = budget["eval_ts"].max()
        expected_bars = sorted(
            (
                f"{r['tenant_id']} · {r['slo_name']} · {r['rule_name']}",
                _minute(r["started_at"]),
                int(((r["resolved_at"] or period_end) - r["started_at"]).total_seconds() * 1000),
            )
            for r in episodes.iter_rows(named=True)
        )
        assert drawn == expected_bars
        changes = page.evaluate(
            "document.getElementById('episodes-timeline').data"
            ".filter(t => t.meta.kind === 'change_events').map(t => ({x: t.x, y: t.y}))"
        )
        with_episodes = set(episodes["tenant_id"])
        expected_changes = sorted(
            (f"{tenant} · changes", _minute(event["ts"]))
            for event in rendered_events.iter_rows(named=True)
            for tenant in with_episodes
            if event["tenant_id"] in (tenant, "*")
        )
        assert len(changes) == 1
        assert sorted(zip(changes[0]["y"], changes[0]["x"], strict=True)) == expected_changes

        # The page drew what it should without a single error or fetch.
        chart_count = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
        assert chart_count == 1 + budget["tenant_id"].n_unique() + 1 + 1
        assert page.errors() == []
        external = [
            url
            for url in page.requests()
            if not url.startswith(("file:", "data:", "blob:", "about:"))
        ]
        assert external == []


URGENCY_RANK = {"page": 0, "ticket": 1, "no_data": 2}


def test_the_overview_table_leads_with_what_is_burning_now(rendered: Path, tmp_path: Path) -> None:
    """Rows: paging, then ticketing, then no data, then least budget left (from the lake's
    fct_slo_status); the time to exhaustion reads as minutes, hours or days and agrees with
    the lake's hours; null hours with a budget read "not within the period"."""
    status = lake.read_table(rendered, "fct_slo_status")
    expected = status.with_columns(
        pl.col("state").replace_strict(URGENCY_RANK, default=3, return_dtype=pl.Int32).alias("rank")
    ).sort(["rank", "budget_remaining_percent", "tenant_id", "slo_name"], nulls_last=True)
    with chromium_page(tmp_path / "chromium-profile") as page:
        open_report(page, rendered / "reports" / "report.html")
        rows = page.evaluate(
            "Array.from(document.querySelectorAll('#overview-table tbody tr')).map(r => ({"
            " key: r.dataset.key, state: r.children[2].textContent,"
            " exhaustion: r.querySelector('td.exhaustion').textContent}))"
        )
    assert [row["key"] for row in rows] == [
        f"{t}/{s}" for t, s in zip(expected["tenant_id"], expected["slo_name"], strict=True)
    ]
    assert [row["state"] for row in rows] == expected["state"].to_list()
    shown = set()
    for row, hours, budget in zip(
        rows,
        expected["time_to_exhaustion_hours"],
        expected["budget_remaining_percent"],
        strict=True,
    ):
        text = row["exhaustion"]
        shown.add(text if not text.startswith("≈") else "hours")
        if hours is None:
            assert text == ("" if budget is None else "not within the period")
        elif hours <= 0:
            assert text == "spent"
        else:
            number, unit = text.removeprefix("≈ ").split()
            scale = {"min": 1 / 60, "h": 1.0, "d": 24.0}[unit]
            assert abs(float(number) * scale - hours) <= scale / 2 + 1e-9, (text, hours)
    # The lake has spent budgets and budgets that the 1d burn does not spend in time.
    assert {"spent", "not within the period"} <= shown


def _label(row: dict[str, Any]) -> str:
    return f"{row['tenant_id']} · {row['slo_name']} · {row['rule_name']}"


def _suppressed_spans(evaluations: pl.DataFrame) -> list[tuple[str, str, int]]:
    """Runs of consecutive suppressed steps per rule, from the lake with polars:
    (timeline label, first step, duration in ms up to the step after the last)."""
    held = (
        evaluations.filter(pl.col("suppressed"))
        .sort("tenant_id", "slo_name", "rule_name", "eval_ts")
        .to_dicts()
    )
    spans: list[tuple[str, dt.datetime, dt.datetime]] = []
    for row in held:
        end = row["eval_ts"] + dt.timedelta(minutes=5)
        if spans and spans[-1][0] == _label(row) and spans[-1][2] == row["eval_ts"]:
            spans[-1] = (spans[-1][0], spans[-1][1], end)
        else:
            spans.append((_label(row), row["eval_ts"], end))
    return sorted(
        (label, _minute(start), int((end - start).total_seconds() * 1000))
        for label, start, end in spans
    )


def test_the_timeline_shades_suppressed_tickets_and_marks_short_episodes(
    rendered: Path, artifacts: Path, tmp_path: Path
) -> None:
    """Tickets held back while paging (fct_alert_evaluations.suppressed) are hatched bars
    on their rule's row; every episode or held-back span shorter than a chart step has a
    tick marker, and at a width where such an episode is under one pixel column the
    marker is still drawn as a tick 14 pixels tall and 3 wide."""
    evaluations = lake.read_table(rendered, "fct_alert_evaluations")
    episodes = lake.read_table(rendered, "fct_alert_episodes")
    data_end = lake.read_table(rendered, "fct_error_budget")["eval_ts"].max()
    expected_spans = _suppressed_spans(evaluations)
    assert expected_spans, "the dataset should suppress a ticket while paging"
    with chromium_page(tmp_path / "chromium-profile") as page:
        open_report(page, rendered / "reports" / "report.html")
        shot = screenshot(page, artifacts / "report-timeline.png", "#episodes-timeline")
        print(f"timeline screenshot: {shot}")
        step = page.evaluate("document.getElementById('burn-rates').layout.meta.step_minutes")
        traces = page.evaluate(
            "document.getElementById('episodes-timeline').data.map(t =>"
            " ({meta: t.meta, base: t.base, x: t.x, y: t.y}))"
        )
        [shaded] = [t for t in traces if t["meta"]["kind"] == "suppressed"]
        drawn = sorted(zip(shaded["y"], shaded["base"], shaded["x"], strict=True))
        assert drawn == expected_spans
        # Drawn as hatched bars: one path per span, filled with a pattern.
        fills = page.evaluate(
            "(() => { const gd = document.getElementById('episodes-timeline');"
            " const i = gd.data.findIndex(t => t.meta.kind === 'suppressed');"
            " const trace = gd.querySelectorAll('.barlayer .trace')[i];"
            " return Array.from(trace.querySelectorAll('.point path')).map(p =>"
            " p.style.fill || p.getAttribute('fill') || ''); })()"
        )
        assert len(fills) == len(expected_spans)
        assert all(fill.startswith("url(") for fill in fills), fills

        # Markers: every episode and held-back span shorter than a step, by the lake.
        short = dt.timedelta(minutes=step)
        expected_marks = {
            ("episode", _label(r), _minute(r["started_at"]))
            for r in episodes.iter_rows(named=True)
            if (r["resolved_at"] or data_end) - r["started_at"] < short
        } | {
            ("suppressed", label, start)
            for label, start, duration in expected_spans
            if duration < short.total_seconds() * 1000
        }
        assert any(kind == "episode" for kind, _, _ in expected_marks)
        marks = {
            (
                "episode" if t["meta"]["kind"] == "short_episodes" else "suppressed",
                label,
                x,
            )
            for t in traces
            if t["meta"]["kind"] in ("short_episodes", "short_suppressed")
            for label, x in zip(t["y"], t["x"], strict=True)
        }
        assert marks == expected_marks

        # Narrow the chart until the short episodes are under one pixel column: their
        # bars are then sub-pixel, and the markers still show, at full size.
        page.evaluate("Plotly.relayout('episodes-timeline', {width: 420}).then(() => true)")
        shot = screenshot(page, artifacts / "report-timeline-narrow.png", "#episodes-timeline")
        print(f"narrow timeline screenshot: {shot}")
        widths = page.evaluate(
            "(() => { const gd = document.getElementById('episodes-timeline');"
            " const ax = gd._fullLayout.xaxis;"
            " return gd.data.filter(t => t.meta.kind === 'episodes').flatMap(t =>"
            " t.y.map((label, i) => ({label: label, start: t.base[i],"
            " px: ax.l2p(ax.d2l(t.base[i]) + t.x[i]) - ax.l2p(ax.d2l(t.base[i]))}))); })()"
        )
        sub_pixel = {("episode", w["label"], w["start"]) for w in widths if w["px"] < 1}
        assert sub_pixel, "at 420 px some episode should be under one pixel column"
        assert sub_pixel <= marks
        boxes = page.evaluate(
            "(() => { const gd = document.getElementById('episodes-timeline');"
            " const layers = gd.querySelectorAll('.scatterlayer .trace');"
            " const scatter = gd.data.filter(t => t.type === 'scatter');"
            " return scatter.flatMap((t, i) => t.meta.kind.startsWith('short_') ?"
            " Array.from(layers[i].querySelectorAll('.point')).map(p => {"
            " const b = p.getBoundingClientRect();"
            " return [b.height, parseFloat(getComputedStyle(p).strokeWidth)]; }) : []); })()"
        )
        # A vertical tick: its box has no width, its stroke does.
        assert len(boxes) == len(marks)
        assert all(height >= 10 and stroke >= 2 for height, stroke in boxes), boxes
        assert page.errors() == []


def test_the_replay_comparison_is_in_view_without_scrolling_sideways(
    rendered: Path, tmp_path: Path
) -> None:
    """One column per policy (the lake's, in policy order), and the whole table within the
    viewport's width: no horizontal scrollbar hides precision or recall."""
    comparison = pl.read_parquet(lake.lake_dir(rendered, "replay_comparison") / "data.parquet")
    policies = comparison.sort("policy_order")["policy_name"].to_list()
    with chromium_page(tmp_path / "chromium-profile") as page:
        open_report(page, rendered / "reports" / "report.html")
        table = page.evaluate(
            "(() => { const t = document.getElementById('replay-comparison-table');"
            " const box = t.getBoundingClientRect();"
            " const rows = Array.from(t.querySelectorAll('tbody th')).map(h => h.textContent);"
            " return {left: box.left, right: box.right, scroll: t.scrollWidth,"
            " client: t.clientWidth, page: document.documentElement.clientWidth,"
            " pageScroll: document.documentElement.scrollWidth, rows: rows,"
            " heads: Array.from(t.querySelectorAll('thead th')).map(h => h.textContent)}; })()"
        )
    assert table["heads"][1:] == policies
    assert {"precision", "recall", "pages_per_tenant_week"} <= set(table["rows"])
    assert table["left"] >= 0 and table["right"] <= table["page"]
    assert table["scroll"] <= table["client"]
    assert table["pageScroll"] <= table["page"]


def test_the_burn_panel_lists_the_selected_slos_top_operations(
    rendered: Path, tmp_path: Path
) -> None:
    """Picking a tenant SLO shows exactly its alerts' rows of fct_alert_contributors,
    in the lake's order (opening before escalation)."""
    table = lake.read_table(rendered, "fct_alert_contributors").sort(
        ["tenant_id", "slo_name", "started_at", "basis", "operation_rank"],
        descending=[False, False, False, True, False],
    )
    keys = sorted({f"{t}/{s}" for t, s in zip(table["tenant_id"], table["slo_name"], strict=True)})
    assert keys, "the small dataset's alerts have contributors"
    with chromium_page(tmp_path / "chromium-profile") as page:
        open_report(page, rendered / "reports" / "report.html")
        for key in keys:
            shown = page.evaluate(
                f"window.burnwatchReport.showBurnRates({json.dumps(key)}).then(() =>"
                " Array.from(document.querySelectorAll('#burn-contributors tbody tr'))"
                ".filter(r => !r.hidden).map(r => [r.dataset.burn, r.children[4].textContent,"
                " r.children[5].textContent]))",
                timeout=RENDER_TIMEOUT,
            )
            tenant, slo = key.split("/", 1)
            mine = table.filter((pl.col("tenant_id") == tenant) & (pl.col("slo_name") == slo))
            assert shown == [
                [key, op if op is not None else "(not logged)", f"{bad} of {window_bad}"]
                for op, bad, window_bad in zip(
                    mine["operation"], mine["bad"], mine["window_bad"], strict=True
                )
            ]
