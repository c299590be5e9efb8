"""The SLO manifest (`slos.yaml`): cohorts, tenants, their SLOs and the alert policy.

The manifest is validated on load with pydantic; every error names the file,
the key path (and its line when the YAML has one) and the problem.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zoneinfo
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas.errors import BurnwatchInputError
from schemas.predicates import PredicateError, bad_predicate, check_predicate
from schemas.routing import NotificationConfig
from schemas.yaml_documents import load_document

SliKind = Literal["availability", "latency"]
Budgeting = Literal["occurrences", "timeslices", "ratio_timeslices"]
CalendarPeriod = Literal["week", "month", "quarter"]
# Nominal lengths of calendar periods, for policies written as budget percentages.
CALENDAR_NOMINAL_DAYS: dict[str, int] = {"week": 7, "month": 30, "quarter": 91}
# The longest each calendar period can be: how far back its budget can reach.
CALENDAR_MAX_DAYS: dict[str, int] = {"week": 7, "month": 31, "quarter": 92}
# The longest rolling SLO period and cohort-threshold history a manifest may set.
MAX_PERIOD_DAYS = 366
MAX_HISTORY_DAYS = 366
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
# Grouped alerts' cooldowns (policy.cooldown_minutes), chosen from the sample's replay.
DEFAULT_PAGE_COOLDOWN_MINUTES = 30
DEFAULT_TICKET_COOLDOWN_MINUTES = 60
# A cooldown longer than the longest window would hold an alert past any burn it saw.
MAX_COOLDOWN_MINUTES = 4320
WindowLabel = Literal["5m", "30m", "1h", "2h", "6h", "1d", "3d"]

# \Z, not $: `$` also matches before a final newline, which let "globex\n" through.
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


def _takes_bool(annotation: Any) -> bool:
    return annotation is bool or bool in get_args(annotation)


class _Strict(BaseModel):
    # `.inf` and `.nan` are valid YAML floats but no threshold, objective or rate.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads `true` as 1 for a number (lax mode): `objective: true` would be
        # a 1 % objective and `period_days: yes` one day. A boolean is only a boolean.
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and not _takes_bool(field.annotation):
            raise ValueError(f"{str(value).lower()} is a boolean; a number or text is expected")
        return value


class PolicyRule(_Strict):
    """One multiwindow rule: fire when both windows burn faster than its threshold.

    The threshold is written either as a burn rate (`burn_rate: 14.4`) or as the
    share of the SLO period's budget that the long window spends
    (`budget_consumed_percent: 2`); see `burn_threshold` and docs/policies.md.
    """

    name: str
    severity: Severity
    long_window: WindowLabel
    short_window: WindowLabel
    burn_rate: float | None = Field(default=None, gt=0)
    budget_consumed_percent: float | None = Field(default=None, gt=0, le=100)
    # Low-traffic guard: the rule fires only if its long window holds this many requests.
    min_events: int = Field(default=0, ge=0)
    # Burn = bad / max(total, min_denominator) / (1 - objective): damps tiny denominators.
    min_denominator: int | None = Field(default=None, ge=1)
    enabled: bool = True
    # Warm-up: the rule fires only once its long window lies wholly within the tenant's
    # logs, from its first request and again after a no_data gap (docs/policies.md).
    warm_up: bool = True

    @model_validator(mode="after")
    def _short_is_shorter(self) -> PolicyRule:
        if WINDOW_MINUTES[self.short_window] >= WINDOW_MINUTES[self.long_window]:
            raise ValueError(
                f"short_window {self.short_window} must be shorter than "
                f"long_window {self.long_window}"
            )
        if (self.burn_rate is None) == (self.budget_consumed_percent is None):
            raise ValueError(
                f"rule {self.name!r}: give exactly one of burn_rate or budget_consumed_percent"
            )
        return self

    def burn_threshold(self, period_days: int) -> float:
        """The rule's threshold as a burn rate, for an SLO whose period is `period_days`.

        A burn rate b sustained over the long window w spends b * w / period of the
        budget, so `budget_consumed_percent` f% is the burn rate f/100 * period / w.
        """
        if self.burn_rate is not None:
            return self.burn_rate
        assert self.budget_consumed_percent is not None
        # Products of whole numbers first, one division last: 2% of 30d over 1h is 14.4 exactly.
        return (
            self.budget_consumed_percent
            * period_days
            * 24
            * 60
            / (100 * WINDOW_MINUTES[self.long_window])
        )


def workbook_policy() -> list[PolicyRule]:
    """The SRE Workbook's recommended multiwindow, multi-burn-rate policy (30-day period)."""
    return [
        PolicyRule(
            name="page-1h", severity="page", long_window="1h", short_window="5m", burn_rate=14.4
        ),
        PolicyRule(
            name="page-6h", severity="page", long_window="6h", short_window="30m", burn_rate=6.0
        ),
        PolicyRule(
            name="ticket-1d", severity="ticket", long_window="1d", short_window="2h", burn_rate=3.0
        ),
        PolicyRule(
            name="ticket-3d", severity="ticket", long_window="3d", short_window="6h", burn_rate=1.0
        ),
    ]


def _duplicates(names: list[str]) -> list[str]:
    return sorted({name for name in names if names.count(name) > 1})


class CohortThresholdSettings(_Strict):
    """How `cohort_thresholds` derives a threshold from history (docs/cohort_thresholds.md)."""

    # Days of history before `effective_from` that a version is computed from.
    history_days: int = Field(default=14, ge=1, le=MAX_HISTORY_DAYS)
    # A positive burn is an outlier (left out) above median + k * MAD, on a log scale.
    outlier_k: float = Field(default=5.0, gt=0)
    # The noise floor is this quantile of the burn rates that are not outliers.
    quantile: float = Field(default=0.999, gt=0.5, lt=1)
    # Threshold = max(long, short window noise floor) * safety_margin ...
    safety_margin: float = Field(default=1.2, ge=1)
    # ... never below min_threshold, never above half the highest possible burn.
    min_threshold: float = Field(default=1.0, gt=0)
    # Fewer samples per window than this: confidence 'low', and evaluation keeps the default.
    min_samples: int = Field(default=2000, ge=1)


class Cooldowns(_Strict):
    """How long a grouped alert (fct_alerts) stays open after the last firing of a rule of
    each severity: Prometheus' `keep_firing_for`, Nobl9's cooldown. Multiples of 5 minutes
    (one evaluation step); 0 resolves at the first quiet step, as an episode does.

    The defaults come from replaying the sample (docs/notifications.md, "Grouped alerts").
    """

    page: int = Field(default=DEFAULT_PAGE_COOLDOWN_MINUTES, ge=0, le=MAX_COOLDOWN_MINUTES)
    ticket: int = Field(default=DEFAULT_TICKET_COOLDOWN_MINUTES, ge=0, le=MAX_COOLDOWN_MINUTES)

    @field_validator("page", "ticket")
    @classmethod
    def _whole_steps(cls, minutes: int) -> int:
        if minutes % BUCKET_MINUTES:
            raise ValueError(f"{minutes} is not a multiple of {BUCKET_MINUTES} minutes (one step)")
        return minutes

    def for_severity(self, severity: str) -> int:
        """The cooldown of `severity` in minutes (what `keep_firing_for` would say)."""
        return self.page if severity == "page" else self.ticket


class Policy(_Strict):
    rules: list[PolicyRule] = Field(default_factory=workbook_policy, min_length=1)
    # `cohort`: evaluate each rule at its cohort's threshold derived from history.
    thresholds: Literal["static", "cohort"] = "static"
    cohort: CohortThresholdSettings = Field(default_factory=CohortThresholdSettings)
    # While a page rule fires for a tenant SLO, its ticket rules' firing is `suppressed`.
    suppress_tickets_while_paging: bool = True
    # Grouped alerts (fct_alerts) resolve only after this long without a rule firing.
    cooldown_minutes: Cooldowns = Field(default_factory=Cooldowns)

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[PolicyRule]) -> list[PolicyRule]:
        duplicated = _duplicates([rule.name for rule in rules])
        if duplicated:
            raise ValueError(f"duplicate rule names: {', '.join(duplicated)}")
        return rules


class PolicyRuleOverride(_Strict):
    """A cohort's or tenant's change to one rule, by name: only the keys given change.

    A name the inherited policy lacks adds a rule (then every key a rule needs must
    be given); `enabled: false` removes the rule.
    """

    name: str
    severity: Severity | None = None
    long_window: WindowLabel | None = None
    short_window: WindowLabel | None = None
    burn_rate: float | None = Field(default=None, gt=0)
    budget_consumed_percent: float | None = Field(default=None, gt=0, le=100)
    min_events: int | None = Field(default=None, ge=0)
    min_denominator: int | None = Field(default=None, ge=1)
    enabled: bool | None = None
    warm_up: bool | None = None


class PolicyOverride(_Strict):
    """The `policy:` key of a cohort or tenant: merged over the inherited policy."""

    rules: list[PolicyRuleOverride] = Field(default_factory=list)
    suppress_tickets_while_paging: bool | None = None

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[PolicyRuleOverride]) -> list[PolicyRuleOverride]:
        duplicated = _duplicates([rule.name for rule in rules])
        if duplicated:
            raise ValueError(f"duplicate rule names: {', '.join(duplicated)}")
        return rules


PolicySource = Literal["default", "manifest", "cohort", "tenant"]


def merge_policy(rules: list[PolicyRule], override: PolicyOverride | None) -> list[PolicyRule]:
    """Apply one override layer: same name patches the keys given, a new name adds a rule.

    Giving `burn_rate` or `budget_consumed_percent` replaces the inherited threshold
    (whichever form it had). Disabled rules stay in the list (`enabled: false`) so
    that a later layer can enable them again; `active_rules` drops them.
    """
    if override is None:
        return rules
    merged: dict[str, dict[str, Any]] = {rule.name: rule.model_dump() for rule in rules}
    for patch in override.rules:
        given = patch.model_dump(exclude_unset=True)
        base = merged.get(patch.name, {})
        if "burn_rate" in given or "budget_consumed_percent" in given:
            base = {
                k: v for k, v in base.items() if k not in ("burn_rate", "budget_consumed_percent")
            }
        merged[patch.name] = {**base, **given}
    out: list[PolicyRule] = []
    for name, fields in merged.items():
        try:
            out.append(PolicyRule.model_validate(fields))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            message = first["msg"].removeprefix("Value error, ")
            detail = f"{where}: {message}" if where else message
            raise ValueError(f"policy rule {name!r}: {detail}") from None
    return out


def active_rules(rules: list[PolicyRule]) -> list[PolicyRule]:
    """The enabled rules, by name."""
    return sorted((rule for rule in rules if rule.enabled), key=lambda rule: rule.name)


def _check_objective(value: float | None) -> float | None:
    if value is not None and not 0 < value < 100:
        raise ValueError(f"objective is a percentage strictly between 0 and 100, got {value}")
    if value is not None and value <= 1:
        # Refused, not warned: 0.999 read as a percentage is a 0.999 % objective, a
        # budget of 99 % bad requests, so no alert would ever fire, silently.
        hint = f"; write {value * 100:g} for {value * 100:g} %" if value < 1 else ""
        raise ValueError(
            f"objective is a percentage like 99.9, got {value:g} (a {value:g} % objective){hint}"
        )
    return value


class SliDefaults(_Strict):
    """A cohort's default objective (and latency threshold) for one SLI kind."""

    objective: float
    threshold_ms: float | None = Field(default=None, gt=0)

    _objective = field_validator("objective")(_check_objective)


# `tenant: all` / `slo: all` in an adjustment: every tenant, every SLO of the tenant(s).
ADJUST_ALL = "all"


def _utc_naive(value: Any) -> Any:
    """A manifest time as the lake holds times: naive UTC. A time with an offset is
    converted; one without is UTC already; a bare date is its midnight; text is read as
    ISO 8601 (YAML leaves `2026-10-05 10:00`, without seconds, as text)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a time; write a UTC time like 2026-10-05T10:00:00Z"
            ) from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


class Adjustment(_Strict):
    """A stretch of time whose requests the budget and the alerts leave out (planned
    maintenance, an incident the team decided not to count): Nobl9's budget adjustments,
    Datadog's SLO corrections. The requests are still counted, in `int_sli_adjusted`."""

    tenant: str
    slo: str = ADJUST_ALL
    # [start, end): a request counts as adjusted when start <= ts < end.
    start: dt.datetime
    end: dt.datetime
    reason: str = Field(min_length=1)

    _utc = field_validator("start", "end", mode="before")(_utc_naive)

    @field_validator("reason")
    @classmethod
    def _says_why(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("an adjustment needs a reason (who decided what, and why)")
        return value

    @property
    def starts_at(self) -> dt.datetime:
        """The start, naive UTC (as the lake's times)."""
        return self.start

    @property
    def ends_at(self) -> dt.datetime:
        """The end (excluded), naive UTC."""
        return self.end

    @property
    def adjustment_id(self) -> str:
        """A short content hash: the same adjustment has the same id wherever it is listed."""
        text = "|".join(
            (
                self.tenant,
                self.slo,
                self.starts_at.isoformat(),
                self.ends_at.isoformat(),
                self.reason,
            )
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# How long a tenant's logs may lag the horizon before it is "no data" (live operation).
DEFAULT_MAX_SILENCE_MINUTES = 15


class Cohort(_Strict):
    availability: SliDefaults | None = None
    latency: SliDefaults | None = None
    period_days: int | None = Field(default=None, ge=1, le=MAX_PERIOD_DAYS)
    # A low-traffic cohort sets a longer silence before its tenants are "no data".
    max_silence_minutes: int | None = Field(default=None, ge=BUCKET_MINUTES)
    # Merged over the manifest's policy for this cohort's tenants (docs/policies.md).
    policy: PolicyOverride | None = None


class SloDefinition(_Strict):
    name: str
    service: str
    sli: SliKind
    objective: float | None = None
    threshold_ms: float | None = Field(default=None, gt=0)
    period_days: int | None = Field(default=None, ge=1, le=MAX_PERIOD_DAYS)
    # Calendar periods reset the budget at each boundary of the IANA time zone.
    calendar: CalendarPeriod | None = None
    timezone: str = "UTC"
    budgeting: Budgeting = "occurrences"
    # Timeslices: a slice is good when its good ratio meets `timeslice_target` (percent).
    timeslice_minutes: int = Field(default=5, ge=5, le=1440)
    timeslice_target: float | None = None
    # Custom predicates: SQL boolean expressions over the request-log contract's columns.
    bad_when: str | None = None
    good_when: str | None = None

    _objective = field_validator("objective")(_check_objective)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @field_validator("timeslice_minutes")
    @classmethod
    def _whole_buckets(cls, value: int) -> int:
        if value % BUCKET_MINUTES or 1440 % value:
            raise ValueError(
                f"timeslice_minutes must be a multiple of {BUCKET_MINUTES} that divides "
                f"a day (1440), got {value}"
            )
        return value

    @field_validator("bad_when", "good_when")
    @classmethod
    def _predicate(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_predicate(value)
            except PredicateError as error:
                raise ValueError(str(error)) from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SloDefinition:
        if self.bad_when is not None and self.good_when is not None:
            raise ValueError("give bad_when or good_when, not both")
        if self.calendar is not None and self.period_days is not None:
            raise ValueError("give period_days (rolling) or calendar, not both")
        if self.budgeting == "timeslices" and self.timeslice_target is None:
            raise ValueError("timeslices budgeting needs timeslice_target (a percentage)")
        if self.timeslice_target is not None:
            _check_objective(self.timeslice_target)
        return self

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
    # Overrides the cohort's: a tenant with long quiet hours says so here.
    max_silence_minutes: int | None = Field(default=None, ge=BUCKET_MINUTES)
    # Merged over the cohort's policy (docs/policies.md).
    policy: PolicyOverride | None = None

    @field_validator("id")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _ID_PATTERN.match(value):
            raise ValueError(f"tenant id {value!r} must be letters, digits, '_', '.' or '-'")
        return value


class Manifest(_Strict):
    version: Literal[1] = 1
    period_days: int = Field(default=30, ge=1, le=MAX_PERIOD_DAYS)
    # Live operation (docs/live.md): the horizon is the end of the data's newest complete
    # 5-minute bucket less this delay (Nobl9's query delay), for logs that land late.
    evaluation_delay_minutes: int = Field(default=0, ge=0, le=1440)
    # A tenant whose newest request lags the horizon by more than this is "no data".
    max_silence_minutes: int = Field(default=DEFAULT_MAX_SILENCE_MINUTES, ge=BUCKET_MINUTES)

    @field_validator("evaluation_delay_minutes")
    @classmethod
    def _whole_steps(cls, value: int) -> int:
        if value % BUCKET_MINUTES:
            raise ValueError(f"evaluation_delay_minutes must be a multiple of {BUCKET_MINUTES}")
        return value

    policy: Policy = Field(default_factory=Policy)
    cohorts: dict[str, Cohort] = Field(min_length=1)
    tenants: list[Tenant] = Field(min_length=1)
    notifications: NotificationConfig = Field(default_factory=NotificationConfig)
    # Budget adjustments (docs/adjustments.md): requests left out of budgets and alerts.
    adjustments: list[Adjustment] = Field(default_factory=list)

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
                    raise ValueError(f"{where}.threshold_ms: only latency SLOs take threshold_ms")
        self._adjustments_resolve()
        return self

    def _adjustments_resolve(self) -> None:
        """Each adjustment names a known tenant (or all), a known SLO (or all), and ends
        after it starts."""
        slos = {tenant.id: {slo.name for slo in tenant.slos} for tenant in self.tenants}
        first_index: dict[str, int] = {}
        for index, adjustment in enumerate(self.adjustments):
            where = f"adjustments[{index}]"
            earlier = first_index.setdefault(adjustment.adjustment_id, index)
            if earlier != index:
                raise ValueError(f"{where}: the same adjustment as adjustments[{earlier}]")
            if adjustment.ends_at <= adjustment.starts_at:
                raise ValueError(
                    f"{where}.end: {adjustment.ends_at:%Y-%m-%dT%H:%M:%S}Z is not after start "
                    f"{adjustment.starts_at:%Y-%m-%dT%H:%M:%S}Z (UTC)"
                )
            if adjustment.tenant != ADJUST_ALL and adjustment.tenant not in slos:
                raise ValueError(
                    f"{where}.tenant: unknown tenant {adjustment.tenant!r} "
                    f"(a tenant id of the manifest, or {ADJUST_ALL!r})"
                )
            if adjustment.slo == ADJUST_ALL:
                continue
            names = (
                slos[adjustment.tenant]
                if adjustment.tenant != ADJUST_ALL
                else set().union(*slos.values())
            )
            if adjustment.slo not in names:
                whose = (
                    f"tenant {adjustment.tenant!r} has no"
                    if adjustment.tenant != ADJUST_ALL
                    else "no tenant has an"
                )
                raise ValueError(
                    f"{where}.slo: {whose} SLO {adjustment.slo!r} (an SLO name, or {ADJUST_ALL!r})"
                )

    def _resolve(self, tenant: Tenant, slo: SloDefinition) -> ResolvedSlo:
        cohort = self.cohorts[tenant.cohort]
        defaults = getattr(cohort, slo.sli)
        objective = (
            slo.objective
            if slo.objective is not None
            else (defaults.objective if defaults else None)
        )
        threshold = slo.threshold_ms
        if threshold is None and slo.sli == "latency" and defaults is not None:
            threshold = defaults.threshold_ms
        if slo.calendar is not None:
            period = CALENDAR_NOMINAL_DAYS[slo.calendar]
        else:
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
            calendar=slo.calendar,
            timezone=slo.timezone,
            budgeting=slo.budgeting,
            timeslice_minutes=slo.timeslice_minutes,
            timeslice_target=slo.timeslice_target,
            bad_predicate=bad_predicate(slo.bad_when, slo.good_when),
            max_silence_minutes=(
                tenant.max_silence_minutes or cohort.max_silence_minutes or self.max_silence_minutes
            ),
        )

    def resolved_adjustments(self) -> list[ResolvedAdjustment]:
        """Every adjustment crossed with the tenant SLOs it covers (`all` expanded): the
        rows of `budget_adjustments`, by tenant, SLO, start and id."""
        slos = self.resolved_slos()
        out = [
            ResolvedAdjustment(
                adjustment_id=adjustment.adjustment_id,
                manifest_index=index,
                tenant_id=slo.tenant_id,
                slo_name=slo.slo_name,
                starts_at=adjustment.starts_at,
                ends_at=adjustment.ends_at,
                reason=adjustment.reason,
            )
            for index, adjustment in enumerate(self.adjustments)
            for slo in slos
            if adjustment.tenant in (ADJUST_ALL, slo.tenant_id)
            and adjustment.slo in (ADJUST_ALL, slo.slo_name)
        ]
        return sorted(out, key=lambda r: (r.tenant_id, r.slo_name, r.starts_at, r.adjustment_id))

    def resolved_slos(self) -> list[ResolvedSlo]:
        """Every tenant's SLOs with cohort defaults filled in, sorted by tenant and SLO."""
        resolved = [self._resolve(t, s) for t in self.tenants for s in t.slos]
        return sorted(resolved, key=lambda r: (r.tenant_id, r.slo_name))

    @model_validator(mode="after")
    def _policies_merge(self) -> Manifest:
        for index, tenant in enumerate(self.tenants):
            if tenant.cohort not in self.cohorts:
                continue  # reported by _references_resolve
            cohort = self.cohorts[tenant.cohort]
            try:
                rules = merge_policy(self.policy.rules, cohort.policy)
            except ValueError as error:
                raise ValueError(f"cohorts.{tenant.cohort}.policy: {error}") from None
            try:
                merge_policy(rules, tenant.policy)
            except ValueError as error:
                raise ValueError(f"tenants[{index}].policy: {error}") from None
        return self

    def tenant_policy(
        self, tenant: Tenant
    ) -> tuple[list[PolicyRule], bool, dict[str, PolicySource]]:
        """The tenant's rules (manifest, then cohort, then tenant overrides), whether its
        tickets are suppressed while paging, and which layer last set each rule."""
        default: PolicySource = "manifest" if "policy" in self.model_fields_set else "default"
        rules = self.policy.rules
        sources = {rule.name: default for rule in rules}
        suppress = self.policy.suppress_tickets_while_paging
        layers: list[tuple[PolicySource, PolicyOverride | None]] = [
            ("cohort", self.cohorts[tenant.cohort].policy),
            ("tenant", tenant.policy),
        ]
        for layer, override in layers:
            if override is None:
                continue
            rules = merge_policy(rules, override)
            sources.update({patch.name: layer for patch in override.rules})
            if override.suppress_tickets_while_paging is not None:
                suppress = override.suppress_tickets_while_paging
        return active_rules(rules), suppress, sources

    def resolved_rules(self) -> list[ResolvedRule]:
        """Every tenant SLO crossed with its tenant's rules: the rows of `alert_policy`."""
        slos = {(slo.tenant_id, slo.slo_name): slo for slo in self.resolved_slos()}
        out: list[ResolvedRule] = []
        for tenant in self.tenants:
            rules, suppress, sources = self.tenant_policy(tenant)
            for definition in tenant.slos:
                slo = slos[(tenant.id, definition.name)]
                assert slo.objective is not None
                # The burn of a window whose every request is bad: no rule can exceed it.
                max_burn = 1 / ((100 - slo.objective) / 100)
                for rule in rules:
                    threshold = rule.burn_threshold(slo.period_days)
                    out.append(
                        ResolvedRule(
                            tenant_id=tenant.id,
                            slo_name=slo.slo_name,
                            rule_name=rule.name,
                            severity=rule.severity,
                            long_window=rule.long_window,
                            short_window=rule.short_window,
                            long_window_minutes=WINDOW_MINUTES[rule.long_window],
                            short_window_minutes=WINDOW_MINUTES[rule.short_window],
                            burn_threshold=threshold,
                            budget_consumed_percent=(
                                100
                                * threshold
                                * WINDOW_MINUTES[rule.long_window]
                                / (slo.period_days * 24 * 60)
                            ),
                            period_days=slo.period_days,
                            objective=slo.objective,
                            max_burn_rate=max_burn,
                            can_fire=threshold < max_burn,
                            min_events=rule.min_events,
                            min_denominator=rule.min_denominator,
                            suppress_tickets_while_paging=suppress,
                            source=sources[rule.name],
                            warm_up=rule.warm_up,
                        )
                    )
        return sorted(out, key=lambda r: (r.tenant_id, r.slo_name, r.rule_name))

    def policy_warnings(self) -> list[str]:
        """One line per tenant SLO rule that can never fire (threshold >= maximum burn)."""
        return [
            f"rule {rule.rule_name} of {rule.tenant_id}/{rule.slo_name} can never fire: "
            f"its threshold {rule.burn_threshold:g}x is at or above the maximum possible burn "
            f"{rule.max_burn_rate:g}x of a {rule.objective:g}% objective (every request bad)"
            for rule in self.resolved_rules()
            if not rule.can_fire
        ]


class ResolvedRule(BaseModel):
    """One policy rule as it applies to one tenant SLO: a row of `alert_policy`."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    slo_name: str
    rule_name: str
    severity: Severity
    long_window: WindowLabel
    short_window: WindowLabel
    long_window_minutes: int
    short_window_minutes: int
    burn_threshold: float
    budget_consumed_percent: float
    period_days: int
    objective: float
    max_burn_rate: float
    can_fire: bool
    min_events: int
    min_denominator: int | None
    suppress_tickets_while_paging: bool
    source: PolicySource
    warm_up: bool = True


class ResolvedAdjustment(BaseModel):
    """One adjustment as it applies to one tenant SLO: a row of `budget_adjustments`."""

    model_config = ConfigDict(frozen=True)

    adjustment_id: str
    manifest_index: int
    tenant_id: str
    slo_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str


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
    calendar: CalendarPeriod | None = None
    timezone: str = "UTC"
    budgeting: Budgeting = "occurrences"
    timeslice_minutes: int = BUCKET_MINUTES
    timeslice_target: float | None = None
    # DuckDB SQL, true exactly for bad requests; None: the SLI kind's default.
    bad_predicate: str | None = None
    max_silence_minutes: int = DEFAULT_MAX_SILENCE_MINUTES


# Parsed manifests by (path, sha256 of the file's bytes). One run reads the manifest
# from many assets (specs, policy, horizons, evaluations, replay, notifications);
# parsing and validating it each time grew with the number of tenants. Keyed by
# content, so an edited file is parsed again whatever its mtime; the model is frozen,
# so sharing one object between callers is safe.
_MANIFEST_CACHE: dict[tuple[str, str], Manifest] = {}
_MANIFEST_CACHE_SIZE = 8


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate `slos.yaml`; raise BurnwatchInputError naming file, key and line.

    A file already parsed with the same bytes is not parsed again."""
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        digest = ""  # load_document says what is wrong with the path
    key = (str(Path(path).resolve()), digest)
    cached = _MANIFEST_CACHE.get(key) if digest else None
    if cached is not None:
        return cached
    manifest = load_document(path, Manifest, "manifest")
    if manifest is None:
        raise BurnwatchInputError(f"{path}: the manifest must be a YAML mapping")
    if digest:
        if len(_MANIFEST_CACHE) >= _MANIFEST_CACHE_SIZE:
            _MANIFEST_CACHE.pop(next(iter(_MANIFEST_CACHE)))
        _MANIFEST_CACHE[key] = manifest
    return manifest
