-- int_sli_buckets: per tenant SLO and 5-minute bucket, how many requests there
-- were, how many were bad, and exact latency quantiles.
--
-- A request counts for every SLO of its tenant on its service. Bad means
-- status_code >= 500 for availability, latency_ms > threshold_ms for latency,
-- or the SLO's own bad_when/good_when predicate.
-- Buckets with no requests are absent: no traffic is "no data". So is a
-- tenant-day with too much quarantined input (int_quarantine_counts).
-- A request that a budget adjustment covers (budget_adjustments: the manifest's
-- `adjustments:`) is left out, as if absent: neither good nor bad. It is counted
-- in int_sli_adjusted instead.
-- The model may cover several days at once; the writer orders each day's rows
-- (lake.write_days), so no order by here.
with no_data_days as (
    select
        int_quarantine_counts.tenant_id,
        int_quarantine_counts.folder_day
    from int_quarantine_counts
    where int_quarantine_counts.sli_status = 'no_data'
),

slo_requests as (
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
    anti join no_data_days
        on stg_requests.tenant_id = no_data_days.tenant_id
        and cast(stg_requests.ts as date) = no_data_days.folder_day
    anti join budget_adjustments
        on slo_specs.tenant_id = budget_adjustments.tenant_id
        and slo_specs.slo_name = budget_adjustments.slo_name
        and stg_requests.ts >= budget_adjustments.starts_at
        and stg_requests.ts < budget_adjustments.ends_at
),

bucketed as (
    select
        slo_requests.tenant_id,
        slo_requests.slo_name,
        slo_requests.bucket_start,
        count(*) as total,
        count(*) filter (where slo_requests.is_bad) as bad,
        -- One sort of the bucket's latencies serves all four quantiles (about
        -- twice as fast as four separate quantile_disc calls).
        quantile_disc(slo_requests.latency_ms, [0.50, 0.90, 0.95, 0.99]) as latency_quantiles
    from slo_requests
    group by slo_requests.tenant_id, slo_requests.slo_name, slo_requests.bucket_start
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
