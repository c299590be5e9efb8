"""The `command` channel: a real executable (a shell script written into tmp_path) gets
each message as JSON on stdin; its exit status is the delivery's result, retried and
recorded like any channel, exactly once through the outbox."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from pipelines.notify.dispatch import OUTPUT_LIMIT_CHARS
from schemas.errors import BurnwatchInputError
from schemas.manifest import load_manifest
from tests.notify_fixtures import BASE_MANIFEST, Workspace, expected_messages, make_workspace

RETRY = "attempts: 3, initial_seconds: 0.01, max_seconds: 0.05"


@pytest.fixture
def workspace(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path_factory, tmp_path)


def script(tmp_path: Path, name: str, body: str) -> Path:
    """An executable shell script `name` in tmp_path with `body` after the shebang."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def route_to_command(
    workspace: Workspace,
    executable: Path,
    transitions: str,
    settings: str = "",
    retry: str = RETRY,
) -> None:
    """Send the `transitions` notifications to a command channel running `executable`
    (`settings`: more keys of the channel, after a comma)."""
    workspace.configure(
        "\nnotifications:\n"
        f"  retry: {{{retry}}}\n"
        "  channels:\n"
        f"    rollback: {{type: command, command: [{executable}, --now]{settings}}}\n"
        "  routes:\n"
        "    - channel: rollback\n"
        f"      match: {{transitions: [{transitions}]}}\n"
    )


def attempts(workspace: Workspace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        workspace.table("delivery_attempts").sort("started_at", "key", "attempt").to_dicts()
    )
    return rows


def received(log: Path) -> list[dict[str, Any]]:
    """The JSON documents the script saved, one per line, in the order it ran."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_command_that_exits_0_delivers_each_message_once_with_the_json_on_stdin(
    workspace: Workspace, tmp_path: Path
) -> None:
    log = tmp_path / "received.jsonl"
    # The script keeps stdin whole on one line and says which argument it got.
    rollback = script(tmp_path, "rollback.sh", f'tr -d "\\n" >> {log}\necho >> {log}\necho "$1"\n')
    route_to_command(workspace, rollback, "escalated")

    summary = workspace.run()

    documents = received(log)
    expected = expected_messages(workspace, kinds={"escalated"})
    assert expected > 0
    assert len(documents) == summary.delivered == expected
    assert {d["schema"] for d in documents} == {"burnwatch.alert.v1"}
    assert {d["transition"] for d in documents} == {"escalated"}
    assert {d["tenant"] for d in documents} == {"acme"}
    outbox = workspace.table("notifications")
    assert set(outbox["status"]) == {"sent"} and set(outbox["channel_type"]) == {"command"}
    assert sorted(d["idempotency_key"] for d in documents) == sorted(outbox["key"])
    rows = attempts(workspace)
    assert [(r["outcome"], r["status_code"], r["error"]) for r in rows] == [
        ("ok", 0, None)
    ] * expected
    assert {r["output"] for r in rows} == {"[stdout]\n--now\n"}


def test_a_non_zero_exit_is_retried_then_recorded_with_its_output(
    workspace: Workspace, tmp_path: Path
) -> None:
    counter = tmp_path / "count"
    # Exit 3 twice (saying why on stderr), then succeed: the counter survives the attempts.
    flaky = script(
        tmp_path,
        "escalate.sh",
        f"cat > /dev/null\nn=$(cat {counter} 2>/dev/null || echo 0)\n"
        f"echo $((n + 1)) > {counter}\n"
        'if [ "$n" -lt 2 ]; then echo "pager busy ($n)" >&2; exit 3; fi\n',
    )
    route_to_command(workspace, flaky, "escalated")

    workspace.run()

    first = attempts(workspace)[:3]
    assert len({r["key"] for r in first}) == 1
    assert [(r["attempt"], r["outcome"], r["status_code"]) for r in first] == [
        (1, "error", 3),
        (2, "error", 3),
        (3, "ok", 0),
    ]
    assert [r["error"] for r in first] == ["exit status 3", "exit status 3", None]
    assert [r["output"] for r in first] == [
        "[stderr]\npager busy (0)\n",
        "[stderr]\npager busy (1)\n",
        None,
    ]
    audited = [r for r in workspace.audit() if r["kind"] == "attempt"]
    assert [(r["attempt"], r["outcome"], r["output"]) for r in audited][:3] == [
        (1, "error", "[stderr]\npager busy (0)\n"),
        (2, "error", "[stderr]\npager busy (1)\n"),
        (3, "ok", None),
    ]


def test_a_command_failing_every_attempt_is_failed_and_delivered_by_the_next_run(
    workspace: Workspace, tmp_path: Path
) -> None:
    switch, log = tmp_path / "healthy", tmp_path / "received.jsonl"
    command = script(
        tmp_path,
        "kill-canary.sh",
        f"[ -e {switch} ] || exit 1\ntr -d '\\n' >> {log}\necho >> {log}\n",
    )
    route_to_command(workspace, command, "resolved")

    first = workspace.run()
    assert first.delivered == 0 and first.failed == first.new_messages > 0
    assert set(workspace.table("notifications")["status"]) == {"failed"}
    assert len(attempts(workspace)) == 3 * first.new_messages  # RETRY's 3 attempts each

    switch.touch()
    second = workspace.run()
    assert second.delivered == first.new_messages
    assert len(received(log)) == first.new_messages


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie that nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_command_past_its_timeout_is_killed_with_its_children_and_recorded(
    workspace: Workspace, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    # The script starts a child that holds its stdout, then hangs: both must die.
    hanging = script(
        tmp_path,
        "hang.sh",
        f"echo started\nsleep 300 &\necho $$ $! >> {pids}\nwait\n",
    )
    route_to_command(
        workspace,
        hanging,
        "escalated",
        settings=", timeout_seconds: 0.5",
        retry="attempts: 2, initial_seconds: 0.01",
    )

    summary = workspace.run()

    assert summary.delivered == 0 and summary.failed == summary.new_messages > 0
    rows = attempts(workspace)
    assert len(rows) == 2 * summary.new_messages
    assert {(r["outcome"], r["status_code"], r["error"]) for r in rows} == {
        ("error", None, "timed out after 0.5 s (killed)")
    }
    assert {r["output"] for r in rows} == {"[stdout]\nstarted\n"}
    started = [int(pid) for line in pids.read_text().splitlines() for pid in line.split()]
    assert len(started) == 2 * len(rows)
    assert [pid for pid in started if _alive(pid)] == []


def test_secrets_the_command_reads_are_redacted_from_its_recorded_output(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "tok-9f8e7d6c5b4a"
    monkeypatch.setenv("ROLLBACK_TOKEN", secret)
    leaky = script(
        tmp_path,
        "leaky.sh",
        'cat > /dev/null\necho "auth: Bearer $ROLLBACK_TOKEN"\n'
        'echo "denied for $ROLLBACK_TOKEN" >&2\nexit 2\n',
    )
    route_to_command(workspace, leaky, "escalated", settings=", secret_envs: [ROLLBACK_TOKEN]")

    workspace.run()

    rows = attempts(workspace)
    assert rows and {r["output"] for r in rows} == {
        "[stdout]\nauth: Bearer [REDACTED]\n[stderr]\ndenied for [REDACTED]\n"
    }
    audit_text = (workspace.warehouse / "audit" / "audit.jsonl").read_text()
    assert "[REDACTED]" in audit_text and secret not in audit_text
    exported = (workspace.warehouse / "lake" / "delivery_attempts" / "data.parquet").read_bytes()
    assert secret.encode() not in exported


def test_output_is_cut_to_its_bound_after_redaction_so_no_part_of_a_secret_is_kept(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "tok-0123456789abcdef"
    monkeypatch.setenv("ROLLBACK_TOKEN", secret)
    # The secret straddles the bound: cutting first would keep its first half.
    padding = OUTPUT_LIMIT_CHARS - 8
    verbose = script(
        tmp_path,
        "verbose.sh",
        f"cat > /dev/null\nprintf '%{padding}s' '' | tr ' ' x\n"
        'echo "$ROLLBACK_TOKEN"\nprintf "%20000s" "" | tr " " y >&2\n',
    )
    route_to_command(workspace, verbose, "escalated", settings=", secret_envs: [ROLLBACK_TOKEN]")

    workspace.run()

    output = attempts(workspace)[0]["output"]
    stdout, stderr = output.split("[stderr]\n")
    assert (
        stdout == "[stdout]\n" + "x" * padding + "[REDACTED]"[:8] + "... [3 more characters cut]\n"
    )
    assert secret[:4] not in output
    cut = 20000 - OUTPUT_LIMIT_CHARS
    assert stderr == "y" * OUTPUT_LIMIT_CHARS + f"... [{cut} more characters cut]\n"


def test_each_message_runs_the_command_exactly_once_across_two_runs(
    workspace: Workspace, tmp_path: Path
) -> None:
    log = tmp_path / "received.jsonl"
    command = script(tmp_path, "record.sh", f"tr -d '\\n' >> {log}\necho >> {log}\n")
    route_to_command(workspace, command, "opened, escalated, resolved")

    first = workspace.run()
    second = workspace.run()

    keys = [d["idempotency_key"] for d in received(log)]
    routed = expected_messages(workspace, kinds={"opened", "escalated", "resolved"})
    assert len(keys) == len(set(keys)) == first.delivered == routed > 0
    assert second.new_messages == second.delivered == 0
    assert len(attempts(workspace)) == len(keys)


def test_a_missing_executable_fails_without_retrying_now_and_names_it(
    workspace: Workspace, tmp_path: Path
) -> None:
    route_to_command(workspace, tmp_path / "not-there.sh", "escalated")

    summary = workspace.run()

    rows = attempts(workspace)
    assert summary.failed == summary.new_messages == len(rows) > 0  # one attempt each
    assert {r["error"] for r in rows} == {
        f"cannot run {tmp_path / 'not-there.sh'} (FileNotFoundError)"
    }
    assert set(workspace.table("notifications")["status"]) == {"failed"}


@pytest.mark.parametrize(
    ("channel", "complaint"),
    [
        ("{type: command, command: [scripts/rollback.sh]}", "give an absolute path"),
        ("{type: command, command: []}", "command: List should have at least 1 item"),
        ("{type: command, command: [/bin/true], timeout_seconds: 0}", "timeout_seconds"),
        ("{type: command, command: [/bin/true], secret_envs: [my-token]}", "not an environment"),
    ],
)
def test_a_bad_command_channel_is_one_error_naming_the_key(
    tmp_path: Path, channel: str, complaint: str
) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(BASE_MANIFEST + f"notifications:\n  channels:\n    c: {channel}\n")
    with pytest.raises(BurnwatchInputError) as error:
        load_manifest(path)
    message = str(error.value)
    assert message.startswith(f"{path}:") and "notifications.channels.c" in message
    assert complaint in message and "\n" not in message


def test_the_command_inherits_the_environment(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLLBACK_TARGET", "canary-7")
    out = tmp_path / "target"
    command = script(tmp_path, "target.sh", f'cat > /dev/null\necho "$ROLLBACK_TARGET" > {out}\n')
    route_to_command(workspace, command, "escalated")
    workspace.run()
    assert out.read_text() == "canary-7\n"
    assert set(workspace.table("notifications")["status"]) == {"sent"}
