"""Budget adjustments (the manifest's `adjustments:`), against a brute-force oracle.

The main dataset of tests/test_pipeline_vs_oracle.py (acme's api outage on day 3,
globex's slow web responses on day 2, copies across midnight) is run with
adjustments over those incidents. The oracle (tests/oracle.py) never sees an
adjustment: it is given, per SLO, the raw rows without the requests that an
adjustment of that SLO covers (decided on each request's kept copy, after
dedup), so "left out of budgets and alerts, as if absent" is checked row for row
against a reimplementation with no SQL. The requests left out are counted again
by brute force against `int_sli_adjusted`. A cycle then moves one adjustment and
withdraws another: the days they covered, old and new, must be recomputed.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from oracle import (
    Request,
    bucket_index,
    bucket_start,
    data_run_starts,
    dedup,
    is_bad,
    load_requests,
    run_all,
)
from test_pipeline_vs_oracle import (
    DAYS,
    MANIFEST,
    assert_same_rows,
    generate_dataset,
    pipeline_rows,
    write_requests,
)

from pipelines.ingest import adjustment_days
from pipelines.notify import audit
from pipelines.runner import run_pipeline
from schemas.errors import BurnwatchInputError
from schemas.manifest import ResolvedAdjustment, load_manifest

FACT_TABLES = ["fct_burn_rates", "fct_error_budget", "fct_alert_evaluations", "fct_alert_episodes"]

# acme's api outage is day 3 (2024-03-03) 10:00-11:00; the adjustment holds it whole.
OUTAGE_FROM, OUTAGE_TO = dt.datetime(2024, 3, 3, 9, 55), dt.datetime(2024, 3, 3, 11, 5)
ACME_OUTAGE = (
    "  - {tenant: acme, slo: api-availability, start: 2024-03-03T09:55:00Z,"
    " end: 2024-03-03T11:05:00Z, reason: 'INC-1: bad deploy, excluded by the SLO review'}\n"
)
# The same adjustment moved to quiet hours of the same day: the outage spends again.
ACME_MOVED = (
    "  - {tenant: acme, slo: api-availability, start: 2024-03-03T13:00:00Z,"
    " end: 2024-03-03T14:10:00Z, reason: 'INC-1: bad deploy, excluded by the SLO review'}\n"
)
# Every SLO of globex during its slow responses (day 2, 14:00-16:00), given with an offset.
GLOBEX_ALL = (
    "  - {tenant: globex, start: '2024-03-02T15:00:00+01:00', end: 2024-03-02T16:00:00Z,"
    " reason: planned maintenance}\n"
)
# Every tenant's api-availability across midnight, where copies cross day folders.
ALL_MIDNIGHT = (
    "  - {tenant: all, slo: api-availability, start: 2024-03-01T23:50:00Z,"
    " end: 2024-03-02T00:20:00Z, reason: network maintenance}\n"
)


def manifest_text(*adjustments: str) -> str:
    return MANIFEST + ("adjustments:\n" + "".join(adjustments) if adjustments else "")


def _covered(adjustments: Sequence[ResolvedAdjustment], slo: Any, request: Request) -> bool:
    return any(
        a.tenant_id == slo.tenant_id
        and a.slo_name == slo.slo_name
        and a.starts_at <= request.ts < a.ends_at
        for a in adjustments
    )


def oracle_tables(rows: list[Request], manifest: Path) -> dict[str, list[dict[str, Any]]]:
    """The fact tables as the oracle computes them when each SLO's adjusted requests
    (by their kept copy) are absent from that SLO's input."""
    loaded = load_manifest(manifest)
    adjustments = loaded.resolved_adjustments()
    kept = dedup(rows)
    tables: dict[str, list[dict[str, Any]]] = {table: [] for table in FACT_TABLES}
    slos = loaded.resolved_slos()
    left_out_of = {
        slo.slo_name + "\0" + slo.tenant_id: {
            key
            for key, request in kept.items()
            if request.tenant_id == slo.tenant_id and _covered(adjustments, slo, request)
        }
        for slo in slos
    }
    # Warm-up follows the tenant's logs, adjusted requests included: an adjustment leaves
    # requests out of the windows, not out of the logs (a maintenance window is no silence).
    logged = [request for request in kept.values() if request.ts.date() in DAYS]
    run_starts = data_run_starts(logged, slos)
    for slo in slos:
        left_out = left_out_of[slo.slo_name + "\0" + slo.tenant_id]
        rows_of_slo = [r for r in rows if (r.tenant_id, r.request_id) not in left_out]
        found_tables = run_all(rows_of_slo, [slo], loaded.policy.rules, DAYS, run_starts=run_starts)
        for table, found in found_tables.items():
            if table in tables:
                tables[table] += found
    return tables


def adjusted_counts(rows: list[Request], manifest: Path) -> dict[tuple[Any, ...], tuple[int, int]]:
    """Brute force: per (tenant, SLO, bucket start), the adjusted requests and bad ones."""
    loaded = load_manifest(manifest)
    adjustments = loaded.resolved_adjustments()
    counts: dict[tuple[Any, ...], tuple[int, int]] = {}
    for request in dedup(rows).values():
        if request.ts.date() not in DAYS:
            continue
        for slo in loaded.resolved_slos():
            if (slo.tenant_id, slo.service) != (request.tenant_id, request.service):
                continue
            if not _covered(adjustments, slo, request):
                continue
            key = (slo.tenant_id, slo.slo_name, bucket_start(bucket_index(request.ts)))
            total, bad = counts.get(key, (0, 0))
            counts[key] = (total + 1, bad + int(is_bad(slo, request)))
    return counts


def outage_bad_requests(rows: list[Request]) -> int:
    """Brute force: acme's bad api requests (status >= 500) in [OUTAGE_FROM, OUTAGE_TO)."""
    return sum(
        1
        for r in dedup(rows).values()
        if r.tenant_id == "acme"
        and r.service == "api"
        and OUTAGE_FROM <= r.ts < OUTAGE_TO
        and r.status_code >= 500
    )


def budget_row(warehouse: Path, eval_ts: dt.datetime) -> dict[str, Any]:
    [row] = [
        row
        for row in pipeline_rows(warehouse, "fct_error_budget")
        if (row["tenant_id"], row["slo_name"], row["eval_ts"])
        == ("acme", "api-availability", eval_ts)
    ]
    return row


def pages_in_outage(warehouse: Path) -> int:
    """Steps where a page rule of acme's api-availability fires, from the outage's start to
    an hour after it (its tickets fire anyway, on the errors of the nights before)."""
    return sum(
        1
        for row in pipeline_rows(warehouse, "fct_alert_evaluations")
        if (row["tenant_id"], row["slo_name"], row["severity"])
        == ("acme", "api-availability", "page")
        and row["fires"]
        and OUTAGE_FROM <= row["eval_ts"] <= OUTAGE_TO + dt.timedelta(hours=1)
    )


@pytest.fixture(scope="module")
def adjusted_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("adjusted")
    data_dir = root / "data"
    write_requests(data_dir, generate_dataset(), files_per_folder=3, seed=11)
    manifest = root / "slos.yaml"
    manifest.write_text(manifest_text(ACME_OUTAGE, GLOBEX_ALL, ALL_MIDNIGHT), encoding="utf-8")
    warehouse = root / "warehouse"
    run_pipeline(data_dir, manifest, warehouse, start=DAYS[0], end=DAYS[-1], dry_run=True)
    rows = load_requests(data_dir)
    return {
        "root": root,
        "data_dir": data_dir,
        "manifest": manifest,
        "warehouse": warehouse,
        "rows": rows,
        "expected": oracle_tables(rows, manifest),
    }


@pytest.mark.slow
@pytest.mark.parametrize("table", FACT_TABLES)
def test_adjusted_requests_are_absent_from_budgets_and_alerts_as_the_oracle_says(
    adjusted_run: dict[str, Any], table: str
) -> None:
    assert_same_rows(
        table, pipeline_rows(adjusted_run["warehouse"], table), adjusted_run["expected"][table]
    )


@pytest.mark.slow
def test_the_requests_left_out_are_counted_in_int_sli_adjusted(
    adjusted_run: dict[str, Any],
) -> None:
    expected = adjusted_counts(adjusted_run["rows"], adjusted_run["manifest"])
    actual = {
        (row["tenant_id"], row["slo_name"], row["bucket_start"]): (
            row["adjusted_total"],
            row["adjusted_bad"],
        )
        for row in pipeline_rows(adjusted_run["warehouse"], "int_sli_adjusted")
    }
    assert actual == expected
    # All three adjustments hid requests, the outage's bad ones among them.
    assert {key[:2] for key in expected} >= {
        ("acme", "api-availability"),
        ("globex", "web-latency"),
        ("globex", "api-availability"),
        ("initech", "api-availability"),
    }
    assert sum(bad for _, bad in actual.values()) >= outage_bad_requests(adjusted_run["rows"])


@pytest.mark.slow
def test_an_outage_inside_an_adjustment_leaves_the_budget_untouched(
    adjusted_run: dict[str, Any],
) -> None:
    warehouse = adjusted_run["warehouse"]
    assert outage_bad_requests(adjusted_run["rows"]) > 100  # the outage is there...
    before, after = budget_row(warehouse, OUTAGE_FROM), budget_row(warehouse, OUTAGE_TO)
    # ... and neither its bad nor its good requests reached the budget.
    assert (after["total"], after["bad"]) == (before["total"], before["bad"])
    assert after["budget_consumed_percent"] == before["budget_consumed_percent"]
    assert pages_in_outage(warehouse) == 0


@pytest.mark.slow
def test_every_adjustment_is_in_the_audit_log(adjusted_run: dict[str, Any]) -> None:
    records = [
        line.record or {} for line in audit.read_lines(audit.audit_path(adjusted_run["warehouse"]))
    ]
    adjustments = [r for r in records if r.get("kind") == "adjustment"]
    manifest = load_manifest(adjusted_run["manifest"])
    recorded = [
        (r["tenant_id"], r["slo_name"], r["start"], r["end"], r["reason"]) for r in adjustments
    ]
    assert recorded == [
        (a.tenant, a.slo, a.starts_at.isoformat(), a.ends_at.isoformat(), a.reason)
        for a in manifest.adjustments
    ]
    assert audit.verify(adjusted_run["warehouse"])[1] == []


@pytest.mark.slow
def test_a_cycle_recomputes_the_days_of_a_moved_or_withdrawn_adjustment(
    adjusted_run: dict[str, Any], tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse"
    shutil.copytree(adjusted_run["warehouse"], warehouse)
    manifest = tmp_path / "slos.yaml"
    # acme's moves off its outage (same day); globex's is withdrawn (day 2); the third stays.
    manifest.write_text(manifest_text(ACME_MOVED, ALL_MIDNIGHT), encoding="utf-8")
    said: list[str] = []
    outcome = run_pipeline(
        adjusted_run["data_dir"], manifest, warehouse, dry_run=True, say=said.append
    )
    assert any("2 day(s) whose budget adjustments changed" in line for line in said), said
    assert (outcome.first_day, outcome.last_day) == (DAYS[1], DAYS[-1])
    expected = oracle_tables(adjusted_run["rows"], manifest)
    for table in FACT_TABLES:
        assert_same_rows(table, pipeline_rows(warehouse, table), expected[table])
    # The same requests, outside an adjustment now, spend the budget: every bad one.
    before, after = budget_row(warehouse, OUTAGE_FROM), budget_row(warehouse, OUTAGE_TO)
    assert after["bad"] - before["bad"] == outage_bad_requests(adjusted_run["rows"])
    assert pages_in_outage(warehouse) > 0
    # The audit log says so: the moved one in force, the old one and globex's withdrawn.
    records = [line.record or {} for line in audit.read_lines(audit.audit_path(warehouse))]
    kinds = [(r["kind"], r["tenant_id"], r["start"]) for r in records if "adjustment_id" in r]
    assert kinds[-3] == ("adjustment", "acme", "2024-03-03T13:00:00")
    assert sorted(kinds[-2:]) == [
        ("adjustment_withdrawn", "acme", "2024-03-03T09:55:00"),
        ("adjustment_withdrawn", "globex", "2024-03-02T14:00:00"),
    ]
    assert audit.verify(warehouse)[1] == []
    # A further cycle with nothing new recomputes no day and records nothing more.
    again = run_pipeline(
        adjusted_run["data_dir"], manifest, warehouse, dry_run=True, say=said.append
    )
    assert again.first_day is None
    assert len(audit.read_lines(audit.audit_path(warehouse))) == len(records)


# --- the manifest and the cycle's record, without running the pipeline ----------------

SMALL = """\
cohorts:
  standard: {availability: {objective: 99.9}}
tenants:
  - id: acme
    cohort: standard
    slos:
      - {name: api, service: api, sli: availability}
      - {name: web, service: web, sli: availability}
  - id: globex
    cohort: standard
    slos:
      - {name: api, service: api, sli: availability}
adjustments:
"""


def _small(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "slos.yaml"
    path.write_text(SMALL + "".join(f"  - {entry}\n" for entry in entries), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "{tenant: acme, start: 2026-10-05T10:00:00Z, end: 2026-10-05T09:00:00Z, reason: x}",
            "slos.yaml:14: adjustments[0].end: 2026-10-05T09:00:00Z is not after start "
            "2026-10-05T10:00:00Z (UTC)",
        ),
        (
            "{tenant: nope, start: 2026-10-05T10:00:00Z, end: 2026-10-05T11:00:00Z, reason: x}",
            "slos.yaml:14: adjustments[0].tenant: unknown tenant 'nope'",
        ),
        (
            "{tenant: globex, slo: web, start: 2026-10-05, end: 2026-10-06, reason: x}",
            "slos.yaml:14: adjustments[0].slo: tenant 'globex' has no SLO 'web'",
        ),
        (
            "{tenant: all, slo: db, start: 2026-10-05, end: 2026-10-06, reason: x}",
            "slos.yaml:14: adjustments[0].slo: no tenant has an SLO 'db'",
        ),
        (
            "{tenant: acme, start: 2026-10-05, end: 2026-10-06}",
            "slos.yaml:14: adjustments[0].reason: Field required",
        ),
        (
            "{tenant: acme, start: 2026-10-05, end: 2026-10-06, reason: '  '}",
            "slos.yaml:14: adjustments[0].reason: an adjustment needs a reason",
        ),
        (
            "{tenant: acme, start: soon, end: 2026-10-06, reason: x}",
            "slos.yaml:14: adjustments[0].start: 'soon' is not a time; write a UTC time like",
        ),
        (
            "{tenant: acme, start: 2026-10-05, end: 2026-10-06, reason: x, owner: me}",
            "slos.yaml:14: adjustments[0].owner: unknown key 'owner'",
        ),
    ],
)
def test_a_bad_adjustment_is_one_error_naming_its_index_and_key(
    tmp_path: Path, entry: str, message: str
) -> None:
    with pytest.raises(BurnwatchInputError) as caught:
        load_manifest(_small(tmp_path, entry))
    text = str(caught.value)
    assert "\n" not in text
    assert text.removeprefix(str(tmp_path) + "/").startswith(message), text


def test_the_second_of_two_equal_adjustments_is_named(tmp_path: Path) -> None:
    entry = "{tenant: acme, start: 2026-10-05, end: 2026-10-06, reason: x}"
    with pytest.raises(BurnwatchInputError, match=r"slos.yaml:15: adjustments\[1\]: the same "):
        load_manifest(_small(tmp_path, entry, entry))


def test_all_expands_to_every_tenant_slo_and_times_are_utc(tmp_path: Path) -> None:
    manifest = load_manifest(
        _small(
            tmp_path,
            "{tenant: all, slo: api, start: '2026-10-05T12:00:00+02:00', end: 2026-10-05T11:00:00Z,"
            " reason: x}",
            "{tenant: acme, start: 2026-10-06, end: '2026-10-06 01:30', reason: y}",
        )
    )
    rows = [
        (a.tenant_id, a.slo_name, a.starts_at, a.ends_at, a.manifest_index)
        for a in manifest.resolved_adjustments()
    ]
    assert rows == [
        ("acme", "api", dt.datetime(2026, 10, 5, 10), dt.datetime(2026, 10, 5, 11), 0),
        ("acme", "api", dt.datetime(2026, 10, 6), dt.datetime(2026, 10, 6, 1, 30), 1),
        ("acme", "web", dt.datetime(2026, 10, 6), dt.datetime(2026, 10, 6, 1, 30), 1),
        ("globex", "api", dt.datetime(2026, 10, 5, 10), dt.datetime(2026, 10, 5, 11), 0),
    ]


def _adjustments(tmp_path: Path, *entries: str) -> list[ResolvedAdjustment]:
    folder = tmp_path / f"m{len(list(tmp_path.glob('m*')))}"
    folder.mkdir()
    return load_manifest(_small(folder, *entries)).resolved_adjustments()


def test_the_days_to_recompute_are_the_old_and_the_new_ranges(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    old = _adjustments(
        tmp_path,
        "{tenant: acme, slo: api, start: 2026-10-05T22:00:00Z, end: 2026-10-06T02:00:00Z,"
        " reason: x}",
        "{tenant: globex, start: 2026-10-09T01:00:00Z, end: 2026-10-09T02:00:00Z, reason: y}",
    )
    # A warehouse computed before any adjustment: the days they cover are stale.
    assert adjustment_days.changed_days(warehouse, old) == {
        dt.date(2026, 10, 5),
        dt.date(2026, 10, 6),
        dt.date(2026, 10, 9),
    }
    adjustment_days.commit(warehouse, old, dt.date(2026, 10, 1), dt.date(2026, 10, 10))
    assert adjustment_days.changed_days(warehouse, old) == set()
    moved = _adjustments(
        tmp_path,
        # Its end moved within day 6, so day 5's part is as it was; a new reason changes
        # nothing that is computed.
        "{tenant: acme, slo: api, start: 2026-10-05T22:00:00Z, end: 2026-10-06T03:00:00Z,"
        " reason: x}",
        "{tenant: globex, start: 2026-10-09T01:00:00Z, end: 2026-10-09T02:00:00Z, reason: z}",
        "{tenant: acme, slo: web, start: 2026-10-12, end: 2026-10-13, reason: w}",
    )
    assert adjustment_days.changed_days(warehouse, moved) == {
        dt.date(2026, 10, 6),
        dt.date(2026, 10, 12),
    }
    # A run that computed only day 12 leaves day 6 stale.
    adjustment_days.commit(warehouse, moved, dt.date(2026, 10, 12), dt.date(2026, 10, 12))
    assert adjustment_days.changed_days(warehouse, moved) == {dt.date(2026, 10, 6)}
    # Withdrawn: every day it covered.
    assert adjustment_days.changed_days(warehouse, []) == {
        dt.date(2026, 10, 5),
        dt.date(2026, 10, 6),
        dt.date(2026, 10, 9),
        dt.date(2026, 10, 12),
    }
