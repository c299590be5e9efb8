"""`burnwatch import-openslo`: an OpenSLO v1 document as a Burnwatch manifest."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("import-openslo")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    help="Write the manifest here (default: standard output).",
)
@click.option(
    "--tenant",
    default="default",
    show_default=True,
    help="Tenant of SLOs without a `tenant` label.",
)
@click.option(
    "--cohort", default="imported", show_default=True, help="Cohort the imported tenants belong to."
)
@click.option(
    "--strict", is_flag=True, help="Exit 1, writing nothing, if anything could not be mapped."
)
def import_openslo_command(
    file: Path, out: Path | None, tenant: str, cohort: str, strict: bool
) -> None:
    """Turn OpenSLO v1 YAML (SLO, SLI, AlertPolicy, AlertCondition) into a Burnwatch manifest."""
    from pipelines.interop.openslo import import_openslo, manifest_yaml, read_documents

    imported = import_openslo(read_documents(file), tenant=tenant, cohort=cohort)
    for line in imported.warnings:
        click.echo(f"burnwatch: warning: {line}", err=True)
    if strict and imported.warnings:
        click.echo(
            f"burnwatch: {len(imported.warnings)} thing(s) could not be mapped "
            "(--strict): nothing written",
            err=True,
        )
        sys.exit(1)
    text = manifest_yaml(imported, file.name)
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    slos = sum(len(t["slos"]) for t in imported.manifest["tenants"])
    click.echo(f"wrote {slos} SLO(s) to {out} ({len(imported.warnings)} warning(s))", err=True)
