-- fct_error_budget: per tenant SLO and 5-minute step, the error budget over
-- the SLO's rolling period [t - period_days, t).
--
-- consumed = bad / (total * (1 - objective)); remaining = 1 - consumed.
-- time_to_exhaustion (hours) = remaining budget at the current (1h) burn rate:
-- remaining * period_hours / burn_1h; 0 once the budget is spent; null when
-- nothing is burning or there is no traffic.
with grid as (
    select
        slo_specs.tenant_id,
        slo_specs.slo_name,
        slo_specs.period_days,
        unnest(
            generate_series(
                run_params.partition_start
                - to_days(slo_specs.period_days) - interval 5 minute,
                run_params.partition_end - interval 10 minute,
                interval 5 minute
            )
        ) as bucket_start
    from slo_specs
    cross join run_params
),

running as (
    select
        grid.tenant_id,
        grid.slo_name,
        grid.period_days,
        grid.bucket_start,
        sum(coalesce(int_sli_buckets.total, 0)) over by_bucket as running_total,
        sum(coalesce(int_sli_buckets.bad, 0)) over by_bucket as running_bad
    from grid
    left join int_sli_buckets
        on grid.tenant_id = int_sli_buckets.tenant_id
        and grid.slo_name = int_sli_buckets.slo_name
        and grid.bucket_start = int_sli_buckets.bucket_start
    window by_bucket as (
        partition by grid.tenant_id, grid.slo_name
        order by grid.bucket_start
        rows between unbounded preceding and current row
    )
),

period_counts as (
    select
        step_end.tenant_id,
        step_end.slo_name,
        step_end.period_days,
        step_end.bucket_start + interval 5 minute as eval_ts,
        cast(step_end.running_total - period_start.running_total as bigint) as total,
        cast(step_end.running_bad - period_start.running_bad as bigint) as bad
    from running as step_end
    cross join run_params
    inner join running as period_start
        on step_end.tenant_id = period_start.tenant_id
        and step_end.slo_name = period_start.slo_name
        and period_start.bucket_start
            = step_end.bucket_start - to_days(step_end.period_days)
    where step_end.bucket_start >= run_params.partition_start - interval 5 minute
),

consumption as (
    select
        period_counts.tenant_id,
        period_counts.slo_name,
        period_counts.eval_ts,
        period_counts.period_days,
        period_counts.total,
        period_counts.bad,
        case
            when period_counts.total > 0
                then period_counts.bad
                / (period_counts.total * ((100 - slo_specs.objective) / 100))
        end as consumed
    from period_counts
    inner join slo_specs
        on period_counts.tenant_id = slo_specs.tenant_id
        and period_counts.slo_name = slo_specs.slo_name
),

final as (
    select
        consumption.tenant_id,
        consumption.slo_name,
        consumption.eval_ts,
        consumption.total,
        consumption.bad,
        consumption.consumed,
        1 - consumption.consumed as remaining,
        case
            when consumption.consumed >= 1 then 0.0
            when fct_burn_rates.burn_rate > 0
                then (1 - consumption.consumed) * consumption.period_days * 24
                / fct_burn_rates.burn_rate
        end as time_to_exhaustion
    from consumption
    left join fct_burn_rates
        on consumption.tenant_id = fct_burn_rates.tenant_id
        and consumption.slo_name = fct_burn_rates.slo_name
        and consumption.eval_ts = fct_burn_rates.eval_ts
        and fct_burn_rates."window" = '1h'
)

select * from final
order by tenant_id, slo_name, eval_ts
