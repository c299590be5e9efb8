"""Print the README's table reference, or write it between the markers (`--write`).

.venv/bin/python scripts/table_docs.py           # print the generated block
.venv/bin/python scripts/table_docs.py --write   # refresh README.md in place
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas.docs import render_tables_markdown, replace_block

README = Path(__file__).resolve().parent.parent / "README.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md's block")
    args = parser.parse_args()
    block = render_tables_markdown()
    if not args.write:
        sys.stdout.write(block)
        return
    text = README.read_text(encoding="utf-8")
    README.write_text(replace_block(text, block), encoding="utf-8")
    print(f"{README}: table reference updated")


if __name__ == "__main__":
    main()
