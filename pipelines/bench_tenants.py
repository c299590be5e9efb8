"""`make bench`, tenant sweep: what `burnwatch run` costs as the same traffic is spread
over more tenants.

For each tenant count (12, 100, 500 and 2,000 by default) it generates the
sample with the traffic scaled so that every point holds about the same number
of requests a week (`--requests-per-week`, 2 million by default), then runs
`burnwatch run --dry-run` over it in a child process and records:

- wall seconds per day of data, and peak resident memory of the run (the
  child's `ru_maxrss`, which covers DuckDB's buffers: they live in that process);
- the floor, measured in the same run on the same files: DuckDB's hash aggregate of
  the request keys (`pipelines.bench.floor_query`), the least any dedup must do;
- each point's time over the floor and over the smallest tenant count's time;
- each step's seconds, from the run's progress lines (`pipelines.progress.step_line`),
  printed as a table of the steps that took longest at the largest point.

With `--repeat N` the points run in turn N times and each keeps its fastest round: on a
shared host one run's seconds move by a third, which one round puts into the ratios.

Cost that follows requests keeps those ratios flat; cost that follows tenant SLOs
times steps (the dense burn-rate and evaluation rows) makes them grow with tenants.
Writes `<out>/tenant_results.json`. Each run's lake is checked to hold every tenant
SLO of the manifest, so a fast run that skipped tenants cannot pass.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import time
from pathlib import Path
from typing import Any

from pipelines.bench import floor_query, run_command, timed_child
from pipelines.ingest.files import discover_request_files
from pipelines.sample.generator import generate_sample
from pipelines.warehouse import lake, session
from schemas.manifest import load_manifest

# Requests a week of the sample at scale 1.0 with its 12 tenants (4.5 M rows over
# 14 days): traffic per tenant is what `scale` multiplies.
REQUESTS_PER_TENANT_WEEK_AT_SCALE_1 = 4.5e6 / 2 / 12


def _scale_for(tenants: int, requests_per_week: float) -> float:
    return requests_per_week / (tenants * REQUESTS_PER_TENANT_WEEK_AT_SCALE_1)


def _ensure_data(root: Path, tenants: int, days: int, scale: float) -> Path:
    data = root / "data"
    marker = data / ".bench-params.json"
    params = {"tenants": tenants, "days": days, "scale": scale}
    if marker.is_file() and json.loads(marker.read_text()) == params:
        return data
    if data.exists():
        shutil.rmtree(data)
    print(f"generating {tenants} tenants at scale {scale:.4g} into {data} ...", flush=True)
    generate_sample(data, tenants=tenants, days=days, scale=scale)
    marker.write_text(json.dumps(params))
    return data


def _floor_seconds(files: list[str], threads: int | None) -> float:
    with session.connect(threads=threads) as connection:
        started = time.perf_counter()
        connection.execute(floor_query(files))
        return time.perf_counter() - started


def _lake_counts(warehouse: Path) -> tuple[int, int]:
    """(tenant SLOs in fct_error_budget, rows of fct_burn_rates), counted in DuckDB: at 2,000
    tenants the burn rates are some 140 million rows, too many to load here to count."""
    with session.connect() as connection:
        budget = lake.scan_sql(warehouse, "fct_error_budget")
        burn_rates = lake.scan_sql(warehouse, "fct_burn_rates")
        row = connection.execute(
            f"select (select count(*) from (select distinct tenant_id, slo_name from {budget})), "
            f"(select count(*) from {burn_rates})"
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _run_point(
    args: argparse.Namespace, tenants: int, root: Path, data: Path, rows: int
) -> dict[str, Any]:
    """One `burnwatch run --dry-run` of the point's week into a fresh warehouse."""
    floor_s = _floor_seconds(
        [str(f.path) for f in discover_request_files(data)], args.threads or None
    )
    warehouse = root / "warehouse"
    # A fresh warehouse each time: a run on an old one would be a cycle.
    shutil.rmtree(warehouse, ignore_errors=True)
    command = run_command(data, warehouse, args.threads, args.memory_limit)
    print(f"{tenants} tenants: {rows:,} request rows; running burnwatch ...", flush=True)
    steps: dict[str, float] = {}
    run_s, peak = timed_child(command, steps)
    slos = len(load_manifest(data / "slos.yaml").resolved_slos())
    evaluated, burn_rows = _lake_counts(warehouse)
    if evaluated != slos:
        raise SystemExit(f"{tenants} tenants: {evaluated} of {slos} tenant SLOs evaluated")
    point = {
        "tenants": tenants,
        "tenant_slos": slos,
        "requests": rows,
        "days": args.days,
        "run_s": round(run_s, 2),
        "s_per_day": round(run_s / args.days, 2),
        "peak_rss_mib": round(peak / 2**20),
        "floor_s": round(floor_s, 3),
        "run_over_floor": round(run_s / floor_s, 1),
        "fct_burn_rates_rows": burn_rows,
        "step_s": {step: round(seconds, 1) for step, seconds in steps.items()},
    }
    print(f"  {point}", flush=True)
    return point


def fastest(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """A point's fastest round (its steps, memory and floor from that round), with every
    round's seconds in `rounds_s`."""
    best = min(rounds, key=lambda point: point["run_s"])
    return {**best, "rounds_s": [point["run_s"] for point in rounds]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-data"))
    parser.add_argument(
        "--tenants", default="12,100,500,2000", help="comma-separated tenant counts"
    )
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--requests-per-week", type=float, default=2e6)
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads; 0: all cores")
    parser.add_argument("--memory-limit", default="", help="DuckDB memory_limit, e.g. 3GiB")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds over the points; each keeps its fastest"
    )
    args = parser.parse_args()

    prepared = []
    for tenants in sorted(int(part) for part in args.tenants.split(",")):
        root = args.out / f"tenants-{tenants}"
        data = _ensure_data(root, tenants, args.days, _scale_for(tenants, args.requests_per_week))
        files = [str(file.path) for file in discover_request_files(data)]
        counter = session.connect(threads=args.threads or None)
        row = counter.execute(f"select count(*) from read_parquet({files})").fetchone()
        prepared.append((tenants, root, data, int(row[0]) if row else 0))
    # The points run in turn, `--repeat` rounds of them, so that a slow spell of the host
    # falls on every point alike; each point keeps its fastest round.
    rounds: dict[int, list[dict[str, Any]]] = {tenants: [] for tenants, *_ in prepared}
    for round_number in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"round {round_number} of {args.repeat}:", flush=True)
        for tenants, root, data, rows in prepared:
            rounds[tenants].append(_run_point(args, tenants, root, data, rows))
    points = [fastest(rounds[tenants]) for tenants, *_ in prepared]
    base = points[0]
    for point in points:
        point["run_over_smallest"] = round(point["run_s"] / base["run_s"], 2)
    results = {"date": dt.date.today().isoformat(), "points": points}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tenant_results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(
        "\n| tenants | tenant SLOs | requests | s / day | peak RSS (MiB) | run / floor "
        f"| run / {base['tenants']}-tenant run | fct_burn_rates rows |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for p in points:
        print(
            f"| {p['tenants']} | {p['tenant_slos']} | {p['requests']:,} | {p['s_per_day']} "
            f"| {p['peak_rss_mib']} | {p['run_over_floor']}x | {p['run_over_smallest']}x "
            f"| {p['fct_burn_rates_rows']:,} |"
        )
    print(step_table(points))


def step_table(points: list[dict[str, Any]], shown: int = 12) -> str:
    """The `shown` steps that took longest at the largest point, seconds for the whole
    run at each point (from the runs' progress lines), as a Markdown table."""
    largest = points[-1]["step_s"]
    steps = sorted(largest, key=lambda step: (-largest[step], step))[:shown]
    lines = [
        "\n| step | " + " | ".join(f"{p['tenants']} tenants" for p in points) + " |",
        "|---|" + "---|" * len(points),
    ]
    for step in steps:
        cells = " | ".join(str(p["step_s"].get(step, "")) for p in points)
        lines.append(f"| `{step}` | {cells} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
