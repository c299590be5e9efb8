-- report_summary_episodes: one row per alert episode, as the run summary lists it.
--
-- The report's episodes (report_episodes, oldest first), with the peak
-- long-window burn rounded to 2 decimals for reading.
with final as (
    select
        report_episodes.tenant_id,
        report_episodes.slo_name,
        report_episodes.rule_name,
        report_episodes.severity,
        report_episodes.started_at,
        report_episodes.resolved_at,
        round(report_episodes.peak_long_burn_rate, 2) as peak_burn
    from report_episodes
)

select * from final
order by started_at, tenant_id, slo_name, rule_name
