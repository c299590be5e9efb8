"""Import OpenSLO v1 documents into a Burnwatch manifest: `burnwatch import-openslo`.

OpenSLO (https://github.com/OpenSLO/OpenSLO, `apiVersion: openslo/v1`) describes
SLOs against metric queries; Burnwatch computes SLIs from request logs. The
importer maps what has a meaning here and names, in a warning, everything it
cannot map (document kind and name, and the field). docs/openslo.md has the table.

- `SLO` -> one SLO of a tenant (label `tenant`, else `--tenant`), one per objective;
- `SLI` (by `indicatorRef`, or inline `indicator`) -> the SLI kind or a predicate:
  `ratioMetric` -> availability (bad = status >= 500), or the exact predicate of a
  metric source of type `Burnwatch` (`spec: {bad_when: ...}` / `{good_when: ...}`);
  `thresholdMetric` -> latency, with the objective's `value` as `threshold_ms`;
- `AlertPolicy` / `AlertCondition` (`kind: burnrate`) -> policy rules;
- `budgetingMethod`, `timeWindow` (rolling or calendar) -> budgeting and period.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from schemas.errors import BurnwatchInputError
from schemas.manifest import WINDOW_MINUTES, Manifest
from schemas.yaml_documents import load_yaml_documents

API_VERSION = "openslo/v1"
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdwMQY])\s*$")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# Metric-source queries that count server errors (PromQL label matchers and the like).
_SERVER_ERRORS = re.compile(
    r"""(code|status(_code)?)\s*=~?\s*["']?(5\.\.|5xx|5\d\d|5\[0-9\])""", re.IGNORECASE
)
_NOT_SERVER_ERRORS = re.compile(r"""(code|status(_code)?)\s*!~\s*["']?(5\.\.|5xx)""", re.IGNORECASE)
_SEVERITIES = {
    "page": "page",
    "critical": "page",
    "high": "page",
    "urgent": "page",
    "ticket": "ticket",
    "warning": "ticket",
    "medium": "ticket",
    "low": "ticket",
    "info": "ticket",
}


@dataclass
class Imported:
    """The manifest as a plain mapping (ready for YAML) and what could not be mapped."""

    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


class _Importer:
    def __init__(self, documents: list[dict[str, Any]], tenant: str, cohort: str) -> None:
        self.tenant = tenant
        self.cohort = cohort
        self.warnings: list[str] = []
        self.by_kind: dict[str, dict[str, dict[str, Any]]] = {}
        for document in documents:
            kind = str(document.get("kind", ""))
            name = str((document.get("metadata") or {}).get("name", ""))
            self.by_kind.setdefault(kind, {})[name] = document

    def warn(self, kind: str, name: str, where: str, message: str) -> None:
        self.warnings.append(f"{kind}/{name}: {where}: {message}")

    # --- SLIs -------------------------------------------------------------------------

    def sli_fields(
        self, slo_name: str, spec: dict[str, Any], objective: dict[str, Any], where: str
    ) -> dict[str, Any] | None:
        """The Burnwatch SLI keys (sli, threshold_ms, bad_when/good_when) of an SLO."""
        if "indicatorRef" in spec:
            ref = str(spec["indicatorRef"])
            document = self.by_kind.get("SLI", {}).get(ref)
            if document is None:
                self.warn(
                    "SLO",
                    slo_name,
                    "spec.indicatorRef",
                    f"no SLI document named {ref!r}: SLO skipped",
                )
                return None
            sli_kind, sli_name, sli_spec = "SLI", ref, document.get("spec") or {}
        elif "indicator" in spec:
            inline = spec["indicator"] or {}
            sli_kind, sli_name = "SLO", slo_name
            sli_spec = inline.get("spec") or {}
            where = "spec.indicator.spec"
        else:
            self.warn("SLO", slo_name, "spec", "no indicator or indicatorRef: SLO skipped")
            return None
        prefix = "spec" if sli_kind == "SLI" else where
        if "ratioMetric" in sli_spec:
            return self.ratio_fields(
                sli_kind, sli_name, sli_spec["ratioMetric"] or {}, f"{prefix}.ratioMetric"
            )
        if "thresholdMetric" in sli_spec:
            return self.threshold_fields(slo_name, sli_kind, sli_name, objective)
        self.warn(
            sli_kind, sli_name, prefix, "neither ratioMetric nor thresholdMetric: SLO skipped"
        )
        return None

    def ratio_fields(
        self, kind: str, name: str, ratio: dict[str, Any], where: str
    ) -> dict[str, Any] | None:
        if "raw" in ratio or "rawType" in ratio:
            self.warn(
                kind,
                name,
                f"{where}.raw",
                "a precomputed ratio cannot be recomputed from request logs: SLO skipped",
            )
            return None
        if ratio.get("counter") is False:
            self.warn(
                kind,
                name,
                f"{where}.counter",
                "gauge metrics are not request counts: counted as requests anyway",
            )
        for side in ("good", "bad"):
            source = (ratio.get(side) or {}).get("metricSource") or {}
            if str(source.get("type", "")).lower() == "burnwatch":
                predicate = source.get("spec") or {}
                for key in ("bad_when", "good_when"):
                    if key in predicate:
                        return {"sli": "availability", key: str(predicate[key])}
                self.warn(
                    kind,
                    name,
                    f"{where}.{side}.metricSource.spec",
                    "a Burnwatch metric source needs bad_when or good_when",
                )
        good = _query_text(ratio.get("good"))
        bad = _query_text(ratio.get("bad"))
        if (bad and _SERVER_ERRORS.search(bad)) or (good and _NOT_SERVER_ERRORS.search(good)):
            fields: dict[str, Any] = {"sli": "availability"}
        else:
            fields = {"sli": "availability"}
            self.warn(
                kind,
                name,
                where,
                "good/bad/total queries cannot be translated to request-log columns: "
                "mapped to availability (bad = status_code >= 500); use a metricSource "
                "of type Burnwatch with bad_when for an exact predicate",
            )
        total = _query_text(ratio.get("total"))
        if total and re.search(r"\{[^}]*(handler|path|route|method|operation)", total):
            self.warn(
                kind,
                name,
                f"{where}.total",
                "the total query filters requests (handler/route/method): Burnwatch "
                "counts every request of the SLO's service",
            )
        return fields

    def threshold_fields(
        self, slo_name: str, kind: str, name: str, objective: dict[str, Any]
    ) -> dict[str, Any] | None:
        value = objective.get("value")
        op = str(objective.get("op", "lte"))
        if value is None:
            self.warn(
                "SLO",
                slo_name,
                "spec.objectives[].value",
                "a thresholdMetric objective needs value: SLO skipped",
            )
            return None
        self.warn(
            kind,
            name,
            "spec.thresholdMetric",
            f"assumed to be request latency in milliseconds (latency_ms {op} {value})",
        )
        threshold = float(value)
        if op == "lte":
            return {"sli": "latency", "threshold_ms": threshold}
        bad_when = {
            "lt": f"latency_ms >= {threshold:g}",
            "gte": f"latency_ms < {threshold:g}",
            "gt": f"latency_ms <= {threshold:g}",
        }.get(op)
        if bad_when is None:
            self.warn("SLO", slo_name, "spec.objectives[].op", f"unknown op {op!r}: SLO skipped")
            return None
        return {"sli": "latency", "threshold_ms": threshold, "bad_when": bad_when}

    # --- time windows and budgeting -----------------------------------------------------

    def window_fields(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        windows = spec.get("timeWindow") or []
        if not windows:
            self.warn("SLO", name, "spec.timeWindow", "missing: the manifest's period applies")
            return {}
        if len(windows) > 1:
            self.warn("SLO", name, "spec.timeWindow", "only the first time window is used")
        window = windows[0] or {}
        duration = str(window.get("duration", ""))
        match = _DURATION.match(duration)
        if not match:
            self.warn(
                "SLO",
                name,
                "spec.timeWindow[0].duration",
                f"cannot read {duration!r}: the manifest's period applies",
            )
            return {}
        count, unit = int(match.group(1)), match.group(2)
        calendar = window.get("calendar")
        rolling = window.get("isRolling", calendar is None)
        if rolling:
            if unit not in ("d", "w"):
                self.warn(
                    "SLO",
                    name,
                    "spec.timeWindow[0].duration",
                    f"a rolling window of {duration} is not whole days: "
                    "the manifest's period applies",
                )
                return {}
            days = count * (7 if unit == "w" else 1)
            if not 1 <= days <= 366:
                self.warn(
                    "SLO",
                    name,
                    "spec.timeWindow[0].duration",
                    f"{days} days is outside 1..366: the manifest's period applies",
                )
                return {}
            return {"period_days": days}
        period = {
            ("w", 1): "week",
            ("M", 1): "month",
            ("M", 3): "quarter",
            ("Q", 1): "quarter",
        }.get((unit, count))
        if period is None:
            self.warn(
                "SLO",
                name,
                "spec.timeWindow[0].duration",
                f"calendar window {duration} is not a week, month or quarter: "
                "the manifest's period applies",
            )
            return {}
        fields: dict[str, Any] = {"calendar": period}
        calendar = calendar or {}
        if calendar.get("timeZone"):
            fields["timezone"] = str(calendar["timeZone"])
        start = str(calendar.get("startTime", ""))
        if start and not _period_start(start, period):
            self.warn(
                "SLO",
                name,
                "spec.timeWindow[0].calendar.startTime",
                f"{start}: Burnwatch calendar periods start on the {period}'s natural "
                "boundary (Monday / the 1st, 00:00 local); the start time is ignored",
            )
        return fields

    def budgeting_fields(
        self, name: str, spec: dict[str, Any], objective: dict[str, Any], where: str
    ) -> dict[str, Any]:
        method = str(spec.get("budgetingMethod", "Occurrences"))
        if method == "Occurrences":
            return {}
        if method not in ("Timeslices", "RatioTimeslices"):
            self.warn(
                "SLO", name, "spec.budgetingMethod", f"unknown method {method!r}: occurrences used"
            )
            return {}
        fields: dict[str, Any] = {
            "budgeting": "timeslices" if method == "Timeslices" else "ratio_timeslices"
        }
        slice_window = str(objective.get("timeSliceWindow", "5m"))
        match = _DURATION.match(slice_window)
        minutes = (int(match.group(1)) * _UNIT_MINUTES.get(match.group(2), 0)) if match else 0
        if match and match.group(2) == "s":
            minutes = int(match.group(1)) // 60
        allowed = [m for m in range(5, 1441, 5) if 1440 % m == 0]
        chosen = min(allowed, key=lambda m: (abs(m - minutes), m))
        if chosen != minutes:
            self.warn(
                "SLO",
                name,
                f"{where}.timeSliceWindow",
                f"{slice_window} is not a multiple of 5 minutes dividing a day: "
                f"{chosen} minutes used",
            )
        fields["timeslice_minutes"] = chosen
        if method == "Timeslices":
            target = objective.get("timeSliceTarget")
            if target is None:
                self.warn(
                    "SLO",
                    name,
                    f"{where}.timeSliceTarget",
                    "missing for Timeslices: the objective's target is used",
                )
                target = _fraction(objective)
            if target is not None:
                fields["timeslice_target"] = _percent(float(target))
        return fields

    # --- alert policies -----------------------------------------------------------------

    def policy_rules(self, slo_name: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = []
        for index, entry in enumerate(spec.get("alertPolicies") or []):
            where = f"spec.alertPolicies[{index}]"
            if isinstance(entry, str) or "alertPolicyRef" in (entry or {}):
                ref = entry if isinstance(entry, str) else str(entry["alertPolicyRef"])
                document = self.by_kind.get("AlertPolicy", {}).get(ref)
                if document is None:
                    self.warn("SLO", slo_name, where, f"no AlertPolicy named {ref!r}: ignored")
                    continue
            else:
                document = entry
            rules += self.alert_policy_rules(document)
        return rules

    def alert_policy_rules(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        name = str((document.get("metadata") or {}).get("name", "inline"))
        spec = document.get("spec") or {}
        if spec.get("alertWhenNoData"):
            self.warn(
                "AlertPolicy",
                name,
                "spec.alertWhenNoData",
                "Burnwatch reports no data as state no_data in fct_alert_evaluations "
                "but never alerts on it",
            )
        if spec.get("notificationTargets"):
            self.warn(
                "AlertPolicy",
                name,
                "spec.notificationTargets",
                "not imported: configure `notifications:` in the manifest",
            )
        rules = []
        for index, entry in enumerate(spec.get("conditions") or []):
            where = f"spec.conditions[{index}]"
            entry = entry or {}
            if "conditionRef" in entry:
                ref = str(entry["conditionRef"])
                condition = self.by_kind.get("AlertCondition", {}).get(ref)
                if condition is None:
                    self.warn(
                        "AlertPolicy",
                        name,
                        f"{where}.conditionRef",
                        f"no AlertCondition named {ref!r}: ignored",
                    )
                    continue
                rule = self.condition_rule("AlertCondition", ref, condition, "spec")
            else:
                cond_name = str((entry.get("metadata") or {}).get("name", f"{name}-{index}"))
                rule = self.condition_rule("AlertPolicy", name, entry, f"{where}.spec", cond_name)
            if rule is not None:
                rules.append(rule)
        if not rules:
            self.warn("AlertPolicy", name, "spec.conditions", "no condition could be mapped")
        return rules

    def condition_rule(
        self,
        kind: str,
        name: str,
        document: dict[str, Any],
        where: str,
        rule_name: str | None = None,
    ) -> dict[str, Any] | None:
        spec = document.get("spec") or {}
        condition = spec.get("condition") or {}
        rule_name = rule_name or name
        if str(condition.get("kind", "burnrate")).lower() != "burnrate":
            self.warn(
                kind,
                name,
                f"{where}.condition.kind",
                f"{condition.get('kind')!r} is not burnrate: ignored",
            )
            return None
        op = str(condition.get("op", "gt"))
        if op not in ("gt", "gte"):
            self.warn(
                kind,
                name,
                f"{where}.condition.op",
                f"{op!r}: a burn-rate alert fires above its threshold: ignored",
            )
            return None
        if op == "gte":
            self.warn(
                kind,
                name,
                f"{where}.condition.op",
                "gte is evaluated as gt (Burnwatch fires strictly above the threshold)",
            )
        threshold = condition.get("threshold")
        lookback = _minutes(str(condition.get("lookbackWindow", "")))
        if threshold is None or lookback is None:
            self.warn(
                kind, name, f"{where}.condition", "needs threshold and lookbackWindow: ignored"
            )
            return None
        long_window = _window_label(lookback)
        if long_window is None:
            self.warn(
                kind,
                name,
                f"{where}.condition.lookbackWindow",
                f"{condition.get('lookbackWindow')} is not one of Burnwatch's long "
                f"windows ({', '.join(list(WINDOW_MINUTES)[1:])}): ignored",
            )
            return None
        if WINDOW_MINUTES[long_window] != lookback:
            self.warn(
                kind,
                name,
                f"{where}.condition.lookbackWindow",
                f"{condition.get('lookbackWindow')} evaluated over {long_window}",
            )
        if condition.get("alertAfter"):
            self.warn(
                kind,
                name,
                f"{where}.condition.alertAfter",
                "not supported: Burnwatch confirms with a short window "
                f"({_short_window(long_window)}) instead of a hold time",
            )
        severity = _SEVERITIES.get(str(spec.get("severity", "page")).lower())
        if severity is None:
            self.warn(
                kind,
                name,
                f"{where}.severity",
                f"{spec.get('severity')!r} is neither page nor ticket: ticket used",
            )
            severity = "ticket"
        return {
            "name": _identifier(rule_name),
            "severity": severity,
            "long_window": long_window,
            "short_window": _short_window(long_window),
            "burn_rate": float(threshold),
        }

    # --- the whole manifest -------------------------------------------------------------

    def run(self) -> Imported:
        for kind, documents in sorted(self.by_kind.items()):
            if kind not in ("SLO", "SLI", "AlertPolicy", "AlertCondition"):
                for name in sorted(documents):
                    self.warn(kind or "(no kind)", name, "kind", "not mapped: ignored")
        tenants: dict[str, list[dict[str, Any]]] = {}
        rule_sets: dict[str, list[dict[str, Any]]] = {}
        for name, document in sorted(self.by_kind.get("SLO", {}).items()):
            spec = document.get("spec") or {}
            labels = (document.get("metadata") or {}).get("labels") or {}
            tenant = labels.get("tenant", self.tenant)
            if isinstance(tenant, list):
                tenant = tenant[0] if tenant else self.tenant
            service = spec.get("service")
            if not service:
                self.warn("SLO", name, "spec.service", "missing: SLO skipped")
                continue
            objectives = spec.get("objectives") or []
            if not objectives:
                self.warn("SLO", name, "spec.objectives", "missing: SLO skipped")
                continue
            base = {"window": self.window_fields(name, spec)}
            for index, objective in enumerate(objectives):
                objective = objective or {}
                where = f"spec.objectives[{index}]"
                sli = self.sli_fields(name, spec, objective, where)
                if sli is None:
                    continue
                target = _fraction(objective)
                if target is None:
                    self.warn("SLO", name, where, "needs target or targetPercent: skipped")
                    continue
                slo_name = (
                    name
                    if len(objectives) == 1
                    else (f"{name}-{objective.get('displayName') or index}")
                )
                slo = {
                    "name": _identifier(slo_name),
                    "service": _identifier(str(service)),
                    **sli,
                    "objective": _percent(target),
                    **base["window"],
                    **self.budgeting_fields(name, spec, objective, where),
                }
                if objective.get("indicator") or objective.get("indicatorRef"):
                    self.warn(
                        "SLO",
                        name,
                        f"{where}.indicator",
                        "per-objective indicators are not supported: the SLO's is used",
                    )
                tenants.setdefault(_identifier(str(tenant)), []).append(slo)
            rule_sets[name] = self.policy_rules(name, spec)
        if not tenants:
            raise BurnwatchInputError("no OpenSLO SLO document could be imported")
        manifest: dict[str, Any] = {"version": 1, "cohorts": {self.cohort: {}}}
        distinct = {_freeze(rules) for rules in rule_sets.values() if rules}
        if distinct:
            union: dict[str, dict[str, Any]] = {}
            for name in sorted(rule_sets):
                for rule in rule_sets[name]:
                    union.setdefault(rule["name"], rule)
            if len(distinct) > 1 or any(not rules for rules in rule_sets.values()):
                self.warn(
                    "SLO",
                    ",".join(sorted(rule_sets)),
                    "spec.alertPolicies",
                    "Burnwatch applies one policy to all of a tenant's SLOs, not one "
                    "per SLO: the union of every SLO's alert conditions applies to all",
                )
            manifest["policy"] = {"rules": list(union.values())}
        manifest["tenants"] = [
            {"id": tenant, "cohort": self.cohort, "slos": slos}
            for tenant, slos in sorted(tenants.items())
        ]
        return Imported(manifest, self.warnings)


def _query_text(side: Any) -> str:
    source = ((side or {}).get("metricSource") or {}).get("spec") or {}
    return " ".join(str(value) for value in source.values()) if isinstance(source, dict) else ""


def _fraction(objective: dict[str, Any]) -> float | None:
    if objective.get("target") is not None:
        return float(objective["target"])
    if objective.get("targetPercent") is not None:
        return float(objective["targetPercent"]) / 100
    return None


def _percent(fraction: float) -> float:
    # 0.999 -> 99.9 without binary noise (99.90000000000001).
    return round(fraction * 100, 10)


def _minutes(duration: str) -> int | None:
    match = _DURATION.match(duration)
    if not match or match.group(2) not in _UNIT_MINUTES:
        return None
    return int(match.group(1)) * _UNIT_MINUTES[match.group(2)]


def _window_label(minutes: int) -> str | None:
    """The Burnwatch long window for a lookback: exact, else the nearest not shorter."""
    longer = [label for label, size in WINDOW_MINUTES.items() if size >= minutes and size > 5]
    return longer[0] if longer else None


def _short_window(long_window: str) -> str:
    """The SRE Workbook's short window: 1/12 of the long one (1h->5m, 6h->30m, 1d->2h, 3d->6h)."""
    target = WINDOW_MINUTES[long_window] / 12
    fitting = [label for label, size in WINDOW_MINUTES.items() if size <= max(target, 5)]
    return fitting[-1]


def _period_start(start: str, period: str) -> bool:
    """Whether an OpenSLO calendar startTime lies on the period's natural boundary."""
    match = re.match(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?", start)
    if not match:
        return False
    year, month, day = (int(match.group(i)) for i in (1, 2, 3))
    midnight = all(int(match.group(i) or 0) == 0 for i in (4, 5, 6))
    if period == "week":
        return midnight and dt.date(year, month, day).weekday() == 0
    if period == "quarter":
        return midnight and day == 1 and month in (1, 4, 7, 10)
    return midnight and day == 1


def _identifier(text: str) -> str:
    cleaned = _ID_UNSAFE.sub("-", text).strip("-_.")
    return cleaned or "unnamed"


def _freeze(rules: list[dict[str, Any]]) -> tuple[tuple[tuple[str, Any], ...], ...]:
    return tuple(sorted(tuple(sorted(rule.items())) for rule in rules))


def read_documents(path: Path) -> list[dict[str, Any]]:
    """Every YAML document of an OpenSLO file; raises BurnwatchInputError naming the file."""
    if not path.is_file():
        raise BurnwatchInputError(f"{path}: file not found")
    documents = [d for d in load_yaml_documents(path) if d]
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            raise BurnwatchInputError(f"{path}: document {index + 1} is not a mapping")
    return documents


def import_openslo(
    documents: list[dict[str, Any]], tenant: str = "default", cohort: str = "imported"
) -> Imported:
    """Map OpenSLO v1 documents to a Burnwatch manifest (validated) and a list of warnings.

    Documents of another apiVersion are skipped with a warning. Raises
    BurnwatchInputError when nothing can be imported or the result is not a valid manifest.
    """
    kept, skipped = [], []
    for document in documents:
        if document.get("apiVersion") == API_VERSION:
            kept.append(document)
        else:
            name = (document.get("metadata") or {}).get("name", "")
            skipped.append(
                f"{document.get('kind', '(no kind)')}/{name}: apiVersion: "
                f"{document.get('apiVersion')!r} is not {API_VERSION}: ignored"
            )
    importer = _Importer(kept, tenant, cohort)
    importer.warnings.extend(skipped)
    imported = importer.run()
    try:
        Manifest.model_validate(imported.manifest)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BurnwatchInputError(
            f"the imported manifest is not valid: {where}: "
            f"{first['msg'].removeprefix('Value error, ')}"
        ) from None
    return imported


def manifest_yaml(imported: Imported, source: str) -> str:
    header = f"# Imported from OpenSLO ({source}) by `burnwatch import-openslo`.\n"
    notes = "".join(f"# warning: {line}\n" for line in imported.warnings)
    return header + notes + yaml.safe_dump(imported.manifest, sort_keys=False)
