-- fct_alerts: one row per alert of a tenant SLO, the incident as people receive it.
--
-- fct_alert_episodes keeps one episode per rule; here a tenant SLO's rules are
-- grouped (Prometheus keep_firing_for, Nobl9's cooldown):
--
-- - The first step where any rule fires opens an alert, at the severity of the
--   most severe rule firing then; the opening rule is that rule (the first by name).
-- - The alert stays open while any rule fires, and for a cooldown after: it
--   resolves at the first step r at which no rule fires and, for each severity s,
--   the last step a rule of s fired is at least alert_params.<s>_cooldown_minutes
--   before r. With cooldowns of 0 it resolves at the first quiet step, as an episode.
-- - Its severity at a step is page while a page rule fired within the page
--   cooldown (at least that step), else ticket. Ticket -> page is an escalation;
--   page -> ticket a step down; both are updates of the same alert, never a new one.
-- - A step at which every rule is no_data (no requests in a window) or warming_up (its
--   long window reaches before the logs began or came back) neither fires nor counts
--   as quiet: missing logs never resolve an alert. Steps past a tenant's horizon
--   are not evaluated, so an alert firing or cooling down there stays open.
--
-- Since a resolution needs every severity's cooldown to have run out, the last
-- fire before an alert opens is always more than a cooldown back: the running
-- "last fire" per severity may be taken over all earlier steps, not only the alert's.
--
-- Only a tenant SLO's steps from its first firing step on are read: before it, and
-- at every step of a tenant SLO that never fires, the state below is 'none', which
-- opens, resolves and numbers nothing, and which the lags below read as they read
-- no row at all (not 'open', not paging). So the cost follows the tenant SLOs that
-- fire, not every tenant's steps (a 500-tenant week: 2.7 s to 0.06 s alone).
with first_fires as (
    select
        fct_alert_evaluations.tenant_id,
        fct_alert_evaluations.slo_name,
        min(fct_alert_evaluations.eval_ts) as first_fired_at
    from fct_alert_evaluations
    where fct_alert_evaluations.fires
    group by fct_alert_evaluations.tenant_id, fct_alert_evaluations.slo_name
),

judged as (
    select
        fct_alert_evaluations.tenant_id,
        fct_alert_evaluations.slo_name,
        fct_alert_evaluations.eval_ts,
        step_number(fct_alert_evaluations.eval_ts) as step,
        bool_or(fct_alert_evaluations.fires and fct_alert_evaluations.severity = 'page')
            as page_fires,
        bool_or(fct_alert_evaluations.fires and fct_alert_evaluations.severity = 'ticket')
            as ticket_fires,
        max(fct_alert_evaluations.long_burn_rate) filter (where fct_alert_evaluations.fires)
            as peak_long_burn_rate
    from fct_alert_evaluations
    inner join first_fires
        on fct_alert_evaluations.tenant_id = first_fires.tenant_id
        and fct_alert_evaluations.slo_name = first_fires.slo_name
        and fct_alert_evaluations.eval_ts >= first_fires.first_fired_at
    where fct_alert_evaluations.state not in ('no_data', 'warming_up')
    group by fct_alert_evaluations.tenant_id, fct_alert_evaluations.slo_name,
        fct_alert_evaluations.eval_ts
),

last_fires as (
    select
        judged.tenant_id,
        judged.slo_name,
        judged.eval_ts,
        judged.step,
        judged.page_fires,
        judged.ticket_fires,
        judged.peak_long_burn_rate,
        max(case when judged.page_fires then judged.step end) over (
            partition by judged.tenant_id, judged.slo_name
            order by judged.eval_ts
            rows between unbounded preceding and current row
        ) as last_page_step,
        max(case when judged.ticket_fires then judged.step end) over (
            partition by judged.tenant_id, judged.slo_name
            order by judged.eval_ts
            rows between unbounded preceding and current row
        ) as last_ticket_step
    from judged
),

states as (
    select
        last_fires.tenant_id,
        last_fires.slo_name,
        last_fires.eval_ts,
        last_fires.page_fires or last_fires.ticket_fires as fires,
        last_fires.peak_long_burn_rate,
        case
            when last_fires.page_fires or last_fires.ticket_fires then 'open'
            when last_fires.last_page_step is null and last_fires.last_ticket_step is null
                then 'none'
            when coalesce(
                    last_fires.step
                    >= last_fires.last_page_step + alert_params.page_cooldown_minutes // 5,
                    true
                )
                and coalesce(
                    last_fires.step
                    >= last_fires.last_ticket_step + alert_params.ticket_cooldown_minutes // 5,
                    true
                )
                then 'closed'
            else 'open'
        end as state,
        -- A page fired at this step or within the page cooldown before it.
        coalesce(
            last_fires.step
            < last_fires.last_page_step + greatest(alert_params.page_cooldown_minutes // 5, 1),
            false
        ) as paging
    from last_fires
    cross join alert_params
),

changes as (
    select
        states.tenant_id,
        states.slo_name,
        states.eval_ts,
        states.fires,
        states.peak_long_burn_rate,
        states.state,
        states.paging,
        states.fires
        and coalesce(
            lag(states.state) over (
                partition by states.tenant_id, states.slo_name order by states.eval_ts
            ) <> 'open',
            true
        ) as opens,
        states.state = 'closed'
        and coalesce(
            lag(states.state) over (
                partition by states.tenant_id, states.slo_name order by states.eval_ts
            ) = 'open',
            false
        ) as resolves,
        coalesce(
            lag(states.paging) over (
                partition by states.tenant_id, states.slo_name order by states.eval_ts
            ),
            false
        ) as was_paging
    from states
),

numbered as (
    select
        changes.tenant_id,
        changes.slo_name,
        changes.eval_ts,
        changes.fires,
        changes.peak_long_burn_rate,
        changes.state,
        changes.paging,
        changes.opens,
        changes.resolves,
        changes.paging and changes.state = 'open' and not changes.was_paging
        and not changes.opens as escalates,
        not changes.paging and changes.state = 'open' and changes.was_paging as steps_down,
        sum(case when changes.opens then 1 else 0 end) over (
            partition by changes.tenant_id, changes.slo_name
            order by changes.eval_ts
            rows between unbounded preceding and current row
        ) as alert_number
    from changes
),

member_steps as (
    select
        numbered.tenant_id,
        numbered.slo_name,
        numbered.eval_ts,
        numbered.fires,
        numbered.peak_long_burn_rate,
        numbered.state,
        numbered.paging,
        numbered.opens,
        numbered.resolves,
        numbered.escalates,
        numbered.steps_down,
        numbered.alert_number
    from numbered
    where numbered.state = 'open' or numbered.resolves
),

-- Every firing rule row of an alert, ranked for "the rule that opened it" (most
-- severe at the first step, then by name) and "the page rule that escalated it".
firing_rules as (
    select
        member_steps.tenant_id,
        member_steps.slo_name,
        member_steps.alert_number,
        fct_alert_evaluations.eval_ts,
        fct_alert_evaluations.rule_name,
        fct_alert_evaluations.severity,
        fct_alert_evaluations.long_window,
        fct_alert_evaluations.short_window,
        fct_alert_evaluations.burn_threshold,
        row_number() over (
            partition by member_steps.tenant_id, member_steps.slo_name, member_steps.alert_number
            order by
                fct_alert_evaluations.eval_ts,
                case fct_alert_evaluations.severity when 'page' then 0 else 1 end,
                fct_alert_evaluations.rule_name
        ) as opening_rank,
        row_number() over (
            partition by
                member_steps.tenant_id,
                member_steps.slo_name,
                member_steps.alert_number,
                fct_alert_evaluations.severity
            order by fct_alert_evaluations.eval_ts, fct_alert_evaluations.rule_name
        ) as severity_rank
    from member_steps
    inner join fct_alert_evaluations
        on member_steps.tenant_id = fct_alert_evaluations.tenant_id
        and member_steps.slo_name = fct_alert_evaluations.slo_name
        and member_steps.eval_ts = fct_alert_evaluations.eval_ts
    where fct_alert_evaluations.fires
),

alerts as (
    select
        member_steps.tenant_id,
        member_steps.slo_name,
        member_steps.alert_number,
        min(member_steps.eval_ts) as started_at,
        max(member_steps.eval_ts) filter (where member_steps.fires) as last_fired_at,
        max(member_steps.eval_ts) filter (where member_steps.resolves) as resolved_at,
        max(member_steps.eval_ts) filter (where member_steps.steps_down) as stepped_down_at,
        count(*) filter (where member_steps.escalates) as escalations,
        count(*) filter (where member_steps.fires) as firing_steps,
        max(member_steps.eval_ts) filter (where member_steps.state = 'open' and member_steps.paging)
            as last_paging_at,
        max(member_steps.eval_ts)
            filter (where member_steps.state = 'open' and not member_steps.paging)
            as last_ticketing_at,
        max(member_steps.peak_long_burn_rate) as peak_long_burn_rate
    from member_steps
    group by member_steps.tenant_id, member_steps.slo_name, member_steps.alert_number
),

rule_lists as (
    select
        firing_rules.tenant_id,
        firing_rules.slo_name,
        firing_rules.alert_number,
        string_agg(distinct firing_rules.rule_name, ',' order by firing_rules.rule_name)
            as rules
    from firing_rules
    group by firing_rules.tenant_id, firing_rules.slo_name, firing_rules.alert_number
),

final as (
    select
        alerts.tenant_id,
        alerts.slo_name,
        alerts.started_at,
        opening.severity as opened_severity,
        case
            when alerts.last_ticketing_at is null then 'page'
            when alerts.last_paging_at > alerts.last_ticketing_at then 'page'
            else 'ticket'
        end as severity,
        case when alerts.last_paging_at is null then 'ticket' else 'page' end as peak_severity,
        opening.rule_name as opened_rule,
        opening.long_window as opened_long_window,
        opening.short_window as opened_short_window,
        opening.burn_threshold as opened_burn_threshold,
        escalation.rule_name as escalated_rule,
        escalation.long_window as escalated_long_window,
        escalation.short_window as escalated_short_window,
        escalation.burn_threshold as escalated_burn_threshold,
        rule_lists.rules,
        alerts.escalations,
        alerts.firing_steps,
        alerts.peak_long_burn_rate,
        escalation.eval_ts as escalated_at,
        alerts.stepped_down_at,
        alerts.last_fired_at,
        alerts.resolved_at
    from alerts
    inner join firing_rules as opening
        on alerts.tenant_id = opening.tenant_id
        and alerts.slo_name = opening.slo_name
        and alerts.alert_number = opening.alert_number
        and opening.opening_rank = 1
    inner join rule_lists
        on alerts.tenant_id = rule_lists.tenant_id
        and alerts.slo_name = rule_lists.slo_name
        and alerts.alert_number = rule_lists.alert_number
    -- The first page rule of an alert that opened as a ticket is its escalation.
    left join firing_rules as escalation
        on alerts.tenant_id = escalation.tenant_id
        and alerts.slo_name = escalation.slo_name
        and alerts.alert_number = escalation.alert_number
        and escalation.severity = 'page'
        and escalation.severity_rank = 1
        and opening.severity = 'ticket'
)

select * from final
order by tenant_id, slo_name, started_at
