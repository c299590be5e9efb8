"""A proposed policy that would page more than the current one is flagged (issue 13).

Given replay_comparison rows -> expected flags; then the same rule as the UI shows it,
the `policy_replay` asset check, on a lake that holds only the comparison. (The
report's side is in tests/test_report.py.)
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.assets.policy import replay_proposals_never_page_more
from pipelines.policy.paging_guard import PagingMore, paging_more
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake
from schemas.tables import TABLES


def comparison(pages: dict[str, int]) -> pl.DataFrame:
    """replay_comparison with every column of schemas.tables, the policies in the order
    given, each with its pages_sent (the rest null: the guard reads nothing else)."""
    schema = {n: c.dtype.type for n, c in TABLES["replay_comparison"].to_schema().columns.items()}
    rows = [
        {**dict.fromkeys(schema), "policy_name": name, "policy_order": order, "pages_sent": sent}
        for order, (name, sent) in enumerate(pages.items(), start=1)
    ]
    return pl.DataFrame(rows, schema=schema, orient="row")


def test_a_proposal_sending_more_pages_than_the_workbook_is_flagged() -> None:
    # The numbers: the cohort policy sent 315 pages where the Workbook sent 6.
    flags = paging_more(comparison({"workbook": 6, "cohort": 315, "single-window": 40}))
    assert flags == [PagingMore("cohort", 315, "workbook", 6)]
    assert flags[0].describe() == (
        "cohort would send 315 pages over the replay, 309 more than the current policy "
        "(workbook: 6)"
    )


def test_as_many_or_fewer_pages_is_not_flagged() -> None:
    assert paging_more(comparison({"workbook": 6, "cohort": 6})) == []
    assert paging_more(comparison({"workbook": 6, "cohort": 2})) == []


def test_the_manifests_own_policy_is_the_current_one_when_replayed() -> None:
    flags = paging_more(comparison({"workbook": 3, "manifest": 10, "cohort": 8, "mine.yaml": 12}))
    assert [(f.policy_name, f.current_policy) for f in flags] == [("mine.yaml", "manifest")]


def test_the_single_window_reference_is_never_flagged() -> None:
    assert paging_more(comparison({"workbook": 6, "single-window": 90})) == []


def test_without_a_current_policy_in_the_replay_nothing_can_be_said() -> None:
    assert paging_more(comparison({"cohort": 315, "mine.yaml": 2})) == []
    assert paging_more(pl.DataFrame({"rule_name": ["page-1h"]})) == []


def _resource(warehouse: Path) -> BurnwatchResource:
    return BurnwatchResource(data_dir="", manifest="", warehouse=str(warehouse))


def test_the_ui_check_warns_and_names_the_policy(tmp_path: Path) -> None:
    target = lake.partition_path(tmp_path, "replay_comparison", None)
    target.parent.mkdir(parents=True)
    comparison({"workbook": 6, "cohort": 315}).write_parquet(target)
    result = replay_proposals_never_page_more(burnwatch=_resource(tmp_path))
    assert isinstance(result, dg.AssetCheckResult)
    assert result.passed is False and result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["would_page_more"].value == 1
    assert "cohort would send 315 pages" in str(result.metadata["proposals"].value)


def test_the_ui_check_passes_when_no_proposal_pages_more(tmp_path: Path) -> None:
    target = lake.partition_path(tmp_path, "replay_comparison", None)
    target.parent.mkdir(parents=True)
    comparison({"workbook": 6, "cohort": 4}).write_parquet(target)
    result = replay_proposals_never_page_more(burnwatch=_resource(tmp_path))
    assert result.passed is True
