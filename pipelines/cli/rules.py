"""`burnwatch rules`: Prometheus recording and alerting rules from the manifest."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.cli.options import manifest_option
from pipelines.interop.prometheus_rules import FILE_PREFIX, FILE_SUFFIX, rule_groups, write_rules
from schemas.manifest import load_manifest


@click.command("rules")
@manifest_option()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for the rule files (one per tenant); stale ones are removed.",
)
def rules_command(manifest: Path, out_dir: Path) -> None:
    """Write Prometheus recording and alerting rules for every SLO, from the same policy."""
    loaded = load_manifest(manifest)
    paths = write_rules(loaded, out_dir, source=manifest.name)
    ruleset = rule_groups(loaded)
    for slo, reason in ruleset.skipped:
        click.echo(f"burnwatch: no rules for {slo.tenant_id}/{slo.slo_name}: {reason}", err=True)
    groups = sum(len(groups) for groups in ruleset.groups.values())
    alerts = sum(
        1
        for groups in ruleset.groups.values()
        for group in groups
        for rule in group["rules"]
        if "alert" in rule
    )
    click.echo(
        f"wrote {len(paths)} rule file(s), {groups} SLO(s), {alerts} alert rule(s) to {out_dir}"
    )
    click.echo(f"check them with: promtool check rules {out_dir}/{FILE_PREFIX}*{FILE_SUFFIX}")
