"""Benchmark: lagnb.physics.engine.lagrangian() against BasisGen's operator count, in the same run.

For the one-generation Standard Model and for random 4- and 6-field contents (fixed seeds) it
times

* ``lagrangian(fields)`` cold (the contraction caches cleared before each call: the cost of a
  new field content) and warm (the same call repeated);
* BasisGen's count of the dimension ≤ 4 invariants of the same content (every field and its
  conjugate, ``EFT.invariants(4)``), cold (all BasisGen caches cleared) and warm;
* lagnb.physics.counting.operator_counts (the character method, cold), for reference;

and prints the ratio BasisGen time / lagnb time.  It also checks that the three agree on the
number of derivative-free invariants per monomial (column ``agree``).

Goal (issue 2): the SM in < 20 ms, and ≥ 10× faster than BasisGen while also producing
explicit terms.  Goal (issue 12): the SM with three generations and a Z2-odd real singlet in
< 50 ms warm (timed last, lagnb only: BasisGen has no Z_N).

    python benchmarks/engine.py               # default: 5 contents of each size, 5 repeats
    python benchmarks/engine.py --contents 3 --repeat 3 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the BasisGen driver is test-only
sys.path.insert(0, str(ROOT))

from peer_basisgen import basisgen_counts, clear_basisgen_caches  # noqa: E402

import lagnb.physics.contractions as contractions  # noqa: E402
import lagnb.physics.counting as counting  # noqa: E402
import lagnb.physics.flavour as flavour  # noqa: E402
from lagnb.physics import catalogue  # noqa: E402
from lagnb.physics.engine import lagrangian  # noqa: E402
from lagnb.physics.fields import Field  # noqa: E402
from lagnb.physics.symmetries import Symmetry  # noqa: E402

S, L, R = Field.scalar, Field.left, Field.right

STANDARD_MODEL = list(catalogue.get("sm").fields)
SM3_Z2_SINGLET = [
    Field(f.spin, f.su3, f.su2, f.y, f.helicity, f.name, generations=3 if f.is_fermion else 1)
    for f in STANDARD_MODEL
] + [S(1, 1, 0, "S", real=True, charges={Symmetry.z("Z2", 2): 1})]
"""Issue 12's speed case: three generations of SM fermions, the Higgs, a Z2-odd real singlet."""


def random_content(seed: int, n: int) -> list[Field]:
    """n fields with random spins, reps and small hypercharges (many zeros; fixed seed)."""
    rng = random.Random(seed)
    ys = [Fraction(0)] * 3 + [Fraction(v) for v in ("1", "-1", "2", "1/2", "-1/2", "1/3")]
    makers = [S, S, L, R]
    fields: list[Field] = []
    while len(fields) < n:
        if fields and rng.random() < 0.3:  # a repeated rep with another spin, or conjugated
            g = rng.choice(fields)
            g = rng.choice([g, g.conjugate()])
            fields.append(rng.choice(makers)(g.su3, g.su2, g.y))
        else:
            fields.append(
                rng.choice(makers)(
                    rng.choice([1, 1, 3, -3, 6, -6, 8]),
                    rng.choice([1, 1, 2, 3, 4]),
                    rng.choice(ys),
                )
            )
    return fields


def clear_lagnb_caches() -> None:
    flavour.flavoured_basis.cache_clear()
    contractions.invariant_basis.cache_clear()
    contractions.su3_basis.cache_clear()
    contractions.su2_basis.cache_clear()


def clear_counting_caches() -> None:
    counting._power_of.cache_clear()
    counting._count_signature.cache_clear()


CLOCK: Callable[[], float] = time.perf_counter


def timed(fn: Callable[[], object], repeat: int, before: Callable[[], object] | None) -> float:
    """Median time (s, ``CLOCK``) of ``fn`` over ``repeat`` runs, calling ``before`` before each."""
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return statistics.median(times)


def bench(name: str, fields: list[Field], repeat: int) -> dict[str, object]:
    lag = lagrangian(fields)
    ours = counting.engine_counts(lag)
    agree = ours == basisgen_counts(fields) == counting.operator_counts(fields)
    row: dict[str, object] = {"content": name, "n": len(fields), "terms": len(lag.terms)}
    row["lag_cold"] = timed(lambda: lagrangian(fields), repeat, clear_lagnb_caches)
    lagrangian(fields)
    row["lag_warm"] = timed(lambda: lagrangian(fields), max(repeat, 20), None)
    row["bg_cold"] = timed(lambda: basisgen_counts(fields), repeat, clear_basisgen_caches)
    basisgen_counts(fields)
    row["bg_warm"] = timed(lambda: basisgen_counts(fields), repeat, None)
    row["chars"] = timed(lambda: counting.operator_counts(fields), repeat, clear_counting_caches)
    row["agree"] = agree
    return row


def print_table(rows: list[dict[str, object]]) -> None:
    head = (
        f"{'content':<10}{'n':>3}{'terms':>7}{'lagnb cold':>12}{'lagnb warm':>12}"
        f"{'BG cold':>10}{'BG warm':>10}{'BG/lagnb cold':>15}{'BG/lagnb warm':>15}"
        f"{'chars':>9}  agree"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        ms = {k: 1e3 * float(r[k]) for k in ("lag_cold", "lag_warm", "bg_cold", "bg_warm", "chars")}
        print(
            f"{r['content']!s:<10}{r['n']:>3}{r['terms']:>7}"
            f"{ms['lag_cold']:>9.2f} ms{ms['lag_warm']:>9.2f} ms"
            f"{ms['bg_cold']:>7.1f} ms{ms['bg_warm']:>7.1f} ms"
            f"{ms['bg_cold'] / ms['lag_cold']:>14.1f}×{ms['bg_warm'] / ms['lag_warm']:>14.1f}×"
            f"{ms['chars']:>6.1f} ms  {'yes' if r['agree'] else 'NO'}"
        )
    for size in ("4-field", "6-field"):
        sel = [r for r in rows if str(r["content"]).startswith(size[0] + "f")]
        if sel:
            cold = statistics.median(float(r["bg_cold"]) / float(r["lag_cold"]) for r in sel)
            warm = statistics.median(float(r["bg_warm"]) / float(r["lag_warm"]) for r in sel)
            print(f"median ratio BG/lagnb, {size}: cold {cold:.1f}×, warm {warm:.1f}×")


def profile_cold(fields: list[Field], top: int = 25) -> str:
    """cProfile of one cold lagrangian() call (cumulative time)."""
    clear_lagnb_caches()
    prof = cProfile.Profile()
    prof.enable()
    lagrangian(fields)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contents", type=int, default=5, help="random contents per size")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement")
    parser.add_argument("--profile", action="store_true", help="cProfile the cold SM call")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall time (perf_counter) or this process's CPU time (steadier on a busy machine)",
    )
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.perf_counter if args.clock == "wall" else time.process_time

    # warm up numpy/einsum and imports so the first measurement is not an import cost
    lagrangian([S(1, 2, 1), L(3, 2, Fraction(1, 3))])
    basisgen_counts([S(1, 2, 1)])

    cases = [("SM", STANDARD_MODEL)]
    cases += [(f"4f s{s}", random_content(s, 4)) for s in range(args.contents)]
    cases += [(f"6f s{s}", random_content(1000 + s, 6)) for s in range(args.contents)]
    rows = [bench(name, f, args.repeat) for name, f in tqdm(cases, desc="contents", leave=False)]
    print(
        f"{args.clock} clock; median of {args.repeat} runs per cell "
        f"(warm lagnb: of {max(args.repeat, 20)})"
    )
    print_table(rows)
    sm = rows[0]
    ok_time = float(sm["lag_cold"]) < 0.020
    ok_ratio = float(sm["bg_cold"]) / float(sm["lag_cold"]) >= 10
    print(
        f"goal: SM cold < 20 ms: {'met' if ok_time else 'NOT met'}; "
        f"SM ≥ 10× faster than BasisGen (cold): {'met' if ok_ratio else 'NOT met'}"
    )
    cold = timed(lambda: lagrangian(SM3_Z2_SINGLET), args.repeat, clear_lagnb_caches)
    warm = timed(lambda: lagrangian(SM3_Z2_SINGLET), max(args.repeat, 20), None)
    print(
        f"SM ×3 generations + Z2-odd real singlet: cold {1e3 * cold:.2f} ms, warm "
        f"{1e3 * warm:.2f} ms; goal warm < 50 ms: {'met' if warm < 0.050 else 'NOT met'}"
    )
    if args.profile:
        print(profile_cold(STANDARD_MODEL))
    return 0 if all(r["agree"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
