"""The audit log: one decision per transition, hash-chained, verifiable against the lake."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from pipelines.cli.commands import cli
from pipelines.warehouse import lake
from tests.notify_fixtures import (
    DAY,
    Workspace,
    expected_messages,
    expected_transitions,
    make_workspace,
    webhook_routes,
)

ROUTES = webhook_routes("severities: [page]")


@pytest.fixture
def workspace(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Workspace:
    workspace = make_workspace(tmp_path_factory, tmp_path, ROUTES)
    workspace.run(dry_run=True)
    return workspace


def verify(workspace: Workspace) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify", "--warehouse", str(workspace.warehouse)])
    return result.exit_code, result.output


def test_every_transition_has_one_decision_record_with_its_evidence(workspace: Workspace) -> None:
    workspace.run(dry_run=True)  # again: nothing new to record
    records = workspace.audit()
    decisions = [r for r in records if r["kind"] == "decision"]
    transitions = len(expected_transitions(workspace))
    assert len(decisions) == len({r["transition_key"] for r in decisions}) == transitions
    page = next(r for r in decisions if r["transition"] == "escalated")
    assert page["decision"] == {"action": "notify", "channels": ["hook"], "dry_run": True}
    assert page["policy"]["burn_threshold"] in (14.4, 6.0)
    assert page["windows"]["long"]["burn_rate"] > page["policy"]["burn_threshold"]
    assert page["windows"]["long"]["total"] > 0 and page["windows"]["fires"] is True
    assert len(page["inputs"]["sha256"]) == 64
    ticket = next(r for r in decisions if r["policy"]["severity"] == "ticket")
    assert ticket["decision"]["action"] == "no_route"
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    # The lake holds the same records, and the catalog shows them as views.
    lake.refresh_catalog(workspace.warehouse)
    table = duckdb.connect(str(workspace.warehouse / "burnwatch.duckdb"), read_only=True)
    assert table.execute("select count(*) from audit_log").fetchone() == (len(records),)
    pages = expected_messages(workspace, severities={"page"})
    assert table.execute("select count(*) from notifications").fetchone() == (pages,)


def test_verify_passes_on_an_untouched_warehouse(workspace: Workspace) -> None:
    code, output = verify(workspace)
    assert code == 0, output
    assert "ok: " in output


def test_verify_reports_a_decision_whose_lake_rows_changed(workspace: Workspace) -> None:
    path = lake.partition_path(workspace.warehouse, "fct_alert_evaluations", DAY)
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select * replace (case when rule_name = 'page-1h' and eval_ts = "
            f"timestamp '2026-11-20 08:10:00' then long_burn_rate + 1 else long_burn_rate end "
            f"as long_burn_rate) from read_parquet('{path}')) to '{path}.new' (format parquet)"
        )
    Path(f"{path}.new").replace(path)
    code, output = verify(workspace)
    assert code == 1
    assert (
        "escalated of acme/api-availability/page-1h at 2026-11-20T08:10:00: inputs changed"
        in output
    )
    assert output.count("inputs changed") == 1


def test_verify_reports_an_edited_audit_line(workspace: Workspace) -> None:
    path = workspace.warehouse / "audit" / "audit.jsonl"
    lines = path.read_text().splitlines()
    record = json.loads(lines[2])
    record["decision"]["action"] = "no_route"
    lines[2] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")
    code, output = verify(workspace)
    assert code == 1
    assert "audit.jsonl:3: record_hash does not match" in output


# --- A log a verifier can trust: truncation, re-chained edits, bad bytes, the key ------

AUDIT_KEY = "a-long-audit-key-for-the-tests"


def audit_file(workspace: Workspace) -> Path:
    return workspace.warehouse / "audit" / "audit.jsonl"


def rechain(lines: list[str], key: bytes | None = None) -> list[str]:
    """The records chained again from the start (what a forger without the key can do)."""
    from pipelines.notify.audit import GENESIS, MAC, record_hash
    from pipelines.notify.evidence import canonical_json

    out, previous = [], GENESIS
    for seq, line in enumerate(lines, start=1):
        record = json.loads(line)
        record.pop("mac", None)
        record.update(seq=seq, prev_hash=previous)
        if key is not None:
            record["mac"] = MAC
        record["record_hash"] = record_hash(record, key)
        previous = record["record_hash"]
        out.append(canonical_json(record))
    return out


def edit_and_rechain(lines: list[str], key: bytes | None = None) -> list[str]:
    record = json.loads(lines[2])
    record["decision"]["action"] = "no_route"
    return rechain([*lines[:2], json.dumps(record), *lines[3:]], key)


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines))


TAMPERING = [
    ("last lines removed", lambda lines: lines[:-3], "truncated: the log holds"),
    ("first 2 kept", lambda lines: lines[:2], "record(s) 3 to"),
    ("emptied", lambda lines: [], "truncated: the log is empty"),
    ("edited and re-chained", edit_and_rechain, "audit.jsonl:3: differs from record 3"),
    # A line from the middle: the log holds 5 records (the fixture's grouped alerts).
    ("a line removed", lambda lines: lines[:1] + lines[2:], "audit.jsonl:2: seq 3 where 2"),
]


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [(tamper, expected) for _, tamper, expected in TAMPERING],
    ids=[case for case, _, _ in TAMPERING],
)
def test_verify_fails_on_a_tampered_log_with_a_one_line_reason(
    workspace: Workspace, tamper: Callable[[list[str]], list[str]], expected: str
) -> None:
    path = audit_file(workspace)
    write_lines(path, tamper(path.read_text().splitlines()))
    code, output = verify(workspace)
    assert code == 1, output
    problems = [line for line in output.splitlines() if "audit.jsonl" in line]
    assert problems and expected in problems[0], output


def test_verify_fails_on_a_deleted_log_whose_lake_copy_remains(workspace: Workspace) -> None:
    audit_file(workspace).unlink()
    code, output = verify(workspace)
    assert code == 1
    assert "truncated: the log is empty" in output


def test_verify_fails_on_bytes_that_are_not_utf8(workspace: Workspace) -> None:
    path = audit_file(workspace)
    data = path.read_bytes().split(b"\n")
    data[1] = data[1].replace(b'"kind"', b'"k\xffnd"', 1)
    path.write_bytes(b"\n".join(data))
    code, output = verify(workspace)
    assert code == 1
    assert "audit.jsonl:2: not UTF-8 (byte 0xff at column" in output
    assert "Traceback" not in output


def test_a_run_refuses_to_append_to_a_damaged_log(workspace: Workspace) -> None:
    from schemas.errors import BurnwatchInputError

    path = audit_file(workspace)
    path.write_bytes(path.read_bytes().replace(b"}\n", b"}\xff\n", 1))
    with pytest.raises(BurnwatchInputError, match=r"audit.jsonl:1: not UTF-8 .*damaged"):
        workspace.run(dry_run=True)


@pytest.fixture
def keyed(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Workspace:
    """A workspace whose audit log is keyed with BURNWATCH_AUDIT_KEY from its first record."""
    from pipelines.notify.audit import ENV_AUDIT_KEY

    monkeypatch.setenv(ENV_AUDIT_KEY, AUDIT_KEY)
    workspace = make_workspace(tmp_path_factory, tmp_path, ROUTES)
    workspace.run(dry_run=True)
    return workspace


def test_a_keyed_log_verifies_with_its_key(keyed: Workspace) -> None:
    assert all(record["mac"] == "hmac-sha256" for record in keyed.audit())
    code, output = verify(keyed)
    assert code == 0, output


def test_a_keyed_log_edited_and_rechained_in_both_places_without_the_key_fails(
    keyed: Workspace,
) -> None:
    from pipelines.notify.audit import audit_frame
    from pipelines.notify.dispatch import write_lake_frame

    path = audit_file(keyed)
    write_lines(path, edit_and_rechain(path.read_text().splitlines()))
    write_lake_frame(keyed.warehouse, "audit_log", audit_frame(path))  # the lake copy too
    code, output = verify(keyed)
    assert code == 1
    assert "no record is keyed, although BURNWATCH_AUDIT_KEY is set" in output


def test_a_keyed_log_rechained_under_another_key_fails(keyed: Workspace) -> None:
    path = audit_file(keyed)
    write_lines(path, edit_and_rechain(path.read_text().splitlines(), b"another key"))
    code, output = verify(keyed)
    assert code == 1
    assert "no record_hash matches (another BURNWATCH_AUDIT_KEY" in output


def test_a_keyed_log_needs_its_key(keyed: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.notify.audit import ENV_AUDIT_KEY
    from schemas.errors import BurnwatchInputError

    monkeypatch.delenv(ENV_AUDIT_KEY)
    code, output = verify(keyed)
    assert code == 1
    assert "keyed with HMAC-SHA256: set BURNWATCH_AUDIT_KEY to verify them" in output
    with pytest.raises(BurnwatchInputError, match=r"keyed .*set BURNWATCH_AUDIT_KEY"):
        keyed.run(dry_run=True)


def test_an_unkeyed_log_is_not_continued_with_a_key(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.notify.audit import ENV_AUDIT_KEY
    from schemas.errors import BurnwatchInputError

    monkeypatch.setenv(ENV_AUDIT_KEY, AUDIT_KEY)
    with pytest.raises(BurnwatchInputError, match="begun without a key"):
        workspace.run(dry_run=True)
