"""The SLO manifest (`slos.yaml`): cohorts, tenants, their SLOs and the alert policy.

The manifest is validated on load with pydantic; every error names the file,
the key path (and its line when the YAML has one) and the problem.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas.errors import BurnwatchInputError

SliKind = Literal["availability", "latency"]
Severity = Literal["page", "ticket"]

# Evaluation windows, in minutes, by their label. Every window is a whole
# number of 5-minute buckets, so window sums are exact over buckets.
WINDOW_MINUTES: dict[str, int] = {
    "5m": 5,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "6h": 360,
    "1d": 1440,
    "3d": 4320,
}
BUCKET_MINUTES = 5
WindowLabel = Literal["5m", "30m", "1h", "2h", "6h", "1d", "3d"]

_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyRule(_Strict):
    """One multiwindow rule: fire when both windows burn faster than `burn_rate`."""

    name: str
    severity: Severity
    long_window: WindowLabel
    short_window: WindowLabel
    burn_rate: float = Field(gt=0)

    @model_validator(mode="after")
    def _short_is_shorter(self) -> PolicyRule:
        if WINDOW_MINUTES[self.short_window] >= WINDOW_MINUTES[self.long_window]:
            raise ValueError(
                f"short_window {self.short_window} must be shorter than "
                f"long_window {self.long_window}"
            )
        return self


def workbook_policy() -> list[PolicyRule]:
    """The SRE Workbook's recommended multiwindow, multi-burn-rate policy (30-day period)."""
    return [
        PolicyRule(name="page-1h", severity="page", long_window="1h", short_window="5m",
                   burn_rate=14.4),
        PolicyRule(name="page-6h", severity="page", long_window="6h", short_window="30m",
                   burn_rate=6.0),
        PolicyRule(name="ticket-1d", severity="ticket", long_window="1d", short_window="2h",
                   burn_rate=3.0),
        PolicyRule(name="ticket-3d", severity="ticket", long_window="3d", short_window="6h",
                   burn_rate=1.0),
    ]


class Policy(_Strict):
    rules: list[PolicyRule] = Field(default_factory=workbook_policy, min_length=1)

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[PolicyRule]) -> list[PolicyRule]:
        names = [rule.name for rule in rules]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"duplicate rule names: {', '.join(duplicated)}")
        return rules


def _check_objective(value: float | None) -> float | None:
    if value is not None and not 0 < value < 100:
        raise ValueError(f"objective is a percentage strictly between 0 and 100, got {value}")
    return value


class SliDefaults(_Strict):
    """A cohort's default objective (and latency threshold) for one SLI kind."""

    objective: float
    threshold_ms: float | None = Field(default=None, gt=0)

    _objective = field_validator("objective")(_check_objective)


class Cohort(_Strict):
    availability: SliDefaults | None = None
    latency: SliDefaults | None = None
    period_days: int | None = Field(default=None, ge=1, le=366)


class SloDefinition(_Strict):
    name: str
    service: str
    sli: SliKind
    objective: float | None = None
    threshold_ms: float | None = Field(default=None, gt=0)
    period_days: int | None = Field(default=None, ge=1, le=366)

    _objective = field_validator("objective")(_check_objective)

    @field_validator("name", "service")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _ID_PATTERN.match(value):
            raise ValueError(f"{value!r} must be letters, digits, '_', '.' or '-'")
        return value


class Tenant(_Strict):
    id: str
    cohort: str
    slos: list[SloDefinition] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _ID_PATTERN.match(value):
            raise ValueError(f"tenant id {value!r} must be letters, digits, '_', '.' or '-'")
        return value


class Manifest(_Strict):
    version: Literal[1] = 1
    period_days: int = Field(default=30, ge=1, le=366)
    policy: Policy = Field(default_factory=Policy)
    cohorts: dict[str, Cohort] = Field(min_length=1)
    tenants: list[Tenant] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_resolve(self) -> Manifest:
        seen: set[str] = set()
        for index, tenant in enumerate(self.tenants):
            if tenant.id in seen:
                raise ValueError(f"tenants[{index}]: duplicate tenant id {tenant.id!r}")
            seen.add(tenant.id)
            if tenant.cohort not in self.cohorts:
                raise ValueError(
                    f"tenants[{index}].cohort: unknown cohort {tenant.cohort!r} "
                    f"(known: {', '.join(sorted(self.cohorts))})"
                )
            slo_names = [slo.name for slo in tenant.slos]
            for slo_index, slo in enumerate(tenant.slos):
                where = f"tenants[{index}].slos[{slo_index}]"
                if slo_names.count(slo.name) > 1:
                    raise ValueError(f"{where}.name: duplicate SLO name {slo.name!r}")
                resolved = self._resolve(tenant, slo)
                if resolved.objective is None:
                    raise ValueError(
                        f"{where}.objective: missing, and cohort {tenant.cohort!r} "
                        f"has no default for {slo.sli}"
                    )
                if slo.sli == "latency" and resolved.threshold_ms is None:
                    raise ValueError(f"{where}.threshold_ms: a latency SLO needs threshold_ms")
                if slo.sli == "availability" and slo.threshold_ms is not None:
                    raise ValueError(
                        f"{where}.threshold_ms: only latency SLOs take threshold_ms"
                    )
        return self

    def _resolve(self, tenant: Tenant, slo: SloDefinition) -> ResolvedSlo:
        cohort = self.cohorts[tenant.cohort]
        defaults = getattr(cohort, slo.sli)
        objective = slo.objective if slo.objective is not None else (
            defaults.objective if defaults else None
        )
        threshold = slo.threshold_ms
        if threshold is None and slo.sli == "latency" and defaults is not None:
            threshold = defaults.threshold_ms
        period = slo.period_days or cohort.period_days or self.period_days
        return ResolvedSlo(
            tenant_id=tenant.id,
            cohort=tenant.cohort,
            slo_name=slo.name,
            service=slo.service,
            sli=slo.sli,
            objective=objective,
            threshold_ms=threshold if slo.sli == "latency" else None,
            period_days=period,
        )

    def resolved_slos(self) -> list[ResolvedSlo]:
        """Every tenant's SLOs with cohort defaults filled in, sorted by tenant and SLO."""
        resolved = [self._resolve(t, s) for t in self.tenants for s in t.slos]
        return sorted(resolved, key=lambda r: (r.tenant_id, r.slo_name))


class ResolvedSlo(BaseModel):
    """One tenant's SLO after cohort defaults are applied: a row of `slo_specs`."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    cohort: str
    slo_name: str
    service: str
    sli: SliKind
    objective: float | None
    threshold_ms: float | None
    period_days: int


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at pydantic location `loc`, if it can be found."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [value for key, value in node.value if getattr(key, "value", None) == part]
            if not match:
                key_nodes = [key for key, _ in node.value if getattr(key, "value", None) == part]
                return key_nodes[0].start_mark.line + 1 if key_nodes else line
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
        else:
            return line
        line = node.start_mark.line + 1
    return line


def _format_loc(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate `slos.yaml`; raise BurnwatchInputError naming file, key and line."""
    path = Path(path)
    if not path.is_file():
        raise BurnwatchInputError(f"{path}: manifest file not found")
    text = path.read_text(encoding="utf-8")
    try:
        document = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise BurnwatchInputError(f"{path}{where}: not valid YAML: {problem}") from None
    if not isinstance(document, dict):
        raise BurnwatchInputError(f"{path}: the manifest must be a YAML mapping")
    try:
        return Manifest.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        loc = tuple(part for part in first["loc"] if not isinstance(part, str) or part)
        # Errors raised by model validators carry their own key path in the message.
        message = first["msg"].removeprefix("Value error, ")
        line = _line_of(root, loc)
        where = f"{path}:{line}" if line else str(path)
        if first["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
        count = error.error_count()
        more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
        return_key = _format_loc(loc) if loc else "(top level)"
        raise BurnwatchInputError(f"{where}: {return_key}: {message}{more}") from None
