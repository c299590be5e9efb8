"""Which replayed policies would page more than the policy in force.

A derived threshold is a guard against noise, never a reason to page more
(issue 13). `cohort_thresholds` already holds each proposal at the rule's own
threshold; this says, from a replay, whether a whole proposed policy still sends
more pages (`replay_comparison.pages_sent`: what people receive, grouped alerts
and escalations) than the current one. The report and the `policy_replay` asset
check both read it, so the rule is written once.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

# The policy in force, in order of preference: the manifest's own rules when they were
# replayed (`burnwatch replay --policy manifest`), else the Workbook's, which is the
# policy of a manifest without a `policy:` key and the default replay's first row.
CURRENT_POLICIES: tuple[str, ...] = ("manifest", "workbook")
# Replayed to compare against, never proposed: flagging it would say nothing new.
REFERENCE_POLICIES: tuple[str, ...] = ("single-window",)


@dataclass(frozen=True)
class PagingMore:
    """A proposed policy that sent more pages in the replay than the current one."""

    policy_name: str
    pages_sent: int
    current_policy: str
    current_pages_sent: int

    def describe(self) -> str:
        """One line for the report and the UI."""
        extra = self.pages_sent - self.current_pages_sent
        return (
            f"{self.policy_name} would send {self.pages_sent} pages over the replay, "
            f"{extra} more than the current policy ({self.current_policy}: "
            f"{self.current_pages_sent})"
        )


def current_policy(comparison: pl.DataFrame) -> str | None:
    """The replayed policy that stands for the one in force; None when none was replayed."""
    if "policy_name" not in comparison.columns:
        return None
    names = set(comparison["policy_name"].to_list())
    return next((name for name in CURRENT_POLICIES if name in names), None)


def paging_more(comparison: pl.DataFrame) -> list[PagingMore]:
    """Every proposed policy of a `replay_comparison` whose pages_sent exceed the current
    policy's, in the comparison's order; empty when the table cannot say (no current
    policy replayed, or no pages_sent column)."""
    current = current_policy(comparison)
    if current is None or "pages_sent" not in comparison.columns:
        return []
    if "policy_order" in comparison.columns:
        comparison = comparison.sort("policy_order")
    pages = {
        str(row["policy_name"]): int(row["pages_sent"] or 0)
        for row in comparison.select("policy_name", "pages_sent").iter_rows(named=True)
    }
    baseline = pages[current]
    return [
        PagingMore(name, sent, current, baseline)
        for name, sent in pages.items()
        if name != current
        and name not in CURRENT_POLICIES
        and name not in REFERENCE_POLICIES
        and sent > baseline
    ]
