-- stg_requests: one row per request, deduplicated across logging replicas.
--
-- A request is (tenant_id, request_id). Its kept copy is the one with the
-- earliest ts, ties broken by the smallest replica and then by the rest of the
-- row, so the result never depends on file order or thread count.
-- raw_requests holds the day's folder and both neighbours' (late and
-- clock-skewed rows), already cut to the day plus a skew margin; a request
-- belongs to the day that holds its kept ts.
with copies as (
    select
        raw_requests.tenant_id,
        raw_requests.request_id,
        count(*) as replica_copies,
        arg_min(
            {
                'ts': raw_requests.ts,
                'service': raw_requests.service,
                'operation': raw_requests.operation,
                'status_code': raw_requests.status_code,
                'latency_ms': raw_requests.latency_ms,
                'replica': raw_requests.replica
            },
            (
                raw_requests.ts,
                raw_requests.replica,
                raw_requests.status_code,
                raw_requests.latency_ms,
                raw_requests.service,
                raw_requests.operation
            )
        ) as kept
    from raw_requests
    group by raw_requests.tenant_id, raw_requests.request_id
),

final as (
    select
        copies.tenant_id,
        copies.request_id,
        copies.kept.ts as ts,
        copies.kept.service as service,
        copies.kept.operation as operation,
        copies.kept.status_code as status_code,
        copies.kept.latency_ms as latency_ms,
        copies.kept.replica as replica,
        cast(copies.replica_copies as integer) as replica_copies
    from copies
    cross join run_params
    where
        copies.kept.ts >= run_params.partition_start
        and copies.kept.ts < run_params.partition_end
)

select * from final
order by tenant_id, request_id
