"""Tiny datasets and local receivers for the notification tests.

`build_lake` writes one day of traffic for tenant `acme` (availability SLO, 99%)
and computes the lake through `pipelines.models.build` (fast, no Dagster):

- 03:00-08:00 a slow burn, exactly 5% errors (5x): ticket rules open;
- 08:00-08:30 an outage, 100% errors: page rules open while a ticket is open
  (the alert escalates), then resolve;
- 22:00-24:00 a second outage, still going at the end of the data: its
  episodes and its alert are open (no `resolved_at`).

Tenant `globex` (cohort `standard`) has clean traffic and never alerts.
Receivers: `HttpReceiver` (http.server in a thread; scripted status codes,
optional delay, records every request), started and stopped by fixtures.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import subprocess
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.tables import arrow_schema
from tests.conftest import request

DAY = dt.date(2026, 11, 20)

REQUEST_SCHEMA = arrow_schema("raw_requests")

BASE_MANIFEST = """\
cohorts:
  enterprise:
    availability: {objective: 99.0}
  standard:
    availability: {objective: 99.0}
tenants:
  - id: acme
    cohort: enterprise
    slos:
      - {name: api-availability, service: api, sli: availability}
  - id: globex
    cohort: standard
    slos:
      - {name: api-availability, service: api, sli: availability}
# The Workbook's rules without warm-up: the data is one day from midnight, and these
# tests are about messages, so the slow burn's 1-day tickets may open on its first day.
policy:
  rules:
    - {name: page-1h, severity: page, long_window: 1h, short_window: 5m, burn_rate: 14.4,
       warm_up: false}
    - {name: page-6h, severity: page, long_window: 6h, short_window: 30m, burn_rate: 6,
       warm_up: false}
    - {name: ticket-1d, severity: ticket, long_window: 1d, short_window: 2h, burn_rate: 3,
       warm_up: false}
    - {name: ticket-3d, severity: ticket, long_window: 3d, short_window: 6h, burn_rate: 1,
       warm_up: false}
"""


def _status(second: int, index: int) -> int:
    hour = second / 3600
    if 8 <= hour < 8.5 or hour >= 22:
        return 503
    if 3 <= hour < 8 and index % 20 == 0:
        return 500
    return 200


def write_requests(data: Path) -> None:
    start = dt.datetime.combine(DAY, dt.time(), tzinfo=dt.UTC)
    acme = [
        request(
            f"a{i}",
            start + dt.timedelta(seconds=second),
            tenant="acme",
            status=_status(second, i),
            operation=None,
        )
        for i, second in enumerate(range(0, 86400, 5))
    ]
    globex = [
        request(f"g{i}", start + dt.timedelta(seconds=second), tenant="globex", operation=None)
        for i, second in enumerate(range(0, 86400, 60))
    ]
    for tenant, rows in (("acme", acme), ("globex", globex)):
        folder = data / "requests" / f"tenant={tenant}" / f"date={DAY}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=REQUEST_SCHEMA), folder / "p.parquet")


def write_manifest(data: Path, notifications_yaml: str = "") -> Path:
    """`slos.yaml` with the given `notifications:` block (YAML text, top level)."""
    path = data / "slos.yaml"
    path.write_text(BASE_MANIFEST + notifications_yaml)
    return path


def write_events(data: Path) -> None:
    folder = data / "events"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "changes.csv").write_text(
        "ts,tenant_id,service,kind,description\n"
        f"{DAY}T07:58:00Z,acme,api,deploy,v2.3\n"
        f"{DAY}T07:30:00Z,*,db,failover,primary moved\n"
        f"{DAY}T21:50:00Z,*,api,config,rate limits lowered\n"
        f"{DAY}T01:00:00Z,globex,api,scale,to 3 replicas\n"
    )


def build_lake(data: Path, warehouse: Path) -> None:
    """Compute every table the notifications stage reads, for DAY, into `warehouse`."""
    from pipelines.ingest import staging
    from pipelines.models import build
    from pipelines.resources import BurnwatchResource
    from pipelines.warehouse import lake

    resource = BurnwatchResource(
        data_dir=str(data), manifest=str(data / "slos.yaml"), warehouse=str(warehouse)
    )
    build.build_slo_specs(resource)
    build.build_alert_policy(resource)
    staging.build_stg_requests(resource, DAY)
    build.build_int_tenant_horizons(resource, (DAY, DAY))
    for build_day in (
        build.build_int_sli_buckets,
        build.build_fct_burn_rates,
        build.build_fct_error_budget,
        build.build_fct_alert_evaluations,
    ):
        build_day(resource, DAY)
    build.build_fct_alert_episodes(resource)
    build.build_fct_alerts(resource)
    # The notifications asset reads it too: each message links to the report's anchor.
    build.build_fct_slo_status(resource)
    build.build_fct_alert_contributors(resource)
    lake.refresh_catalog(warehouse)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_server(process: subprocess.Popen[Any], timeout: float) -> None:
    """Stop a test's server process: terminate, then kill if it has not ended in `timeout`."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """A local HTTP receiver: answers POSTs with scripted statuses (then 200), records them."""

    statuses: list[int] = field(default_factory=list)
    delay_seconds: float = 0.0
    # 1-based numbers of the requests to delay (all when empty).
    delay_requests: set[int] = field(default_factory=set)
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    # Set when a request has been read, before the (possibly delayed) answer.
    got_request: threading.Event = field(default_factory=threading.Event)
    # Set at teardown: ends every delay at once.
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bodies(self) -> list[Any]:
        return [request.json() for request in self.requests]


@dataclass
class _Server:
    receiver: HttpReceiver
    server: http.server.ThreadingHTTPServer
    thread: threading.Thread


def _handler(receiver: HttpReceiver) -> type[http.server.BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                receiver.requests.append(Received(self.path, dict(self.headers), body))
                number = len(receiver.requests)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            receiver.got_request.set()
            if receiver.delay_seconds and (
                not receiver.delay_requests or number in receiver.delay_requests
            ):
                receiver.release.wait(receiver.delay_seconds)
            payload = b'{"status":"success"}' if status < 300 else b'{"error":"try later"}'
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client went away (the crash tests kill it)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def start_receiver(receiver: HttpReceiver) -> _Server:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return _Server(receiver, server, thread)


def stop_receiver(running: _Server) -> None:
    running.receiver.release.set()
    running.server.shutdown()
    running.server.server_close()
    running.thread.join(timeout=5)


def http_receiver(receiver: HttpReceiver | None = None) -> Generator[HttpReceiver, None, None]:
    """Generator for a fixture: start a receiver, yield it, stop it."""
    running = start_receiver(receiver or HttpReceiver())
    try:
        yield running.receiver
    finally:
        stop_receiver(running)


_TEMPLATE: dict[str, Path] = {}


def template_root(factory: Any) -> Path:
    """Data and a computed lake, built once per test session and copied by `Workspace`."""
    if "root" not in _TEMPLATE:
        root = Path(factory.mktemp("notify-template"))
        write_requests(root / "data")
        write_manifest(root / "data")
        write_events(root / "data")
        build_lake(root / "data", root / "warehouse")
        _TEMPLATE["root"] = root
    return _TEMPLATE["root"]


@dataclass
class Workspace:
    """A private copy of the template's data and warehouse."""

    data: Path
    warehouse: Path

    @property
    def manifest(self) -> Path:
        return self.data / "slos.yaml"

    def configure(self, notifications_yaml: str) -> Path:
        return write_manifest(self.data, notifications_yaml)

    def run(self, dry_run: bool = False, **kwargs: Any) -> Any:
        from pipelines.notify.dispatch import run_notifications

        return run_notifications(
            self.warehouse, self.data, self.manifest, dry_run=dry_run, **kwargs
        )

    def table(self, name: str) -> Any:
        import polars as pl

        from pipelines.warehouse import lake

        return pl.read_parquet(lake.lake_dir(self.warehouse, name) / lake.DATA_FILE)

    def audit(self) -> list[dict[str, Any]]:
        path = self.warehouse / "audit" / "audit.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()]


def make_workspace(factory: Any, tmp_path: Path, notifications_yaml: str = "") -> Workspace:
    """A private copy of the template, configured with `notifications_yaml` when given."""
    import shutil

    root = template_root(factory)
    shutil.copytree(root / "data", tmp_path / "data")
    shutil.copytree(root / "warehouse", tmp_path / "warehouse")
    workspace = Workspace(tmp_path / "data", tmp_path / "warehouse")
    if notifications_yaml:
        workspace.configure(notifications_yaml)
    return workspace


def webhook_routes(match: str, retry: str = "") -> str:
    """A `notifications:` block: what `match` selects goes to one HMAC-signed webhook
    ($HOOK_URL, key $HOOK_KEY); `retry` is the retry settings' flow mapping body."""
    retry_line = f"  retry: {{{retry}}}\n" if retry else ""
    return (
        "\nnotifications:\n"
        f"{retry_line}"
        "  channels:\n"
        "    hook: {type: webhook, url_env: HOOK_URL, hmac_key_env: HOOK_KEY}\n"
        "  routes:\n"
        "    - channel: hook\n"
        f"      match: {{{match}}}\n"
    )


def rewrite(workspace: Workspace, table: str, frame: Any) -> None:
    """Replace a whole lake table with `frame` (cast to the table's own types)."""
    from pipelines.notify.dispatch import write_lake_frame
    from pipelines.warehouse import lake

    schema = lake.read_table(workspace.warehouse, table).schema
    write_lake_frame(workspace.warehouse, table, frame.cast(dict(schema)).select(list(schema)))


def write_horizons(workspace: Workspace, rows: list[dict[str, Any]]) -> None:
    """int_tenant_horizons as a run would leave it: each row gives tenant_id, data_until,
    horizon and silent (evaluated_until defaults to the horizon, max_silence_minutes to 15)."""
    import polars as pl

    from pipelines.warehouse import lake

    full = [
        {"evaluated_until": row.get("horizon"), "max_silence_minutes": 15, **row} for row in rows
    ]
    schema = lake.read_table(workspace.warehouse, "int_tenant_horizons").schema
    rewrite(workspace, "int_tenant_horizons", pl.DataFrame(full, schema=schema))


def episodes(workspace: Workspace) -> list[dict[str, Any]]:
    from pipelines.warehouse import lake

    return lake.read_table(workspace.warehouse, "fct_alert_episodes").to_dicts()


def alerts(workspace: Workspace) -> list[dict[str, Any]]:
    """The grouped alerts the messages must come from, worked out by the oracle
    (tests/oracle.py) from the lake's rule evaluations and the manifest's cooldowns,
    not read back from fct_alerts."""
    from pipelines.warehouse import lake
    from schemas.manifest import load_manifest
    from tests import oracle

    cooldowns = load_manifest(workspace.data / "slos.yaml").policy.cooldown_minutes
    evaluations = lake.read_table(workspace.warehouse, "fct_alert_evaluations").to_dicts()
    return oracle.grouped_alerts(evaluations, cooldowns.page, cooldowns.ticket)


def expected_transitions(workspace: Workspace) -> list[tuple[str, set[str]]]:
    """(kind, severities routed on) of every transition the oracle's alerts owe: an
    opening at its severity, an escalation as a page, a step down on both severities, a
    resolution on every severity the alert had (docs/notifications.md)."""
    found: list[tuple[str, set[str]]] = []
    for alert in alerts(workspace):
        found.append(("opened", {alert["opened_severity"]}))
        if alert["escalated_at"] is not None:
            found.append(("escalated", {"page"}))
        if alert["stepped_down_at"] is not None:
            found.append(("stepped_down", {"page", "ticket"}))
        if alert["resolved_at"] is not None:
            found.append(("resolved", {alert["opened_severity"], alert["peak_severity"]}))
    return found


def expected_messages(
    workspace: Workspace, severities: set[str] | None = None, kinds: set[str] | None = None
) -> int:
    """How many of those transitions a route matching `severities` and `kinds` takes."""
    return sum(
        (severities is None or bool(routed & severities)) and (kinds is None or kind in kinds)
        for kind, routed in expected_transitions(workspace)
    )


@dataclass
class SmtpSink:
    """An aiosmtpd handler that keeps every message it is given."""

    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def smtp_server() -> Generator[tuple[SmtpSink, int], None, None]:
    """Generator for a fixture: an SMTP server on 127.0.0.1 (aiosmtpd), stopped after."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield sink, int(controller.port)
    finally:
        controller.stop()
