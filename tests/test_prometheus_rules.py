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
from tests.cli_helpers import promtool, run_cli

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

THRESHOLD_TERM = re.compile(r"^(?P<burn>[0-9.e+-]+) \* burnwatch_slo_info\{", re.MULTILINE)


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


def all_rules(out: Path) -> list[dict[str, Any]]:
    return [
        rule
        for document in rule_documents(out).values()
        for group in document["groups"]
        for rule in group["rules"]
    ]


def test_promtool_accepts_the_rules(manifest_file: Path, tmp_path: Path) -> None:
    binary = promtool()
    out = tmp_path / "rules"
    from pipelines.cli.commands import cli

    result = CliRunner().invoke(cli, ["rules", "--manifest", str(manifest_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "no rules for acme/checkout: a custom bad_when/good_when predicate" in result.output
    files = sorted(out.glob("*.rules.yml"))
    # One file per cohort, one group per cohort and SLO.
    assert [path.name for path in files] == [
        "burnwatch-gold.rules.yml",
        "burnwatch-silver.rules.yml",
        "burnwatch-trial.rules.yml",
    ]
    groups = [group["name"] for doc in rule_documents(out).values() for group in doc["groups"]]
    assert groups == [
        "burnwatch-gold-api-availability",
        "burnwatch-gold-api-latency",
        "burnwatch-gold-web-availability",
        "burnwatch-silver-api-availability",
        "burnwatch-silver-web-latency",
        "burnwatch-trial-batch_availability",
    ]
    rules = all_rules(out)
    alerts = [rule for rule in rules if "alert" in rule]
    assert len(alerts) == 17  # 3 + 3 + 3 + 3 + 3 gold and silver rules, 2 for initech
    assert f"{len(rules)} rules ({len(alerts)} alerting) in 6 group(s)" in result.output
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
    assert "duplicate" not in check.stdout + check.stderr


def input_series(text: str) -> list[dict[str, str]]:
    """Counters for every SLO of the manifest text: 10 requests a minute, 1 bad."""
    series = []
    for tenant in yaml.safe_load(text)["tenants"]:
        for slo in tenant["slos"]:
            base = f'tenant_id="{tenant["id"]}", service="{slo["service"]}"'
            series += [
                {"series": f'burnwatch_requests_total{{{base}, code="200"}}', "values": "0+9x10"},
                {"series": f'burnwatch_requests_total{{{base}, code="503"}}', "values": "0+1x10"},
                {
                    "series": f"burnwatch_request_duration_seconds_count{{{base}}}",
                    "values": "0+10x10",
                },
            ]
            for le in ("0.25", "0.4", "1"):
                series.append(
                    {
                        "series": f'burnwatch_request_duration_seconds_bucket{{{base}, le="{le}"}}',
                        "values": "0+9x10",
                    }
                )
    # A service exports each series once, whichever SLOs read it.
    return list({item["series"]: item for item in series}.values())


def test_each_tenant_gets_its_own_objective_and_thresholds(
    manifest_file: Path, tmp_path: Path
) -> None:
    """promtool evaluates the joined series: every tenant SLO's error budget and burn
    thresholds are those resolved by hand from the manifest text, and the number of
    recorded series is the estimate `burnwatch rules` prints."""
    binary = promtool()
    manifest = load_manifest(manifest_file)
    ruleset = rule_groups(manifest)
    files = write_rules(manifest, tmp_path / "rules")
    expected = expected_thresholds(MANIFEST)
    thresholds = [
        {
            "labels": f'{{burnwatch_rule="{rule}", sloth_id="{tenant}-{slo}"}}',
            # By hand 10% of 7 days over 6h is 2.8000000000000003; the manifest multiplies
            # whole numbers first and gets 2.8 (see PolicyRule.burn_threshold).
            "value": float(f"{burn:.12g}"),
        }
        for (tenant, slo, rule), (_, burn) in sorted(expected.items())
    ]
    budgets = sorted(
        {
            (tenant, slo, (100 - objective) / 100)
            for (tenant, slo, _), (objective, _) in expected.items()
        }
    )
    recorded, _ = ruleset.series()
    tests = [
        {
            "expr": "max by (burnwatch_rule, sloth_id) (burnwatch:slo_burn_threshold:ratio)",
            "eval_time": "5m",
            "exp_samples": thresholds,
        },
        {
            "expr": "max by (sloth_id) (slo:error_budget:ratio)",
            "eval_time": "5m",
            "exp_samples": [
                {"labels": f'{{sloth_id="{tenant}-{slo}"}}', "value": budget}
                for tenant, slo, budget in budgets
            ],
        },
        {
            "expr": 'count({__name__=~"slo:.+|burnwatch:.+|burnwatch_slo_info"})',
            "eval_time": "10m",
            "exp_samples": [{"labels": "{}", "value": recorded}],
        },
    ]
    document = {
        "rule_files": [str(path) for path in files],
        "evaluation_interval": "1m",
        "tests": [
            {"interval": "1m", "input_series": input_series(MANIFEST), "promql_expr_test": tests}
        ],
    }
    test_file = tmp_path / "joins.test.yml"
    test_file.write_text(yaml.safe_dump(document, sort_keys=False, width=1000))
    result = subprocess.run(
        [binary, "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_do_not_grow_with_tenants(tmp_path: Path) -> None:
    """Three tenants or three hundred in the same cohorts: the same rules and groups."""

    def manifest(count: int) -> Manifest:
        tenants = [
            {
                "id": f"t{i:03d}",
                "cohort": "gold" if i % 2 else "silver",
                "slos": [{"name": "api-availability", "service": "api", "sli": "availability"}],
            }
            for i in range(count)
        ]
        document = yaml.safe_load(MANIFEST)
        document["tenants"] = tenants
        return Manifest.model_validate(document)

    small, large = rule_groups(manifest(3)), rule_groups(manifest(300))
    assert (small.rules, small.alerts) == (large.rules, large.alerts)
    assert [len(groups) for groups in small.groups.values()] == [1, 1]
    assert large.tenant_slos == 300
    # The series do: one per tenant SLO and recording rule.
    per_group = small.rules - small.alerts
    assert large.series()[0] == 300 * (per_group // 2)
    assert large.series()[1] == 2 * 300 * 3


def test_a_tenant_rule_override_is_an_alert_of_its_own(tmp_path: Path) -> None:
    """A tenant that changes a rule's windows gets that rule apart, for it alone; a
    tenant that changes only a burn rate shares the cohort's alert, through the join."""
    document = yaml.safe_load(MANIFEST)
    document["tenants"] = [
        {
            "id": "a",
            "cohort": "trial",
            "slos": [{"name": "x", "service": "api", "sli": "availability"}],
        },
        {
            "id": "b",
            "cohort": "trial",
            "policy": {
                "rules": [
                    {"name": "fast", "short_window": "30m"},
                    {"name": "medium", "burn_rate": 2},
                ]
            },
            "slos": [{"name": "x", "service": "api", "sli": "availability"}],
        },
    ]
    text = render(Manifest.model_validate(document))["burnwatch-trial.rules.yml"]
    alerts = [
        rule
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]
    shapes = sorted((a["labels"]["burnwatch_rule"], a["labels"]["short_window"]) for a in alerts)
    assert shapes == [("fast", "30m"), ("fast", "5m"), ("medium", "30m"), ("slow", "6h")]
    medium = [
        rule
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
        if rule.get("record") == "burnwatch:slo_burn_threshold:ratio"
        and rule["labels"]["burnwatch_rule"] == "medium"
    ]
    # One tenant each: the tie goes to the smaller value, written last without a tenant list.
    assert [rule["expr"] for rule in medium] == [
        '5.5 * burnwatch_slo_info{burnwatch_template="trial/x", tenant_id="a"}\nor\n'
        '2 * burnwatch_slo_info{burnwatch_template="trial/x"}\n'
    ]


def test_one_slo_name_with_two_thresholds_in_a_cohort_is_two_groups(tmp_path: Path) -> None:
    document = yaml.safe_load(MANIFEST)
    document["tenants"] = [
        {
            "id": "a",
            "cohort": "gold",
            "slos": [{"name": "lat", "service": "api", "sli": "latency"}],
        },
        {
            "id": "b",
            "cohort": "gold",
            "slos": [{"name": "lat", "service": "api", "sli": "latency", "threshold_ms": 400}],
        },
    ]
    files = render(Manifest.model_validate(document))
    groups = [
        group["name"] for group in yaml.safe_load(files["burnwatch-gold.rules.yml"])["groups"]
    ]
    assert groups == [
        "burnwatch-gold-lat-api-latency-250ms-30d",
        "burnwatch-gold-lat-api-latency-400ms-30d",
    ]
    out = tmp_path / "rules"
    out.mkdir()
    (out / "burnwatch-gold.rules.yml").write_text(files["burnwatch-gold.rules.yml"])
    check = subprocess.run(
        [promtool(), "check", "rules", str(out / "burnwatch-gold.rules.yml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0 and "duplicate" not in check.stdout, check.stdout + check.stderr


def test_a_cohort_name_that_cannot_name_a_file_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(WORKBOOK_MANIFEST.replace("standard", "gold tier"))
    result = run_cli("rules", "--manifest", str(path), "--out", str(tmp_path / "r"))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cohort 'gold tier': rule files are named after cohorts" in lines[0]


def thresholds_by_rule(text: str) -> dict[str, list[str]]:
    """The burn-rate literals of each rule's threshold series, as written."""
    found: dict[str, list[str]] = {}
    for group in yaml.safe_load(text)["groups"]:
        for rule in group["rules"]:
            if rule.get("record") == "burnwatch:slo_burn_threshold:ratio":
                name = rule["labels"]["burnwatch_rule"]
                found.setdefault(name, []).extend(THRESHOLD_TERM.findall(rule["expr"]))
    return found


def test_default_policy_is_the_workbooks(tmp_path: Path) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(WORKBOOK_MANIFEST)
    text = render(load_manifest(path))["burnwatch-standard.rules.yml"]
    assert thresholds_by_rule(text) == {
        "page-1h": ["14.4"],
        "page-6h": ["6"],
        "ticket-1d": ["3"],
        "ticket-3d": ["1"],
    }
    windows = {
        (a["labels"]["long_window"], a["labels"]["short_window"])
        for group in yaml.safe_load(text)["groups"]
        for a in group["rules"]
        if "alert" in a
    }
    assert windows == {("1h", "5m"), ("6h", "30m"), ("1d", "2h"), ("3d", "6h")}
    assert "slo:error_budget:ratio" in text and "0.0009999999999999432 * burnwatch_slo_info" in text


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


def test_the_guards_are_in_the_alert(manifest_file: Path) -> None:
    """initech's fast rule: at least 50 requests in the hour, burn over max(total, 200)."""
    text = render(load_manifest(manifest_file))["burnwatch-trial.rules.yml"]
    (fast,) = [
        rule
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
        if rule.get("alert") and rule["labels"]["burnwatch_rule"] == "fast"
    ]
    assert fast["labels"]["min_events"] == "50" and fast["labels"]["min_denominator"] == "200"
    assert ", 200)\n  / on (tenant_id) group_left () slo:error_budget:ratio" in fast["expr"]
    assert (
        'sum by (tenant_id) (increase(burnwatch_requests_total{service="batch-jobs", '
        'tenant_id="initech"}[1h])) >= 50)'
    ) in fast["expr"]
    assert "for" not in fast  # the batch fires at once
    # The grouped alert's cooldown (30 minutes for a page by default), less the one step
    # Prometheus waits before it starts counting keep_firing_for.
    assert fast["labels"]["severity"] == "page" and fast["keep_firing_for"] == "25m"


def test_keep_firing_for_is_each_severitys_cooldown_less_one_step(tmp_path: Path) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(WORKBOOK_MANIFEST + "policy:\n  cooldown_minutes: {page: 5, ticket: 120}\n")
    alerts = [
        rule
        for text in render(load_manifest(path)).values()
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
        if rule.get("alert")
    ]
    timing = {(a["labels"]["severity"], a.get("keep_firing_for")) for a in alerts}
    # A one-step page cooldown resolves at the first quiet step: nothing to keep.
    assert timing == {("page", None), ("ticket", "115m")}


def test_every_window_is_recorded_with_sloth_labels(manifest_file: Path, tmp_path: Path) -> None:
    manifest = load_manifest(manifest_file)
    write_rules(manifest, tmp_path / "rules")
    document = rule_documents(tmp_path / "rules")["burnwatch-silver.rules.yml"]
    groups = {group["name"]: group["rules"] for group in document["groups"]}
    assert list(groups) == ["burnwatch-silver-api-availability", "burnwatch-silver-web-latency"]
    latency = groups["burnwatch-silver-web-latency"]
    records = {rule["record"]: rule for rule in latency if "record" in rule}
    for window in WINDOWS:
        rule = records[f"slo:sli_error:ratio_rate{window}"]
        assert rule["labels"] == {
            "burnwatch_template": "silver/web-latency",
            "cohort": "silver",
            "sloth_service": "web",
            "sloth_slo": "web-latency",
            "sloth_window": window,
        }
        assert f"[{window}]" in rule["expr"]
        assert 'le="0.4"' in rule["expr"]  # 400 ms is the 0.4 s bucket
        assert '"sloth_id", "$1-web-latency", "tenant_id"' in rule["expr"]
    assert "slo:sli_error:ratio_rate28d" in records  # the SLO's own period
    info = records["burnwatch_slo_info"]["expr"]
    assert 'label_replace(vector(1), "tenant_id", "globex.eu", "", "")' in info
    assert records["slo:time_period:days"]["expr"].startswith("28 * burnwatch_slo_info")
    # Recordings come before the alerts that read them, in the same group.
    kinds = ["record" if "record" in rule else "alert" for rule in latency]
    assert kinds == sorted(kinds, reverse=True)


def test_a_period_equal_to_a_window_is_not_recorded_twice(manifest_file: Path) -> None:
    text = render(load_manifest(manifest_file))["burnwatch-trial.rules.yml"]
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
    # The tenants' order in the manifest does not matter.
    document = yaml.safe_load(MANIFEST)
    document["tenants"].reverse()
    assert render(manifest) == render(Manifest.model_validate(document))
    out = tmp_path / "rules"
    write_rules(manifest, out)
    first = {path.name: path.read_bytes() for path in out.iterdir()}
    (out / "burnwatch-acme.rules.yml").write_text("groups: []\n")  # the per-tenant layout's
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
    text = render(changed)["burnwatch-standard.rules.yml"]
    assert thresholds_by_rule(text) == {"only": ["7.5"]}
    assert "slo:sli_error:ratio_rate2h{" in text and ALERT_NAME in text


def test_unsupported_slos_are_named_and_tickets_carry_the_inhibition_label(
    manifest_file: Path,
) -> None:
    ruleset = rule_groups(load_manifest(manifest_file))
    assert [(slo.tenant_id, slo.slo_name) for slo, _ in ruleset.skipped] == [("acme", "checkout")]
    text = render(load_manifest(manifest_file))["burnwatch-gold.rules.yml"]
    assert "# Not generated: acme/checkout (a custom bad_when/good_when predicate" in text
    assert "checkout" not in text.split("groups:", 1)[1]
    tickets = [
        rule["labels"]
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
        if rule.get("labels", {}).get("severity") == "ticket"
    ]
    assert tickets and all(t["burnwatch_suppress_while_paging"] == "true" for t in tickets)
