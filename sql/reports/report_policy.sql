-- report_policy: the alert rules in force, one row per tenant SLO and rule.
--
-- alert_policy as it is, in the order of the report's burn-rate panels:
-- shortest windows (the fastest rules) first.
with final as (
    select
        alert_policy.tenant_id,
        alert_policy.slo_name,
        alert_policy.rule_name,
        alert_policy.severity,
        alert_policy.long_window,
        alert_policy.short_window,
        alert_policy.long_window_minutes,
        alert_policy.short_window_minutes,
        alert_policy.burn_threshold,
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
)

select * from final
order by tenant_id, slo_name, long_window_minutes, short_window_minutes, rule_name
