-- fct_alert_evaluations: per tenant SLO, step and policy rule, the burn rates
-- of the rule's long and short windows and whether the rule fires.
--
-- A rule fires when both windows burn strictly faster than its threshold; a
-- window without requests has no burn rate and never fires.
with final as (
    select
        alert_policy.tenant_id,
        alert_policy.slo_name,
        long_window.eval_ts,
        alert_policy.rule_name,
        alert_policy.severity,
        alert_policy.long_window,
        alert_policy.short_window,
        alert_policy.burn_threshold,
        long_window.total as long_total,
        long_window.bad as long_bad,
        long_window.burn_rate as long_burn_rate,
        short_window.total as short_total,
        short_window.bad as short_bad,
        short_window.burn_rate as short_burn_rate,
        coalesce(
            long_window.burn_rate > alert_policy.burn_threshold
            and short_window.burn_rate > alert_policy.burn_threshold,
            false
        ) as fires
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
)

select * from final
order by tenant_id, slo_name, eval_ts, rule_name
