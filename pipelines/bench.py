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

With `--whole-run` (opt-in: `make bench-100m` runs it at scale 22, about 100 million
requests) it also times the whole `burnwatch run --dry-run` of the same files in a child
process, under `--memory-limit`: wall seconds, input rows per second and the child's peak
resident memory (`ru_maxrss`, DuckDB's buffers included), beside the floor and the polars
step of the same run; the run's `int_sli_buckets` must hold the same totals as polars'.

Each is run `--repeat` times and the fastest kept. Figures are ratios, so they
mean the same on a faster or slower machine. Both implementations' bucket
totals are compared, so a fast wrong answer cannot pass unnoticed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.ingest import staging
from pipelines.ingest.files import discover_request_files
from pipelines.models import build
from pipelines.progress import parse_step_line
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


def timed_child(command: list[str], steps: dict[str, float] | None = None) -> tuple[float, int]:
    """Run `command`; (wall seconds, peak resident bytes of the child process). With
    `steps`, the child's stderr is passed on line by line and the seconds of each step
    line (progress.step_line) are added to `steps` under the step's name."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stderr=None if steps is None else subprocess.PIPE, text=True
    )
    if steps is not None and process.stderr is not None:
        for line in process.stderr:
            sys.stderr.write(line)
            parsed = parse_step_line(line)
            if parsed is not None:
                steps[parsed[0]] = steps.get(parsed[0], 0.0) + parsed[1]
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {process.returncode}")
    return seconds, usage.ru_maxrss * 1024  # Linux reports kilobytes


def run_command(data: Path, warehouse: Path, threads: int = 0, memory_limit: str = "") -> list[str]:
    """`burnwatch run --dry-run` of `data` into `warehouse`, as a child process runs it."""
    command = [
        str(Path(sys.executable).with_name("burnwatch")),
        "run",
        "--dry-run",
        "--data",
        str(data),
        "--manifest",
        str(data / "slos.yaml"),
        "--warehouse",
        str(warehouse),
    ]
    if threads:
        command += ["--threads", str(threads)]
    if memory_limit:
        command += ["--memory-limit", memory_limit]
    return command


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


def _resident_bytes(pid: int) -> int:
    """A live process's resident memory (Linux /proc), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _polars_child(files: list[str], manifest: str, out: str) -> None:
    """The polars step in a process of its own; its seconds go to <out>/seconds.json."""
    started = time.perf_counter()
    polars_dedup_and_bucket(files, Path(manifest), Path(out))
    seconds = time.perf_counter() - started
    (Path(out) / "seconds.json").write_text(json.dumps({"seconds": seconds}))


@dataclass(frozen=True)
class PolarsOutcome:
    """One polars step run in a child: how long it ran, its peak resident memory as
    sampled, and the buckets it wrote (None when it was stopped at the cap or failed)."""

    seconds: float
    peak_bytes: int
    buckets: pl.DataFrame | None


def polars_step_capped(
    files: list[str], manifest: Path, out: Path, cap_bytes: int
) -> PolarsOutcome:
    """Run the polars step in a child process, stopped if its resident memory passes
    `cap_bytes`. `seconds` is the step's own time when it finished (measured in the
    child, start-up left out), else the time until it was stopped.

    polars holds the whole input to sort it: at 100 million requests it needed more
    than this machine's 24 GiB, and the kernel's out-of-memory killer took the whole
    bench with it. In a child, under a cap, the bench says so and goes on."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    child = multiprocessing.get_context("spawn").Process(
        target=_polars_child, args=(files, str(manifest), str(out))
    )
    started = time.perf_counter()
    child.start()
    assert child.pid is not None
    peak = 0
    while child.is_alive():
        peak = max(peak, _resident_bytes(child.pid))
        if peak > cap_bytes:
            child.kill()
            break
        child.join(0.2)
    child.join()
    timing = out / "seconds.json"
    if child.exitcode != 0 or not timing.is_file():
        return PolarsOutcome(time.perf_counter() - started, peak, None)
    seconds = float(json.loads(timing.read_text())["seconds"])
    return PolarsOutcome(seconds, peak, pl.read_parquet(out / "int_sli_buckets.parquet"))


def _gib(text: str) -> int:
    """`16GiB` -> bytes (the one unit --polars-memory-cap takes)."""
    if not text.endswith("GiB"):
        raise SystemExit(f"--polars-memory-cap {text!r}: give it in GiB, e.g. 16GiB")
    return int(float(text.removesuffix("GiB")) * 2**30)


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
    parser.add_argument(
        "--whole-run",
        action="store_true",
        help="also time the whole `burnwatch run` of the same files (peak memory, rows/s)",
    )
    parser.add_argument(
        "--memory-limit", default="3GiB", help="DuckDB memory_limit of the whole run"
    )
    parser.add_argument(
        "--polars-memory-cap",
        default="16GiB",
        help="stop the polars step (a child process) when its resident memory passes this",
    )
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

    floor_s = _fastest("floor (hash aggregate of keys, into a table)", args.repeat, floor)
    compute_s = _fastest("burnwatch dedup + bucketing, into tables", args.repeat, burnwatch_compute)
    bucketing_s, store_s = time_necessary_parts()
    lower_bound_s = floor_s + bucketing_s + store_s
    step_s = _fastest("burnwatch dedup + bucketing, Parquet written", args.repeat, burnwatch_step)
    cap = _gib(args.polars_memory_cap)
    polars_runs: list[PolarsOutcome] = []
    polars_stopped_after: float | None = None
    for attempt in range(1, args.repeat + 1):
        outcome = polars_step_capped(files, manifest, args.out / "polars", cap)
        if outcome.buckets is None:
            print(
                f"  polars dedup + bucketing: run {attempt}/{args.repeat}: stopped after "
                f"{outcome.seconds:.1f} s, resident memory {outcome.peak_bytes / 2**30:.1f} "
                f"GiB (cap {args.polars_memory_cap})",
                flush=True,
            )
            polars_stopped_after = outcome.seconds
            break
        print(
            f"  polars dedup + bucketing, Parquet written: run {attempt}/{args.repeat}: "
            f"{outcome.seconds:.2f} s (peak {outcome.peak_bytes / 2**30:.1f} GiB)",
            flush=True,
        )
        polars_runs.append(outcome)
    polars_s = min(run.seconds for run in polars_runs) if polars_runs else None

    ours = _bucket_totals(lake.read_table(warehouse, "int_sli_buckets"))
    # polars is the independent check; when it could not finish, the whole run below is
    # held to the step's totals instead (and the result says polars did not finish).
    theirs = (
        _bucket_totals(polars_runs[0].buckets)
        if polars_runs and polars_runs[0].buckets is not None
        else ours
    )
    if ours != theirs:
        raise SystemExit(
            f"burnwatch and polars disagree: (buckets, requests, bad) {ours} vs {theirs}"
        )
    whole: dict[str, float | None] = {}
    if args.whole_run:
        run_warehouse = args.out / "whole-run"
        shutil.rmtree(run_warehouse, ignore_errors=True)  # a fresh warehouse: not a cycle
        print(f"whole burnwatch run (memory_limit {args.memory_limit}) ...", flush=True)
        run_s, peak = timed_child(run_command(data, run_warehouse, args.threads, args.memory_limit))
        run_totals = _bucket_totals(lake.read_table(run_warehouse, "int_sli_buckets"))
        if run_totals != theirs:
            raise SystemExit(
                f"the whole run and {'polars' if polars_s else 'the step'} disagree: "
                f"(buckets, requests, bad) "
                f"{run_totals} vs {theirs}"
            )
        whole = {
            "whole_run_s": round(run_s, 2),
            "whole_run_peak_rss_mib": round(peak / 2**20),
            "whole_run_rows_per_s": round(rows / run_s),
            "whole_run_over_floor": round(run_s / floor_s, 1),
            "whole_run_over_polars_step": round(run_s / polars_s, 2) if polars_s else None,
        }
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
        "polars_step_s": round(polars_s, 3) if polars_s else None,
        "polars_stopped_at_cap": args.polars_memory_cap if polars_s is None else None,
        "polars_stopped_after_s": (
            round(polars_stopped_after, 1) if polars_stopped_after is not None else None
        ),
        "compute_over_floor": round(compute_s / floor_s, 2),
        "step_over_floor": round(step_s / floor_s, 2),
        "polars_over_burnwatch_step": round(polars_s / step_s, 2) if polars_s else None,
        **whole,
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    polars_text = (
        f"{polars_s:.2f} s" if polars_s else f"stopped at its memory cap ({args.polars_memory_cap})"
    )
    agreement = "both agree" if polars_s else "polars did not finish: not compared"
    print(
        f"\nrows {rows:,}; buckets, requests, bad ({agreement}): {ours}\n"
        f"floor {floor_s:.2f} s | burnwatch compute {compute_s:.2f} s | "
        f"burnwatch step {step_s:.2f} s | polars step {polars_text}\n"
        f"burnwatch compute / floor = {compute_s / floor_s:.2f}x (target <= 1.5x)\n"
        f"lower bound (floor + bucketing alone {bucketing_s:.2f} s + storing the "
        f"columns the floor does not {store_s:.2f} s) / floor = "
        f"{lower_bound_s / floor_s:.2f}x\n"
        f"burnwatch step / floor = {step_s / floor_s:.2f}x (with the lake writes)\n"
        + (
            f"polars step / burnwatch step = {polars_s / step_s:.2f}x (target >= 2x)"
            if polars_s
            else f"polars step: {polars_text}"
        )
    )
    if whole:
        against_polars = (
            f"{whole['whole_run_over_polars_step']}x the polars step"
            if polars_s
            else "polars did not finish"
        )
        print(
            f"whole run: {whole['whole_run_s']:.1f} s, {whole['whole_run_rows_per_s']:,} "
            f"rows/s, peak RSS {whole['whole_run_peak_rss_mib']:,} MiB (memory_limit "
            f"{args.memory_limit}, target: within 4 GiB); "
            f"{whole['whole_run_over_floor']}x the floor, {against_polars}"
        )


if __name__ == "__main__":
    main()
