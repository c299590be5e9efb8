"""`burnwatch rules`: Prometheus recording and alerting rules from the manifest."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.cli.options import manifest_option


@click.command("rules")
@manifest_option()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for the rule files (one per cohort); other burnwatch-*.rules.yml go.",
)
def rules_command(manifest: Path, out_dir: Path) -> None:
    """Write Prometheus recording and alerting rules for every SLO, from the same policy.

    One rule group per cohort and SLO template, whatever the number of tenants; the
    command prints how many rules that is, and the series they will create.
    """
    from pipelines.interop.prometheus_rules import (
        FILE_PREFIX,
        FILE_SUFFIX,
        rule_groups,
        write_rules,
    )
    from schemas.manifest import load_manifest

    loaded = load_manifest(manifest)
    ruleset = rule_groups(loaded)
    paths = write_rules(loaded, out_dir, source=manifest.name, ruleset=ruleset)
    for slo, reason in ruleset.skipped:
        click.echo(f"burnwatch: no rules for {slo.tenant_id}/{slo.slo_name}: {reason}", err=True)
    groups = sum(len(groups) for groups in ruleset.groups.values())
    recorded, alerting = ruleset.series()
    click.echo(
        f"wrote {len(paths)} rule file(s) to {out_dir}: {ruleset.rules} rules "
        f"({ruleset.alerts} alerting) in {groups} group(s), one per SLO template, "
        f"for {ruleset.tenant_slos} tenant SLO(s)"
    )
    click.echo(
        f"series: about {recorded:,} recorded (one per tenant SLO and recording rule), "
        f"plus up to {alerting:,} ALERTS/ALERTS_FOR_STATE while every alert fires"
    )
    click.echo(f"check them with: promtool check rules {out_dir}/{FILE_PREFIX}*{FILE_SUFFIX}")
