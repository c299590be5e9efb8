"""Print the README's generated reference (tables from schemas/tables.py, models from the
registry), or write both between their markers (`--write`).

.venv/bin/python scripts/table_docs.py           # print the generated block
.venv/bin/python scripts/table_docs.py --write   # refresh README.md in place
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import re

from pipelines.models.registry import render_models_markdown
from schemas.docs import render_tables_markdown, replace_block

README = Path(__file__).resolve().parent.parent / "README.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md's block")
    args = parser.parse_args()
    block = render_tables_markdown()
    models = render_models_markdown()
    if not args.write:
        sys.stdout.write(models + "\n\n" + block)
        return
    text = replace_block(README.read_text(encoding="utf-8"), block)
    text, found = re.subn(
        r"<!-- models:begin -->\n.*?<!-- models:end -->",
        lambda _: f"<!-- models:begin -->\n{models}\n<!-- models:end -->",
        text,
        flags=re.S,
    )
    if not found:
        raise SystemExit(f"{README}: the markers <!-- models:begin --> ... :end --> are missing")
    README.write_text(text, encoding="utf-8")
    print(f"{README}: table and model reference updated")


if __name__ == "__main__":
    main()
