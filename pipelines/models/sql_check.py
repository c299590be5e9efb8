"""Check every SQL model in `sql/` against `schemas/tables.py` with sqlglot, reading no data.

Models are taken in DAG order (the registry's); each is parsed, the tables it
reads and its final `order by` held to its registry entry, its tables checked
to exist among the tables before it in `schemas.tables.TABLES` (qualify does
not do that), qualified (an unknown column fails), and type-annotated; its
output columns must be the table's columns, in order, with compatible types,
and no comparison or arithmetic may mix text with numbers or times. Every
problem names the file, the line and the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from pipelines.models.registry import MODELS, SQL_DIR, sql_models
from schemas.tables import TABLES, sql_columns

DIALECT = "duckdb"


@dataclass(frozen=True)
class ModelProblem:
    """One problem in one model: where it is and what is wrong."""

    file: Path
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        column = f" (column {self.column})" if self.column else ""
        return f"{where}: {self.message}{column}"


def _family(kind: str) -> str:
    kind = kind.upper()
    if kind in ("TEXT", "VARCHAR", "CHAR", "NCHAR", "NVARCHAR", "STRING"):
        return "text"
    if kind in (
        "TINYINT",
        "SMALLINT",
        "INT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINT",
        "UBIGINT",
    ):
        return "integer"
    if kind in ("FLOAT", "DOUBLE", "DECIMAL", "REAL"):
        return "float"
    if kind.startswith("TIMESTAMP") or kind == "DATETIME":
        return "timestamp"
    if kind in ("DATE", "BOOLEAN", "INTERVAL"):
        return kind.lower()
    return "unknown"


_WIDTH = {"TINYINT": 8, "SMALLINT": 16, "INT": 32, "INTEGER": 32, "BIGINT": 64, "HUGEINT": 128}


def _compatible(declared: str, found: str) -> bool:
    """Whether a model's output type `found` writes the declared type (unknown passes)."""
    want, got = _family(declared), _family(found)
    if got == "unknown":
        return True
    if want == "integer" and got == "integer":
        return _WIDTH.get(declared.upper()) == _WIDTH.get(found.upper(), _WIDTH.get(declared))
    return want == got


def _line(node: Any) -> int | None:
    while node is not None:
        for candidate in (node, node.args.get("this")):
            if isinstance(candidate, exp.Expression) and candidate.meta.get("line"):
                return int(candidate.meta["line"])
        node = node.parent
    return None


def _columns_of(node: Any) -> list[tuple[str, str]]:
    return sorted((column.table, column.name) for column in node.find_all(exp.Column))


def _original_line(tree: Any, node: Any) -> int | None:
    """The line of `node` (from the qualified copy, which lost positions) in the parsed tree."""
    wanted = _columns_of(node)
    for candidate in tree.find_all(type(node)):
        if _columns_of(candidate) == wanted:
            for column in candidate.find_all(exp.Column):
                if column.this.meta.get("line"):
                    return int(column.this.meta["line"])
    return None


def _text_line(text: str, word: str) -> int | None:
    match = re.search(rf"\b{re.escape(word)}\b", text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _schema_before(table: str) -> dict[str, object]:
    names = list(TABLES)
    return {name: sql_columns(name) for name in names[: names.index(table)]}


def check_model(path: Path, table: str | None = None) -> list[ModelProblem]:
    """Every problem sqlglot finds in one model file (its table defaults to the file's stem)."""
    table = table or path.stem
    text = path.read_text(encoding="utf-8")
    if table not in TABLES:
        return [
            ModelProblem(
                path, None, None, f"model {table} has no table in schemas/tables.py (TABLES)"
            )
        ]
    schema = _schema_before(table)
    try:
        tree = sqlglot.parse_one(text.strip().rstrip(";"), dialect=DIALECT)
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        return [
            ModelProblem(
                path, first.get("line"), None, f"does not parse: {first.get('description', error)}"
            )
        ]
    problems: list[ModelProblem] = []
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for source in tree.find_all(exp.Table):
        if source.name and source.name not in ctes and source.name not in schema:
            later = " (it comes later in the DAG)" if source.name in TABLES else ""
            problems.append(
                ModelProblem(path, _line(source), None, f"reads unknown table {source.name}{later}")
            )
    if problems:
        return problems
    problems.extend(_registry_problems(path, table, tree, ctes, text))
    try:
        qualified = qualify(
            tree.copy(), schema=schema, dialect=DIALECT, validate_qualify_columns=True
        )
    except OptimizeError as error:
        message = str(error)
        match = re.search(r"(?:column|Column)[^A-Za-z0-9_]*[:'\"]?\s*'?\"?([A-Za-z0-9_]+)", message)
        name = match.group(1) if match else None
        nodes = [c for c in tree.find_all(exp.Column) if name and c.name == name]
        line = _line(nodes[0]) if nodes else (_text_line(text, name) if name else None)
        return [ModelProblem(path, line, name, message)]
    typed: Any = annotate_types(qualified, schema=schema, dialect=DIALECT)
    for node in typed.find_all(exp.Binary):
        if not isinstance(
            node,
            exp.EQ
            | exp.NEQ
            | exp.GT
            | exp.GTE
            | exp.LT
            | exp.LTE
            | exp.Add
            | exp.Sub
            | exp.Mul
            | exp.Div,
        ):
            continue
        left, right = _family(str(node.left.type)), _family(str(node.right.type))
        mixed = {left, right}
        if "unknown" in mixed or len(mixed) == 1:
            continue
        if "text" in mixed:
            column = next((c.name for c in node.find_all(exp.Column)), None)
            problems.append(
                ModelProblem(
                    path,
                    _original_line(tree, node) or (_text_line(text, column) if column else None),
                    column,
                    f"incompatible types in {node.sql(dialect=DIALECT)}: "
                    f"{node.left.type} vs {node.right.type}",
                )
            )
    declared = sql_columns(table)
    found = {select.alias_or_name: str(select.type) for select in typed.selects}
    if list(found) != list(declared):
        missing = [c for c in declared if c not in found]
        extra = [c for c in found if c not in declared]
        detail = "; ".join(
            filter(
                None,
                [
                    f"missing {', '.join(missing)}" if missing else "",
                    f"unexpected {', '.join(extra)}" if extra else "",
                    "" if missing or extra else "in another order",
                ],
            )
        )
        problems.append(
            ModelProblem(
                path,
                _text_line(text, "final") or None,
                (missing + extra or [None])[0],
                f"output columns differ from schemas/tables.py {table}: {detail}",
            )
        )
    for name, kind in declared.items():
        if name in found and not _compatible(kind, found[name]):
            problems.append(
                ModelProblem(
                    path,
                    _text_line(text, name),
                    name,
                    f"output type {found[name]} where schemas/tables.py declares {kind}",
                )
            )
    return problems


def _registry_problems(
    path: Path, table: str, tree: Any, ctes: set[str], text: str
) -> list[ModelProblem]:
    """Where the model and its registry entry disagree: the tables it reads, its output order."""
    entry = MODELS.get(table)
    if entry is None:
        return [ModelProblem(path, None, None, f"model {table} has no entry in {REGISTRY}")]
    problems: list[ModelProblem] = []
    read = {source.name for source in tree.find_all(exp.Table) if source.name not in ctes}
    listed = {source.table for source in entry.inputs}
    for name in sorted(read - listed):
        problems.append(
            ModelProblem(
                path, _text_line(text, name), None, f"reads {name}, which {REGISTRY} does not list"
            )
        )
    for name in sorted(listed - read):
        problems.append(
            ModelProblem(path, None, None, f"{REGISTRY} lists input {name}, which it does not read")
        )
    order = tree.args.get("order")
    if order is not None:
        # Compared without table qualifiers: `final.state` inside an expression is the
        # registry's `state`.
        found = [
            item.transform(
                lambda node: exp.column(node.name) if isinstance(node, exp.Column) else node
            ).sql(dialect=DIALECT)
            for item in order.expressions
        ]
        declared = [
            sqlglot.parse_one(f"select 1 order by {column}", dialect=DIALECT)
            .args["order"]
            .expressions[0]
            .sql(dialect=DIALECT)
            for column in entry.sort_columns
        ]
        if found != declared:
            problems.append(
                ModelProblem(
                    path,
                    _text_line(text, "order"),
                    None,
                    f"ends in order by {', '.join(found)} where {REGISTRY} says "
                    f"{', '.join(declared) or 'nothing'}",
                )
            )
    return problems


REGISTRY = "pipelines/models/registry.py"


def model_files(sql_dir: Path = SQL_DIR) -> list[Path]:
    """The models in DAG order (the registry's, then any file it lacks, by name)."""
    files = {path.stem: path for path in sorted(Path(sql_dir).glob("*/*.sql"))}
    ordered = [files.pop(entry.name) for entry in sql_models() if entry.name in files]
    return ordered + sorted(files.values())


def check_models(sql_dir: Path = SQL_DIR) -> list[ModelProblem]:
    """Every problem in every model of `sql_dir`, in DAG order."""
    return [problem for path in model_files(sql_dir) for problem in check_model(path)]
