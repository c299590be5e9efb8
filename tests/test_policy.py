"""Alert policies in the manifest: threshold forms, overrides, and rules that cannot fire."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.models.build import alert_policy_frame
from schemas.errors import BurnwatchInputError
from schemas.manifest import WINDOW_MINUTES, PolicyRule, WindowLabel, load_manifest

BASE = """\
cohorts:
  enterprise:
    availability: {objective: 99.9}
  free:
    availability: {objective: 99.0}
    period_days: 28
    policy:
      suppress_tickets_while_paging: false
      rules:
        - {name: page-1h, min_events: 50}
        - {name: ticket-3d, enabled: false}
tenants:
  - id: acme
    cohort: enterprise
    slos:
      - {name: api, service: api, sli: availability}
  - id: tiny
    cohort: free
    policy:
      rules:
        - {name: page-6h, budget_consumed_percent: 10, min_denominator: 200}
        - {name: ticket-3d, enabled: true}
        - {name: slow, severity: ticket, long_window: 3d, short_window: 6h, burn_rate: 2}
    slos:
      - {name: api, service: api, sli: availability}
  - id: loose
    cohort: free
    slos:
      - {name: api, service: api, sli: availability, objective: 95}
"""


def _manifest(tmp_path: Path, text: str = BASE):
    path = tmp_path / "slos.yaml"
    path.write_text(text)
    return load_manifest(path)


def _rules(tmp_path: Path, text: str = BASE) -> dict[tuple[str, str], dict]:
    frame = alert_policy_frame(_manifest(tmp_path, text))
    return {(row["tenant_id"], row["rule_name"]): row for row in frame.to_dicts()}


def _percent_rule(window: WindowLabel, percent: float) -> PolicyRule:
    """A page rule on `window` (short window 5m) set by the budget percent it consumes."""
    return PolicyRule(
        name="r",
        severity="page",
        long_window=window,
        short_window="5m",
        budget_consumed_percent=percent,
    )


@pytest.mark.parametrize(
    ("percent", "period_days", "window", "burn"),
    [
        (2, 30, "1h", 14.4),
        (5, 30, "6h", 6.0),
        (10, 30, "1d", 3.0),
        (10, 30, "3d", 1.0),
        (2, 28, "1h", 13.44),
        (100, 30, "3d", 10.0),
    ],
)
def test_budget_percent_converts_to_burn_rate(
    percent: float, period_days: int, window: WindowLabel, burn: float
) -> None:
    rule = _percent_rule(window, percent)
    assert rule.burn_threshold(period_days) == pytest.approx(burn, rel=1e-12)


@given(
    percent=st.floats(min_value=0.01, max_value=100),
    period_days=st.integers(min_value=1, max_value=366),
    window=st.sampled_from(["30m", "1h", "2h", "6h", "1d", "3d"]),
)
def test_percent_and_burn_rate_forms_are_inverse(
    percent: float, period_days: int, window: WindowLabel
) -> None:
    burn = _percent_rule(window, percent).burn_threshold(period_days)
    # burn b over window w spends b * w / period of the budget
    spent = burn * WINDOW_MINUTES[window] / (period_days * 1440) * 100
    assert math.isclose(spent, percent, rel_tol=1e-12)


def test_a_rule_needs_exactly_one_threshold_form(tmp_path: Path) -> None:
    text = BASE.replace(
        "  enterprise:\n",
        "  enterprise:\n    policy:\n      rules:\n"
        "        - {name: page-1h, burn_rate: 10, budget_consumed_percent: 2}\n",
        1,
    )
    with pytest.raises(BurnwatchInputError, match="exactly one of burn_rate or budget"):
        _manifest(tmp_path, text)
    text = (
        "policy:\n  rules:\n    - {name: x, severity: page, long_window: 1h, "
        "short_window: 5m}\n" + BASE
    )
    with pytest.raises(BurnwatchInputError, match="exactly one"):
        _manifest(tmp_path, text)


def test_default_policy_is_the_workbook_for_every_tenant_without_overrides(
    tmp_path: Path,
) -> None:
    rules = _rules(tmp_path)
    acme = {name: row for (tenant, name), row in rules.items() if tenant == "acme"}
    assert {n: r["burn_threshold"] for n, r in acme.items()} == {
        "page-1h": 14.4,
        "page-6h": 6.0,
        "ticket-1d": 3.0,
        "ticket-3d": 1.0,
    }
    assert {n: r["budget_consumed_percent"] for n, r in acme.items()} == pytest.approx(
        {"page-1h": 2.0, "page-6h": 5.0, "ticket-1d": 10.0, "ticket-3d": 10.0}
    )
    assert all(
        r["source"] == "default"
        and r["suppress_tickets_while_paging"]
        and r["min_events"] == 0
        and r["min_denominator"] is None
        for r in acme.values()
    )


def test_cohort_override_patches_named_keys_and_disables_rules(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    loose = {name for tenant, name in rules if tenant == "loose"}
    assert loose == {"page-1h", "page-6h", "ticket-1d"}  # ticket-3d disabled by the cohort
    page = rules[("loose", "page-1h")]
    assert page["min_events"] == 50 and page["burn_threshold"] == 14.4  # threshold inherited
    assert page["source"] == "cohort"
    assert not page["suppress_tickets_while_paging"]


def test_tenant_override_replaces_threshold_form_adds_and_reenables(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    tiny = {name for tenant, name in rules if tenant == "tiny"}
    assert tiny == {"page-1h", "page-6h", "ticket-1d", "ticket-3d", "slow"}
    six = rules[("tiny", "page-6h")]
    # 10% of a 28-day budget over 6h: 0.1 * 28 * 24 / 6
    assert six["burn_threshold"] == pytest.approx(11.2, rel=1e-12)
    assert six["min_denominator"] == 200 and six["source"] == "tenant"
    assert rules[("tiny", "page-1h")]["min_events"] == 50  # the cohort's patch still applies
    assert rules[("tiny", "slow")]["burn_threshold"] == 2.0
    assert rules[("tiny", "ticket-3d")]["burn_threshold"] == 1.0


def test_a_new_rule_in_an_override_must_be_complete(tmp_path: Path) -> None:
    text = BASE.replace(
        "        - {name: ticket-3d, enabled: true}\n",
        "        - {name: brand-new, burn_rate: 3}\n",
    )
    with pytest.raises(
        BurnwatchInputError,
        match=r"tenants\[1\]\.policy: policy rule "
        r"'brand-new': severity: Field required",
    ):
        _manifest(tmp_path, text)


def test_a_threshold_above_the_maximum_burn_cannot_fire_and_is_reported(tmp_path: Path) -> None:
    # loose has a 95% objective: at most 1 / 0.05 = 20x; page-1h (14.4x) can, a 25x rule cannot.
    text = (
        BASE + "    policy:\n      rules:\n"
        "        - {name: page-1h, burn_rate: 25}\n        - {name: page-6h, burn_rate: 20}\n"
    )
    manifest = _manifest(tmp_path, text)
    rules = {(r["tenant_id"], r["rule_name"]): r for r in alert_policy_frame(manifest).to_dicts()}
    assert rules[("loose", "page-1h")]["max_burn_rate"] == pytest.approx(20.0)
    assert not rules[("loose", "page-1h")]["can_fire"]
    assert not rules[("loose", "page-6h")]["can_fire"]  # equal: burn must be strictly above
    assert rules[("loose", "ticket-1d")]["can_fire"]
    assert all(r["can_fire"] for (tenant, _), r in rules.items() if tenant != "loose")
    warnings = manifest.policy_warnings()
    assert len(warnings) == 2
    assert warnings[0].startswith("rule page-1h of loose/api can never fire: its threshold 25x")
    assert "maximum possible burn 20x of a 95% objective" in warnings[0]


def test_a_percent_rule_can_exceed_the_maximum_burn_on_a_long_period(tmp_path: Path) -> None:
    # 50% of a 30-day budget in one hour is a 360x burn: more than a 99.9% SLO's 1000x? No;
    # of a 99% SLO's 100x: yes.
    text = BASE.replace(
        "  - id: acme\n",
        "  - id: acme\n    policy:\n      rules:\n"
        "        - {name: page-1h, budget_consumed_percent: 50}\n",
        1,
    )
    rules = _rules(tmp_path, text)
    assert rules[("acme", "page-1h")]["burn_threshold"] == pytest.approx(360.0)
    assert rules[("acme", "page-1h")]["can_fire"]  # 99.9%: max 1000x
