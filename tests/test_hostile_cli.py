"""Hostile and mistaken input to `burnwatch`, one case a row (issue 15).

Every case runs the real command line in a subprocess and checks the contract
of docs/contracts.md: the expected exit status, one `burnwatch: error:` line that
names the problem and its place, never a traceback, and (for input refused up
front) nothing written to the warehouse.

The first table holds input refused before anything is written (fast). The
cases after it need a complete run (slow): what killed runs leave behind, a
failing blocking check, an outbox someone holds open, Ctrl-C.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cli_helpers import BURNWATCH, run_args
from test_corruption import MANIFEST, build_clean

from pipelines.ingest import ledger

# Lines a run prints on stderr as it goes; everything else on stderr is a warning or the error.
PROGRESS = ("computing ", "cycle: ", "also computing ", "waiting for ", "removed ")


@dataclass(frozen=True)
class Case:
    name: str
    exit_code: int
    fragment: str
    # Changes the data folder (and the warehouse's parent) before the run; returns extra
    # arguments of `burnwatch run`.
    setup: Callable[[Path, Path], list[str]] = lambda data, warehouse: []
    env: dict[str, str] = field(default_factory=dict)
    command: str = "run"
    # Run in a fresh interpreter: the check happens at import time (the Dagster
    # definitions read the environment), or the point is what Python itself prints.
    subprocess: bool = False


def manifest_edit(old: str, new: str, count: int = 1) -> Callable[[Path, Path], list[str]]:
    def setup(data: Path, warehouse: Path) -> list[str]:
        text = MANIFEST
        assert old in text, old
        (data / "slos.yaml").write_text(text.replace(old, new, count))
        return []

    return setup


def append_manifest(extra: str) -> Callable[[Path, Path], list[str]]:
    def setup(data: Path, warehouse: Path) -> list[str]:
        (data / "slos.yaml").write_text(MANIFEST + extra)
        return []

    return setup


def manifest_bytes(data_: bytes) -> Callable[[Path, Path], list[str]]:
    def setup(data: Path, warehouse: Path) -> list[str]:
        (data / "slos.yaml").write_bytes(MANIFEST.encode() + data_)
        return []

    return setup


def warehouse_is_a_file(data: Path, warehouse: Path) -> list[str]:
    warehouse.write_text("not a folder")
    return []


def warehouse_parent_is_a_file(data: Path, warehouse: Path) -> list[str]:
    warehouse.write_text("not a folder")
    return ["--warehouse", str(warehouse / "wh")]


def warehouse_unwritable(data: Path, warehouse: Path) -> list[str]:
    # /proc refuses new folders even to root, for whom permission bits mean nothing.
    return ["--warehouse", "/proc/burnwatch-warehouse"]


def audit_log(content: bytes) -> Callable[[Path, Path], list[str]]:
    def setup(data: Path, warehouse: Path) -> list[str]:
        (warehouse / "audit").mkdir(parents=True)
        (warehouse / "audit" / "audit.jsonl").write_bytes(content)
        return []

    return setup


KEYED_RECORD = json.dumps({"id": "x", "seq": 1, "mac": "hmac-sha256", "record_hash": "0"})

REFUSED_UP_FRONT = [
    Case("--threads -1", 2, "--threads -1: must be at least 1", lambda d, w: ["--threads", "-1"]),
    Case("--threads two", 2, "'two' is not a valid integer", lambda d, w: ["--threads", "two"]),
    Case(
        "--memory-limit lots",
        2,
        "--memory-limit lots: not a memory size like 4GB",
        lambda d, w: ["--memory-limit", "lots"],
    ),
    Case(
        "BURNWATCH_THREADS=two",
        2,
        "BURNWATCH_THREADS=two: not a whole number",
        env={"BURNWATCH_THREADS": "two"},
        subprocess=True,
    ),
    Case(
        "BURNWATCH_MEMORY_LIMIT=lots",
        2,
        "BURNWATCH_MEMORY_LIMIT=lots: not a memory size",
        env={"BURNWATCH_MEMORY_LIMIT": "lots"},
    ),
    Case(
        "BURNWATCH_MAX_QUARANTINED_SHARE=abc",
        2,
        "BURNWATCH_MAX_QUARANTINED_SHARE=abc: not a number",
        env={"BURNWATCH_MAX_QUARANTINED_SHARE": "abc"},
    ),
    Case(
        "BURNWATCH_MAX_QUARANTINED_SHARE=-1",
        2,
        "BURNWATCH_MAX_QUARANTINED_SHARE=-1: must be a share from 0 to 1",
        env={"BURNWATCH_MAX_QUARANTINED_SHARE": "-1"},
    ),
    Case(
        "BURNWATCH_MAX_ROWS_PER_SCAN=0",
        2,
        "BURNWATCH_MAX_ROWS_PER_SCAN=0: must be at least 1",
        env={"BURNWATCH_MAX_ROWS_PER_SCAN": "0"},
    ),
    Case(
        "BURNWATCH_DRY_RUN=maybe",
        2,
        "BURNWATCH_DRY_RUN=maybe: not a boolean",
        env={"BURNWATCH_DRY_RUN": "maybe"},
        subprocess=True,
    ),
    Case("warehouse is a file", 2, "the warehouse is a file, not a folder", warehouse_is_a_file),
    Case("warehouse parent is a file", 2, "is a file, not a folder", warehouse_parent_is_a_file),
    Case("warehouse not writable", 2, "cannot write the warehouse in /proc", warehouse_unwritable),
    Case(
        "second tenants: block",
        2,
        "slos.yaml:14: tenants: duplicate key (first at line 5)",
        append_manifest("tenants:\n  - {id: other, cohort: standard, slos: []}\n"),
    ),
    Case(
        "a key twice in a flow mapping",
        2,
        "slos.yaml:3: cohorts.standard.availability.objective: duplicate key (first at line 3)",
        manifest_edit("{objective: 99.9}", "{objective: 99.9, objective: 99.0}"),
    ),
    Case(
        "manifest not UTF-8",
        2,
        "slos.yaml:14: not UTF-8 text (byte 0xe9 at column 6)",
        manifest_bytes(b"# caf\xe9\n"),
        subprocess=True,
    ),
    Case(
        "objective 0.999",
        2,
        "objective is a percentage like 99.9, got 0.999 (a 0.999 % objective); write 99.9",
        manifest_edit("objective: 99.9", "objective: 0.999"),
    ),
    Case(
        "objective true",
        2,
        "slos.yaml:3: cohorts.standard.availability.objective: true is a boolean",
        manifest_edit("objective: 99.9", "objective: true"),
    ),
    Case(
        "threshold_ms .inf",
        2,
        "cohorts.standard.latency.threshold_ms: must be a finite number, got inf",
        manifest_edit("threshold_ms: 300", "threshold_ms: .inf"),
    ),
    Case(
        "period_days yes",
        2,
        "period_days: true is a boolean",
        manifest_edit("cohorts:\n", "period_days: yes\ncohorts:\n"),
    ),
    Case(
        "audit log not UTF-8",
        2,
        "audit.jsonl:1: not UTF-8 (byte 0xff at column 3): the audit log is damaged",
        audit_log(b'{"\xff": 1}\n'),
    ),
    Case(
        "keyed audit log, no key",
        2,
        "the audit log is keyed (HMAC-SHA256): set BURNWATCH_AUDIT_KEY",
        audit_log(KEYED_RECORD.encode() + b"\n"),
    ),
    Case(
        "validate: duplicate key",
        1,
        "slos.yaml:14: tenants: duplicate key (first at line 5)",
        append_manifest("tenants: []\n"),
        command="validate",
    ),
    Case("audit verify: no log", 2, "no audit log at", command="audit verify"),
]


def invoke(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BURNWATCH, *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, **(env or {})},
    )


def invoke_here(
    args: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> subprocess.CompletedProcess[str]:
    """`burnwatch ARGS...` through its entry point in this interpreter (no start-up cost);
    an exception that escapes `main` fails the test, as a traceback would."""
    from pipelines.cli.commands import main

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["burnwatch", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main()
    out = capsys.readouterr()
    code = exited.value.code
    return subprocess.CompletedProcess(args, code if isinstance(code, int) else 1, out.out, out.err)


# A progress line of pipelines/progress.py: "<step>: N rows in S s", "  <table> <day>: N
# rows in S s (i/n days)", "<step>: S s" or "<step>: failed".
PROGRESS_LINE = re.compile(r"^\s*[\w.]+( \d{4}-\d{2}-\d{2})?: (.* s( \(\d+/\d+ days\))?|failed)$")


def error_lines(stderr: str) -> list[str]:
    """stderr without the progress lines of a run."""
    return [
        line
        for line in stderr.splitlines()
        if line.strip() and not line.startswith(PROGRESS) and not PROGRESS_LINE.match(line)
    ]


def assert_one_error_line(result: subprocess.CompletedProcess[str], case: Case) -> None:
    assert result.returncode == case.exit_code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    if case.command == "validate":  # validate reports on stdout, in its own format
        assert case.fragment in result.stdout, result.stdout
        return
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("burnwatch: error: "), lines[0]
    assert case.fragment in lines[0], lines[0]


def command_args(case: Case, data: Path, warehouse: Path, extra: list[str]) -> list[str]:
    if case.command == "validate":
        return ["validate", "--manifest", str(data / "slos.yaml"), *extra]
    if case.command == "audit verify":
        return ["audit", "verify", "--warehouse", str(warehouse), *extra]
    args = run_args(data, data / "slos.yaml", warehouse)
    if "--warehouse" in extra:  # the case names its own warehouse
        at = args.index("--warehouse")
        args[at + 1 : at + 2] = []
        args.pop(at)
    return [*args, *extra]


@pytest.mark.parametrize("case", REFUSED_UP_FRONT, ids=[case.name for case in REFUSED_UP_FRONT])
def test_input_is_refused_up_front_with_one_line(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    data, warehouse = tmp_path / "data", tmp_path / "wh"
    build_clean(data)
    extra = case.setup(data, warehouse)
    prepared = set(tmp_path.rglob("*"))
    args = command_args(case, data, warehouse, extra)
    if case.subprocess:
        result = invoke(args, case.env)
    else:
        result = invoke_here(args, case.env, monkeypatch, capsys)
    assert_one_error_line(result, case)
    # Nothing written: the files are the ones the case itself prepared.
    assert set(tmp_path.rglob("*")) == prepared


# --- Cases that need a complete run ------------------------------------------------------


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Data and a warehouse after one complete run (copied by each test that changes it)."""
    root = tmp_path_factory.mktemp("hostile")
    build_clean(root / "data")
    result = invoke(run_args(root / "data", root / "data" / "slos.yaml", root / "wh"))
    assert result.returncode == 0, result.stderr
    return root / "data", root / "wh"


@pytest.fixture
def warehouse(ran: tuple[Path, Path], tmp_path: Path) -> Path:
    shutil.copytree(ran[1], tmp_path / "wh")
    return tmp_path / "wh"


def kill_a_catalog_writer(catalog: Path) -> None:
    """A read-write session of the catalog that writes and is killed: it leaves a WAL."""
    script = (
        "import duckdb, os, sys\n"
        "c = duckdb.connect(sys.argv[1])\n"
        "c.execute('create table mine as select range as i from range(1000)')\n"
        "os._exit(9)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(catalog)], check=False)
    assert catalog.with_name(catalog.name + ".wal").is_file()


@pytest.mark.slow
def test_a_killed_writers_temporaries_and_stale_wal_are_cleaned_by_the_next_run(
    ran: tuple[Path, Path], warehouse: Path
) -> None:
    data = ran[0]
    catalog = warehouse / "burnwatch.duckdb"
    kill_a_catalog_writer(catalog)
    day = sorted((warehouse / "lake" / "stg_requests").iterdir())[0]
    # 99999999 is above any pid_max: a writer that cannot be alive. The live one is us.
    dead = day / ".data.parquet.99999999.tmp"
    dead_wal = warehouse / ".burnwatch.duckdb.99999999.tmp.wal"
    live = day / f".data.parquet.{os.getpid()}.tmp"
    for path in (dead, dead_wal, live):
        path.write_bytes(b"half a file")
    result = invoke(run_args(data, data / "slos.yaml", warehouse))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert not dead.exists() and not dead_wal.exists()
    assert live.exists()  # its writer is alive: not ours to remove
    assert not catalog.with_name(catalog.name + ".wal").exists()
    with duckdb.connect(str(catalog), read_only=True) as connection:
        assert connection.execute("select count(*) from stg_requests").fetchone() == (1200,)


FORCED_CHECK_FAILURE = """
import sys
import polars as pl
import pipelines.assets.ingest_checks as checks
real = checks.conservation_frame
def broken(resource, day):
    frame = real(resource, day)
    lost = pl.when(pl.col("tenant_id") == "bad").then(7).otherwise(pl.col("unaccounted_rows"))
    return frame.with_columns(lost.alias("unaccounted_rows"))
checks.conservation_frame = broken
sys.argv = ["burnwatch", *sys.argv[1:]]
from pipelines.cli.commands import main
main()
"""


@pytest.mark.slow
def test_a_failing_blocking_check_is_one_line_naming_tenant_and_day_and_the_log(
    tmp_path: Path,
) -> None:
    data, warehouse = tmp_path / "data", tmp_path / "wh"
    build_clean(data)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            FORCED_CHECK_FAILURE,
            *run_args(data, data / "slos.yaml", warehouse),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    case = Case(
        "failing blocking check",
        2,
        "check int_quarantine_counts.conservation failed: tenant bad, day 2026-10-01: 7 of "
        "200 input row(s) neither counted nor quarantined (and 2 more) (full log: ",
    )
    assert_one_error_line(result, case)
    log = Path(error_lines(result.stderr)[0].rsplit("(full log: ", 1)[1].rstrip(")"))
    assert log.parent == warehouse / "logs" and log.is_file()
    # The trace is in the log, not on the terminal.
    assert "DagsterAssetCheckFailedError" in log.read_text()


@pytest.mark.slow
def test_an_outbox_held_open_is_refused_before_anything_is_written(
    ran: tuple[Path, Path], warehouse: Path
) -> None:
    data = ran[0]
    outbox = warehouse / "state" / "outbox.duckdb"
    script = (
        "import duckdb, sys, time\n"
        "c = duckdb.connect(sys.argv[1])\n"
        "print('held', flush=True)\n"
        "time.sleep(600)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(outbox)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = {p: p.stat().st_mtime_ns for p in warehouse.rglob("*") if p.is_file()}
        result = invoke([*run_args(data, data / "slos.yaml", warehouse), "--full"])
        assert_one_error_line(result, Case("held outbox", 2, "outbox.duckdb: held open by"))
        after = {p: p.stat().st_mtime_ns for p in warehouse.rglob("*") if p.is_file()}
        changed = {p for p in after if before.get(p) != after[p]}
        assert changed <= {warehouse / ".burnwatch.lock"}, changed
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_ctrl_c_exits_130_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    data, warehouse = tmp_path / "data", tmp_path / "wh"
    build_clean(data)
    process = subprocess.Popen(
        [*BURNWATCH, *run_args(data, data / "slos.yaml", warehouse)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watched = warehouse / "lake" / "stg_requests"
    deadline = time.monotonic() + 600
    while not watched.exists() and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    lines = error_lines(stderr)
    assert len(lines) == 1 and lines[0].startswith("burnwatch: interrupted"), stderr
    assert not [path for path in warehouse.rglob("*.tmp*")]
    # Every partition written is whole, and an interrupted run commits no ledger.
    for path in warehouse.rglob("data.parquet"):
        duckdb.execute(f"select count(*) from read_parquet('{path}')")
    assert not ledger.ledger_path(warehouse).exists()
