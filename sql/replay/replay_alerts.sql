-- replay_alerts: every grouped alert (sql/facts/fct_alerts.sql) of every replayed
-- policy, with the incidents it overlaps: what on-call would have received.
--
-- An alert covers [started_at, resolved_at), or up to the end of the replay range
-- while it is still open. It matches an incident of the same tenant (and SLO, when
-- the incident names one) when it overlaps the incident widened by a grace of its
-- opening rule's long window after its end, as replay_episodes matches an episode.
-- An alert that matches no incident is a false positive.
with windows as (
    select
        window_labels.window_label,
        window_labels.window_minutes
    from window_labels
),

alerts as (
    select
        replay_alert_runs.policy_name,
        replay_alert_runs.tenant_id,
        replay_alert_runs.slo_name,
        replay_alert_runs.started_at,
        replay_alert_runs.opened_severity,
        replay_alert_runs.peak_severity,
        replay_alert_runs.opened_rule,
        replay_alert_runs.opened_long_window,
        replay_alert_runs.escalations,
        replay_alert_runs.escalated_at,
        replay_alert_runs.resolved_at,
        coalesce(replay_alert_runs.resolved_at, replay_params.range_end) as covered_until,
        windows.window_minutes as grace_minutes
    from replay_alert_runs
    inner join windows
        on replay_alert_runs.opened_long_window = windows.window_label
    cross join replay_params
),

matches as (
    select
        alerts.policy_name,
        alerts.tenant_id,
        alerts.slo_name,
        alerts.started_at,
        count(*) as matched_incidents,
        min(replay_incidents.incident_id) as first_incident_id
    from alerts
    inner join replay_incidents
        on alerts.tenant_id = replay_incidents.tenant_id
        and (replay_incidents.slo_name is null or alerts.slo_name = replay_incidents.slo_name)
        and alerts.started_at < replay_incidents.ended_at + to_minutes(alerts.grace_minutes)
        and alerts.covered_until > replay_incidents.started_at
    group by alerts.policy_name, alerts.tenant_id, alerts.slo_name, alerts.started_at
),

final as (
    select
        alerts.policy_name,
        alerts.tenant_id,
        alerts.slo_name,
        alerts.started_at,
        alerts.opened_severity,
        alerts.peak_severity,
        alerts.opened_rule,
        alerts.opened_long_window,
        alerts.escalations,
        alerts.escalated_at,
        alerts.resolved_at,
        -- The pages people received: the opening if it paged, and each escalation.
        case when alerts.opened_severity = 'page' then 1 else 0 end + alerts.escalations
            as pages_sent,
        coalesce(matches.matched_incidents, 0) as matched_incidents,
        matches.first_incident_id
    from alerts
    left join matches
        on alerts.policy_name = matches.policy_name
        and alerts.tenant_id = matches.tenant_id
        and alerts.slo_name = matches.slo_name
        and alerts.started_at = matches.started_at
)

select * from final
order by policy_name, tenant_id, slo_name, started_at
