"""A failed Dagster run as one line for the user, and its whole story in a log file.

Dagster prints every failed step with its stack trace (35 to 200 lines for a
single failing check). `burnwatch run` keeps Dagster's console quiet, and when
the run fails it writes every event of the run, with the full traces, to
`<warehouse>/logs/<run id>.log` (secrets redacted), and raises one line that
names what failed, and where (check, tenant, day), and the log's path.

A run stopped by Ctrl-C (SIGINT) or SIGTERM raises `RunInterrupted`, which the
command line turns into exit status 130.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.warehouse.atomic import write_text_atomic
from schemas.errors import BurnwatchInputError

if TYPE_CHECKING:
    # Types only: the command line imports RunInterrupted from here before any run.
    import dagster as dg

    from schemas.manifest import Manifest

LOG_DIR = "logs"
# The metadata key in which a check states, on one line, what failed and where.
FAILURE_KEY = "failure"
_INTERRUPTS = {"DagsterExecutionInterruptedError", "KeyboardInterrupt", "InterruptException"}
# DuckDB turns a SIGINT that arrives during a query into this error (a RuntimeError).
_DUCKDB_INTERRUPTED = "Query interrupted"


class RunInterrupted(Exception):
    """The run was interrupted (Ctrl-C); `str()` says where its log is.

    Not a KeyboardInterrupt: click would turn that into its own Abort and lose the
    message."""


def log_path(warehouse: Path, run_id: str) -> Path:
    return Path(warehouse) / LOG_DIR / f"{run_id}.log"


def _errors(result: dg.ExecuteInJobResult) -> list[tuple[str, dg.DagsterEvent]]:
    return [(event.step_key or "", event) for event in result.get_step_failure_events()]


def _chain(event: dg.DagsterEvent) -> list[Any]:
    error = event.step_failure_data.error if event.step_failure_data else None
    chain: list[Any] = []
    while error is not None:
        chain.append(error)
        error = error.cause or error.context
    return chain


def interrupted(result: dg.ExecuteInJobResult) -> bool:
    """True when a step failed because the process was interrupted (SIGINT, SIGTERM)."""
    return any(
        getattr(error, "cls_name", "") in _INTERRUPTS
        or str(getattr(error, "message", "")).strip().endswith(_DUCKDB_INTERRUPTED)
        for _, event in _errors(result)
        for error in _chain(event)
    )


def _failed_checks(result: dg.ExecuteInJobResult) -> list[str]:
    """One line per failed check: its own statement of what failed, else its name."""
    lines = []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            continue
        name = f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}"
        stated = evaluation.metadata.get(FAILURE_KEY)
        detail = getattr(stated, "value", None) or getattr(evaluation, "description", None)
        lines.append(f"check {name} failed" + (f": {detail}" if detail else ""))
    return lines


def summary(result: dg.ExecuteInJobResult) -> str:
    """The first failure, as the user's own error where there is one."""
    checks = _failed_checks(result)
    if checks:
        more = f" (and {len(checks) - 1} more failed check(s))" if len(checks) > 1 else ""
        return checks[0] + more
    for step, event in _errors(result):
        chain = _chain(event)
        for error in chain:
            if getattr(error, "cls_name", "") == "BurnwatchInputError":
                return str(getattr(error, "message", "")).split(": ", 1)[-1].strip()
        if chain:
            # The innermost error is the one that says what went wrong (an OSError, a
            # DuckDB error), not Dagster's wrapper around it.
            inner = chain[-1]
            message = str(getattr(inner, "message", "")).strip().splitlines()
            return f"step {step} failed: {message[0] if message else inner}"
    return "the Dagster run failed"


def write_log(warehouse: Path, result: dg.ExecuteInJobResult, manifest: Manifest) -> Path:
    """Every event of the run, failures with their full traces, secrets redacted."""
    from pipelines.notify.dispatch import Redactor

    redact = Redactor(manifest.notifications)
    lines = [f"burnwatch run {result.run_id}: {'succeeded' if result.success else 'failed'}"]
    for event in result.all_events:
        lines.append(f"{event.event_type_value} {event.step_key or '-'}: {event.message or ''}")
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            lines.append(event.step_failure_data.error.to_string())
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            lines.append(f"failed check {evaluation.check_name}:")
            lines.extend(f"  {key}: {value.value}" for key, value in evaluation.metadata.items())
    text = redact("\n".join(lines) + "\n") or ""
    return write_text_atomic(log_path(warehouse, result.run_id), text)


def failure(warehouse: Path, result: dg.ExecuteInJobResult, manifest: Manifest) -> BaseException:
    """The exception to raise for a failed run (after writing its log)."""
    try:
        path: Path | None = write_log(warehouse, result, manifest)
    except OSError:
        path = None  # an unwritable warehouse cannot hold its log either: say only why
    where = f" (full log: {path})" if path else ""
    if interrupted(result):
        return RunInterrupted(
            f"interrupted: every file written is whole; run again to finish{where}"
        )
    return BurnwatchInputError(f"{summary(result)}{where}")
