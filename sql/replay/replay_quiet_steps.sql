-- replay_quiet_steps: the steps of the day outside replay_candidate_steps that
-- fct_alerts counts as quiet, for the replay.
--
-- No rule fires at such a step, so fct_alerts needs to know only whether it is
-- judged at all: whether some rule of the tenant SLO has requests in both of its
-- windows and, with warm_up, a long window within the tenant's current run of
-- logs (a state other than no_data or warming_up, as sql/facts/fct_alert_evaluations.sql
-- computes it; a step where every rule is no_data or warming_up neither fires nor
-- resolves an alert). Both windows end at the step, so the shorter lies within the
-- longer: both hold requests when the shorter does.
--
-- replay_candidate_steps holds the candidate steps of this day and of the days
-- replayed before it. Only tenant SLOs with one have quiet steps here: before a
-- tenant SLO's first candidate step no rule has fired, so no alert is open for a
-- quiet step to resolve, and fct_alerts reads such a step as it reads no row at all.
-- On quiet history that leaves out nearly every step.
with candidate_slos as (
    select distinct
        replay_candidate_steps.tenant_id,
        replay_candidate_steps.slo_name
    from replay_candidate_steps
),

rule_shapes as (
    select distinct
        alert_policy.tenant_id,
        alert_policy.slo_name,
        case
            when alert_policy.short_window_minutes <= alert_policy.long_window_minutes
                then alert_policy.short_window
            else alert_policy.long_window
        end as shorter_window,
        alert_policy.long_window_minutes,
        alert_policy.warm_up
    from alert_policy
    inner join candidate_slos
        on alert_policy.tenant_id = candidate_slos.tenant_id
        and alert_policy.slo_name = candidate_slos.slo_name
),

judged as (
    select distinct
        fct_burn_rates.tenant_id,
        fct_burn_rates.slo_name,
        fct_burn_rates.eval_ts
    from fct_burn_rates
    inner join rule_shapes
        on fct_burn_rates.tenant_id = rule_shapes.tenant_id
        and fct_burn_rates.slo_name = rule_shapes.slo_name
        and fct_burn_rates."window" = rule_shapes.shorter_window
    left join int_log_coverage
        on fct_burn_rates.tenant_id = int_log_coverage.tenant_id
        and fct_burn_rates.eval_ts = int_log_coverage.eval_ts
    cross join run_params
    where fct_burn_rates.total > 0
        and fct_burn_rates.eval_ts >= run_params.partition_start
        and fct_burn_rates.eval_ts < run_params.partition_end
        and (
            not rule_shapes.warm_up
            or coalesce(
                int_log_coverage.covered_steps >= rule_shapes.long_window_minutes // 5, false
            )
        )
),

final as (
    select
        judged.tenant_id,
        judged.slo_name,
        judged.eval_ts
    from judged
    left join replay_candidate_steps
        on judged.tenant_id = replay_candidate_steps.tenant_id
        and judged.slo_name = replay_candidate_steps.slo_name
        and judged.eval_ts = replay_candidate_steps.eval_ts
    where replay_candidate_steps.eval_ts is null
)

select * from final
