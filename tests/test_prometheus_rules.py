"""`burnwatch rules`: valid Prometheus rules whose thresholds are the policy's.

promtool checks the files; the thresholds are read back from the YAML and
compared with values computed here from the manifest text, independently of
`schemas.manifest`; the budget each rule lets burn is the SRE Workbook's table.
"""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from pipelines.interop.prometheus_rules import (
    ALERT_NAME,
    WINDOWS,
    le_matcher,
    number,
    render,
    rule_groups,
    write_rules,
)
from schemas.manifest import Manifest, PolicyRule, load_manifest, workbook_policy
from tests.cli_helpers import promtool

MANIFEST = """\
version: 1
period_days: 30
policy:
  rules:
    - {name: fast, severity: page, long_window: 1h, short_window: 5m, burn_rate: 10}
    - {name: medium, severity: page, long_window: 6h, short_window: 30m, burn_rate: 5.5}
    - {name: slow, severity: ticket, long_window: 3d, short_window: 6h, burn_rate: 0.75}
cohorts:
  gold:
    availability: {objective: 99.95}
    latency: {objective: 99.0, threshold_ms: 250}
  silver:
    period_days: 7
    availability: {objective: 99.5}
    latency: {objective: 95.0, threshold_ms: 1000}
    policy:
      rules:
        - {name: medium, budget_consumed_percent: 10}
  trial:
    period_days: 3
    availability: {objective: 99.0}
tenants:
  - id: acme
    cohort: gold
    slos:
      - {name: api-availability, service: api, sli: availability}
      - {name: api-latency, service: api, sli: latency}
      - {name: web-availability, service: web, sli: availability, objective: 99.9}
      - {name: checkout, service: web, sli: availability, bad_when: "status_code >= 400"}
  - id: globex.eu
    cohort: silver
    slos:
      - {name: api-availability, service: api, sli: availability}
      - {name: web-latency, service: web, sli: latency, threshold_ms: 400, period_days: 28}
  - id: initech
    cohort: trial
    policy:
      rules:
        - {name: slow, enabled: false}
        - {name: fast, min_events: 50, min_denominator: 200}
    slos:
      - {name: batch_availability, service: batch-jobs, sli: availability, objective: 98.5}
"""

WORKBOOK_MANIFEST = """\
cohorts:
  standard:
    availability: {objective: 99.9}
tenants:
  - id: acme
    cohort: standard
    slos:
      - {name: api-availability, service: api, sli: availability}
"""

DAMPED_CONDITION = re.compile(
    r"\(\(sum\(increase\(\w+\{(?P<selector>[^}]*)\}\[(?P<window>\w+)\]\)\).*?"
    r"/ clamp_min\(.*?, \d+\) / (?P<budget>[0-9.e+-]+) > (?P<burn>[0-9.e+-]+)\)"
)
ALERT_CONDITION = re.compile(
    r"max\(slo:sli_error:ratio_rate(?P<window>\w+)\{(?P<selector>[^}]*)\} / "
    r"(?P<budget>[0-9.e+-]+) > (?P<burn>[0-9.e+-]+)\) without \(sloth_window\)"
)


@pytest.fixture
def manifest_file(tmp_path: Path) -> Path:
    path = tmp_path / "slos.yaml"
    path.write_text(MANIFEST)
    return path


def rule_documents(out: Path) -> dict[str, dict[str, Any]]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(out.glob("*.yml"))}


def expected_thresholds(text: str) -> dict[tuple[str, str, str], tuple[float, float]]:
    """(tenant, SLO, rule) -> (objective, burn threshold), resolved by hand from the YAML:
    cohort defaults, then the manifest policy patched by cohort and tenant overrides, a
    `budget_consumed_percent` turned into a burn rate over the SLO's period."""
    document = yaml.safe_load(text)
    expected = {}
    for tenant in document["tenants"]:
        cohort = document["cohorts"][tenant["cohort"]]
        rules = {rule["name"]: dict(rule) for rule in document["policy"]["rules"]}
        for layer in (cohort.get("policy"), tenant.get("policy")):
            for patch in (layer or {}).get("rules", []):
                if "burn_rate" in patch or "budget_consumed_percent" in patch:
                    rules[patch["name"]].pop("burn_rate", None)
                rules[patch["name"]].update(patch)
        for slo in tenant["slos"]:
            if "bad_when" in slo:
                continue
            objective = float(slo.get("objective", cohort[slo["sli"]]["objective"]))
            period = slo.get("period_days", cohort.get("period_days", document["period_days"]))
            for rule in rules.values():
                if not rule.get("enabled", True):
                    continue
                hours = {"1h": 1, "6h": 6, "3d": 72}[rule["long_window"]]
                burn = rule.get("burn_rate") or (
                    rule["budget_consumed_percent"] / 100 * period * 24 / hours
                )
                expected[(tenant["id"], slo["name"], rule["name"])] = (objective, float(burn))
    return expected


def test_promtool_accepts_the_rules(manifest_file: Path, tmp_path: Path) -> None:
    binary = promtool()
    out = tmp_path / "rules"
    from pipelines.cli.commands import cli

    result = CliRunner().invoke(cli, ["rules", "--manifest", str(manifest_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 3 rule file(s), 6 SLO(s), 17 alert rule(s)" in result.output
    assert "no rules for acme/checkout: a custom bad_when/good_when predicate" in result.output
    files = sorted(out.glob("*.rules.yml"))
    assert [path.name for path in files] == [
        "burnwatch-acme.rules.yml",
        "burnwatch-globex.eu.rules.yml",
        "burnwatch-initech.rules.yml",
    ]
    check = subprocess.run(
        [binary, "check", "rules", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(check.stdout + check.stderr)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("SUCCESS") == 3


def test_thresholds_are_the_policys(manifest_file: Path, tmp_path: Path) -> None:
    manifest = load_manifest(manifest_file)
    write_rules(manifest, tmp_path / "rules")
    expected = expected_thresholds(MANIFEST)
    windows = {
        rule["name"]: (rule["long_window"], rule["short_window"], rule["severity"])
        for rule in yaml.safe_load(MANIFEST)["policy"]["rules"]
    }
    seen = {}
    for document in rule_documents(tmp_path / "rules").values():
        for group in document["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                assert rule["alert"] == ALERT_NAME
                labels = rule["labels"]
                key = (labels["tenant_id"], labels["sloth_slo"], labels["burnwatch_rule"])
                objective, threshold = expected[key]
                long_window, short_window, severity = windows[key[2]]
                assert labels["severity"] == severity
                assert "for" not in rule  # fires at the first evaluation, as the batch does
                conditions = [
                    (m["window"], m["selector"], m["budget"], m["burn"])
                    for pattern in (ALERT_CONDITION, DAMPED_CONDITION)
                    for m in pattern.finditer(rule["expr"])
                ]
                assert [window for window, *_ in conditions] == [long_window, short_window]
                for _window, selector, budget, burn in conditions:
                    assert f'tenant_id="{key[0]}"' in selector
                    # The literals are the policy's burn rate and the batch's budget, bit for bit.
                    assert float(budget) == (100 - objective) / 100
                    assert math.isclose(float(burn), threshold, rel_tol=1e-12)
                    # The ratio threshold is burn_rate * (1 - objective).
                    assert math.isclose(
                        float(burn) * float(budget),
                        threshold * (1 - objective / 100),
                        rel_tol=1e-12,
                    )
                seen[key] = rule["expr"]
    assert set(seen) == set(expected)
    # globex.eu's cohort spends 10% of the budget in 6h: 2.8x over 7 days, 11.2x over 28.
    assert "> 2.8)" in seen[("globex.eu", "api-availability", "medium")]
    assert "> 11.2)" in seen[("globex.eu", "web-latency", "medium")]
    # initech's guards: at least 50 requests in the hour, burn over max(total, 200).
    damped = seen[("initech", "batch_availability", "fast")]
    assert "clamp_min(sum(increase(burnwatch_requests_total{" in damped
    assert ", 200) / 0.015 > 10)" in damped
    assert damped.endswith(
        'and on ()\n(sum(increase(burnwatch_requests_total{tenant_id="initech", '
        'service="batch-jobs"}[1h])) >= 50)\n'
    )


def test_default_policy_is_the_workbooks(tmp_path: Path) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(WORKBOOK_MANIFEST)
    text = render(load_manifest(path))["burnwatch-acme.rules.yml"]
    found = sorted(
        (burn, window)
        for window, _, budget, burn in ALERT_CONDITION.findall(text)
        if budget == "0.0009999999999999432"
    )
    assert found == sorted(
        [
            ("14.4", "1h"),
            ("14.4", "5m"),
            ("6", "6h"),
            ("6", "30m"),
            ("3", "1d"),
            ("3", "2h"),
            ("1", "3d"),
            ("1", "6h"),
        ]
    )


@pytest.mark.parametrize(
    ("name", "burn", "hours", "spent"),
    [
        ("page-1h", 14.4, 1, 0.02),
        ("page-6h", 6, 6, 0.05),
        ("ticket-1d", 3, 24, 0.10),
        ("ticket-3d", 1, 72, 0.10),
    ],
)
def test_workbook_budget_table(
    tmp_path: Path, name: str, burn: float, hours: int, spent: float
) -> None:
    """SRE Workbook: 14.4x for 1h, 6x for 6h, 3x for 1d and 1x for 3d spend 2%, 5%, 10%
    and 10% of a 30-day budget (burn * window / 720h)."""
    path = tmp_path / "slos.yaml"
    path.write_text(WORKBOOK_MANIFEST)
    rule = {rule.rule_name: rule for rule in load_manifest(path).resolved_rules()}[name]
    assert rule.burn_threshold == burn == {r.name: r for r in workbook_policy()}[name].burn_rate
    assert math.isclose(burn * hours / (30 * 24), spent)
    assert math.isclose(rule.budget_consumed_percent / 100, spent)
    text = render(load_manifest(path))["burnwatch-acme.rules.yml"]
    assert f"At {number(burn)}x for {rule.long_window}, {spent:.1%} of the period" in text


def test_every_window_is_recorded_with_sloth_labels(manifest_file: Path, tmp_path: Path) -> None:
    manifest = load_manifest(manifest_file)
    write_rules(manifest, tmp_path / "rules")
    document = rule_documents(tmp_path / "rules")["burnwatch-globex.eu.rules.yml"]
    groups = {group["name"]: group["rules"] for group in document["groups"]}
    assert list(groups) == [
        "burnwatch-globex.eu-api-availability",
        "burnwatch-globex.eu-web-latency",
    ]
    latency = groups["burnwatch-globex.eu-web-latency"]
    records = {rule["record"]: rule for rule in latency if "record" in rule}
    for window in WINDOWS:
        rule = records[f"slo:sli_error:ratio_rate{window}"]
        assert rule["labels"] == {
            "cohort": "silver",
            "sloth_id": "globex.eu-web-latency",
            "sloth_service": "web",
            "sloth_slo": "web-latency",
            "sloth_window": window,
            "tenant_id": "globex.eu",
        }
        assert f"[{window}]" in rule["expr"]
        assert 'le="0.4"' in rule["expr"]  # 400 ms is the 0.4 s bucket
    assert "slo:sli_error:ratio_rate28d" in records  # the SLO's own period
    assert records["slo:error_budget:ratio"]["expr"] == "vector(0.05)"
    assert records["slo:objective:ratio"]["expr"] == "vector(0.95)"
    assert records["slo:time_period:days"]["expr"] == "vector(28)"
    # Recordings come before the alerts that read them, in the same group.
    kinds = ["record" if "record" in rule else "alert" for rule in latency]
    assert kinds == sorted(kinds, reverse=True)


def test_a_period_equal_to_a_window_is_not_recorded_twice(manifest_file: Path) -> None:
    text = render(load_manifest(manifest_file))["burnwatch-initech.rules.yml"]
    assert text.count("record: slo:sli_error:ratio_rate3d") == 1  # the trial cohort's 3 days


def test_latency_bucket_matchers() -> None:
    assert le_matcher(250) == ("=", "0.25")
    assert le_matcher(1000) == ("=~", "1|1\\.0")
    assert le_matcher(2500) == ("=", "2.5")
    assert number(6.0) == "6" and number(14.4) == "14.4"
    assert float(number((100 - 99.9) / 100)) == (100 - 99.9) / 100


def test_output_is_deterministic_and_stale_files_go(manifest_file: Path, tmp_path: Path) -> None:
    manifest = load_manifest(manifest_file)
    assert render(manifest) == render(Manifest.model_validate(yaml.safe_load(MANIFEST)))
    out = tmp_path / "rules"
    write_rules(manifest, out)
    first = {path.name: path.read_bytes() for path in out.iterdir()}
    (out / "burnwatch-gone.rules.yml").write_text("groups: []\n")
    (out / "hand-written.yml").write_text("groups: []\n")
    write_rules(manifest, out)
    after = {path.name: path.read_bytes() for path in out.iterdir()}
    assert after == {**first, "hand-written.yml": b"groups: []\n"}


def test_policy_rules_come_from_the_manifest_objects(tmp_path: Path) -> None:
    """Changing the policy object changes the rules: nothing is declared twice."""
    path = tmp_path / "slos.yaml"
    path.write_text(WORKBOOK_MANIFEST)
    manifest = load_manifest(path)
    only = PolicyRule(
        name="only", severity="page", long_window="2h", short_window="5m", burn_rate=7.5
    )
    changed = manifest.model_copy(
        update={"policy": manifest.policy.model_copy(update={"rules": [only]})}
    )
    text = render(changed)["burnwatch-acme.rules.yml"]
    found = {(window, burn) for window, _, _, burn in ALERT_CONDITION.findall(text)}
    assert found == {("2h", "7.5"), ("5m", "7.5")}


def test_unsupported_slos_are_named_and_tickets_carry_the_inhibition_label(
    manifest_file: Path,
) -> None:
    ruleset = rule_groups(load_manifest(manifest_file))
    assert [(slo.tenant_id, slo.slo_name) for slo, _ in ruleset.skipped] == [("acme", "checkout")]
    text = render(load_manifest(manifest_file))["burnwatch-acme.rules.yml"]
    assert "# Not generated: checkout (a custom bad_when/good_when predicate" in text
    assert "burnwatch-acme-checkout" not in text
    tickets = [
        rule["labels"]
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
        if rule.get("labels", {}).get("severity") == "ticket"
    ]
    assert tickets and all(t["burnwatch_suppress_while_paging"] == "true" for t in tickets)
