-- report_contributors: what burned the budget, for the burn panel. One row per
-- alert, moment (its opening, its escalation) and top operation, as
-- fct_alert_contributors holds them, in the order the panel lists them.
with final as (
    select
        fct_alert_contributors.tenant_id,
        fct_alert_contributors.slo_name,
        fct_alert_contributors.started_at,
        fct_alert_contributors.basis,
        fct_alert_contributors.operation_rank,
        fct_alert_contributors.operation,
        fct_alert_contributors.rule_name,
        fct_alert_contributors.long_window,
        fct_alert_contributors.bad,
        fct_alert_contributors.total,
        fct_alert_contributors.window_bad,
        fct_alert_contributors.window_total,
        fct_alert_contributors.bad_share,
        fct_alert_contributors.request_share,
        fct_alert_contributors.standout_replicas,
        fct_alert_contributors.window_start,
        fct_alert_contributors.window_end
    from fct_alert_contributors
)

select * from final
order by tenant_id, slo_name, started_at, basis desc, operation_rank
