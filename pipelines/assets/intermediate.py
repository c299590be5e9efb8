"""Stage 2, intermediate: rows counted per tenant-day folder and per tenant SLO bucket."""

from pipelines.assets.factory import model_asset
from pipelines.models import build

int_quarantine_counts = model_asset(
    "int_quarantine_counts", "intermediate", build.build_int_quarantine_counts
)
int_tenant_horizons = model_asset(
    "int_tenant_horizons", "intermediate", build.build_int_tenant_horizons
)
int_sli_buckets = model_asset(
    "int_sli_buckets", "intermediate", build.build_int_sli_buckets_days, days_at_once=True
)
int_sli_adjusted = model_asset(
    "int_sli_adjusted", "intermediate", build.build_int_sli_adjusted_days, days_at_once=True
)
