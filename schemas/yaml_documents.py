"""Reading a YAML document into a pydantic model, with errors a user can act on.

Every error names the file, the line (where the YAML has one), the key path and
the problem, on one line: `slos.yaml:13: tenants[0].slos[1].objective: ...`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from schemas.errors import BurnwatchInputError

Model = TypeVar("Model", bound=BaseModel)


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at pydantic location `loc`, if it can be found."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [value for key, value in node.value if getattr(key, "value", None) == part]
            if not match:
                key_nodes = [key for key, _ in node.value if getattr(key, "value", None) == part]
                return key_nodes[0].start_mark.line + 1 if key_nodes else line
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
        else:
            return line
        line = node.start_mark.line + 1
    return line


_KEY_PATH = re.compile(r"^(?P<path>[A-Za-z_][\w]*(?:\[\d+\]|\.[A-Za-z_][\w]*)*): (?P<rest>.*)$")


def _split_key_path(message: str) -> tuple[tuple[Any, ...], str]:
    """Split 'tenants[0].cohort: problem' (a model validator's message) into loc and problem."""
    match = _KEY_PATH.match(message)
    if not match:
        return (), message
    parts: list[Any] = []
    for name, index in re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", match["path"]):
        parts.append(int(index) if index else name)
    return tuple(parts), match["rest"]


def _format_loc(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def load_document(path: str | Path, model: type[Model], noun: str) -> Model | None:
    """Validate the YAML file at `path` as `model`; None when the file is empty.

    `noun` names the file in errors ("manifest", "contracts file"). Raises
    BurnwatchInputError naming file, line, key and problem.
    """
    path = Path(path)
    if not path.is_file():
        raise BurnwatchInputError(f"{path}: {noun.removesuffix(' file')} file not found")
    text = path.read_text(encoding="utf-8")
    try:
        document = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise BurnwatchInputError(f"{path}{where}: not valid YAML: {problem}") from None
    if document is None:
        return None
    if not isinstance(document, dict):
        raise BurnwatchInputError(f"{path}: the {noun} must be a YAML mapping")
    try:
        return model.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        loc = tuple(part for part in first["loc"] if not isinstance(part, str) or part)
        # Errors raised by model validators carry their own key path in the message.
        message = first["msg"].removeprefix("Value error, ")
        if not loc:
            loc, message = _split_key_path(message)
        line = _line_of(root, loc)
        where = f"{path}:{line}" if line else str(path)
        if first["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
        count = error.error_count()
        more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
        raise BurnwatchInputError(f"{where}: {_format_loc(loc)}: {message}{more}") from None
