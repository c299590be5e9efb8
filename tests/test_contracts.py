"""The request-log contract, its overrides, footer inspection, `validate` and run exit codes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_helpers import run_args, run_cli
from test_corruption import (
    DAYS,
    SCHEMA,
    build_clean,
    compute,
    request_rows,
    resource_for,
    write_rows,
)

from pipelines.ingest import footers
from pipelines.ingest.files import discover_request_files
from pipelines.ingest.scan import read_files_sql
from pipelines.warehouse import lake
from schemas.contracts import (
    NO_OVERRIDES,
    load_overrides,
    request_column,
    request_columns,
    ts_window,
)
from schemas.errors import BurnwatchInputError
from schemas.tables import column_names


def test_the_contract_is_derived_from_the_request_log_model() -> None:
    assert [c.name for c in request_columns()] == column_names("raw_requests")
    status = request_column("status_code")
    assert (status.sql_type, status.min_value, status.max_value) == ("INTEGER", 100, 599)
    assert request_column("operation").nullable
    assert not request_column("request_id").nullable
    assert request_column("request_id").min_length == 1


def test_the_ts_window_takes_late_rows_and_skew_but_not_two_days_back() -> None:
    start, end = ts_window(dt.date(2026, 10, 2), dt.timedelta(minutes=60))
    assert start == dt.datetime(2026, 10, 1)
    assert end == dt.datetime(2026, 10, 3, 1)


def test_overrides_load_and_errors_name_file_line_and_key(tmp_path: Path) -> None:
    good = tmp_path / "contracts.yaml"
    good.write_text("services:\n  legacy:\n    status_codes: {min: 100, max: 999}\n")
    assert load_overrides(good).status_range("legacy") == (100, 999)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "services:\n  legacy:\n    status_codes: {min: 100, max: 999}\n"
        "    extra_colums: {region: VARCHAR}\n"
    )
    with pytest.raises(BurnwatchInputError, match=r"bad.yaml:4: .*extra_colums.*unknown key"):
        load_overrides(bad)
    inverted = tmp_path / "inverted.yaml"
    inverted.write_text("services:\n  legacy:\n    status_codes: {min: 600, max: 100}\n")
    with pytest.raises(BurnwatchInputError, match=r"inverted.yaml:3: services.legacy"):
        load_overrides(inverted)


def _verdict(tmp_path: Path, table: pa.Table) -> footers.FileVerdict:
    path = tmp_path / "requests" / "tenant=t" / "date=2026-10-02" / "part-0.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    [file] = discover_request_files(tmp_path)
    return footers.inspect_file(file, load_overrides(None))


def _table(**types: pa.DataType) -> pa.Table:
    rows = request_rows("t", dt.date(2026, 10, 2), 3)
    schema = pa.schema([pa.field(f.name, types.get(f.name, f.type)) for f in SCHEMA])
    return pa.Table.from_pylist(rows, schema=SCHEMA).cast(schema)


def test_a_file_on_contract_is_ok(tmp_path: Path) -> None:
    verdict = _verdict(tmp_path, _table())
    assert (verdict.status, verdict.quarantined, verdict.rows) == ("ok", False, 3)


def test_an_int64_status_whose_statistics_fit_is_cast(tmp_path: Path) -> None:
    verdict = _verdict(tmp_path, _table(status_code=pa.int64()))
    assert verdict.status == "drifted" and not verdict.quarantined
    assert [(f.column, f.action) for f in verdict.findings] == [("status_code", "cast")]


def test_an_int64_status_that_does_not_fit_int32_is_quarantined(tmp_path: Path) -> None:
    table = _table(status_code=pa.int64())
    table = table.set_column(5, "status_code", pa.array([200, 2**40, 200], pa.int64()))
    verdict = _verdict(tmp_path, table)
    assert verdict.quarantined and verdict.reason == "schema_drift"


def test_a_missing_optional_column_is_read_as_null(tmp_path: Path) -> None:
    verdict = _verdict(tmp_path, _table().drop_columns(["operation"]))
    assert not verdict.quarantined
    assert [(f.column, f.action) for f in verdict.findings] == [("operation", "cast")]


def test_an_undeclared_extra_column_is_reported_and_ignored(tmp_path: Path) -> None:
    table = _table().append_column("region", pa.array(["eu"] * 3))
    verdict = _verdict(tmp_path, table)
    assert not verdict.quarantined
    assert [(f.column, f.action) for f in verdict.findings] == [("region", "ignore")]


def test_a_declared_extra_column_is_fine(tmp_path: Path) -> None:
    (tmp_path / "contracts.yaml").write_text(
        "services:\n  api:\n    extra_columns: {region: VARCHAR}\n"
    )
    path = tmp_path / "requests" / "tenant=t" / "date=2026-10-02" / "part-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(_table().append_column("region", pa.array(["eu"] * 3)), path)
    [file] = discover_request_files(tmp_path)
    verdict = footers.inspect_file(file, load_overrides(tmp_path / "contracts.yaml"))
    assert verdict.status == "ok"


def test_a_service_override_accepts_other_status_codes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_clean(data)
    rows = request_rows("bad", DAYS[1], 4, "x")
    for row in rows:
        row["status_code"] = 799
    rows[0]["service"] = "legacy"
    write_rows(data, "bad", DAYS[1], rows, "part-1")
    (data / "contracts.yaml").write_text(
        "services:\n  legacy:\n    status_codes: {min: 100, max: 999}\n"
    )
    resource = resource_for(tmp_path, data, "wh")
    compute(resource)
    quarantine = lake.read_table(resource.warehouse_path, "quarantine")
    assert quarantine.height == 3
    assert set(quarantine["reason"]) == {"status_code_out_of_range"}
    assert quarantine["raw_row"].str.contains('"service":"api"').all()


def test_latency_in_seconds_is_reported_but_not_quarantined(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_clean(data)
    rows = [
        dict(row, service="slow", latency_ms=0.05)
        for row in request_rows("bad", DAYS[1], 30, "sec")
    ]
    write_rows(data, "bad", DAYS[1], rows, "part-1")
    resource = resource_for(tmp_path, data, "wh")
    compute(resource)
    report = lake.read_table(resource.warehouse_path, "contract_report")
    warned = report.filter(report["action"] == "warn")
    assert warned["detail"].to_list()[0].startswith("service slow: median latency_ms 0.05")
    assert lake.read_table(resource.warehouse_path, "quarantine").is_empty()


def test_validate_passes_on_good_input_and_prints_json(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_clean(data)
    done = run_cli("validate", "--manifest", str(data / "slos.yaml"), "--data", str(data), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["valid"]
    assert [c["name"] for c in report["checks"]] == [
        "manifest",
        "contracts",
        "sql_models",
        "portable_sql",
        "partitions",
        "change_events",
    ]


def test_validate_fails_on_a_drifted_partition_naming_the_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_clean(data)
    broken = folder_file = data / "requests" / "tenant=bad" / f"date={DAYS[1]}" / "part-9.parquet"
    folder_file.write_bytes(b"not parquet at all")
    done = run_cli("validate", "--manifest", str(data / "slos.yaml"), "--data", str(data))
    assert done.returncode == 1
    assert f"{broken} (tenant bad, partition {DAYS[1]}): would be quarantined" in done.stdout
    assert "FAIL partitions" in done.stdout


def test_validate_fails_on_a_bad_contracts_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_clean(data)
    (data / "contracts.yaml").write_text("services: [1, 2]\n")
    done = run_cli("validate", "--manifest", str(data / "slos.yaml"))
    assert done.returncode == 1
    assert "FAIL contracts" in done.stdout and "contracts.yaml" in done.stdout


@pytest.mark.slow
def test_run_with_a_broken_file_completes_warns_and_exits_3(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_clean(data)
    broken = data / "requests" / "tenant=bad" / f"date={DAYS[1]}" / "part-9.parquet"
    broken.write_bytes(b"")
    warehouse = tmp_path / "wh"
    done = run_cli(*run_args(data, data / "slos.yaml", warehouse))
    assert done.returncode == 3, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert warnings == [
        f"burnwatch: warning: quarantined file {broken} (tenant bad, partition {DAYS[1]}): "
        + warnings[0].split("): ", 1)[1]
    ]
    assert "unreadable Parquet footer" in warnings[0]
    buckets = lake.read_table(warehouse, "int_sli_buckets")
    assert set(buckets["tenant_id"]) == {"acme", "bad"}
    assert lake.read_table(warehouse, "fct_burn_rates").height > 0


def test_run_without_a_data_folder_is_a_one_line_error(tmp_path: Path) -> None:
    manifest = tmp_path / "slos.yaml"
    build_clean(tmp_path / "data")
    (tmp_path / "data" / "slos.yaml").rename(manifest)
    done = run_cli(*run_args(tmp_path / "missing", manifest, tmp_path / "wh"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"burnwatch: error: {tmp_path / 'missing'}: data folder not found"
    ]


def test_asset_checks_report_what_failed_and_pass_on_conserved_input(tmp_path: Path) -> None:
    import dagster as dg

    from pipelines.assets import ingest_checks as contract_assets
    from pipelines.assets.staging import stg_requests

    data = tmp_path / "data"
    build_clean(data)
    (data / "requests" / "tenant=bad" / f"date={DAYS[1]}" / "part-9.parquet").write_bytes(b"x")
    resource = resource_for(tmp_path, data, "wh")
    result = dg.materialize(
        [
            contract_assets.contract_report,
            contract_assets.quarantine,
            contract_assets.int_quarantine_counts,
            stg_requests,
            contract_assets.partitions_on_contract,
            contract_assets.quarantine_rows_valid,
            contract_assets.unique_request_keys,
            contract_assets.rows_meet_contract,
            contract_assets.conservation,
            contract_assets.sli_not_suppressed,
        ],
        resources={"burnwatch": resource},
        partition_key=DAYS[1].isoformat(),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["quarantine_rows_valid"].passed
    assert checks["unique_request_keys"].passed
    assert checks["rows_meet_contract"].passed
    assert checks["conservation"].passed
    assert not checks["partitions_on_contract"].passed
    assert checks["partitions_on_contract"].metadata["quarantined_files"].value == 1
    assert not checks["sli_not_suppressed"].passed


TS_TYPES = [
    (unit, tz)
    for unit in ("s", "ms", "us", "ns")
    for tz in (None, "UTC", "Etc/UTC", "America/New_York", "+05:30")
]


@pytest.mark.parametrize(("unit", "tz"), TS_TYPES, ids=[f"{u}-{z}" for u, z in TS_TYPES])
def test_every_timestamp_unit_and_zone_is_read_exactly_as_validate_says(
    unit: str, tz: str | None, tmp_path: Path
) -> None:
    # One verdict (footers.inspect_file) for validate and the run; the value the scan
    # reads is the instant in UTC microseconds, as pyarrow computes it independently.
    base = dt.datetime(2026, 10, 2, 13, 4, 5, 678912, tzinfo=dt.UTC)
    micros = int(base.timestamp()) * 1_000_000 + base.microsecond
    raw = {"s": micros // 10**6, "ms": micros // 1000, "us": micros, "ns": micros * 1000 + 345}
    values = pa.array([raw[unit]], pa.int64()).cast(pa.timestamp(unit, tz=tz))
    row = request_rows("bad", DAYS[1], 1, "ts")[0]
    table = pa.Table.from_pylist([row], schema=SCHEMA)
    table = table.set_column(table.schema.get_field_index("ts"), "ts", values)
    path = tmp_path / "requests" / "tenant=bad" / f"date={DAYS[1]}" / "part-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path)
    expected = (
        pq.ParquetFile(path).read()["ts"].cast(pa.timestamp("us", tz="UTC"), safe=False)[0].as_py()
    ).replace(tzinfo=None)

    [file] = discover_request_files(tmp_path)
    verdict = footers.inspect_file(file, NO_OVERRIDES)
    assert not verdict.quarantined, verdict.detail
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        [(read,)] = connection.execute(
            f"select ts from {read_files_sql([verdict], verdict.reads)}"
        ).fetchall()
    assert read == expected
    if unit != "us" or tz not in (None, "UTC", "Etc/UTC"):
        [finding] = [f for f in verdict.findings if f.column == "ts"]
        assert finding.action == "cast" and "to UTC microseconds" in finding.detail


def test_legacy_int96_timestamps_are_read_exactly(tmp_path: Path) -> None:
    row = request_rows("bad", DAYS[1], 1, "i96")[0]
    path = tmp_path / "requests" / "tenant=bad" / f"date={DAYS[1]}" / "part-0.parquet"
    path.parent.mkdir(parents=True)
    table = pa.Table.from_pylist([row], schema=SCHEMA)
    pq.write_table(table, path, use_deprecated_int96_timestamps=True)
    [file] = discover_request_files(tmp_path)
    verdict = footers.inspect_file(file, NO_OVERRIDES)
    assert not verdict.quarantined, verdict.detail
    with duckdb.connect() as connection:
        [(read,)] = connection.execute(
            f"select ts from {read_files_sql([verdict], verdict.reads)}"
        ).fetchall()
    assert read == row["ts"].replace(tzinfo=None)
