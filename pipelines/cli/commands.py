"""The `burnwatch` command line.

Bad input ends in one line on stderr, `burnwatch: error: <what> (<where>)`,
and exit status 2; no traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pipelines.cli.audit import audit as audit_group
from pipelines.cli.openslo import import_openslo_command
from pipelines.cli.options import data_option, manifest_option, quiet_option, warehouse_option
from pipelines.cli.replay import replay_command
from pipelines.cli.rules import rules_command
from pipelines.cli.spark import spark_sql_command
from pipelines.cli.sql import sql_command
from pipelines.cli.validate import EXIT_QUARANTINED, validate_command
from pipelines.run_failures import RunInterrupted
from schemas.errors import BurnwatchInputError


def _say(message: str) -> None:
    click.echo(message, err=True)


class _Date(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date like 2026-10-01", param, ctx)


DATE = _Date()
_F = TypeVar("_F", bound=Callable[..., Any])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="burnwatch")
def cli() -> None:
    """Burnwatch: exact per-tenant SLIs, error budgets and burn-rate alerts from request logs."""


@cli.command("sample-data")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder to write requests/, slos.yaml and incidents.csv into.",
)
@click.option("--tenants", default=12, show_default=True, help="Number of tenants.")
@click.option("--days", default=14, show_default=True, help="Number of days of traffic.")
@click.option("--seed", default=7, show_default=True, help="Random seed; same seed, same bytes.")
@click.option("--scale", default=1.0, show_default=True, help="Traffic volume multiplier.")
@quiet_option()
def sample_data(
    out_dir: Path, tenants: int, days: int, seed: int, scale: float, quiet: bool
) -> None:
    """Generate deterministic sample traffic with known incidents."""
    from pipelines.sample.generator import generate_sample

    summary = generate_sample(
        out_dir,
        tenants=tenants,
        days=days,
        seed=seed,
        scale=scale,
        progress=None if quiet else _say,
    )
    click.echo(
        f"wrote {summary.rows_written:,} rows ({summary.duplicate_rows:,} replica duplicates, "
        f"{summary.late_rows:,} late) for {summary.tenants} tenants over {summary.days} days "
        f"to {out_dir}"
    )
    click.echo(f"manifest: {summary.manifest}\nincidents (ground truth): {summary.incidents}")


@cli.command("run")
@data_option("Folder holding requests/tenant=<id>/date=<day>/.")
@manifest_option()
@warehouse_option("Folder for the Parquet lake and burnwatch.duckdb.")
@click.option("--start", type=DATE, help="First day to compute (default: the first folder).")
@click.option("--end", type=DATE, help="Last day to compute (default: the last folder).")
@click.option(
    "--threads", type=int, help="DuckDB threads (default: $BURNWATCH_THREADS, else all cores)."
)
@click.option(
    "--memory-limit",
    help="DuckDB memory limit, e.g. 4GB; beyond it, work spills (default: "
    "$BURNWATCH_MEMORY_LIMIT, else DuckDB's).",
)
@click.option("--dry-run", is_flag=True, help="Write notifications to the outbox, send none.")
@click.option(
    "--full",
    is_flag=True,
    help="Recompute every day from the logs alone (default on a warehouse with a ledger: "
    "a cycle over only the new or changed files).",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]),
    help="Evaluate no step after this UTC time (default: the data's horizon).",
)
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"], case_sensitive=False),
    help="What computes the SQL models (default: $BURNWATCH_ENGINE, else duckdb; spark "
    "needs the extra burnwatch[spark], docs/spark.md).",
)
@click.option(
    "--spark-master",
    help="Spark master URL, e.g. spark://host:7077 (default: $BURNWATCH_SPARK_MASTER, "
    "else local[*]); implies --engine spark.",
)
@click.option(
    "--spark-remote",
    help="Spark Connect server, e.g. sc://host:15002 (default: $BURNWATCH_SPARK_REMOTE); "
    "implies --engine spark.",
)
@quiet_option()
def run(
    data: Path,
    manifest: Path,
    warehouse: Path,
    start: dt.date | None,
    end: dt.date | None,
    threads: int | None,
    memory_limit: str | None,
    dry_run: bool,
    full: bool,
    as_of: dt.datetime | None,
    engine: str | None,
    spark_master: str | None,
    spark_remote: str | None,
    quiet: bool,
) -> None:
    """Compute every table for the days that need it, through Dagster, idempotently.

    The first run on a warehouse computes every day; later runs without --start/--end
    are cycles that read only new or changed request files (docs/live.md)."""
    from pipelines.assets.metadata import markdown_table
    from pipelines.reporting.status import read_status
    from pipelines.runner import run_pipeline
    from pipelines.warehouse.lake import read_table

    outcome = run_pipeline(
        data,
        manifest,
        warehouse,
        start,
        end,
        threads=threads,
        memory_limit=memory_limit,
        dry_run=dry_run,
        say=_say,
        full=full,
        as_of=as_of,
        progress=None if quiet else _say,
        engine=engine,
        spark_master=spark_master,
        spark_remote=spark_remote,
    )
    episodes = read_table(warehouse, "fct_alert_episodes")
    computed = f"{outcome.first_day} .. {outcome.last_day}" if outcome.first_day else "no new logs"
    click.echo(f"\n{episodes.height} alert episode(s), {computed}:")
    # The closing table is the status (fct_slo_status): what is happening now, per SLO.
    status = read_status(warehouse)
    click.echo(
        f"status of {status.height} tenant SLO(s), most urgent first "
        "(paging, ticketing, no data, then least budget left):"
    )
    click.echo(markdown_table(status, limit=100))
    catalog = warehouse / "burnwatch.duckdb"
    # The command as the user typed it (`.venv/bin/burnwatch` after `make demo`).
    command = sys.argv[0] if Path(sys.argv[0]).name == "burnwatch" else "burnwatch"
    click.echo(f"\nwarehouse: {catalog}  (query it: {command} sql --warehouse {warehouse})")
    click.echo(f"report:    {warehouse / 'reports' / 'report.html'}")
    click.echo(f"summary:   {warehouse / 'reports' / 'summary.md'}")
    for line in (*outcome.notes, *outcome.uncounted, *outcome.quarantined):
        _say(f"burnwatch: warning: {line}")
    if outcome.quarantined or outcome.uncounted:
        sys.exit(EXIT_QUARANTINED)


cli.add_command(rules_command)
cli.add_command(replay_command)
cli.add_command(validate_command)
cli.add_command(audit_group)
cli.add_command(import_openslo_command)
cli.add_command(sql_command)
cli.add_command(spark_sql_command)


def main() -> None:
    """Entry point of the `burnwatch` console script."""
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        # Click turns Ctrl-C (KeyboardInterrupt) into Abort; 130 = 128 + SIGINT, as a
        # shell reports a command that Ctrl-C stopped.
        _say("burnwatch: interrupted")
        sys.exit(130)
    except RunInterrupted as error:
        _say(f"burnwatch: {error}")
        sys.exit(130)
    except click.UsageError as error:
        # One line like every other input error (click's own is usage, hint and error).
        command = error.ctx.command_path if error.ctx else "burnwatch"
        _say(f"burnwatch: error: {error.format_message()} (see `{command} --help`)")
        sys.exit(error.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except BurnwatchInputError as error:
        _say(f"burnwatch: error: {error}")
        sys.exit(2)
    except KeyboardInterrupt:
        _say("burnwatch: interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
