-- int_sli_units: what each 5-minute bucket adds to an SLO's windows and budget,
-- by budgeting method. Ephemeral: bound as a view over int_sli_buckets by the
-- models that read it, never stored.
--
-- total, bad          requests (always), for counts and traffic guards
-- unit_total          occurrences: requests; (ratio_)timeslices: completed slices
-- unit_bad            occurrences: bad requests; timeslices: slices whose good
--                     ratio missed timeslice_target; ratio_timeslices: the sum
--                     of the slices' bad ratios
-- A slice [s, s + L) is attributed to its last bucket, s + L - 5m, so a window
-- [t - w, t) counts exactly the slices that ended inside it. A slice without
-- requests is no data, neither good nor bad.
with request_units as (
    select
        int_sli_buckets.tenant_id,
        int_sli_buckets.slo_name,
        int_sli_buckets.bucket_start,
        int_sli_buckets.total,
        int_sli_buckets.bad,
        slo_specs.budgeting,
        case when slo_specs.budgeting = 'occurrences' then int_sli_buckets.total else 0 end
            as unit_total,
        case when slo_specs.budgeting = 'occurrences' then int_sli_buckets.bad else 0 end
            as unit_bad
    from int_sli_buckets
    inner join slo_specs
        on int_sli_buckets.tenant_id = slo_specs.tenant_id
        and int_sli_buckets.slo_name = slo_specs.slo_name
),

slices as (
    select
        int_sli_buckets.tenant_id,
        int_sli_buckets.slo_name,
        time_bucket(to_minutes(slo_specs.timeslice_minutes), int_sli_buckets.bucket_start)
            as slice_start,
        any_value(slo_specs.timeslice_minutes) as timeslice_minutes,
        any_value(slo_specs.budgeting) as budgeting,
        any_value(slo_specs.timeslice_target) as timeslice_target,
        sum(int_sli_buckets.total) as total,
        sum(int_sli_buckets.bad) as bad
    from int_sli_buckets
    inner join slo_specs
        on int_sli_buckets.tenant_id = slo_specs.tenant_id
        and int_sli_buckets.slo_name = slo_specs.slo_name
    where slo_specs.budgeting <> 'occurrences'
    group by int_sli_buckets.tenant_id, int_sli_buckets.slo_name, slice_start
),

slice_units as (
    select
        slices.tenant_id,
        slices.slo_name,
        slices.slice_start + to_minutes(slices.timeslice_minutes) - interval 5 minute
            as bucket_start,
        0 as total,
        0 as bad,
        1 as unit_total,
        case
            when slices.budgeting = 'ratio_timeslices' then slices.bad / slices.total
            when (slices.total - slices.bad) * 100 < slices.timeslice_target * slices.total
                then 1
            else 0
        end as unit_bad
    from slices
),

-- An occurrences SLO's buckets are its request rows, one per bucket already; only
-- a timeslice SLO's buckets merge request rows with the slices ending there. So
-- only those go through the group by: the budget's period reads are mostly
-- occurrences rows, and stay a projection.
merged_timeslice_units as (
    select
        units.tenant_id,
        units.slo_name,
        units.bucket_start,
        sum(units.total) as total,
        sum(units.bad) as bad,
        sum(units.unit_total) as unit_total,
        sum(units.unit_bad) as unit_bad
    from (
        select
            request_units.tenant_id, request_units.slo_name, request_units.bucket_start,
            request_units.total, request_units.bad,
            request_units.unit_total, request_units.unit_bad
        from request_units
        where request_units.budgeting <> 'occurrences'
        union all
        select
            slice_units.tenant_id, slice_units.slo_name, slice_units.bucket_start,
            slice_units.total, slice_units.bad,
            slice_units.unit_total, slice_units.unit_bad
        from slice_units
    ) as units
    group by units.tenant_id, units.slo_name, units.bucket_start
),

final as (
    select
        request_units.tenant_id,
        request_units.slo_name,
        request_units.bucket_start,
        cast(request_units.total as bigint) as total,
        cast(request_units.bad as bigint) as bad,
        cast(request_units.unit_total as double) as unit_total,
        cast(request_units.unit_bad as double) as unit_bad
    from request_units
    where request_units.budgeting = 'occurrences'
    union all
    select
        merged_timeslice_units.tenant_id,
        merged_timeslice_units.slo_name,
        merged_timeslice_units.bucket_start,
        cast(merged_timeslice_units.total as bigint) as total,
        cast(merged_timeslice_units.bad as bigint) as bad,
        cast(merged_timeslice_units.unit_total as double) as unit_total,
        cast(merged_timeslice_units.unit_bad as double) as unit_bad
    from merged_timeslice_units
)

select * from final
