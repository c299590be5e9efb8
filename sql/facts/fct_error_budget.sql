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
-- at the bucket before the period. Running totals are kept only at the buckets
-- that can be read or that hold units (the day's steps, the period starts, the
-- buckets with data): counts are integers, so a running total over those buckets
-- equals the one over every bucket of the period, and the cost follows requests,
-- not tenant SLOs times a period of steps. ratio_timeslices units are fractions,
-- whose floating-point sums depend on how they are grouped: for those SLOs the
-- grid keeps every 5-minute bucket of the period, as the totals always did.
with slo_periods as (
    select
        slo_specs.tenant_id,
        slo_specs.slo_name,
        slo_specs.objective,
        slo_specs.period_days,
        slo_specs.calendar,
        slo_specs.timezone,
        slo_specs.budgeting,
        -- The earliest period start any step of the day can need.
        case
            when slo_specs.calendar is null
                then run_params.partition_start - to_days(slo_specs.period_days)
            else calendar_period_start(
                slo_specs.calendar, slo_specs.timezone, run_params.partition_start
            )
        end as earliest_period_start
    from slo_specs
    cross join run_params
),

grid_bounds as (
    select
        slo_periods.tenant_id,
        slo_periods.slo_name,
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
        grid_bounds.tenant_id,
        grid_bounds.slo_name,
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
        steps.tenant_id,
        steps.slo_name,
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
        on steps.tenant_id = slo_periods.tenant_id
        and steps.slo_name = slo_periods.slo_name
),

-- The buckets where running totals are read or change (see the header).
grid as (
    select step_periods.tenant_id, step_periods.slo_name, step_periods.bucket_start
    from step_periods
    union
    select
        step_periods.tenant_id,
        step_periods.slo_name,
        step_periods.period_start - interval 5 minute as bucket_start
    from step_periods
    union
    select int_sli_units.tenant_id, int_sli_units.slo_name, int_sli_units.bucket_start
    from int_sli_units
    inner join grid_bounds
        on int_sli_units.tenant_id = grid_bounds.tenant_id
        and int_sli_units.slo_name = grid_bounds.slo_name
    where int_sli_units.bucket_start between grid_bounds.first_bucket and grid_bounds.last_bucket
    union
    select
        grid_bounds.tenant_id,
        grid_bounds.slo_name,
        unnest(
            generate_series(grid_bounds.first_bucket, grid_bounds.last_bucket, interval 5 minute)
        ) as bucket_start
    from grid_bounds
    where grid_bounds.budgeting = 'ratio_timeslices'
),

running as (
    select
        grid.tenant_id,
        grid.slo_name,
        grid.bucket_start,
        sum(coalesce(int_sli_units.total, 0)) over by_bucket as running_total,
        sum(coalesce(int_sli_units.bad, 0)) over by_bucket as running_bad,
        sum(coalesce(int_sli_units.unit_total, 0)) over by_bucket as running_unit_total,
        sum(coalesce(int_sli_units.unit_bad, 0)) over by_bucket as running_unit_bad
    from grid
    left join int_sli_units
        on grid.tenant_id = int_sli_units.tenant_id
        and grid.slo_name = int_sli_units.slo_name
        and grid.bucket_start = int_sli_units.bucket_start
    window by_bucket as (
        partition by grid.tenant_id, grid.slo_name
        order by grid.bucket_start
        rows between unbounded preceding and current row
    )
),

-- Two joins in sequence: as one three-way join, DuckDB's join order built a
-- near-cross product (minutes per day instead of a fraction of a second).
step_ends as (
    select
        step_periods.tenant_id,
        step_periods.slo_name,
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
        on step_periods.tenant_id = step_end.tenant_id
        and step_periods.slo_name = step_end.slo_name
        and step_periods.bucket_start = step_end.bucket_start
),

period_counts as (
    select
        step_ends.tenant_id,
        step_ends.slo_name,
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
        on step_ends.tenant_id = period_begin.tenant_id
        and step_ends.slo_name = period_begin.slo_name
        and step_ends.period_begin_bucket = period_begin.bucket_start
),

consumption as (
    select
        period_counts.tenant_id,
        period_counts.slo_name,
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
),

final as (
    select
        consumption.tenant_id,
        consumption.slo_name,
        consumption.eval_ts,
        slo_specs.objective,
        slo_specs.period_days,
        slo_specs.calendar,
        consumption.total,
        consumption.bad,
        100 * consumption.consumed as budget_consumed_percent,
        100 * (1 - consumption.consumed) as budget_remaining_percent,
        case
            when consumption.consumed >= 1 then 0.0
            when fct_burn_rates.burn_rate > 0
                and (1 - consumption.consumed) * consumption.period_hours / fct_burn_rates.burn_rate
                <= case
                    when slo_specs.calendar is null then consumption.period_hours
                    else consumption.period_hours
                    - epoch(consumption.eval_ts - consumption.period_start) / 3600.0
                end
                then (1 - consumption.consumed) * consumption.period_hours
                / fct_burn_rates.burn_rate
        end as time_to_exhaustion_hours,
        consumption.period_start
    from consumption
    inner join slo_specs
        on consumption.tenant_id = slo_specs.tenant_id
        and consumption.slo_name = slo_specs.slo_name
    left join fct_burn_rates
        on consumption.tenant_id = fct_burn_rates.tenant_id
        and consumption.slo_name = fct_burn_rates.slo_name
        and consumption.eval_ts = fct_burn_rates.eval_ts
        and fct_burn_rates."window" = '1d'
)

select * from final
order by tenant_id, slo_name, eval_ts
