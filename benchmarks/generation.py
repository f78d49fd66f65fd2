"""Benchmark: seconds per Lagrangian when a model writes one, on CPU.

For held-out field contents of 1–3 fields (a dataset folder's test split, or random contents in
the BART-L domain when none is given) it times ``generate`` per Lagrangian in five modes —
``raw`` (greedy, unconstrained, uncertified), ``grammar`` (constrained), ``checked`` (constrained,
then the checker drops invalid terms), ``certified`` (the default: as ``checked``, but a
rejected term is first replaced by the model's best certified alternative, where one of its 16
best is, and the certified terms among the model's 16 best first terms, and among its best first
terms led by each field, that the output lacks are added; a list of up to three fields is
decoded in its own order only) and ``orders8`` (as ``certified``, and
the same for up to 7 other orders of the field list, ``orders=8``, adding the certified terms
they find) — and reports the median and the 90th
percentile per number of fields, with the tokens written per second.  The target is ≤ 2 s per
Lagrangian of ≤ 3 fields with the shipped model.  Every mode decodes with lagnb's own loop
(:func:`lagnb.ml.decoding.search`: the decoder a token at a time from cached keys and values);
``benchmarks/training.py`` compares that loop's time per token with ``transformers``'
``generate``.  Several models can be compared in one run
(ratios are only meaningful within one run).

    python benchmarks/generation.py                                  # the shipped model
    python benchmarks/generation.py --model runs/exp/compact-small --model ""   # vs shipped
    python benchmarks/generation.py --data runs/exp/data1024 --n 30 --json out.json
    python benchmarks/generation.py --data runs/exp/data1024 --n 30 --modes certified --threads 2
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import torch
import transformers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lagnb.ml.generate import generate_batch  # noqa: E402
from lagnb.ml.model import load_bundle  # noqa: E402
from lagnb.physics.fields import Field, fields_tokens  # noqa: E402

MODES = {
    "raw": dict(constrained=False, certified=False),
    "grammar": dict(constrained=True, certified=False),
    "checked": dict(constrained=True, certified=True, alternatives=0),
    "certified": dict(constrained=True, certified=True),
    "orders8": dict(constrained=True, certified=True, orders=8),
}


def random_contents(n: int, seed: int) -> list[str]:
    """``n`` random field lists of 1–3 fields in the BART-L domain (SU(3) 1/3/3̄, SU(2) 1/2/3)."""
    rng = random.Random(seed)
    ys = ["0", "1", "-1", "1/3", "-1/3", "2/3", "4/3", "2", "1/2"]
    out = []
    for k in range(n):
        fields = []
        for _ in range(1 + k % 3):
            su3, su2, y = rng.choice([1, 3, -3]), rng.choice([1, 2, 3]), rng.choice(ys)
            kind = rng.choice(["scalar", "left", "right"])
            fields.append(getattr(Field, kind)(su3, su2, y))
        out.append(fields_tokens(fields))
    return out


def dataset_contents(data: Path, n: int) -> list[str]:
    from lagnb.data.reader import load_rows

    rows = [r for r in load_rows(data, "test") if r["n_fields"] <= 3]
    return [r["input"] for r in rows[:n]]


def run(models: list[str], inputs: list[str], threads: int, modes: list[str]) -> list[dict]:
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(threads)
    results = []
    for model in models:
        bundle = load_bundle(model or None)
        name = model or "shipped"
        generate_batch(bundle, inputs[:1], **MODES["raw"])  # warm-up
        for mode in modes:
            kw = MODES[mode]
            per: dict[int, list[float]] = {}
            tokens = 0
            for text in inputs:
                t0 = time.perf_counter()
                (out,) = generate_batch(bundle, [text], **kw)
                per.setdefault(text.count("FIELD"), []).append(time.perf_counter() - t0)
                tokens += len(out.split())
            times = [t for ts in per.values() for t in ts]
            row = {
                "model": name,
                "format": bundle.target_format,
                "mode": mode,
                "n": len(times),
                "median_s": statistics.median(times),
                "p90_s": sorted(times)[int(0.9 * (len(times) - 1))],
                "by_fields_median_s": {k: statistics.median(v) for k, v in sorted(per.items())},
                "tokens_per_s": tokens / sum(times),
            }
            results.append(row)
            by = "  ".join(f"{k} fields {v:.2f} s" for k, v in row["by_fields_median_s"].items())
            print(
                f"{name:>24} {mode:>9}: median {row['median_s']:.2f} s, p90 {row['p90_s']:.2f} s "
                f"({by}); {row['tokens_per_s']:.0f} BART-L tokens/s"
            )
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", help='model folder ("" = shipped); repeatable')
    ap.add_argument("--data", type=Path, help="dataset folder whose test split to use")
    ap.add_argument("--n", type=int, default=24, help="field contents (default 24)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument(
        "--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)} (all)"
    )
    args = ap.parse_args()
    modes = args.modes.split(",")
    if unknown := [m for m in modes if m not in MODES]:
        ap.error(f"--modes: unknown mode {unknown[0]!r}; choose from {', '.join(MODES)}")
    if args.data:
        inputs = dataset_contents(args.data, args.n)
    else:
        inputs = random_contents(args.n, args.seed)
    results = run(args.model or [""], inputs, args.threads, modes)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
