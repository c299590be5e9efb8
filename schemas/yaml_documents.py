"""Reading a YAML document into a pydantic model, with errors a user can act on.

Every error names the file, the line (where the YAML has one), the key path and
the problem, on one line: `slos.yaml:13: tenants[0].slos[1].objective: ...`.

YAML is read strictly: a key given twice in one mapping is an error naming both
lines (PyYAML would silently keep the last, so a second `tenants:` block would
replace the first), and a file that is not UTF-8 is refused with the place of
its first bad byte.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from schemas.errors import BurnwatchInputError

Model = TypeVar("Model", bound=BaseModel)

# libyaml's parser where PyYAML was built with it (its wheels are), with the safe
# constructor either way: a 2,000-tenant manifest (0.7 MB) parsed in 0.3 s instead of
# 3.5 s, which every command that reads the manifest paid before its first step.
# (CSafeLoader is not a subclass of SafeLoader, hence Any.)
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def read_text(path: Path) -> str:
    """The file's text; BurnwatchInputError naming line and column of a byte that is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise BurnwatchInputError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[error.start]:02x} at column {column}); "
            "save the file as UTF-8"
        ) from None


def _duplicate_key(node: yaml.Node, path: str, seen: set[int]) -> tuple[str, int, int] | None:
    """The first key given twice in one mapping under `node`: (key path, line, first line).

    Walks the composed node tree, where every key keeps its line; merge keys (`<<`)
    are left to PyYAML, whose rule is that explicit keys override merged ones."""
    if id(node) in seen:  # an alias of a node already walked (or a recursive document)
        return None
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_lines: dict[object, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                name = key.value
                line = key.start_mark.line + 1
                where = f"{path}.{name}" if path else str(name)
                if name in first_lines:
                    return where, line, first_lines[name]
                first_lines[name] = line
                found = _duplicate_key(value, where, seen)
            else:
                found = _duplicate_key(value, path, seen)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found = _duplicate_key(item, f"{path}[{index}]", seen)
            if found:
                return found
    return None


def _yaml_error(path: Path, error: yaml.YAMLError, text: str) -> BurnwatchInputError:
    """One line: the file, the line of the problem where known, and the problem."""
    mark = getattr(error, "problem_mark", None)
    if mark is not None:
        where = f":{mark.line + 1}"
    elif isinstance(error, yaml.reader.ReaderError):
        # A character YAML refuses (a control character): its line from its position.
        where = f":{text.count(chr(10), 0, error.position) + 1}"
    else:
        where = ""
    if isinstance(error, yaml.reader.ReaderError):
        problem = f"unacceptable character #x{error.character:04x}: {error.reason}"
    else:
        problem = getattr(error, "problem", None) or str(error)
    return BurnwatchInputError(f"{path}{where}: not valid YAML: {' '.join(problem.split())}")


def check_no_duplicate_keys(path: Path, root: yaml.Node | None) -> None:
    """Raise `file:line: key: duplicate key (first at line N)` for a key given twice."""
    found = _duplicate_key(root, "", set()) if root is not None else None
    if found:
        key, line, first = found
        raise BurnwatchInputError(f"{path}:{line}: {key}: duplicate key (first at line {first})")


def load_yaml(path: str | Path) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML file strictly (UTF-8, no duplicate keys): the data and its node tree.

    Raises BurnwatchInputError naming file, line and problem."""
    path = Path(path)
    text = read_text(path)
    # Parsed once: the node tree, which the checks and error lines read, is the one the
    # data is built from. The pure-Python loader reads (and may refuse) the text as it
    # is made, so it is made inside the `try`.
    loader = None
    try:
        loader = _SAFE_LOADER(text)
        root = loader.get_single_node()
        check_no_duplicate_keys(path, root)
        return (loader.construct_document(root) if root is not None else None), root
    except yaml.YAMLError as error:
        raise _yaml_error(path, error, text) from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml_documents(path: str | Path) -> list[Any]:
    """Every document of a multi-document YAML file, read as strictly as `load_yaml`."""
    path = Path(path)
    text = read_text(path)
    loader = None
    try:
        loader = _SAFE_LOADER(text)
        documents = []
        while loader.check_node():
            root = loader.get_node()
            check_no_duplicate_keys(path, root)
            documents.append(loader.construct_document(root))
        return documents
    except yaml.YAMLError as error:
        raise _yaml_error(path, error, text) from None
    finally:
        if loader is not None:
            loader.dispose()


def load_document(path: str | Path, model: type[Model], noun: str) -> Model | None:
    """Validate the YAML file at `path` as `model`; None when the file is empty.

    `noun` names the file in errors ("manifest", "contracts file"). Raises
    BurnwatchInputError naming file, line, key and problem.
    """
    path = Path(path)
    if not path.is_file():
        raise BurnwatchInputError(f"{path}: {noun.removesuffix(' file')} file not found")
    document, root = load_yaml(path)
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
        elif first["type"] == "finite_number":
            message = f"must be a finite number, got {first['input']}"
        count = error.error_count()
        more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
        raise BurnwatchInputError(f"{where}: {_format_loc(loc)}: {message}{more}") from None
