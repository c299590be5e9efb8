-- int_sli_adjusted: per tenant SLO and 5-minute bucket, the requests that a budget
-- adjustment (budget_adjustments, from the manifest's `adjustments:`) left out of
-- int_sli_buckets, and how many of them were bad. They are still counted, here,
-- so that what an adjustment hid can be shown; no window, budget or alert reads them.
--
-- A request is adjusted when starts_at <= ts < ends_at for an adjustment of its
-- tenant SLO; it counts once however many adjustments cover it. Bad is decided as
-- in int_sli_buckets (the SLI kind, or the SLO's predicate), and a tenant-day with
-- too much quarantined input is left out here as there. Buckets without adjusted
-- requests are absent. The writer orders each day's rows (lake.write_days).
with no_data_days as (
    select
        int_quarantine_counts.tenant_id,
        int_quarantine_counts.folder_day
    from int_quarantine_counts
    where int_quarantine_counts.sli_status = 'no_data'
),

adjusted_requests as (
    select
        slo_specs.tenant_id,
        slo_specs.slo_name,
        time_bucket(interval 5 minute, stg_requests.ts) as bucket_start,
        case
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
    semi join budget_adjustments
        on slo_specs.tenant_id = budget_adjustments.tenant_id
        and slo_specs.slo_name = budget_adjustments.slo_name
        and stg_requests.ts >= budget_adjustments.starts_at
        and stg_requests.ts < budget_adjustments.ends_at
    anti join no_data_days
        on stg_requests.tenant_id = no_data_days.tenant_id
        and cast(stg_requests.ts as date) = no_data_days.folder_day
),

final as (
    select
        adjusted_requests.tenant_id,
        adjusted_requests.slo_name,
        adjusted_requests.bucket_start,
        count(*) as adjusted_total,
        count(*) filter (where adjusted_requests.is_bad) as adjusted_bad
    from adjusted_requests
    group by
        adjusted_requests.tenant_id,
        adjusted_requests.slo_name,
        adjusted_requests.bucket_start
)

select * from final
