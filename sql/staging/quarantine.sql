-- quarantine: the input of one day folder that broke the request-log contract.
--
-- Rows come from raw_request_checks (every row of the folder's readable files,
-- with the first rule it breaks, null when it breaks none); whole files that
-- are not read (unreadable footer, unsafe schema drift, undecodable pages)
-- come from quarantined_files. tenant_id and folder_day are the folder's.
-- Together with the good rows, this accounts for every input row once.
with broken_rows as (
    select
        raw_request_checks.tenant_id,
        raw_request_checks.folder_day,
        raw_request_checks.file,
        raw_request_checks.row_number,
        cast(1 as bigint) as row_count,
        raw_request_checks.reason,
        raw_request_checks.detail,
        raw_request_checks.request_id,
        raw_request_checks.raw_row
    from raw_request_checks
    where raw_request_checks.reason is not null
),

broken_files as (
    select
        quarantined_files.tenant_id,
        quarantined_files.folder_day,
        quarantined_files.file,
        quarantined_files.row_number,
        quarantined_files.row_count,
        quarantined_files.reason,
        quarantined_files.detail,
        quarantined_files.request_id,
        quarantined_files.raw_row
    from quarantined_files
),

final as (
    select * from broken_rows
    union all
    select * from broken_files
)

select * from final
order by tenant_id, file, row_number nulls first
