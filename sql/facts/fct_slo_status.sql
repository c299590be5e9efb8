-- fct_slo_status: one row per tenant SLO of slo_specs, what is happening now: the
-- table people read first (the summary, the report's overview, `burnwatch run`).
--
-- as_of is the tenant's evaluation point: its last evaluated step
-- (int_tenant_horizons.evaluated_until), or the run's horizon for a tenant that
-- was never evaluated (no logs yet); every figure below is the one at as_of.
-- state is the first of these that holds:
--   no_data      the tenant is silent (its logs lag the horizon by more than
--                max_silence_minutes) or was never evaluated: silence is not
--                health. Its open alerts are still listed: they are frozen.
--   page         a page episode is open (fct_alert_episodes.resolved_at null);
--   ticket       a ticket episode is open;
--   low_traffic  a rule of the SLO could not judge its windows at as_of
--                (fct_alert_evaluations.state low_traffic, warming_up, or no_data:
--                a window without requests), so a quiet "ok" would claim too much;
--   ok           otherwise.
-- budget_remaining_percent and time_to_exhaustion_hours are fct_error_budget's
-- at as_of (the exhaustion at the 1d burn; null: not within the period); burn_rate_<window> is
-- fct_burn_rates' burn at as_of, one column per window of
-- schemas.manifest.WINDOW_MINUTES (a test holds the labels written here to it),
-- null when the window had no requests. open_alerts lists the open episodes'
-- rules, oldest first; open_since is the oldest start. report_link is the SLO's
-- anchor in the report page, url-encoded as the page's own links (`/` kept).
-- The builder binds the daily facts for the days of the tenants' as_of only, so
-- a cycle's cost does not grow with history.
with evaluation_points as (
    select
        slo_specs.tenant_id,
        slo_specs.slo_name,
        coalesce(int_tenant_horizons.evaluated_until, int_tenant_horizons.horizon) as as_of,
        int_tenant_horizons.data_until,
        coalesce(
            int_tenant_horizons.silent or int_tenant_horizons.evaluated_until is null, true
        ) as silent
    from slo_specs
    left join int_tenant_horizons
        on slo_specs.tenant_id = int_tenant_horizons.tenant_id
),

budgets as (
    select
        fct_error_budget.tenant_id,
        fct_error_budget.slo_name,
        fct_error_budget.budget_remaining_percent,
        fct_error_budget.time_to_exhaustion_hours
    from fct_error_budget
    inner join evaluation_points
        on fct_error_budget.tenant_id = evaluation_points.tenant_id
        and fct_error_budget.slo_name = evaluation_points.slo_name
        and fct_error_budget.eval_ts = evaluation_points.as_of
),

burns as (
    select
        fct_burn_rates.tenant_id,
        fct_burn_rates.slo_name,
        max(fct_burn_rates.burn_rate) filter (where fct_burn_rates."window" = '5m')
            as burn_rate_5m,
        max(fct_burn_rates.burn_rate) filter (where fct_burn_rates."window" = '30m')
            as burn_rate_30m,
        max(fct_burn_rates.burn_rate) filter (where fct_burn_rates."window" = '1h')
            as burn_rate_1h,
        max(fct_burn_rates.burn_rate) filter (where fct_burn_rates."window" = '2h')
            as burn_rate_2h,
        max(fct_burn_rates.burn_rate) filter (where fct_burn_rates."window" = '6h')
            as burn_rate_6h,
        max(fct_burn_rates.burn_rate) filter (where fct_burn_rates."window" = '1d')
            as burn_rate_1d,
        max(fct_burn_rates.burn_rate) filter (where fct_burn_rates."window" = '3d')
            as burn_rate_3d
    from fct_burn_rates
    inner join evaluation_points
        on fct_burn_rates.tenant_id = evaluation_points.tenant_id
        and fct_burn_rates.slo_name = evaluation_points.slo_name
        and fct_burn_rates.eval_ts = evaluation_points.as_of
    group by fct_burn_rates.tenant_id, fct_burn_rates.slo_name
),

rule_states as (
    select
        fct_alert_evaluations.tenant_id,
        fct_alert_evaluations.slo_name,
        bool_or(fct_alert_evaluations.state in ('low_traffic', 'no_data', 'warming_up'))
            as low_traffic
    from fct_alert_evaluations
    inner join evaluation_points
        on fct_alert_evaluations.tenant_id = evaluation_points.tenant_id
        and fct_alert_evaluations.slo_name = evaluation_points.slo_name
        and fct_alert_evaluations.eval_ts = evaluation_points.as_of
    group by fct_alert_evaluations.tenant_id, fct_alert_evaluations.slo_name
),

open_episodes as (
    select
        fct_alert_episodes.tenant_id,
        fct_alert_episodes.slo_name,
        string_agg(
            fct_alert_episodes.rule_name, ', '
            order by fct_alert_episodes.started_at, fct_alert_episodes.rule_name
        ) as open_alerts,
        min(fct_alert_episodes.started_at) as open_since,
        bool_or(fct_alert_episodes.severity = 'page') as paging
    from fct_alert_episodes
    inner join evaluation_points
        on fct_alert_episodes.tenant_id = evaluation_points.tenant_id
        and fct_alert_episodes.slo_name = evaluation_points.slo_name
    where fct_alert_episodes.resolved_at is null
        and fct_alert_episodes.started_at <= evaluation_points.as_of
    group by fct_alert_episodes.tenant_id, fct_alert_episodes.slo_name
),

final as (
    select
        evaluation_points.tenant_id,
        evaluation_points.slo_name,
        case
            when evaluation_points.silent then 'no_data'
            when open_episodes.paging then 'page'
            when open_episodes.open_alerts is not null then 'ticket'
            when rule_states.low_traffic then 'low_traffic'
            else 'ok'
        end as state,
        case
            when open_episodes.paging then 'page'
            when open_episodes.open_alerts is not null then 'ticket'
        end as open_severity,
        open_episodes.open_alerts,
        budgets.budget_remaining_percent,
        budgets.time_to_exhaustion_hours,
        burns.burn_rate_5m,
        burns.burn_rate_30m,
        burns.burn_rate_1h,
        burns.burn_rate_2h,
        burns.burn_rate_6h,
        burns.burn_rate_1d,
        burns.burn_rate_3d,
        evaluation_points.as_of,
        evaluation_points.data_until,
        open_episodes.open_since,
        'reports/report.html#burn=' || replace(
            url_encode(evaluation_points.tenant_id || '/' || evaluation_points.slo_name),
            '%2F',
            '/'
        ) as report_link
    from evaluation_points
    left join budgets
        on evaluation_points.tenant_id = budgets.tenant_id
        and evaluation_points.slo_name = budgets.slo_name
    left join burns
        on evaluation_points.tenant_id = burns.tenant_id
        and evaluation_points.slo_name = burns.slo_name
    left join rule_states
        on evaluation_points.tenant_id = rule_states.tenant_id
        and evaluation_points.slo_name = rule_states.slo_name
    left join open_episodes
        on evaluation_points.tenant_id = open_episodes.tenant_id
        and evaluation_points.slo_name = open_episodes.slo_name
)

select * from final
order by tenant_id, slo_name
