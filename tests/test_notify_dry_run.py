"""`burnwatch run --dry-run` fills the outbox and the audit log, sends nothing; secrets never
leak into any output of a real run either."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipelines.cli.commands import cli
from tests.cli_helpers import run_args
from tests.notify_fixtures import (
    HttpReceiver,
    SmtpSink,
    Workspace,
    expected_transitions,
    http_receiver,
    make_workspace,
    smtp_server,
    template_root,
)

SECRETS = {
    "PD_KEY": "PDSECRETROUTINGKEY00000000000000",
    "SLACK_URL": "",  # filled with the receiver's address + a secret path
    "HOOK_URL": "",
    "HOOK_KEY": "HMACSECRETSIGNINGKEY",
    "SMTP_PASSWORD": "SMTPSECRETPASSWORD",
}
SECRET_PATHS = ("SLACKSECRETTOKEN", "HOOKSECRETPATH")


def routes(receiver: HttpReceiver, smtp_port: int) -> str:
    return f"""
notifications:
  retry: {{attempts: 2, initial_seconds: 0.01, timeout_seconds: 5}}
  channels:
    am: {{type: alertmanager, url: "{receiver.url}/am"}}
    pd: {{type: pagerduty, routing_key_env: PD_KEY, url: "{receiver.url}/pd"}}
    slack: {{type: slack, url_env: SLACK_URL}}
    hook: {{type: webhook, url_env: HOOK_URL, hmac_key_env: HOOK_KEY}}
    mail: {{type: email, host: 127.0.0.1, port: {smtp_port}, username: burnwatch,
           password_env: SMTP_PASSWORD, sender: burnwatch@example.com, to: [sre@example.com]}}
  routes:
    - {{channel: am}}
    - {{channel: pd, match: {{severities: [page]}}}}
    - {{channel: slack}}
    - {{channel: hook}}
    - {{channel: mail, match: {{transitions: [escalated]}}}}
"""


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    yield from http_receiver()


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSink, int]]:
    yield from smtp_server()


@pytest.fixture
def secrets(receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        **SECRETS,
        "SLACK_URL": f"{receiver.url}/services/T0/B0/SLACKSECRETTOKEN",
        "HOOK_URL": f"{receiver.url}/HOOKSECRETPATH",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def leaks(warehouse: Path, texts: list[str], secrets: dict[str, str]) -> list[str]:
    """Every place a secret (or a secret part of a URL) appears: files, tables, logs."""
    needles = [*secrets.values(), *SECRET_PATHS]
    found = []
    for path in sorted(p for p in warehouse.rglob("*") if p.is_file()):
        contents = [path.read_bytes().decode("latin-1")]
        if path.suffix == ".parquet":
            contents.append(str(pq.read_table(path).to_pylist()))
        if path.suffix == ".duckdb":
            with duckdb.connect(str(path), read_only=True) as connection:
                for (table,) in connection.execute(
                    "select table_name from information_schema.tables"
                ).fetchall():
                    contents.append(str(connection.execute(f'select * from "{table}"').fetchall()))
        found += [f"{path}: {n}" for n in needles for text in contents if n in text]
    found += [f"log: {n}" for n in needles for text in texts if n in text]
    return found


def test_dry_run_through_the_cli_queues_everything_and_sends_nothing(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    receiver: HttpReceiver,
    smtp: tuple[SmtpSink, int],
    secrets: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    template = template_root(tmp_path_factory)
    data = tmp_path / "data"
    shutil.copytree(template / "data", data)
    (data / "slos.yaml").write_text((data / "slos.yaml").read_text() + routes(receiver, smtp[1]))
    warehouse = tmp_path / "warehouse"
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # an ephemeral Dagster instance
    caplog.set_level(logging.INFO)
    result = CliRunner().invoke(cli, [*run_args(data, data / "slos.yaml", warehouse), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert receiver.requests == [] and smtp[0].messages == []
    with duckdb.connect(str(warehouse / "burnwatch.duckdb"), read_only=True) as catalog:
        statuses = catalog.execute("select distinct status from notifications").fetchall()
        assert statuses == [("pending",)]
        assert catalog.execute("select count(*) from delivery_attempts").fetchone() == (0,)
        decisions = catalog.execute(
            "select count(*) from audit_log where kind = 'decision'"
        ).fetchone()
        # One decision per transition the grouped alerts owe (the oracle's count).
        assert decisions == (len(expected_transitions(Workspace(data, warehouse))),)
        assert catalog.execute("select count(*) from change_events").fetchone() == (4,)
    assert leaks(warehouse, [result.output, caplog.text], secrets) == []
    verified = CliRunner().invoke(cli, ["audit", "verify", "--warehouse", str(warehouse)])
    assert verified.exit_code == 0, verified.output


def test_no_secret_reaches_the_warehouse_or_the_logs_when_sending(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    receiver: HttpReceiver,
    smtp: tuple[SmtpSink, int],
    secrets: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace: Workspace = make_workspace(tmp_path_factory, tmp_path)
    workspace.configure(routes(receiver, smtp[1]))
    receiver.statuses = [500, 404]  # an error, a retry, a rejection
    caplog.set_level(logging.DEBUG)
    lines: list[str] = []
    workspace.run(log=lines.append)
    workspace.run(log=lines.append)
    assert {r.path for r in receiver.requests} >= {"/am/api/v2/alerts", "/pd"}
    statuses = set(workspace.table("notifications")["status"])
    assert "sent" in statuses and "rejected" in statuses
    # SMTP login is refused (the test server has no AUTH): recorded, without the password.
    attempts = workspace.table("delivery_attempts")
    assert attempts.filter(attempts["channel"] == "mail")["outcome"].to_list()[0] == "error"
    captured = capsys.readouterr()
    texts = [*lines, caplog.text, captured.out, captured.err]
    assert leaks(workspace.warehouse, texts, secrets) == []
