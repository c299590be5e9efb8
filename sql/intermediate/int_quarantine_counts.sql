-- int_quarantine_counts: per tenant and day folder, how many rows came in, how
-- many were quarantined, and whether the tenant-day's SLIs are computed.
--
-- input_rows counts every row a readable footer declares; a file too broken
-- to say how many rows it holds is counted in unknown_row_files. A tenant-day
-- whose quarantined share is above the policy's maximum, or that lost a file
-- of unknown size, is "no data": an SLI computed from what is left could look
-- healthy only because the bad rows vanished.
with files as (
    select
        contract_report.tenant_id,
        contract_report.file,
        max(contract_report.file_rows) as file_rows
    from contract_report
    where contract_report.action <> 'warn'
    group by contract_report.tenant_id, contract_report.file
),

inputs as (
    select
        files.tenant_id,
        cast(coalesce(sum(files.file_rows), 0) as bigint) as input_rows
    from files
    group by files.tenant_id
),

quarantined as (
    select
        quarantine.tenant_id,
        cast(coalesce(sum(quarantine.row_count), 0) as bigint) as quarantined_rows,
        count(*) filter (where quarantine.row_count is null) as unknown_row_files
    from quarantine
    group by quarantine.tenant_id
),

shares as (
    select
        inputs.tenant_id,
        inputs.input_rows,
        coalesce(quarantined.quarantined_rows, 0) as quarantined_rows,
        cast(coalesce(quarantined.unknown_row_files, 0) as bigint) as unknown_row_files,
        case
            when inputs.input_rows > 0
                then coalesce(quarantined.quarantined_rows, 0) / inputs.input_rows
        end as quarantined_share
    from inputs
    left join quarantined
        on inputs.tenant_id = quarantined.tenant_id
),

final as (
    select
        shares.tenant_id,
        cast(run_params.partition_start as date) as folder_day,
        shares.input_rows,
        shares.quarantined_rows,
        shares.unknown_row_files,
        shares.quarantined_share,
        quarantine_policy.max_quarantined_share,
        case
            when shares.unknown_row_files > 0 then 'no_data'
            when shares.quarantined_share > quarantine_policy.max_quarantined_share
                then 'no_data'
            else 'ok'
        end as sli_status,
        case
            when shares.unknown_row_files > 0
                then 'a quarantined file of unknown size'
            when shares.quarantined_share > quarantine_policy.max_quarantined_share
                then 'quarantined share above the maximum'
        end as decision_reason
    from shares
    cross join quarantine_policy
    cross join run_params
)

select * from final
order by tenant_id
