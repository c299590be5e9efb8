"""`make bench`: time the dedup + bucketing step against DuckDB's own floor.

On the same files, in the same run, with the same DuckDB settings, it times:

- the floor: `select tenant_id, request_id, min(ts) ... group by all` into a
  temp table, the hash aggregate of the request keys that any dedup must at
  least do;
- Burnwatch's compute, like for like with the floor: sql/stg_requests.sql then
  sql/int_sli_buckets.sql over every day, into DuckDB temp tables (the same
  functions the pipeline calls, with the contract's row checks in the scan);
- Burnwatch's step as the pipeline runs it: the same, plus every day's
  partitions of both tables written to the lake as ordered Parquet;
- a straightforward polars implementation of the same step, writing the same
  two tables, as the yardstick for the whole step;
- parts of Burnwatch's compute on their own, for a lower bound. Whatever the
  dedup does, the step needs a key aggregate (the floor), the bucket aggregate
  (over another key, so it cannot share the floor's) and the deduplicated rows
  stored once. The floor already stores three of their nine columns, so the
  bound counts only the rest: copying all nine columns of the deduplicated
  rows (already in memory) minus copying those three. Floor + bucketing alone
  + that difference is what the compute cannot get below in DuckDB here.

Each is run `--repeat` times and the fastest kept. Figures are ratios, so they
mean the same on a faster or slower machine. Both implementations' bucket
totals are compared, so a fast wrong answer cannot pass unnoticed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from pipelines.ingest import staging
from pipelines.ingest.files import discover_request_files
from pipelines.models import build
from pipelines.resources import BurnwatchResource
from pipelines.sample.generator import generate_sample
from pipelines.warehouse import lake, session
from pipelines.warehouse.literal import path_list
from schemas.manifest import load_manifest


def _fastest(label: str, repeat: int, action: Callable[[], object]) -> float:
    timings = []
    for attempt in range(1, repeat + 1):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
        print(f"  {label}: run {attempt}/{repeat}: {timings[-1]:.2f} s", flush=True)
    return min(timings)


def _ensure_data(out: Path, scale: float, tenants: int, days: int) -> Path:
    data = out / "data"
    marker = data / ".bench-params.json"
    params = {"scale": scale, "tenants": tenants, "days": days}
    if marker.is_file() and json.loads(marker.read_text()) == params:
        return data
    shutil.rmtree(data, ignore_errors=True)
    print(f"generating sample traffic (scale {scale}) into {data} ...", flush=True)
    generate_sample(
        data,
        tenants=tenants,
        days=days,
        scale=scale,
        progress=lambda line: print(f"  {line}", flush=True),
    )
    marker.write_text(json.dumps(params))
    return data


def floor_query(files: list[str]) -> str:
    return (
        "create or replace temp table floor_keys as "
        f"select tenant_id, request_id, min(ts) from read_parquet({path_list(files)}) group by all"
    )


def polars_dedup_and_bucket(files: list[str], manifest: Path, out: Path) -> pl.DataFrame:
    """The same step written plainly in polars: sort copies, keep the first, bucket.

    The deduplicated requests are collected once, then written and bucketed;
    returns the buckets (also written).
    """
    specs = build.slo_specs_frame(load_manifest(manifest))
    requests = (
        pl.scan_parquet(files)
        .with_columns(pl.col("ts").dt.replace_time_zone(None))
        .sort(
            [
                "tenant_id",
                "request_id",
                "ts",
                "replica",
                "status_code",
                "latency_ms",
                "service",
                "operation",
            ],
            nulls_last=False,
        )
        .group_by(["tenant_id", "request_id"], maintain_order=True)
        .agg(pl.all().first(), pl.len().alias("replica_copies"))
        .collect()
    )
    buckets = (
        requests.lazy()
        .join(specs.lazy(), on=["tenant_id", "service"])
        .with_columns(
            pl.col("ts").dt.truncate("5m").alias("bucket_start"),
            pl.when(pl.col("sli") == "availability")
            .then(pl.col("status_code") >= 500)
            .otherwise(pl.col("latency_ms") > pl.col("threshold_ms"))
            .alias("is_bad"),
        )
        .group_by(["tenant_id", "slo_name", "bucket_start"])
        .agg(
            pl.len().alias("total"),
            pl.col("is_bad").sum().alias("bad"),
            *[
                pl.col("latency_ms").quantile(q, interpolation="lower").alias(f"p{int(q * 100)}")
                for q in (0.5, 0.9, 0.95, 0.99)
            ],
        )
        .sort(["tenant_id", "slo_name", "bucket_start"])
        .collect()
    )
    out.mkdir(parents=True, exist_ok=True)
    requests.sort(["tenant_id", "ts", "request_id"]).write_parquet(out / "stg_requests.parquet")
    buckets.write_parquet(out / "int_sli_buckets.parquet")
    return buckets


def _bucket_totals(frame: pl.DataFrame) -> tuple[int, int, int]:
    """(buckets, requests, bad requests): what both implementations must agree on."""
    return frame.height, int(frame["total"].sum()), int(frame["bad"].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-data"))
    parser.add_argument(
        "--scale",
        type=float,
        default=4.5,
        help="traffic multiplier; 4.5 gives about 20 million requests",
    )
    parser.add_argument("--tenants", type=int, default=12)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads; 0: all cores")
    args = parser.parse_args()

    data = _ensure_data(args.out, args.scale, args.tenants, args.days)
    manifest = data / "slos.yaml"
    request_files = discover_request_files(data)
    files = [str(file.path) for file in request_files]
    days = sorted({file.day for file in request_files})
    counter = session.connect(threads=args.threads or None)
    row = counter.execute(f"select count(*) from read_parquet({path_list(files)})").fetchone()
    rows = int(row[0]) if row else 0
    print(f"{rows:,} request rows in {len(files)} files, {len(days)} days", flush=True)

    warehouse = args.out / "warehouse"
    resource = BurnwatchResource(
        data_dir=str(data), manifest=str(manifest), warehouse=str(warehouse), threads=args.threads
    )
    build.build_slo_specs(resource)
    for day in days:  # what int_sli_buckets reads besides stg_requests
        staging.build_contract_report(resource, day)
        staging.build_quarantine(resource, day)
        build.build_int_quarantine_counts(resource, day)

    def floor() -> None:
        with session.connect(threads=args.threads or None) as connection:
            connection.execute(floor_query(files))

    def burnwatch_compute() -> tuple[int, int, int]:
        with resource.connect() as connection:
            staging.compute_stg_requests(connection, resource, request_files, days[0], days[-1])
            build.compute_int_sli_buckets(
                connection, resource, days[0], days[-1], stg_requests=staging.STG_REQUESTS_RUN
            )
            return _bucket_totals(connection.sql(f"from {build.INT_SLI_BUCKETS_RUN}").pl())

    def burnwatch_step() -> None:
        staging.build_stg_requests_days(resource, days)
        build.build_int_sli_buckets_days(resource, days)

    def time_necessary_parts() -> tuple[float, float]:
        """(bucketing alone, storing the columns the floor does not), in seconds."""
        with resource.connect() as connection:
            staging.compute_stg_requests(connection, resource, request_files, days[0], days[-1])

            def copy(columns: str) -> Callable[[], object]:
                return lambda: connection.execute(
                    f"create or replace temp table stored_copy as "
                    f"select {columns} from {staging.STG_REQUESTS_RUN}"
                )

            stored_all = _fastest("  part: copy the deduplicated rows", args.repeat, copy("*"))
            stored_keys = _fastest(
                "  part: copy their floor columns",
                args.repeat,
                copy("tenant_id, request_id, ts"),
            )
            bucketed = _fastest(
                "  part: bucketing the deduplicated rows alone",
                args.repeat,
                lambda: build.compute_int_sli_buckets(
                    connection, resource, days[0], days[-1], stg_requests=staging.STG_REQUESTS_RUN
                ),
            )
            return bucketed, max(0.0, stored_all - stored_keys)

    polars_buckets: list[pl.DataFrame] = []

    def polars_step() -> None:
        polars_buckets[:] = [polars_dedup_and_bucket(files, manifest, args.out / "polars")]

    floor_s = _fastest("floor (hash aggregate of keys, into a table)", args.repeat, floor)
    compute_s = _fastest("burnwatch dedup + bucketing, into tables", args.repeat, burnwatch_compute)
    bucketing_s, store_s = time_necessary_parts()
    lower_bound_s = floor_s + bucketing_s + store_s
    step_s = _fastest("burnwatch dedup + bucketing, Parquet written", args.repeat, burnwatch_step)
    polars_s = _fastest("polars dedup + bucketing, Parquet written", args.repeat, polars_step)

    ours = _bucket_totals(lake.read_table(warehouse, "int_sli_buckets"))
    theirs = _bucket_totals(polars_buckets[0])
    if ours != theirs:
        raise SystemExit(
            f"burnwatch and polars disagree: (buckets, requests, bad) {ours} vs {theirs}"
        )
    results = {
        "date": dt.date.today().isoformat(),
        "rows": rows,
        "buckets_requests_bad": list(ours),
        "floor_s": round(floor_s, 3),
        "burnwatch_compute_s": round(compute_s, 3),
        "bucketing_alone_s": round(bucketing_s, 3),
        "store_beyond_floor_s": round(store_s, 3),
        "lower_bound_over_floor": round(lower_bound_s / floor_s, 2),
        "burnwatch_step_s": round(step_s, 3),
        "polars_step_s": round(polars_s, 3),
        "compute_over_floor": round(compute_s / floor_s, 2),
        "step_over_floor": round(step_s / floor_s, 2),
        "polars_over_burnwatch_step": round(polars_s / step_s, 2),
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"\nrows {rows:,}; buckets, requests, bad (both agree): {ours}\n"
        f"floor {floor_s:.2f} s | burnwatch compute {compute_s:.2f} s | "
        f"burnwatch step {step_s:.2f} s | polars step {polars_s:.2f} s\n"
        f"burnwatch compute / floor = {compute_s / floor_s:.2f}x (target <= 1.5x)\n"
        f"lower bound (floor + bucketing alone {bucketing_s:.2f} s + storing the "
        f"columns the floor does not {store_s:.2f} s) / floor = "
        f"{lower_bound_s / floor_s:.2f}x\n"
        f"burnwatch step / floor = {step_s / floor_s:.2f}x (with the lake writes)\n"
        f"polars step / burnwatch step = {polars_s / step_s:.2f}x (target >= 2x)"
    )


if __name__ == "__main__":
    main()
