"""Where a message's report link points: the manifest's `notifications.report_url`, else
$BURNWATCH_REPORT_URL, else the warehouse's own report; always at the SLO's anchor from
fct_slo_status. A bad address is one error line naming where it was set."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.notify.report_links import REPORT_URL_ENV, report_links, report_page_url
from pipelines.resources import limits_from_env
from pipelines.warehouse import lake
from schemas.errors import BurnwatchInputError
from schemas.manifest import load_manifest
from schemas.tables import arrow_schema

MANIFEST = """\
version: 1
cohorts:
  standard:
    availability: {{objective: 99.9}}
tenants:
  - id: acme
    cohort: standard
    slos:
      - {{name: api-availability, service: api, sli: availability}}
notifications:
  report_url: {url}
"""


def write_status(warehouse: Path, rows: list[tuple[str, str, str]]) -> None:
    """A fct_slo_status holding only the keys and report_link (the rest null)."""
    path = lake.partition_path(warehouse, "fct_slo_status", None)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = [{"tenant_id": t, "slo_name": s, "report_link": link} for t, s, link in rows]
    pq.write_table(pa.Table.from_pylist(records, schema=arrow_schema("fct_slo_status")), path)


def test_the_manifest_setting_wins_then_the_environment_then_the_warehouse_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(REPORT_URL_ENV, raising=False)
    default = (tmp_path / "reports" / "report.html").resolve().as_uri()
    assert default.startswith("file:///")
    assert report_page_url(tmp_path, None) == default
    monkeypatch.setenv(REPORT_URL_ENV, "https://slo.example.com/report.html")
    assert report_page_url(tmp_path, None) == "https://slo.example.com/report.html"
    assert report_page_url(tmp_path, "https://ops/r.html") == "https://ops/r.html"


def test_each_slo_links_to_its_anchor_in_fct_slo_status(tmp_path: Path) -> None:
    write_status(
        tmp_path,
        [
            ("acme", "api-availability", "reports/report.html#burn=acme/api-availability"),
            ("acme", "web latency", "reports/report.html#burn=acme/web%20latency"),
        ],
    )
    links = report_links(tmp_path, "https://slo.example.com/report.html")
    assert links == {
        (
            "acme",
            "api-availability",
        ): "https://slo.example.com/report.html#burn=acme/api-availability",
        ("acme", "web latency"): "https://slo.example.com/report.html#burn=acme/web%20latency",
    }


def test_no_status_yet_means_no_links(tmp_path: Path) -> None:
    assert report_links(tmp_path, "https://slo.example.com/report.html") == {}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("slo.example.com/report.html", "not an http://, https:// or file:// URL"),
        ("ftp://slo.example.com/report.html", "not an http://, https:// or file:// URL"),
        ("https://slo.example.com/report.html#top", "no #fragment"),
    ],
)
def test_a_bad_environment_address_is_refused_up_front_naming_the_variable(
    value: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REPORT_URL_ENV, value)
    with pytest.raises(BurnwatchInputError) as raised:
        limits_from_env()  # what `burnwatch run` and the UI's resource check first
    message = str(raised.value)
    assert message.startswith(f"{REPORT_URL_ENV}={value}: ") and problem in message
    assert "\n" not in message


def test_a_bad_manifest_address_names_the_file_line_and_key(tmp_path: Path) -> None:
    manifest = tmp_path / "slos.yaml"
    manifest.write_text(MANIFEST.format(url='"ftp://x/report.html"'), encoding="utf-8")
    with pytest.raises(BurnwatchInputError) as raised:
        load_manifest(manifest)
    message = str(raised.value)
    assert "slos.yaml:11" in message and "notifications.report_url" in message, message
    assert "not an http://, https:// or file:// URL" in message
    manifest.write_text(MANIFEST.format(url='"https://ops/r.html"'), encoding="utf-8")
    assert load_manifest(manifest).notifications.report_url == "https://ops/r.html"
