"""Prometheus recording and alerting rules for the manifest's SLOs: `burnwatch rules`.

The batch pipeline and these rules apply one policy: every threshold below comes
from `manifest.resolved_rules()` (the very rows of the batch's `alert_policy`,
cohort and tenant overrides merged, `budget_consumed_percent` turned into a burn
rate) and every objective from `manifest.resolved_slos()`. Nothing is declared
twice. The rules follow the shape Sloth generates (multiwindow,
multi-burn-rate), per tenant through a `tenant_id` label.

Metrics the service is expected to export
-----------------------------------------

Availability SLIs read a counter of finished requests, labelled with the HTTP
status code, like most HTTP middlewares export::

    burnwatch_requests_total{tenant_id="acme", service="api", code="503"}

    bad   = requests whose code matches "5.."  (the batch's status_code >= 500)
    total = every request

Latency SLIs read a histogram of request durations in seconds (Prometheus'
base unit) observed for every request, whatever its status::

    burnwatch_request_duration_seconds_bucket{tenant_id, service, le}
    burnwatch_request_duration_seconds_count{tenant_id, service}

    bad   = _count - _bucket{le = threshold}   (the batch's latency_ms > threshold_ms)
    total = _count

so a latency SLO's `threshold_ms` must be one of the histogram's bucket
boundaries (250 ms is `le="0.25"`); otherwise the bucket series does not exist
and the SLO records no ratio (it never alerts, it does not alert wrongly).

Counters should be initialised to zero for every label set the service knows
(client libraries do this when a labelled child is created at start-up): a
series born in the middle of a window is extrapolated by `increase()`.

What is generated
-----------------

One file per tenant, `burnwatch-<tenant_id>.rules.yml`, with one rule group per
tenant SLO, in manifest-sorted order (`resolved_slos()` sorts by tenant, SLO).
A group holds, in this order, so that every rule reads values recorded at the
same evaluation timestamp (rules of a group are evaluated one after another):

- `slo:sli_error:ratio_rate<w>` for w in 5m 30m 1h 2h 6h 1d 3d (label
  `sloth_window`): `sum(increase(bad[w])) / sum(increase(total[w]))`. A
  window without requests gives 0/0 = NaN, which compares false: no traffic
  never fires, as in the batch.
- metadata: `slo:objective:ratio`, `slo:error_budget:ratio`,
  `slo:time_period:days`, `slo:current_burn_rate:ratio`,
  `slo:period_burn_rate:ratio`, `slo:period_error_budget_remaining:ratio`,
  `burnwatch_slo_info`, and the two 5-minute counts the period ratio is
  summed from (`burnwatch:slo_errors:increase5m`, `burnwatch:slo_requests:increase5m`).
- one alert `BurnwatchErrorBudgetBurn` per policy rule, no `for:`, with labels
  `severity`, `burnwatch_rule`, `long_window`, `short_window` and the SLO's::

      max(slo:sli_error:ratio_rate1h{...} / 0.0009999999999999432 > 14.4) without (sloth_window)
      and
      max(slo:sli_error:ratio_rate5m{...} / 0.0009999999999999432 > 14.4) without (sloth_window)

  The error ratio is divided by the error budget and compared with the burn
  rate, where Sloth writes `ratio > (14.4 * budget)`. Mathematically the same,
  but this is the very floating-point computation of the batch
  (`(bad / total) / ((100 - objective) / 100) > burn_rate`), so both agree
  even when a burn rate lands exactly on a threshold (27 bad out of 100 at a
  98.5% objective is 18x: Sloth's form and the batch's differ there).
  `min_events` adds `and on () (total over the long window >= N)`;
  `min_denominator` compares `bad / clamp_min(total, N) / budget` instead.
  Tickets that the policy suppresses while paging carry
  `burnwatch_suppress_while_paging="true"` for an Alertmanager inhibit rule.

SLOs with a custom `bad_when`/`good_when` predicate or time-slice budgeting have
no counterpart in these metrics: they are skipped, and named.

Parity with the batch
---------------------

`increase(x[w])` over a range whose first and last samples lie exactly on its
bounds is the exact difference of the two samples (no extrapolation), and in
Prometheus 2.x a range `[w]` evaluated at `t` includes the sample at `t - w`.
With counters sampled at 5-minute boundaries and rules evaluated on them, each
ratio is then the batch's window `[t - w, t)` to the request, and
`increase()` (unlike `rate()`) does not divide the counts by the window's
seconds before their ratio is taken. Unaligned production scrapes make both
counts extrapolated estimates: the ratio is then close, not exact.
tests/test_rules_parity.py proves it with promtool; docs/prometheus.md has the
details and the limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipelines.warehouse.atomic import write_text_atomic
from schemas.manifest import WINDOW_MINUTES, Manifest, ResolvedRule, ResolvedSlo

REQUESTS_METRIC = "burnwatch_requests_total"
DURATION_METRIC = "burnwatch_request_duration_seconds"
BAD_CODE_REGEX = "5.."
ALERT_NAME = "BurnwatchErrorBudgetBurn"
FILE_PREFIX = "burnwatch-"
FILE_SUFFIX = ".rules.yml"
ERRORS_5M = "burnwatch:slo_errors:increase5m"
REQUESTS_5M = "burnwatch:slo_requests:increase5m"
# Recording windows, shortest first (the batch's fct_burn_rates windows).
WINDOWS: list[str] = sorted(WINDOW_MINUTES, key=WINDOW_MINUTES.__getitem__)


def number(value: float) -> str:
    """A float as PromQL reads it back bit for bit: `6` for 6.0, else the shortest repr."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def error_budget(slo: ResolvedSlo) -> float:
    """The allowed error ratio, computed exactly as the batch does: (100 - objective) / 100."""
    assert slo.objective is not None  # the manifest guarantees it
    return (100 - slo.objective) / 100


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _selector(labels: dict[str, str], regex: dict[str, str] | None = None) -> str:
    parts = [f"{name}={_quote(value)}" for name, value in labels.items()]
    parts += [f"{name}=~{_quote(value)}" for name, value in (regex or {}).items()]
    return "{" + ", ".join(parts) + "}"


def le_matcher(threshold_ms: float) -> tuple[str, str]:
    """The `le` label matcher of the bucket whose upper bound is `threshold_ms`.

    Client libraries write a whole number of seconds as `1`, Prometheus 3 as
    `1.0`; both spellings are matched. Other bounds are written as the shortest
    decimal (250 ms is `0.25`).
    """
    seconds = threshold_ms / 1000
    if seconds == int(seconds):
        whole = str(int(seconds))
        return "=~", f"{whole}|{whole}\\.0"
    return "=", repr(seconds)


@dataclass(frozen=True)
class _Slo:
    slo: ResolvedSlo

    @property
    def labels(self) -> dict[str, str]:
        """Labels of every series recorded for this tenant SLO (Sloth's, plus tenant and cohort)."""
        return {
            "cohort": self.slo.cohort,
            "sloth_id": f"{self.slo.tenant_id}-{self.slo.slo_name}",
            "sloth_service": self.slo.service,
            "sloth_slo": self.slo.slo_name,
            "tenant_id": self.slo.tenant_id,
        }

    def with_labels(self, **extra: str) -> dict[str, str]:
        return dict(sorted({**self.labels, **extra}.items()))

    @property
    def selector(self) -> str:
        labels = self.labels
        return _selector(
            {name: labels[name] for name in ("sloth_id", "sloth_service", "sloth_slo", "tenant_id")}
        )

    def counts(self, window: str) -> tuple[str, str]:
        """PromQL for (bad, total) requests of the tenant SLO over `window`."""
        base = {"tenant_id": self.slo.tenant_id, "service": self.slo.service}
        if self.slo.sli == "availability":
            total = f"sum(increase({REQUESTS_METRIC}{_selector(base)}[{window}]))"
            bad_series = _selector(base, {"code": BAD_CODE_REGEX})
            # No 5xx series yet means no errors, not "no data".
            bad = f"(sum(increase({REQUESTS_METRIC}{bad_series}[{window}])) or vector(0))"
            return bad, total
        assert self.slo.threshold_ms is not None
        operator, bound = le_matcher(self.slo.threshold_ms)
        total = f"sum(increase({DURATION_METRIC}_count{_selector(base)}[{window}]))"
        bucket = "{" + _selector(base)[1:-1] + f", le{operator}{_quote(bound)}" + "}"
        good = f"sum(increase({DURATION_METRIC}_bucket{bucket}[{window}]))"
        return f"({total} - {good})", total

    def error_ratio(self, window: str) -> str:
        bad, total = self.counts(window)
        return f"{bad}\n/\n{total}\n"


def _recordings(item: _Slo) -> list[dict[str, Any]]:
    slo = item.slo
    rules: list[dict[str, Any]] = [
        {
            "record": f"slo:sli_error:ratio_rate{window}",
            "expr": item.error_ratio(window),
            "labels": item.with_labels(sloth_window=window),
        }
        for window in WINDOWS
    ]
    bad, total = item.counts("5m")
    rules += [
        {"record": ERRORS_5M, "expr": bad, "labels": item.with_labels(sloth_window="5m")},
        {"record": REQUESTS_5M, "expr": total, "labels": item.with_labels(sloth_window="5m")},
    ]
    period = f"{slo.period_days}d"
    if period not in WINDOW_MINUTES:
        # Request-weighted over the period: both sums count each request once per
        # evaluation that its 5-minute window covers, so their ratio is unaffected.
        rules.append(
            {
                "record": f"slo:sli_error:ratio_rate{period}",
                "expr": (
                    f"sum_over_time({ERRORS_5M}{item.selector}[{period}])\n/\n"
                    f"sum_over_time({REQUESTS_5M}{item.selector}[{period}])\n"
                ),
                "labels": item.with_labels(sloth_window=period),
            }
        )
    join = "on (sloth_id, sloth_service, sloth_slo, tenant_id) group_left"
    assert slo.objective is not None
    rules += [
        {
            "record": "slo:objective:ratio",
            "expr": f"vector({number(slo.objective / 100)})",
            "labels": item.labels,
        },
        {
            "record": "slo:error_budget:ratio",
            "expr": f"vector({number(error_budget(slo))})",
            "labels": item.labels,
        },
        {
            "record": "slo:time_period:days",
            "expr": f"vector({slo.period_days})",
            "labels": item.labels,
        },
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": (
                f"slo:sli_error:ratio_rate5m{item.selector}\n/ {join}\n"
                f"slo:error_budget:ratio{item.selector}\n"
            ),
            "labels": item.labels,
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": (
                f"slo:sli_error:ratio_rate{period}{item.selector}\n/ {join}\n"
                f"slo:error_budget:ratio{item.selector}\n"
            ),
            "labels": item.labels,
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - slo:period_burn_rate:ratio{item.selector}",
            "labels": item.labels,
        },
        {
            "record": "burnwatch_slo_info",
            "expr": "vector(1)",
            "labels": item.with_labels(
                sli=slo.sli,
                objective=number(slo.objective),
                threshold_ms="" if slo.threshold_ms is None else number(slo.threshold_ms),
            ),
        },
    ]
    return rules


def alert_labels(slo: ResolvedSlo, rule: ResolvedRule) -> dict[str, str]:
    """Labels of the alert for one tenant SLO and policy rule, besides `alertname`:
    those of its recorded series (`sloth_window` aside) and the rule's."""
    labels = {
        **_Slo(slo).labels,
        "severity": rule.severity,
        "burnwatch_rule": rule.rule_name,
        "long_window": rule.long_window,
        "short_window": rule.short_window,
    }
    if rule.severity == "ticket" and rule.suppress_tickets_while_paging:
        # Alertmanager inhibits these while a page of the same tenant SLO fires.
        labels["burnwatch_suppress_while_paging"] = "true"
    return dict(sorted(labels.items()))


def alert_annotations(slo: ResolvedSlo, rule: ResolvedRule) -> dict[str, str]:
    """Static annotations (no templating, so the files are readable and testable)."""
    assert slo.objective is not None
    return {
        "summary": (
            f"{slo.tenant_id} {slo.slo_name}: error budget burning faster than "
            f"{number(rule.burn_threshold)}x over {rule.long_window} and {rule.short_window}"
        ),
        "description": (
            f"{slo.sli} SLO {slo.slo_name} of tenant {slo.tenant_id} ({slo.service}), "
            f"objective {number(slo.objective)}% over {slo.period_days} days. At "
            f"{number(rule.burn_threshold)}x for {rule.long_window}, "
            f"{rule.budget_consumed_percent:.1f}% of the period's error budget is spent "
            f"(policy rule {rule.rule_name})."
        ),
    }


def _condition(item: _Slo, rule: ResolvedRule, window: str) -> str:
    """PromQL true where the window burns strictly faster than the rule's threshold:
    error ratio / budget > burn, the batch's own floating-point operations."""
    budget = number(error_budget(item.slo))
    burn = number(rule.burn_threshold)
    if rule.min_denominator is None:
        ratio = f"slo:sli_error:ratio_rate{window}{item.selector}"
        return f"max({ratio} / {budget} > {burn}) without (sloth_window)"
    # bad / max(total, min_denominator): the batch's damped burn for small windows.
    bad, total = item.counts(window)
    return f"({bad} / clamp_min({total}, {rule.min_denominator}) / {budget} > {burn})"


def _alerts(item: _Slo, rules: list[ResolvedRule]) -> list[dict[str, Any]]:
    alerts = []
    for rule in rules:
        long, short = (_condition(item, rule, w) for w in (rule.long_window, rule.short_window))
        # Without min_denominator both sides keep the recorded labels; with it neither
        # does. Either way `and` pairs them.
        expr = f"{long}\nand\n{short}\n"
        if rule.min_events > 0:
            _, total = item.counts(rule.long_window)
            expr += f"and on ()\n({total} >= {rule.min_events})\n"
        alerts.append(
            {
                "alert": ALERT_NAME,
                "expr": expr,
                # The expression's labels again: promtool rejects alerts of one file whose
                # name and static labels are alike, and they make each rule self-describing.
                "labels": alert_labels(item.slo, rule),
                "annotations": alert_annotations(item.slo, rule),
            }
        )
    return alerts


def unsupported(slo: ResolvedSlo) -> str | None:
    """Why rules cannot express this SLO exactly from the exported metrics, if so."""
    if slo.bad_predicate is not None:
        return "a custom bad_when/good_when predicate is not in the exported metrics"
    if slo.budgeting != "occurrences":
        return f"{slo.budgeting} budgeting counts time slices, not requests"
    return None


@dataclass(frozen=True)
class RuleSet:
    """The rule groups by tenant id, and the SLOs left out with the reason."""

    groups: dict[str, list[dict[str, Any]]]
    skipped: list[tuple[ResolvedSlo, str]]


def rule_groups(manifest: Manifest) -> RuleSet:
    """One group per tenant SLO, with the rules of `manifest.resolved_rules()`: the very
    rows of the batch's `alert_policy` (cohort and tenant overrides merged)."""
    by_slo: dict[tuple[str, str], list[ResolvedRule]] = {}
    for rule in manifest.resolved_rules():
        by_slo.setdefault((rule.tenant_id, rule.slo_name), []).append(rule)
    groups: dict[str, list[dict[str, Any]]] = {}
    skipped = []
    for slo in manifest.resolved_slos():
        reason = unsupported(slo)
        if reason is not None:
            skipped.append((slo, reason))
            continue
        item = _Slo(slo)
        rules = sorted(by_slo.get((slo.tenant_id, slo.slo_name), []), key=lambda r: r.rule_name)
        groups.setdefault(slo.tenant_id, []).append(
            {
                "name": f"burnwatch-{slo.tenant_id}-{slo.slo_name}",
                "rules": [*_recordings(item), *_alerts(item, rules)],
            }
        )
    return RuleSet(dict(sorted(groups.items())), skipped)


class _Dumper(yaml.SafeDumper):
    pass


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def render(manifest: Manifest, source: str = "slos.yaml") -> dict[str, str]:
    """The rule files' text by file name; the same manifest always gives the same bytes."""
    ruleset = rule_groups(manifest)
    header = (
        f"# Generated by `burnwatch rules` from {source}: do not edit.\n"
        f"# Inputs: {REQUESTS_METRIC}{{tenant_id, service, code}}, "
        f"{DURATION_METRIC}_bucket/_count{{tenant_id, service, le}}. See docs/prometheus.md.\n"
    )
    files = {}
    for tenant, groups in ruleset.groups.items():
        notes = "".join(
            f"# Not generated: {slo.slo_name} ({reason}).\n"
            for slo, reason in ruleset.skipped
            if slo.tenant_id == tenant
        )
        body = yaml.dump(
            {"groups": groups},
            Dumper=_Dumper,
            sort_keys=False,
            width=1000,
            default_flow_style=False,
            allow_unicode=True,
        )
        files[f"{FILE_PREFIX}{tenant}{FILE_SUFFIX}"] = header + notes + body
    return files


def write_rules(manifest: Manifest, out_dir: Path, source: str = "slos.yaml") -> list[Path]:
    """Write one rule file per tenant into `out_dir`, each atomically, and remove the
    files of tenants no longer in the manifest; return the written paths, sorted."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = render(manifest, source)
    written = []
    for name, text in files.items():
        written.append(write_text_atomic(out_dir / name, text))
    for stale in out_dir.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}"):
        if stale.name not in files:
            stale.unlink()
    return sorted(written)
