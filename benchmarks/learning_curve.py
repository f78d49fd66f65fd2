"""Benchmark: held-out exact match and term-F1 against CPU training time.

Each snapshot is a model folder copied from a run's ``checkpoint/`` while it trained (it holds
``state.json`` with the step, the seconds trained and the run's configuration).  A run started
with ``--init-from`` continues another model: its time is added to that model's own
(``train_log.json``), so the curve is against the total training time of the weights.  Every
snapshot is evaluated on the same held-out contents with certified decoding (``--alternatives``:
how many of the model's alternatives a rejected term and the first term get; the points in
``benchmarks/results`` were all scored with 0, as ``--alternatives 0`` does), and a
finished model folder (``train_log.json``) can be given too; each point records the setting.

    python benchmarks/learning_curve.py --data runs/exp/data1024 --max-examples 60 \\
        runs/exp/snaps/step* runs/exp/compact-small --json runs/exp/curve-a.json
    python benchmarks/learning_curve.py --plot "BART-L input=runs/exp/curve-a.json" \\
        "compact input=runs/exp/curve-c.json" --png lagnb/shipped/learning_curve.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lagnb.figures import new_figure, palette_png  # noqa: E402
from lagnb.ml.evaluate import evaluate_examples, load_examples, summarise  # noqa: E402
from lagnb.ml.generate import ALTERNATIVES  # noqa: E402
from lagnb.ml.model import load_bundle  # noqa: E402


def run_record(folder: Path) -> dict:
    """The step, seconds and configuration of a snapshot (``state.json``) or a finished model
    folder (``train_log.json``)."""
    for name in ("state.json", "train_log.json"):
        if (folder / name).is_file():
            return json.loads((folder / name).read_text())
    raise SystemExit(f"learning_curve: {folder} has neither state.json nor train_log.json")


def total_minutes(folder: Path) -> float:
    """Training minutes behind the weights in ``folder``, following ``init_from`` back."""
    record = run_record(folder)
    seconds = float(record["elapsed"])
    parent = record.get("config", {}).get("init_from")
    if parent:
        seconds += 60 * total_minutes(Path(ROOT, parent))
    return seconds / 60


def total_steps(folder: Path) -> int:
    record = run_record(folder)
    parent = record.get("config", {}).get("init_from")
    return int(record["step"]) + (total_steps(Path(ROOT, parent)) if parent else 0)


def evaluate_snapshots(
    folders: list[Path], data: str, split: str, n: int, alternatives: int = ALTERNATIVES
) -> list[dict]:
    """Evaluate each snapshot on the same held-out contents; one point per snapshot."""
    examples = load_examples(data, [split], n)
    points = []
    for folder in folders:
        bundle = load_bundle(folder)
        rows = evaluate_examples(bundle, examples, progress=False, alternatives=alternatives)
        s = summarise(rows).iloc[0]
        by_n = summarise(rows, "n_fields")["exact"].to_dict()
        point = {
            "model": str(folder),
            "step": total_steps(folder),
            "minutes": round(total_minutes(folder), 1),
            "examples": len(examples),
            "alternatives": alternatives,
            "f1": round(float(s["f1"]), 4),
            "f1_no_gauge": round(float(s["f1_no_gauge"]), 4),
            "exact": round(float(s["exact"]), 4),
            "exact_by_n_fields": {int(k): round(float(v), 4) for k, v in by_n.items()},
            "recall_yukawa": round(float(s["recall_yukawa"]), 4),
            "recall_trilinear": round(float(s["recall_trilinear"]), 4),
        }
        points.append(point)
        print(json.dumps(point), flush=True)
    return sorted(points, key=lambda p: p["minutes"])


def plot_runs(runs: dict[str, list[dict]], path: Path) -> None:
    """Exact match (solid) and term F1 (dotted) against training minutes, one colour a run."""
    fig, ax = new_figure(figsize=(10.5, 4.8))
    for k, (label, points) in enumerate(runs.items()):
        minutes = [p["minutes"] for p in points]
        colour, marker = f"C{k % 10}", "os^"[k // 10 % 3]  # ten colours, then new markers
        ax.plot(minutes, [p["exact"] for p in points], marker + "-", color=colour, label=label)
        ax.plot(minutes, [p["f1"] for p in points], ":", color=colour)
    n = next(iter(runs.values()))[0].get("examples", "the")
    ax.set_xlabel("training time on one CPU thread (minutes, including the run continued)")
    ax.set_ylabel(f"exact Lagrangians (solid), term F1 (dotted)\n{n} held-out contents, 1–3 fields")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    path.write_bytes(palette_png(fig))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("snapshots", nargs="*", type=Path, help="model folders (snapshots)")
    ap.add_argument("--data", help="dataset folder (its test split)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--max-examples", type=int, default=120)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--alternatives",
        type=int,
        default=ALTERNATIVES,
        help=f"alternatives tried for a rejected term and for the first term (default "
        f"{ALTERNATIVES}; 0: rejected terms dropped, none added)",
    )
    ap.add_argument("--json", type=Path, help="write the points here")
    ap.add_argument(
        "--plot",
        nargs="+",
        metavar="LABEL=POINTS.json",
        help="draw these runs' points (written by --json) instead of evaluating",
    )
    ap.add_argument("--png", type=Path, help="the figure (with --plot)")
    args = ap.parse_args()
    if args.plot:
        runs = {}
        for item in args.plot:
            label, _, file = item.rpartition("=")
            runs[label] = json.loads(Path(file).read_text())
        plot_runs(runs, args.png)
        return
    if not args.snapshots or not args.data:
        ap.error("give snapshot folders and --data (or --plot)")
    if args.alternatives < 0:
        ap.error(f"--alternatives must be 0 or more, got {args.alternatives}")
    torch.set_num_threads(args.threads)
    points = evaluate_snapshots(
        args.snapshots, args.data, args.split, args.max_examples, args.alternatives
    )
    if args.json:
        args.json.write_text(json.dumps(points, indent=1) + "\n")


if __name__ == "__main__":
    main()
