-- replay_comparison: one row per replayed policy, the attributes the SRE
-- Workbook compares policies by: alert load (pages and tickets per tenant per
-- week), precision (share of episodes that match an incident), recall (share
-- of incidents detected by any episode; recall_at_severity: by an episode at
-- least as severe as expected), detection time and reset time (minutes).
--
-- The episode counts are per rule; the alert columns count what people receive:
-- grouped alerts (replay_alerts), pages_sent = alerts opened as a page plus
-- escalations, tickets_sent = alerts opened as a ticket, pages_per_incident =
-- the pages sent by alerts that match an incident / the incidents they paged for.
with episode_stats as (
    select
        replay_episodes.policy_name,
        count(*) as episodes,
        count(*) filter (where replay_episodes.severity = 'page') as pages,
        count(*) filter (where replay_episodes.severity = 'ticket') as tickets,
        count(*) filter (where replay_episodes.matched_incidents > 0) as true_episodes
    from replay_episodes
    group by replay_episodes.policy_name
),

detection_stats as (
    select
        replay_detections.policy_name,
        count(*) as incidents,
        count(*) filter (where replay_detections.detected) as detected,
        count(*) filter (where replay_detections.detected_at_severity is not null)
            as incidents_with_expected,
        count(*) filter (where replay_detections.detected_at_severity) as detected_at_severity,
        quantile_cont(replay_detections.detection_minutes, 0.5) as detection_median_minutes,
        max(replay_detections.detection_minutes) as detection_max_minutes,
        quantile_cont(replay_detections.reset_minutes, 0.5) as reset_median_minutes,
        max(replay_detections.reset_minutes) as reset_max_minutes
    from replay_detections
    group by replay_detections.policy_name
),

alert_stats as (
    select
        replay_alerts.policy_name,
        count(*) as alerts,
        cast(sum(replay_alerts.pages_sent) as bigint) as pages_sent,
        count(*) filter (where replay_alerts.opened_severity = 'ticket') as tickets_sent,
        count(*) filter (where replay_alerts.matched_incidents > 0) as true_alerts,
        cast(
            sum(replay_alerts.pages_sent) filter (where replay_alerts.matched_incidents > 0)
            as bigint
        ) as true_pages_sent
    from replay_alerts
    group by replay_alerts.policy_name
),

alert_detection_stats as (
    select
        replay_alert_detections.policy_name,
        count(*) filter (where replay_alert_detections.detected) as detected,
        count(*) filter (where replay_alert_detections.highest_severity = 'page') as paged,
        quantile_cont(replay_alert_detections.detection_minutes, 0.5)
            as detection_median_minutes,
        max(replay_alert_detections.detection_minutes) as detection_max_minutes,
        quantile_cont(replay_alert_detections.reset_minutes, 0.5) as reset_median_minutes,
        max(replay_alert_detections.reset_minutes) as reset_max_minutes
    from replay_alert_detections
    group by replay_alert_detections.policy_name
),

tenant_count as (
    select count(distinct slo_specs.tenant_id) as tenants
    from slo_specs
),

scope as (
    select
        replay_params.range_start,
        replay_params.range_end,
        tenant_count.tenants,
        tenant_count.tenants
        * date_diff('minute', replay_params.range_start, replay_params.range_end)
        / (7 * 24 * 60) as tenant_weeks
    from replay_params
    cross join tenant_count
),

final as (
    select
        replay_policies.policy_name,
        replay_policies.policy_order,
        replay_policies.thresholds,
        replay_policies.description,
        scope.range_start,
        scope.range_end,
        scope.tenants,
        coalesce(episode_stats.episodes, 0) as episodes,
        coalesce(episode_stats.pages, 0) as pages,
        coalesce(episode_stats.tickets, 0) as tickets,
        case
            when scope.tenant_weeks > 0 then coalesce(episode_stats.pages, 0) / scope.tenant_weeks
        end as pages_per_tenant_week,
        case
            when scope.tenant_weeks > 0
                then coalesce(episode_stats.tickets, 0) / scope.tenant_weeks
        end as tickets_per_tenant_week,
        coalesce(episode_stats.true_episodes, 0) as true_episodes,
        case
            when episode_stats.episodes > 0
                then episode_stats.true_episodes / episode_stats.episodes
        end as "precision",
        coalesce(detection_stats.incidents, 0) as incidents,
        coalesce(detection_stats.detected, 0) as detected,
        case
            when detection_stats.incidents > 0
                then detection_stats.detected / detection_stats.incidents
        end as recall,
        coalesce(detection_stats.incidents_with_expected, 0) as incidents_with_expected,
        coalesce(detection_stats.detected_at_severity, 0) as detected_at_severity,
        case
            when detection_stats.incidents_with_expected > 0
                then detection_stats.detected_at_severity / detection_stats.incidents_with_expected
        end as recall_at_severity,
        detection_stats.detection_median_minutes,
        detection_stats.detection_max_minutes,
        detection_stats.reset_median_minutes,
        detection_stats.reset_max_minutes,
        coalesce(alert_stats.alerts, 0) as alerts,
        coalesce(alert_stats.pages_sent, 0) as pages_sent,
        coalesce(alert_stats.tickets_sent, 0) as tickets_sent,
        case
            when alert_detection_stats.paged > 0
                then coalesce(alert_stats.true_pages_sent, 0) / alert_detection_stats.paged
        end as pages_per_incident,
        coalesce(alert_stats.true_alerts, 0) as true_alerts,
        case
            when alert_stats.alerts > 0 then alert_stats.true_alerts / alert_stats.alerts
        end as alert_precision,
        coalesce(alert_detection_stats.detected, 0) as alerts_detected,
        case
            when detection_stats.incidents > 0
                then coalesce(alert_detection_stats.detected, 0) / detection_stats.incidents
        end as alert_recall,
        alert_detection_stats.detection_median_minutes as alert_detection_median_minutes,
        alert_detection_stats.detection_max_minutes as alert_detection_max_minutes,
        alert_detection_stats.reset_median_minutes as alert_reset_median_minutes,
        alert_detection_stats.reset_max_minutes as alert_reset_max_minutes
    from replay_policies
    cross join scope
    left join episode_stats
        on replay_policies.policy_name = episode_stats.policy_name
    left join detection_stats
        on replay_policies.policy_name = detection_stats.policy_name
    left join alert_stats
        on replay_policies.policy_name = alert_stats.policy_name
    left join alert_detection_stats
        on replay_policies.policy_name = alert_detection_stats.policy_name
)

select * from final
order by policy_order
