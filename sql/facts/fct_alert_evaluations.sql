-- fct_alert_evaluations: per tenant SLO, step and policy rule, the burn rates
-- of the rule's long and short windows, whether the rule fires, its state and
-- whether a page suppresses it.
--
-- A rule fires when both windows burn strictly faster than its threshold and
-- its long window holds at least `min_events` requests; a window without
-- requests has no burn rate and never fires. With `min_denominator` set, a
-- window's burn is bad / max(total, min_denominator) / (1 - objective), which
-- is never above the plain burn rate (docs/policies.md).
--
-- Warm-up (alert_policy.warm_up): a rule fires only once its long window lies
-- wholly within the tenant's current run of logs, so a 3-day window holding one
-- hour of requests never tickets. A run of logs starts at the tenant's first
-- bucket with requests (of any of its SLOs, int_sli_buckets, or left out by a budget
-- adjustment, int_sli_adjusted) and again at the
-- first bucket after a no_data gap: more than max_silence_minutes of empty buckets
-- (slo_specs, the tenant's smallest). The window [t - w, t) is covered when the
-- latest run that started before t started at or before t - w. The buckets are
-- bound from the longest window (3 days) back, and only run starts within that
-- reach can matter: an earlier start covers every window, so a tenant whose logs
-- flow since before the buckets read counts as covered. (A max_silence_minutes of
-- more than a day is read as at most the day before the 3 days.)
--
-- state: 'no_data' when either window has no requests, else 'warming_up' when
-- the long window is not yet covered (warm_up on), else 'low_traffic' when the
-- long window is below `min_events`, else 'firing' or 'ok'.
--
-- suppressed (when the policy suppresses tickets while paging): a firing
-- ticket step while a page rule of the same tenant SLO fires, unless the
-- ticket was already firing unsuppressed at the step before: a ticket that is
-- open when the page starts stays open (it escalates), one that would open
-- during the page does not, until a step without a page. fct_burn_rates may
-- be bound for the day and the day before (rows are written for the day of
-- run_params only), so a ticket's run of firing steps is followed back across
-- midnight (one day; docs/policies.md).
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

-- Per tenant and step: the first step of its current run of logs (null: no logs yet).
coverage as (
    select
        tenant_steps.tenant_id,
        tenant_steps.eval_ts,
        max(run_starts.run_start_step) as run_start_step
    from tenant_steps
    left join run_starts
        on tenant_steps.tenant_id = run_starts.tenant_id
        and run_starts.run_start_step < step_number(tenant_steps.eval_ts)
    group by tenant_steps.tenant_id, tenant_steps.eval_ts
),

paired as (
    select
        alert_policy.tenant_id,
        alert_policy.slo_name,
        long_window.eval_ts,
        alert_policy.rule_name,
        alert_policy.severity,
        alert_policy.long_window,
        alert_policy.short_window,
        alert_policy.burn_threshold,
        alert_policy.min_events,
        alert_policy.suppress_tickets_while_paging,
        not alert_policy.warm_up
        or coalesce(
            coverage.run_start_step
            <= step_number(long_window.eval_ts) - alert_policy.long_window_minutes // 5,
            false
        ) as warmed_up,
        long_window.total as long_total,
        long_window.bad as long_bad,
        short_window.total as short_total,
        short_window.bad as short_bad,
        case
            when alert_policy.min_denominator is null then long_window.burn_rate
            when long_window.total > 0
                then (long_window.bad / greatest(long_window.total, alert_policy.min_denominator))
                / ((100 - alert_policy.objective) / 100)
        end as long_burn_rate,
        case
            when alert_policy.min_denominator is null then short_window.burn_rate
            when short_window.total > 0
                then (short_window.bad / greatest(short_window.total, alert_policy.min_denominator))
                / ((100 - alert_policy.objective) / 100)
        end as short_burn_rate
    from alert_policy
    inner join fct_burn_rates as long_window
        on alert_policy.tenant_id = long_window.tenant_id
        and alert_policy.slo_name = long_window.slo_name
        and alert_policy.long_window = long_window."window"
    inner join fct_burn_rates as short_window
        on long_window.tenant_id = short_window.tenant_id
        and long_window.slo_name = short_window.slo_name
        and long_window.eval_ts = short_window.eval_ts
        and alert_policy.short_window = short_window."window"
    left join coverage
        on long_window.tenant_id = coverage.tenant_id
        and long_window.eval_ts = coverage.eval_ts
),

evaluated as (
    select
        paired.tenant_id,
        paired.slo_name,
        paired.eval_ts,
        paired.rule_name,
        paired.severity,
        paired.long_window,
        paired.short_window,
        paired.burn_threshold,
        paired.suppress_tickets_while_paging,
        paired.long_total,
        paired.long_bad,
        paired.long_burn_rate,
        paired.short_total,
        paired.short_bad,
        paired.short_burn_rate,
        coalesce(
            paired.long_burn_rate > paired.burn_threshold
            and paired.short_burn_rate > paired.burn_threshold,
            false
        ) and paired.long_total >= paired.min_events and paired.warmed_up as fires,
        case
            when paired.long_total = 0 or paired.short_total = 0 then 'no_data'
            when not paired.warmed_up then 'warming_up'
            when paired.long_total < paired.min_events then 'low_traffic'
        end as guard_state
    from paired
),

paging as (
    select
        evaluated.tenant_id,
        evaluated.slo_name,
        evaluated.eval_ts,
        bool_or(evaluated.fires) as any_page_fires
    from evaluated
    where evaluated.severity = 'page'
    group by evaluated.tenant_id, evaluated.slo_name, evaluated.eval_ts
),

ticket_runs as (
    select
        evaluated.tenant_id,
        evaluated.slo_name,
        evaluated.rule_name,
        evaluated.eval_ts,
        coalesce(paging.any_page_fires, false) as any_page_fires,
        -- Consecutive firing steps share this value: step number minus rank.
        step_number(evaluated.eval_ts)
        - row_number() over (
            partition by evaluated.tenant_id, evaluated.slo_name, evaluated.rule_name
            order by evaluated.eval_ts
        ) as run_key
    from evaluated
    left join paging
        on evaluated.tenant_id = paging.tenant_id
        and evaluated.slo_name = paging.slo_name
        and evaluated.eval_ts = paging.eval_ts
    where evaluated.severity = 'ticket' and evaluated.fires
),

ticket_suppression as (
    select
        ticket_runs.tenant_id,
        ticket_runs.slo_name,
        ticket_runs.rule_name,
        ticket_runs.eval_ts,
        ticket_runs.any_page_fires,
        -- The run's first step without a page: the ticket's episode opens there.
        min(ticket_runs.eval_ts) filter (where not ticket_runs.any_page_fires) over (
            partition by
                ticket_runs.tenant_id, ticket_runs.slo_name, ticket_runs.rule_name,
                ticket_runs.run_key
        ) as first_unpaged_ts
    from ticket_runs
),

final as (
    select
        evaluated.tenant_id,
        evaluated.slo_name,
        evaluated.eval_ts,
        evaluated.rule_name,
        evaluated.severity,
        evaluated.long_window,
        evaluated.short_window,
        evaluated.burn_threshold,
        evaluated.long_total,
        evaluated.long_bad,
        evaluated.long_burn_rate,
        evaluated.short_total,
        evaluated.short_bad,
        evaluated.short_burn_rate,
        evaluated.fires,
        coalesce(
            evaluated.guard_state, case when evaluated.fires then 'firing' else 'ok' end
        ) as state,
        coalesce(
            evaluated.suppress_tickets_while_paging
            and ticket_suppression.any_page_fires
            and (
                ticket_suppression.first_unpaged_ts is null
                or evaluated.eval_ts < ticket_suppression.first_unpaged_ts
            ),
            false
        ) as suppressed
    from evaluated
    left join ticket_suppression
        on evaluated.tenant_id = ticket_suppression.tenant_id
        and evaluated.slo_name = ticket_suppression.slo_name
        and evaluated.rule_name = ticket_suppression.rule_name
        and evaluated.eval_ts = ticket_suppression.eval_ts
    cross join run_params
    -- Only the day computed: the burn rates of the day before are bound for the
    -- ticket runs above, and their steps are not this partition's.
    where evaluated.eval_ts >= run_params.partition_start
        and evaluated.eval_ts < run_params.partition_end
)

select * from final
order by tenant_id, slo_name, eval_ts, rule_name
