-- fct_burn_rates: per tenant SLO, 5-minute evaluation step of the day and
-- window, the window's request counts and its burn rate.
--
-- A step at eval_ts t covers [t - w, t) for each window w. Window sums are
-- differences of running bucket totals over a dense 5-minute grid that starts
-- one bucket before the longest window (of window_labels), so every sum is an
-- exact integer. The registry's LONGEST_WINDOW lookback binds that much history.
-- total and bad count requests. burn_rate = (bad / total) / (1 - objective)
-- over the SLO's budgeting units (int_sli_units): requests for occurrences,
-- completed slices for (ratio) timeslices, reported as slices / bad_slices.
-- A window without units has no burn rate (null), never a burn of zero.
-- Steps run up to each tenant's evaluated_until (int_tenant_horizons) and no
-- further: no row describes a step the tenant's logs have not reached.
-- The grid carries a dense integer key per tenant SLO (slo_key, int_slo_keys) in
-- place of its two text keys, and the names come back from slo_keys at the end:
-- the running totals' window and self-join on an integer cost DuckDB about a fifth
-- less than on tenant_id and slo_name (500 tenants, README, Benchmark).
-- The rows are sorted on two integers, slo_key and step_window (the step's number
-- and the window's rank among the labels), in the key's order: sorting on the
-- window's text took DuckDB a third of the model's day (500 tenants: 3.3 to 2.3 s).
with windows as (
    select
        window_labels.window_label,
        window_labels.window_minutes,
        -- The window's place in the key's order, which sorts "window" as text.
        row_number() over (order by window_labels.window_label) as window_rank,
        -- More than any rank, so step_window = step * window_slots + rank keeps each
        -- step's windows together and in order.
        count(*) over () + 1 as window_slots
    from window_labels
),

slo_keys as (
    select
        slo_specs.tenant_id,
        slo_specs.slo_name,
        slo_specs.objective,
        slo_specs.budgeting,
        int_slo_keys.slo_key
    from slo_specs
    inner join int_slo_keys
        on slo_specs.tenant_id = int_slo_keys.tenant_id
        and slo_specs.slo_name = int_slo_keys.slo_name
),

units as (
    select
        slo_keys.slo_key,
        int_sli_units.bucket_start,
        int_sli_units.total,
        int_sli_units.bad,
        int_sli_units.unit_total,
        int_sli_units.unit_bad
    from int_sli_units
    inner join slo_keys
        on int_sli_units.tenant_id = slo_keys.tenant_id
        and int_sli_units.slo_name = slo_keys.slo_name
),

grid_bounds as (
    select
        slo_keys.slo_key,
        slo_keys.budgeting,
        run_params.partition_start
        - to_minutes((select max(windows.window_minutes) from windows))
        - interval 5 minute as first_bucket,
        -- The bucket before the tenant's last evaluable step, at the latest.
        least(
            run_params.partition_end - interval 10 minute,
            int_tenant_horizons.evaluated_until - interval 5 minute
        ) as last_bucket
    from slo_keys
    inner join int_tenant_horizons
        on slo_keys.tenant_id = int_tenant_horizons.tenant_id
    cross join run_params
    -- A tenant without logs yet has no step to evaluate (least() would skip the null).
    where int_tenant_horizons.evaluated_until is not null
),

grid as (
    select
        grid_bounds.slo_key,
        grid_bounds.budgeting,
        unnest(
            generate_series(grid_bounds.first_bucket, grid_bounds.last_bucket, interval 5 minute)
        ) as bucket_start
    from grid_bounds
    where grid_bounds.budgeting <> 'occurrences'
),

-- An occurrences SLO budgets its requests, so its units' running totals are its
-- requests': two running sums, not four. Integer sums are exact whatever rows share
-- the window. Its running totals change only at the buckets with requests, so they are
-- summed over those buckets alone (and a zero at the grid's first bucket), and each
-- sum is then spread over the grid's buckets up to the next bucket with requests:
-- DuckDB's windowed sums cost about as much per row as the rest of the model, and a
-- 500-tenant day has 1.1 M buckets with requests against 2.9 M grid buckets (its
-- compute 1.8 to 1.6 s, README, Benchmark). A ratio_timeslices SLO's sums of
-- fractional bad ratios are floating-point: their last bits depend on how DuckDB groups
-- the additions, so the timeslice SLOs keep their running sums over every bucket of
-- the grid (slice_running), as they always had.
request_changes as (
    select
        grid_bounds.slo_key,
        grid_bounds.first_bucket as bucket_start,
        0 as total,
        0 as bad,
        grid_bounds.last_bucket as grid_last_bucket
    from grid_bounds
    where grid_bounds.budgeting = 'occurrences'
    union all
    select
        units.slo_key,
        units.bucket_start,
        units.total,
        units.bad,
        grid_bounds.last_bucket as grid_last_bucket
    from units
    inner join grid_bounds
        on units.slo_key = grid_bounds.slo_key
    -- A unit in the first bucket would add to every running total alike, and so to
    -- no window's difference of two; the bound days never reach it anyway.
    where grid_bounds.budgeting = 'occurrences'
        and units.bucket_start > grid_bounds.first_bucket
        and units.bucket_start <= grid_bounds.last_bucket
),

request_change_running as (
    select
        request_changes.slo_key,
        request_changes.bucket_start,
        sum(request_changes.total) over by_bucket as running_total,
        sum(request_changes.bad) over by_bucket as running_bad,
        coalesce(
            lead(request_changes.bucket_start) over next_change - interval 5 minute,
            request_changes.grid_last_bucket
        ) as last_bucket
    from request_changes
    window
        by_bucket as (
            partition by request_changes.slo_key
            order by request_changes.bucket_start
            rows between unbounded preceding and current row
        ),
        -- lead() takes no frame of its own (Spark refuses one).
        next_change as (
            partition by request_changes.slo_key
            order by request_changes.bucket_start
        )
),

request_running as (
    select
        request_change_running.slo_key,
        unnest(
            generate_series(
                request_change_running.bucket_start,
                request_change_running.last_bucket,
                interval 5 minute
            )
        ) as bucket_start,
        request_change_running.running_total,
        request_change_running.running_bad
    from request_change_running
),

slice_running as (
    select
        grid.slo_key,
        grid.bucket_start,
        sum(coalesce(units.total, 0)) over by_bucket as running_total,
        sum(coalesce(units.bad, 0)) over by_bucket as running_bad,
        sum(coalesce(units.unit_total, 0)) over by_bucket as running_unit_total,
        sum(coalesce(units.unit_bad, 0)) over by_bucket as running_unit_bad
    from grid
    left join units
        on grid.slo_key = units.slo_key
        and grid.bucket_start = units.bucket_start
    where grid.budgeting <> 'occurrences'
    window by_bucket as (
        partition by grid.slo_key
        order by grid.bucket_start
        rows between unbounded preceding and current row
    )
),

running as (
    select
        request_running.slo_key,
        request_running.bucket_start,
        request_running.running_total,
        request_running.running_bad,
        cast(request_running.running_total as double) as running_unit_total,
        cast(request_running.running_bad as double) as running_unit_bad
    from request_running
    union all
    select
        slice_running.slo_key,
        slice_running.bucket_start,
        slice_running.running_total,
        slice_running.running_bad,
        slice_running.running_unit_total,
        slice_running.running_unit_bad
    from slice_running
),

-- Each step's window start bucket is computed first, so the self-join below is on
-- plain equality keys: a join condition with interval arithmetic in it cost DuckDB
-- ten times as much (it could not hash on the computed bucket).
window_bounds as (
    select
        step_end.slo_key,
        step_end.bucket_start,
        step_end.bucket_start - to_minutes(windows.window_minutes) as start_bucket,
        windows.window_label,
        step_number(step_end.bucket_start + interval 5 minute) * windows.window_slots
        + windows.window_rank as step_window,
        step_end.running_total,
        step_end.running_bad,
        step_end.running_unit_total,
        step_end.running_unit_bad
    from running as step_end
    cross join windows
    cross join run_params
    where step_end.bucket_start >= run_params.partition_start - interval 5 minute
),

window_counts as (
    select
        window_bounds.slo_key,
        window_bounds.bucket_start + interval 5 minute as eval_ts,
        window_bounds.window_label,
        window_bounds.step_window,
        cast(window_bounds.running_total - window_start.running_total as bigint) as total,
        cast(window_bounds.running_bad - window_start.running_bad as bigint) as bad,
        window_bounds.running_unit_total - window_start.running_unit_total as unit_total,
        window_bounds.running_unit_bad - window_start.running_unit_bad as unit_bad
    from window_bounds
    inner join running as window_start
        on window_bounds.slo_key = window_start.slo_key
        and window_bounds.start_bucket = window_start.bucket_start
)

-- No `final` CTE: this select orders by slo_key and step_window, which it does not
-- output (the registry's sort_key; int_slo_keys numbers slo_key in the key's order).
select
    slo_keys.tenant_id,
    slo_keys.slo_name,
    window_counts.eval_ts,
    window_counts.window_label as "window",
    window_counts.total,
    window_counts.bad,
    case
        when window_counts.unit_total > 0
            then (window_counts.unit_bad / window_counts.unit_total)
            / ((100 - slo_keys.objective) / 100)
    end as burn_rate,
    case
        when slo_keys.budgeting <> 'occurrences' then window_counts.unit_total
    end as slices,
    case
        when slo_keys.budgeting <> 'occurrences' then window_counts.unit_bad
    end as bad_slices
from window_counts
inner join slo_keys using (slo_key)
order by slo_key, step_window
