-- int_sli_adjusted: per tenant SLO and 5-minute bucket, the requests that a budget
-- adjustment (budget_adjustments, from the manifest's `adjustments:`) left out of
-- int_sli_buckets, and how many of them were bad. They are still counted, here,
-- so that what an adjustment hid can be shown; no window, budget or alert reads them.
--
-- A request is adjusted when starts_at <= ts < ends_at for an adjustment of its
-- tenant SLO; it counts once however many adjustments cover it. The requests and
-- which are bad come from int_slo_requests, as for int_sli_buckets. Buckets without
-- adjusted requests are absent. The writer orders each day's rows (lake.write_days).
with adjusted_requests as (
    select
        int_slo_requests.tenant_id,
        int_slo_requests.slo_name,
        int_slo_requests.bucket_start,
        int_slo_requests.is_bad
    from int_slo_requests
    semi join budget_adjustments
        on int_slo_requests.tenant_id = budget_adjustments.tenant_id
        and int_slo_requests.slo_name = budget_adjustments.slo_name
        and int_slo_requests.ts >= budget_adjustments.starts_at
        and int_slo_requests.ts < budget_adjustments.ends_at
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
