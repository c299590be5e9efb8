"""The checks of `burnwatch validate`: manifest, contracts, SQL models and input footers,
each a `CheckOutcome`; nothing is computed or written (pipelines/cli/validate.py is the
command)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipelines.engines.spark_sql import lint_files
from pipelines.ingest.files import computed_range, inventory_requests
from pipelines.ingest.footers import inspect_files, ts_day_range
from pipelines.models.registry import sql_models
from pipelines.models.sql_check import check_models
from pipelines.notify.events import read_change_events
from schemas.contracts import find_overrides_file, load_overrides
from schemas.errors import BurnwatchInputError
from schemas.manifest import load_manifest


@dataclass
class CheckOutcome:
    """One validation step: its name, what it covered, and what is wrong."""

    name: str
    summary: str = ""
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _manifest(path: Path) -> CheckOutcome:
    outcome = CheckOutcome("manifest")
    try:
        manifest = load_manifest(path)
        outcome.summary = (
            f"{path}: {len(manifest.tenants)} tenants, {len(manifest.resolved_slos())} SLOs"
        )
    except BurnwatchInputError as error:
        outcome.problems.append(str(error))
    return outcome


def _contracts(explicit: Path | None, data: Path | None, manifest: Path) -> CheckOutcome:
    outcome = CheckOutcome("contracts")
    path = find_overrides_file(explicit, data, manifest)
    try:
        overrides = load_overrides(path)
        outcome.summary = (
            f"{path}: {len(overrides.services)} service override(s)"
            if path
            else "no contracts.yaml: the default contract applies"
        )
    except BurnwatchInputError as error:
        outcome.problems.append(str(error))
    return outcome


def _models() -> CheckOutcome:
    outcome = CheckOutcome("sql_models")
    problems = check_models()
    outcome.problems = [str(problem) for problem in problems]
    outcome.summary = "every model in sql/ parses, qualifies and types against schemas/"
    return outcome


def _portable() -> CheckOutcome:
    outcome = CheckOutcome("portable_sql")
    outcome.problems = [str(p) for p in lint_files(entry.path for entry in sql_models())]
    outcome.summary = "every model is in the portable subset the Spark engine runs (docs/spark.md)"
    return outcome


def _manifest_tenants(manifest: Path) -> list[str] | None:
    """The manifest's tenant ids, None when it does not load (the manifest step says why)."""
    try:
        return [tenant.id for tenant in load_manifest(manifest).tenants]
    except BurnwatchInputError:
        return None


def _partitions(data: Path, explicit: Path | None, manifest: Path) -> CheckOutcome:
    outcome = CheckOutcome("partitions")
    try:
        inventory = inventory_requests(data)
        overrides = load_overrides(find_overrides_file(explicit, data, manifest))
    except BurnwatchInputError as error:
        outcome.problems.append(str(error))
        return outcome
    # What the run would not count, and manifest tenants without logs: the run says the
    # same lines (and exits 3 for the first kind).
    tenants = _manifest_tenants(manifest)
    if tenants is not None:
        outcome.warnings.extend(inventory.tenant_warnings(tenants)[1])
        outcome.warnings.extend(inventory.uncounted_warnings(tenants))
    else:
        outcome.warnings.extend(entry.warning() for entry in inventory.skipped)
    # The same verdicts the run reads by (`inspect_files`): what is cast here is cast there.
    verdicts = inspect_files(inventory.files, overrides)
    for verdict in verdicts:
        where = f"{verdict.file.path} (tenant {verdict.file.tenant}, partition {verdict.file.day})"
        if verdict.quarantined:
            outcome.problems.append(f"{where}: would be quarantined: {verdict.detail}")
        elif verdict.findings:
            outcome.warnings.append(
                f"{where}: " + "; ".join(f"{f.detail} [{f.action}]" for f in verdict.findings)
            )
    # The edges of the computed range, by footer statistics: rows dated the day before the
    # first folder, or after the last, will be quarantined as outside_computed_range.
    first, last = computed_range(inventory.files)
    for verdict in verdicts:
        bounds = None if verdict.quarantined else ts_day_range(verdict.file)
        if bounds is not None and (bounds[0] < first or bounds[1] > last):
            outside = bounds[0] if bounds[0] < first else bounds[1]
            outcome.warnings.append(
                f"{verdict.file.path} (tenant {verdict.file.tenant}, partition "
                f"{verdict.file.day}): footer statistics show ts on {outside}, a day no run "
                f"computes ({first} .. {last}): such rows will be quarantined "
                "(outside_computed_range)"
            )
    days = {v.file.day for v in verdicts}
    outcome.summary = (
        f"{len(verdicts)} file(s), {len(inventory.tenants)} tenant(s), {len(days)} day(s), "
        f"{len(inventory.skipped)} entries not read: footers only, no data read"
    )
    return outcome


def _events(data: Path) -> CheckOutcome:
    outcome = CheckOutcome("change_events")
    try:
        events = read_change_events(data)
        outcome.summary = f"{len(events)} change event(s) under {data / 'events'}"
    except BurnwatchInputError as error:
        outcome.problems.append(str(error))
    return outcome


def validate_all(
    manifest: Path, data: Path | None = None, contracts_file: Path | None = None
) -> list[CheckOutcome]:
    """Every validation step, in order; nothing is computed or written."""
    steps = [
        _manifest(manifest),
        _contracts(contracts_file, data, manifest),
        _models(),
        _portable(),
    ]
    if data is not None:
        steps.append(_partitions(data, contracts_file, manifest))
        steps.append(_events(data))
    return steps


def render(outcomes: list[CheckOutcome]) -> str:
    lines = []
    for outcome in outcomes:
        mark = "ok  " if outcome.ok else "FAIL"
        lines.append(f"{mark} {outcome.name}: {outcome.summary}".rstrip(": "))
        lines.extend(f"     error: {problem}" for problem in outcome.problems)
        lines.extend(f"     warning: {warning}" for warning in outcome.warnings)
    failed = sum(not outcome.ok for outcome in outcomes)
    warned = sum(len(outcome.warnings) for outcome in outcomes)
    noted = f" ({warned} warning(s))" if warned else ""
    lines.append(f"valid{noted}" if not failed else f"{failed} check(s) failed{noted}")
    return "\n".join(lines)
