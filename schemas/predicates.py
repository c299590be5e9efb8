"""Custom good/bad predicates: SQL boolean expressions over the request-log contract.

A manifest may say `bad_when: "status_code >= 500 or status_code = 429"` (or
`good_when: ...`). sqlglot parses the expression and admits only the
contract's columns, plain operators and an allow-list of scalar functions: no
subqueries, no aggregates, no tables, nothing that could read or write
anything else. The checked expression is rendered back as DuckDB SQL.
"""

from __future__ import annotations

import sqlglot
from sqlglot import expressions as exp
from sqlglot.errors import ParseError

from schemas.tables import column_names

# Scalar functions a predicate may call, by sqlglot's expression class name
# (for built-ins) or by function name (for functions sqlglot keeps anonymous).
ALLOWED_FUNCTIONS = frozenset(
    {
        "Abs",
        "Coalesce",
        "Lower",
        "Upper",
        "Length",
        "StartsWith",
        "EndsWith",
        "RegexpLike",
        "Contains",
        "Substring",
        "Trim",
        "Least",
        "Greatest",
        "Round",
        "Floor",
        "Ceil",
        "If",
        "Case",
        "Cast",
        "TryCast",
        "Extract",
        "DayOfWeek",
        "Hour",
        "Minute",
        "StrPosition",
    }
)
ALLOWED_ANONYMOUS = frozenset({"regexp_matches", "contains", "starts_with", "ends_with", "hour"})

# Node types that are structure, operators or literals, never data access.
_ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Not,
    exp.And,
    exp.Or,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.Neg,
    exp.DataType,
    exp.If,
    exp.Case,
    exp.Interval,
    exp.Var,
    exp.Tuple,
    exp.DPipe,
    exp.Distinct,
)


class PredicateError(ValueError):
    """A predicate that does not parse or uses something not allowed."""


def check_predicate(text: str) -> str:
    """Validate a predicate and return it rendered as DuckDB SQL.

    Raises PredicateError naming the offending column, function or construct.
    """
    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        raise PredicateError(
            f"not a SQL expression: {first.get('description', str(error))}"
        ) from None
    if isinstance(tree, exp.Query | exp.Command) or tree.find(exp.Select) is not None:
        raise PredicateError("subqueries and statements are not allowed")
    allowed_columns = set(column_names("raw_requests"))
    for node in tree.walk():
        if isinstance(node, exp.Column):
            if node.table:
                raise PredicateError(f"column {node.sql()!r} must not name a table")
            if node.name not in allowed_columns:
                raise PredicateError(
                    f"unknown column {node.name!r} (allowed: {', '.join(sorted(allowed_columns))})"
                )
        elif isinstance(node, exp.AggFunc | exp.Window):
            raise PredicateError(f"aggregate or window function {node.sql()!r} is not allowed")
        elif isinstance(node, _ALLOWED_NODES):
            continue
        elif isinstance(node, exp.Anonymous):
            if node.name.lower() not in ALLOWED_ANONYMOUS:
                raise PredicateError(f"function {node.name!r} is not allowed")
        elif isinstance(node, exp.Func):
            if type(node).__name__ not in ALLOWED_FUNCTIONS:
                raise PredicateError(f"function {node.sql_name()!r} is not allowed")
        elif not isinstance(node, _ALLOWED_NODES):
            raise PredicateError(f"{type(node).__name__.lower()} {node.sql()!r} is not allowed")
    return tree.sql(dialect="duckdb")


def bad_predicate(bad_when: str | None, good_when: str | None) -> str | None:
    """One boolean that is true exactly for bad requests (null counts as good for
    `bad_when`, and as not good — so bad — for `good_when`)."""
    if bad_when is not None:
        return f"coalesce(({check_predicate(bad_when)}), false)"
    if good_when is not None:
        return f"not coalesce(({check_predicate(good_when)}), false)"
    return None
