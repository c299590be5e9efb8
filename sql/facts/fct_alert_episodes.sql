-- fct_alert_episodes: one row per alert episode of a tenant SLO and rule.
--
-- An episode is a run of consecutive steps where the rule fires and is not
-- suppressed (a ticket is suppressed while a page of the same tenant SLO
-- fires, when the policy says so). It starts at the first such eval_ts and
-- resolves at the next step, which by construction no longer qualifies; while
-- that step has not been evaluated yet the episode is open (resolved_at is null).
with firing as (
    select
        fct_alert_evaluations.tenant_id,
        fct_alert_evaluations.slo_name,
        fct_alert_evaluations.rule_name,
        fct_alert_evaluations.severity,
        fct_alert_evaluations.long_window,
        fct_alert_evaluations.short_window,
        fct_alert_evaluations.burn_threshold,
        fct_alert_evaluations.eval_ts,
        fct_alert_evaluations.long_burn_rate,
        -- Consecutive steps share this value: step number minus rank.
        step_number(fct_alert_evaluations.eval_ts)
        - row_number() over (
            partition by
                fct_alert_evaluations.tenant_id,
                fct_alert_evaluations.slo_name,
                fct_alert_evaluations.rule_name
            order by fct_alert_evaluations.eval_ts
        ) as run_key
    from fct_alert_evaluations
    where fct_alert_evaluations.fires and not fct_alert_evaluations.suppressed
),

runs as (
    select
        firing.tenant_id,
        firing.slo_name,
        firing.rule_name,
        firing.run_key,
        any_value(firing.severity) as severity,
        any_value(firing.long_window) as long_window,
        any_value(firing.short_window) as short_window,
        any_value(firing.burn_threshold) as burn_threshold,
        min(firing.eval_ts) as started_at,
        max(firing.eval_ts) + interval 5 minute as next_step,
        max(firing.long_burn_rate) as peak_long_burn_rate
    from firing
    group by firing.tenant_id, firing.slo_name, firing.rule_name, firing.run_key
),

final as (
    select
        runs.tenant_id,
        runs.slo_name,
        runs.rule_name,
        runs.severity,
        runs.long_window,
        runs.short_window,
        runs.burn_threshold,
        runs.started_at,
        next_evaluation.eval_ts as resolved_at,
        runs.peak_long_burn_rate
    from runs
    left join fct_alert_evaluations as next_evaluation
        on runs.tenant_id = next_evaluation.tenant_id
        and runs.slo_name = next_evaluation.slo_name
        and runs.rule_name = next_evaluation.rule_name
        and runs.next_step = next_evaluation.eval_ts
)

select * from final
order by tenant_id, slo_name, started_at, rule_name
