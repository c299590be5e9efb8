"""The request inventory (pipelines/ingest/files.py) against a brute-force walk.

The inventory walks `requests/` with os.walk; the oracle here walks it with pathlib's
rglob and a stat per entry, the way the inventory did before, and classifies each entry
by the layout's rules. Both must agree on every file read and every entry skipped, on
a tree with the awkward cases: files nested under hour folders, extensions in upper
case, hidden files, non-Parquet files, empty folders and a symlinked folder.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

import pipelines.ingest.files as files_module
from pipelines.ingest import ledger
from pipelines.ingest.files import (
    RequestFile,
    RequestInventory,
    SkippedEntry,
    inventory_requests,
    pinned_inventory,
    requests_root,
)
from pipelines.runner import run_pipeline
from pipelines.warehouse import lake
from tests.conftest import request, write_requests


def _oracle(data: Path) -> tuple[list[RequestFile], list[SkippedEntry]]:
    found: list[RequestFile] = []
    skipped: list[SkippedEntry] = []
    for tenant_dir in requests_root(data).iterdir():
        if not tenant_dir.is_dir() or not tenant_dir.name.startswith("tenant="):
            skipped.append(SkippedEntry(tenant_dir, "not a tenant=<id> folder"))
            continue
        tenant = tenant_dir.name.removeprefix("tenant=")
        for day_dir in tenant_dir.iterdir():
            try:
                day = dt.date.fromisoformat(day_dir.name.removeprefix("date="))
            except ValueError:
                day = None
            if not day_dir.is_dir() or not day_dir.name.startswith("date=") or day is None:
                continue  # the inventory's reasons for these are tested elsewhere
            for path in day_dir.rglob("*"):
                # rglob yields a symlinked folder without entering it; it is not a file.
                if path.is_dir():
                    continue
                if path.suffix.lower() == ".parquet":
                    found.append(RequestFile(day, tenant, path))
                else:
                    skipped.append(SkippedEntry(path, "not a .parquet file"))
    return sorted(found), sorted(skipped)


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def test_inventory_matches_a_brute_force_walk(tmp_path: Path) -> None:
    root = requests_root(tmp_path)
    for tenant in ("acme", "beta", "gamma"):
        for day in ("2026-10-01", "2026-10-02"):
            _touch(root / f"tenant={tenant}" / f"date={day}" / "part-0.parquet")
    day_dir = root / "tenant=acme" / "date=2026-10-01"
    _touch(day_dir / "hour=00" / "part-1.parquet")
    _touch(day_dir / "hour=01" / "deeper" / "part-2.PARQUET")
    _touch(day_dir / ".hidden.parquet")
    _touch(day_dir / "_SUCCESS")
    _touch(day_dir / "hour=02" / "notes.txt")
    (day_dir / "empty-hour").mkdir()
    outside = tmp_path / "elsewhere"
    _touch(outside / "linked.parquet")
    (root / "tenant=beta" / "date=2026-10-02" / "linked").symlink_to(outside)

    inventory = inventory_requests(tmp_path)
    files, skipped = _oracle(tmp_path)

    assert inventory.files == files
    assert inventory.skipped == skipped
    # The oracle is not vacuous: the nested, upper-case and hidden files are read, the
    # others are named, and nothing behind the symlinked folder is read.
    paths = {file.path for file in inventory.files}
    assert day_dir / "hour=01" / "deeper" / "part-2.PARQUET" in paths
    assert day_dir / ".hidden.parquet" in paths
    assert len(inventory.files) == 6 + 3
    assert {entry.path.name for entry in inventory.skipped} == {"_SUCCESS", "notes.txt"}
    assert not any("linked" in str(path) for path in paths)


def test_a_pinned_inventory_answers_any_spelling_of_its_folder_until_the_block_ends(
    tmp_path: Path,
) -> None:
    root = requests_root(tmp_path)
    _touch(root / "tenant=acme" / "date=2026-10-01" / "part-0.parquet")
    late = root / "tenant=acme" / "date=2026-10-02" / "part-0.parquet"
    other_spelling = tmp_path / "requests" / ".." / "."
    with pinned_inventory(tmp_path) as pinned:
        _touch(late)  # lands while the run goes on
        seen = inventory_requests(other_spelling)
        assert seen.files == pinned.files
        assert [file.path for file in seen.files] == [
            root / "tenant=acme" / "date=2026-10-01" / "part-0.parquet"
        ]
    after = inventory_requests(tmp_path)
    assert late in [file.path for file in after.files]


def test_no_caller_can_change_what_the_pinned_inventory_tells_the_next(tmp_path: Path) -> None:
    _touch(requests_root(tmp_path) / "tenant=acme" / "date=2026-10-01" / "part-0.parquet")
    with pinned_inventory(tmp_path):
        first = inventory_requests(tmp_path)
        first.files.clear()
        first.skipped.append(SkippedEntry(tmp_path, "made up"))
        again = inventory_requests(tmp_path)
    assert len(again.files) == 1
    assert again.skipped == []


def test_a_run_walks_the_data_folder_twice_whatever_its_days(
    small_dataset: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every per-day step used to walk all of requests/ (37 walks for a 7-day run): a
    # cost of tenants x days of logs per day computed. Now the run's own inventory and
    # the one pinned for its steps are the only walks, for two days as for any number.
    data, manifest = small_dataset
    walks: list[Path] = []
    walk = files_module._walk_requests

    def counted(data_dir: Path) -> RequestInventory:
        walks.append(Path(data_dir))
        return walk(data_dir)

    monkeypatch.setattr(files_module, "_walk_requests", counted)
    outcome = run_pipeline(data, manifest, tmp_path / "wh", dry_run=True, say=lambda _: None)
    assert (outcome.first_day, outcome.last_day) == (dt.date(2026, 10, 1), dt.date(2026, 10, 2))
    assert len(walks) == 2, walks


def test_the_ledger_records_the_files_the_steps_read_not_an_earlier_walk(
    small_dataset: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file that the run's own walk missed (it landed just after), but that was there
    # before the run started, is read by the steps through their pinned walk; the ledger
    # must record it, or the next cycle would take it for new and compute its day again.
    data, manifest = small_dataset
    late = data / "requests" / "tenant=acme" / "date=2026-10-02" / "late.parquet"
    write_requests(late, [request("late-1", dt.datetime(2026, 10, 2, 12, 0, 7), status=503)])
    walk = files_module._walk_requests
    walks: list[Path] = []

    def first_walk_misses_the_late_file(data_dir: Path) -> RequestInventory:
        walks.append(Path(data_dir))
        found = walk(data_dir)
        if len(walks) > 1:
            return found
        kept = [file for file in found.files if file.path.name != late.name]
        return RequestInventory(found.root, kept, found.skipped)

    monkeypatch.setattr(files_module, "_walk_requests", first_walk_misses_the_late_file)
    warehouse = tmp_path / "wh"
    run_pipeline(data, manifest, warehouse, dry_run=True, say=lambda _: None)
    assert "requests/tenant=acme/date=2026-10-02/late.parquet" in ledger.read_ledger(warehouse)
    kept = (
        duckdb.connect()
        .execute(
            "select count(*) from read_parquet(?) where request_id = 'late-1'",
            [str(lake.partition_path(warehouse, "stg_requests", dt.date(2026, 10, 2)))],
        )
        .fetchone()
    )
    assert kept == (1,)
