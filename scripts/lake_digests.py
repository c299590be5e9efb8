"""Print a sha256 per Parquet file of a warehouse's lake, or of the oracle dataset's run.

Used to show that a refactor leaves outputs byte-identical:

    python scripts/lake_digests.py demo/warehouse > after.txt
    python scripts/lake_digests.py --oracle /tmp/oracle_run > after_oracle.txt

`--oracle DIR` builds the main dataset of tests/test_pipeline_vs_oracle.py in DIR,
runs the pipeline over it, and prints that lake's digests.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path


def digests(warehouse: Path) -> list[str]:
    lake = warehouse / "lake"
    return [
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(lake)}"
        for path in sorted(lake.rglob("*.parquet"))
    ]


def oracle_warehouse(root: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import test_pipeline_vs_oracle as oracle_test

    data_dir, warehouse = root / "data", root / "warehouse"
    oracle_test.write_requests(
        data_dir, oracle_test.generate_dataset(), files_per_folder=3, seed=11
    )
    manifest = oracle_test.write_manifest(root / "slos.yaml")
    oracle_test.run(data_dir, manifest, warehouse, oracle_test.DAYS)
    return warehouse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="a warehouse, or with --oracle an empty folder")
    parser.add_argument("--oracle", action="store_true", help="build and run the oracle dataset")
    args = parser.parse_args()
    warehouse = oracle_warehouse(args.path) if args.oracle else args.path
    print("\n".join(digests(warehouse)))


if __name__ == "__main__":
    main()
