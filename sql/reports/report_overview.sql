-- report_overview: one row per tenant SLO with a budget, lowest budget left first.
--
-- The newest budget (report_budget_latest), the SLO's spec, the 1h window's
-- burn rate at its newest step (null when that window had no requests), and
-- the SLO's episode counts (0 when it has none).
with burn_1h as (
    select
        fct_burn_rates.tenant_id,
        fct_burn_rates.slo_name,
        fct_burn_rates.burn_rate
    from fct_burn_rates
    where fct_burn_rates."window" = '1h'
    qualify row_number() over (
        partition by fct_burn_rates.tenant_id, fct_burn_rates.slo_name
        order by fct_burn_rates.eval_ts desc
    ) = 1
),

episode_counts as (
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
        latest.tenant_id,
        latest.slo_name,
        slo_specs.cohort,
        slo_specs.sli,
        slo_specs.objective,
        slo_specs.period_days,
        latest.as_of,
        latest.total,
        latest.bad,
        latest.consumed,
        latest.remaining,
        latest.time_to_exhaustion,
        burn_1h.burn_rate as burn_rate_1h,
        coalesce(episode_counts.pages, 0) as pages,
        coalesce(episode_counts.tickets, 0) as tickets,
        coalesce(episode_counts.open_episodes, 0) as open_episodes
    from report_budget_latest as latest
    left join slo_specs
        on latest.tenant_id = slo_specs.tenant_id
        and latest.slo_name = slo_specs.slo_name
    left join burn_1h
        on latest.tenant_id = burn_1h.tenant_id
        and latest.slo_name = burn_1h.slo_name
    left join episode_counts
        on latest.tenant_id = episode_counts.tenant_id
        and latest.slo_name = episode_counts.slo_name
)

select * from final
order by remaining nulls last, tenant_id, slo_name
