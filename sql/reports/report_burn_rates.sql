-- report_burn_rates: peak burn rate per charted tenant SLO (report_charted), window and
-- chart step.
--
-- The peak (not a sample) of each report_params.step_minutes step is kept, so
-- a short spike over a threshold still shows at any resolution. Every series
-- gets every step from the first to the last step of the data (a dense grid);
-- a step where the window had no requests has a null peak.
with params as (
    select to_minutes(cast(report_params.step_minutes as bigint)) as step
    from report_params
),

peaks as (
    select
        fct_burn_rates.tenant_id,
        fct_burn_rates.slo_name,
        fct_burn_rates."window",
        time_bucket(params.step, fct_burn_rates.eval_ts) as step_start,
        max(fct_burn_rates.burn_rate) as peak_burn_rate
    from fct_burn_rates
    semi join report_charted
        on fct_burn_rates.tenant_id = report_charted.tenant_id
        and fct_burn_rates.slo_name = report_charted.slo_name
    cross join params
    group by all
),

series as (
    select distinct
        peaks.tenant_id,
        peaks.slo_name,
        peaks."window"
    from peaks
),

bounds as (
    select
        min(peaks.step_start) as first_step,
        max(peaks.step_start) as last_step
    from peaks
),

steps as (
    select unnest(generate_series(bounds.first_step, bounds.last_step, params.step)) as step_start
    from bounds
    cross join params
),

final as (
    select
        series.tenant_id,
        series.slo_name,
        series."window",
        steps.step_start,
        peaks.peak_burn_rate
    from series
    cross join steps
    left join peaks
        on series.tenant_id = peaks.tenant_id
        and series.slo_name = peaks.slo_name
        and series."window" = peaks."window"
        and steps.step_start = peaks.step_start
)

select * from final
order by tenant_id, slo_name, "window", step_start
