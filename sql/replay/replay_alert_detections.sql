-- replay_alert_detections: replay_detections for the grouped alerts (replay_alerts):
-- per policy and incident, whether an alert detected it, how soon, and when it reset.
--
-- An incident is detected by the alerts that match it (the same relation as in
-- replay_alerts: same tenant and SLO, overlapping the incident widened by the
-- opening rule's long window). detection = earliest matching start - incident
-- start (negative when an alert was already open); reset = latest matching
-- resolution - incident end, unknown while a matching alert is open; an alert's
-- resolution waits out its cooldown, so it is what on-call sees.
-- detected_at_severity: some matching alert paged (or ticketed) at least as
-- severely as expected (page > ticket); null when none is expected.
with windows as (
    select
        window_labels.window_label,
        window_labels.window_minutes
    from window_labels
),

incidents as (
    select
        replay_incidents.incident_id,
        replay_incidents.tenant_id,
        replay_incidents.slo_name,
        replay_incidents.started_at,
        replay_incidents.ended_at,
        replay_incidents.expected_severity,
        case replay_incidents.expected_severity
            when 'page' then 2
            when 'ticket' then 1
        end as expected_rank
    from replay_incidents
    cross join replay_params
    where replay_incidents.started_at < replay_params.range_end
        and replay_incidents.ended_at > replay_params.range_start
),

matches as (
    select
        replay_alerts.policy_name,
        incidents.incident_id,
        count(*) as matching_alerts,
        max(case replay_alerts.peak_severity when 'page' then 2 when 'ticket' then 1 end)
            as highest_rank,
        min(replay_alerts.started_at) as detected_at,
        case
            when bool_and(replay_alerts.resolved_at is not null)
                then max(replay_alerts.resolved_at)
        end as reset_at
    from incidents
    inner join replay_alerts
        on incidents.tenant_id = replay_alerts.tenant_id
        and (incidents.slo_name is null or incidents.slo_name = replay_alerts.slo_name)
    inner join windows
        on replay_alerts.opened_long_window = windows.window_label
    cross join replay_params
    where replay_alerts.started_at < incidents.ended_at + to_minutes(windows.window_minutes)
        and coalesce(replay_alerts.resolved_at, replay_params.range_end) > incidents.started_at
    group by replay_alerts.policy_name, incidents.incident_id
),

final as (
    select
        replay_policies.policy_name,
        incidents.incident_id,
        incidents.tenant_id,
        incidents.slo_name,
        incidents.started_at,
        incidents.ended_at,
        incidents.expected_severity,
        coalesce(matches.matching_alerts, 0) as matching_alerts,
        coalesce(matches.matching_alerts, 0) > 0 as detected,
        case matches.highest_rank when 2 then 'page' when 1 then 'ticket' end
            as highest_severity,
        case
            when incidents.expected_rank is not null
                then coalesce(matches.highest_rank >= incidents.expected_rank, false)
        end as detected_at_severity,
        matches.detected_at,
        date_diff('second', incidents.started_at, matches.detected_at) / 60
            as detection_minutes,
        matches.reset_at,
        date_diff('second', incidents.ended_at, matches.reset_at) / 60 as reset_minutes
    from replay_policies
    cross join incidents
    left join matches
        on replay_policies.policy_name = matches.policy_name
        and incidents.incident_id = matches.incident_id
)

select * from final
order by policy_name, started_at, incident_id
