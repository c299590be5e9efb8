"""Bad input ends in one line naming the problem and its place, exit 2, no traceback,
and no output written."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cli_helpers import run_args, run_cli
from tests.conftest import SMALL_MANIFEST


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("burnwatch: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_missing_data_folder(tmp_path: Path) -> None:
    manifest = tmp_path / "slos.yaml"
    manifest.write_text(SMALL_MANIFEST)
    result = run_cli(*run_args(tmp_path / "nope", manifest, tmp_path / "wh"))
    assert_one_line_error(result, str(tmp_path / "nope"), "data folder not found")
    assert not (tmp_path / "wh").exists()


def test_empty_data_folder(tmp_path: Path) -> None:
    (tmp_path / "data" / "requests").mkdir(parents=True)
    manifest = tmp_path / "slos.yaml"
    manifest.write_text(SMALL_MANIFEST)
    result = run_cli(*run_args(tmp_path / "data", manifest, tmp_path / "wh"))
    assert_one_line_error(result, "no Parquet files")
    assert not (tmp_path / "wh").exists()


def test_manifest_with_unknown_key(small_dataset: tuple[Path, Path], tmp_path: Path) -> None:
    data, manifest = small_dataset
    manifest.write_text(
        SMALL_MANIFEST.replace("cohort: enterprise", "cohort: enterprise\n    colour: red")
    )
    result = run_cli(*run_args(data, manifest, tmp_path / "wh"))
    assert_one_line_error(result, f"{manifest}:8", "tenants[0].colour", "unknown key 'colour'")
    assert not (tmp_path / "wh").exists()


def test_objective_of_101(small_dataset: tuple[Path, Path], tmp_path: Path) -> None:
    data, manifest = small_dataset
    manifest.write_text(SMALL_MANIFEST.replace("objective: 99.9", "objective: 101"))
    result = run_cli(*run_args(data, manifest, tmp_path / "wh"))
    assert_one_line_error(
        result, f"{manifest}:3", "cohorts.enterprise.availability.objective", "101"
    )
    assert not (tmp_path / "wh").exists()


def test_manifest_that_is_not_yaml(small_dataset: tuple[Path, Path], tmp_path: Path) -> None:
    data, manifest = small_dataset
    manifest.write_text("cohorts: [unclosed\n")
    result = run_cli(*run_args(data, manifest, tmp_path / "wh"))
    assert_one_line_error(result, str(manifest), "not valid YAML")


def test_manifest_with_a_control_character(
    small_dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    data, manifest = small_dataset
    manifest.write_text("cohorts:\n  enterprise: \x07\n")
    result = run_cli(*run_args(data, manifest, tmp_path / "wh"))
    assert_one_line_error(result, f"{manifest}:2", "not valid YAML", "#x0007")


def test_start_after_end(small_dataset: tuple[Path, Path], tmp_path: Path) -> None:
    data, manifest = small_dataset
    result = run_cli(
        *run_args(data, manifest, tmp_path / "wh"), "--start", "2026-10-02", "--end", "2026-10-01"
    )
    assert_one_line_error(result, "--start 2026-10-02 is after --end 2026-10-01")
