"""Prometheus recording and alerting rules for the manifest's SLOs: `burnwatch rules`.

The batch pipeline and these rules apply one policy: every threshold below comes
from `manifest.resolved_rules()` (the very rows of the batch's `alert_policy`,
cohort and tenant overrides merged, `budget_consumed_percent` turned into a burn
rate) and every objective from `manifest.resolved_slos()`. Nothing is declared
twice. The rules follow the shape Sloth generates (multiwindow,
multi-burn-rate, Sloth's series names), grouped by tenant as Pyrra's
`grouping` does: the rules scale with SLO templates, not with tenants.

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

An SLO template is what the tenants of one cohort share for one SLO name:
service, SLI, latency threshold and period. Each template gets one rule group,
and each cohort one file, `burnwatch-<cohort>.rules.yml`. A group computes every
series `sum by (tenant_id)`, for all the template's tenants at once, and takes
what differs between tenants from per-tenant series joined on `tenant_id`:

- `burnwatch_slo_info` (value 1): one series per tenant SLO of the template
  (`label_replace(vector(1), ...)` terms, one per tenant).
- `slo:objective:ratio`, `slo:error_budget:ratio` and, per alert rule,
  `burnwatch:slo_burn_threshold:ratio`: `value * burnwatch_slo_info{...}`, the
  template's most common value for every tenant, preceded by one term per
  other value for the tenants that have it (`or` keeps the first).
- `slo:sli_error:ratio_rate<w>` for w in 5m 30m 1h 2h 6h 1d 3d (label
  `sloth_window`): `sum by (tenant_id) (increase(bad[w])) / sum by (tenant_id)
  (increase(total[w]))`, the raw selectors naming the template's tenants in a
  set matcher (each raw series is read by its own group only). A window
  without requests gives 0/0 = NaN, which compares false: no traffic never
  fires, as in the batch.
- Sloth's metadata (`slo:time_period:days`, `slo:current_burn_rate:ratio`,
  `slo:period_burn_rate:ratio`, `slo:period_error_budget_remaining:ratio`) and
  the two 5-minute counts the period ratio is summed from.
- one alert `BurnwatchErrorBudgetBurn` per distinct policy rule of the template's
  tenants (a rule a tenant overrides in windows, severity, guards or
  suppression is a rule of its own, for the tenants that have it), no `for:`,
  and `keep_firing_for` from the policy's cooldown of the rule's severity::

      slo:sli_error:ratio_rate1h{burnwatch_template="standard/api-availability"}
        / on (tenant_id) group_left () slo:error_budget:ratio{...}
        > on (tenant_id) group_left () burnwatch:slo_burn_threshold:ratio{..., burnwatch_rule="p"}
      and on (tenant_id) (the same for 5m)

  The error ratio is divided by the tenant's error budget and compared with its
  burn rate, where Sloth writes `ratio > (14.4 * budget)`: the very
  floating-point computation of the batch (`(bad / total) / ((100 - objective)
  / 100) > burn_rate`), so both agree even when a burn rate lands exactly on a
  threshold (27 bad out of 100 at a 98.5% objective is 18x). `min_events` adds
  `and on (tenant_id) (total over the long window >= N)`; `min_denominator`
  compares `bad / clamp_min(total, N) / budget`. Tickets that the policy
  suppresses while paging carry `burnwatch_suppress_while_paging="true"` for an
  Alertmanager inhibit rule.

SLOs with a custom `bad_when`/`good_when` predicate or time-slice budgeting have
no counterpart in these metrics: they are skipped, and named.

Parity with the batch
---------------------

`increase(x[w])` over a range whose first and last samples lie exactly on its
bounds is the exact difference of the two samples (no extrapolation), and in
Prometheus 2.x a range `[w]` evaluated at `t` includes the sample at `t - w`.
With counters sampled at 5-minute boundaries and rules evaluated on them, each
ratio is then the batch's window `[t - w, t)` to the request. The joined
objectives and thresholds are `value * 1`, the same doubles as literals.
tests/test_rules_parity.py proves it with promtool; docs/prometheus.md has the
details and the limits.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipelines.warehouse.atomic import write_text_atomic
from schemas.errors import BurnwatchInputError
from schemas.manifest import (
    BUCKET_MINUTES,
    WINDOW_MINUTES,
    Cooldowns,
    Manifest,
    ResolvedRule,
    ResolvedSlo,
)

REQUESTS_METRIC = "burnwatch_requests_total"
DURATION_METRIC = "burnwatch_request_duration_seconds"
BAD_CODE_REGEX = "5.."
ALERT_NAME = "BurnwatchErrorBudgetBurn"
FILE_PREFIX = "burnwatch-"
FILE_SUFFIX = ".rules.yml"
INFO = "burnwatch_slo_info"
THRESHOLD = "burnwatch:slo_burn_threshold:ratio"
ERRORS_5M = "burnwatch:slo_errors:increase5m"
REQUESTS_5M = "burnwatch:slo_requests:increase5m"
# Recording windows, shortest first (the batch's fct_burn_rates windows).
WINDOWS: list[str] = sorted(WINDOW_MINUTES, key=WINDOW_MINUTES.__getitem__)
# Cohort names become file names and label values.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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


# --- templates and their tenants ------------------------------------------------------


@dataclass(frozen=True, order=True)
class TemplateKey:
    """What the tenants of one template share: everything that shapes an expression."""

    cohort: str
    slo_name: str
    service: str
    sli: str
    threshold_ms: float | None
    period_days: int


@dataclass(frozen=True, order=True)
class Shape:
    """One alert rule as written once for all the template's tenants that have it.
    Everything here is in the expression or the static labels; the burn threshold is not."""

    rule_name: str
    severity: str
    long_window: str
    short_window: str
    min_events: int
    min_denominator: int
    suppress_while_paging: bool

    @staticmethod
    def of(rule: ResolvedRule) -> Shape:
        return Shape(
            rule_name=rule.rule_name,
            severity=rule.severity,
            long_window=rule.long_window,
            short_window=rule.short_window,
            min_events=rule.min_events,
            min_denominator=rule.min_denominator or 0,
            # Alertmanager inhibits these while a page of the same tenant SLO fires.
            suppress_while_paging=rule.severity == "ticket" and rule.suppress_tickets_while_paging,
        )

    @property
    def labels(self) -> dict[str, str]:
        """The static labels of the alert and of its threshold series."""
        labels = {
            "burnwatch_rule": self.rule_name,
            "long_window": self.long_window,
            "severity": self.severity,
            "short_window": self.short_window,
        }
        if self.min_events:
            labels["min_events"] = str(self.min_events)
        if self.min_denominator:
            labels["min_denominator"] = str(self.min_denominator)
        if self.suppress_while_paging:
            labels["burnwatch_suppress_while_paging"] = "true"
        return dict(sorted(labels.items()))

    @property
    def matchers(self) -> dict[str, str]:
        """Selects this shape's threshold series only: an absent label matches ""."""
        return {
            "burnwatch_suppress_while_paging": "",
            "min_denominator": "",
            "min_events": "",
            **self.labels,
        }


@dataclass(frozen=True)
class Template:
    """One SLO template: its key, its name, its tenants' SLOs and their rules by shape."""

    key: TemplateKey
    name: str
    slos: tuple[ResolvedSlo, ...]
    shapes: tuple[tuple[Shape, tuple[ResolvedRule, ...]], ...]

    @property
    def labels(self) -> dict[str, str]:
        """The labels every series of the template carries, besides tenant_id and sloth_id."""
        return {
            "burnwatch_template": self.name,
            "cohort": self.key.cohort,
            "sloth_service": self.key.service,
            "sloth_slo": self.key.slo_name,
        }

    def select(self, metric: str, **extra: str) -> str:
        return metric + _selector({"burnwatch_template": self.name, **extra})

    def with_labels(self, **extra: str) -> dict[str, str]:
        return dict(sorted({**self.labels, **extra}.items()))


def templates(manifest: Manifest) -> tuple[list[Template], list[tuple[ResolvedSlo, str]]]:
    """The manifest's SLO templates, sorted by cohort and SLO name, and the SLOs that
    rules cannot express, with the reason."""
    by_slo: dict[tuple[str, str], list[ResolvedRule]] = {}
    for rule in manifest.resolved_rules():
        by_slo.setdefault((rule.tenant_id, rule.slo_name), []).append(rule)
    members: dict[TemplateKey, list[ResolvedSlo]] = {}
    skipped = []
    for slo in manifest.resolved_slos():
        if not _NAME.match(slo.cohort):
            raise BurnwatchInputError(
                f"cohort {slo.cohort!r}: rule files are named after cohorts, so a cohort "
                "name must be letters, digits, '_', '.' or '-'"
            )
        reason = unsupported(slo)
        if reason is not None:
            skipped.append((slo, reason))
            continue
        key = TemplateKey(
            slo.cohort, slo.slo_name, slo.service, slo.sli, slo.threshold_ms, slo.period_days
        )
        members.setdefault(key, []).append(slo)
    names = Counter((key.cohort, key.slo_name) for key in members)
    out = []
    for key in sorted(members, key=_sort_key):
        name = f"{key.cohort}/{key.slo_name}"
        if names[(key.cohort, key.slo_name)] > 1:
            # Tenants of one cohort that give one SLO name different parameters.
            threshold = "" if key.threshold_ms is None else f"/{number(key.threshold_ms)}ms"
            name += f"/{key.service}/{key.sli}{threshold}/{key.period_days}d"
        slos = tuple(sorted(members[key], key=lambda slo: slo.tenant_id))
        shapes: dict[Shape, list[ResolvedRule]] = {}
        for slo in slos:
            for rule in by_slo.get((slo.tenant_id, slo.slo_name), []):
                shapes.setdefault(Shape.of(rule), []).append(rule)
        out.append(
            Template(
                key=key,
                name=name,
                slos=slos,
                shapes=tuple((shape, tuple(shapes[shape])) for shape in sorted(shapes)),
            )
        )
    return out, skipped


def _sort_key(key: TemplateKey) -> tuple[str, str, str, str, float, int]:
    return (
        key.cohort,
        key.slo_name,
        key.service,
        key.sli,
        -1.0 if key.threshold_ms is None else key.threshold_ms,
        key.period_days,
    )


def unsupported(slo: ResolvedSlo) -> str | None:
    """Why rules cannot express this SLO exactly from the exported metrics, if so."""
    if slo.bad_predicate is not None:
        return "a custom bad_when/good_when predicate is not in the exported metrics"
    if slo.budgeting != "occurrences":
        return f"{slo.budgeting} budgeting counts time slices, not requests"
    return None


# --- PromQL -----------------------------------------------------------------------------


def _tenant_regex(tenants: list[str]) -> dict[str, str]:
    if len(tenants) == 1:
        return {"tenant_id": tenants[0]}
    return {"tenant_id": "|".join(re.sub(r"([.])", r"\\\1", t) for t in tenants)}


def _tenant_matcher(template: Template, tenants: list[str]) -> str:
    """`burnwatch_slo_info` of the template, for these tenants only."""
    matcher = _tenant_regex(tenants)
    if len(tenants) == 1:
        return INFO + _selector({"burnwatch_template": template.name, **matcher})
    return INFO + _selector({"burnwatch_template": template.name}, matcher)


def _per_tenant(template: Template, values: dict[str, float]) -> str:
    """PromQL for one series per tenant of `values` whose value is the tenant's, carrying
    the labels of `burnwatch_slo_info`: `v * info` is v, bit for bit. The most common value
    comes last and, when every tenant of the template has a value, without a tenant list."""
    by_value: dict[float, list[str]] = {}
    for tenant, value in sorted(values.items()):
        by_value.setdefault(value, []).append(tenant)
    # Most tenants first, then the smaller value: deterministic whatever the manifest order.
    ordered = sorted(by_value, key=lambda value: (-len(by_value[value]), value))
    common, others = ordered[0], sorted(ordered[1:])
    every = len(values) == len(template.slos)
    terms = [f"{number(value)} * {_tenant_matcher(template, by_value[value])}" for value in others]
    last = template.select(INFO) if every else _tenant_matcher(template, by_value[common])
    terms.append(f"{number(common)} * {last}")
    return "\nor\n".join(terms) + "\n"


def _sloth_id(expr: str, template: Template) -> str:
    """Add Sloth's `sloth_id` (`<tenant>-<slo>`) to the series of a `by (tenant_id)` result."""
    slo = template.key.slo_name.replace("$", "$$")
    return f'label_replace(\n{expr},\n"sloth_id", "$1-{slo}", "tenant_id", "(.*)"\n)\n'


def _raw(template: Template, **extra: str) -> str:
    """The selector of the template's raw series: its service and its tenants, as a set
    matcher that Prometheus looks up in its index, so each series is read by its own
    group only."""
    tenants = [slo.tenant_id for slo in template.slos]
    regex = {key: value for key, value in extra.items() if key == "code"}
    if len(tenants) == 1:
        return _selector({"service": template.key.service, "tenant_id": tenants[0]}, regex)
    return _selector({"service": template.key.service}, {**_tenant_regex(tenants), **regex})


def counts(template: Template, window: str) -> tuple[str, str]:
    """PromQL for (bad, total) requests by tenant_id over `window`, for the template's tenants."""
    if template.key.sli == "availability":
        total = f"sum by (tenant_id) (increase({REQUESTS_METRIC}{_raw(template)}[{window}]))"
        bad_series = _raw(template, code=BAD_CODE_REGEX)
        bad = f"sum by (tenant_id) (increase({REQUESTS_METRIC}{bad_series}[{window}]))"
        # A tenant without any 5xx series has no errors, not "no data".
        return f"({bad} or 0 * {total})", total
    assert template.key.threshold_ms is not None
    operator, bound = le_matcher(template.key.threshold_ms)
    total = f"sum by (tenant_id) (increase({DURATION_METRIC}_count{_raw(template)}[{window}]))"
    bucket = _raw(template)[:-1] + f", le{operator}{_quote(bound)}" + "}"
    good = f"sum by (tenant_id) (increase({DURATION_METRIC}_bucket{bucket}[{window}]))"
    return f"({total} - {good})", total


def _recordings(template: Template) -> list[dict[str, Any]]:
    key = template.key
    tenants = [slo.tenant_id for slo in template.slos]
    info_terms = "\nor ".join(
        f'label_replace(vector(1), "tenant_id", {_quote(tenant)}, "", "")' for tenant in tenants
    )
    rules: list[dict[str, Any]] = [
        {"record": INFO, "expr": _sloth_id(info_terms, template), "labels": template.with_labels()},
        {
            "record": "slo:objective:ratio",
            "expr": _per_tenant(
                template, {slo.tenant_id: _objective(slo) / 100 for slo in template.slos}
            ),
            "labels": template.with_labels(),
        },
        {
            "record": "slo:error_budget:ratio",
            "expr": _per_tenant(
                template, {slo.tenant_id: error_budget(slo) for slo in template.slos}
            ),
            "labels": template.with_labels(),
        },
        {
            "record": "slo:time_period:days",
            "expr": f"{key.period_days} * {template.select(INFO)}",
            "labels": template.with_labels(),
        },
    ]
    for shape, shape_rules in template.shapes:
        rules.append(
            {
                "record": THRESHOLD,
                "expr": _per_tenant(
                    template, {rule.tenant_id: rule.burn_threshold for rule in shape_rules}
                ),
                "labels": template.with_labels(**shape.labels),
            }
        )
    for window in WINDOWS:
        bad, total = counts(template, window)
        rules.append(
            {
                "record": f"slo:sli_error:ratio_rate{window}",
                "expr": _sloth_id(f"{bad}\n/\n{total}", template),
                "labels": template.with_labels(sloth_window=window),
            }
        )
    bad, total = counts(template, "5m")
    rules += [
        {
            "record": ERRORS_5M,
            "expr": _sloth_id(bad, template),
            "labels": template.with_labels(sloth_window="5m"),
        },
        {
            "record": REQUESTS_5M,
            "expr": _sloth_id(total, template),
            "labels": template.with_labels(sloth_window="5m"),
        },
    ]
    period = f"{key.period_days}d"
    if period not in WINDOW_MINUTES:
        # Request-weighted over the period: both sums count each request once per
        # evaluation that its 5-minute window covers, so their ratio is unaffected.
        rules.append(
            {
                "record": f"slo:sli_error:ratio_rate{period}",
                "expr": (
                    f"sum_over_time({template.select(ERRORS_5M)}[{period}])\n/\n"
                    f"sum_over_time({template.select(REQUESTS_5M)}[{period}])\n"
                ),
                "labels": template.with_labels(sloth_window=period),
            }
        )
    join = "on (tenant_id) group_left ()"
    rules += [
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": (
                f"{template.select('slo:sli_error:ratio_rate5m')}\n/ {join}\n"
                f"{template.select('slo:error_budget:ratio')}\n"
            ),
            "labels": template.with_labels(),
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": (
                f"{template.select(f'slo:sli_error:ratio_rate{period}')}\n/ {join}\n"
                f"{template.select('slo:error_budget:ratio')}\n"
            ),
            "labels": template.with_labels(),
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - {template.select('slo:period_burn_rate:ratio')}",
            "labels": template.with_labels(),
        },
    ]
    return rules


def _objective(slo: ResolvedSlo) -> float:
    assert slo.objective is not None  # the manifest guarantees it
    return slo.objective


def _condition(template: Template, shape: Shape, window: str) -> str:
    """PromQL, by tenant_id, true where the window burns strictly faster than the tenant's
    threshold: error ratio / budget > burn, the batch's own floating-point operations."""
    join = "on (tenant_id) group_left ()"
    budget = template.select("slo:error_budget:ratio")
    threshold = THRESHOLD + _selector({"burnwatch_template": template.name, **shape.matchers})
    if not shape.min_denominator:
        ratio = template.select(f"slo:sli_error:ratio_rate{window}")
        burn = f"{ratio}\n  / {join} {budget}"
    else:
        # bad / max(total, min_denominator): the batch's damped burn for small windows.
        bad, total = counts(template, window)
        burn = f"{bad}\n  / clamp_min({total}, {shape.min_denominator})\n  / {join} {budget}"
    return f"max by (tenant_id) (\n  {burn}\n  > {join} {threshold}\n)"


def _alert_timing(shape: Shape, cooldowns: Cooldowns) -> dict[str, str]:
    """`for` / `keep_firing_for` of an alert. No `for:`: the batch fires at the first step.

    The cooldown of `fct_alerts` for the rule's severity becomes `keep_firing_for`, less
    one evaluation step. Prometheus starts counting `keep_firing_for` at the first
    evaluation whose condition is false, one step after the last firing one, while
    fct_alerts counts its cooldown from that last firing step: a rule that last fired
    at L resolves at L + cooldown in both. A cooldown of one step or none keeps nothing.
    """
    keep = cooldowns.for_severity(shape.severity) - BUCKET_MINUTES
    return {"keep_firing_for": f"{keep}m"} if keep > 0 else {}


def _alerts(template: Template, cooldowns: Cooldowns) -> list[dict[str, Any]]:
    alerts = []
    for shape, _ in template.shapes:
        expr = (
            f"{_condition(template, shape, shape.long_window)}\nand on (tenant_id)\n"
            f"{_condition(template, shape, shape.short_window)}"
        )
        if shape.min_events > 0:
            _, total = counts(template, shape.long_window)
            expr += f"\nand on (tenant_id)\n({total} >= {shape.min_events})"
        alerts.append(
            {
                "alert": ALERT_NAME,
                "expr": _sloth_id(expr, template),
                **_alert_timing(shape, cooldowns),
                "labels": dict(sorted({**template.labels, **shape.labels}.items())),
                "annotations": alert_annotations(template, shape),
            }
        )
    return alerts


def alert_annotations(template: Template, shape: Shape) -> dict[str, str]:
    """Annotations, templated per tenant: `$value` is the long window's burn rate and the
    threshold is read back from the tenant's threshold series."""
    key = template.key
    threshold = (
        f'{{{{ with printf "{THRESHOLD}{{burnwatch_template=%q, burnwatch_rule=%q, '
        f'tenant_id=%q}}" {_quote(template.name)} {_quote(shape.rule_name)} '
        "$labels.tenant_id | query }}{{ . | first | value }}{{ end }}"
    )
    return {
        "summary": (
            f"{{{{ $labels.tenant_id }}}} {key.slo_name}: error budget burning "
            f'{{{{ printf "%.2f" $value }}}}x over {shape.long_window}, faster than '
            f"{threshold}x over {shape.long_window} and {shape.short_window}"
        ),
        "description": (
            f"{key.sli} SLO {key.slo_name} of tenant {{{{ $labels.tenant_id }}}} "
            f"({key.service}, cohort {key.cohort}), {key.period_days}-day period: "
            f"policy rule {shape.rule_name} fires while both {shape.long_window} and "
            f"{shape.short_window} burn the error budget faster than the tenant's threshold."
        ),
    }


# --- files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSet:
    """The rule groups by file name, the SLOs left out with the reason, and counts."""

    groups: dict[str, list[dict[str, Any]]]
    skipped: list[tuple[ResolvedSlo, str]]
    templates: list[Template]

    @property
    def rules(self) -> int:
        return sum(len(group["rules"]) for groups in self.groups.values() for group in groups)

    @property
    def alerts(self) -> int:
        return sum(
            1
            for groups in self.groups.values()
            for group in groups
            for rule in group["rules"]
            if "alert" in rule
        )

    @property
    def tenant_slos(self) -> int:
        return sum(len(template.slos) for template in self.templates)

    def series(self) -> tuple[int, int]:
        """An estimate of the series the rules create: (recorded, alert). A recording rule
        records one series per tenant SLO it covers (at most: fewer while a tenant exports
        nothing); an alert rule, while firing for every tenant it covers, writes ALERTS and
        ALERTS_FOR_STATE for each."""
        recorded = alert = 0
        for template in self.templates:
            per_tenant = len(_recordings(template)) - len(template.shapes)
            recorded += per_tenant * len(template.slos)
            covered = sum(len(rules) for _, rules in template.shapes)
            recorded += covered  # the threshold series
            alert += 2 * covered
        return recorded, alert


def rule_groups(manifest: Manifest) -> RuleSet:
    """One group per SLO template, one file per cohort, with the rules of
    `manifest.resolved_rules()`: the very rows of the batch's `alert_policy`."""
    found, skipped = templates(manifest)
    groups: dict[str, list[dict[str, Any]]] = {}
    for template in found:
        name = f"burnwatch-{template.name.replace('/', '-')}"
        groups.setdefault(f"{FILE_PREFIX}{template.key.cohort}{FILE_SUFFIX}", []).append(
            {
                "name": name,
                "rules": [
                    *_recordings(template),
                    *_alerts(template, manifest.policy.cooldown_minutes),
                ],
            }
        )
    return RuleSet(dict(sorted(groups.items())), skipped, found)


class _Dumper(yaml.SafeDumper):
    pass


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def render(manifest: Manifest, source: str = "slos.yaml") -> dict[str, str]:
    """The rule files' text by file name; the same manifest always gives the same bytes."""
    return _render(rule_groups(manifest), source)


def _render(ruleset: RuleSet, source: str) -> dict[str, str]:
    header = (
        f"# Generated by `burnwatch rules` from {source}: do not edit.\n"
        f"# Inputs: {REQUESTS_METRIC}{{tenant_id, service, code}}, "
        f"{DURATION_METRIC}_bucket/_count{{tenant_id, service, le}}. See docs/prometheus.md.\n"
    )
    files = {}
    for name, groups in ruleset.groups.items():
        cohort = name.removeprefix(FILE_PREFIX).removesuffix(FILE_SUFFIX)
        notes = "".join(
            f"# Not generated: {slo.tenant_id}/{slo.slo_name} ({reason}).\n"
            for slo, reason in ruleset.skipped
            if slo.cohort == cohort
        )
        body = yaml.dump(
            {"groups": groups},
            Dumper=_Dumper,
            sort_keys=False,
            width=1000,
            default_flow_style=False,
            allow_unicode=True,
        )
        files[name] = header + notes + body
    return files


def write_rules(
    manifest: Manifest, out_dir: Path, source: str = "slos.yaml", ruleset: RuleSet | None = None
) -> list[Path]:
    """Write one rule file per cohort into `out_dir`, each atomically, and remove the
    other `burnwatch-*.rules.yml` files (older layouts, cohorts no longer in the
    manifest); return the written paths, sorted."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = _render(ruleset or rule_groups(manifest), source)
    written = []
    for name, text in files.items():
        written.append(write_text_atomic(out_dir / name, text))
    for stale in out_dir.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}"):
        if stale.name not in files:
            stale.unlink()
    return sorted(written)
