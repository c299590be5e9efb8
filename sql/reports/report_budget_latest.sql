-- report_budget_latest: one row per tenant SLO, its newest error-budget row.
--
-- The newest row is the one with the latest eval_ts (the budget's key is
-- tenant_id, slo_name, eval_ts, so there is no tie). Its budget columns are
-- taken as they are, nulls included: no traffic in the period is no data.
-- The report's overview and the run summary both read this model.
with ranked as (
    select
        fct_error_budget.tenant_id,
        fct_error_budget.slo_name,
        fct_error_budget.eval_ts as as_of,
        fct_error_budget.total,
        fct_error_budget.bad,
        fct_error_budget.consumed,
        fct_error_budget.remaining,
        fct_error_budget.time_to_exhaustion
    from fct_error_budget
    qualify row_number() over (
        partition by fct_error_budget.tenant_id, fct_error_budget.slo_name
        order by fct_error_budget.eval_ts desc
    ) = 1
),

final as (
    select
        ranked.tenant_id,
        ranked.slo_name,
        ranked.as_of,
        ranked.total,
        ranked.bad,
        ranked.consumed,
        ranked.remaining,
        ranked.time_to_exhaustion
    from ranked
)

select * from final
order by remaining nulls last, tenant_id, slo_name
