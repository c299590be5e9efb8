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


def test_bench_runs_and_both_implementations_agree(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.bench",
            "--out",
            str(tmp_path),
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
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
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
