-- report_episodes: one row per alert episode, oldest first.
--
-- fct_alert_episodes as it is (resolved_at null: still open at the end of
-- the data), in the order of the report's episode table.
with final as (
    select
        fct_alert_episodes.tenant_id,
        fct_alert_episodes.slo_name,
        fct_alert_episodes.rule_name,
        fct_alert_episodes.severity,
        fct_alert_episodes.long_window,
        fct_alert_episodes.short_window,
        fct_alert_episodes.burn_threshold,
        fct_alert_episodes.started_at,
        fct_alert_episodes.resolved_at,
        fct_alert_episodes.peak_long_burn_rate
    from fct_alert_episodes
)

select * from final
order by started_at, tenant_id, slo_name, rule_name
