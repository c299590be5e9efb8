"""What burned the budget: fct_alert_contributors against a brute-force count over the raw
request rows (pure Python, no SQL), on a hand-made day with ties, a null operation and a
replica that stands out, and on the sample; kept rows on a cycle equal a full rebuild;
messages and the report name the same operations."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.models import build
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake
from schemas.manifest import WINDOW_MINUTES
from schemas.tables import arrow_schema
from tests.conftest import request
from tests.notify_fixtures import BASE_MANIFEST, build_lake

DAY = dt.date(2026, 11, 20)
TOP, FACTOR, MIN_BAD = 3, Fraction(3, 2), 5  # the documented definition, restated


def raw_rows(data: Path) -> list[dict[str, Any]]:
    """Every row of every request file under `data/requests`, as read from Parquet."""
    rows: list[dict[str, Any]] = []
    for path in sorted((data / "requests").rglob("*.parquet")):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def deduplicated(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (tenant, request id): the earliest ts, then the smallest replica."""
    kept: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["tenant_id"], row["request_id"])
        best = kept.get(key)
        if best is None or (row["ts"], row["replica"]) < (best["ts"], best["replica"]):
            kept[key] = row
    return list(kept.values())


def is_bad(row: dict[str, Any], spec: dict[str, Any]) -> bool:
    if spec["sli"] == "availability":
        return bool(row["status_code"] >= 500)
    return bool(row["latency_ms"] > spec["threshold_ms"])


def _percent(part: int, whole: int) -> int:
    # round half away from zero, as SQL's round(): shares here are never exactly .5 off
    return int(Fraction(100 * part, whole) + Fraction(1, 2))


def oracle(data: Path, alerts: list[dict[str, Any]], specs: list[dict[str, Any]]) -> list[tuple]:
    """The table's rows worked out by counting the raw rows of each alert's windows."""
    requests = deduplicated(raw_rows(data))
    spec_of = {(s["tenant_id"], s["slo_name"]): s for s in specs}
    found = []
    for alert in alerts:
        moments = [
            ("opened", alert["opened_rule"], alert["opened_long_window"], alert["started_at"])
        ]
        if alert["escalated_at"] is not None:
            moments.append(
                (
                    "escalated",
                    alert["escalated_rule"],
                    alert["escalated_long_window"],
                    alert["escalated_at"],
                )
            )
        spec = spec_of[(alert["tenant_id"], alert["slo_name"])]
        for basis, rule, window, end in moments:
            start = end - dt.timedelta(minutes=WINDOW_MINUTES[window])
            inside = [
                r
                for r in requests
                if r["tenant_id"] == alert["tenant_id"]
                and r["service"] == spec["service"]
                and start <= r["ts"].replace(tzinfo=None) < end
            ]
            total = Counter(r["operation"] for r in inside)
            bad = Counter(r["operation"] for r in inside if is_bad(r, spec))
            replica_total = Counter((r["operation"], r["replica"]) for r in inside)
            replica_bad = Counter((r["operation"], r["replica"]) for r in inside if is_bad(r, spec))
            ranked = sorted(
                (op for op in bad if bad[op] > 0),
                key=lambda op: (-bad[op], op is None, op or ""),
            )[:TOP]
            for rank, op in enumerate(ranked, start=1):
                standouts = [
                    f"{replica} ({_percent(replica_bad[(o, replica)], bad[op])}% of bad, "
                    f"{_percent(replica_total[(o, replica)], total[op])}% of requests)"
                    for (o, replica) in sorted(replica_total, key=lambda k: k[1])
                    if o == op
                    and replica_bad[(o, replica)] >= MIN_BAD
                    and Fraction(replica_bad[(o, replica)], bad[op])
                    > FACTOR * Fraction(replica_total[(o, replica)], total[op])
                ]
                found.append(
                    (
                        alert["tenant_id"],
                        alert["slo_name"],
                        alert["started_at"],
                        basis,
                        rank,
                        op,
                        rule,
                        window,
                        bad[op],
                        total[op],
                        sum(bad.values()),
                        len(inside),
                        ", ".join(standouts) or None,
                        start,
                        end,
                    )
                )
    return sorted(found, key=lambda r: (r[0], r[1], r[2], r[3], r[4]))


COLUMNS = (
    "tenant_id",
    "slo_name",
    "started_at",
    "basis",
    "operation_rank",
    "operation",
    "rule_name",
    "long_window",
    "bad",
    "total",
    "window_bad",
    "window_total",
    "standout_replicas",
    "window_start",
    "window_end",
)


def table_rows(warehouse: Path) -> list[tuple]:
    frame = lake.read_table(warehouse, "fct_alert_contributors")
    return [tuple(row[c] for c in COLUMNS) for row in frame.to_dicts()]


def _status(second: int) -> int:
    return 503 if 8 * 3600 <= second < 8 * 3600 + 1800 else 200


def _operation(index: int) -> str | None:
    # Eight requests a block: /a twice, /b, unlogged, /c once each, /d three times.
    return ["GET /a", "GET /a", "GET /b", None, "GET /c", "GET /d", "GET /d", "GET /d"][index % 8]


def _replica(index: int) -> str:
    # Blocks alternate between the replicas: each serves half of every operation.
    return "r2" if (index // 8) % 2 else "r1"


def _fails(operation: str | None, replica: str) -> bool:
    """During the outage: /a fails on r2 only and /c on r1 only, /d never, the rest always.
    So /a, /b and the unlogged operation tie on bad requests, /c has half, /d none."""
    if operation == "GET /d":
        return False
    if operation == "GET /a":
        return replica == "r2"
    if operation == "GET /c":
        return replica == "r1"
    return True


def write_day(data: Path) -> None:
    """acme's day: a half-hour outage at 08:00 (see `_fails`); every tenth request is
    logged again, two seconds later, by the other replica (the copy dedup drops)."""
    start = dt.datetime.combine(DAY, dt.time(), tzinfo=dt.UTC)
    rows = []
    for index, second in enumerate(range(0, 86400, 5)):
        operation, replica = _operation(index), _replica(index)
        status = _status(second) if _fails(operation, replica) else 200
        ts = start + dt.timedelta(seconds=second)
        rows.append(request(f"a{index}", ts, status=status, replica=replica, operation=operation))
        if index % 10 == 0:
            other = "r1" if replica == "r2" else "r2"
            late = ts + dt.timedelta(seconds=2)
            rows.append(request(f"a{index}", late, status=200, replica=other, operation="GET /x"))
    globex = [
        request(f"g{i}", start + dt.timedelta(seconds=s), tenant="globex")
        for i, s in enumerate(range(0, 86400, 60))
    ]
    for tenant, tenant_rows in (("acme", rows), ("globex", globex)):
        folder = data / "requests" / f"tenant={tenant}" / f"date={DAY}"
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(tenant_rows, schema=arrow_schema("raw_requests"))
        pq.write_table(table, folder / "p.parquet")


@pytest.fixture(scope="module")
def handmade(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("contributors")
    write_day(root / "data")
    (root / "data" / "slos.yaml").write_text(BASE_MANIFEST)
    build_lake(root / "data", root / "warehouse")
    return root / "data", root / "warehouse"


def _resource(data: Path, warehouse: Path) -> BurnwatchResource:
    return BurnwatchResource(
        data_dir=str(data), manifest=str(data / "slos.yaml"), warehouse=str(warehouse)
    )


def test_top_operations_match_a_brute_force_count_of_the_raw_rows(
    handmade: tuple[Path, Path],
) -> None:
    data, warehouse = handmade
    alerts = lake.read_table(warehouse, "fct_alerts").to_dicts()
    specs = lake.read_table(warehouse, "slo_specs").to_dicts()
    expected = oracle(data, alerts, specs)
    assert expected  # the outage opened an alert, whose window has bad requests
    assert table_rows(warehouse) == expected


def test_ties_go_to_the_operation_name_then_an_unlogged_operation_last(
    handmade: tuple[Path, Path],
) -> None:
    rows = lake.read_table(handmade[1], "fct_alert_contributors").to_dicts()
    # The escalation's 1h window covers whole blocks of the outage: /a, /b and the
    # unlogged operation have equal bad counts there (/c half, /d none).
    escalation = [r for r in rows if r["basis"] == "escalated"]
    assert len({r["bad"] for r in escalation}) == 1
    assert [r["operation"] for r in escalation] == ["GET /a", "GET /b", None]
    assert [r["operation_rank"] for r in escalation] == [1, 2, 3]


def test_a_replica_that_holds_an_operations_errors_stands_out(
    handmade: tuple[Path, Path],
) -> None:
    rows = lake.read_table(handmade[1], "fct_alert_contributors").to_dicts()
    by_operation = {r["operation"]: r["standout_replicas"] for r in rows if r["basis"] == "opened"}
    assert by_operation["GET /a"].startswith("r2 (100% of bad, ")
    assert by_operation["GET /b"] is None  # its errors come from both replicas alike


def test_a_cycle_keeps_unchanged_rows_and_recomputes_what_changed_days_touch(
    handmade: tuple[Path, Path], tmp_path: Path
) -> None:
    data, original = handmade
    warehouse = tmp_path / "warehouse"
    shutil.copytree(original, warehouse)
    resource = _resource(data, warehouse)
    target = lake.partition_path(warehouse, "fct_alert_contributors", None)
    full = target.read_bytes()

    build.build_fct_alert_contributors(resource)  # nothing changed: every row kept
    assert target.read_bytes() == full

    # Rows it keeps are not recomputed: a doctored row survives a cycle without news...
    frame = lake.read_table(warehouse, "fct_alert_contributors")
    doctored = frame.with_columns(frame["bad_share"] * 0 + 0.5)
    doctored.write_parquet(target)
    build.build_fct_alert_contributors(resource)
    assert set(lake.read_table(warehouse, "fct_alert_contributors")["bad_share"]) == {0.5}

    # ...and is recomputed once the request day under its window changes.
    day_file = lake.partition_path(warehouse, "stg_requests", DAY)
    day_file.write_bytes(day_file.read_bytes())
    stamp = day_file.stat()

    os.utime(day_file, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))
    build.build_fct_alert_contributors(resource)
    assert target.read_bytes() == full


def test_a_full_rebuild_gives_the_same_bytes(handmade: tuple[Path, Path], tmp_path: Path) -> None:
    data, original = handmade
    warehouse = tmp_path / "warehouse"
    shutil.copytree(original, warehouse)
    target = lake.partition_path(warehouse, "fct_alert_contributors", None)
    before = target.read_bytes()
    resource = _resource(data, warehouse).model_copy(update={"full": True})
    build.build_fct_alert_contributors(resource)
    assert target.read_bytes() == before


def test_messages_name_the_top_operations_of_their_alert(
    handmade: tuple[Path, Path], tmp_path: Path
) -> None:
    from pipelines.notify.dispatch import run_notifications

    data, original = tmp_path / "data", tmp_path / "warehouse"
    shutil.copytree(handmade[0], data)
    shutil.copytree(handmade[1], original)
    log = tmp_path / "received.jsonl"
    command = tmp_path / "save.sh"
    command.write_text(f"#!/bin/sh\ntr -d '\\n' >> {log}\necho >> {log}\n")
    command.chmod(command.stat().st_mode | stat.S_IXUSR)
    (data / "slos.yaml").write_text(
        BASE_MANIFEST
        + "notifications:\n  channels:\n"
        + f"    save: {{type: command, command: [{command}]}}\n"
        + "  routes:\n    - channel: save\n"
    )
    run_notifications(original, data, data / "slos.yaml")

    documents = [json.loads(line) for line in log.read_text().splitlines()]
    rows = lake.read_table(original, "fct_alert_contributors").to_dicts()
    opened = [d for d in documents if d["transition"] == "opened"]
    assert opened
    for document in opened:
        started = dt.datetime.fromisoformat(document["episode"]["started_at"].rstrip("Z"))
        mine = [r for r in rows if r["started_at"] == started and r["basis"] == "opened"]
        assert [(c["operation"], c["bad"]) for c in document["top_operations"]] == [
            (r["operation"], r["bad"]) for r in mine
        ]
    from pipelines.notify.audit import verify

    records = [json.loads(line) for line in (original / "audit" / "audit.jsonl").open()]
    refs = [r["inputs"]["ref"] for r in records if r["kind"] == "decision"]
    assert refs and all(ref["basis"] in ("opened", "escalated", "latest") for ref in refs)
    checked, problems = verify(original)
    assert checked > 0 and problems == []
    # The contributors are part of what each decision's hash pins.
    target = lake.partition_path(original, "fct_alert_contributors", None)
    frame = lake.read_table(original, "fct_alert_contributors")
    frame.with_columns(frame["bad"] + 1).write_parquet(target)
    assert verify(original)[1] != []


def test_the_report_burn_panel_lists_the_same_rows(handmade: tuple[Path, Path]) -> None:
    from pipelines.reporting.queries import load_report_data

    data = load_report_data(handmade[1])
    table = lake.read_table(handmade[1], "fct_alert_contributors")
    assert sorted(map(tuple, data.contributors.rows())) == sorted(map(tuple, table.rows()))
    assert data.contributors.height > 0


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from pipelines.runner import run_pipeline
    from pipelines.sample.generator import generate_sample

    root = tmp_path_factory.mktemp("sample")
    generate_sample(root / "data", tenants=3, days=7, seed=7)
    run_pipeline(root / "data", root / "data" / "slos.yaml", root / "wh", dry_run=True)
    return root / "data", root / "wh"


@pytest.mark.slow
def test_on_the_sample_every_row_matches_a_brute_force_count(sample: tuple[Path, Path]) -> None:
    data, warehouse = sample
    alerts = lake.read_table(warehouse, "fct_alerts").to_dicts()
    specs = lake.read_table(warehouse, "slo_specs").to_dicts()
    expected = oracle(data, alerts, specs)
    assert len(alerts) > 0 and len(expected) >= len(alerts)
    assert table_rows(warehouse) == expected


def test_the_message_text_lists_the_top_operations(
    handmade: tuple[Path, Path], tmp_path: Path
) -> None:
    from pipelines.notify.dispatch import run_notifications

    data, warehouse = tmp_path / "data", tmp_path / "warehouse"
    shutil.copytree(handmade[0], data)
    shutil.copytree(handmade[1], warehouse)
    (data / "slos.yaml").write_text(
        BASE_MANIFEST
        + "notifications:\n  channels:\n"
        + "    am: {type: alertmanager, url: 'http://127.0.0.1:9'}\n"
        + "  routes:\n    - channel: am\n      match: {transitions: [escalated]}\n"
    )
    run_notifications(warehouse, data, data / "slos.yaml", dry_run=True)

    [payload] = [json.loads(p) for p in lake.read_table(warehouse, "notifications")["payload"]]
    [alert] = payload["alerts"]
    rows = lake.read_table(warehouse, "fct_alert_contributors").to_dicts()
    escalation = [r for r in rows if r["basis"] == "escalated"]
    lines = alert["annotations"]["description"].split("Top operations by bad requests:\n")[1]
    listed = [line for line in lines.splitlines() if line.startswith("- ")]
    assert [line.split(":")[0] for line in listed] == [
        f"- {r['operation'] or '(operation not logged)'}" for r in escalation
    ]
    assert all(
        f"{r['bad']} of {r['window_bad']} bad" in line
        for r, line in zip(escalation, listed, strict=True)
    )
    assert "replicas standing out: r2 (100% of bad, 50% of requests)" in listed[0]
    annotation = alert["annotations"]["top_operations"].split(" | ")
    assert annotation == [line.removeprefix("- ") for line in listed]
