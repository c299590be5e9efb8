-- report_suppressed: one row per span of suppressed ticket steps, oldest first: a
-- ticket rule that fired while a page of the same tenant SLO fired, and was held
-- back (fct_alert_evaluations.suppressed), so that it made no episode. The report
-- shades these spans on the episode timeline, so the reader sees the ticket the
-- page stood in for.
--
-- A span is a run of consecutive 5-minute steps of one rule, all suppressed: steps
-- of one run minus 5 minutes times their rank in it give the same value (gaps and
-- islands). started_at is its first step, ended_at the step after its last one
-- (as an episode's resolved_at), suppressed_steps how many steps it holds.
with suppressed_steps as (
    select
        fct_alert_evaluations.tenant_id,
        fct_alert_evaluations.slo_name,
        fct_alert_evaluations.rule_name,
        fct_alert_evaluations.severity,
        fct_alert_evaluations.eval_ts,
        cast(epoch(fct_alert_evaluations.eval_ts) as bigint) - 300 * row_number() over (
            partition by
                fct_alert_evaluations.tenant_id,
                fct_alert_evaluations.slo_name,
                fct_alert_evaluations.rule_name
            order by fct_alert_evaluations.eval_ts
        ) as island
    from fct_alert_evaluations
    where fct_alert_evaluations.suppressed
),

final as (
    select
        suppressed_steps.tenant_id,
        suppressed_steps.slo_name,
        suppressed_steps.rule_name,
        min(suppressed_steps.severity) as severity,
        min(suppressed_steps.eval_ts) as started_at,
        max(suppressed_steps.eval_ts) + interval 5 minute as ended_at,
        count(*) as suppressed_steps
    from suppressed_steps
    group by
        suppressed_steps.tenant_id,
        suppressed_steps.slo_name,
        suppressed_steps.rule_name,
        suppressed_steps.island
)

select * from final
order by started_at, tenant_id, slo_name, rule_name
