"""Benchmark: how responsive is the autocomplete on CPU with the shipped model?

For a few field lists (lagnb.physics.catalogue) and a partial Lagrangian made of the engine's first
terms, it times

* ``first``: one suggestion (``max_terms=1``, ``min_terms=1``): the latency a user sees after
  pressing "complete" in the widget app — goal < 1 s;
* ``full``: the completion until the model ends or has written ``--max-terms`` terms;
* the share of that spent in the grammar mask (constrained vs. unconstrained decoding of the
  same number of tokens) and in the engine's checks;

at 1 torch thread and at the machine's default, ``--repeat`` times each (median reported).

    python benchmarks/autocomplete.py                  # shipped model, 5 repeats
    python benchmarks/autocomplete.py --model runs/tiny/model --repeat 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import transformers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lagnb.apps.autocomplete import complete, judge  # noqa: E402
from lagnb.ml.generate import generate_terms  # noqa: E402
from lagnb.ml.model import load_bundle, shipped_model_path  # noqa: E402
from lagnb.physics import catalogue  # noqa: E402
from lagnb.physics.engine import lagrangian  # noqa: E402

CASES = ("sm_leptons_higgs", "2hdm", "sm")


def median_time(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def run(
    model: Path, repeat: int, partial_terms: int, max_terms: int | None, threads: list[int]
) -> list[dict]:
    transformers.logging.set_verbosity_error()
    t0 = time.perf_counter()
    bundle = load_bundle(model)
    load_s = time.perf_counter() - t0
    print(
        f"model {model} loaded in {load_s:.2f} s "
        f"({sum(p.numel() for p in bundle.model.parameters()) / 1e6:.2f}M parameters)"
    )
    rows = []
    default_threads = torch.get_num_threads()
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for name in CASES:
            fields = catalogue.get(name).fields
            terms = lagrangian(fields).term_tokens()
            partial = terms[:partial_terms]
            complete(bundle, fields, partial, max_terms=1, min_terms=1)  # warm-up
            first_s, first = median_time(
                lambda f=fields, p=partial: complete(bundle, f, p, max_terms=1, min_terms=1),
                repeat,
            )
            full_s, full = median_time(  # rejected suggestions are counted in .dropped
                lambda f=fields, p=partial: complete(bundle, f, p, max_terms=max_terms), repeat
            )
            n_tokens = len(full.generated.split()) or 1
            free_s, _ = median_time(
                lambda f=fields, p=partial, n=n_tokens: generate_terms(
                    bundle, f, p, max_new_tokens=n, constrained=False, certified=False
                ),
                repeat,
            )
            judge_s, _ = median_time(
                lambda f=fields, p=partial, s=full: judge(
                    f, p, [x.tokens for x in (*s.suggestions, *s.dropped)]
                ),
                repeat,
            )
            row = dict(
                case=name,
                fields=len(fields),
                threads=n_threads,
                partial=len(partial),
                first_s=first_s,
                first_tokens=len(first.generated.split()),
                full_s=full_s,
                full_terms=len(full.suggestions),
                full_tokens=n_tokens,
                ms_per_token=1000 * full_s / n_tokens,
                unconstrained_s=free_s,
                checks_s=judge_s,
                valid_new=len(full.new_valid),
                dropped_invalid=len(full.dropped),
            )
            rows.append(row)
            print(
                f"{name:<17} threads={n_threads} first suggestion {first_s * 1000:6.0f} ms "
                f"({row['first_tokens']} tokens) | full {full_s:5.2f} s, {row['full_terms']} "
                f"terms, {n_tokens} tokens, {row['ms_per_token']:.1f} ms/token | same tokens "
                f"unconstrained {free_s:5.2f} s | checks {judge_s * 1000:5.0f} ms | "
                f"valid & new {row['valid_new']}, invalid dropped {row['dropped_invalid']}"
            )
    torch.set_num_threads(default_threads)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=shipped_model_path())
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--partial-terms", type=int, default=3)
    ap.add_argument("--max-terms", type=int, default=10, help="terms in the full completion")
    ap.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[1, torch.get_num_threads()],
        help="torch thread counts to time (default: 1 and torch's default)",
    )
    ap.add_argument("--json", type=Path, default=None, help="write the rows here")
    args = ap.parse_args()
    threads = sorted(set(args.threads))
    rows = run(args.model, args.repeat, args.partial_terms, args.max_terms, threads)
    worst = max(r["first_s"] for r in rows)
    print(f"slowest first suggestion: {worst * 1000:.0f} ms (goal < 1000 ms)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
