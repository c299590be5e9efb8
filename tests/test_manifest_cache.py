"""The manifest is parsed once per content: a run's assets share one parsed manifest,
and an edited file is read again."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import manifest as manifest_module
from schemas.errors import BurnwatchInputError
from schemas.manifest import load_manifest

TEXT = """\
version: 1
cohorts:
  standard:
    availability: {objective: 99.9}
tenants:
  - id: acme
    cohort: standard
    slos:
      - {name: api-availability, service: api, sli: availability}
"""


def test_the_same_file_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(TEXT, encoding="utf-8")
    parsed: list[Path] = []
    original = manifest_module.load_document

    def counting(*args: object, **kwargs: object) -> object:
        parsed.append(Path(str(args[0])))
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(manifest_module, "load_document", counting)
    first = load_manifest(path)
    assert load_manifest(path) is first
    assert load_manifest(str(path)) is first
    assert len(parsed) == 1


def test_an_edited_manifest_is_parsed_again(tmp_path: Path) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(TEXT, encoding="utf-8")
    before = load_manifest(path)
    path.write_text(TEXT.replace("99.9", "99.5"), encoding="utf-8")
    after = load_manifest(path)
    assert before.cohorts["standard"] != after.cohorts["standard"]


def test_a_bad_manifest_still_raises_each_time(tmp_path: Path) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text("version: 1\ntenants: 3\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(BurnwatchInputError, match="cohorts: Field required"):
            load_manifest(path)
