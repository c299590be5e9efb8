-- int_log_coverage: per tenant and step of fct_burn_rates, where the tenant's
-- current run of logs started, and how many steps of logs lie before the step.
--
-- A run of logs starts at the tenant's first bucket with requests (of any of its
-- SLOs, int_sli_buckets, or left out by a budget adjustment, int_sli_adjusted) and
-- again at the first bucket after a no_data gap: more than max_silence_minutes of
-- empty buckets (slo_specs, the tenant's smallest). A window [t - w, t) is covered
-- when the latest run that started before t started at or before t - w, that is
-- when covered_steps >= w / 5 minutes: fct_alert_evaluations' warm-up, which the
-- replay's quiet steps read too (sql/replay/replay_quiet_steps.sql). The buckets
-- are bound from the longest window (3 days) back, and only run starts within that
-- reach can matter: an earlier start covers every window, so a tenant whose logs
-- flow since before the buckets read counts as covered. (A max_silence_minutes of
-- more than a day is read as at most the day before the 3 days.)
--
-- Ephemeral: a view for the models that read it, over the steps they bind.
with tenant_buckets as (
    select distinct
        int_sli_buckets.tenant_id,
        step_number(int_sli_buckets.bucket_start) as bucket_step
    from int_sli_buckets
    where int_sli_buckets.total > 0
    union
    -- A budget adjustment leaves requests out of the windows, not out of the logs: a
    -- maintenance window is not a silence, and does not restart the warm-up.
    select distinct
        int_sli_adjusted.tenant_id,
        step_number(int_sli_adjusted.bucket_start) as bucket_step
    from int_sli_adjusted
    where int_sli_adjusted.adjusted_total > 0
),

tenant_silences as (
    select
        slo_specs.tenant_id,
        min(slo_specs.max_silence_minutes) as max_silence_minutes
    from slo_specs
    group by slo_specs.tenant_id
),

bucket_gaps as (
    select
        tenant_buckets.tenant_id,
        tenant_buckets.bucket_step,
        -- Empty buckets between this bucket and the tenant's previous one.
        tenant_buckets.bucket_step - 1 - lag(tenant_buckets.bucket_step) over (
            partition by tenant_buckets.tenant_id order by tenant_buckets.bucket_step
        ) as empty_buckets_before
    from tenant_buckets
),

run_starts as (
    select
        bucket_gaps.tenant_id,
        bucket_gaps.bucket_step as run_start_step
    from bucket_gaps
    inner join tenant_silences
        on bucket_gaps.tenant_id = tenant_silences.tenant_id
    where bucket_gaps.empty_buckets_before is null
        or bucket_gaps.empty_buckets_before * 5 > tenant_silences.max_silence_minutes
),

tenant_steps as (
    select distinct
        fct_burn_rates.tenant_id,
        fct_burn_rates.eval_ts
    from fct_burn_rates
),

-- The run starts and the steps, in order of their step number; at the same number
-- a step comes first, as only the runs started before it count. A running max over
-- them finds each step's latest run start, where a join on run_start_step < step
-- paired every step with every earlier start (7.7 M pairs for a 500-tenant day).
tenant_events as (
    select
        tenant_steps.tenant_id,
        tenant_steps.eval_ts,
        step_number(tenant_steps.eval_ts) as event_step,
        cast(null as bigint) as run_start_step
    from tenant_steps
    union all
    select
        run_starts.tenant_id,
        cast(null as timestamp) as eval_ts,
        run_starts.run_start_step as event_step,
        run_starts.run_start_step
    from run_starts
),

-- Per tenant and step: the first step of its current run of logs (null: no logs yet),
-- the latest run start before it.
coverage as (
    select
        tenant_events.tenant_id,
        tenant_events.eval_ts,
        max(tenant_events.run_start_step) over (
            partition by tenant_events.tenant_id
            order by tenant_events.event_step, tenant_events.run_start_step nulls first
            rows between unbounded preceding and current row
        ) as run_start_step
    from tenant_events
),

final as (
    select
        coverage.tenant_id,
        coverage.eval_ts,
        coverage.run_start_step,
        -- Null while the tenant has no logs before the step.
        step_number(coverage.eval_ts) - coverage.run_start_step as covered_steps
    from coverage
    where coverage.eval_ts is not null
)

select * from final
