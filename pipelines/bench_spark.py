"""`make bench`: Spark local against DuckDB, on the same request files, in the same run.

It times, for each engine, with the pipeline's own functions (the Spark engine is
`burnwatch run --engine spark`'s: pipelines/engines/spark_connection.py):

- Spark's start-up (a local session with the models' functions defined), on its own;
- dedup + bucketing: sql/stg_requests.sql then sql/int_sli_buckets.sql over every
  day, partitions written to the lake (staging.build_stg_requests_days and
  build.build_int_sli_buckets_days), in input rows per second;
- the whole run (`run_pipeline`, every asset and check), in input rows per second,
  the already started session reused (start-up excluded: it is reported above).

Both engines' lakes are compared (int_sli_buckets and fct_alert_episodes, row for
row), so a fast wrong answer cannot pass unnoticed. On the Spark engine the request
scan (reading the files, the contract's timestamp units) is DuckDB's, written to
Parquet for Spark, and counted in Spark's time.

Spark on two shared cores cannot process the 20-million-row bench data in a
bounded time, so it runs on a subset generated for it (`--scale`, `--days`,
default about 220,000 requests over 7 days, 12 tenants), said in the output.

The cluster sizes at which Spark overtakes one DuckDB machine are a PROJECTION
from the measured rates: Spark's rate per core here times the cores of a
cluster, assuming linear scaling and no other cost (shuffles over a network,
object storage) - optimistic for Spark - against DuckDB's measured rate on this
machine. Written to `<out>/spark_results.json`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shutil
import time
from pathlib import Path

import duckdb

from pipelines.bench import _ensure_data
from pipelines.ingest import staging
from pipelines.ingest.files import discover_request_files
from pipelines.models import build
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake
from pipelines.warehouse.literal import path_list


def _prepare(resource: BurnwatchResource, days: list[dt.date]) -> None:
    """What int_sli_buckets reads besides stg_requests (as in pipelines/bench.py)."""
    build.build_slo_specs(resource)
    for day in days:
        staging.build_contract_report(resource, day)
        staging.build_quarantine(resource, day)
        build.build_int_quarantine_counts(resource, day)


def _same_rows(first: Path, second: Path, table: str) -> bool:
    """Whether two warehouses hold the same rows of `table` (multisets, values exact)."""
    a, b = (f"select * from {lake.scan_sql(warehouse, table)}" for warehouse in (first, second))
    with duckdb.connect() as connection:
        only = [
            connection.execute(f"select count(*) from ({x} except all {y})").fetchall()[0][0]
            for x, y in ((a, b), (b, a))
        ]
    return only == [0, 0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-data"))
    parser.add_argument("--scale", type=float, default=0.1, help="traffic multiplier")
    parser.add_argument("--tenants", type=int, default=12)
    parser.add_argument("--days", type=int, default=7, help="at least 7 (the sample's incidents)")
    parser.add_argument("--master", default="local[*]", help="Spark master (default local[*])")
    args = parser.parse_args()

    from pipelines.engines.spark_run import shared_session
    from pipelines.runner import run_pipeline

    root = args.out / "spark"
    data = _ensure_data(root, args.scale, args.tenants, args.days)
    manifest = data / "slos.yaml"
    request_files = discover_request_files(data)
    files = [str(file.path) for file in request_files]
    days = sorted({file.day for file in request_files})
    with duckdb.connect() as counter:
        row = counter.execute(f"select count(*) from read_parquet({path_list(files)})").fetchone()
    rows = int(row[0]) if row else 0
    cores = os.cpu_count() or 1
    print(
        f"subset for Spark: {rows:,} request rows in {len(files)} files, {len(days)} days, "
        f"{args.tenants} tenants (the full bench data, ~20 M rows, would not finish in a "
        f"bounded time on Spark here); {cores} cores",
        flush=True,
    )

    started = time.perf_counter()
    shared_session(args.master)
    startup = time.perf_counter() - started
    print(f"Spark start-up ({args.master}): {startup:.1f} s", flush=True)

    results: dict[str, dict[str, float]] = {}
    for engine in ("duckdb", "spark"):
        warehouse = root / f"warehouse-{engine}"
        shutil.rmtree(warehouse, ignore_errors=True)
        resource = BurnwatchResource(
            data_dir=str(data),
            manifest=str(manifest),
            warehouse=str(warehouse),
            engine=engine,
            spark_master=args.master if engine == "spark" else "",
        )
        _prepare(resource, days)
        started = time.perf_counter()
        staging.build_stg_requests_days(resource, days)
        build.build_int_sli_buckets_days(resource, days)
        step = time.perf_counter() - started
        print(f"{engine}: dedup + bucketing {step:.1f} s ({rows / step:,.0f} rows/s)", flush=True)
        whole_warehouse = root / f"run-{engine}"
        shutil.rmtree(whole_warehouse, ignore_errors=True)
        started = time.perf_counter()
        run_pipeline(
            data,
            manifest,
            whole_warehouse,
            engine=engine,
            spark_master=args.master if engine == "spark" else None,
            say=lambda _line: None,
        )
        whole = time.perf_counter() - started
        results[engine] = {
            "dedup_and_bucketing_seconds": step,
            "dedup_and_bucketing_rows_per_second": rows / step,
            "whole_run_seconds": whole,
            "whole_run_rows_per_second": rows / whole,
        }
        print(f"{engine}: whole run {whole:.1f} s ({rows / whole:,.0f} rows/s)", flush=True)

    equal = all(
        _same_rows(root / "run-duckdb", root / "run-spark", table)
        for table in ("int_sli_buckets", "fct_alert_episodes")
    ) and _same_rows(root / "warehouse-duckdb", root / "warehouse-spark", "int_sli_buckets")
    if not equal:
        raise SystemExit("the Spark and DuckDB lakes differ: the figures mean nothing")

    projection = {}
    for measure in ("dedup_and_bucketing_rows_per_second", "whole_run_rows_per_second"):
        per_core = results["spark"][measure] / cores
        needed = math.ceil(results["duckdb"][measure] / per_core)
        projection[measure] = {"spark_rows_per_second_per_core": per_core, "cores": needed}
        print(
            f"PROJECTION ({measure.removesuffix('_rows_per_second').replace('_', ' ')}): "
            f"Spark at {per_core:,.0f} rows/s per core overtakes one {cores}-core DuckDB "
            f"machine at about {needed} cores ({math.ceil(needed / 16)} executors of 16 "
            "cores), if it scaled linearly; not measured",
            flush=True,
        )
    report = {
        "rows": rows,
        "days": len(days),
        "tenants": args.tenants,
        "scale": args.scale,
        "cores": cores,
        "spark_master": args.master,
        "spark_startup_seconds": startup,
        "engines": results,
        "lakes_equal": equal,
        "projection": projection,
    }
    (args.out / "spark_results.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
