-- stg_requests: one row per request, deduplicated across logging replicas.
--
-- A request is (tenant_id, request_id). Its kept copy is the one with the
-- earliest ts, ties broken by the smallest replica and then by the rest of the
-- row, so the result never depends on file order or thread count.
-- raw_requests holds the day's folder and both neighbours' (late and
-- clock-skewed rows), already cut to the day plus a skew margin; a request
-- belongs to the day that holds its kept ts.
--
-- Most requests are logged once, so one cheap hash aggregate settles them
-- (any_value of a single copy is that copy); only keys with several copies
-- take the full tie-break. This is about twice as fast as a tie-break on every
-- key, and gives identical rows.
with keyed as (
    select
        raw_requests.tenant_id,
        raw_requests.request_id,
        count(*) as replica_copies,
        min(raw_requests.ts) as ts,
        any_value(raw_requests.service) as service,
        any_value(raw_requests.operation) as operation,
        any_value(raw_requests.status_code) as status_code,
        any_value(raw_requests.latency_ms) as latency_ms,
        any_value(raw_requests.replica) as replica
    from raw_requests
    group by raw_requests.tenant_id, raw_requests.request_id
),

in_day as (
    select
        keyed.tenant_id,
        keyed.request_id,
        keyed.replica_copies,
        keyed.ts,
        keyed.service,
        keyed.operation,
        keyed.status_code,
        keyed.latency_ms,
        keyed.replica
    from keyed
    cross join run_params
    where
        keyed.ts >= run_params.partition_start
        and keyed.ts < run_params.partition_end
),

logged_several_times as (
    select
        in_day.tenant_id,
        in_day.request_id
    from in_day
    where in_day.replica_copies > 1
),

copies as (
    select
        raw_requests.tenant_id,
        raw_requests.request_id,
        raw_requests.ts,
        raw_requests.service,
        raw_requests.operation,
        raw_requests.status_code,
        raw_requests.latency_ms,
        raw_requests.replica,
        -- One total order of a key's copies; every arg_min below uses it, so all
        -- columns come from the same kept copy.
        (
            raw_requests.ts,
            raw_requests.replica,
            raw_requests.status_code,
            raw_requests.latency_ms,
            raw_requests.service,
            raw_requests.operation
        ) as copy_order
    from raw_requests
    semi join logged_several_times
        on raw_requests.tenant_id = logged_several_times.tenant_id
        and raw_requests.request_id = logged_several_times.request_id
),

kept_copies as (
    select
        copies.tenant_id,
        copies.request_id,
        count(*) as replica_copies,
        min(copies.ts) as ts,
        arg_min(copies.service, copies.copy_order) as service,
        arg_min(copies.operation, copies.copy_order) as operation,
        arg_min(copies.status_code, copies.copy_order) as status_code,
        arg_min(copies.latency_ms, copies.copy_order) as latency_ms,
        arg_min(copies.replica, copies.copy_order) as replica
    from copies
    group by copies.tenant_id, copies.request_id
),

final as (
    select
        in_day.tenant_id,
        in_day.request_id,
        in_day.ts,
        in_day.service,
        in_day.operation,
        in_day.status_code,
        in_day.latency_ms,
        in_day.replica,
        cast(in_day.replica_copies as integer) as replica_copies
    from in_day
    where in_day.replica_copies = 1
    union all
    select
        kept_copies.tenant_id,
        kept_copies.request_id,
        kept_copies.ts,
        kept_copies.service,
        kept_copies.operation,
        kept_copies.status_code,
        kept_copies.latency_ms,
        kept_copies.replica,
        cast(kept_copies.replica_copies as integer) as replica_copies
    from kept_copies
)

select * from final
order by tenant_id, request_id
