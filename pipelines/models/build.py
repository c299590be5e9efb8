"""Build a model's table: bind its inputs as its registry entry says, run its SQL, write
the lake.

`build_model(resource, name, day)` serves every daily or whole model whose
inputs are lake tables; the few models with inputs that code binds (the
request scan, parameters, the manifest's frames) have a function of their own
here or in `pipelines.ingest.staging`. Assets, the benchmark and the tests call
these, so every path computes a table the same way. Each returns the rows written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

import duckdb
import pandera.polars as pa
import polars as pl
import pyarrow.parquet as pq

from pipelines.models import freshness
from pipelines.models.registry import (
    MODELS,
    STEP,
    Kind,
    Model,
    Reach,
    longest_period_days,
    model,
    model_sql,
    unordered_model_sql,
)
from pipelines.partitions import scan_blocks
from pipelines.resources import BurnwatchResource
from pipelines.warehouse import lake
from pipelines.warehouse.params import bind_params, bind_run_params
from pipelines.warehouse.session import bind
from schemas.errors import BurnwatchInputError
from schemas.manifest import WINDOW_MINUTES, Manifest, Policy, load_manifest
from schemas.tables import AlertPolicy, BudgetAdjustments, SloSpecs, sql_columns


def _manifest_frame(
    rows: list[dict[str, object]], model_class: type[pa.DataFrameModel]
) -> pl.DataFrame:
    """Rows from the manifest as a validated frame with exactly the table's columns."""
    schema = {name: column.dtype.type for name, column in model_class.to_schema().columns.items()}
    frame = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    return model_class.validate(frame.select(list(schema)))


def slo_specs_frame(manifest: Manifest) -> pl.DataFrame:
    """The manifest's SLOs, cohort defaults resolved, as rows of `slo_specs`."""
    return _manifest_frame([slo.model_dump() for slo in manifest.resolved_slos()], SloSpecs)


def alert_policy_frame(manifest: Manifest) -> pl.DataFrame:
    """Every tenant SLO crossed with its policy's rules (manifest, cohort and tenant
    overrides merged, thresholds as burn rates): rows of `alert_policy`."""
    return _manifest_frame([rule.model_dump() for rule in manifest.resolved_rules()], AlertPolicy)


def budget_adjustments_frame(manifest: Manifest) -> pl.DataFrame:
    """The manifest's adjustments, `all` expanded to tenant SLOs: rows of `budget_adjustments`."""
    return _manifest_frame(
        [row.model_dump() for row in manifest.resolved_adjustments()], BudgetAdjustments
    )


def write_frame(
    connection: duckdb.DuckDBPyConnection,
    frame: pl.DataFrame,
    warehouse: Path,
    table: str,
    day: dt.date | None = None,
) -> int:
    """Write a frame computed in Python as the table's partition, in its registry order."""
    connection.register("frame_to_write", frame.to_arrow())
    query = f"select * from frame_to_write order by {model(table).order_sql}"
    return lake.write_query(connection, query, warehouse, table, day)


def _build_from_manifest(
    resource: BurnwatchResource, table: str, frame: Callable[[Manifest], pl.DataFrame]
) -> int:
    with resource.connect() as connection:
        rows = frame(load_manifest(resource.manifest_path))
        return write_frame(connection, rows, resource.warehouse_path, table)


def build_slo_specs(resource: BurnwatchResource) -> int:
    return _build_from_manifest(resource, "slo_specs", slo_specs_frame)


def build_alert_policy(resource: BurnwatchResource) -> int:
    return _build_from_manifest(resource, "alert_policy", alert_policy_frame)


def build_budget_adjustments(resource: BurnwatchResource) -> int:
    return _build_from_manifest(resource, "budget_adjustments", budget_adjustments_frame)


DayProgress = Callable[[dt.date, int], None]
# The temp table that holds a block of days of int_sli_buckets before it is written day by day.
INT_SLI_BUCKETS_RUN = "int_sli_buckets_run"
# The same for int_sli_adjusted (the requests budget adjustments left out of int_sli_buckets).
INT_SLI_ADJUSTED_RUN = "int_sli_adjusted_run"


def bind_inputs(
    connection: duckdb.DuckDBPyConnection,
    warehouse: Path,
    entry: Model,
    first: dt.date | None = None,
    last: dt.date | None = None,
    history_days: int = 0,
    already_bound: Collection[str] = (),
) -> None:
    """Bind each lake input of `entry` under its own name, limited to the days its
    lookback reaches from [first, last]; ephemeral inputs become views over theirs.

    Inputs marked `bound` in the registry (scans, parameters) are the caller's, and
    so are those named in `already_bound`.
    """
    sources = [s for s in entry.lake_inputs() if s.table not in already_bound]
    # Whole tables first: the SLO period reach is read from the bound slo_specs.
    for source in sorted(sources, key=lambda s: s.lookback.reach is not Reach.WHOLE):
        if source.lookback.reach is Reach.WHOLE or first is None or last is None:
            lake.bind_table(connection, warehouse, source.table)
            continue
        period = _longest_period(connection) if source.lookback.reach is Reach.SLO_PERIOD else 0
        lake.bind_table(
            connection,
            warehouse,
            source.table,
            source.lookback.first_day(first, period, history_days),
            source.lookback.last_day(last),
        )
    if any(source.table == "slo_specs" for source in entry.lake_inputs()):
        # The manifest's bad_when/good_when predicates, which int_slo_requests (a view
        # bound below) calls: a view's functions must exist when it is created.
        define_custom_bad_macro(connection)
    bind_ephemeral_inputs(connection, entry)


def bind_ephemeral_inputs(connection: duckdb.DuckDBPyConnection, entry: Model) -> None:
    """Bind each ephemeral input of `entry` as a view over its own (already bound) inputs."""
    for source in entry.inputs:
        upstream = MODELS.get(source.table)
        if upstream is not None and upstream.kind is Kind.EPHEMERAL:
            bind(connection, upstream.name, model_sql(upstream.name))


def _longest_period(connection: duckdb.DuckDBPyConnection) -> int:
    """The longest SLO period of the bound `slo_specs`, in days."""
    rows = connection.execute("select period_days, calendar from slo_specs").fetchall()
    return longest_period_days([(int(days), calendar) for days, calendar in rows])


def write_model(
    connection: duckdb.DuckDBPyConnection, warehouse: Path, entry: Model, day: dt.date | None
) -> int:
    """Run the model over what is bound and write its partition (or whole file)."""
    return lake.write_query(
        connection,
        unordered_model_sql(entry),
        warehouse,
        entry.name,
        day if entry.kind is Kind.DAILY else None,
        order_by=entry.order_sql,
        sort_by=entry.sort_sql,
    )


def write_model_days(
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    warehouse: Path,
    name: str,
    days: Sequence[dt.date],
    progress: DayProgress | None = None,
) -> dict[dt.date, int]:
    """Write model `name`, computed for several days at once into `relation`, as one
    partition per day: rows by the day of the entry's day column, in its order."""
    entry = model(name)
    if entry.day_column is None:
        raise ValueError(f"{name} has no day column in the registry")
    return lake.write_days(
        connection, relation, warehouse, name, days, entry.day_column, entry.order_sql, progress
    )


def build_model(resource: BurnwatchResource, name: str, day: dt.date | None = None) -> int:
    """Compute model `name` for `day` (None: a whole table) from the lake and write it."""
    entry = model(name)
    with resource.connect() as connection:
        bind_inputs(connection, resource.warehouse_path, entry, day, day)
        if day is not None and entry.reads("run_params"):
            bind_run_params(connection, day)
        return write_model(connection, resource.warehouse_path, entry, day)


def build_int_quarantine_counts(resource: BurnwatchResource, day: dt.date) -> int:
    """Per tenant-day: rows in, rows quarantined, and whether SLIs are computed."""
    entry = model("int_quarantine_counts")
    with resource.connect() as connection:
        bind_inputs(connection, resource.warehouse_path, entry, day, day)
        bind_params(
            connection,
            "quarantine_policy",
            {"max_quarantined_share": float(resource.max_quarantined_share)},
        )
        bind_run_params(connection, day)
        return write_model(connection, resource.warehouse_path, entry, day)


def request_blocks(resource: BurnwatchResource, days: Sequence[dt.date]) -> list[list[dt.date]]:
    """`days` as runs of consecutive days of at most `max_rows_per_scan` deduplicated
    requests together (the `stg_requests` partitions' footers), as `stg_requests` itself
    is cut: the buckets' exact latency quantiles hold every latency of a block in memory
    at once (DuckDB does not spill them), so 14 days of 100 million requests in one block
    ran out of a 3 GiB memory_limit. A day's buckets never depend on another day's
    requests, so the blocks change nothing but the memory."""
    rows: dict[dt.date, int] = {}
    for day in days:
        partition = lake.partition_path(resource.warehouse_path, "stg_requests", day)
        rows[day] = pq.ParquetFile(partition).metadata.num_rows if partition.is_file() else 0
    return scan_blocks(days, rows, resource.max_rows_per_scan)


def build_int_sli_buckets(resource: BurnwatchResource, day: dt.date) -> int:
    """`build_int_sli_buckets_days` for one day."""
    return build_int_sli_buckets_days(resource, [day])[day]


def build_int_sli_buckets_days(
    resource: BurnwatchResource, days: Sequence[dt.date], progress: DayProgress | None = None
) -> dict[dt.date, int]:
    """Per tenant SLO and 5-minute bucket of each day (sql/intermediate/int_sli_buckets.sql),
    computed for blocks of consecutive days at once from their `stg_requests` partitions."""
    entry = model("int_sli_buckets")
    written: dict[dt.date, int] = {}
    for block in request_blocks(resource, days):
        with resource.connect() as connection:
            compute_int_sli_buckets(connection, resource, block[0], block[-1])
            written |= write_model_days(
                connection,
                INT_SLI_BUCKETS_RUN,
                resource.warehouse_path,
                entry.name,
                block,
                progress,
            )
    return written


def compute_int_sli_buckets(
    connection: duckdb.DuckDBPyConnection,
    resource: BurnwatchResource,
    first: dt.date,
    last: dt.date,
    stg_requests: str | None = None,
) -> None:
    """Run int_sli_buckets for days [first, last] into the temp table INT_SLI_BUCKETS_RUN,
    from the lake's `stg_requests` or the relation given."""
    bind_inputs(connection, resource.warehouse_path, model("int_sli_buckets"), first, last)
    if stg_requests is not None:
        bind(connection, "stg_requests", f"select * from {stg_requests}")
    connection.execute(
        f"create or replace temp table {INT_SLI_BUCKETS_RUN} as {model_sql('int_sli_buckets')}"
    )


def build_int_sli_adjusted_days(
    resource: BurnwatchResource, days: Sequence[dt.date], progress: DayProgress | None = None
) -> dict[dt.date, int]:
    """Per tenant SLO and bucket of each day, the requests that budget adjustments left out
    of int_sli_buckets (sql/intermediate/int_sli_adjusted.sql), in blocks of days."""
    entry = model("int_sli_adjusted")
    written: dict[dt.date, int] = {}
    for block in request_blocks(resource, days):
        with resource.connect() as connection:
            bind_inputs(connection, resource.warehouse_path, entry, block[0], block[-1])
            connection.execute(
                f"create or replace temp table {INT_SLI_ADJUSTED_RUN} as {model_sql(entry.name)}"
            )
            written |= write_model_days(
                connection,
                INT_SLI_ADJUSTED_RUN,
                resource.warehouse_path,
                entry.name,
                block,
                progress,
            )
    return written


def define_custom_bad_macro(connection: duckdb.DuckDBPyConnection) -> None:
    """Define `burnwatch_custom_bad(predicate, <contract columns>)` from slo_specs.

    The manifest's predicates were checked by sqlglot (schemas.predicates); the
    macro evaluates the one named by its first argument over a request's columns.
    """
    rows = connection.execute(
        "select distinct bad_predicate from slo_specs where bad_predicate is not null "
        "order by bad_predicate"
    ).fetchall()
    parameters = ", ".join(sql_columns("raw_requests"))
    branches = " ".join(
        "when '{}' then ({})".format(predicate.replace("'", "''"), predicate)
        for (predicate,) in rows
    )
    body = f"case predicate {branches} end" if branches else "null::boolean"
    connection.execute(
        f"create or replace temp macro burnwatch_custom_bad(predicate, {parameters}) as {body}"
    )


def build_int_tenant_horizons(
    resource: BurnwatchResource, days: tuple[dt.date, dt.date] | None
) -> int:
    """Each tenant's newest request and last evaluable step, from what earlier runs saw
    (unless `resource.full`) and the requests of the run's days [first, last]. Without
    days (the asset materialized alone): earlier runs' view if there is one, else every
    staged day. Raises BurnwatchInputError for an --as-of beyond the data."""
    entry = model("int_tenant_horizons")
    warehouse = resource.warehouse_path
    previous = lake.partition_path(warehouse, entry.name, None)
    carried = previous.is_file() and not resource.full
    if days is None and not carried:
        staged = lake.partition_days(warehouse, "stg_requests")
        days = (staged[0], staged[-1]) if staged else None
    manifest = load_manifest(resource.manifest_path)
    with resource.connect() as connection:
        if days is None:
            bind_inputs(connection, warehouse, entry)
            bind(connection, "stg_requests", lake.typed_empty("stg_requests"))
        else:
            bind_inputs(connection, warehouse, entry, days[0], days[1])
        bind(
            connection,
            "previous_tenant_horizons",
            f"select * from {lake.scan_sql(warehouse, entry.name, [str(previous)])}"
            if carried
            else lake.typed_empty("previous_tenant_horizons"),
        )
        bind_params(
            connection,
            "horizon_params",
            {
                "as_of": None,
                "evaluation_delay_minutes": manifest.evaluation_delay_minutes,
            },
        )
        as_of = resource.as_of_time
        if as_of is not None:
            row = connection.execute(
                f"select max(horizon) from ({model_sql(entry.name)})"
            ).fetchone()
            reached = row[0] if row else None
            if reached is None or as_of - reached >= STEP:
                raise BurnwatchInputError(
                    f"--as-of {as_of:%Y-%m-%dT%H:%M}: beyond the data, whose horizon is "
                    + (f"{reached:%Y-%m-%dT%H:%M}" if reached else "empty (no requests)")
                )
            bind_params(
                connection,
                "horizon_params",
                {"as_of": as_of, "evaluation_delay_minutes": manifest.evaluation_delay_minutes},
            )
        return write_model(connection, warehouse, entry, None)


def build_fct_burn_rates(resource: BurnwatchResource, day: dt.date) -> int:
    return build_model(resource, "fct_burn_rates", day)


def build_fct_error_budget(resource: BurnwatchResource, day: dt.date) -> int:
    return build_model(resource, "fct_error_budget", day)


def build_fct_alert_evaluations(resource: BurnwatchResource, day: dt.date) -> int:
    entry = model("fct_alert_evaluations")
    warehouse = resource.warehouse_path
    with resource.connect() as connection:
        bind_inputs(connection, warehouse, entry, day, day)
        bind_run_params(connection, day)
        if load_manifest(resource.manifest_path).policy.thresholds == "cohort":
            bind_cohort_policy(connection, warehouse, day)
        return write_model(connection, warehouse, entry, day)


def bind_cohort_policy(
    connection: duckdb.DuckDBPyConnection, warehouse: Path, day: dt.date
) -> None:
    """Rebind `alert_policy` (already bound, static) to its cohort-threshold form for `day`
    (sql/policy/alert_policy_cohort.sql over every threshold version up to `day`)."""
    bind_inputs(
        connection,
        warehouse,
        model("alert_policy_cohort"),
        day,
        day,
        already_bound={"alert_policy"},
    )
    bind_run_params(connection, day)
    connection.execute(
        "create or replace temp table alert_policy_cohort_result as "
        f"{model_sql('alert_policy_cohort')}"
    )
    bind(connection, "alert_policy", "select * from alert_policy_cohort_result")


def build_fct_alert_episodes(resource: BurnwatchResource) -> int:
    """The alert episodes of each rule (sql/facts/fct_alert_episodes.sql), extended from
    the evaluations that changed (`build_extended`)."""
    return build_extended(resource, "fct_alert_episodes", ("tenant_id", "slo_name", "rule_name"))


def build_extended(
    resource: BurnwatchResource,
    name: str,
    keys: tuple[str, ...],
    params: Mapping[str, object] | None = None,
    bind_params_of: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> int:
    """Write a whole table of runs over `fct_alert_evaluations` (episodes, alerts: rows
    with `started_at` and `resolved_at`, per `keys`) extended from the first day of
    evaluations that changed since it was last written, so that a cycle reads the
    evaluations of its own days, not of all history.

    Per key, the rows that resolved before that day are kept as they are: every
    step they span, and the step that resolved them, is unchanged. The key's other
    rows (open, or resolved on or after that day) are recomputed from the
    evaluations from the earliest of their starts and that day on. Rows of one key
    never overlap and nothing is open between them, so the kept ones all come
    first, and the result equals the model run over every evaluation
    (tests/test_freshness.py checks it byte for byte, from any step). `params`
    (the model's parameters, bound by `bind_params_of`) are part of what it was
    built from: a change recomputes everything.
    """
    entry = model(name)
    warehouse = resource.warehouse_path
    source = "fct_alert_evaluations"
    built_from = freshness.BuiltFrom(
        parameters=json.dumps(params or {}, sort_keys=True),
        partitions=freshness.partition_stamps(warehouse, source),
    )
    target = lake.partition_path(warehouse, entry.name, None)
    changed = freshness.first_changed_day(warehouse, entry.name, source, built_from)
    if resource.full or not target.is_file():
        changed = dt.date.min
    if changed is None:
        rows = pq.ParquetFile(target).metadata.num_rows
    elif changed == dt.date.min:
        rows = write_extended(resource, entry, keys, bind_params_of=bind_params_of)
    else:
        since = dt.datetime.combine(changed, dt.time())
        rows = write_extended(resource, entry, keys, target, since, bind_params_of)
    freshness.remember_built_from(warehouse, entry.name, source, built_from)
    return int(rows)


def write_extended(
    resource: BurnwatchResource,
    entry: Model,
    keys: tuple[str, ...],
    previous: Path | None = None,
    changed_from: dt.datetime | None = None,
    bind_params_of: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> int:
    """Write the model whole, or with `previous` (its file as last written) and
    `changed_from`, its kept rows plus the model over the evaluations from each key's
    restart (see `build_extended`)."""
    warehouse = resource.warehouse_path
    with resource.connect() as connection:
        if bind_params_of is not None:
            bind_params_of(connection)
        if previous is None or changed_from is None:
            bind_inputs(connection, warehouse, entry, already_bound={"alert_params"})
            query = model_sql(entry.name)
        else:
            query = _bind_restarts(connection, warehouse, entry, keys, previous, changed_from)
        # Through a table, whichever the path: DuckDB marks a Parquet column required
        # when the statistics of what it writes exclude nulls. A table's statistics come
        # from its rows; a query's from its plan, which differs between the two paths.
        connection.execute(f"create temp table extended_result as {query}")
        return lake.write_query(
            connection,
            f"select * from extended_result order by {entry.order_sql}",
            warehouse,
            entry.name,
        )


def _bind_restarts(
    connection: duckdb.DuckDBPyConnection,
    warehouse: Path,
    entry: Model,
    keys: tuple[str, ...],
    previous: Path,
    changed_from: dt.datetime,
) -> str:
    """Bind the evaluations from each key's restart and the kept rows; return the query
    of the table (the model over those evaluations, plus the kept rows)."""
    since = f"timestamp '{changed_from:%Y-%m-%d %H:%M:%S}'"
    listed = ", ".join(keys)
    bind(
        connection,
        "previous_rows",
        "select * from " + lake.scan_sql(warehouse, entry.name, [str(previous)]),
    )
    connection.execute(
        f"""
        create temp table restarts as
        select {listed}, least(min(started_at), {since}) as restart_at
        from previous_rows
        where resolved_at is null or resolved_at >= {since}
        group by all
        """
    )
    row = connection.execute(f"select least(min(restart_at), {since}) from restarts").fetchone()
    first_day = (row[0] if row and row[0] else changed_from).date()
    evaluations = lake.scan_sql(
        warehouse,
        "fct_alert_evaluations",
        lake.existing_partition_files(warehouse, "fct_alert_evaluations", first_day, dt.date.max),
    )
    joined = " and ".join(f"evaluations.{key} = restarts.{key}" for key in keys)
    bind(
        connection,
        "fct_alert_evaluations",
        f"""
        select evaluations.* from {evaluations} as evaluations
        left join restarts on {joined}
        where evaluations.eval_ts >= coalesce(restarts.restart_at, {since})
        """,
    )
    bind(connection, "kept_rows", f"select * from previous_rows where resolved_at < {since}")
    return f"select * from ({model_sql(entry.name)}) union all by name select * from kept_rows"


def bind_alert_params(connection: duckdb.DuckDBPyConnection, policy: Policy) -> None:
    """Bind `alert_params`: the policy's cooldowns, which fct_alerts groups rules with."""
    bind_params(
        connection,
        "alert_params",
        {
            "page_cooldown_minutes": policy.cooldown_minutes.page,
            "ticket_cooldown_minutes": policy.cooldown_minutes.ticket,
        },
    )


def build_fct_alerts(resource: BurnwatchResource) -> int:
    """A tenant SLO's rules grouped into alerts (sql/facts/fct_alerts.sql), extended from
    the evaluations that changed (`build_extended`); a change of cooldowns recomputes
    them all. It leaves fct_alert_episodes as it is."""
    policy = load_manifest(resource.manifest_path).policy
    cooldowns = {"page": policy.cooldown_minutes.page, "ticket": policy.cooldown_minutes.ticket}
    return build_extended(
        resource,
        "fct_alerts",
        ("tenant_id", "slo_name"),
        cooldowns,
        lambda connection: bind_alert_params(connection, policy),
    )


# fct_alert_contributors' settings (sql/facts/fct_alert_contributors.sql says what each
# means; the README's "What burned the budget" documents them).
CONTRIBUTOR_PARAMS: dict[str, object] = {
    "top_operations": 3,
    "standout_factor": 1.5,
    "standout_min_bad": 5,
}


def build_fct_alert_contributors(resource: BurnwatchResource) -> int:
    """The top operations of each alert's long windows (sql/facts/fct_alert_contributors.sql).

    A cycle reads the request days of the windows it has not computed yet, not all
    history: an alert's rows are kept as last written while the alert still has the
    same windows (the same opening and escalation) and they end before the first
    day of stg_requests that changed since; the others are computed over the
    stg_requests days their windows cover. A change of slo_specs or of the
    parameters recomputes every alert. (An alert without a row, whose windows hold no
    bad request, is computed again each time: its own windows' days, never more.)
    Kept plus recomputed rows equal the model run over every alert
    (tests/test_alert_contributors.py checks the bytes).
    """
    entry = model("fct_alert_contributors")
    warehouse = resource.warehouse_path
    target = lake.partition_path(warehouse, entry.name, None)
    # The SLOs (what is bad) and the adjustments (what is left out) change every alert.
    whole_inputs = {
        name: hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        for name in ("slo_specs", "budget_adjustments")
        for path in [lake.partition_path(warehouse, name, None)]
    }
    built_from = freshness.BuiltFrom(
        parameters=json.dumps({**CONTRIBUTOR_PARAMS, **whole_inputs}, sort_keys=True),
        partitions=freshness.partition_stamps(warehouse, "stg_requests"),
    )
    changed = freshness.first_changed_day(warehouse, entry.name, "stg_requests", built_from)
    if resource.full or not target.is_file():
        changed = dt.date.min
    with resource.connect() as connection:
        bind_params(connection, "contributor_params", CONTRIBUTOR_PARAMS)
        lake.bind_table(connection, warehouse, "slo_specs")
        lake.bind_table(connection, warehouse, "budget_adjustments")
        define_custom_bad_macro(connection)
        bind(connection, "all_alerts", f"select * from {lake.scan_sql(warehouse, 'fct_alerts')}")
        if changed == dt.date.min:
            bind(connection, "kept_rows", lake.typed_empty(entry.name))
        else:
            # None: no request day changed, so every window that is still the same is kept.
            until = "timestamp '9999-12-31'" if changed is None else f"timestamp '{changed}'"
            bind(
                connection,
                "previous_rows",
                "select * from " + lake.scan_sql(warehouse, entry.name, [str(target)]),
            )
            bind(
                connection,
                "kept_rows",
                f"""
                select previous_rows.* from previous_rows
                semi join all_alerts
                    on previous_rows.tenant_id = all_alerts.tenant_id
                    and previous_rows.slo_name = all_alerts.slo_name
                    and previous_rows.started_at = all_alerts.started_at
                    -- the same windows: escalated rows exactly when it escalated, there
                    and (previous_rows.basis = 'opened'
                            and all_alerts.opened_rule = previous_rows.rule_name
                            and all_alerts.opened_long_window = previous_rows.long_window
                        or previous_rows.basis = 'escalated'
                            and all_alerts.escalated_at is not distinct from
                                previous_rows.window_end)
                where not exists (
                    select 1 from previous_rows as later
                    where later.tenant_id = previous_rows.tenant_id
                        and later.slo_name = previous_rows.slo_name
                        and later.started_at = previous_rows.started_at
                        and later.window_end > {until}
                )
                """,
            )
        # An alert is computed unless rows of each of its windows are kept.
        bind(
            connection,
            "fct_alerts",
            """
            select * from all_alerts
            where not exists (
                select 1 from kept_rows
                where kept_rows.tenant_id = all_alerts.tenant_id
                    and kept_rows.slo_name = all_alerts.slo_name
                    and kept_rows.started_at = all_alerts.started_at
                    and kept_rows.basis = 'opened'
            ) or (
                all_alerts.escalated_at is not null and not exists (
                    select 1 from kept_rows
                    where kept_rows.tenant_id = all_alerts.tenant_id
                        and kept_rows.slo_name = all_alerts.slo_name
                        and kept_rows.started_at = all_alerts.started_at
                        and kept_rows.basis = 'escalated'
                )
            )
            """,
        )
        # Only the request days the windows to compute cover (not the span between an
        # old alert and a new one).
        windows = connection.execute(
            "select started_at, opened_long_window, escalated_at, escalated_long_window "
            "from fct_alerts"
        ).fetchall()
        days: set[dt.date] = set()
        for started, opened_window, escalated, escalated_window in windows:
            for end, label in ((started, opened_window), (escalated, escalated_window)):
                if end is not None and label is not None:
                    day = (end - dt.timedelta(minutes=WINDOW_MINUTES[label])).date()
                    while day <= end.date():
                        days.add(day)
                        day += dt.timedelta(days=1)
        # int_slo_requests (the requests, and which are bad) over those days only.
        for table in ("stg_requests", "int_quarantine_counts"):
            files = [
                str(lake.partition_path(warehouse, table, day))
                for day in lake.partition_days(warehouse, table)
                if day in days
            ]
            bind(connection, table, "select * from " + lake.scan_sql(warehouse, table, files))
        bind(connection, "int_slo_requests", model_sql("int_slo_requests"))
        connection.execute(
            f"""
            create temp table contributors_result as
            select * from ({model_sql(entry.name)})
            union all by name
            -- kept only where its alert is not recomputed (an alert is kept whole or not)
            select * from kept_rows anti join fct_alerts
                on kept_rows.tenant_id = fct_alerts.tenant_id
                and kept_rows.slo_name = fct_alerts.slo_name
                and kept_rows.started_at = fct_alerts.started_at
            """
        )
        rows = lake.write_query(
            connection,
            f"select * from contributors_result order by {entry.order_sql}",
            warehouse,
            entry.name,
        )
    freshness.remember_built_from(warehouse, entry.name, "stg_requests", built_from)
    return rows


def build_fct_slo_status(resource: BurnwatchResource) -> int:
    """Each tenant SLO's state at its evaluation point (sql/facts/fct_slo_status.sql).

    The daily facts it reads (the registry's EVALUATION_DAYS inputs) are bound for the
    days that hold the tenants' as_of only, the newest day or two: the status is
    written every cycle and must not cost in proportion to history.
    """
    entry = model("fct_slo_status")
    warehouse = resource.warehouse_path
    by_day = [
        source.table
        for source in entry.lake_inputs()
        if source.lookback.reach is Reach.EVALUATION_DAYS
    ]
    with resource.connect() as connection:
        bind_inputs(connection, warehouse, entry, already_bound=by_day)
        rows = connection.execute(
            "select distinct cast(coalesce(evaluated_until, horizon) as date) as day "
            "from int_tenant_horizons where coalesce(evaluated_until, horizon) is not null "
            "order by day"
        ).fetchall()
        days = [day for (day,) in rows]
        for table in by_day:
            files = [
                str(path)
                for path in (lake.partition_path(warehouse, table, day) for day in days)
                if path.is_file()
            ]
            bind(connection, table, f"select * from {lake.scan_sql(warehouse, table, files)}")
        return write_model(connection, warehouse, entry, None)
