-- int_slo_keys: a dense integer per tenant SLO, slo_key, numbered in (tenant_id,
-- slo_name) order. Ephemeral: bound as a view over slo_specs by the models that
-- read it, never stored.
--
-- fct_burn_rates, fct_error_budget and fct_alert_evaluations key their grids,
-- windows and joins on it instead of the two names, and sort their rows by it
-- (the registry's sort_key): because it is numbered in the names' order, that
-- order is their key's. Defined once here, so all three number alike.
with final as (
    select
        slo_specs.tenant_id,
        slo_specs.slo_name,
        row_number() over (order by slo_specs.tenant_id, slo_specs.slo_name) as slo_key
    from slo_specs
)

select * from final
