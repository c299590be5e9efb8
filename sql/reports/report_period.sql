-- report_period: one row, the span of evaluation steps the report covers.
--
-- period_start and period_end are the first and the last eval_ts of any
-- error-budget or burn-rate row; both are null when the lake holds no steps.
-- The chart step (report_params) is chosen from this span.
with steps as (
    select fct_error_budget.eval_ts from fct_error_budget
    union all
    select fct_burn_rates.eval_ts from fct_burn_rates
),

final as (
    select
        min(steps.eval_ts) as period_start,
        max(steps.eval_ts) as period_end
    from steps
)

select * from final
