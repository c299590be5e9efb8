-- int_sli_buckets: per tenant SLO and 5-minute bucket, how many requests there
-- were, how many were bad, and exact latency quantiles.
--
-- A request counts for every SLO of its tenant on its service. Bad means
-- status_code >= 500 for availability, latency_ms > threshold_ms for latency,
-- or the SLO's own bad_when/good_when predicate.
-- Buckets with no requests are absent: no traffic is "no data". So is a
-- tenant-day with too much quarantined input (int_quarantine_counts).
with slo_requests as (
    select
        slo_specs.tenant_id,
        slo_specs.slo_name,
        time_bucket(interval 5 minute, stg_requests.ts) as bucket_start,
        stg_requests.latency_ms,
        case
            -- A custom predicate (checked by sqlglot on load) wins over the SLI kind's.
            when slo_specs.bad_predicate is not null
                then burnwatch_custom_bad(
                    slo_specs.bad_predicate,
                    stg_requests.request_id,
                    stg_requests.ts,
                    stg_requests.tenant_id,
                    stg_requests.service,
                    stg_requests.operation,
                    stg_requests.status_code,
                    stg_requests.latency_ms,
                    stg_requests.replica
                )
            when slo_specs.sli = 'availability' then stg_requests.status_code >= 500
            else stg_requests.latency_ms > slo_specs.threshold_ms
        end as is_bad
    from stg_requests
    inner join slo_specs
        on stg_requests.tenant_id = slo_specs.tenant_id
        and stg_requests.service = slo_specs.service
    where stg_requests.tenant_id not in (
        select int_quarantine_counts.tenant_id
        from int_quarantine_counts
        where int_quarantine_counts.sli_status = 'no_data'
    )
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
