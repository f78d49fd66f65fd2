"""Benchmark: dataset sampling throughput (Lagrangians per second), one process against all cores.

For each configuration it builds a dataset with ``lagnb.data.build.build_dataset`` in a fresh
temporary folder, once with ``workers=1`` and once with all cores, and reports

* Lagrangians per second (accepted, in distribution + ood) and candidates per second (drawn);
* wall time and CPU time (this process + its worker processes), so that a busy machine shows
  up as CPU time < wall time × processes;
* the machine's load average before and after (other jobs on a shared machine slow it down);
* that both runs wrote identical data (the result must not depend on the worker count).

Goal (issue 3): a dataset of the BART-L paper's size, 37K Lagrangians with up to six fields,
in under 10 minutes on a 2-core machine.  ``--full`` runs exactly that (the ``paper``
profile's parameters, all cores) and extrapolates nothing.

    python benchmarks/sampling.py                  # 3000 Lagrangians per configuration
    python benchmarks/sampling.py --n 5000 --json /tmp/sampling.json
    python benchmarks/sampling.py --full           # the 37K paper-size run (all cores)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lagnb.data.build import build_dataset  # noqa: E402
from lagnb.data.reader import load_rows, read_meta  # noqa: E402

CONFIGS: dict[str, dict[str, Any]] = {
    # the paper profile's distribution: every representation, up to six fields
    "paper-uniform": dict(strategy="uniform", max_fields=6, reps="default", max_target_len=2048),
    "paper-enriched": dict(strategy="enriched", max_fields=6, reps="default", max_target_len=2048),
    # the tiny profile: BART-L representations, up to three fields, short targets
    "tiny-enriched": dict(strategy="enriched", max_fields=3, reps="bart-l", max_target_len=512),
}


def cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(params: dict[str, Any], workers: int, folder: Path) -> dict[str, Any]:
    load0 = os.getloadavg()[0]
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    build_dataset(folder, workers=workers, progress=False, **params)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    meta = read_meta(folder)
    accepted = sum(meta["counts"].values())
    candidates = sum(p["candidates"] for p in meta["phases"].values())
    return {
        "workers": workers,
        "lagrangians": accepted,
        "candidates": candidates,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "lagrangians_per_s": round(accepted / wall, 1),
        "candidates_per_s": round(candidates / wall, 1),
        "cpu_ms_per_lagrangian": round(1000 * cpu / accepted, 2),
        "load_before": round(load0, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=3000, help="Lagrangians per configuration")
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--full", action="store_true", help="the 37K paper-size run, all cores")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"machine: {cores} cores, load average {os.getloadavg()}")
    results: dict[str, Any] = {"cores": cores}
    with tempfile.TemporaryDirectory(prefix="lagnb-bench-") as tmp:
        if args.full:
            params = dict(CONFIGS["paper-enriched"], n=37_000, seed=0)
            r = run(params, cores, Path(tmp) / "full")
            results["full-37k"] = r
            print(f"37K paper-size dataset ({cores} workers): {r}")
        else:
            for name in args.configs:
                params = dict(CONFIGS[name], n=args.n, seed=0)
                rows = {}
                for workers in sorted({1, cores}):
                    rows[workers] = run(params, workers, Path(tmp) / f"{name}-{workers}")
                    print(f"{name:15s} {rows[workers]}", flush=True)
                tables = [load_rows(Path(tmp) / f"{name}-{w}") for w in rows]
                same = all(t == tables[0] for t in tables)
                speedup = rows[cores]["lagrangians_per_s"] / rows[1]["lagrangians_per_s"]
                print(
                    f"{name:15s} speed-up with {cores} workers: {speedup:.2f}×, identical: {same}"
                )
                results[name] = {"runs": list(rows.values()), "speedup": round(speedup, 2)}
                results[name]["identical"] = same
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
