-- replay_incident_matches: per detector, replayed policy and known incident in the
-- replay range, whether the policy's episodes (detector 'episode') or its grouped
-- alerts (detector 'alert', replay_alerts) detected it, how soon, and when they reset.
-- replay_detections and replay_alert_detections are its two halves.
--
-- An incident is detected by what matches it (the same relation as in
-- replay_episodes and replay_alerts: same tenant and SLO, overlapping the incident
-- widened by the long window of the rule that opened it). detection = earliest
-- matching start - incident start (negative when one was already open); reset =
-- latest matching resolution - incident end, unknown while a match is open (an
-- alert's resolution waits out its cooldown, so it is what on-call sees).
-- detected_at_severity: some match is at least as severe as the expected severity
-- (page > ticket; an alert at the severity it peaked at); null when none is expected.
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

-- What can detect an incident: each replayed episode, and each grouped alert at the
-- severity it peaked at, with the long window of the rule that opened it.
detectors as (
    select
        'episode' as detector,
        replay_episodes.policy_name,
        replay_episodes.tenant_id,
        replay_episodes.slo_name,
        replay_episodes.started_at,
        replay_episodes.resolved_at,
        replay_episodes.severity,
        replay_episodes.long_window
    from replay_episodes
    union all
    select
        'alert' as detector,
        replay_alerts.policy_name,
        replay_alerts.tenant_id,
        replay_alerts.slo_name,
        replay_alerts.started_at,
        replay_alerts.resolved_at,
        replay_alerts.peak_severity as severity,
        replay_alerts.opened_long_window as long_window
    from replay_alerts
),

-- Both kinds, so that an incident nothing detected has a row in each half.
detector_kinds as (
    select 'episode' as detector
    union all
    select 'alert' as detector
),

matches as (
    select
        detectors.detector,
        detectors.policy_name,
        incidents.incident_id,
        count(*) as matching,
        max(case detectors.severity when 'page' then 2 when 'ticket' then 1 end)
            as highest_rank,
        min(detectors.started_at) as detected_at,
        case
            when bool_and(detectors.resolved_at is not null)
                then max(detectors.resolved_at)
        end as reset_at
    from incidents
    inner join detectors
        on incidents.tenant_id = detectors.tenant_id
        and (incidents.slo_name is null or incidents.slo_name = detectors.slo_name)
    inner join windows
        on detectors.long_window = windows.window_label
    cross join replay_params
    where detectors.started_at < incidents.ended_at + to_minutes(windows.window_minutes)
        and coalesce(detectors.resolved_at, replay_params.range_end) > incidents.started_at
    group by detectors.detector, detectors.policy_name, incidents.incident_id
),

final as (
    select
        detector_kinds.detector,
        replay_policies.policy_name,
        incidents.incident_id,
        incidents.tenant_id,
        incidents.slo_name,
        incidents.started_at,
        incidents.ended_at,
        incidents.expected_severity,
        coalesce(matches.matching, 0) as matching,
        coalesce(matches.matching, 0) > 0 as detected,
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
    from detector_kinds
    cross join replay_policies
    cross join incidents
    left join matches
        on detector_kinds.detector = matches.detector
        and replay_policies.policy_name = matches.policy_name
        and incidents.incident_id = matches.incident_id
)

select * from final
order by detector, policy_name, started_at, incident_id
