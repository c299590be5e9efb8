"""How a run's days are cut into scan blocks: runs of consecutive days, within a row budget."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingest.files import discover_request_files
from pipelines.ingest.staging import input_rows_by_day
from pipelines.partitions import consecutive_blocks, scan_blocks
from pipelines.resources import BurnwatchResource

D = [dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(8)]


def test_consecutive_blocks_split_at_gaps_whatever_the_order() -> None:
    assert consecutive_blocks([D[4], D[0], D[2], D[1], D[2], D[6]]) == [
        [D[0], D[1], D[2]],
        [D[4]],
        [D[6]],
    ]
    assert consecutive_blocks([]) == []


def _write_day(data: Path, tenant: str, day: dt.date, rows: int) -> None:
    folder = data / "requests" / f"tenant={tenant}" / f"date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"request_id": [str(i) for i in range(rows)]}), folder / "p.parquet")


def _brute_force_blocks(
    rows_by_day: dict[dt.date, int], days: list[dt.date], budget: int
) -> list[list[dt.date]]:
    """Greedy by hand: extend the block while the next day is adjacent and fits."""
    blocks: list[list[dt.date]] = []
    for day in sorted(set(days)):
        last = blocks[-1] if blocks else None
        if (
            last is not None
            and (day - last[-1]).days == 1
            and sum(rows_by_day.get(d, 0) for d in last) + rows_by_day.get(day, 0) <= budget
        ):
            last.append(day)
        else:
            blocks.append([day])
    return blocks


def test_scan_blocks_keep_each_block_within_the_row_budget(tmp_path: Path) -> None:
    sizes = {D[0]: 10, D[1]: 10, D[2]: 30, D[3]: 5, D[4]: 5, D[5]: 5, D[7]: 10}
    for day, rows in sizes.items():
        # Two tenants: a day's rows are the sum over its folders.
        _write_day(tmp_path, "a", day, rows - 2)
        _write_day(tmp_path, "b", day, 2)
    resource = BurnwatchResource(
        data_dir=str(tmp_path), manifest=str(tmp_path / "slos.yaml"), warehouse=str(tmp_path)
    )
    days = [*sizes, D[6]]  # D[6] has no folder at all: 0 rows, still a day of the run
    counted = input_rows_by_day(resource, discover_request_files(tmp_path), days)
    assert counted == sizes
    for budget in (1, 10, 20, 25, 40, 1000):
        blocks = scan_blocks(days, counted, budget)
        assert blocks == _brute_force_blocks(sizes, days, budget), budget
        assert [day for block in blocks for day in block] == sorted(days)
    # A day larger than the budget is a block alone; the budget never merges across gaps.
    assert [D[2]] in scan_blocks(days, counted, 20)
    assert scan_blocks([D[0], D[2]], counted, 1000) == [[D[0]], [D[2]]]
