"""`burnwatch audit ...`: check the audit log against the lake."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipelines.cli.options import warehouse_option


@click.group("audit")
def audit() -> None:
    """The notifications audit log (<warehouse>/audit/audit.jsonl)."""


@audit.command("verify")
@warehouse_option("The warehouse folder.")
def verify(warehouse: Path) -> None:
    """Check the hash chain (an HMAC under $BURNWATCH_AUDIT_KEY if set), hold the log
    against its copy in lake/audit_log (count, head, every record), and recompute
    every decision's input hash from the lake.

    Exits 0 when every record matches, 1 (one line per problem) otherwise.
    """
    from pipelines.notify.audit import LAKE_TABLE, audit_path
    from pipelines.notify.audit import verify as verify_log
    from pipelines.warehouse.lake import lake_dir

    path = audit_path(warehouse)
    if not path.is_file() and not lake_dir(warehouse, LAKE_TABLE).is_dir():
        click.echo(
            f"burnwatch: error: no audit log at {path} (run `burnwatch run` first)", err=True
        )
        sys.exit(2)
    checked, problems = verify_log(warehouse)
    for problem in problems:
        click.echo(problem)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {checked} audit record(s)", err=True)
        sys.exit(1)
    click.echo(f"ok: {checked} audit record(s) verified against {warehouse / 'lake'}")
