"""`make bench` end to end at a tiny scale: it runs, and its two implementations agree.

The bench compares Burnwatch's bucket totals with a separate polars
implementation and exits non-zero when they differ, so a run that exits 0 is
that comparison passing. Timings are not asserted (they are for `make bench`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _bench(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """The bench at a tiny scale, with the whole run, into `out`."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.bench",
            "--out",
            str(out),
            "--scale",
            "0.05",
            "--tenants",
            "3",
            "--days",
            "7",
            "--repeat",
            "1",
            "--whole-run",
            "--memory-limit",
            "1GiB",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_bench_runs_and_both_implementations_agree(tmp_path: Path) -> None:
    completed = _bench(tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    buckets, requests, bad = results["buckets_requests_bad"]
    assert buckets > 0 and requests >= buckets and 0 <= bad <= requests
    assert results["rows"] > 0
    # The lower bound is the floor plus two more parts, so at least the floor.
    assert results["lower_bound_over_floor"] >= 1.0
    assert "lower bound" in completed.stdout
    # --whole-run: the whole `burnwatch run` of the same files ran in a child and its
    # int_sli_buckets held polars' totals (the bench exits non-zero otherwise).
    assert results["whole_run_rows_per_s"] > 0
    assert results["whole_run_peak_rss_mib"] > 0
    assert "whole run:" in completed.stdout
    assert results["polars_step_s"] > 0 and results["polars_stopped_at_cap"] is None


def test_a_polars_step_over_its_memory_cap_is_stopped_and_the_bench_goes_on(
    tmp_path: Path,
) -> None:
    # At 100 million requests polars needed more than the machine's memory, and the
    # kernel killed the whole bench. Under a cap no polars process can stay below
    # (20 MiB: the interpreter alone is more), its step is stopped and reported, and
    # the whole run is still timed and held to the Burnwatch step's totals.
    completed = _bench(tmp_path, "--polars-memory-cap", "0.02GiB")
    assert completed.returncode == 0, completed.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["polars_step_s"] is None
    assert results["polars_stopped_at_cap"] == "0.02GiB"
    assert results["polars_stopped_after_s"] >= 0
    assert results["polars_over_burnwatch_step"] is None
    assert results["whole_run_over_polars_step"] is None
    assert results["whole_run_rows_per_s"] > 0
    assert "polars dedup + bucketing: run 1/1: stopped" in completed.stdout
    assert "polars did not finish" in completed.stdout
    # What the stopped child wrote is not read as a result.
    assert not (tmp_path / "polars" / "seconds.json").exists()
