"""The README's table reference, generated from `schemas.tables`.

`render_tables_markdown()` gives one section per user-facing table, in TABLES
(DAG) order and then OTHER_TABLES: a heading, the first line of the class
docstring, the key, and a `| column | type | description |` table. The README
holds it between `<!-- tables:begin -->` and `<!-- tables:end -->`;
`scripts/table_docs.py --write` refreshes it and a test fails when it is stale,
so a column is described once, in `schemas/tables.py`.

Relations that are only bound for a model (parameters, inputs, an ephemeral
view) are listed in one line at the end instead: they are not in the lake or
the catalog, so a user cannot query them, and their columns matter only to
whoever edits the SQL, who reads `schemas/tables.py` anyway.
"""

from __future__ import annotations

import re
from pathlib import Path

from schemas.tables import OTHER_TABLES, TABLES, sql_columns, table_key, table_model

BEGIN = "<!-- tables:begin -->"
END = "<!-- tables:end -->"

# Bound for the models, never stored in the lake (or kept only for a model's input).
BOUND_ONLY: tuple[str, ...] = (
    "run_params",
    "window_labels",
    "raw_requests",
    "raw_request_checks",
    "quarantined_files",
    "quarantine_policy",
    "int_slo_keys",
    "int_sli_units",
    "cohort_threshold_params",
    "replay_policies",
    "replay_params",
    "replay_incidents",
    "replay_episode_runs",
    # The report's relations (sql/reports/): views computed for each page, never stored.
    "report_params",
    "report_period",
    "report_overview",
    "report_charted",
    "report_burndown",
    "report_burn_rates",
    "report_policy",
    "report_episodes",
    "report_summary_episodes",
    "report_suppressed",
)


def documented_tables() -> list[str]:
    """The tables the reference describes in full, in order."""
    return [name for name in [*TABLES, *OTHER_TABLES] if name not in BOUND_ONLY]


def _summary(table: str) -> str:
    doc = table_model(table).__doc__ or ""
    paragraph = doc.strip().split("\n\n")[0]
    return " ".join(line.strip() for line in paragraph.splitlines())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_table(table: str) -> str:
    """One table's section: heading, summary, key and columns."""
    columns = table_model(table).to_schema().columns
    key = table_key(table)
    lines = [
        f"#### `{table}`",
        "",
        _summary(table),
        "",
        "Key: " + (", ".join(f"`{c}`" for c in key) if key else "none (one row)") + ".",
        "",
        "| column | type | description |",
        "|---|---|---|",
    ]
    for name, kind in sql_columns(table).items():
        description = columns[name].description or ""
        lines.append(f"| `{name}` | {kind} | {_cell(description)} |")
    return "\n".join(lines)


def render_tables_markdown() -> str:
    """The whole generated block (without the markers)."""
    sections = [render_table(name) for name in documented_tables()]
    bound = ", ".join(f"`{name}`" for name in BOUND_ONLY if name in TABLES)
    sections.append(
        f"Bound for the models only, not in the catalog (see `schemas/tables.py`): {bound}."
    )
    return "\n\n".join(sections) + "\n"


def replace_block(text: str, block: str) -> str:
    """`text` with what lies between the markers replaced by `block`."""
    pattern = re.compile(re.escape(BEGIN) + r"\n.*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"the markers {BEGIN} ... {END} are missing")
    return pattern.sub(lambda _: f"{BEGIN}\n{block}{END}", text, count=1)


def readme_block(readme: Path) -> str:
    """What the README holds between the markers now."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN) + 1, text.index(END)
    return text[start:end]
