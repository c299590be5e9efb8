-- report_overview: one row per tenant SLO, most urgent first: paging, then ticketing,
-- then no data, then the least budget left (urgency_rank: schemas/tables.py STATUS_URGENCY).
--
-- The SLO's status (fct_slo_status: state, budget, 1h burn and open alerts at
-- the tenant's as_of), its spec, and its episode counts over the lake (0 when it
-- has none). budget_remaining_percent is null when there is no traffic or no
-- step yet; time_to_exhaustion_hours null: not within the period.
with episode_counts as (
    select
        fct_alert_episodes.tenant_id,
        fct_alert_episodes.slo_name,
        count(*) filter (where fct_alert_episodes.severity = 'page') as pages,
        count(*) filter (where fct_alert_episodes.severity = 'ticket') as tickets,
        count(*) filter (where fct_alert_episodes.resolved_at is null) as open_episodes
    from fct_alert_episodes
    group by fct_alert_episodes.tenant_id, fct_alert_episodes.slo_name
),

final as (
    select
        fct_slo_status.tenant_id,
        fct_slo_status.slo_name,
        slo_specs.cohort,
        slo_specs.sli,
        fct_slo_status.state,
        urgency_rank(fct_slo_status.state) as urgency,
        fct_slo_status.open_alerts,
        slo_specs.objective,
        slo_specs.period_days,
        fct_slo_status.budget_remaining_percent,
        fct_slo_status.time_to_exhaustion_hours,
        fct_slo_status.burn_rate_1h,
        fct_slo_status.burn_rate_1d,
        coalesce(episode_counts.pages, 0) as pages,
        coalesce(episode_counts.tickets, 0) as tickets,
        coalesce(episode_counts.open_episodes, 0) as open_episodes,
        fct_slo_status.as_of,
        fct_slo_status.open_since
    from fct_slo_status
    left join slo_specs
        on fct_slo_status.tenant_id = slo_specs.tenant_id
        and fct_slo_status.slo_name = slo_specs.slo_name
    left join episode_counts
        on fct_slo_status.tenant_id = episode_counts.tenant_id
        and fct_slo_status.slo_name = episode_counts.slo_name
)

select * from final
order by
    final.urgency,
    final.budget_remaining_percent nulls last,
    final.tenant_id,
    final.slo_name
