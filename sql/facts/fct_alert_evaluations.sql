-- fct_alert_evaluations: per tenant SLO, step and policy rule, the burn rates
-- of the rule's long and short windows, whether the rule fires, its state and
-- whether a page suppresses it.
--
-- A rule fires when both windows burn strictly faster than its threshold and
-- its long window holds at least `min_events` requests; a window without
-- requests has no burn rate and never fires. With `min_denominator` set, a
-- window's burn is bad / max(total, min_denominator) / (1 - objective) over the
-- SLO's budgeting units (requests, or slices and bad slices for time-slice
-- methods, as in fct_burn_rates), so it is never above the plain burn rate
-- (docs/policies.md).
--
-- Warm-up (alert_policy.warm_up): a rule fires only once its long window lies
-- wholly within the tenant's current run of logs, so a 3-day window holding one
-- hour of requests never tickets. Where each tenant's current run of logs started
-- at each step is int_log_coverage's (sql/intermediate/int_log_coverage.sql).
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
-- Of the day before, only the steps where a rule can fire matter (the ticket runs
-- and pages below), and a rule fires only where both its windows burn faster than
-- its threshold, so above the policy's lowest threshold (with min_denominator a
-- burn is never above the plain one). The other steps of that day are left out
-- here: they change none of this model's rows.
-- The windows are paired on slo_key, a dense integer per tenant SLO
-- (int_slo_keys), rather than on tenant_id and slo_name: a tenth less for one
-- 500-tenant day timed alone, a few percent of the week's run (README, Benchmark).
with burn_rates as (
    select
        int_slo_keys.slo_key,
        fct_burn_rates.eval_ts,
        fct_burn_rates."window",
        fct_burn_rates.total,
        fct_burn_rates.bad,
        fct_burn_rates.burn_rate,
        fct_burn_rates.slices,
        fct_burn_rates.bad_slices
    from fct_burn_rates
    inner join int_slo_keys
        on fct_burn_rates.tenant_id = int_slo_keys.tenant_id
        and fct_burn_rates.slo_name = int_slo_keys.slo_name
    cross join run_params
    where fct_burn_rates.eval_ts >= run_params.partition_start
        or fct_burn_rates.burn_rate > (select min(alert_policy.burn_threshold) from alert_policy)
),

paired as (
    select
        int_slo_keys.slo_key,
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
            int_log_coverage.covered_steps >= alert_policy.long_window_minutes // 5, false
        ) as warmed_up,
        long_window.total as long_total,
        long_window.bad as long_bad,
        short_window.total as short_total,
        short_window.bad as short_bad,
        case
            when alert_policy.min_denominator is null then long_window.burn_rate
            -- Time-slice methods count slices, as burn_rate does; null without any.
            when long_window.slices is not null
                then case when long_window.slices > 0 then
                    (long_window.bad_slices / greatest(long_window.slices, alert_policy.min_denominator))
                    / ((100 - alert_policy.objective) / 100)
                end
            when long_window.total > 0
                then (long_window.bad / greatest(long_window.total, alert_policy.min_denominator))
                / ((100 - alert_policy.objective) / 100)
        end as long_burn_rate,
        case
            when alert_policy.min_denominator is null then short_window.burn_rate
            -- Time-slice methods count slices, as burn_rate does; null without any.
            when short_window.slices is not null
                then case when short_window.slices > 0 then
                    (short_window.bad_slices / greatest(short_window.slices, alert_policy.min_denominator))
                    / ((100 - alert_policy.objective) / 100)
                end
            when short_window.total > 0
                then (short_window.bad / greatest(short_window.total, alert_policy.min_denominator))
                / ((100 - alert_policy.objective) / 100)
        end as short_burn_rate
    from alert_policy
    inner join int_slo_keys
        on alert_policy.tenant_id = int_slo_keys.tenant_id
        and alert_policy.slo_name = int_slo_keys.slo_name
    inner join burn_rates as long_window
        on int_slo_keys.slo_key = long_window.slo_key
        and alert_policy.long_window = long_window."window"
    -- Every step of fct_burn_rates has a row for every window, so this finds the
    -- short window of each step of the day (of the day before, it may be left out
    -- above: that step cannot fire). Written as an inner join, DuckDB paired
    -- every two windows of each step first (49 pairs of 7 windows) and took 1.6
    -- times as long (README, Benchmark).
    left join burn_rates as short_window
        on long_window.slo_key = short_window.slo_key
        and long_window.eval_ts = short_window.eval_ts
        and alert_policy.short_window = short_window."window"
    left join int_log_coverage
        on alert_policy.tenant_id = int_log_coverage.tenant_id
        and long_window.eval_ts = int_log_coverage.eval_ts
),

evaluated as (
    select
        paired.slo_key,
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
        true as any_page_fires
    from evaluated
    -- Only the steps where a page fires: the others are no page, as no row is.
    where evaluated.severity = 'page' and evaluated.fires
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
)

-- No `final` CTE: this select orders by slo_key, which it does not output (the
-- registry's sort_key; int_slo_keys numbers it in the key's order).
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
order by slo_key, eval_ts, rule_name
