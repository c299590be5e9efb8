"""Bad input, one kind at a time: the run completes for the other tenants, what is wrong
lands in `quarantine` with a reason, and every input row is counted exactly once.

Each case writes a clean tenant (`acme`) and a tenant (`bad`) with one kind of
corruption, computes every day with the same step functions the assets call,
and then checks the books: input rows = kept requests' copies (stg_requests,
`replica_copies`) + quarantined rows (+ the rows of files too broken to count,
which the test knows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.ingest import staging
from pipelines.models import build
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake
from schemas.tables import arrow_schema
from tests.conftest import request

DAYS = [dt.date(2026, 10, 1), dt.date(2026, 10, 2), dt.date(2026, 10, 3)]
MANIFEST = """\
cohorts:
  standard:
    availability: {objective: 99.9}
    latency: {objective: 99.0, threshold_ms: 300}
tenants:
  - id: acme
    cohort: standard
    slos:
      - {name: api-availability, service: api, sli: availability}
  - id: bad
    cohort: standard
    slos:
      - {name: api-availability, service: api, sli: availability}
"""
SCHEMA = arrow_schema("raw_requests")


def request_rows(tenant: str, day: dt.date, count: int, prefix: str = "") -> list[dict]:
    """`count` good rows of one tenant, spread over the middle of the day."""
    start = dt.datetime.combine(day, dt.time(1), tzinfo=dt.UTC)
    return [
        request(
            f"{prefix}{tenant}-{day}-{i}",
            start + dt.timedelta(seconds=60 * i),
            tenant=tenant,
            status=500 if i % 50 == 0 else 200,
            latency=10.0 + i,
            operation=None,
        )
        for i in range(count)
    ]


def folder(data: Path, tenant: str, day: dt.date) -> Path:
    path = data / "requests" / f"tenant={tenant}" / f"date={day}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_rows(
    data: Path,
    tenant: str,
    day: dt.date,
    rows: list[dict],
    name: str = "part-0",
    schema: pa.Schema = SCHEMA,
) -> Path:
    path = folder(data, tenant, day) / f"{name}.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


@dataclass
class Case:
    """What a corruption case wrote beyond the clean data, and what must come of it."""

    reasons: set[str]
    # Rows the test wrote into files that cannot say how many rows they hold.
    uncountable_rows: int = 0
    whole_files: int = 0
    extra: dict[str, object] = field(default_factory=dict)


def _truncated(data: Path) -> Case:
    path = write_rows(data, "bad", DAYS[1], request_rows("bad", DAYS[1], 40), "part-1")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return Case({"unreadable_file"}, uncountable_rows=40, whole_files=1)


def _zero_bytes(data: Path) -> Case:
    (folder(data, "bad", DAYS[1]) / "part-1.parquet").write_bytes(b"")
    return Case({"unreadable_file"}, whole_files=1)


def _string_status(data: Path) -> Case:
    rows = [
        dict(row, status_code=str(row["status_code"]))
        for row in request_rows("bad", DAYS[1], 30, "s")
    ]
    schema = SCHEMA.set(SCHEMA.get_field_index("status_code"), pa.field("status_code", pa.string()))
    write_rows(data, "bad", DAYS[1], rows, "part-1", schema)
    return Case({"schema_drift"}, whole_files=1)


def _renamed_column(data: Path) -> Case:
    rows = [
        {("latency" if k == "latency_ms" else k): v for k, v in row.items()}
        for row in request_rows("bad", DAYS[1], 30, "n")
    ]
    schema = pa.schema(
        [pa.field("latency", pa.float64()) if f.name == "latency_ms" else f for f in SCHEMA]
    )
    write_rows(data, "bad", DAYS[1], rows, "part-1", schema)
    return Case({"schema_drift"}, whole_files=1)


def _nulls_everywhere(data: Path) -> Case:
    rows = request_rows("bad", DAYS[1], 8, "z")
    for row, column in zip(rows, SCHEMA.names, strict=True):
        row[column] = None
    write_rows(data, "bad", DAYS[1], rows, "part-1")
    # operation is nullable: that row is good.
    return Case(
        {f"null_{c}" for c in SCHEMA.names if c != "operation"}, extra={"quarantined_rows": 7}
    )


def _out_of_range(data: Path) -> Case:
    rows = request_rows("bad", DAYS[1], 6, "o")
    rows[0]["ts"] = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    rows[1]["ts"] = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    rows[2]["latency_ms"] = float("nan")
    rows[3]["latency_ms"] = -5.0
    rows[4]["status_code"] = 99
    rows[5]["request_id"] = ""
    write_rows(data, "bad", DAYS[1], rows, "part-1")
    return Case(
        {
            "ts_outside_folder_window",
            "latency_ms_out_of_range",
            "status_code_out_of_range",
            "empty_request_id",
        },
        extra={"quarantined_rows": 6},
    )


def _binary_ids(data: Path) -> Case:
    rows = [
        dict(row, request_id=row["request_id"].encode())
        for row in request_rows("bad", DAYS[1], 20, "b")
    ]
    schema = SCHEMA.set(0, pa.field("request_id", pa.binary()))
    write_rows(data, "bad", DAYS[1], rows, "part-1", schema)
    return Case({"schema_drift"}, whole_files=1)


def _invalid_utf8(data: Path) -> Case:
    rows = request_rows("bad", DAYS[1], 20, "u")
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    ids = [row["request_id"].encode() for row in rows]
    ids[3] = b"\xff\xfe-broken"
    table = table.set_column(0, "request_id", pa.array(ids, pa.binary()).view(pa.string()))
    pq.write_table(table, folder(data, "bad", DAYS[1]) / "part-1.parquet")
    return Case({"undecodable_data"}, whole_files=1)


def _tenant_mismatch(data: Path) -> Case:
    write_rows(data, "bad", DAYS[1], request_rows("acme", DAYS[1], 10, "m"), "part-1")
    return Case({"tenant_mismatch"}, extra={"quarantined_rows": 10})


def _widened_types(data: Path) -> Case:
    rows = request_rows("bad", DAYS[1], 10, "w")
    schema = SCHEMA.set(SCHEMA.get_field_index("status_code"), pa.field("status_code", pa.int64()))
    schema = schema.set(schema.get_field_index("latency_ms"), pa.field("latency_ms", pa.float32()))
    write_rows(data, "bad", DAYS[1], rows, "part-1", schema)
    return Case(set(), extra={"cast": True})


CASES: dict[str, Callable[[Path], Case]] = {
    "truncated_file": _truncated,
    "zero_byte_file": _zero_bytes,
    "status_code_as_string": _string_status,
    "renamed_required_column": _renamed_column,
    "nulls_in_every_column": _nulls_everywhere,
    "values_out_of_range": _out_of_range,
    "ids_as_binary": _binary_ids,
    "ids_not_valid_utf8": _invalid_utf8,
    "tenant_folder_mismatch": _tenant_mismatch,
    "safely_widened_types": _widened_types,
}


def build_clean(data: Path) -> int:
    """Clean traffic for both tenants on every day; returns the row count."""
    count = 0
    for day in DAYS:
        for tenant in ("acme", "bad"):
            rows = request_rows(tenant, day, 200)
            write_rows(data, tenant, day, rows)
            count += len(rows)
    (data / "slos.yaml").write_text(MANIFEST)
    return count


def compute(resource: BurnwatchResource) -> None:
    """Every staging and quarantine table for every day, as a run does, in DAG order
    (the quarantine tables day by day, the dedup over all days in one scan)."""
    build.build_slo_specs(resource)
    for day in DAYS:
        staging.build_contract_report(resource, day)
        staging.build_quarantine(resource, day)
        build.build_int_quarantine_counts(resource, day)
    staging.build_stg_requests_days(resource, DAYS)
    build.build_int_sli_buckets_days(resource, DAYS)


def resource_for(tmp_path: Path, data: Path, name: str) -> BurnwatchResource:
    return BurnwatchResource(
        data_dir=str(data), manifest=str(data / "slos.yaml"), warehouse=str(tmp_path / name)
    )


def input_rows(data: Path) -> int:
    """Rows in every readable input file (by reading them, not trusting any footer logic)."""
    total = 0
    for path in sorted((data / "requests").rglob("*.parquet")):
        try:
            total += pq.read_metadata(path).num_rows
        except Exception:
            continue
    return total


@pytest.fixture(scope="module")
def clean_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("clean")
    build_clean(base / "data")
    resource = resource_for(base, base / "data", "wh")
    compute(resource)
    return base / "wh"


@pytest.mark.parametrize("name", sorted(CASES))
def test_corrupt_input_is_quarantined_and_every_row_is_counted_once(
    name: str, tmp_path: Path, clean_warehouse: Path
) -> None:
    data = tmp_path / "data"
    build_clean(data)
    case = CASES[name](data)
    resource = resource_for(tmp_path, data, "wh")
    compute(resource)
    warehouse = resource.warehouse_path

    stg = lake.read_table(warehouse, "stg_requests")
    quarantine = lake.read_table(warehouse, "quarantine")

    # The clean tenant is untouched: the same requests as in a clean run.
    clean = lake.read_table(clean_warehouse, "stg_requests")
    assert stg.filter(pl.col("tenant_id") == "acme").equals(
        clean.filter(pl.col("tenant_id") == "acme")
    )
    # What is wrong is quarantined with its reason, the file and (for rows) the row number.
    assert set(quarantine["reason"]) == case.reasons
    assert quarantine.filter(pl.col("row_number").is_null()).height == case.whole_files
    assert (quarantine["file"].str.contains("tenant=bad")).all()
    if "quarantined_rows" in case.extra:
        assert (
            quarantine.filter(pl.col("row_number").is_not_null()).height
            == case.extra["quarantined_rows"]
        )
    # Conservation: each input row is a kept request's copy or quarantined, exactly once.
    counted = int(stg["replica_copies"].sum()) + int(quarantine["row_count"].fill_null(0).sum())
    assert counted == input_rows(data)
    # The quarantine's own books agree with the footers, tenant-day by tenant-day.
    counts = lake.read_table(warehouse, "int_quarantine_counts")
    assert counts.height == 2 * len(DAYS)
    if case.uncountable_rows or (case.whole_files and quarantine["row_count"].null_count()):
        decided = counts.filter((pl.col("tenant_id") == "bad") & (pl.col("folder_day") == DAYS[1]))
        assert decided["sli_status"].to_list() == ["no_data"]


def test_drifted_but_safe_types_are_cast_and_reported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_clean(data)
    _widened_types(data)
    resource = resource_for(tmp_path, data, "wh")
    compute(resource)
    report = lake.read_table(resource.warehouse_path, "contract_report")
    cast = report.filter(pl.col("action") == "cast")
    assert set(cast["column_name"]) == {"status_code", "latency_ms"}
    assert set(cast["status"]) == {"drifted"}
    stg = lake.read_table(resource.warehouse_path, "stg_requests")
    assert stg.filter(pl.col("request_id").str.starts_with("wbad")).height == 10


def test_duplicates_with_conflicting_statuses_keep_the_earliest_then_smallest_replica(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    build_clean(data)
    at = dt.datetime.combine(DAYS[1], dt.time(12), tzinfo=dt.UTC)
    base = request_rows("bad", DAYS[1], 1, "d")[0]
    copies = [
        dict(base, ts=at + dt.timedelta(seconds=1), replica="r0", status_code=200),
        dict(base, ts=at, replica="r2", status_code=503),
        dict(base, ts=at, replica="r10", status_code=200),  # "r10" < "r2"
    ]
    write_rows(data, "bad", DAYS[1], copies[:2], "part-1")
    write_rows(data, "bad", DAYS[2], copies[2:], "part-1")  # a late copy, next folder
    resource = resource_for(tmp_path, data, "wh")
    compute(resource)
    stg = lake.read_table(resource.warehouse_path, "stg_requests")
    kept = stg.filter(pl.col("request_id") == base["request_id"])
    assert kept.select("replica", "status_code", "replica_copies").rows() == [("r10", 200, 3)]
    assert lake.read_table(resource.warehouse_path, "quarantine").is_empty()


def test_a_tenant_day_above_the_quarantine_share_has_no_buckets(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_clean(data)
    rows = [dict(row, latency_ms=-1.0) for row in request_rows("bad", DAYS[1], 20, "q")]
    write_rows(data, "bad", DAYS[1], rows, "part-1")  # 20 of 220 rows: 9% > 5%
    resource = resource_for(tmp_path, data, "wh")
    compute(resource)
    counts = lake.read_table(resource.warehouse_path, "int_quarantine_counts")
    decision = counts.filter((pl.col("tenant_id") == "bad") & (pl.col("folder_day") == DAYS[1]))
    assert decision.select("input_rows", "quarantined_rows", "sli_status").rows() == [
        (220, 20, "no_data")
    ]
    buckets = lake.read_table(resource.warehouse_path, "int_sli_buckets")
    day_of = pl.col("bucket_start").dt.date()
    assert buckets.filter((pl.col("tenant_id") == "bad") & (day_of == DAYS[1])).is_empty()
    assert not buckets.filter((pl.col("tenant_id") == "acme") & (day_of == DAYS[1])).is_empty()
    assert not buckets.filter((pl.col("tenant_id") == "bad") & (day_of == DAYS[2])).is_empty()

    lenient = resource.model_copy(
        update={"max_quarantined_share": 0.5, "warehouse": str(tmp_path / "wh2")}
    )
    compute(lenient)
    buckets = lake.read_table(lenient.warehouse_path, "int_sli_buckets")
    assert not buckets.filter((pl.col("tenant_id") == "bad") & (day_of == DAYS[1])).is_empty()


def test_partition_like_folders_above_the_data_do_not_confuse_the_folder_rules(
    tmp_path: Path,
) -> None:
    # Each row's folder (for the tenant and ts-window rules) is read from its file's
    # path; only the last tenant=/date= folders count, not look-alikes higher up.
    data = tmp_path / "tenant=bad" / "date=2020-01-01" / "data"
    rows = build_clean(data)
    resource = resource_for(tmp_path, data, "wh")
    compute(resource)
    stg = lake.read_table(resource.warehouse_path, "stg_requests")
    assert lake.read_table(resource.warehouse_path, "quarantine").is_empty()
    assert stg.height == rows == input_rows(data)
    assert sorted(stg["tenant_id"].unique()) == ["acme", "bad"]
