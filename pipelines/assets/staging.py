"""Stage 1, staging: request logs read where they lie, held to the contract, deduplicated.

`contract_report` reads the footers of each day's files; `quarantine` keeps what
breaks the contract (whole files and rows); `stg_requests` collapses replicas'
copies of a request to one. Their checks are in `ingest_checks.py`.
"""

from pipelines.assets.factory import model_asset
from pipelines.ingest import staging

contract_report = model_asset(
    "contract_report", "staging", staging.build_contract_report, kinds=("parquet",)
)
quarantine = model_asset("quarantine", "staging", staging.build_quarantine)
stg_requests = model_asset(
    "stg_requests", "staging", staging.build_stg_requests_days, days_at_once=True
)
