-- replay_episodes: every episode of every replayed policy, with the incidents it
-- overlaps.
--
-- An episode covers [started_at, resolved_at), or up to the end of the replay
-- range while it is still open. It matches an incident of the same tenant (and
-- SLO, when the incident names one) when it overlaps the incident widened by a
-- grace of the rule's long window after its end: a long window keeps burning
-- for that long after the errors stop. An episode that matches no incident is
-- a false positive.
with windows as (
    select
        window_labels.window_label,
        window_labels.window_minutes
    from window_labels
),

episodes as (
    select
        replay_episode_runs.policy_name,
        replay_episode_runs.tenant_id,
        replay_episode_runs.slo_name,
        replay_episode_runs.rule_name,
        replay_episode_runs.severity,
        replay_episode_runs.long_window,
        replay_episode_runs.short_window,
        replay_episode_runs.burn_threshold,
        replay_episode_runs.started_at,
        replay_episode_runs.resolved_at,
        replay_episode_runs.peak_long_burn_rate,
        coalesce(replay_episode_runs.resolved_at, replay_params.range_end) as covered_until,
        windows.window_minutes as grace_minutes
    from replay_episode_runs
    inner join windows
        on replay_episode_runs.long_window = windows.window_label
    cross join replay_params
),

matches as (
    select
        episodes.policy_name,
        episodes.tenant_id,
        episodes.slo_name,
        episodes.rule_name,
        episodes.started_at,
        count(*) as matched_incidents,
        min(replay_incidents.incident_id) as first_incident_id
    from episodes
    inner join replay_incidents
        on episodes.tenant_id = replay_incidents.tenant_id
        and (replay_incidents.slo_name is null or episodes.slo_name = replay_incidents.slo_name)
        and episodes.started_at
            < replay_incidents.ended_at + to_minutes(episodes.grace_minutes)
        and episodes.covered_until > replay_incidents.started_at
    group by
        episodes.policy_name, episodes.tenant_id, episodes.slo_name, episodes.rule_name,
        episodes.started_at
),

final as (
    select
        episodes.policy_name,
        episodes.tenant_id,
        episodes.slo_name,
        episodes.rule_name,
        episodes.severity,
        episodes.long_window,
        episodes.short_window,
        episodes.burn_threshold,
        episodes.started_at,
        episodes.resolved_at,
        episodes.peak_long_burn_rate,
        coalesce(matches.matched_incidents, 0) as matched_incidents,
        matches.first_incident_id
    from episodes
    left join matches
        on episodes.policy_name = matches.policy_name
        and episodes.tenant_id = matches.tenant_id
        and episodes.slo_name = matches.slo_name
        and episodes.rule_name = matches.rule_name
        and episodes.started_at = matches.started_at
)

select * from final
order by policy_name, tenant_id, slo_name, started_at, rule_name
