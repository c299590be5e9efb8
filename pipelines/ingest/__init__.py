"""Ingest: request-log files found, held to the contract, read where they lie.

One module per job, each importing only those above it:

- `files`: discovering request files under `<data>/requests/tenant=<id>/date=<day>/`, and
  naming every entry there that is not read;
- `ledger`: which files the warehouse has counted, and what a live cycle must read;
- `footers`: each file's Parquet footer against the contract -> `FileVerdict` (cached);
- `rules`: the contract's row rules as SQL predicates, and the overrides a run uses;
- `scan`: the SQL that reads request files (good rows, checked rows, probes), `bind_raw_requests`;
- `quarantine`: `quarantine` and `contract_report` rows, and the command line's warnings;
- `latency_units`: the report-only heuristic for latency logged in seconds;
- `staging`: the builders of `stg_requests`, `contract_report` and `quarantine`.
"""
