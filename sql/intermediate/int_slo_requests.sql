-- int_slo_requests: one row per request and SLO that counts it, with whether it is bad.
-- Ephemeral: bound as a view over stg_requests by int_sli_buckets (the requests that
-- count), int_sli_adjusted (those a budget adjustment leaves out) and
-- fct_alert_contributors (an alert's operations), so that what a bad request is, and
-- which tenant-days have no data, is written once.
--
-- A request counts for every SLO of its tenant on its service. Bad means
-- status_code >= 500 for availability, latency_ms > threshold_ms for latency,
-- or the SLO's own bad_when/good_when predicate. A tenant-day with too much
-- quarantined input (int_quarantine_counts) has no requests here: no data.
with no_data_days as (
    select
        int_quarantine_counts.tenant_id,
        int_quarantine_counts.folder_day
    from int_quarantine_counts
    where int_quarantine_counts.sli_status = 'no_data'
),

final as (
    select
        slo_specs.tenant_id,
        slo_specs.slo_name,
        stg_requests.request_id,
        stg_requests.ts,
        time_bucket(interval 5 minute, stg_requests.ts) as bucket_start,
        stg_requests.latency_ms,
        stg_requests.operation,
        stg_requests.replica,
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
)

select * from final
