-- fct_alert_contributors: what burned the budget. Per alert of fct_alerts and per
-- moment a message is sent about it (basis 'opened': its opening rule's long window
-- ending at started_at; 'escalated': the escalating rule's long window ending at
-- escalated_at), the top operations by bad requests in that window.
--
-- - The window is [window_end - long_window, window_end): the requests the rule's
--   long-window burn rate counted: int_slo_requests (deduplicated, bad as for the
--   SLO), less those a budget adjustment leaves out, as int_sli_buckets does.
-- - Operations are ranked by bad requests, most first; ties by operation name,
--   a null operation (not logged) last. The first contributor_params.top_operations
--   (3) are kept; an operation with no bad request is never listed.
-- - bad_share = the operation's bad / all bad of the window; request_share = its
--   requests / all requests of the window.
-- - A replica stands out for an operation when its share of the operation's bad
--   requests is more than contributor_params.standout_factor (1.5) times its share
--   of the operation's requests, and it holds at least standout_min_bad (5) of them
--   (one replica serving half the calls and returning 80 % of the errors).
--   The replica is the kept copy's (stg_requests.replica).
with alert_windows as (
    select
        fct_alerts.tenant_id,
        fct_alerts.slo_name,
        fct_alerts.started_at,
        'opened' as basis,
        fct_alerts.opened_rule as rule_name,
        fct_alerts.opened_long_window as long_window,
        fct_alerts.started_at as window_end
    from fct_alerts
    union all
    select
        fct_alerts.tenant_id,
        fct_alerts.slo_name,
        fct_alerts.started_at,
        'escalated' as basis,
        fct_alerts.escalated_rule as rule_name,
        fct_alerts.escalated_long_window as long_window,
        fct_alerts.escalated_at as window_end
    from fct_alerts
    where fct_alerts.escalated_at is not null
),

windows as (
    select
        alert_windows.tenant_id,
        alert_windows.slo_name,
        alert_windows.started_at,
        alert_windows.basis,
        alert_windows.rule_name,
        alert_windows.long_window,
        alert_windows.window_end
            - window_labels.window_minutes * interval 1 minute as window_start,
        alert_windows.window_end
    from alert_windows
    inner join window_labels
        on alert_windows.long_window = window_labels.window_label
),

window_requests as (
    select
        windows.tenant_id,
        windows.slo_name,
        windows.started_at,
        windows.basis,
        int_slo_requests.operation,
        int_slo_requests.replica,
        int_slo_requests.is_bad
    from windows
    inner join int_slo_requests
        on windows.tenant_id = int_slo_requests.tenant_id
        and windows.slo_name = int_slo_requests.slo_name
        and int_slo_requests.ts >= windows.window_start
        and int_slo_requests.ts < windows.window_end
    -- What a budget adjustment leaves out of the alerts is not what burned them either.
    anti join budget_adjustments
        on int_slo_requests.tenant_id = budget_adjustments.tenant_id
        and int_slo_requests.slo_name = budget_adjustments.slo_name
        and int_slo_requests.ts >= budget_adjustments.starts_at
        and int_slo_requests.ts < budget_adjustments.ends_at
),

by_replica as (
    select
        window_requests.tenant_id,
        window_requests.slo_name,
        window_requests.started_at,
        window_requests.basis,
        window_requests.operation,
        window_requests.replica,
        count(*) as total,
        count(*) filter (where window_requests.is_bad) as bad
    from window_requests
    group by window_requests.tenant_id, window_requests.slo_name, window_requests.started_at,
        window_requests.basis, window_requests.operation, window_requests.replica
),

by_operation as (
    select
        by_replica.tenant_id,
        by_replica.slo_name,
        by_replica.started_at,
        by_replica.basis,
        by_replica.operation,
        cast(sum(by_replica.total) as bigint) as total,
        cast(sum(by_replica.bad) as bigint) as bad
    from by_replica
    group by by_replica.tenant_id, by_replica.slo_name, by_replica.started_at,
        by_replica.basis, by_replica.operation
),

by_window as (
    select
        by_operation.tenant_id,
        by_operation.slo_name,
        by_operation.started_at,
        by_operation.basis,
        cast(sum(by_operation.total) as bigint) as window_total,
        cast(sum(by_operation.bad) as bigint) as window_bad
    from by_operation
    group by by_operation.tenant_id, by_operation.slo_name, by_operation.started_at,
        by_operation.basis
),

ranked as (
    select
        by_operation.tenant_id,
        by_operation.slo_name,
        by_operation.started_at,
        by_operation.basis,
        by_operation.operation,
        by_operation.total,
        by_operation.bad,
        row_number() over (
            partition by by_operation.tenant_id, by_operation.slo_name,
                by_operation.started_at, by_operation.basis
            order by by_operation.bad desc, by_operation.operation asc nulls last
        ) as operation_rank
    from by_operation
    where by_operation.bad > 0
),

top_operations as (
    select
        ranked.tenant_id,
        ranked.slo_name,
        ranked.started_at,
        ranked.basis,
        ranked.operation,
        ranked.total,
        ranked.bad,
        ranked.operation_rank
    from ranked
    cross join contributor_params
    where ranked.operation_rank <= contributor_params.top_operations
),

standouts as (
    select
        top_operations.tenant_id,
        top_operations.slo_name,
        top_operations.started_at,
        top_operations.basis,
        top_operations.operation_rank,
        string_agg(
            by_replica.replica || ' ('
            || cast(cast(round(100.0 * by_replica.bad / top_operations.bad) as integer) as varchar)
            || '% of bad, '
            || cast(
                cast(round(100.0 * by_replica.total / top_operations.total) as integer) as varchar
            )
            || '% of requests)',
            ', '
            order by by_replica.replica
        ) as standout_replicas
    from top_operations
    cross join contributor_params
    inner join by_replica
        on top_operations.tenant_id = by_replica.tenant_id
        and top_operations.slo_name = by_replica.slo_name
        and top_operations.started_at = by_replica.started_at
        and top_operations.basis = by_replica.basis
        and top_operations.operation is not distinct from by_replica.operation
    where by_replica.bad >= contributor_params.standout_min_bad
        and cast(by_replica.bad as double) * top_operations.total
        > contributor_params.standout_factor * by_replica.total * top_operations.bad
    group by top_operations.tenant_id, top_operations.slo_name, top_operations.started_at,
        top_operations.basis, top_operations.operation_rank
),

final as (
    select
        top_operations.tenant_id,
        top_operations.slo_name,
        top_operations.started_at,
        top_operations.basis,
        cast(top_operations.operation_rank as integer) as operation_rank,
        top_operations.operation,
        windows.rule_name,
        windows.long_window,
        top_operations.bad,
        top_operations.total,
        by_window.window_bad,
        by_window.window_total,
        top_operations.bad / by_window.window_bad as bad_share,
        top_operations.total / by_window.window_total as request_share,
        standouts.standout_replicas,
        windows.window_start,
        windows.window_end
    from top_operations
    inner join windows
        on top_operations.tenant_id = windows.tenant_id
        and top_operations.slo_name = windows.slo_name
        and top_operations.started_at = windows.started_at
        and top_operations.basis = windows.basis
    inner join by_window
        on top_operations.tenant_id = by_window.tenant_id
        and top_operations.slo_name = by_window.slo_name
        and top_operations.started_at = by_window.started_at
        and top_operations.basis = by_window.basis
    left join standouts
        on top_operations.tenant_id = standouts.tenant_id
        and top_operations.slo_name = standouts.slo_name
        and top_operations.started_at = standouts.started_at
        and top_operations.basis = standouts.basis
        and top_operations.operation_rank = standouts.operation_rank
)

select * from final
order by tenant_id, slo_name, started_at, basis, operation_rank
