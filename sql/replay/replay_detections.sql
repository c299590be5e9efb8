-- replay_detections: per replayed policy and known incident in the replay
-- range, whether an episode detected it, how soon, and when its alerts reset:
-- replay_incident_matches' episode half (the matching relation is defined there).
with final as (
    select
        replay_incident_matches.policy_name,
        replay_incident_matches.incident_id,
        replay_incident_matches.tenant_id,
        replay_incident_matches.slo_name,
        replay_incident_matches.started_at,
        replay_incident_matches.ended_at,
        replay_incident_matches.expected_severity,
        replay_incident_matches.matching as matching_episodes,
        replay_incident_matches.detected,
        replay_incident_matches.highest_severity,
        replay_incident_matches.detected_at_severity,
        replay_incident_matches.detected_at,
        replay_incident_matches.detection_minutes,
        replay_incident_matches.reset_at,
        replay_incident_matches.reset_minutes
    from replay_incident_matches
    where replay_incident_matches.detector = 'episode'
)

select * from final
order by policy_name, started_at, incident_id
