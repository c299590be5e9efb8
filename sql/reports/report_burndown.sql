-- report_burndown: budget left per tenant SLO, sampled every chart step.
--
-- A row is kept at every step boundary (eval_ts a whole multiple of
-- report_params.step_minutes since the epoch) and at the series' newest
-- step, so each line ends at the data's end.
with sampled as (
    select
        fct_error_budget.tenant_id,
        fct_error_budget.slo_name,
        fct_error_budget.eval_ts,
        fct_error_budget.remaining
    from fct_error_budget
    cross join report_params
    qualify
        cast(epoch(fct_error_budget.eval_ts) as bigint) % (report_params.step_minutes * 60) = 0
        or fct_error_budget.eval_ts = max(fct_error_budget.eval_ts) over (
            partition by fct_error_budget.tenant_id, fct_error_budget.slo_name
        )
),

final as (
    select
        sampled.tenant_id,
        sampled.slo_name,
        sampled.eval_ts,
        sampled.remaining
    from sampled
)

select * from final
order by tenant_id, slo_name, eval_ts
