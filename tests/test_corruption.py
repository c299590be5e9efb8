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
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from cli_helpers import run_args, run_cli

from pipelines.assets import ingest_checks
from pipelines.assets.ingest_checks import conservation_frame
from pipelines.ingest import ledger, staging
from pipelines.ingest.files import discover_request_files, inventory_requests
from pipelines.ingest.quarantine import quarantine_warnings
from pipelines.models import build
from pipelines.notify.events import read_change_events
from pipelines.resources import BurnwatchResource
from pipelines.runner import run_pipeline
from pipelines.validation import render, validate_all
from pipelines.warehouse import lake
from schemas.errors import BurnwatchInputError
from schemas.manifest import load_manifest
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
    # The pipeline's blocking check agrees (whole files included).
    for day in DAYS:
        assert (conservation_frame(resource, day)["unaccounted_rows"] == 0).all()
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


# --- Hostile input (issue 15): a table of cases, each held to an independent oracle --------
#
# Each case writes the clean data plus one hostile twist, and states what must come of
# it: the exit `burnwatch validate` gives, the exit `burnwatch run` gives (computed from
# the same warnings the run prints), a fragment of the message that names the problem,
# the quarantine reasons, and how many rows sit in entries that are not read (named in
# a warning). The books are kept by `raw_books`, which reads the raw files with pyarrow
# and its own idea of the layout, never with the pipeline's discovery or footers.


def write_file(path: Path, table: pa.Table) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def rows_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def with_ts_type(table: pa.Table, unit: str, tz: str | None, extra_ns: int = 0) -> pa.Table:
    """`table` with ts stored as timestamp[unit, tz] (plus `extra_ns` nanoseconds when ns)."""
    micros = table["ts"].cast(pa.int64())
    if unit == "ns":
        values = pc.add(pc.multiply(micros, 1000), extra_ns)
    else:
        values = pc.divide(micros, {"s": 1_000_000, "ms": 1000, "us": 1}[unit])
    index = table.schema.get_field_index("ts")
    return table.set_column(index, "ts", values.cast(pa.timestamp(unit, tz=tz)))


@dataclass(frozen=True)
class Hostile:
    """One hostile case: what it writes, and what must come of it."""

    name: str
    write: Callable[[Path], None]
    validate_exit: int
    run_exit: int
    fragment: str
    reasons: frozenset[str] = frozenset()
    # Rows in files the layout does not read (bad folder, unknown extension): named.
    skipped_rows: int = 0
    manifest: str = MANIFEST


def _star_tenant(data: Path) -> None:
    # A hostile tenant folder named like a pattern, holding a copy of acme's rows.
    rows = request_rows("acme", DAYS[1], 10, "star")
    write_file(
        data / "requests" / "tenant=*" / f"date={DAYS[1]}" / "part-0.parquet", rows_table(rows)
    )


def _question_mark_file(data: Path) -> None:
    rows = request_rows("bad", DAYS[1], 12, "q")
    write_file(folder(data, "bad", DAYS[1]) / "part-?.parquet", rows_table(rows))


def _bracket_brace_quote_names(data: Path) -> None:
    for index, name in enumerate(["part-[0].parquet", "part-{0,1}.parquet", "it's a part.parquet"]):
        rows = request_rows("bad", DAYS[1], 5, f"n{index}")
        write_file(folder(data, "bad", DAYS[1]) / name, rows_table(rows))


def _ts_file(unit: str, tz: str | None) -> Callable[[Path], None]:
    def write(data: Path) -> None:
        table = rows_table(request_rows("bad", DAYS[1], 15, f"t{unit}"))
        write_file(
            folder(data, "bad", DAYS[1]) / "part-1.parquet",
            with_ts_type(table, unit, tz, extra_ns=789),
        )

    return write


def _row_before_first_day(data: Path) -> None:
    rows = request_rows("bad", DAYS[0], 4, "early")
    rows[0]["ts"] = dt.datetime.combine(DAYS[0], dt.time(), tzinfo=dt.UTC) - dt.timedelta(hours=2)
    write_rows(data, "bad", DAYS[0], rows, "part-1")


def _row_after_last_day(data: Path) -> None:
    rows = request_rows("bad", DAYS[-1], 4, "late")
    midnight = dt.datetime.combine(DAYS[-1], dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=1)
    rows[0]["ts"] = midnight + dt.timedelta(minutes=3)  # within the 5-minute skew
    write_rows(data, "bad", DAYS[-1], rows, "part-1")


def _upper_case_extension(data: Path) -> None:
    write_file(
        folder(data, "bad", DAYS[1]) / "part-1.PARQUET",
        rows_table(request_rows("bad", DAYS[1], 9, "up")),
    )


def _nested_hour_folder(data: Path) -> None:
    write_file(
        folder(data, "bad", DAYS[1]) / "hour=00" / "x.parquet",
        rows_table(request_rows("bad", DAYS[1], 7, "hour")),
    )


def _nested_folder_named_like_a_column(data: Path) -> None:
    # Read as hive partitions, this folder would turn every status into 503.
    write_file(
        folder(data, "bad", DAYS[1]) / "status_code=503" / "x.parquet",
        rows_table(request_rows("bad", DAYS[1], 7, "hive")),
    )


def _malformed_date_folder(data: Path) -> None:
    write_file(
        data / "requests" / "tenant=bad" / "date=2026-10-4" / "part-0.parquet",
        rows_table(request_rows("bad", dt.date(2026, 10, 4), 6, "d4")),
    )


def _impossible_date_folder(data: Path) -> None:
    write_file(
        data / "requests" / "tenant=bad" / "date=2026-02-30" / "part-0.parquet",
        rows_table(request_rows("bad", DAYS[1], 3, "d30")),
    )


def _unknown_extension(data: Path) -> None:
    write_file(
        folder(data, "bad", DAYS[1]) / "part-1.parquet.tmp",
        rows_table(request_rows("bad", DAYS[1], 5, "tmp")),
    )
    (folder(data, "bad", DAYS[1]) / "notes.csv").write_text("not logs\n")


def _stray_entry_under_requests(data: Path) -> None:
    (data / "requests" / "README.txt").write_text("hello\n")
    write_file(
        data / "requests" / "acme" / f"date={DAYS[1]}" / "part-0.parquet",
        rows_table(request_rows("acme", DAYS[1], 4, "nofolder")),
    )


def _tenant_without_manifest_entry(data: Path) -> None:
    for day in DAYS:
        write_rows(data, "globex", day, request_rows("globex", day, 20))


def _events_with_bom(data: Path) -> None:
    events = data / "events"
    events.mkdir()
    (events / "changes.csv").write_bytes(
        b"\xef\xbb\xbfts,tenant_id,service,kind,description\n2026-10-02T09:21:00Z,bad,api,deploy,v2\n"
    )


def _events_bad_kind(data: Path) -> None:
    events = data / "events"
    events.mkdir()
    (events / "changes.csv").write_text(
        "ts,tenant_id,service,kind,description\n2026-10-02T09:21:00Z,bad,api,deploi,v2\n"
    )


def _nothing(data: Path) -> None:
    pass


MANIFEST_SILENT_TENANT = MANIFEST + (
    "  - id: initech\n    cohort: standard\n    slos:\n"
    "      - {name: api-availability, service: api, sli: availability}\n"
)
MANIFEST_NEWLINE_ID = MANIFEST + (
    '  - id: "globex\\n"\n    cohort: standard\n    slos:\n'
    "      - {name: api-availability, service: api, sli: availability}\n"
)

HOSTILE = [
    Hostile(
        "tenant_folder_named_star",
        _star_tenant,
        0,
        3,
        "tenant '*' has logs but no entry",
        frozenset({"tenant_mismatch"}),
    ),
    Hostile("file_named_part_question_mark", _question_mark_file, 0, 0, "7 file(s)"),
    Hostile("brackets_braces_quotes_in_names", _bracket_brace_quote_names, 0, 0, "9 file(s)"),
    Hostile(
        "zoned_ns_timestamps_pandas_default",
        _ts_file("ns", "UTC"),
        0,
        0,
        "timestamp[ns, tz=UTC] where TIMESTAMP is expected (converted to UTC microseconds",
    ),
    Hostile(
        "ns_timestamps_other_zone",
        _ts_file("ns", "America/New_York"),
        0,
        0,
        "converted from zone America/New_York to UTC microseconds",
    ),
    Hostile("naive_ns_timestamps", _ts_file("ns", None), 0, 0, "timestamp[ns]"),
    Hostile("zoned_ms_timestamps", _ts_file("ms", "+05:30"), 0, 0, "converted from zone +05:30"),
    Hostile("seconds_timestamps", _ts_file("s", None), 0, 0, "timestamp[ms]"),
    Hostile(
        "row_on_the_day_before_the_first",
        _row_before_first_day,
        0,
        3,
        "footer statistics show ts on 2026-09-30, a day no run computes",
        frozenset({"outside_computed_range"}),
    ),
    Hostile(
        "row_within_skew_after_the_last",
        _row_after_last_day,
        0,
        3,
        "footer statistics show ts on 2026-10-04, a day no run computes",
        frozenset({"outside_computed_range"}),
    ),
    Hostile("upper_case_extension", _upper_case_extension, 0, 0, "7 file(s)"),
    Hostile("nested_hour_folder", _nested_hour_folder, 0, 0, "7 file(s)"),
    Hostile(
        "nested_folder_named_like_a_column", _nested_folder_named_like_a_column, 0, 0, "7 file(s)"
    ),
    Hostile(
        "malformed_date_folder",
        _malformed_date_folder,
        0,
        3,
        "date=2026-10-4: not read: folder name is not date=YYYY-MM-DD",
        skipped_rows=6,
    ),
    Hostile(
        "impossible_date_folder",
        _impossible_date_folder,
        0,
        3,
        "2026-02-30 is not a valid date",
        skipped_rows=3,
    ),
    Hostile(
        "unknown_extensions",
        _unknown_extension,
        0,
        3,
        "part-1.parquet.tmp: not read",
        skipped_rows=5,
    ),
    Hostile(
        "stray_entries_under_requests",
        _stray_entry_under_requests,
        0,
        3,
        "requests/acme: not read: not a tenant=<id> folder",
        skipped_rows=4,
    ),
    Hostile(
        "tenant_logs_without_manifest_entry",
        _tenant_without_manifest_entry,
        0,
        3,
        "tenant 'globex' has logs but no entry in the manifest",
    ),
    Hostile(
        "manifest_tenant_without_logs",
        _nothing,
        0,
        0,
        "manifest tenant 'initech' has no logs",
        manifest=MANIFEST_SILENT_TENANT,
    ),
    Hostile(
        "tenant_id_with_trailing_newline",
        _nothing,
        1,
        2,
        "tenant id 'globex\\n' must be",
        manifest=MANIFEST_NEWLINE_ID,
    ),
    Hostile("events_csv_with_utf8_bom", _events_with_bom, 0, 0, "1 change event(s)"),
    Hostile("events_csv_bad_kind", _events_bad_kind, 1, 2, "kind 'deploi' is not one of"),
]


def raw_books(data: Path) -> tuple[pl.DataFrame, list[Path]]:
    """Every row of every file the layout reads, by pyarrow alone, and the files it does
    not read. Its own reading of the layout: `tenant=<id>/date=<valid ISO day>/` at any
    depth below, a name ending in .parquet in any case."""
    root = data / "requests"
    frames, unread = [], []
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            parts = path.relative_to(root).parts
            tenant = parts[0][len("tenant=") :] if parts[0].startswith("tenant=") else None
            try:
                day = dt.date.fromisoformat(parts[1][len("date=") :])
                day_ok = len(parts) > 2 and parts[1] == f"date={day}"
            except (ValueError, IndexError):
                day_ok = False
            if tenant is None or not day_ok or not name.lower().endswith(".parquet"):
                unread.append(path)
                continue
            try:
                table = pq.ParquetFile(path).read()
            except Exception:
                continue  # unreadable: the older cases above know how many rows they hold
            ts = table["ts"].cast(pa.timestamp("us", tz="UTC"), safe=False)
            frames.append(
                pl.DataFrame(
                    {
                        "folder_tenant": [tenant] * table.num_rows,
                        "folder_day": [day] * table.num_rows,
                        "file": [str(path)] * table.num_rows,
                        "row_number": list(range(table.num_rows)),
                        "tenant_id": table["tenant_id"].to_pylist(),
                        "request_id": [str(v) for v in table["request_id"].to_pylist()],
                        "status_code": [str(v) for v in table["status_code"].to_pylist()],
                        "ts": pl.Series(ts.to_pylist()).dt.replace_time_zone(None),
                    },
                    schema_overrides={"ts": pl.Datetime("us")},
                )
            )
    return pl.concat(frames), sorted(unread)


def hostile_messages(resource: BurnwatchResource, data: Path) -> tuple[int, int, str]:
    """(validate's exit, run's exit, every line both print): validate in process, then the
    run's start checks (which raise before anything is written: exit 2), or the tables
    computed and the run's warnings and exit as `burnwatch run` derives them."""

    outcomes = validate_all(data / "slos.yaml", data)
    validate_exit = 0 if all(o.ok for o in outcomes) else 1
    text = render(outcomes)
    try:
        tenants = [t.id for t in load_manifest(data / "slos.yaml").tenants]
        read_change_events(data)
    except BurnwatchInputError as error:
        # The run stops at its start checks: prove it writes nothing.
        with pytest.raises(BurnwatchInputError):
            run_pipeline(data, data / "slos.yaml", resource.warehouse_path.parent / "never")
        assert not (resource.warehouse_path.parent / "never").exists()
        return validate_exit, 2, text + "\n" + str(error)
    compute(resource)
    inventory = inventory_requests(data)
    uncounted = inventory.uncounted_warnings(tenants)
    notes = inventory.tenant_warnings(tenants)[1]
    quarantined = quarantine_warnings(resource.warehouse_path, DAYS[0], DAYS[-1])
    run_exit = 3 if uncounted or quarantined else 0
    return validate_exit, run_exit, "\n".join([text, *notes, *uncounted, *quarantined])


@pytest.mark.parametrize("case", HOSTILE, ids=[case.name for case in HOSTILE])
def test_hostile_input_is_read_quarantined_or_named_and_every_row_is_accounted_for(
    case: Hostile, tmp_path: Path, clean_warehouse: Path
) -> None:
    data = tmp_path / "data"
    build_clean(data)
    (data / "slos.yaml").write_text(case.manifest)
    case.write(data)
    resource = resource_for(tmp_path, data, "wh")

    validate_exit, run_exit, messages = hostile_messages(resource, data)
    assert case.fragment in messages, messages
    assert (validate_exit, run_exit) == (case.validate_exit, case.run_exit), messages
    if run_exit == 2:
        return
    warehouse = resource.warehouse_path
    stg = lake.read_table(warehouse, "stg_requests")
    quarantine = lake.read_table(warehouse, "quarantine")
    assert set(quarantine["reason"]) == case.reasons

    # No tenant's rows are read through another tenant's folder, and the clean tenant
    # is exactly as in a clean run.
    for tenant, file in quarantine.select("tenant_id", "file").rows():
        assert Path(file).relative_to(data / "requests").parts[0] == f"tenant={tenant}"
    clean = lake.read_table(clean_warehouse, "stg_requests")
    acme = pl.col("tenant_id") == "acme"
    assert stg.filter(acme).equals(clean.filter(acme))

    # The books, from the raw files: every row of a read file is quarantined or lands,
    # and every landed row is counted, tenant by tenant and day by day.
    raw, unread = raw_books(data)
    unread_rows = sum(
        pq.ParquetFile(p).metadata.num_rows
        for p in unread
        if p.suffix != ".csv" and p.name != "README.txt"
    )
    assert unread_rows == case.skipped_rows
    for path in unread:
        # Named in a warning: the entry itself, or the folder above it that is not read.
        named = [path, *path.parents]
        assert any(f"{entry}: not read" in messages for entry in named), (path, messages)
    by_row = quarantine.filter(pl.col("row_number").is_not_null()).select(
        "file", pl.col("row_number").cast(pl.Int64)
    )
    whole = quarantine.filter(pl.col("row_number").is_null())["file"]
    landed = raw.filter(~pl.col("file").is_in(whole.implode())).join(
        by_row, on=["file", "row_number"], how="anti"
    )
    books = (
        raw.group_by("folder_tenant", "folder_day")
        .agg(pl.len().alias("read"))
        .join(
            quarantine.group_by("tenant_id", "folder_day").agg(
                pl.col("row_count").sum().alias("quarantined")
            ),
            left_on=["folder_tenant", "folder_day"],
            right_on=["tenant_id", "folder_day"],
            how="left",
        )
        .join(
            landed.group_by("folder_tenant", "folder_day").agg(pl.len().alias("landed")),
            on=["folder_tenant", "folder_day"],
            how="left",
        )
        .fill_null(0)
    )
    assert (books["read"] == books["quarantined"] + books["landed"]).all(), books
    assert landed["ts"].dt.date().is_between(DAYS[0], DAYS[-1]).all()
    expected = (
        landed.group_by("tenant_id", pl.col("ts").dt.date().alias("day"))
        .agg(pl.len().alias("rows"))
        .sort("tenant_id", "day")
    )
    counted = (
        stg.group_by("tenant_id", pl.col("ts").dt.date().alias("day"))
        .agg(pl.col("replica_copies").sum().cast(pl.UInt32).alias("rows"))
        .sort("tenant_id", "day")
    )
    assert counted.equals(expected), (counted, expected)
    # The same requests with the same values (no case here logs a request twice).
    assert set(
        zip(landed["tenant_id"], landed["request_id"], landed["status_code"], strict=True)
    ) == set(
        zip(stg["tenant_id"], stg["request_id"], stg["status_code"].cast(pl.String), strict=True)
    )
    # The pipeline's own blocking check agrees, tenant-day by tenant-day.
    for day in DAYS:
        assert (conservation_frame(resource, day)["unaccounted_rows"] == 0).all()


def test_burnwatch_run_on_hostile_input_completes_names_each_problem_and_exits_3(
    tmp_path: Path,
) -> None:
    # The table above derives the run's exit from its warnings; this is the command
    # itself, end to end, on several of those cases at once.
    data = tmp_path / "data"
    build_clean(data)
    for write in (_star_tenant, _question_mark_file, _ts_file("ns", "UTC"), _row_after_last_day):
        write(data)
    _malformed_date_folder(data)
    done = run_cli(*run_args(data, data / "slos.yaml", tmp_path / "wh"))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "dagster" not in done.stderr.lower()
    for fragment in (
        "tenant '*' has logs but no entry in the manifest",
        "date=2026-10-4: not read",
        "outside_computed_range",
        "tenant_mismatch",
    ):
        assert fragment in done.stderr, done.stderr
    stg = lake.read_table(tmp_path / "wh", "stg_requests")
    # Each of bad's rows once (the ns file and part-? included), none of acme's twice.
    assert stg.filter(pl.col("tenant_id") == "bad")["replica_copies"].sum() == 3 * 200 + 12 + 15 + 3
    assert stg.filter(pl.col("tenant_id") == "acme").height == 3 * 200
    assert stg.filter(pl.col("request_id").str.starts_with("tns")).height == 15


def test_a_failed_conservation_check_names_the_tenant_and_the_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The books never fail on real input (that is the point); a row lost on purpose
    # shows what the user reads when they do.
    data = tmp_path / "data"
    build_clean(data)
    real = ingest_checks.conservation_frame
    lost = (pl.col("tenant_id") == "bad") & (pl.col("folder_day") == DAYS[1])

    def one_row_lost(burnwatch: BurnwatchResource, day: dt.date) -> pl.DataFrame:
        frame = real(burnwatch, day)
        return frame.with_columns(
            pl.when(lost).then(pl.col("unaccounted_rows") + 1).otherwise(pl.col("unaccounted_rows"))
        )

    monkeypatch.setattr(ingest_checks, "conservation_frame", one_row_lost)
    with pytest.raises(BurnwatchInputError, match=rf"conservation.*tenant bad, day {DAYS[1]}"):
        run_pipeline(data, data / "slos.yaml", tmp_path / "wh")


def test_a_cycle_whose_new_folder_extends_the_range_recomputes_the_old_last_day(
    tmp_path: Path,
) -> None:
    # The old last day's quarantine held its rows dated past it (outside_computed_range);
    # once the next folder exists those rows land in a day, so that day is recomputed.
    data = tmp_path / "data"
    build_clean(data)
    files = discover_request_files(data)
    ledger.commit(data, tmp_path / "wh", files, "run-1", ledger.now_ns() + 10**12)
    next_day = DAYS[-1] + dt.timedelta(days=1)
    write_rows(data, "bad", next_day, request_rows("bad", next_day, 5, "next"))
    plan = ledger.plan_cycle(data, tmp_path / "wh", discover_request_files(data))
    assert plan.days == (DAYS[-1], next_day)
