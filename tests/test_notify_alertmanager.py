"""A real Alertmanager (Debian's prometheus-alertmanager) receives one alert per episode."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.notify_fixtures import Workspace, episodes, free_port, make_workspace

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

pytestmark = pytest.mark.skipif(
    BINARY is None, reason="prometheus-alertmanager is not installed (make system-deps)"
)

CONFIG = """\
route:
  receiver: nowhere
  group_wait: 1h
receivers:
  - name: nowhere
"""


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A throwaway Alertmanager on 127.0.0.1 (no clustering), stopped at teardown."""
    assert BINARY is not None
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG)
    port = free_port()
    process = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("alertmanager did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def workspace(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path_factory, tmp_path)


def received(url: str) -> dict[str, float]:
    """Alertmanager's own count of alerts received over API v2, by status."""
    counts = {"firing": 0.0, "resolved": 0.0}
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("alertmanager_alerts_received_total{"):
            labels, value = line.rsplit(" ", 1)
            for status in counts:
                if f'status="{status}"' in labels:
                    counts[status] += float(value)
    return counts


def active_alerts(url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/v2/alerts", params={"filter": 'alertname="SLOBurnRate"'})
    response.raise_for_status()
    return list(response.json())


def test_alertmanager_gets_exactly_one_alert_per_episode_across_two_runs(
    workspace: Workspace, alertmanager: str
) -> None:
    workspace.configure(
        f"""
notifications:
  channels:
    am: {{type: alertmanager, url: "{alertmanager}"}}
  routes:
    - channel: am
"""
    )
    all_episodes = episodes(workspace)
    open_episodes = [e for e in all_episodes if e["resolved_at"] is None]
    resolved = [e for e in all_episodes if e["resolved_at"] is not None]
    assert open_episodes and resolved

    first = workspace.run()
    assert first.delivered == len(all_episodes) + len(resolved)
    after_first = received(alertmanager)
    second = workspace.run()
    assert (second.new_messages, second.delivered) == (0, 0)

    assert after_first == {"firing": len(all_episodes), "resolved": len(resolved)}
    assert received(alertmanager) == after_first
    alerts = active_alerts(alertmanager)
    # Resolved episodes' alerts ended in the past; the open ones are active, once each.
    got = sorted((a["labels"]["rule"], a["startsAt"][:19]) for a in alerts)
    want = sorted((e["rule_name"], e["started_at"].isoformat()) for e in open_episodes)
    assert got == want
    for alert in alerts:
        assert alert["labels"]["tenant"] == "acme"
        assert alert["labels"]["slo"] == "api-availability"
        assert alert["labels"]["severity"] in {"page", "ticket"}
        annotations = alert["annotations"]
        for name in (
            "long_window_burn_rate",
            "short_window_burn_rate",
            "budget_remaining",
            "time_to_exhaustion",
            "runbook_url",
            "summary",
            "description",
        ):
            assert annotations[name], name
        assert annotations["runbook_url"].startswith("https://")
