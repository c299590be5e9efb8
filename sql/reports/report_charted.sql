-- report_charted: the tenant SLOs the page draws charts for (burn-down and burn rates).
--
-- A page with a chart per tenant SLO does not scale: 2,000 tenants with 5 SLOs each
-- would mean 10,000 charts and some 28 million chart points held in memory and
-- written into one HTML file. So at most report_params.max_charted_slos tenant SLOs
-- are charted: those with any episode in the lake first (what an incident review
-- looks at), then in the overview's urgency order (report_overview's row order:
-- paging, ticketing, no data, then least budget left), ties by name. The overview
-- table still lists every tenant SLO.
with ranked as (
    select
        report_overview.tenant_id,
        report_overview.slo_name,
        row_number() over (
            order by
                report_overview.pages + report_overview.tickets = 0,
                report_overview.urgency,
                report_overview.budget_remaining_percent nulls last,
                report_overview.tenant_id,
                report_overview.slo_name
        ) as chart_rank
    from report_overview
),

final as (
    select
        ranked.tenant_id,
        ranked.slo_name,
        ranked.chart_rank
    from ranked
    cross join report_params
    where ranked.chart_rank <= report_params.max_charted_slos
)

select * from final
order by chart_rank
