-- alert_policy_cohort: the alert policy of the day in run_params with each rule's
-- threshold taken from cohort_thresholds (policy.thresholds: cohort).
--
-- A tenant SLO's rule takes the proposed threshold of its cohort, SLI kind and
-- rule (same windows) from the latest version whose effective_from is on or
-- before the day and whose confidence is high; without one, it keeps the
-- policy's own threshold. A proposal never lowers a tenant SLO's own threshold
-- (a tenant override may be stricter than its cohort's default): a cohort
-- threshold is a guard against noise, never a reason to page more. Every other
-- column of alert_policy passes through.
with versions as (
    select
        cohort_thresholds.cohort,
        cohort_thresholds.sli,
        cohort_thresholds.rule_name,
        cohort_thresholds.long_window,
        cohort_thresholds.short_window,
        cohort_thresholds.proposed_threshold,
        row_number() over (
            partition by
                cohort_thresholds.cohort,
                cohort_thresholds.sli,
                cohort_thresholds.rule_name,
                cohort_thresholds.long_window,
                cohort_thresholds.short_window
            order by cohort_thresholds.effective_from desc
        ) as recency
    from cohort_thresholds
    cross join run_params
    where cohort_thresholds.effective_from <= cast(run_params.partition_start as date)
        and cohort_thresholds.confidence = 'high'
),

final as (
    select
        -- Every column of alert_policy in its order, the threshold swapped: listed, not
        -- `* replace`, which Spark lacks (and `* exclude` would move the column last).
        alert_policy.tenant_id,
        alert_policy.slo_name,
        alert_policy.rule_name,
        alert_policy.severity,
        alert_policy.long_window,
        alert_policy.short_window,
        alert_policy.long_window_minutes,
        alert_policy.short_window_minutes,
        -- A derived threshold may raise a rule above its noise floor, never lower it
        -- below the rule's own (docs/cohort_thresholds.md).
        greatest(
            coalesce(versions.proposed_threshold, alert_policy.burn_threshold),
            alert_policy.burn_threshold
        ) as burn_threshold,
        alert_policy.budget_consumed_percent,
        alert_policy.period_days,
        alert_policy.objective,
        alert_policy.max_burn_rate,
        alert_policy.can_fire,
        alert_policy.min_events,
        alert_policy.min_denominator,
        alert_policy.suppress_tickets_while_paging,
        alert_policy.source,
        alert_policy.warm_up
    from alert_policy
    inner join slo_specs
        on alert_policy.tenant_id = slo_specs.tenant_id
        and alert_policy.slo_name = slo_specs.slo_name
    left join versions
        on slo_specs.cohort = versions.cohort
        and slo_specs.sli = versions.sli
        and alert_policy.rule_name = versions.rule_name
        and alert_policy.long_window = versions.long_window
        and alert_policy.short_window = versions.short_window
        and versions.recency = 1
)

select * from final
order by tenant_id, slo_name, rule_name
