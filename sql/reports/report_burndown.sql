-- report_burndown: budget left per charted tenant SLO (report_charted), sampled every
-- chart step.
--
-- A row is kept at every step boundary (eval_ts a whole multiple of
-- report_params.step_minutes since the epoch) and at the series' newest
-- step, so each line ends at the data's end.
-- The newest step is found in a CTE and filtered after, not with `qualify`, which
-- Spark lacks (sqlglot's translation of it loses the table names).
with stepped as (
    select
        fct_error_budget.tenant_id,
        fct_error_budget.slo_name,
        fct_error_budget.eval_ts,
        fct_error_budget.budget_remaining_percent,
        report_params.step_minutes,
        max(fct_error_budget.eval_ts) over (
            partition by fct_error_budget.tenant_id, fct_error_budget.slo_name
        ) as newest_eval_ts
    from fct_error_budget
    semi join report_charted
        on fct_error_budget.tenant_id = report_charted.tenant_id
        and fct_error_budget.slo_name = report_charted.slo_name
    cross join report_params
),

sampled as (
    select
        stepped.tenant_id,
        stepped.slo_name,
        stepped.eval_ts,
        stepped.budget_remaining_percent
    from stepped
    where
        cast(epoch(stepped.eval_ts) as bigint) % (stepped.step_minutes * 60) = 0
        or stepped.eval_ts = stepped.newest_eval_ts
),

final as (
    select
        sampled.tenant_id,
        sampled.slo_name,
        sampled.eval_ts,
        sampled.budget_remaining_percent
    from sampled
)

select * from final
order by tenant_id, slo_name, eval_ts
