"""`burnwatch import-openslo`: OpenSLO v1 documents become a manifest that loads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipelines.interop.openslo import import_openslo, read_documents
from schemas.errors import BurnwatchInputError
from schemas.manifest import load_manifest

# A realistic multi-document file, in the shape of the OpenSLO v1 examples.
OPENSLO = """\
apiVersion: openslo/v1
kind: Service
metadata:
  name: checkout
  displayName: Checkout
spec:
  description: The checkout API
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: checkout-success
spec:
  ratioMetric:
    counter: true
    good:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total{service="checkout",code!~"5.."}[1m]))
    total:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total{service="checkout"}[1m]))
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: search-not-throttled
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource:
        type: Burnwatch
        spec:
          bad_when: "status_code >= 500 or status_code = 429"
    total:
      metricSource:
        type: Burnwatch
        spec: {}
---
apiVersion: openslo/v1
kind: AlertCondition
metadata:
  name: fast-burn
spec:
  severity: page
  condition:
    kind: burnrate
    op: gt
    threshold: 14.4
    lookbackWindow: 1h
    alertAfter: 5m
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata:
  name: checkout-burn
spec:
  alertWhenNoData: false
  alertWhenBreaching: true
  alertWhenResolved: false
  conditions:
    - conditionRef: fast-burn
    - kind: AlertCondition
      metadata:
        name: slow-burn
      spec:
        severity: ticket
        condition:
          kind: burnrate
          op: gt
          threshold: 1
          lookbackWindow: 3d
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
  labels:
    tenant: acme
spec:
  service: checkout
  indicatorRef: checkout-success
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: good
      target: 0.999
  alertPolicies:
    - alertPolicyRef: checkout-burn
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: search-availability
  labels:
    tenant: acme
spec:
  service: search
  indicatorRef: search-not-throttled
  timeWindow:
    - duration: 1M
      isRolling: false
      calendar:
        startTime: 2024-01-01 00:00:00
        timeZone: Europe/Berlin
  budgetingMethod: Timeslices
  objectives:
    - targetPercent: 99.5
      timeSliceTarget: 0.95
      timeSliceWindow: 5m
  alertPolicies:
    - alertPolicyRef: checkout-burn
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: search-latency
spec:
  service: search
  indicator:
    metadata:
      name: search-latency-p
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: histogram_quantile(0.99, rate(search_latency_bucket[5m]))
  timeWindow:
    - duration: 1w
      isRolling: true
  budgetingMethod: RatioTimeslices
  objectives:
    - op: lte
      value: 300
      target: 0.99
      timeSliceWindow: 10m
  alertPolicies:
    - alertPolicyRef: checkout-burn
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "openslo.yaml"
    path.write_text(text)
    return path


def _slos(manifest: dict) -> dict[tuple[str, str], dict]:
    return {(t["id"], s["name"]): s for t in manifest["tenants"] for s in t["slos"]}


def test_the_imported_manifest_loads_with_load_manifest(tmp_path: Path) -> None:
    imported = import_openslo(read_documents(_write(tmp_path, OPENSLO)), tenant="web")
    out = tmp_path / "slos.yaml"
    out.write_text(yaml.safe_dump(imported.manifest))
    manifest = load_manifest(out)
    resolved = {(s.tenant_id, s.slo_name): s for s in manifest.resolved_slos()}
    assert set(resolved) == {
        ("acme", "checkout-availability"),
        ("acme", "search-availability"),
        ("web", "search-latency"),
    }
    assert resolved[("acme", "checkout-availability")].objective == 99.9
    assert resolved[("acme", "checkout-availability")].period_days == 28


def test_ratio_metric_maps_to_availability_or_to_the_burnwatch_predicate(
    tmp_path: Path,
) -> None:
    slos = _slos(import_openslo(read_documents(_write(tmp_path, OPENSLO))).manifest)
    checkout = slos[("acme", "checkout-availability")]
    assert checkout["sli"] == "availability" and "bad_when" not in checkout
    search = slos[("acme", "search-availability")]
    assert search["bad_when"] == "status_code >= 500 or status_code = 429"


def test_budgeting_and_calendar_windows_are_mapped(tmp_path: Path) -> None:
    slos = _slos(import_openslo(read_documents(_write(tmp_path, OPENSLO))).manifest)
    search = slos[("acme", "search-availability")]
    assert search["calendar"] == "month" and search["timezone"] == "Europe/Berlin"
    assert search["budgeting"] == "timeslices"
    assert search["timeslice_minutes"] == 5 and search["timeslice_target"] == 95.0
    assert search["objective"] == 99.5
    latency = slos[("default", "search-latency")]
    assert latency["sli"] == "latency" and latency["threshold_ms"] == 300.0
    assert latency["period_days"] == 7
    assert latency["budgeting"] == "ratio_timeslices" and latency["timeslice_minutes"] == 10


def test_alert_conditions_become_rules_with_workbook_short_windows(tmp_path: Path) -> None:
    manifest = import_openslo(read_documents(_write(tmp_path, OPENSLO))).manifest
    rules = {rule["name"]: rule for rule in manifest["policy"]["rules"]}
    assert rules["fast-burn"] == {
        "name": "fast-burn",
        "severity": "page",
        "long_window": "1h",
        "short_window": "5m",
        "burn_rate": 14.4,
    }
    assert rules["slow-burn"]["short_window"] == "6h"
    assert rules["slow-burn"]["severity"] == "ticket"


def test_what_cannot_be_mapped_is_named_by_kind_name_and_field(tmp_path: Path) -> None:
    warnings = import_openslo(read_documents(_write(tmp_path, OPENSLO))).warnings
    text = "\n".join(warnings)
    assert "Service/checkout: kind: not mapped" in text
    assert "AlertCondition/fast-burn: spec.condition.alertAfter: not supported" in text
    assert "SLI/search-latency" not in text  # inline indicators are reported on the SLO
    assert "SLO/search-latency: spec.thresholdMetric: assumed to be request latency" in text
    # The PromQL queries of checkout-success name 5xx: mapped without a warning.
    assert not any(line.startswith("SLI/checkout-success") for line in warnings)


def test_unmappable_condition_and_foreign_api_versions_are_reported(tmp_path: Path) -> None:
    text = (
        OPENSLO
        + """\
---
apiVersion: openslo/v1alpha
kind: SLO
metadata: {name: old}
spec: {}
---
apiVersion: openslo/v1
kind: AlertCondition
metadata: {name: low-burn}
spec:
  severity: ticket
  condition: {kind: burnrate, op: lt, threshold: 0.5, lookbackWindow: 1d}
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: odd}
spec:
  conditions:
    - conditionRef: low-burn
"""
    )
    text = text.replace("    - alertPolicyRef: checkout-burn\n", "    - alertPolicyRef: odd\n", 1)
    warnings = import_openslo(read_documents(_write(tmp_path, text))).warnings
    assert any(w.startswith("SLO/old: apiVersion") for w in warnings)
    assert any(w.startswith("AlertCondition/low-burn: spec.condition.op") for w in warnings)
    assert any("one policy to all of a tenant's SLOs" in w for w in warnings)


def test_cli_writes_the_manifest_and_strict_fails_on_warnings(tmp_path: Path) -> None:
    from pipelines.cli.commands import cli

    source = _write(tmp_path, OPENSLO)
    out = tmp_path / "slos.yaml"
    result = CliRunner().invoke(cli, ["import-openslo", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_manifest(out).tenants
    strict = tmp_path / "strict.yaml"
    result = CliRunner().invoke(
        cli, ["import-openslo", str(source), "--out", str(strict), "--strict"]
    )
    assert result.exit_code == 1
    assert "could not be mapped" in result.output
    assert not strict.exists()


def test_a_clean_file_passes_strict(tmp_path: Path) -> None:
    from pipelines.cli.commands import cli

    clean = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-availability}
spec:
  service: api
  indicator:
    metadata: {name: api-errors}
    spec:
      ratioMetric:
        counter: true
        bad: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(req{code=~"5.."}[1m]))'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(req[1m]))'}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.9995}]
"""
    result = CliRunner().invoke(cli, ["import-openslo", str(_write(tmp_path, clean)), "--strict"])
    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load(result.output)
    assert manifest["tenants"][0]["slos"][0]["objective"] == 99.95
    assert "policy" not in manifest  # no alert policy: the workbook default applies


def test_a_file_without_slos_is_an_input_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: x}\n")
    with pytest.raises(BurnwatchInputError, match="no OpenSLO SLO"):
        import_openslo(read_documents(path))
