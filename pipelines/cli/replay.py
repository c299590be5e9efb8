"""`burnwatch replay`: alert policies replayed over history and compared."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from pipelines.cli.options import manifest_option, quiet_option, warehouse_option


@click.command("replay")
@warehouse_option("The warehouse `burnwatch run` wrote.")
@manifest_option()
@click.option(
    "--policy",
    "policies",
    multiple=True,
    metavar="NAME|FILE",
    help="A built-in policy (workbook, cohort, single-window, manifest) or a YAML "
    "file with `rules:`; repeat to compare. Default: workbook, cohort, "
    "single-window.",
)
@click.option(
    "--incidents",
    type=click.Path(path_type=Path),
    help="CSV of known incidents: start, end, tenant_id, slo_name "
    "(sample-data's incidents.csv is one).",
)
@click.option(
    "--from",
    "first",
    type=click.DateTime(["%Y-%m-%d"]),
    help="First day to replay (default: the first computed day).",
)
@click.option(
    "--to",
    "last",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Last day to replay (default: the last computed day).",
)
@quiet_option()
def replay_command(
    warehouse: Path,
    manifest: Path,
    policies: tuple[str, ...],
    incidents: Path | None,
    first: dt.datetime | None,
    last: dt.datetime | None,
    quiet: bool,
) -> None:
    """Replay alert policies over history and compare precision, recall, detection and reset."""
    from pipelines.policy.replay import DEFAULT_POLICIES, comparison_text, replay
    from pipelines.warehouse import lake

    result = replay(
        warehouse,
        manifest,
        policies or DEFAULT_POLICIES,
        incidents,
        first.date() if first else None,
        last.date() if last else None,
        progress=None if quiet else lambda line: click.echo(line, err=True),
    )
    click.echo(
        f"replayed {result.first_day} .. {result.last_day}: {result.episodes} episode(s), "
        f"{result.incidents} incident(s)\n"
    )
    click.echo(comparison_text(result.comparison))
    click.echo(
        f"\ntables: {lake.lake_dir(warehouse, 'replay_comparison')}, replay_episodes, "
        "replay_detections"
    )
