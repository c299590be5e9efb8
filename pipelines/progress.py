"""Progress lines for long commands (`burnwatch run`, `replay`, `sample-data`, `make bench`).

One plain line per step and per day, with rows and seconds, on stderr. Plain lines
rather than a bar: the output is mostly read from a CI log or a pipe, where a bar's
carriage returns turn into noise, and a step's days arrive a few seconds apart, so a
line each is already live enough on a terminal. `--quiet` turns them off.

Inside a Dagster run the lines come from a Dagster logger (`progress_logger`): the
assets log "<table> <day>: N rows in S s (i/n days)" through `context.log`, and the
logger adds one line per finished step from Dagster's own events (its duration, and the
row count of what it materialized). The UI's run log shows the same messages.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import dagster as dg
from dagster._core.log_manager import get_log_record_metadata, has_log_record_metadata

Say = Callable[[str], None]


def stderr_say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def quiet(_message: str) -> None:
    """A `say` that says nothing (`--quiet`)."""


class _StepLines(logging.Handler):
    """Turns a run's log records into progress lines: the assets' own INFO messages as they
    are, and one line per successful step with its rows and seconds."""

    def __init__(self, say: Say) -> None:
        super().__init__(level=logging.DEBUG)
        self.say = say
        self.rows: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if not has_log_record_metadata(record):
            return
        meta = get_log_record_metadata(record)
        event = meta["dagster_event"]
        step = meta["step_key"] or ""
        if event is None:
            message = str(meta["orig_message"])
            # The assets' own lines are INFO or WARNING. Dagster's ERROR lines about steps
            # it did not run after a failure are not progress: the failure is told once,
            # by its step-failure event below.
            if step and logging.INFO <= record.levelno <= logging.WARNING:
                self.say(f"  {message}")
            return
        if event.is_step_materialization:
            materialization = event.step_materialization_data.materialization
            count = materialization.metadata.get("dagster/row_count")
            if count is not None:
                # A multi-day step reports each day's partition with the step's total.
                self.rows[step] = int(count.value)  # type: ignore[arg-type]
        elif event.is_step_success:
            seconds = event.event_specific_data.duration_ms / 1000  # type: ignore[union-attr]
            self.say(step_line(step, self.rows.get(step), seconds))
        elif event.is_step_failure:
            self.say(f"{step}: failed")


def step_line(step: str, rows: int | None, seconds: float) -> str:
    """The line of a finished step: "fct_burn_rates: 5,040,000 rows in 2.6 s"."""
    counted = f"{rows:,} rows in " if rows is not None else ""
    return f"{step}: {counted}{seconds:.1f} s"


# step_line's lines, and only those: a day's lines are indented, a failure has no seconds.
_STEP_LINE = re.compile(r"(?P<step>[a-z0-9_]+): (?:[0-9,]+ rows in )?(?P<seconds>[0-9]+\.[0-9]) s")


def parse_step_line(line: str) -> tuple[str, float] | None:
    """(step, seconds) of a step_line, or None for any other line (`make bench` sums
    a run's steps from its progress lines)."""
    match = _STEP_LINE.fullmatch(line.rstrip("\n"))
    return (match["step"], float(match["seconds"])) if match else None


def progress_logger(say: Say) -> dg.LoggerDefinition:
    """A Dagster logger that prints progress lines through `say`."""

    def burnwatch_progress(_context: Any) -> logging.Logger:
        log = logging.getLogger(f"burnwatch.progress.{id(say)}")
        log.setLevel(logging.DEBUG)
        log.propagate = False
        log.handlers = [_StepLines(say)]
        return log

    return dg.LoggerDefinition(
        burnwatch_progress, description="Burnwatch progress lines: one per step and per day."
    )


class Stopwatch:
    """Seconds since it was made (or last `lap`), for "... in S s" lines."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def lap(self) -> float:
        now = time.perf_counter()
        seconds, self.started = now - self.started, now
        return seconds
