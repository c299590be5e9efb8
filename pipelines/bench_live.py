"""`make bench`, live part: what one cycle costs, against history and against a full day.

For each history length (7 and 28 days by default) it generates the sample with
the same tenants, counts every day but the last hour of the newest day, then:

- times one **cycle**: `burnwatch run` after one new hour of logs lands as new
  files (the ingest ledger picks the days; pipelines/ingest/ledger.py);
- times a **full recompute of that day**: `burnwatch run --start D --end D` on a
  copy of the same warehouse, the floor a cycle is held to. That command also
  runs the replay and the report, which a cycle leaves to their daily schedule.

It prints and writes (`<out>/live_results.json`) the cycle's time on 28 days over
7 days (the target is <= 1.25: flat in history) and the cycle over the day's full
recompute (target <= 0.25). Both runs of a pair end with the same lake, which is
checked, so a fast wrong cycle cannot pass.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.runner import run_pipeline
from pipelines.sample.generator import generate_sample
from schemas.tables import TABLES

START = dt.date(2026, 10, 1)
# The hour that arrives in the timed cycle: the newest day's 10:00 .. 11:00.
HOUR = dt.time(10)


def _split(sample: Path, data: Path, cut: dt.datetime, end: dt.datetime) -> None:
    """Copy `sample`'s logs before `cut` into `data`; keep [cut, end) aside as `.late`."""
    for path in sorted((sample / "requests").rglob("*.parquet")):
        table = pq.read_table(path)
        ts = table.column("ts")
        before = pc.less(ts, pa.scalar(cut, type=ts.type))
        hour = pc.and_(pc.invert(before), pc.less(ts, pa.scalar(end, type=ts.type)))
        target = data / path.relative_to(sample)
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.filter(before), target)
        if pc.any(hour).as_py():
            pq.write_table(table.filter(hour), target.with_name(target.stem + "-hour.late"))
    for name in ("slos.yaml", "incidents.csv"):
        shutil.copy(sample / name, data / name)


def _land_hour(data: Path) -> None:
    for late in sorted((data / "requests").rglob("*.late")):
        late.rename(late.with_suffix(".parquet"))


def _digest(warehouse: Path) -> str:
    """The lake's tables, less the replay's: a cycle leaves the replay to its own schedule
    (pipelines/schedules.py OFF_CYCLE_ASSETS), a --start/--end run does not."""
    lake = warehouse / "lake"
    digest = hashlib.sha256()
    for path in sorted(lake.rglob("*.parquet")):
        table = path.relative_to(lake).parts[0]
        if table in TABLES and not table.startswith("replay_"):
            digest.update(str(path.relative_to(lake)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def say(message: str) -> None:
    print(message, flush=True)


def indented(message: str) -> None:
    say(f"  {message}")


def measure(out: Path, days: int, tenants: int, scale: float) -> dict[str, float]:
    """Cycle and full-day seconds on `days` days of history."""
    root = out / f"live-{days}d"
    shutil.rmtree(root, ignore_errors=True)
    sample, data = root / "sample", root / "data"
    say(f"{days} days of history: generating the sample (scale {scale})")
    generate_sample(sample, tenants=tenants, days=days, scale=scale, start=START, progress=indented)
    newest = START + dt.timedelta(days=days - 1)
    cut = dt.datetime.combine(newest, HOUR)
    _split(sample, data, cut, cut + dt.timedelta(hours=1))
    quiet = lambda _message: None  # noqa: E731
    cycled = root / "cycled"
    say(f"{days} days of history: the first run, every day but the newest hour")
    began = time.perf_counter()
    run_pipeline(data, data / "slos.yaml", cycled, dry_run=True, say=quiet)
    say(f"  done in {time.perf_counter() - began:.1f} s")
    recomputed = root / "recomputed"
    shutil.copytree(cycled, recomputed)
    _land_hour(data)
    began = time.perf_counter()
    run_pipeline(data, data / "slos.yaml", cycled, dry_run=True, say=quiet)
    cycle = time.perf_counter() - began
    say(f"{days} days of history: the cycle for the new hour took {cycle:.2f} s")
    began = time.perf_counter()
    run_pipeline(data, data / "slos.yaml", recomputed, newest, newest, dry_run=True, say=quiet)
    full_day = time.perf_counter() - began
    say(f"{days} days of history: the recompute of the newest day took {full_day:.2f} s")
    if _digest(cycled) != _digest(recomputed):
        raise SystemExit(f"{days} days: the cycle's lake differs from the day's recompute")
    return {"cycle_s": round(cycle, 3), "full_day_s": round(full_day, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-data"))
    parser.add_argument("--tenants", type=int, default=12)
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--histories", type=int, nargs=2, default=(7, 28))
    args = parser.parse_args()
    # Measure the runs alone: a Dagster home (`make bench` exports the Makefile's) would add
    # its event-log writes to the timings, and fill the UI with the bench's warehouses.
    os.environ.pop("DAGSTER_HOME", None)
    short, long = args.histories
    results = {
        f"{days}d": measure(args.out, days, args.tenants, args.scale) for days in (short, long)
    }
    flat = results[f"{long}d"]["cycle_s"] / results[f"{short}d"]["cycle_s"]
    share = results[f"{long}d"]["cycle_s"] / results[f"{long}d"]["full_day_s"]
    summary = {
        **results,
        "cycle_long_over_short": round(flat, 3),
        "cycle_over_full_day": round(share, 3),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "live_results.json").write_text(json.dumps(summary, indent=2) + "\n")
    for days, figures in results.items():
        print(
            f"{days} of history: cycle {figures['cycle_s']:.2f} s, "
            f"full recompute of the day {figures['full_day_s']:.2f} s"
        )
    print(f"cycle on {long} days / on {short} days: {flat:.2f}x (target <= 1.25)")
    print(f"cycle / full recompute of the day ({long} days): {share:.2f} (target <= 0.25)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
