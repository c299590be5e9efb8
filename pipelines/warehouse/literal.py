"""File paths as SQL that DuckDB reads literally, never as glob patterns.

DuckDB expands `*`, `?` and `[...]` in every path given to `read_parquet`, also
inside a list: a tenant folder named `tenant=*` would match every tenant's files,
and `part-?.parquet` its neighbours. DuckDB has no switch to turn globbing off and
no backslash escape, but a one-character class matches that character only: `*`
becomes `[*]`, `?` becomes `[?]` and `[` becomes `[[]`. (`{` and `}` are not
special to DuckDB.) Every input and lake path goes through `path_literal`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

_GLOB_CHARACTERS = {"*": "[*]", "?": "[?]", "[": "[[]"}


def escape_glob(path: str | Path) -> str:
    """`path` as a DuckDB glob pattern that matches exactly that path."""
    return "".join(_GLOB_CHARACTERS.get(char, char) for char in str(path))


def path_literal(path: str | Path) -> str:
    """`path` as a quoted SQL string that `read_parquet` reads as that one file."""
    return "'" + escape_glob(path).replace("'", "''") + "'"


def path_list(paths: Iterable[str | Path]) -> str:
    """`[path, ...]` for `read_parquet`, each path literal."""
    return "[" + ", ".join(path_literal(path) for path in paths) + "]"


def pattern_under(folder: str | Path, pattern: str) -> str:
    """A quoted SQL glob: `folder` literal, then `pattern` (e.g. `date=*/data.parquet`)."""
    return "'" + (escape_glob(folder) + "/" + pattern).replace("'", "''") + "'"
