-- fct_error_budget: per tenant SLO and 5-minute step, the error budget over
-- the SLO's current period [period_start, t).
--
-- Rolling periods: period_start = t - period_days. Calendar periods (week,
-- month, quarter) start at the period's boundary in the SLO's IANA time zone,
-- so the budget resets there (DST and month lengths included).
-- consumed = bad units / (units * (1 - objective)), over the budgeting units of
-- int_sli_units (requests, or completed slices); remaining = 1 - consumed. Both
-- are written in percent (budget_consumed_percent, budget_remaining_percent),
-- like objective, which is carried with period_days and calendar for the reader.
-- time_to_exhaustion_hours = remaining * period_hours / burn_1d: the remaining
-- budget at the 1d window's burn rate. The 1d window, not the 1h one, because a
-- steady slow burn (a few bad requests an hour) has a defined, non-zero rate over a
-- day whatever hour it is, and a day covers the daily load cycle; it is the long
-- window of the SRE Workbook's 3x ticket. 0 once the budget is spent. Null when
-- the budget is not spent within the period at that rate: nothing burns, no
-- traffic, or it would last beyond the period (rolling: longer than period_hours;
-- calendar: past the period's end, where the budget resets). Null, not a
-- sentinel: no number of hours is "never", and a sentinel would sort and average
-- as if it were one. Steps run up to each tenant's evaluated_until
-- (int_tenant_horizons), as in fct_burn_rates.
--
-- A period's sum is a difference of running totals, read at the step's bucket and
-- at the bucket before the period, each running total split at midnight into
-- whole days and the buckets of its own day (see exact_units below), so that the
-- buckets of the period are read one by one only on the days where a total is
-- read: the cost of a day's steps follows the day and its period starts, not
-- the whole period's buckets.
--
-- Every step, day and running total is keyed by slo_key, a dense integer per
-- tenant SLO (int_slo_keys), and the names come back from slo_periods at the end:
-- the windows and joins on an integer cost DuckDB a quarter less than on tenant_id
-- and slo_name (500 tenants, README, Benchmark).
with slo_periods as (
    select
        slo_specs.tenant_id,
        slo_specs.slo_name,
        slo_specs.objective,
        slo_specs.period_days,
        slo_specs.calendar,
        slo_specs.timezone,
        slo_specs.budgeting,
        int_slo_keys.slo_key,
        -- The earliest period start any step of the day can need.
        case
            when slo_specs.calendar is null
                then run_params.partition_start - to_days(slo_specs.period_days)
            else calendar_period_start(
                slo_specs.calendar, slo_specs.timezone, run_params.partition_start
            )
        end as earliest_period_start
    from slo_specs
    inner join int_slo_keys
        on slo_specs.tenant_id = int_slo_keys.tenant_id
        and slo_specs.slo_name = int_slo_keys.slo_name
    cross join run_params
),

grid_bounds as (
    select
        slo_periods.tenant_id,
        slo_periods.slo_name,
        slo_periods.slo_key,
        slo_periods.budgeting,
        slo_periods.earliest_period_start - interval 5 minute as first_bucket,
        -- The bucket before the tenant's last evaluable step, at the latest.
        least(
            run_params.partition_end - interval 10 minute,
            int_tenant_horizons.evaluated_until - interval 5 minute
        ) as last_bucket
    from slo_periods
    inner join int_tenant_horizons
        on slo_periods.tenant_id = int_tenant_horizons.tenant_id
    cross join run_params
    -- A tenant without logs yet has no step to evaluate (least() would skip the null).
    where int_tenant_horizons.evaluated_until is not null
),

steps as (
    select
        grid_bounds.slo_key,
        unnest(
            generate_series(
                run_params.partition_start - interval 5 minute,
                grid_bounds.last_bucket,
                interval 5 minute
            )
        ) as bucket_start
    from grid_bounds
    cross join run_params
),

step_periods as (
    select
        steps.slo_key,
        steps.bucket_start,
        steps.bucket_start + interval 5 minute as eval_ts,
        slo_periods.objective,
        case
            when slo_periods.calendar is null
                then steps.bucket_start + interval 5 minute - to_days(slo_periods.period_days)
            else calendar_period_start(
                slo_periods.calendar, slo_periods.timezone, steps.bucket_start + interval 5 minute
            )
        end as period_start,
        case
            when slo_periods.calendar is null then slo_periods.period_days * 24.0
            else epoch(
                calendar_period_end(
                    slo_periods.calendar, slo_periods.timezone, steps.bucket_start + interval 5 minute
                )
                - calendar_period_start(
                    slo_periods.calendar, slo_periods.timezone, steps.bucket_start + interval 5 minute
                )
            ) / 3600.0
        end as period_hours
    from steps
    inner join slo_periods
        on steps.slo_key = slo_periods.slo_key
),

-- The running total of a tenant SLO at a bucket x, cum(x), is split at midnight:
-- the whole days before x's day (day_running, a few rows per day) plus the
-- buckets of x's own day up to x (day_prefix). A period's sum is then
-- cum(step bucket) - cum(bucket before the period). Only two kinds of bucket
-- are read, the day's steps and each step's period start, so the buckets
-- summed one by one are those of the days holding them (the day, the day
-- before, and the days of the period starts); every day in between is read as
-- its total. Counts are integers (the units of occurrences and timeslices are
-- whole numbers too), so the sums are exact whatever their grouping.
-- ratio_timeslices units are fractions, whose floating-point sums depend on
-- how they are grouped: for those SLOs running totals run over every 5-minute
-- bucket of the period (dense_running), as they always did.
read_buckets as (
    select step_periods.slo_key, step_periods.bucket_start
    from step_periods
    union
    select
        step_periods.slo_key,
        step_periods.period_start - interval 5 minute as bucket_start
    from step_periods
),

exact_units as (
    select
        grid_bounds.slo_key,
        int_sli_units.bucket_start,
        time_bucket(to_days(1), int_sli_units.bucket_start) as day_start,
        int_sli_units.total,
        int_sli_units.bad,
        int_sli_units.unit_total,
        int_sli_units.unit_bad
    from int_sli_units
    inner join grid_bounds
        on int_sli_units.tenant_id = grid_bounds.tenant_id
        and int_sli_units.slo_name = grid_bounds.slo_name
    where grid_bounds.budgeting <> 'ratio_timeslices'
        and int_sli_units.bucket_start between grid_bounds.first_bucket and grid_bounds.last_bucket
),

-- The first and last day of each SLO's grid. (Computed apart from the series below:
-- Spark refuses a SQL function, as its time_bucket is, inside a generator.)
grid_day_bounds as (
    select
        grid_bounds.slo_key,
        time_bucket(to_days(1), grid_bounds.first_bucket) as first_day,
        time_bucket(to_days(1), grid_bounds.last_bucket) as last_day
    from grid_bounds
    where grid_bounds.budgeting <> 'ratio_timeslices'
),

-- Every day of each SLO's grid, so that a day without data has its (zero) total.
grid_days as (
    select
        grid_day_bounds.slo_key,
        unnest(
            generate_series(grid_day_bounds.first_day, grid_day_bounds.last_day, to_days(1))
        ) as day_start
    from grid_day_bounds
),

day_totals as (
    select
        exact_units.slo_key,
        exact_units.day_start,
        sum(exact_units.total) as total,
        sum(exact_units.bad) as bad,
        sum(exact_units.unit_total) as unit_total,
        sum(exact_units.unit_bad) as unit_bad
    from exact_units
    group by exact_units.slo_key, exact_units.day_start
),

-- Per day: the running totals of every day before it.
day_running as (
    select
        grid_days.slo_key,
        grid_days.day_start,
        coalesce(sum(day_totals.total) over before_day, 0) as total_before,
        coalesce(sum(day_totals.bad) over before_day, 0) as bad_before,
        coalesce(sum(day_totals.unit_total) over before_day, 0) as unit_total_before,
        coalesce(sum(day_totals.unit_bad) over before_day, 0) as unit_bad_before
    from grid_days
    left join day_totals
        on grid_days.slo_key = day_totals.slo_key
        and grid_days.day_start = day_totals.day_start
    window before_day as (
        partition by grid_days.slo_key
        order by grid_days.day_start
        rows between unbounded preceding and 1 preceding
    )
),

exact_read_buckets as (
    select
        read_buckets.slo_key,
        read_buckets.bucket_start,
        time_bucket(to_days(1), read_buckets.bucket_start) as day_start
    from read_buckets
    inner join grid_bounds
        on read_buckets.slo_key = grid_bounds.slo_key
    where grid_bounds.budgeting <> 'ratio_timeslices'
),

read_days as (
    select
        exact_read_buckets.slo_key,
        exact_read_buckets.day_start,
        min(exact_read_buckets.bucket_start) as first_read_bucket,
        max(exact_read_buckets.bucket_start) as last_read_bucket
    from exact_read_buckets
    group by exact_read_buckets.slo_key, exact_read_buckets.day_start
),

-- Within the days that hold read buckets: the read buckets and the buckets with data
-- (for the time-slice SLOs' running sums, slice_day_prefix).
day_points as (
    select exact_read_buckets.slo_key,
        exact_read_buckets.day_start, exact_read_buckets.bucket_start
    from exact_read_buckets
    union
    select exact_units.slo_key, exact_units.day_start,
        exact_units.bucket_start
    from exact_units
    inner join read_days
        on exact_units.slo_key = read_days.slo_key
        and exact_units.day_start = read_days.day_start
),

-- An occurrences SLO budgets its requests, so its units' sums are its requests':
-- two running sums, not four. Within a read day they change only at the buckets with
-- requests, so they are summed over those buckets (and a zero before the day's first
-- bucket), and each sum is then spread over the day's read buckets up to the next
-- bucket with requests: a window over the buckets with traffic instead of over every
-- read bucket (a 500-tenant day: 1.7 M rows in the window before, 0.5 M after; the
-- model 2.0 to 1.1 s, README, Benchmark). Both read only integer counts
-- (ratio_timeslices SLOs run over dense_running below), so the sums are exact
-- whichever rows share a window.
request_day_changes as (
    select
        read_days.slo_key,
        read_days.day_start,
        read_days.day_start - interval 5 minute as bucket_start,
        0 as total,
        0 as bad,
        read_days.first_read_bucket,
        read_days.last_read_bucket
    from read_days
    where read_days.slo_key in (
        select grid_bounds.slo_key from grid_bounds where grid_bounds.budgeting = 'occurrences'
    )
    union all
    select
        exact_units.slo_key,
        exact_units.day_start,
        exact_units.bucket_start,
        exact_units.total,
        exact_units.bad,
        read_days.first_read_bucket,
        read_days.last_read_bucket
    from exact_units
    inner join read_days
        on exact_units.slo_key = read_days.slo_key
        and exact_units.day_start = read_days.day_start
    where exact_units.slo_key in (
        select grid_bounds.slo_key from grid_bounds where grid_bounds.budgeting = 'occurrences'
    )
        and exact_units.bucket_start <= read_days.last_read_bucket
),

request_day_change_running as (
    select
        request_day_changes.slo_key,
        request_day_changes.day_start,
        greatest(
            request_day_changes.bucket_start, request_day_changes.first_read_bucket
        ) as first_bucket,
        -- Up to the bucket before the next change (none past the last read bucket).
        coalesce(
            lead(request_day_changes.bucket_start) over next_change - interval 5 minute,
            request_day_changes.last_read_bucket
        ) as last_bucket,
        sum(request_day_changes.total) over in_day as total_in_day,
        sum(request_day_changes.bad) over in_day as bad_in_day
    from request_day_changes
    window
        in_day as (
            partition by request_day_changes.slo_key, request_day_changes.day_start
            order by request_day_changes.bucket_start
            rows between unbounded preceding and current row
        ),
        -- lead() takes no frame of its own (Spark refuses one).
        next_change as (
            partition by request_day_changes.slo_key, request_day_changes.day_start
            order by request_day_changes.bucket_start
        )
),

request_day_prefix as (
    select
        request_day_change_running.slo_key,
        request_day_change_running.day_start,
        unnest(
            generate_series(
                request_day_change_running.first_bucket,
                request_day_change_running.last_bucket,
                interval 5 minute
            )
        ) as bucket_start,
        request_day_change_running.total_in_day,
        request_day_change_running.bad_in_day
    from request_day_change_running
),

slice_day_prefix as (
    select
        day_points.slo_key,
        day_points.day_start,
        day_points.bucket_start,
        sum(coalesce(exact_units.total, 0)) over in_day as total_in_day,
        sum(coalesce(exact_units.bad, 0)) over in_day as bad_in_day,
        sum(coalesce(exact_units.unit_total, 0)) over in_day as unit_total_in_day,
        sum(coalesce(exact_units.unit_bad, 0)) over in_day as unit_bad_in_day
    from day_points
    left join exact_units
        on day_points.slo_key = exact_units.slo_key
        and day_points.bucket_start = exact_units.bucket_start
    where day_points.slo_key in (
        select grid_bounds.slo_key from grid_bounds where grid_bounds.budgeting <> 'occurrences'
    )
    window in_day as (
        partition by day_points.slo_key, day_points.day_start
        order by day_points.bucket_start
        rows between unbounded preceding and current row
    )
),

day_prefix as (
    select
        request_day_prefix.slo_key,
        request_day_prefix.day_start,
        request_day_prefix.bucket_start,
        request_day_prefix.total_in_day,
        request_day_prefix.bad_in_day,
        cast(request_day_prefix.total_in_day as double) as unit_total_in_day,
        cast(request_day_prefix.bad_in_day as double) as unit_bad_in_day
    from request_day_prefix
    union all
    select
        slice_day_prefix.slo_key,
        slice_day_prefix.day_start,
        slice_day_prefix.bucket_start,
        slice_day_prefix.total_in_day,
        slice_day_prefix.bad_in_day,
        slice_day_prefix.unit_total_in_day,
        slice_day_prefix.unit_bad_in_day
    from slice_day_prefix
),

exact_running as (
    select
        day_prefix.slo_key,
        day_prefix.bucket_start,
        day_running.total_before + day_prefix.total_in_day as running_total,
        day_running.bad_before + day_prefix.bad_in_day as running_bad,
        day_running.unit_total_before + day_prefix.unit_total_in_day as running_unit_total,
        day_running.unit_bad_before + day_prefix.unit_bad_in_day as running_unit_bad
    from day_prefix
    inner join day_running
        on day_prefix.slo_key = day_running.slo_key
        and day_prefix.day_start = day_running.day_start
),

dense_grid as (
    select
        grid_bounds.tenant_id,
        grid_bounds.slo_name,
        grid_bounds.slo_key,
        unnest(
            generate_series(grid_bounds.first_bucket, grid_bounds.last_bucket, interval 5 minute)
        ) as bucket_start
    from grid_bounds
    where grid_bounds.budgeting = 'ratio_timeslices'
),

dense_running as (
    select
        dense_grid.slo_key,
        dense_grid.bucket_start,
        sum(coalesce(int_sli_units.total, 0)) over by_bucket as running_total,
        sum(coalesce(int_sli_units.bad, 0)) over by_bucket as running_bad,
        sum(coalesce(int_sli_units.unit_total, 0)) over by_bucket as running_unit_total,
        sum(coalesce(int_sli_units.unit_bad, 0)) over by_bucket as running_unit_bad
    from dense_grid
    left join int_sli_units
        on dense_grid.tenant_id = int_sli_units.tenant_id
        and dense_grid.slo_name = int_sli_units.slo_name
        and dense_grid.bucket_start = int_sli_units.bucket_start
    window by_bucket as (
        partition by dense_grid.slo_key
        order by dense_grid.bucket_start
        rows between unbounded preceding and current row
    )
),

running as (
    select * from exact_running
    union all
    select * from dense_running
),

-- Two joins in sequence: as one three-way join, DuckDB's join order built a
-- near-cross product (minutes per day instead of a fraction of a second).
step_ends as (
    select
        step_periods.slo_key,
        step_periods.eval_ts,
        step_periods.period_start,
        step_periods.period_start - interval 5 minute as period_begin_bucket,
        step_periods.period_hours,
        step_periods.objective,
        step_end.running_total,
        step_end.running_bad,
        step_end.running_unit_total,
        step_end.running_unit_bad
    from step_periods
    inner join running as step_end
        on step_periods.slo_key = step_end.slo_key
        and step_periods.bucket_start = step_end.bucket_start
),

period_counts as (
    select
        step_ends.slo_key,
        step_ends.eval_ts,
        step_ends.period_start,
        step_ends.period_hours,
        step_ends.objective,
        cast(step_ends.running_total - period_begin.running_total as bigint) as total,
        cast(step_ends.running_bad - period_begin.running_bad as bigint) as bad,
        step_ends.running_unit_total - period_begin.running_unit_total as unit_total,
        step_ends.running_unit_bad - period_begin.running_unit_bad as unit_bad
    from step_ends
    inner join running as period_begin
        on step_ends.slo_key = period_begin.slo_key
        and step_ends.period_begin_bucket = period_begin.bucket_start
),

consumption as (
    select
        period_counts.slo_key,
        period_counts.eval_ts,
        period_counts.period_start,
        period_counts.period_hours,
        period_counts.total,
        period_counts.bad,
        case
            when period_counts.unit_total > 0
                then period_counts.unit_bad
                / (period_counts.unit_total * ((100 - period_counts.objective) / 100))
        end as consumed
    from period_counts
)

-- No `final` CTE: this select orders by slo_key, which it does not output (the
-- registry's sort_key; int_slo_keys numbers it in the key's order).
select
    slo_periods.tenant_id,
    slo_periods.slo_name,
    consumption.eval_ts,
    slo_periods.objective,
    slo_periods.period_days,
    slo_periods.calendar,
    consumption.total,
    consumption.bad,
    100 * consumption.consumed as budget_consumed_percent,
    100 * (1 - consumption.consumed) as budget_remaining_percent,
    case
        when consumption.consumed >= 1 then 0.0
        when fct_burn_rates.burn_rate > 0
            and (1 - consumption.consumed) * consumption.period_hours / fct_burn_rates.burn_rate
            <= case
                when slo_periods.calendar is null then consumption.period_hours
                else consumption.period_hours
                - epoch(consumption.eval_ts - consumption.period_start) / 3600.0
            end
            then (1 - consumption.consumed) * consumption.period_hours
            / fct_burn_rates.burn_rate
    end as time_to_exhaustion_hours,
    consumption.period_start
from consumption
inner join slo_periods using (slo_key)
left join fct_burn_rates
    on slo_periods.tenant_id = fct_burn_rates.tenant_id
    and slo_periods.slo_name = fct_burn_rates.slo_name
    and consumption.eval_ts = fct_burn_rates.eval_ts
    and fct_burn_rates."window" = '1d'
order by slo_key, eval_ts
