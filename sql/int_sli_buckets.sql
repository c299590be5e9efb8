-- int_sli_buckets: per tenant SLO and 5-minute bucket, how many requests there
-- were, how many were bad, and exact latency quantiles.
--
-- A request counts for every SLO of its tenant on its service. Bad means
-- status_code >= 500 for availability, latency_ms > threshold_ms for latency.
-- Buckets with no requests are absent: no traffic is "no data".
with slo_requests as (
    select
        slo_specs.tenant_id,
        slo_specs.slo_name,
        time_bucket(interval 5 minute, stg_requests.ts) as bucket_start,
        stg_requests.latency_ms,
        case
            when slo_specs.sli = 'availability' then stg_requests.status_code >= 500
            else stg_requests.latency_ms > slo_specs.threshold_ms
        end as is_bad
    from stg_requests
    inner join slo_specs
        on stg_requests.tenant_id = slo_specs.tenant_id
        and stg_requests.service = slo_specs.service
),

final as (
    select
        slo_requests.tenant_id,
        slo_requests.slo_name,
        slo_requests.bucket_start,
        count(*) as total,
        count(*) filter (where slo_requests.is_bad) as bad,
        quantile_disc(slo_requests.latency_ms, 0.50) as latency_p50_ms,
        quantile_disc(slo_requests.latency_ms, 0.90) as latency_p90_ms,
        quantile_disc(slo_requests.latency_ms, 0.95) as latency_p95_ms,
        quantile_disc(slo_requests.latency_ms, 0.99) as latency_p99_ms
    from slo_requests
    group by slo_requests.tenant_id, slo_requests.slo_name, slo_requests.bucket_start
)

select * from final
order by tenant_id, slo_name, bucket_start
