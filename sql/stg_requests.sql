-- stg_requests: one row per request, deduplicated across logging replicas.
--
-- A request is (tenant_id, request_id). Its kept copy is the one with the
-- earliest ts, ties broken by the smallest replica and then by the rest of the
-- row, so the result never depends on file order or thread count.
-- raw_requests holds the day's folder and both neighbours' (late and
-- clock-skewed rows), already cut to the day plus a skew margin; a request
-- belongs to the day that holds its kept ts.
with copies as (
    -- One arg_min per column, all over the same total order of a key's copies,
    -- so every column comes from the same kept copy. (A single arg_min of a
    -- struct value is about three times slower in DuckDB.)
    select
        raw_requests.tenant_id,
        raw_requests.request_id,
        count(*) as replica_copies,
        min(raw_requests.ts) as ts,
        arg_min(raw_requests.service, copy_order) as service,
        arg_min(raw_requests.operation, copy_order) as operation,
        arg_min(raw_requests.status_code, copy_order) as status_code,
        arg_min(raw_requests.latency_ms, copy_order) as latency_ms,
        arg_min(raw_requests.replica, copy_order) as replica
    from (
        select
            raw_requests.*,
            (
                raw_requests.ts,
                raw_requests.replica,
                raw_requests.status_code,
                raw_requests.latency_ms,
                raw_requests.service,
                raw_requests.operation
            ) as copy_order
        from raw_requests
    ) as raw_requests
    group by raw_requests.tenant_id, raw_requests.request_id
),

final as (
    select
        copies.tenant_id,
        copies.request_id,
        copies.ts,
        copies.service,
        copies.operation,
        copies.status_code,
        copies.latency_ms,
        copies.replica,
        cast(copies.replica_copies as integer) as replica_copies
    from copies
    cross join run_params
    where
        copies.ts >= run_params.partition_start
        and copies.ts < run_params.partition_end
)

select * from final
order by tenant_id, request_id
