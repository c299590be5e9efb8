"""The audit log: one decision per transition, hash-chained, verifiable against the lake."""

from __future__ import annotations

import json
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
