"""The long fuzzing run: tests/test_fuzz.py with many more examples, and a table of outcomes.

Every input class of ``tests/test_fuzz.py`` (token soups, mutated field strings and terms, random
terms, command lines, CSV files) gets its share of ``--examples``; the table counts, per class
and function, how many inputs gave a result and how many a (culprit-naming) ``LagnbError`` —
or, for the term checker, a valid / invalid / malformed verdict.  A crash fails the run with
hypothesis' minimal failing example.

    python benchmarks/fuzz.py                          # 200,000 examples, the CI inputs first
    python benchmarks/fuzz.py --examples 20000 --seed 3  # a fresh random run
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--examples", type=int, default=200_000, help="in all (CI: 10,000)")
    ap.add_argument("--seed", type=int, default=None, help="random run (default: deterministic)")
    ap.add_argument("-k", default=None, help="only the tests matching this pytest expression")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        os.environ["LAGNB_FUZZ_EXAMPLES"] = str(args.examples)
        os.environ["LAGNB_FUZZ_REPORT"] = str(report)
        if args.seed is not None:
            os.environ["LAGNB_FUZZ_SEED"] = str(args.seed)
        pytest_args = ["-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "test_fuzz.py")]
        if args.k:
            pytest_args += ["-k", args.k]
        start = time.perf_counter()
        code = pytest.main(pytest_args)
        seconds = time.perf_counter() - start
        rows = json.loads(report.read_text()) if report.is_file() else []
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        table[row["input"]][row["outcome"]] = row["count"]
    outcomes = sorted({row["outcome"] for row in rows})
    width = max((len(k) for k in table), default=10)
    print(f"\n{'input / function':<{width}}  " + "  ".join(f"{o:>9}" for o in outcomes))
    for name in sorted(table):
        counts = table[name]
        print(f"{name:<{width}}  " + "  ".join(f"{counts.get(o, 0):>9}" for o in outcomes))
    total = sum(row["count"] for row in rows)
    print(f"\n{total} outcomes checked in {seconds:.0f} s; pytest exit code {int(code)}")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
