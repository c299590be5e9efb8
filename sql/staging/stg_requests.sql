-- stg_requests: one row per request, deduplicated across logging replicas.
--
-- A request is (tenant_id, request_id). Its kept copy is the one with the
-- earliest ts, ties broken by the smallest replica and then by the rest of the
-- row, so the result never depends on file order or thread count.
-- raw_requests holds the good rows of the run's day folders and both
-- neighbours' (late and clock-skewed rows), cut to the run's days plus a skew
-- margin; a request belongs to the day that holds its kept ts, and only
-- requests whose kept ts lies in [partition_start, partition_end) are returned.
-- The writer orders each day's rows (lake.write_days), so no order by here.
--
-- Why the hash: most requests are logged once, and for them there is nothing
-- to choose. One aggregate over a single 64-bit hash of the key (key_hash:
-- DuckDB's hash, Spark's xxhash64; pipelines/engines/functions.py) (about 0.7x
-- the time of grouping the two strings) finds the hashes seen more than once.
-- A key logged once has a hash seen once (unless it collides), so rows whose
-- hash is seen once are kept as they are. Rows whose hash is seen several
-- times (every key with copies, plus the rare colliding keys) take the exact
-- tie-break, grouped by the real key; a colliding single-copy key simply comes
-- out of it with one copy. The hash only decides which path a row takes, never
-- which row is kept.
--
-- keyed_requests is read three times; "not materialized" makes each reader
-- scan the files again instead of buffering every row in memory first (as
-- fast on 20 million rows, and without a multi-GB buffer). It is a DuckDB
-- planner hint with no effect on the result; the Spark translation drops it.
with keyed_requests as not materialized (
    select
        raw_requests.tenant_id,
        raw_requests.request_id,
        raw_requests.ts,
        raw_requests.service,
        raw_requests.operation,
        raw_requests.status_code,
        raw_requests.latency_ms,
        raw_requests.replica,
        key_hash(raw_requests.tenant_id, raw_requests.request_id) as key_hash
    from raw_requests
),

repeated_hashes as (
    select keyed_requests.key_hash
    from keyed_requests
    group by keyed_requests.key_hash
    having count(*) > 1
),

logged_once as (
    select
        keyed_requests.tenant_id,
        keyed_requests.request_id,
        keyed_requests.ts,
        keyed_requests.service,
        keyed_requests.operation,
        keyed_requests.status_code,
        keyed_requests.latency_ms,
        keyed_requests.replica,
        cast(1 as integer) as replica_copies
    from keyed_requests
    anti join repeated_hashes
        on keyed_requests.key_hash = repeated_hashes.key_hash
),

copies as (
    select
        keyed_requests.tenant_id,
        keyed_requests.request_id,
        -- A copy as one value whose order is the preference: earliest ts, then the
        -- smallest replica, then the rest of the row. Its min is the kept copy,
        -- every column from the same row. The nullable operation is preceded by a
        -- flag, so a copy with a null operation loses to one with a value on every
        -- engine (a null field orders last in DuckDB's structs, first in Spark's).
        {
            'ts': keyed_requests.ts,
            'replica': keyed_requests.replica,
            'status_code': keyed_requests.status_code,
            'latency_ms': keyed_requests.latency_ms,
            'service': keyed_requests.service,
            'operation_missing': keyed_requests.operation is null,
            'operation': keyed_requests.operation
        } as copy
    from keyed_requests
    semi join repeated_hashes
        on keyed_requests.key_hash = repeated_hashes.key_hash
),

preferred_copies as (
    select
        copies.tenant_id,
        copies.request_id,
        min(copies.copy) as kept,
        count(*) as replica_copies
    from copies
    group by copies.tenant_id, copies.request_id
),

kept_copies as (
    select
        preferred_copies.tenant_id,
        preferred_copies.request_id,
        preferred_copies.kept.ts,
        preferred_copies.kept.service,
        preferred_copies.kept.operation,
        preferred_copies.kept.status_code,
        preferred_copies.kept.latency_ms,
        preferred_copies.kept.replica,
        cast(preferred_copies.replica_copies as integer) as replica_copies
    from preferred_copies
),

requests as (
    select * from logged_once
    union all
    select * from kept_copies
),

final as (
    select
        requests.tenant_id,
        requests.request_id,
        requests.ts,
        requests.service,
        requests.operation,
        requests.status_code,
        requests.latency_ms,
        requests.replica,
        requests.replica_copies
    from requests
    cross join run_params
    where
        requests.ts >= run_params.partition_start
        and requests.ts < run_params.partition_end
)

select * from final
