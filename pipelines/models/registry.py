"""The model registry: one entry per SQL model in `sql/`, the only place that says
what a model reads, how far back, what its key is and how it is stored.

It plays the part of SQLMesh's `MODEL(kind, grain)` header. Everything that
needs to know a model's lineage reads its entry here:

- the Dagster assets (`pipelines.assets.factory`): deps and partition mappings
  with the real lookback;
- the binder and the writer (`pipelines.models.build`): which lake days of each
  input to bind, and the output order of each partition;
- the sqlglot check (`pipelines.models.sql_check`): the model files in DAG order;
- the README's model table (`render_models_markdown`, checked by a test);
- `burnwatch run`'s "how far back must history exist" (`history_days_needed`).

Every window length and lookback is defined once, in this module, from the
burn-rate window list in `schemas.manifest`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from pathlib import Path

from schemas.manifest import (
    BUCKET_MINUTES,
    CALENDAR_MAX_DAYS,
    MAX_HISTORY_DAYS,
    MAX_PERIOD_DAYS,
    WINDOW_MINUTES,
)
from schemas.tables import table_key

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"

# One evaluation step: a 5-minute bucket.
STEP = dt.timedelta(minutes=BUCKET_MINUTES)
# The longest burn-rate window (3d): how far a step's windows reach back.
LONGEST_WINDOW = dt.timedelta(minutes=max(WINDOW_MINUTES.values()))


class Reach(Enum):
    """How far before a partition's day an input is read."""

    SAME_DAY = "same day"
    # The longest window, plus the one bucket before it that running sums start from.
    LONGEST_WINDOW = "the longest window (3 days) back"
    # One day back: a ticket's run of firing steps is followed across midnight.
    DAY_BEFORE = "the day before too"
    # The longest SLO period of the manifest (rolling days or a calendar period).
    SLO_PERIOD = "the SLO period back"
    # The `policy.cohort.history_days` days before the partition, not the day itself.
    HISTORY = "the history days before"
    # Every version up to the partition's day (cohort threshold versions).
    UP_TO_DAY = "every partition up to the day"
    # The days the run computes (for a whole table that a run updates incrementally).
    RUN_DAYS = "the run's days"
    # The days that hold the tenants' evaluation points (int_tenant_horizons.evaluated_until):
    # the newest day or two, whatever the history (a status read every cycle).
    EVALUATION_DAYS = "the days of the tenants' evaluation points"
    # The days that the alerts' long windows cover, of the alerts not computed yet (or
    # touched by changed days): a cycle reads the newest alerts' windows, not history.
    ALERT_WINDOWS = "the days of the new alerts' long windows"
    # An unpartitioned table, or every partition of a partitioned one.
    WHOLE = "whole table"


@dataclass(frozen=True)
class Lookback:
    """An input's reach, resolved against the manifest's periods and history."""

    reach: Reach

    def first_day(self, day: dt.date, longest_period_days: int, history_days: int) -> dt.date:
        """The first day partition of the input that the model's `day` reads."""
        if self.reach in (Reach.SAME_DAY, Reach.RUN_DAYS):
            return day
        if self.reach is Reach.DAY_BEFORE:
            return day - dt.timedelta(days=1)
        if self.reach is Reach.LONGEST_WINDOW:
            return _first_day_reached(day, LONGEST_WINDOW)
        if self.reach is Reach.SLO_PERIOD:
            return _first_day_reached(day, dt.timedelta(days=longest_period_days))
        if self.reach is Reach.HISTORY:
            return day - dt.timedelta(days=history_days)
        return dt.date.min

    def last_day(self, day: dt.date) -> dt.date:
        """The last day partition of the input that the model's `day` reads."""
        if self.reach is Reach.HISTORY:
            return day - dt.timedelta(days=1)
        return dt.date.max if self.reach is Reach.WHOLE else day

    def max_days_back(self) -> int | None:
        """The most days before the partition any manifest can make it read (for Dagster's
        partition mappings, which are static); None for a whole table."""
        bound = {
            Reach.SAME_DAY: 0,
            Reach.DAY_BEFORE: 1,
            Reach.LONGEST_WINDOW: LONGEST_WINDOW.days + 1,
            Reach.SLO_PERIOD: max(MAX_PERIOD_DAYS, *CALENDAR_MAX_DAYS.values()) + 1,
            Reach.HISTORY: MAX_HISTORY_DAYS,
        }
        return bound.get(self.reach)


def _first_day_reached(day: dt.date, span: dt.timedelta) -> dt.date:
    """The day of the bucket where running sums over `span` before `day` start: one
    bucket before the span, since a window's sum is a difference of running totals."""
    start = dt.datetime.combine(day, dt.time()) - span - STEP
    return start.date()


@dataclass(frozen=True)
class Input:
    """A relation a model reads: a lake table (with its reach), or one bound by code."""

    table: str
    lookback: Lookback = Lookback(Reach.SAME_DAY)
    # Bound by the caller (a scan of the request files, a frame, a one-row parameter
    # relation) rather than read from the lake.
    bound: bool = False


def lake(table: str, reach: Reach = Reach.SAME_DAY) -> Input:
    return Input(table, Lookback(reach))


def bound(table: str) -> Input:
    return Input(table, Lookback(Reach.WHOLE), bound=True)


class Source(Enum):
    """What computes a table: a SQL model in `sql/`, or Python that turns the manifest or
    the request files' footers into a frame (no SQL to run)."""

    SQL = "sql"
    PYTHON = "python"


class Kind(Enum):
    """How a model is computed and stored (SQLMesh's model kinds, in our terms)."""

    # One lake partition per day of `day_column`; recomputing a day replaces it.
    DAILY = "daily partitions"
    # One lake file, rewritten whole.
    WHOLE = "one file, rewritten whole"
    # Never stored: bound as a view for the models that read it.
    EPHEMERAL = "ephemeral (a view)"


@dataclass(frozen=True)
class Model:
    """One SQL model: `sql/<layer>/<name>.sql`."""

    name: str
    layer: str
    kind: Kind
    inputs: tuple[Input, ...]
    # The order of each written partition (content only, so bytes never depend on
    # thread count or file order). Where the model's SQL ends in `order by`, the
    # sqlglot check holds it to this; stg_requests and int_sli_buckets are computed
    # for many days at once and ordered here as each day is written.
    order_by: tuple[str, ...] = ()
    # Where the model sorts its rows by columns of its own that it does not output, in
    # the same order as order_by: the model's SQL ends in `order by` these instead.
    # fct_burn_rates and its peers sort on slo_key (int_slo_keys), numbered in
    # (tenant_id, slo_name) order, which DuckDB sorts faster than the two texts
    # (README, Benchmark). Whatever sorts the model's output rows from outside (the
    # lake writer's out-of-memory retry, the Spark engine) sorts them by order_by.
    sort_key: tuple[str, ...] = ()
    # For daily models: the timestamp column whose day a row belongs to.
    day_column: str | None = None
    description: str = ""
    # Lake tables the model's asset waits for without reading them as SQL inputs
    # (e.g. the cohort thresholds an evaluation may swap its policy for).
    extra_deps: tuple[str, ...] = field(default=())
    source: Source = Source.SQL

    @property
    def grain(self) -> tuple[str, ...]:
        """The table's key, as schemas/tables.py declares it (TABLE_KEYS)."""
        return table_key(self.name)

    @property
    def path(self) -> Path:
        if self.source is not Source.SQL:
            raise ValueError(f"{self.name} is computed in Python, not by a file in sql/")
        return SQL_DIR / self.layer / f"{self.name}.sql"

    @property
    def order_sql(self) -> str:
        """The key's `order by` list, over the table's columns."""
        return _order_list(self.order_by)

    @property
    def sort_columns(self) -> tuple[str, ...]:
        """What the model's SQL ends in `order by`: its sort_key, else its key."""
        return self.sort_key or self.order_by

    @property
    def sort_sql(self) -> str:
        return _order_list(self.sort_columns)

    def reads(self, table: str) -> bool:
        return any(source.table == table for source in self.inputs)

    def lake_inputs(self) -> list[Input]:
        """The inputs read from the lake, ephemeral models' inputs included (they are
        bound as views over their own inputs)."""
        found: list[Input] = []
        for source in self.inputs:
            if source.bound:
                continue
            upstream = MODELS.get(source.table)
            if upstream is not None and upstream.kind is Kind.EPHEMERAL:
                for inner in upstream.lake_inputs():
                    reach = (
                        source.lookback
                        if inner.lookback.reach is Reach.SAME_DAY
                        else inner.lookback
                    )
                    found.append(Input(inner.table, reach))
            else:
                found.append(source)
        merged: dict[str, Input] = {}
        for source in found:
            merged.setdefault(source.table, source)
        return list(merged.values())


_DAY = ("tenant_id", "slo_name")

_ENTRIES = (
    Model(
        "slo_specs",
        "specs",
        Kind.WHOLE,
        inputs=(bound("slos.yaml"),),
        order_by=("tenant_id", "slo_name"),
        source=Source.PYTHON,
        description="Every tenant's SLOs from slos.yaml, cohort defaults resolved.",
    ),
    Model(
        "alert_policy",
        "specs",
        Kind.WHOLE,
        inputs=(bound("slos.yaml"),),
        order_by=("tenant_id", "slo_name", "rule_name"),
        source=Source.PYTHON,
        description="The multiwindow burn-rate rules in force for each tenant SLO.",
    ),
    Model(
        "budget_adjustments",
        "specs",
        Kind.WHOLE,
        inputs=(bound("slos.yaml"),),
        order_by=("tenant_id", "slo_name", "starts_at", "adjustment_id"),
        source=Source.PYTHON,
        description="The manifest's budget adjustments, one row per tenant SLO each covers.",
    ),
    Model(
        "contract_report",
        "staging",
        Kind.DAILY,
        inputs=(bound("request file footers"),),
        order_by=("tenant_id", "file", "action", "column_name"),
        source=Source.PYTHON,
        description="Each request-log file's Parquet footer against the contract.",
    ),
    Model(
        "quarantine",
        "staging",
        Kind.DAILY,
        inputs=(bound("raw_request_checks"), bound("quarantined_files")),
        order_by=("tenant_id", "file", "row_number nulls first"),
        # Its inputs come from the same footers; it runs after their report.
        extra_deps=("contract_report",),
        description="Rows and files of a day folder that break the contract.",
    ),
    Model(
        "int_quarantine_counts",
        "intermediate",
        Kind.DAILY,
        inputs=(
            lake("contract_report"),
            lake("quarantine"),
            bound("quarantine_policy"),
            bound("run_params"),
        ),
        order_by=("tenant_id",),
        description="Per tenant-day folder: rows in, rows quarantined, SLIs computed or not.",
    ),
    Model(
        "stg_requests",
        "staging",
        Kind.DAILY,
        inputs=(bound("raw_requests"), bound("run_params")),
        order_by=("tenant_id", "ts", "request_id"),
        day_column="ts",
        description="One row per request: replicas' copies collapsed to the earliest.",
    ),
    Model(
        "int_slo_requests",
        "intermediate",
        Kind.EPHEMERAL,
        inputs=(
            lake("stg_requests"),
            lake("slo_specs", Reach.WHOLE),
            lake("int_quarantine_counts"),
        ),
        description="Each request with each SLO that counts it, and whether it is bad.",
    ),
    Model(
        "int_sli_buckets",
        "intermediate",
        Kind.DAILY,
        inputs=(
            lake("int_slo_requests"),
            lake("budget_adjustments", Reach.WHOLE),
        ),
        order_by=(*_DAY, "bucket_start"),
        day_column="bucket_start",
        description="Per tenant SLO and 5-minute bucket: total, bad, exact latency quantiles.",
    ),
    Model(
        "int_sli_adjusted",
        "intermediate",
        Kind.DAILY,
        inputs=(
            lake("int_slo_requests"),
            lake("budget_adjustments", Reach.WHOLE),
        ),
        order_by=(*_DAY, "bucket_start"),
        day_column="bucket_start",
        description="Per tenant SLO and bucket: requests a budget adjustment left out.",
    ),
    Model(
        "int_tenant_horizons",
        "intermediate",
        Kind.WHOLE,
        inputs=(
            # Only the days this run computes: with what earlier runs saw, enough.
            lake("stg_requests", Reach.RUN_DAYS),
            lake("slo_specs", Reach.WHOLE),
            bound("previous_tenant_horizons"),
            bound("horizon_params"),
        ),
        order_by=("tenant_id",),
        description="Per tenant: its newest request and the last step evaluated for it.",
    ),
    Model(
        "int_slo_keys",
        "intermediate",
        Kind.EPHEMERAL,
        inputs=(lake("slo_specs", Reach.WHOLE),),
        description="A dense integer per tenant SLO, in name order (the dense models' key).",
    ),
    Model(
        "int_sli_units",
        "intermediate",
        Kind.EPHEMERAL,
        inputs=(lake("int_sli_buckets"), lake("slo_specs", Reach.WHOLE)),
        description="What each bucket adds to windows and budgets (requests or slices).",
    ),
    Model(
        "fct_burn_rates",
        "facts",
        Kind.DAILY,
        inputs=(
            lake("int_sli_units", Reach.LONGEST_WINDOW),
            lake("slo_specs", Reach.WHOLE),
            lake("int_slo_keys"),
            lake("int_tenant_horizons", Reach.WHOLE),
            bound("window_labels"),
            bound("run_params"),
        ),
        order_by=(*_DAY, "eval_ts", "window"),
        sort_key=("slo_key", "step_window"),
        day_column="eval_ts",
        description="Per tenant SLO, step and window 5m..3d: counts and burn rate.",
    ),
    Model(
        "fct_error_budget",
        "facts",
        Kind.DAILY,
        inputs=(
            lake("int_sli_units", Reach.SLO_PERIOD),
            lake("slo_specs", Reach.WHOLE),
            lake("int_slo_keys"),
            lake("int_tenant_horizons", Reach.WHOLE),
            lake("fct_burn_rates"),
            bound("run_params"),
        ),
        order_by=(*_DAY, "eval_ts"),
        sort_key=("slo_key", "eval_ts"),
        day_column="eval_ts",
        description="Per tenant SLO and step: budget consumed and left (%), hours to exhaustion.",
    ),
    Model(
        "cohort_thresholds",
        "policy",
        Kind.DAILY,
        inputs=(
            lake("fct_burn_rates", Reach.HISTORY),
            lake("slo_specs", Reach.WHOLE),
            lake("alert_policy", Reach.WHOLE),
            bound("cohort_threshold_params"),
        ),
        order_by=("effective_from", "cohort", "sli", "rule_name", "long_window", "short_window"),
        description="Per version, cohort, SLI and rule: noise floor and proposed threshold.",
    ),
    Model(
        "alert_policy_cohort",
        "policy",
        Kind.EPHEMERAL,
        inputs=(
            lake("alert_policy", Reach.WHOLE),
            lake("cohort_thresholds", Reach.UP_TO_DAY),
            lake("slo_specs", Reach.WHOLE),
            bound("run_params"),
        ),
        order_by=("tenant_id", "slo_name", "rule_name"),
        description="The alert policy of a day, each rule at its cohort's threshold.",
    ),
    Model(
        "int_log_coverage",
        "intermediate",
        Kind.EPHEMERAL,
        inputs=(
            lake("fct_burn_rates"),
            # Where the tenant's current run of logs started (3 days back suffice).
            lake("int_sli_buckets", Reach.LONGEST_WINDOW),
            lake("int_sli_adjusted", Reach.LONGEST_WINDOW),
            lake("slo_specs", Reach.WHOLE),
        ),
        description="Per tenant and step: where its current run of logs started (warm-up).",
    ),
    Model(
        "fct_alert_evaluations",
        "facts",
        Kind.DAILY,
        inputs=(
            lake("fct_burn_rates", Reach.DAY_BEFORE),
            lake("alert_policy", Reach.WHOLE),
            lake("int_slo_keys"),
            lake("int_log_coverage", Reach.DAY_BEFORE),
            bound("run_params"),
        ),
        order_by=(*_DAY, "eval_ts", "rule_name"),
        sort_key=("slo_key", "eval_ts", "rule_name"),
        day_column="eval_ts",
        extra_deps=("cohort_thresholds",),
        description="Each policy rule at each step: both windows' burn, fires or not.",
    ),
    Model(
        "fct_alert_episodes",
        "facts",
        Kind.WHOLE,
        inputs=(lake("fct_alert_evaluations", Reach.WHOLE),),
        order_by=(*_DAY, "started_at", "rule_name"),
        description="Alert episodes: from a rule's first firing step to its first quiet one.",
    ),
    Model(
        "fct_alerts",
        "facts",
        Kind.WHOLE,
        inputs=(lake("fct_alert_evaluations", Reach.WHOLE), bound("alert_params")),
        order_by=(*_DAY, "started_at"),
        description="Alerts: a tenant SLO's rules grouped, with a cooldown and escalation.",
    ),
    Model(
        "fct_alert_contributors",
        "facts",
        Kind.WHOLE,
        inputs=(
            lake("fct_alerts", Reach.WHOLE),
            lake("int_slo_requests", Reach.ALERT_WINDOWS),
            lake("budget_adjustments", Reach.WHOLE),
            bound("window_labels"),
            bound("contributor_params"),
        ),
        order_by=("tenant_id", "slo_name", "started_at", "basis", "operation_rank"),
        description="Per alert and its opening or escalation: the top operations by bad requests.",
    ),
    Model(
        "fct_slo_status",
        "facts",
        Kind.WHOLE,
        inputs=(
            lake("slo_specs", Reach.WHOLE),
            lake("int_tenant_horizons", Reach.WHOLE),
            lake("fct_error_budget", Reach.EVALUATION_DAYS),
            lake("fct_burn_rates", Reach.EVALUATION_DAYS),
            lake("fct_alert_evaluations", Reach.EVALUATION_DAYS),
            lake("fct_alert_episodes", Reach.WHOLE),
        ),
        order_by=_DAY,
        description="Per tenant SLO: state, budget, burn rates and open alerts at its as_of.",
    ),
    # The replay evaluates a policy rule by rule only where a rule could fire
    # (pipelines/policy/replay.py, docs/replay.md).
    Model(
        "replay_candidate_steps",
        "replay",
        Kind.EPHEMERAL,
        inputs=(lake("fct_burn_rates", Reach.DAY_BEFORE), lake("alert_policy", Reach.WHOLE)),
        description="Steps where a replayed rule could fire, and the step after each.",
    ),
    Model(
        "replay_quiet_steps",
        "replay",
        Kind.EPHEMERAL,
        inputs=(
            lake("fct_burn_rates", Reach.DAY_BEFORE),
            lake("alert_policy", Reach.WHOLE),
            lake("int_log_coverage", Reach.DAY_BEFORE),
            # The replay's candidate steps of the day and of the days replayed before it,
            # which it computes first and binds.
            bound("replay_candidate_steps"),
            bound("run_params"),
        ),
        description="The replay's other steps that count as quiet for fct_alerts.",
    ),
    Model(
        "replay_episodes",
        "replay",
        Kind.WHOLE,
        inputs=(
            bound("replay_episode_runs"),
            bound("replay_incidents"),
            bound("replay_params"),
            bound("window_labels"),
        ),
        order_by=("policy_name", "tenant_id", "slo_name", "started_at", "rule_name"),
        description="Each replayed episode and the first incident it overlaps.",
    ),
    Model(
        "replay_alerts",
        "replay",
        Kind.WHOLE,
        inputs=(
            bound("replay_alert_runs"),
            bound("replay_incidents"),
            bound("replay_params"),
            bound("window_labels"),
        ),
        order_by=("policy_name", "tenant_id", "slo_name", "started_at"),
        description="Each replayed grouped alert and the first incident it overlaps.",
    ),
    Model(
        "replay_incident_matches",
        "replay",
        Kind.EPHEMERAL,
        inputs=(
            lake("replay_episodes", Reach.WHOLE),
            lake("replay_alerts", Reach.WHOLE),
            bound("replay_incidents"),
            bound("replay_policies"),
            bound("replay_params"),
            bound("window_labels"),
        ),
        order_by=("detector", "policy_name", "started_at", "incident_id"),
        description="Per episode or alert, policy and incident: detected or not, how fast.",
    ),
    Model(
        "replay_detections",
        "replay",
        Kind.WHOLE,
        inputs=(lake("replay_incident_matches", Reach.WHOLE),),
        order_by=("policy_name", "started_at", "incident_id"),
        description="Per policy and incident: detected or not, how fast, at what severity.",
    ),
    Model(
        "replay_alert_detections",
        "replay",
        Kind.WHOLE,
        inputs=(lake("replay_incident_matches", Reach.WHOLE),),
        order_by=("policy_name", "started_at", "incident_id"),
        description="Per policy and incident: detected by a grouped alert or not, how fast.",
    ),
    Model(
        "replay_comparison",
        "replay",
        Kind.WHOLE,
        inputs=(
            lake("replay_episodes", Reach.WHOLE),
            lake("replay_detections", Reach.WHOLE),
            lake("replay_alerts", Reach.WHOLE),
            lake("replay_alert_detections", Reach.WHOLE),
            lake("slo_specs", Reach.WHOLE),
            bound("replay_policies"),
            bound("replay_params"),
        ),
        order_by=("policy_order",),
        description="Per replayed policy: alert load, precision, recall, detection time.",
    ),
    # Report relations (sql/reports/): views the report page and the summary read.
    Model(
        "report_period",
        "reports",
        Kind.EPHEMERAL,
        inputs=(
            lake("fct_error_budget", Reach.WHOLE),
            lake("fct_burn_rates", Reach.WHOLE),
        ),
        order_by=(),
        description="The span of evaluation steps the report covers.",
    ),
    Model(
        "report_overview",
        "reports",
        Kind.EPHEMERAL,
        inputs=(
            lake("fct_slo_status", Reach.WHOLE),
            lake("slo_specs", Reach.WHOLE),
            lake("fct_alert_episodes", Reach.WHOLE),
        ),
        order_by=(
            "urgency",
            "budget_remaining_percent nulls last",
            "tenant_id",
            "slo_name",
        ),
        description="Per tenant SLO: its status, spec and episode counts, most urgent first.",
    ),
    Model(
        "report_charted",
        "reports",
        Kind.EPHEMERAL,
        inputs=(lake("report_overview", Reach.WHOLE), bound("report_params")),
        order_by=("chart_rank",),
        description="The tenant SLOs the page charts: episodes first, then most urgent.",
    ),
    Model(
        "report_burndown",
        "reports",
        Kind.EPHEMERAL,
        inputs=(
            lake("fct_error_budget", Reach.WHOLE),
            lake("report_charted", Reach.WHOLE),
            bound("report_params"),
        ),
        order_by=("tenant_id", "slo_name", "eval_ts"),
        description="Budget left per tenant SLO at every chart step.",
    ),
    Model(
        "report_burn_rates",
        "reports",
        Kind.EPHEMERAL,
        inputs=(
            lake("fct_burn_rates", Reach.WHOLE),
            lake("report_charted", Reach.WHOLE),
            bound("report_params"),
        ),
        order_by=("tenant_id", "slo_name", "window", "step_start"),
        description="Peak burn per tenant SLO, window and chart step.",
    ),
    Model(
        "report_policy",
        "reports",
        Kind.EPHEMERAL,
        inputs=(lake("alert_policy", Reach.WHOLE),),
        order_by=(
            "tenant_id",
            "slo_name",
            "long_window_minutes",
            "short_window_minutes",
            "rule_name",
        ),
        description="The alert rules in the order of the burn-rate panels.",
    ),
    Model(
        "report_episodes",
        "reports",
        Kind.EPHEMERAL,
        inputs=(lake("fct_alert_episodes", Reach.WHOLE),),
        order_by=("started_at", "tenant_id", "slo_name", "rule_name"),
        description="Alert episodes, oldest first.",
    ),
    Model(
        "report_summary_episodes",
        "reports",
        Kind.EPHEMERAL,
        inputs=(lake("report_episodes", Reach.WHOLE),),
        order_by=("started_at", "tenant_id", "slo_name", "rule_name"),
        description="The summary's alert episodes, peak burn rounded.",
    ),
    Model(
        "report_suppressed",
        "reports",
        Kind.EPHEMERAL,
        inputs=(lake("fct_alert_evaluations", Reach.WHOLE),),
        order_by=("started_at", "tenant_id", "slo_name", "rule_name"),
        description="Spans of ticket steps suppressed while paging, oldest first.",
    ),
    Model(
        "report_contributors",
        "reports",
        Kind.EPHEMERAL,
        inputs=(lake("fct_alert_contributors", Reach.WHOLE),),
        order_by=("tenant_id", "slo_name", "started_at", "basis desc", "operation_rank"),
        description="The burn panel's top operations per alert, opening before escalation.",
    ),
)

MODELS: dict[str, Model] = {model.name: model for model in _ENTRIES}


def sql_models() -> list[Model]:
    """The registry's SQL models, in DAG order."""
    return [entry for entry in _ENTRIES if entry.source is Source.SQL]


def model(name: str) -> Model:
    """The registry entry of model `name` (KeyError names the model)."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"no model {name!r} in pipelines/models/registry.py") from None


def model_path(name: str) -> Path:
    """The file of model `name`: its registry entry's, else `sql/<layer>/<name>.sql`."""
    entry = MODELS.get(name)
    if entry is not None and entry.source is Source.SQL:
        return entry.path
    [path] = SQL_DIR.glob(f"*/{name}.sql")
    return path


def _order_list(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{column}"' if column == "window" else column for column in columns)


@cache
def model_sql(name: str) -> str:
    """The text of model `name`'s file, without its trailing semicolon."""
    return model_path(name).read_text(encoding="utf-8").strip().rstrip(";")


def unordered_model_sql(entry: Model) -> str:
    """Model `entry`'s text without its final `order by` (over its key, or its sort_key),
    which the lake writer adds itself (pipelines.warehouse.lake.write_query: so that it
    can stage the rows first when the ordered write runs out of memory)."""
    head, found, key = model_sql(entry.name).rpartition("\norder by ")
    if not found or " ".join(key.split()) != entry.sort_sql:
        raise ValueError(
            f"{entry.path}: the model must end in `order by {entry.sort_sql}` (its key)"
        )
    return head


def history_days_needed(longest_period_days: int) -> int:
    """How many days before a computed day its windows and budgets can reach: a run that
    starts on a day computes missing days that far back first."""
    reaches = [
        (
            dt.date(2000, 1, 1)
            - source.lookback.first_day(dt.date(2000, 1, 1), longest_period_days, 0)
        ).days
        for entry in _ENTRIES
        if entry.kind is Kind.DAILY
        for source in entry.lake_inputs()
        if source.lookback.reach in (Reach.LONGEST_WINDOW, Reach.SLO_PERIOD)
    ]
    return max(reaches, default=0)


def longest_period_days(periods: Sequence[tuple[int, str | None]]) -> int:
    """The longest SLO period in days, of (period_days, calendar) pairs: a calendar
    period counts with the longest it can be (a 31-day month, a 92-day quarter)."""
    return max(
        (CALENDAR_MAX_DAYS[calendar] if calendar else int(days) for days, calendar in periods),
        default=1,
    )


def render_models_markdown() -> str:
    """The README's model table: one row per model, from the registry."""
    lines = [
        "| table | computed by | kind | grain | reads |",
        "|---|---|---|---|---|",
    ]
    for entry in _ENTRIES:
        reads = ", ".join(
            f"`{source.table}`" + ("" if source.bound else f" ({source.lookback.reach.value})")
            for source in entry.inputs
        )
        where = f"`sql/{entry.layer}/{entry.name}.sql`" if entry.source is Source.SQL else "Python"
        lines.append(
            f"| `{entry.name}` | {where} | {entry.kind.value} "
            f"| {', '.join(entry.grain)} | {reads} |"
        )
    return "\n".join(lines)
