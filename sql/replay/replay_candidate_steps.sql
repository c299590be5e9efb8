-- replay_candidate_steps: the steps of each tenant SLO at which a rule of the
-- replayed policy could fire, and the step after each.
--
-- A rule fires only when its long and short windows both burn strictly faster
-- than its threshold (sql/facts/fct_alert_evaluations.sql), and with
-- min_denominator a window's burn is never above its plain burn rate. At a step
-- where no window of a tenant SLO burns faster than the lowest threshold of its
-- rules no rule fires, so the replay need not evaluate the rules there one by one
-- (replay_quiet_steps says what fct_alerts still needs of such steps). The step
-- after each candidate is kept too: an episode resolves at the first step that no
-- longer fires, and fct_alert_episodes finds that step among the evaluations.
with lowest_thresholds as (
    select
        alert_policy.tenant_id,
        alert_policy.slo_name,
        min(alert_policy.burn_threshold) as burn_threshold
    from alert_policy
    group by alert_policy.tenant_id, alert_policy.slo_name
),

could_fire as (
    select distinct
        fct_burn_rates.tenant_id,
        fct_burn_rates.slo_name,
        fct_burn_rates.eval_ts
    from fct_burn_rates
    inner join lowest_thresholds
        on fct_burn_rates.tenant_id = lowest_thresholds.tenant_id
        and fct_burn_rates.slo_name = lowest_thresholds.slo_name
    where fct_burn_rates.burn_rate > lowest_thresholds.burn_threshold
),

final as (
    select
        could_fire.tenant_id,
        could_fire.slo_name,
        could_fire.eval_ts
    from could_fire
    union
    select
        could_fire.tenant_id,
        could_fire.slo_name,
        could_fire.eval_ts + interval 5 minute as eval_ts
    from could_fire
)

select * from final
