-- int_sli_buckets: per tenant SLO and 5-minute bucket, how many requests there
-- were, how many were bad, and exact latency quantiles.
--
-- The requests, and which are bad, come from int_slo_requests (a request counts
-- for every SLO of its tenant on its service).
-- Buckets with no requests are absent: no traffic is "no data". So is a
-- tenant-day with too much quarantined input (int_quarantine_counts).
-- A request that a budget adjustment covers (budget_adjustments: the manifest's
-- `adjustments:`) is left out, as if absent: neither good nor bad. It is counted
-- in int_sli_adjusted instead.
-- The model may cover several days at once; the writer orders each day's rows
-- (lake.write_days), so no order by here.
with counted_requests as (
    select
        int_slo_requests.tenant_id,
        int_slo_requests.slo_name,
        int_slo_requests.bucket_start,
        int_slo_requests.latency_ms,
        int_slo_requests.is_bad
    from int_slo_requests
    anti join budget_adjustments
        on int_slo_requests.tenant_id = budget_adjustments.tenant_id
        and int_slo_requests.slo_name = budget_adjustments.slo_name
        and int_slo_requests.ts >= budget_adjustments.starts_at
        and int_slo_requests.ts < budget_adjustments.ends_at
),

bucketed as (
    select
        counted_requests.tenant_id,
        counted_requests.slo_name,
        counted_requests.bucket_start,
        count(*) as total,
        count(*) filter (where counted_requests.is_bad) as bad,
        -- One sort of the bucket's latencies serves all four quantiles (about
        -- twice as fast as four separate quantile_disc calls).
        quantile_disc(counted_requests.latency_ms, [0.50, 0.90, 0.95, 0.99]) as latency_quantiles
    from counted_requests
    group by counted_requests.tenant_id, counted_requests.slo_name, counted_requests.bucket_start
),

final as (
    select
        bucketed.tenant_id,
        bucketed.slo_name,
        bucketed.bucket_start,
        bucketed.total,
        bucketed.bad,
        bucketed.latency_quantiles[1] as latency_p50_ms,
        bucketed.latency_quantiles[2] as latency_p90_ms,
        bucketed.latency_quantiles[3] as latency_p95_ms,
        bucketed.latency_quantiles[4] as latency_p99_ms
    from bucketed
)

select * from final
