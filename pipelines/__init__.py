"""Burnwatch's Dagster code location and command line."""

import warnings

# Dagster marks backfill policies and partition-mapping options as beta; they
# are the documented way to run single-run backfills, so the warning is noise.
warnings.filterwarnings("ignore", message=r".*is currently in beta.*")
