-- cohort_thresholds: one version (effective_from) of the thresholds derived from
-- history, per cohort, SLI kind and policy rule.
--
-- Samples are the burn rates of every tenant SLO of the cohort and SLI kind at
-- every 5-minute step of [history_start, effective_from), per window label; a
-- window without requests has no burn rate and is no sample.
-- Incidents are left out as outliers: a burn is an outlier when
-- ln(1 + burn) > median + k * scale over the window's samples, where scale is
-- 1.4826 * MAD of ln(1 + burn), or 1.2533 * its mean absolute deviation when the
-- MAD is 0 (Iglewicz and Hoaglin's modified z-score), as it is when most steps
-- have no errors. ln(1 + burn) because burns spread multiplicatively above 1
-- and a burn of 0 (the usual case) must stay a sample.
-- The noise floor of a window is the nearest-rank quantile of the samples that
-- are not outliers. A rule's noise threshold is the larger noise floor of its
-- two windows times the safety margin, at least min_threshold, and at most half
-- the highest possible burn 1 / (1 - objective) so the rule can fire. Its
-- proposed threshold is the noise threshold or the policy's own threshold
-- (default_threshold, from its budget-consumption target), whichever is higher:
-- a noisy cohort pages less, a quiet one never pages more than the policy
-- (held_at_default says the noise alone would have asked for less).
with params as (
    select
        cohort_threshold_params.effective_from,
        cohort_threshold_params.history_start,
        cohort_threshold_params.history_end,
        cohort_threshold_params.history_days,
        cohort_threshold_params.outlier_k,
        cohort_threshold_params.quantile,
        cohort_threshold_params.safety_margin,
        cohort_threshold_params.min_threshold,
        cohort_threshold_params.min_samples
    from cohort_threshold_params
),

-- Most samples share a few burns (a burn of 0 above all), so the samples are counted
-- per distinct burn first, and every statistic below is read off those counts in
-- order: the same values, without sorting or joining the whole history. A median
-- is DuckDB's: the middle sample, or the mean of the two middle ones of an even
-- count, where the sample at 0-based position p is the burn whose ranks hold p.
burn_counts as (
    select
        slo_specs.cohort,
        slo_specs.sli,
        fct_burn_rates."window" as window_label,
        fct_burn_rates.burn_rate,
        count(*) as samples
    from fct_burn_rates
    inner join slo_specs
        on fct_burn_rates.tenant_id = slo_specs.tenant_id
        and fct_burn_rates.slo_name = slo_specs.slo_name
    cross join params
    where fct_burn_rates.burn_rate is not null
        and fct_burn_rates.eval_ts >= cast(params.history_start as timestamp)
        and fct_burn_rates.eval_ts < cast(params.effective_from as timestamp)
    group by slo_specs.cohort, slo_specs.sli, fct_burn_rates."window", fct_burn_rates.burn_rate
),

log_burns as (
    select
        burn_counts.cohort,
        burn_counts.sli,
        burn_counts.window_label,
        burn_counts.burn_rate,
        burn_counts.samples,
        ln(1 + burn_counts.burn_rate) as log_burn,
        -- ln(1 + burn) grows with the burn: the rank of this burn's last sample.
        sum(burn_counts.samples) over (
            partition by burn_counts.cohort, burn_counts.sli, burn_counts.window_label
            order by burn_counts.burn_rate
            rows between unbounded preceding and current row
        ) as last_rank,
        sum(burn_counts.samples) over (
            partition by burn_counts.cohort, burn_counts.sli, burn_counts.window_label
        ) as window_samples
    from burn_counts
),

log_centers as (
    select
        log_burns.cohort,
        log_burns.sli,
        log_burns.window_label,
        (
            max(log_burns.log_burn) filter (
                where holds_position(
                    log_burns.last_rank, log_burns.samples, (log_burns.window_samples - 1) // 2
                )
            )
            + max(log_burns.log_burn) filter (
                where holds_position(
                    log_burns.last_rank, log_burns.samples, log_burns.window_samples // 2
                )
            )
        ) / 2 as log_median
    from log_burns
    group by log_burns.cohort, log_burns.sli, log_burns.window_label
),

deviations as (
    select
        log_burns.cohort,
        log_burns.sli,
        log_burns.window_label,
        abs(log_burns.log_burn - log_centers.log_median) as deviation,
        sum(log_burns.samples) as samples
    from log_burns
    inner join log_centers
        on log_burns.cohort = log_centers.cohort
        and log_burns.sli = log_centers.sli
        and log_burns.window_label = log_centers.window_label
    group by
        log_burns.cohort, log_burns.sli, log_burns.window_label,
        abs(log_burns.log_burn - log_centers.log_median)
),

ranked_deviations as (
    select
        deviations.cohort,
        deviations.sli,
        deviations.window_label,
        deviations.deviation,
        deviations.samples,
        sum(deviations.samples) over (
            partition by deviations.cohort, deviations.sli, deviations.window_label
            order by deviations.deviation
            rows between unbounded preceding and current row
        ) as last_rank,
        sum(deviations.samples) over (
            partition by deviations.cohort, deviations.sli, deviations.window_label
        ) as window_samples
    from deviations
),

spreads as (
    select
        ranked_deviations.cohort,
        ranked_deviations.sli,
        ranked_deviations.window_label,
        (
            max(ranked_deviations.deviation) filter (
                where holds_position(
                    ranked_deviations.last_rank,
                    ranked_deviations.samples,
                    (ranked_deviations.window_samples - 1) // 2
                )
            )
            + max(ranked_deviations.deviation) filter (
                where holds_position(
                    ranked_deviations.last_rank,
                    ranked_deviations.samples,
                    ranked_deviations.window_samples // 2
                )
            )
        ) / 2 as median_deviation,
        sum(ranked_deviations.deviation * ranked_deviations.samples)
        / sum(ranked_deviations.samples) as mean_deviation
    from ranked_deviations
    group by ranked_deviations.cohort, ranked_deviations.sli, ranked_deviations.window_label
),

log_fences as (
    select
        log_centers.cohort,
        log_centers.sli,
        log_centers.window_label,
        log_centers.log_median
        + params.outlier_k * (
            case
                when spreads.median_deviation > 0 then 1.4826 * spreads.median_deviation
                else 1.253314 * spreads.mean_deviation
            end
        ) as log_fence
    from log_centers
    inner join spreads
        on log_centers.cohort = spreads.cohort
        and log_centers.sli = spreads.sli
        and log_centers.window_label = spreads.window_label
    cross join params
),

classified as (
    select
        log_burns.cohort,
        log_burns.sli,
        log_burns.window_label,
        log_burns.burn_rate,
        log_burns.samples,
        log_burns.log_burn > log_fences.log_fence as is_outlier
    from log_burns
    inner join log_fences
        on log_burns.cohort = log_fences.cohort
        and log_burns.sli = log_fences.sli
        and log_burns.window_label = log_fences.window_label
),

-- The quantile is read off the kept samples' distinct burns and their counts too.
kept_burns as (
    select
        classified.cohort,
        classified.sli,
        classified.window_label,
        classified.burn_rate,
        classified.samples
    from classified
    where not classified.is_outlier
),

ranked as (
    select
        kept_burns.cohort,
        kept_burns.sli,
        kept_burns.window_label,
        kept_burns.burn_rate,
        -- The rank of this burn's last sample, and the window's kept samples.
        sum(kept_burns.samples) over (
            partition by kept_burns.cohort, kept_burns.sli, kept_burns.window_label
            order by kept_burns.burn_rate
            rows between unbounded preceding and current row
        ) as last_rank,
        sum(kept_burns.samples) over (
            partition by kept_burns.cohort, kept_burns.sli, kept_burns.window_label
        ) as kept
    from kept_burns
),

noise_floors as (
    select
        ranked.cohort,
        ranked.sli,
        ranked.window_label,
        min(ranked.burn_rate) as noise_floor
    from ranked
    cross join params
    -- Nearest rank: the smallest burn with at least `quantile` of the samples at or below it.
    where ranked.last_rank >= greatest(cast(ceil(params.quantile * ranked.kept) as bigint), 1)
    group by ranked.cohort, ranked.sli, ranked.window_label
),

window_stats as (
    select
        classified.cohort,
        classified.sli,
        classified.window_label,
        cast(sum(classified.samples) as bigint) as samples,
        cast(coalesce(sum(classified.samples) filter (where classified.is_outlier), 0) as bigint)
            as outliers
    from classified
    group by classified.cohort, classified.sli, classified.window_label
),

rules as (
    select
        slo_specs.cohort,
        slo_specs.sli,
        alert_policy.rule_name,
        alert_policy.severity,
        alert_policy.long_window,
        alert_policy.short_window,
        min(alert_policy.burn_threshold) as default_threshold,
        min(100 / (100 - slo_specs.objective)) / 2 as max_threshold
    from alert_policy
    inner join slo_specs
        on alert_policy.tenant_id = slo_specs.tenant_id
        and alert_policy.slo_name = slo_specs.slo_name
    group by
        slo_specs.cohort, slo_specs.sli, alert_policy.rule_name, alert_policy.severity,
        alert_policy.long_window, alert_policy.short_window
),

proposals as (
    select
        rules.cohort,
        rules.sli,
        rules.rule_name,
        rules.severity,
        rules.long_window,
        rules.short_window,
        rules.default_threshold,
        rules.max_threshold,
        long_floor.noise_floor as long_noise_floor,
        short_floor.noise_floor as short_noise_floor,
        coalesce(long_stats.samples, 0) as long_samples,
        coalesce(short_stats.samples, 0) as short_samples,
        coalesce(long_stats.outliers, 0) as long_outliers,
        coalesce(short_stats.outliers, 0) as short_outliers
    from rules
    left join noise_floors as long_floor
        on rules.cohort = long_floor.cohort
        and rules.sli = long_floor.sli
        and rules.long_window = long_floor.window_label
    left join noise_floors as short_floor
        on rules.cohort = short_floor.cohort
        and rules.sli = short_floor.sli
        and rules.short_window = short_floor.window_label
    left join window_stats as long_stats
        on rules.cohort = long_stats.cohort
        and rules.sli = long_stats.sli
        and rules.long_window = long_stats.window_label
    left join window_stats as short_stats
        on rules.cohort = short_stats.cohort
        and rules.sli = short_stats.sli
        and rules.short_window = short_stats.window_label
),

-- The threshold the cohort's noise alone asks for: the larger noise floor times
-- the safety margin, at least min_threshold, at most max_threshold; null without
-- samples of both windows.
guarded as (
    select
        proposals.cohort,
        proposals.sli,
        proposals.rule_name,
        proposals.long_window,
        proposals.short_window,
        case
            when proposals.long_noise_floor is not null and proposals.short_noise_floor is not null
                then least(
                    greatest(
                        greatest(proposals.long_noise_floor, proposals.short_noise_floor)
                        * params.safety_margin,
                        params.min_threshold
                    ),
                    proposals.max_threshold
                )
        end as noise_threshold
    from proposals
    cross join params
),

final as (
    select
        params.effective_from,
        proposals.cohort,
        proposals.sli,
        proposals.rule_name,
        proposals.severity,
        proposals.long_window,
        proposals.short_window,
        params.history_start,
        params.history_end,
        proposals.default_threshold,
        -- A guard, never a flood: the noise floor may raise a rule above the threshold
        -- its budget-consumption target gives (default_threshold), never lower it.
        greatest(
            coalesce(guarded.noise_threshold, proposals.default_threshold),
            proposals.default_threshold
        ) as proposed_threshold,
        guarded.noise_threshold,
        coalesce(guarded.noise_threshold < proposals.default_threshold, false) as held_at_default,
        case
            when proposals.long_noise_floor is null or proposals.short_noise_floor is null
                then 'none'
            when least(proposals.long_samples, proposals.short_samples) >= params.min_samples
                then 'high'
            else 'low'
        end as confidence,
        proposals.long_noise_floor,
        proposals.short_noise_floor,
        proposals.long_samples,
        proposals.short_samples,
        proposals.long_outliers,
        proposals.short_outliers,
        params.quantile,
        params.outlier_k,
        params.safety_margin,
        params.min_threshold,
        proposals.max_threshold
    from proposals
    cross join params
    inner join guarded
        on proposals.cohort = guarded.cohort
        and proposals.sli = guarded.sli
        and proposals.rule_name = guarded.rule_name
        and proposals.long_window = guarded.long_window
        and proposals.short_window = guarded.short_window
)

select * from final
order by effective_from, cohort, sli, rule_name, long_window, short_window
