"""Alert-policy replay: evaluate any policy over history and score it against known incidents.

A replay reads `fct_burn_rates` from the lake (it never recomputes SLIs) and,
for each policy, runs the pipeline's own models, sql/fct_alert_evaluations.sql
day by day and sql/fct_alert_episodes.sql over the range, so a replayed policy
behaves exactly as it would in production (min_events, suppression, ...).
The episodes are then matched to the incidents (sql/replay_episodes.sql,
sql/replay_detections.sql) and summarised per policy (sql/replay_comparison.sql).
Outputs are the lake tables replay_episodes, replay_detections and
replay_comparison, replaced whole by each replay. See docs/replay.md.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl
from pydantic import ValidationError

from pipelines.models.build import (
    alert_policy_frame,
    bind_alert_params,
    bind_cohort_policy,
    bind_ephemeral_inputs,
    bind_inputs,
    write_model,
)
from pipelines.models.registry import model, model_sql
from pipelines.progress import Stopwatch
from pipelines.warehouse import lake, session
from pipelines.warehouse.params import bind_params, bind_run_params, day_start
from pipelines.warehouse.session import bind
from schemas.errors import BurnwatchInputError
from schemas.manifest import Manifest, Policy, load_manifest, workbook_policy
from schemas.tables import ReplayIncidents, sql_columns
from schemas.yaml_documents import load_yaml

DEFAULT_POLICIES: tuple[str, ...] = ("workbook", "cohort", "single-window")
BUILTIN_POLICIES: dict[str, str] = {
    "workbook": "SRE Workbook multiwindow, multi-burn-rate (14.4x 1h&5m, 6x 6h&30m page; "
    "3x 1d&2h, 1x 3d&6h ticket)",
    "cohort": "the manifest's rules at their cohort thresholds derived from history",
    "single-window": "baseline: the Workbook's long windows and thresholds alone, "
    "without the short confirming window",
    "manifest": "the manifest's policy as configured",
}
# In the order they are written: each reads those before it.
OUTPUT_TABLES: tuple[str, ...] = (
    "replay_episodes",
    "replay_alerts",
    "replay_detections",
    "replay_alert_detections",
    "replay_comparison",
)


@dataclass(frozen=True)
class ReplayPolicy:
    """One policy to replay: its name, `alert_policy` rows, and where its thresholds come from."""

    name: str
    description: str
    thresholds: Literal["static", "cohort"]
    alert_policy: pl.DataFrame
    # Whose cooldowns group its rules into alerts: a policy file's own, else the manifest's.
    policy: Policy


@dataclass(frozen=True)
class ReplayResult:
    """What a replay wrote: the comparison (one row per policy) and the replayed range."""

    comparison: pl.DataFrame
    first_day: dt.date
    last_day: dt.date
    episodes: int
    incidents: int


def _with_policy(manifest: Manifest, policy: Policy, where: str) -> pl.DataFrame:
    """`alert_policy` rows for `policy` as the manifest's tenants get it (overrides merged)."""
    try:
        return alert_policy_frame(manifest.model_copy(update={"policy": policy}))
    except ValueError as error:
        raise BurnwatchInputError(f"{where}: {error}") from None


def single_window_frame(manifest: Manifest) -> pl.DataFrame:
    """The single-window baseline: each Workbook rule on its long window alone.

    A rule fires when its long window burns faster than its threshold (the short
    window is set to the long one), so it pages as soon as the multiwindow rule
    would but keeps firing until the long window has cooled down.
    """
    frame = _with_policy(manifest, Policy(rules=workbook_policy()), "single-window")
    return frame.with_columns(
        pl.col("long_window").alias("short_window"),
        pl.col("long_window_minutes").alias("short_window_minutes"),
    )


def resolve_policy(spec: str, manifest: Manifest) -> ReplayPolicy:
    """A built-in policy name (workbook, cohort, single-window, manifest) or a YAML file
    with `rules:` in the manifest's policy schema (and optionally `thresholds: cohort`)."""
    # The built-in policies differ in rules and thresholds; they group them into alerts
    # with the manifest's cooldowns, so a comparison is about the rules alone.
    grouping = manifest.policy
    if spec == "workbook":
        frame = _with_policy(manifest, Policy(rules=workbook_policy()), spec)
        return ReplayPolicy(spec, BUILTIN_POLICIES[spec], "static", frame, grouping)
    if spec == "cohort":
        frame = _with_policy(manifest, manifest.policy, spec)
        return ReplayPolicy(spec, BUILTIN_POLICIES[spec], "cohort", frame, grouping)
    if spec == "single-window":
        return ReplayPolicy(
            spec, BUILTIN_POLICIES[spec], "static", single_window_frame(manifest), grouping
        )
    if spec == "manifest":
        frame = _with_policy(manifest, manifest.policy, spec)
        return ReplayPolicy(
            spec, BUILTIN_POLICIES[spec], manifest.policy.thresholds, frame, grouping
        )
    path = Path(spec)
    if not path.is_file():
        raise BurnwatchInputError(
            f"policy {spec!r}: no such file, and not a built-in policy "
            f"({', '.join(BUILTIN_POLICIES)})"
        )
    document, _ = load_yaml(path)
    if isinstance(document, dict) and isinstance(document.get("policy"), dict):
        document = document["policy"]
    if not isinstance(document, dict) or "rules" not in document:
        raise BurnwatchInputError(f"{path}: a policy file is a mapping with a `rules:` list")
    try:
        policy = Policy.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise BurnwatchInputError(f"{path}: {where}: {message}") from None
    rules = ", ".join(
        f"{rule.name} {rule.severity} {rule.long_window}&{rule.short_window}"
        for rule in policy.rules
    )
    return ReplayPolicy(
        path.stem,
        f"{path.name}: {rules}",
        policy.thresholds,
        _with_policy(manifest, policy, str(path)),
        policy,
    )


def _parse_time(value: str, path: Path, line: int, column: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BurnwatchInputError(
            f"{path}:{line}: column {column}: {value!r} is not an ISO 8601 time"
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def load_incidents(path: Path) -> pl.DataFrame:
    """Read an incidents CSV (start, end, tenant_id, slo_name; optional incident_id and
    expected_severity) as rows of `replay_incidents`. Times are ISO 8601, UTC if no zone."""
    path = Path(path)
    if not path.is_file():
        raise BurnwatchInputError(f"{path}: incidents file not found")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"start", "end", "tenant_id"} - set(reader.fieldnames or [])
        if missing:
            raise BurnwatchInputError(
                f"{path}: missing column(s) {', '.join(sorted(missing))} "
                "(need start, end, tenant_id and optionally slo_name)"
            )
        rows = []
        for line, record in enumerate(reader, start=2):
            start = _parse_time(record["start"], path, line, "start")
            end = _parse_time(record["end"], path, line, "end")
            if end <= start:
                raise BurnwatchInputError(f"{path}:{line}: end {record['end']} is not after start")
            severity = (record.get("expected_severity") or "").strip() or None
            rows.append(
                {
                    "incident_id": (record.get("incident_id") or "").strip() or f"line-{line}",
                    "tenant_id": record["tenant_id"].strip(),
                    "slo_name": (record.get("slo_name") or "").strip() or None,
                    "started_at": start,
                    "ended_at": end,
                    "expected_severity": severity if severity in ("page", "ticket") else None,
                }
            )
    schema = {
        name: column.dtype.type for name, column in ReplayIncidents.to_schema().columns.items()
    }
    frame = pl.DataFrame(
        rows, schema={**schema, "started_at": pl.Datetime("us"), "ended_at": pl.Datetime("us")}
    )
    duplicated = frame.filter(pl.col("incident_id").is_duplicated())["incident_id"].unique()
    if len(duplicated):
        raise BurnwatchInputError(f"{path}: duplicate incident_id {duplicated[0]!r}")
    return ReplayIncidents.validate(frame)


# The name a policy's `alert_policy` rows are registered under while it is replayed.
POLICY_FRAME = "replay_policy_frame"


def bind_policy_day(
    connection: duckdb.DuckDBPyConnection, warehouse: Path, policy: ReplayPolicy, day: dt.date
) -> None:
    """Bind what fct_alert_evaluations reads for `day` (the registry's lookback) with
    `policy` as its alert_policy, at the day's cohort thresholds for a cohort policy.
    The policy's rows must be registered as POLICY_FRAME."""
    bind_inputs(
        connection,
        warehouse,
        model("fct_alert_evaluations"),
        day,
        day,
        already_bound={"alert_policy"},
    )
    bind(connection, "alert_policy", f"select * from {POLICY_FRAME}")
    bind_run_params(connection, day)
    if policy.thresholds == "cohort":
        bind_cohort_policy(connection, warehouse, day)


def _append(
    connection: duckdb.DuckDBPyConnection, table: str, rows_sql: str, day_index: int
) -> None:
    """Create the temp table `table` from the first day's rows, then append each day's."""
    rows = f"select * from ({rows_sql})"
    connection.execute(
        f"create or replace temp table {table} as {rows}"
        if day_index == 0
        else f"insert into {table} {rows}"
    )


def _coverage_table(day: dt.date) -> str:
    """The temp table of `day`'s log coverage, shared by the policies of one replay."""
    return f"replay_log_coverage_{day:%Y%m%d}"


def _episode_runs(
    connection: duckdb.DuckDBPyConnection,
    warehouse: Path,
    policy: ReplayPolicy,
    days: list[dt.date],
    progress: Callable[[str], None] | None = None,
) -> None:
    """Append `policy`'s episodes over `days` to the temp table replay_episode_runs_all,
    and its alerts to replay_alert_runs_all, saying each day's evaluations (rows,
    seconds) to `progress`.

    The rules are evaluated one by one (sql/facts/fct_alert_evaluations.sql, the
    pipeline's own model) only at the steps where one could fire and the step after
    each (sql/replay/replay_candidate_steps.sql); of the other steps fct_alerts needs
    only those it counts as quiet (sql/replay/replay_quiet_steps.sql), read as one
    evaluation each that neither fires nor is left out. The episodes and alerts are
    those of every step evaluated (tests/test_replay.py holds them equal)."""
    connection.register(POLICY_FRAME, policy.alert_policy.to_arrow())
    watch = Stopwatch()
    for index, day in enumerate(days):
        bind_policy_day(connection, warehouse, policy, day)
        # Where each tenant's current run of logs started (the warm-up) is the same for
        # every policy, and each step's is its own whatever other steps are bound: so it
        # is computed once a day, by the first policy while every step is bound, and read
        # back by the others (for 500 tenants it cost more than a policy's evaluations).
        coverage = _coverage_table(day)
        connection.execute(
            f"create temp table if not exists {coverage} as select * from int_log_coverage"
        )
        bind(connection, "int_log_coverage", f"select * from {coverage}")
        connection.execute(
            "create or replace temp table replay_day_candidates as "
            f"{model_sql('replay_candidate_steps')}"
        )
        # The quiet steps read the candidate steps of this day and the days before it.
        _append(
            connection, "replay_candidates_so_far", "select * from replay_day_candidates", index
        )
        bind(connection, "replay_candidate_steps", "select * from replay_candidates_so_far")
        # The quiet steps read every step's burn rates: before they are narrowed below.
        _append(connection, "replay_quiet_steps_all", model_sql("replay_quiet_steps"), index)
        # The day's burn rates at the candidate steps only: the evaluations read these.
        connection.execute(
            "create or replace temp table replay_candidate_burn_rates as "
            "select fct_burn_rates.* from fct_burn_rates "
            "inner join replay_day_candidates using (tenant_id, slo_name, eval_ts)"
        )
        bind(connection, "fct_burn_rates", "select * from replay_candidate_burn_rates")
        _append(connection, "replay_evaluations", model_sql("fct_alert_evaluations"), index)
        if progress is not None:
            counted = connection.execute(
                "select (select count(*) from replay_evaluations), "
                "(select count(*) from replay_quiet_steps_all)"
            ).fetchone()
            evaluated, quiet_steps = (int(counted[0]), int(counted[1])) if counted else (0, 0)
            progress(
                f"  {policy.name} {day}: {evaluated:,} rule evaluations at candidate steps "
                f"and {quiet_steps:,} quiet steps so far in {watch.lap():.1f} s "
                f"({index + 1}/{len(days)} days)"
            )
    bind(connection, "fct_alert_evaluations", "select * from replay_evaluations")
    columns = [name for name in sql_columns("replay_episode_runs") if name != "policy_name"]
    names = ", ".join(f'"{name}"' for name in columns)
    connection.execute(
        "insert into replay_episode_runs_all "
        f"select ? as policy_name, {names} from ({model_sql('fct_alert_episodes')})",
        [policy.name],
    )
    # What people would have received: the same evaluations grouped into alerts. A quiet
    # step is one evaluation that neither fires nor is no_data or warming_up.
    bind(
        connection,
        "fct_alert_evaluations",
        "select * from replay_evaluations union all by name "
        "select tenant_id, slo_name, eval_ts, false as fires, 'ok' as state, "
        "false as suppressed from replay_quiet_steps_all",
    )
    bind_alert_params(connection, policy.policy)
    alert_columns = ", ".join(f'"{name}"' for name in sql_columns("fct_alerts"))
    connection.execute(
        f"insert into replay_alert_runs_all (policy_name, {alert_columns}) "
        f"select ? as policy_name, {alert_columns} from ({model_sql('fct_alerts')})",
        [policy.name],
    )
    connection.unregister(POLICY_FRAME)


def replay(
    warehouse: Path,
    manifest_path: Path,
    policies: Sequence[str] = DEFAULT_POLICIES,
    incidents: Path | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
    memory_limit: str | None = None,
) -> ReplayResult:
    """Replay each policy over the days [first, last] of the lake's `fct_burn_rates`
    (default: every day computed), score it against `incidents`, and write the
    replay tables. Raise BurnwatchInputError for bad policies, incidents or range.
    `progress` gets a line per policy and day and per table written (None: none).
    `memory_limit` is DuckDB's, as for the models; beyond it the replay's temp tables (a
    policy's rule evaluations at candidate steps and its quiet steps, every day) spill
    under `<warehouse>/.spill`."""
    warehouse = Path(warehouse)
    manifest = load_manifest(manifest_path)
    specs = list(policies) or list(DEFAULT_POLICIES)
    resolved = [resolve_policy(spec, manifest) for spec in specs]
    names = [policy.name for policy in resolved]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BurnwatchInputError(f"policy {repeated[0]!r} given twice (names must be unique)")
    computed = lake.partition_days(warehouse, "fct_burn_rates")
    if not computed:
        raise BurnwatchInputError(
            f"{warehouse}: no fct_burn_rates in the lake; run `burnwatch run` first"
        )
    first = first or computed[0]
    last = last or computed[-1]
    if first > last:
        raise BurnwatchInputError(f"--from {first} is after --to {last}")
    days = [day for day in computed if first <= day <= last]
    if not days:
        raise BurnwatchInputError(
            f"no fct_burn_rates between {first} and {last} (computed: {computed[0]} .. "
            f"{computed[-1]})"
        )
    if any(p.thresholds == "cohort" for p in resolved) and not lake.partition_days(
        warehouse, "cohort_thresholds"
    ):
        raise BurnwatchInputError(
            f"{warehouse}: no cohort_thresholds in the lake for the cohort policy; "
            "materialize cohort_thresholds (`burnwatch run` does) first"
        )
    incident_rows = load_incidents(incidents) if incidents is not None else None

    with session.connect(
        threads=threads, memory_limit=memory_limit, temp_directory=warehouse / ".spill"
    ) as connection:
        columns = ", ".join(
            f'"{name}" {kind}' for name, kind in sql_columns("replay_episode_runs").items()
        )
        connection.execute(f"create temp table replay_episode_runs_all ({columns})")
        alert_run_columns = ", ".join(
            f'"{name}" {kind}' for name, kind in sql_columns("replay_alert_runs").items()
        )
        connection.execute(f"create temp table replay_alert_runs_all ({alert_run_columns})")
        for policy in resolved:
            _episode_runs(connection, warehouse, policy, days, progress)
        for day in days:
            connection.execute(f"drop table if exists {_coverage_table(day)}")
        bind(connection, "replay_episode_runs", "select * from replay_episode_runs_all")
        bind(connection, "replay_alert_runs", "select * from replay_alert_runs_all")
        connection.register(
            "replay_policies_frame",
            pl.DataFrame(
                {
                    "policy_name": names,
                    "policy_order": list(range(1, len(resolved) + 1)),
                    "thresholds": [policy.thresholds for policy in resolved],
                    "description": [policy.description for policy in resolved],
                },
                schema={
                    "policy_name": pl.String,
                    "policy_order": pl.Int32,
                    "thresholds": pl.String,
                    "description": pl.String,
                },
            ).to_arrow(),
        )
        bind(connection, "replay_policies", "select * from replay_policies_frame")
        if incident_rows is not None:
            connection.register("replay_incidents_frame", incident_rows.to_arrow())
            bind(connection, "replay_incidents", "select * from replay_incidents_frame")
        else:
            bind(connection, "replay_incidents", lake.typed_empty("replay_incidents"))
        bind(connection, "slo_specs", f"select * from {lake.scan_sql(warehouse, 'slo_specs')}")
        bind_params(
            connection,
            "replay_params",
            {"range_start": day_start(first), "range_end": day_start(last + dt.timedelta(days=1))},
        )
        for table in OUTPUT_TABLES:
            watch = Stopwatch()
            # A view over the tables written before it (replay_incident_matches).
            bind_ephemeral_inputs(connection, model(table))
            # write_model: the lake writer's out-of-memory retry covers the replay's
            # tables too (their rows follow tenant SLOs, as the facts' do).
            rows = write_model(connection, warehouse, model(table), None)
            if progress is not None:
                progress(f"{table}: {rows:,} rows in {watch.lap():.1f} s")
            bind(connection, table, f"select * from {lake.scan_sql(warehouse, table)}")
        comparison = connection.sql("select * from replay_comparison").pl()
        episodes = connection.execute("select count(*) from replay_episodes").fetchone()
    lake.refresh_catalog(warehouse)
    return ReplayResult(
        comparison=comparison,
        first_day=first,
        last_day=last,
        episodes=int(episodes[0]) if episodes else 0,
        incidents=0 if incident_rows is None else incident_rows.height,
    )


def comparison_text(comparison: pl.DataFrame) -> str:
    """The comparison as a compact Markdown table: one row per policy."""

    def number(value: float | int | None, digits: int = 3) -> str:
        if value is None:
            return "-"
        return f"{value:.{digits}g}" if isinstance(value, float) else str(value)

    header = (
        "| policy | pages/tenant/wk | tickets/tenant/wk | episodes | precision | recall "
        "| recall@sev | detect med/max (min) | reset med/max (min) "
        "| alerts | pages sent | tickets sent | pages/incident | alert precision | alert recall "
        "| alert detect med/max (min) | alert reset med/max (min) |"
    )
    lines = [header, "|" + "---|" * 17]
    for row in comparison.iter_rows(named=True):
        lines.append(
            f"| {row['policy_name']} | {number(row['pages_per_tenant_week'])} "
            f"| {number(row['tickets_per_tenant_week'])} | {row['episodes']} "
            f"| {number(row['precision'])} | {number(row['recall'])} "
            f"| {number(row['recall_at_severity'])} "
            f"| {number(row['detection_median_minutes'], 4)} / "
            f"{number(row['detection_max_minutes'], 4)} "
            f"| {number(row['reset_median_minutes'], 4)} / {number(row['reset_max_minutes'], 4)} "
            f"| {row['alerts']} | {row['pages_sent']} | {row['tickets_sent']} "
            f"| {number(row['pages_per_incident'])} | {number(row['alert_precision'])} "
            f"| {number(row['alert_recall'])} "
            f"| {number(row['alert_detection_median_minutes'], 4)} / "
            f"{number(row['alert_detection_max_minutes'], 4)} "
            f"| {number(row['alert_reset_median_minutes'], 4)} / "
            f"{number(row['alert_reset_max_minutes'], 4)} |"
        )
    return "\n".join(lines)
