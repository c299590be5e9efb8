-- int_tenant_horizons: per tenant, how far its logs reach, and the last step that
-- may be evaluated for it: the evaluation horizon of live operation.
--
-- data_until is the time of the tenant's newest request: the newest of what an
-- earlier run saw (previous_tenant_horizons) and of the requests of this run's
-- days (stg_requests, bound for those days only, so a cycle costs its new data).
-- The bucket that holds a tenant's newest request may still be filling, so the
-- tenant's last evaluated step is that bucket's start: the windows of that step
-- end there and hold only complete buckets. The run's horizon is the newest such
-- step of any tenant, less evaluation_delay_minutes, and never after --as-of
-- (horizon_params.as_of); no tenant is evaluated past it. A tenant whose logs
-- lag the horizon by more than max_silence_minutes (or that has none) is silent:
-- no_data, never "no traffic".
with requested as (
    select
        stg_requests.tenant_id,
        max(stg_requests.ts) as newest_ts
    from stg_requests
    group by stg_requests.tenant_id
),

tenants as (
    select
        slo_specs.tenant_id,
        min(slo_specs.max_silence_minutes) as max_silence_minutes
    from slo_specs
    group by slo_specs.tenant_id
),

reached as (
    select
        tenants.tenant_id,
        tenants.max_silence_minutes,
        case
            when previous_tenant_horizons.data_until is null then requested.newest_ts
            when requested.newest_ts is null then previous_tenant_horizons.data_until
            else greatest(previous_tenant_horizons.data_until, requested.newest_ts)
        end as data_until
    from tenants
    left join requested
        on tenants.tenant_id = requested.tenant_id
    left join previous_tenant_horizons
        on tenants.tenant_id = previous_tenant_horizons.tenant_id
),

stepped as (
    select
        reached.tenant_id,
        reached.max_silence_minutes,
        reached.data_until,
        time_bucket(interval 5 minute, reached.data_until) as newest_step
    from reached
),

run_horizon as (
    select
        case
            when horizon_params.as_of is null
                then max(stepped.newest_step)
                - to_minutes(any_value(horizon_params.evaluation_delay_minutes))
            else least(
                max(stepped.newest_step)
                - to_minutes(any_value(horizon_params.evaluation_delay_minutes)),
                time_bucket(interval 5 minute, horizon_params.as_of)
            )
        end as horizon
    from stepped
    cross join horizon_params
    group by horizon_params.as_of
),

final as (
    select
        stepped.tenant_id,
        stepped.data_until,
        -- DuckDB's least() skips nulls: a tenant without logs must stay unevaluated.
        case
            when stepped.newest_step is not null
                then least(stepped.newest_step, run_horizon.horizon)
        end as evaluated_until,
        run_horizon.horizon,
        stepped.max_silence_minutes,
        coalesce(
            run_horizon.horizon - stepped.data_until > to_minutes(stepped.max_silence_minutes),
            true
        ) as silent
    from stepped
    cross join run_horizon
)

select * from final
order by tenant_id
