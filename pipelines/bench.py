"""`make bench`: time the dedup + bucketing step against DuckDB's own floor.

On the same files, in the same run, with the same DuckDB settings, it times:

- the floor: `select tenant_id, request_id, min(ts) ... group by all`, the hash
  aggregate of the request keys that any dedup must at least do;
- Burnwatch's step as the pipeline runs it: `stg_requests` then
  `int_sli_buckets` for every day, Parquet written to the lake;
- a straightforward polars implementation of the same step.

Each is run `--repeat` times and the fastest kept. Figures are ratios, so they
mean the same on a faster or slower machine.
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

from pipelines import sql_models, steps
from pipelines.inputs import discover_request_files
from pipelines.resources import BurnwatchResource
from pipelines.sample_data import generate_sample
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
    generate_sample(data, tenants=tenants, days=days, scale=scale)
    marker.write_text(json.dumps(params))
    return data


def floor_query(files: list[str]) -> str:
    listed = ", ".join(f"'{path}'" for path in files)
    return (
        "create or replace temp table floor_keys as "
        f"select tenant_id, request_id, min(ts) from read_parquet([{listed}]) group by all"
    )


def polars_dedup_and_bucket(files: list[str], manifest: Path, out: Path, threads: int) -> None:
    """The same step written plainly in polars: sort copies, keep the first, bucket."""
    specs = steps.slo_specs_frame(load_manifest(manifest))
    requests = (
        pl.scan_parquet(files)
        .with_columns(pl.col("ts").dt.replace_time_zone(None))
        .sort(["tenant_id", "request_id", "ts", "replica", "status_code", "latency_ms",
               "service", "operation"], nulls_last=False)
        .group_by(["tenant_id", "request_id"], maintain_order=True)
        .agg(pl.all().first(), pl.len().alias("replica_copies"))
    )
    buckets = (
        requests.join(specs.lazy(), on=["tenant_id", "service"])
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
    )
    out.mkdir(parents=True, exist_ok=True)
    requests.sort(["tenant_id", "request_id"]).sink_parquet(out / "stg_requests.parquet")
    buckets.sink_parquet(out / "int_sli_buckets.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-data"))
    parser.add_argument("--scale", type=float, default=4.5,
                        help="traffic multiplier; 4.5 gives about 20 million requests")
    parser.add_argument("--tenants", type=int, default=12)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="0: all cores")
    args = parser.parse_args()

    data = _ensure_data(args.out, args.scale, args.tenants, args.days)
    manifest = data / "slos.yaml"
    request_files = discover_request_files(data)
    files = [str(file.path) for file in request_files]
    days = sorted({file.day for file in request_files})
    counter = sql_models.connect(threads=args.threads or None)
    row = counter.execute(f"select count(*) from read_parquet({files})").fetchone()
    rows = int(row[0]) if row else 0
    print(f"{rows:,} request rows in {len(files)} files, {len(days)} days", flush=True)

    warehouse = args.out / "warehouse"
    resource = BurnwatchResource(data_dir=str(data), manifest=str(manifest),
                                 warehouse=str(warehouse), threads=args.threads)
    steps.build_slo_specs(resource)

    def floor() -> None:
        with sql_models.connect(threads=args.threads or None) as connection:
            connection.execute(floor_query(files))

    def burnwatch_step() -> None:
        for day in days:
            steps.build_stg_requests(resource, day)
            steps.build_int_sli_buckets(resource, day)

    def polars_step() -> None:
        polars_dedup_and_bucket(files, manifest, args.out / "polars", args.threads)

    floor_s = _fastest("floor (hash aggregate of keys)", args.repeat, floor)
    ours_s = _fastest("burnwatch dedup + bucketing", args.repeat, burnwatch_step)
    polars_s = _fastest("polars dedup + bucketing", args.repeat, polars_step)
    results = {
        "date": dt.date.today().isoformat(),
        "rows": rows,
        "floor_s": round(floor_s, 2),
        "burnwatch_s": round(ours_s, 2),
        "polars_s": round(polars_s, 2),
        "burnwatch_over_floor": round(ours_s / floor_s, 2),
        "polars_over_burnwatch": round(polars_s / ours_s, 2),
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"\nrows {rows:,}\nfloor {floor_s:.2f} s | burnwatch {ours_s:.2f} s | "
        f"polars {polars_s:.2f} s\n"
        f"burnwatch / floor = {ours_s / floor_s:.2f}x (target <= 1.5x)\n"
        f"polars / burnwatch = {polars_s / ours_s:.2f}x (target >= 2x)"
    )


if __name__ == "__main__":
    main()
