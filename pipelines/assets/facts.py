"""Stage 3, facts: burn rates, error budgets, rule evaluations, alert episodes and the SLO
status."""

from pipelines.assets.factory import model_asset
from pipelines.models import build

fct_burn_rates = model_asset("fct_burn_rates", "facts", build.build_fct_burn_rates)
fct_error_budget = model_asset("fct_error_budget", "facts", build.build_fct_error_budget)
fct_alert_evaluations = model_asset(
    "fct_alert_evaluations", "facts", build.build_fct_alert_evaluations
)
fct_alert_episodes = model_asset("fct_alert_episodes", "facts", build.build_fct_alert_episodes)
fct_alerts = model_asset("fct_alerts", "facts", build.build_fct_alerts)
fct_alert_contributors = model_asset(
    "fct_alert_contributors", "facts", build.build_fct_alert_contributors
)
fct_slo_status = model_asset("fct_slo_status", "facts", build.build_fct_slo_status)
