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
from typing import Any

import pytest


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


def test_a_step_line_parses_back_and_no_other_progress_line_does() -> None:
    from pipelines.progress import parse_step_line, step_line

    assert parse_step_line(step_line("fct_burn_rates", 5_040_000, 2.64) + "\n") == (
        "fct_burn_rates",
        2.6,
    )
    assert parse_step_line(step_line("stg_requests_unique_request_keys", None, 0.5)) == (
        "stg_requests_unique_request_keys",
        0.5,
    )
    for other in [
        "  fct_burn_rates 2026-10-01: 5,040,000 rows in 4.3 s (1/7 days)",
        "fct_burn_rates: failed",
        "  notifications: 210 transitions, 0 new messages",
        "computing 2026-10-01 .. 2026-10-07 (7 days) into /tmp/w",
    ]:
        assert parse_step_line(other) is None, other


def test_a_childs_step_lines_are_summed_per_step_and_passed_on(
    capfd: Any,
) -> None:
    from pipelines.bench import timed_child

    child = (
        "import sys\n"
        "from pipelines.progress import step_line\n"
        "for line in [step_line('a', 10, 1.5), '  a 2026-10-01: 5 rows in 0.5 s (1/2 days)',\n"
        "             step_line('b', None, 0.25), step_line('a', None, 0.3)]:\n"
        "    print(line, file=sys.stderr)\n"
    )
    steps: dict[str, float] = {}
    seconds, peak = timed_child([sys.executable, "-c", child], steps)
    assert steps == {"a": pytest.approx(1.8), "b": pytest.approx(0.2)}
    assert seconds > 0 and peak > 0
    assert "a 2026-10-01: 5 rows in 0.5 s" in capfd.readouterr().err


def test_the_step_table_lists_the_largest_points_longest_steps_first() -> None:
    from pipelines.bench_tenants import step_table

    points = [
        {"tenants": 12, "step_s": {"fct_burn_rates": 0.9, "report": 0.7}},
        {"tenants": 500, "step_s": {"fct_burn_rates": 19.4, "report": 1.5, "quarantine": 2.3}},
    ]
    assert step_table(points, shown=2).splitlines()[1:] == [
        "| step | 12 tenants | 500 tenants |",
        "|---|---|---|",
        "| `fct_burn_rates` | 0.9 | 19.4 |",
        "| `quarantine` |  | 2.3 |",
    ]


def test_the_tenant_sweep_keeps_each_points_fastest_round_whole() -> None:
    from pipelines.bench_tenants import fastest

    rounds = [
        {"tenants": 500, "run_s": 120.0, "peak_rss_mib": 3000, "step_s": {"report": 2.0}},
        {"tenants": 500, "run_s": 101.5, "peak_rss_mib": 3300, "step_s": {"report": 1.5}},
        {"tenants": 500, "run_s": 110.0, "peak_rss_mib": 2900, "step_s": {"report": 1.0}},
    ]
    assert fastest(rounds) == {**rounds[1], "rounds_s": [120.0, 101.5, 110.0]}
