"""`burnwatch validate`: check manifest, contracts, SQL models and input footers; compute nothing.

Exit codes shared by the command line:

    0  all fine
    1  `validate` found problems
    2  bad input: the run could not start (missing data folder, invalid manifest...)
    3  `run` completed, but some input was quarantined or not read (one warning line each)
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from pipelines.cli.options import data_option, manifest_option
from pipelines.settings import ENV_CONTRACTS

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_INPUT_ERROR = 2
EXIT_QUARANTINED = 3


@click.command("validate")
@manifest_option()
@data_option(
    "Folder holding requests/tenant=<id>/date=<day>/ (footers are checked).", required=False
)
@click.option(
    "--contracts",
    "contracts_file",
    type=click.Path(path_type=Path),
    envvar=ENV_CONTRACTS,
    show_envvar=True,
    help="Per-service contract overrides (default: <data>/contracts.yaml, "
    "else next to the manifest).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def validate_command(
    manifest: Path, data: Path | None, contracts_file: Path | None, as_json: bool
) -> None:
    """Check manifest, contracts, SQL models and partition schemas without computing anything.

    Exit 0 when everything is valid, 1 otherwise.
    """
    # Here, not at the top: `burnwatch --help` and the other commands need none of it.
    from pipelines.validation import render, validate_all

    outcomes = validate_all(manifest, data, contracts_file)
    if as_json:
        report: dict[str, Any] = {
            "valid": all(outcome.ok for outcome in outcomes),
            "checks": [{**asdict(outcome), "ok": outcome.ok} for outcome in outcomes],
        }
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(render(outcomes))
    sys.exit(EXIT_OK if all(outcome.ok for outcome in outcomes) else EXIT_PROBLEMS)
