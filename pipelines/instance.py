"""The Dagster instance `burnwatch run` records its runs in, and the repair that keeps a killed
run from blocking the next one.

With `$DAGSTER_HOME` set (the Makefile sets it), a run is recorded in that instance, so
`dagster dev` shows every materialization with its metadata and checks. That instance's
concurrency pool ("duckdb") hands out slots that a SIGKILLed run never gives back. So
before each run, while holding the warehouse lock, the slots of runs that cannot be
running any more are freed (`free_stale_slots`): a run this instance has no record of, a
run that has finished, and a `burnwatch run` that is still marked in progress although its
process is gone (marked failed, so the UI does not show it running for ever).
A run launched from the UI that is really running keeps its slot: the next run waits for it.
Without `$DAGSTER_HOME`, runs use an ephemeral instance, as before.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import dagster as dg

# Tags on a `burnwatch run`, so that the next one can tell whether it is still alive.
TAG_WAREHOUSE = "burnwatch/warehouse"
TAG_PID = "burnwatch/pid"
TAG_HOST = "burnwatch/host"
# The instance settings the Makefile copies to $DAGSTER_HOME (telemetry off, pools).
PROJECT_CONFIG = Path(__file__).resolve().parents[1] / "dagster.yaml"


def run_instance() -> dg.DagsterInstance:
    """The instance at `$DAGSTER_HOME` when it is set, else an ephemeral one."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return dg.DagsterInstance.ephemeral()
    config = Path(home) / "dagster.yaml"
    if not config.is_file():
        # Without one Dagster warns and turns telemetry on: start from the project's settings.
        config.parent.mkdir(parents=True, exist_ok=True)
        if PROJECT_CONFIG.is_file():
            shutil.copyfile(PROJECT_CONFIG, config)
        else:  # installed without the source tree
            config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return dg.DagsterInstance.get()


def run_tags(warehouse: Path) -> dict[str, str]:
    """What identifies this process's run on `warehouse` to the next run."""
    return {
        TAG_WAREHOUSE: str(Path(warehouse).resolve()),
        TAG_PID: str(os.getpid()),
        TAG_HOST: socket.gethostname(),
    }


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_dead(run: dg.DagsterRun, warehouse: str) -> bool:
    """Whether an unfinished `burnwatch run` can no longer be running.

    One on the same warehouse is dead for sure: the caller holds that warehouse's lock,
    which dies with its holder. One on another warehouse is dead when its process on this
    host is gone. Runs without our tags (launched from the UI) are left to Dagster."""
    tags = run.tags
    if TAG_WAREHOUSE not in tags:
        return False
    if tags[TAG_WAREHOUSE] == warehouse:
        return True
    if tags.get(TAG_HOST) != socket.gethostname():
        return False
    return not _process_alive(int(tags.get(TAG_PID, "0") or 0))


def free_stale_slots(instance: dg.DagsterInstance, warehouse: Path) -> list[str]:
    """Free the pool slots held by runs that cannot be running; return their run ids.

    Call it while holding `warehouse`'s lock (pipelines.runner.warehouse_lock)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    resolved = str(Path(warehouse).resolve())
    freed: list[str] = []
    for run_id in sorted(storage.get_concurrency_run_ids()):
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            if not _is_dead(run, resolved):
                continue
            instance.report_run_failed(
                run, "the burnwatch run process ended without finishing (killed?)"
            )
        storage.free_concurrency_slots_for_run(run_id)
        freed.append(run_id)
    # A killed run that had not claimed a slot yet is still shown as running: close it too.
    for record in instance.get_run_records(
        dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING],
            tags={TAG_WAREHOUSE: resolved},
        )
    ):
        if record.dagster_run.run_id not in freed:
            instance.report_run_failed(
                record.dagster_run, "the burnwatch run process ended without finishing (killed?)"
            )
    return freed
