"""The models' Spark SQL, generated from their DuckDB SQL, and the lint of the portable subset.

The models are written once, in DuckDB SQL. `to_spark(sql)` parses a model with
sqlglot (read="duckdb"), runs `rewrite` over the tree and writes it as Spark SQL.
sqlglot's own transpiler does most of the work (anti/semi joins, struct literals,
`"window"` quoting, 1-based list indexes, explicit `nulls last`); the rewrite pass
covers what it gets wrong or cannot express, each rule for a reason found by the
two-engine test (tests/test_spark_engine.py):

- `time_bucket(interval, ts)`: Spark has no time_bucket; bw_time_bucket (same origin).
- `to_minutes(n)`, `to_days(n)`: Spark's make_dt_interval.
- `epoch(a - b)` of an interval, `epoch(ts)`: from microseconds, as a double (sqlglot
  writes unix_timestamp, which takes no interval and drops the fraction).
- `quantile_disc(x, q)` and its list form: Spark's exact `percentile_disc(q) within
  group (order by x)` (sqlglot writes percentile_approx-like calls, or one Spark lacks);
  `quantile_cont(x, q)`: Spark's exact `percentile(x, q)`.
- `unnest(generate_series(a, b, step))`: `explode(sequence(...))`, empty when a > b
  (DuckDB gives no rows there; Spark's sequence raises).
- `with x as not materialized (...)`: a DuckDB planner hint; Spark has no such clause.
- `dayofweek(ts)` (custom predicates): DuckDB counts Sunday as 0, Spark as 1.
- `url_encode(s)`: Java's encoder writes a space as `+`, DuckDB as `%20`.

`lint(sql)` rejects what the portable subset leaves out, by the name the model
writes: date_bin, percentiles `within group`, dayofweek, hash, `* replace`, `qualify`, and any
function that neither both engines share nor pipelines/engines/functions.py defines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

from pipelines.engines.functions import FUNCTION_NAMES, FUNCTIONS
from schemas.tables import sql_columns

# Functions the models may call that both engines have with the same meaning, or
# that the rewrite pass translates (time_bucket, to_minutes, ...). Anything else is
# refused by the lint until it is added here and covered by the two-engine test.
PORTABLE_FUNCTIONS = frozenset(
    {
        "abs",
        "any_value",
        "avg",
        "bool_and",
        "bool_or",
        "cast",
        "ceil",
        "coalesce",
        "count",
        "date_diff",
        "epoch",
        "generate_series",
        "greatest",
        "lag",
        "lead",
        "least",
        "ln",
        "max",
        "median",
        "min",
        "quantile_cont",
        "quantile_disc",
        "replace",
        "round",
        "row_number",
        "string_agg",
        "sum",
        "time_bucket",
        "to_days",
        "to_minutes",
        "unnest",
        "url_encode",
        # Bound per run from the manifest's predicates (pipelines.models.build and
        # define_custom_bad below).
        "burnwatch_custom_bad",
    }
    | FUNCTION_NAMES
)

# Names that the models must not use, with what to write instead.
TRAPS = {
    "date_bin": "date_bin's origin differs per engine; write time_bucket(interval, ts)",
    "hash": "hash() is 64-bit in DuckDB and 32-bit Murmur3 in Spark; call key_hash(...)",
    "dayofweek": "dayofweek counts Sunday as 0 in DuckDB and 1 in Spark",
    "dow": "day-of-week numbering differs per engine",
    "isodow": "day-of-week numbering differs per engine",
}

# Words the tokenizer sees before a parenthesis that are not function calls.
_NOT_FUNCTIONS = frozenset(
    {
        "and",
        "as",
        "in",
        "from",
        "then",
        "when",
        "else",
        "over",
        "filter",
        "materialized",
        "or",
        "not",
        "on",
        "exists",
        "values",
        "using",
        "window",
        "where",
        "select",
        "exclude",
        "replace_star",
        "join",
        "by",
        "is",
        "interval",
        "all",
        "distinct",
        "end",
        "case",
        "with",
        "union",
    }
)


@dataclass(frozen=True)
class LintProblem:
    """One construct outside the portable subset: where it is and why it is refused."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def lint(sql: str, file: str = "<sql>") -> list[LintProblem]:
    """Every construct of one model outside the portable DuckDB subset the Spark engine
    can run with the same results."""
    problems: list[LintProblem] = []
    tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql)
    for index, token in enumerate(tokens[:-1]):
        following = tokens[index + 1]
        if following.token_type is not TokenType.L_PAREN:
            continue
        name = token.text.lower()
        if not token.text.isidentifier() or name in _NOT_FUNCTIONS:
            continue
        previous = tokens[index - 1] if index else None
        if previous is not None and previous.token_type is TokenType.DOT:
            continue
        if name in TRAPS:
            problems.append(LintProblem(file, token.line, f"{name}(): {TRAPS[name]}"))
        elif name == "replace" and previous is not None and previous.token_type is TokenType.STAR:
            problems.append(
                LintProblem(
                    file,
                    token.line,
                    "* replace (...): Spark has no star-replace; list the columns, or "
                    "* exclude (...) plus the new column where the order allows",
                )
            )
        elif name not in PORTABLE_FUNCTIONS:
            problems.append(
                LintProblem(
                    file,
                    token.line,
                    f"{name}(): not in the portable subset (pipelines/engines/spark_sql.py "
                    "PORTABLE_FUNCTIONS); add it there with a two-engine test, or define it "
                    "per engine in pipelines/engines/functions.py",
                )
            )
    tree = sqlglot.parse_one(sql, read="duckdb")
    for node in tree.find_all(exp.WithinGroup):
        line = _line_of(node) or 1
        problems.append(
            LintProblem(
                file,
                line,
                f"{node.sql('duckdb')}: an ordered-set percentile becomes percentile_approx "
                "in Spark; write quantile_disc(x, q)",
            )
        )
    for qualify in tree.find_all(exp.Qualify):
        problems.append(
            LintProblem(
                file,
                _line_of(qualify) or 1,
                "qualify: Spark has none (sqlglot's subquery for it loses the table names); "
                "compute the window in a CTE and filter it with where",
            )
        )
    for star in tree.find_all(exp.Star):
        if star.args.get("replace") and not any(p.line for p in problems if "replace" in p.message):
            problems.append(LintProblem(file, _line_of(star) or 1, "* replace (...): see above"))
    return problems


def _line_of(node: exp.Expr) -> int | None:
    for inner in node.walk():
        line = inner.meta.get("line") if isinstance(inner, exp.Expression) else None
        if line:
            return int(line)
    return None


def lint_files(paths: Iterable[Path]) -> list[LintProblem]:
    """The lint over model files (their trailing semicolon dropped)."""
    return [
        problem
        for path in paths
        for problem in lint(path.read_text(encoding="utf-8").strip().rstrip(";"), str(path))
    ]


# --- the rewrite pass -------------------------------------------------------------------

_MICROS = {
    "MICROSECOND": 1,
    "MILLISECOND": 1_000,
    "SECOND": 1_000_000,
    "MINUTE": 60_000_000,
    "HOUR": 3_600_000_000,
    "DAY": 86_400_000_000,
}


def _spark(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="spark")


def _interval_micros(node: exp.Expr) -> exp.Expr:
    """A DuckDB interval of fixed length as a bigint count of microseconds."""
    if isinstance(node, exp.Interval):
        unit = node.text("unit").upper().rstrip("S")
        return exp.Literal.number(int(node.this.name) * _MICROS[unit])
    # Any other interval (to_minutes(n), a column): its length, measured from the epoch.
    # The pass works bottom-up, so to_minutes is already Spark's make_dt_interval here.
    return exp.Sub(
        this=_micros(exp.Add(this=_spark("timestamp_ntz'1970-01-01 00:00:00'"), expression=node)),
        expression=exp.Literal.number(0),
    )


def _call(name: str, *arguments: exp.Expr) -> exp.Expr:
    """A call of Spark function `name`, kept by name (exp.func would map some names back
    to the DuckDB node this pass rewrites)."""
    return exp.Anonymous(this=name, expressions=[argument.copy() for argument in arguments])


def _micros(node: exp.Expr) -> exp.Expr:
    return _call("unix_micros", exp.cast(node.copy(), "timestamp_ltz"))


def _rewrite_node(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
        return node
    if isinstance(node, exp.DateBin):
        return _call("bw_time_bucket", _interval_micros(node.this), node.expression)
    if isinstance(node, exp.ToDays):
        zero = exp.Literal.number(0)
        return _call("make_dt_interval", exp.cast(node.this.copy(), "int"), zero, zero, zero)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "to_minutes":
        zero = exp.Literal.number(0)
        amount = exp.cast(node.expressions[0].copy(), "int")
        return _call("make_dt_interval", zero, zero, amount, zero)
    if isinstance(node, exp.TimeToUnix | exp.UnixSeconds) or (
        isinstance(node, exp.Anonymous) and node.name.lower() == "epoch"
    ):
        inner = node.this if not isinstance(node, exp.Anonymous) else node.expressions[0]
        inner = inner.unnest() if isinstance(inner, exp.Paren) else inner
        if isinstance(inner, exp.Sub):
            micros: exp.Expr = exp.Sub(
                this=_micros(inner.this), expression=_micros(inner.expression)
            )
        else:
            micros = _micros(inner)
        return exp.Div(
            this=exp.cast(exp.paren(micros), "double"),
            expression=exp.Literal.number(1_000_000),
        )
    if isinstance(node, exp.PercentileDisc):
        column = node.this
        quantiles = node.expression
        if isinstance(quantiles, exp.Array):
            return exp.Array(
                expressions=[_percentile_disc(column, q) for q in quantiles.expressions]
            )
        return _percentile_disc(column, quantiles)
    if isinstance(node, exp.PercentileCont) and not isinstance(node.parent, exp.WithinGroup):
        return _call("percentile", node.this, node.expression)
    if isinstance(node, exp.Explode) and isinstance(node.this, exp.GenerateSeries):
        series = node.this
        start, end = series.args["start"], series.args["end"]
        guarded = exp.Case(
            ifs=[
                exp.If(
                    this=exp.LTE(this=start.copy(), expression=end.copy()),
                    true=_call("sequence", start, end, series.args["step"]),
                )
            ]
        )
        return exp.Explode(this=guarded)
    if isinstance(node, exp.DayOfWeek):
        return exp.paren(
            exp.Sub(this=_call("dayofweek", node.this), expression=exp.Literal.number(1))
        )
    if isinstance(node, exp.Extract) and node.this.name.lower() in ("dow", "dayofweek"):
        return exp.paren(
            exp.Sub(
                this=_call("dayofweek", node.expression),
                expression=exp.Literal.number(1),
            )
        )
    if isinstance(node, exp.Anonymous) and node.name.lower() == "url_encode":
        encoded = _call("url_encode", *node.expressions)
        return exp.func("replace", encoded, exp.Literal.string("+"), exp.Literal.string("%20"))
    return node


def _percentile_disc(column: exp.Expr, quantile: exp.Expr) -> exp.Expr:
    """Spark's exact `percentile_disc(q) within group (order by x)`, by name: sqlglot's
    Spark generator writes its PercentileDisc node as percentile_approx (approximate)."""
    return exp.WithinGroup(
        this=_call("percentile_disc", quantile),
        expression=exp.Order(expressions=[exp.Ordered(this=column.copy(), nulls_first=False)]),
    )


def rewrite(tree: exp.Expr) -> exp.Expr:
    """The DuckDB tree of a model, rewritten where Spark's functions or semantics differ.

    Bottom-up (each node after everything inside it), so a rule sees its arguments
    already in Spark's form and no rewritten node is visited twice."""
    tree = tree.copy()
    for node in reversed(list(tree.walk(bfs=False))):
        rewritten = _rewrite_node(node)
        if rewritten is not node:
            node.replace(rewritten)
    return tree


def to_spark(sql: str) -> str:
    """The Spark SQL of one DuckDB model (or predicate)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    return rewrite(tree).sql(dialect="spark", pretty=True)


def expression_to_spark(sql: str) -> str:
    """The Spark SQL of one DuckDB expression (a manifest's bad_when predicate)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    return rewrite(tree).sql(dialect="spark")


# --- Spark's side of the per-run functions ----------------------------------------------

_SPARK_TYPES = {
    "VARCHAR": "string",
    "TIMESTAMP": "timestamp_ntz",
    "INTEGER": "int",
    "BIGINT": "bigint",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
}


def custom_bad_sql(predicates: Iterable[str]) -> str:
    """Spark's `burnwatch_custom_bad(predicate, <request columns>)`: the manifest's
    predicates (checked by schemas.predicates on load), translated, by their text; the
    Spark side of pipelines.models.build.define_custom_bad_macro."""
    parameters = ", ".join(
        f"{name} {_SPARK_TYPES[kind.upper()]}" for name, kind in sql_columns("raw_requests").items()
    )
    branches = " ".join(
        "when '{}' then ({})".format(
            predicate.replace("\\", "\\\\").replace("'", "\\'"), expression_to_spark(predicate)
        )
        for predicate in sorted(set(predicates))
    )
    body = f"case predicate {branches} end" if branches else "cast(null as boolean)"
    return (
        "create or replace temporary function burnwatch_custom_bad(predicate string, "
        f"{parameters}) returns boolean return {body}"
    )


def spark_function_sql() -> list[str]:
    """The statements that define pipelines/engines/functions.py's functions in Spark."""
    return [function.spark_sql() for function in FUNCTIONS]
