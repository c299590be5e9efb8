"""The rules of one scan over every folder say what the rules of each folder's own scan say.

`folder_rules` read a row's folder tenant and day from its columns, so that the
quarantine and the conservation check read all folders in one scan (a union of one
scan per tenant folder cost time in proportion to tenants). They must give each row
the same reason and the same detail text as `row_rules(tenant, day)`, which spell
the folder out as literals: that is what keeps the quarantine table byte-identical.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipelines.ingest.rules import FOLDER_DAY, FOLDER_TENANT, folder_rules, row_rules
from schemas.contracts import NO_OVERRIDES

DAY = dt.date(2026, 10, 5)
SKEW = dt.timedelta(minutes=60)
COMPUTED = (dt.date(2026, 10, 5), dt.date(2026, 10, 6))  # 10-04 is on no computed day

# (request_id, ts, tenant_id, service, operation, status_code, latency_ms, replica):
# one good row and one row breaking each kind of rule.
ROWS = [
    ("good", "2026-10-05 10:00:00", "{tenant}", "api", "GET /", 200, 12.5, "r1"),
    ("null-ts", None, "{tenant}", "api", None, 200, 12.5, "r1"),
    ("null-id", "2026-10-05 10:00:00", "{tenant}", "api", None, 200, 12.5, "r1"),
    ("other-tenant", "2026-10-05 10:00:00", "someone-else", "api", None, 200, 1.0, "r1"),
    ("empty-service", "2026-10-05 10:00:00", "{tenant}", "", None, 200, 1.0, "r1"),
    ("status", "2026-10-05 10:00:00", "{tenant}", "api", None, 99, 1.0, "r1"),
    ("latency", "2026-10-05 10:00:00", "{tenant}", "api", None, 200, float("inf"), "r1"),
    ("early", "2026-10-03 23:59:59", "{tenant}", "api", None, 200, 1.0, "r1"),
    ("late", "2026-10-06 01:00:00", "{tenant}", "api", None, 200, 1.0, "r1"),
    ("skewed", "2026-10-06 00:59:59", "{tenant}", "api", None, 200, 1.0, "r1"),
    ("uncomputed", "2026-10-04 00:00:00", "{tenant}", "api", None, 200, 1.0, "r1"),
]


def _verdicts(tenant: str, computed: tuple[dt.date, dt.date] | None) -> list[tuple[object, ...]]:
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        connection.execute(
            "create table rows (request_id varchar, ts timestamp, tenant_id varchar, "
            "service varchar, operation varchar, status_code integer, latency_ms double, "
            f'replica varchar, "{FOLDER_TENANT}" varchar, "{FOLDER_DAY}" date)'
        )
        for row in ROWS:
            values = [tenant if value == "{tenant}" else value for value in row]
            if row[0] == "null-id":
                values[0] = None
            connection.execute(
                "insert into rows values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [*values, tenant, DAY]
            )

        def classify(rules: list) -> list[tuple[object, ...]]:
            reason = " ".join(f"when {r.bad_sql} then '{r.reason}'" for r in rules)
            detail = " ".join(f"when {r.bad_sql} then {r.detail_sql}" for r in rules)
            return connection.execute(
                f"select case {reason} end, case {detail} end from rows order by rowid"
            ).fetchall()

        one_folder = classify(row_rules(tenant, DAY, SKEW, NO_OVERRIDES, computed))
        any_folder = classify(folder_rules(SKEW, NO_OVERRIDES, computed))
    assert any_folder == one_folder
    return one_folder


@pytest.mark.parametrize("tenant", ["acme", "o'neil"])
@pytest.mark.parametrize("computed", [COMPUTED, None])
def test_folder_rules_give_each_row_the_reason_and_detail_of_its_folders_rules(
    tenant: str, computed: tuple[dt.date, dt.date] | None
) -> None:
    verdicts = _verdicts(tenant, computed)
    reasons = [reason for reason, _ in verdicts]
    # The rows do break what they were written to break, so the equality is not vacuous.
    assert reasons[0] is None
    assert reasons[1:7] == [
        "null_ts",
        "null_request_id",
        "tenant_mismatch",
        "empty_service",
        "status_code_out_of_range",
        "latency_ms_out_of_range",
    ]
    assert reasons[7:9] == ["ts_outside_folder_window"] * 2
    assert reasons[9] is None  # within the skew after the folder's day
    assert reasons[10] == ("outside_computed_range" if computed else None)
    details = dict(zip([row[0] for row in ROWS], [detail for _, detail in verdicts], strict=True))
    assert details["other-tenant"] == (
        f"tenant_id someone-else in folder tenant={tenant.replace(chr(39), '')}"
    )
    assert details["early"] == (
        "ts=2026-10-03 23:59:59 outside [2026-10-04 00:00, 2026-10-06 01:00) "
        "of folder date=2026-10-05"
    )
