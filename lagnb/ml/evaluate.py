"""Evaluating a model: generate for held-out field lists and score against the engine.

For every example the model's output is split into terms and scored with
:func:`lagnb.ml.metrics.score_lagrangian` against the engine's exact Lagrangian (term precision,
recall, F1, exact match, and the BART-L paper's score S).  Each well-formed generated term is
also given to the engine's term checker (:func:`lagnb.physics.check.check_term`): *validity* is the
fraction of generated terms that are gauge and Lorentz invariant, renormalizable and non-zero,
whether or not they are in the target.

By default generation is certified (:func:`lagnb.ml.generate.generate_batch`): decoding is
grammar-constrained and the generated terms the checker rejects are dropped, so the scores are
those of the certified output and its ``validity`` is 1 (NaN when no term remains).  Each row
also has ``raw_validity``, the fraction of the raw generated terms the checker certifies (a
repeat of an engine term written before counting as rejected), and ``dropped_terms``, how many
were dropped (``raw_prediction`` holds the raw text).  Greedy unconstrained raw decoding is
``constrained=False, certified=False`` (``lagnb evaluate --unconstrained --raw``); there
``raw_validity`` equals ``validity``, the physics validity of each term on its own.

Results are aggregated by number of fields, by split (``test`` in distribution, ``ood`` out of
distribution, ``benchmark`` the named models, ``sm+bsm`` an SM sector with one BSM field:
:func:`sector_examples`) and by fermion vs scalar-only sets.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from tqdm import tqdm

from lagnb.errors import LagnbError
from lagnb.ml.generate import ALTERNATIVES, ORDERS, generate_batch
from lagnb.ml.metrics import MISS_CLASSES, TERM_KINDS, misses_of_kind, score_lagrangian
from lagnb.ml.model import Bundle
from lagnb.physics.catalogue import CATALOGUE
from lagnb.physics.check import certify_terms
from lagnb.physics.engine import lagrangian_parsed
from lagnb.physics.fields import fields_tokens, parse_fields
from lagnb.physics.tokens import split_terms

SUMMARY_COLUMNS = [
    "n",
    "f1",
    "f1_no_gauge",
    "precision",
    "recall",
    "exact",
    "paper_score",
    "paper_object_score",
    "length_penalty",
    "validity",
    "raw_validity",
    "dropped_terms",
    "replaced_terms",
    "added_terms",
    "order_terms",
    "malformed_terms",
    "truncated",
    *(f"recall_{k}" for k in TERM_KINDS if k != "other"),
]
"""Summary columns: ``f1_no_gauge`` leaves gauge kinetic terms out (a constant output earns
F1 from them alone), ``recall_<kind>`` is the recall of the true terms of one kind;
``validity`` is that of the (certified) output, ``raw_validity`` that of the raw generated
terms, ``dropped_terms``, ``replaced_terms`` (rejected terms a certified alternative of the
model's replaced), ``added_terms`` (certified alternatives for the first terms that were added),
``order_terms`` (certified terms of the outputs for other orders of the fields that were added,
``orders``) and ``malformed_terms`` are totals."""


def score_example(
    input_string: str, prediction: str, target: str | None = None, *, check: bool = True
) -> dict[str, Any]:
    """All scores of one prediction (``target`` defaults to the engine's Lagrangian)."""
    fields = parse_fields(input_string)
    if target is None:
        target = lagrangian_parsed(fields).tokens()
    s = score_lagrangian(prediction, target)
    row: dict[str, Any] = {
        "input": input_string,
        "n_fields": len(fields),
        "has_fermion": any(f.is_fermion for f in fields),
        "target": target,
        "prediction": prediction,
        **s.as_dict(),
        **{f"recall_{k}": s.recall_of(k) for k in TERM_KINDS if k != "other"},
    }
    row["malformed"] = row.pop("malformed_terms")
    del row["by_kind"]  # as the recall_<kind> columns
    if check:
        cert = certify_terms(fields, split_terms(prediction))
        valid, checked = len(cert.kept), len(cert.terms)
    else:
        valid, checked = 0, 0
    row["valid_terms"], row["checked_terms"] = valid, checked
    row["validity"] = valid / checked if checked else float("nan")
    return row


@dataclass
class EvalResult:
    """Per-example rows and run metadata; summaries are computed from the rows."""

    rows: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self, by: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Mean scores (overall, or grouped ``by`` columns such as ``"n_fields"``)."""
        return summarise(self.rows, by)

    def to_json(self) -> dict[str, Any]:
        out = {
            "meta": self.meta,
            "overall": _records(self.summary()),
            "by_split": _records(self.summary("split")),
            "by_n_fields": _records(self.summary(["split", "n_fields"])),
            "by_content": _records(self.summary(["split", "content"])),
            "malformed_examples": [
                {"input": r.input, "malformed": list(r.malformed)}
                for r in self.rows.itertuples()
                if len(r.malformed)
            ][:20],
        }
        return out


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.reset_index().to_json(orient="records"))


def summarise(rows: pd.DataFrame, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Mean of the scores per group (``n`` = examples; ``malformed_terms``,
    ``dropped_terms``, ``replaced_terms``, ``added_terms`` and ``order_terms`` are totals)."""
    df = rows.copy()
    df["malformed_terms"] = df["n_malformed"]
    for col, missing in (("validity", float("nan")), ("raw_validity", float("nan"))):
        if col not in df:
            df[col] = missing
    totals = ("malformed_terms", "dropped_terms", "replaced_terms", "added_terms", "order_terms")
    for col in totals[1:]:
        if col not in df:
            df[col] = 0
    agg = {c: "mean" for c in SUMMARY_COLUMNS if c not in ("n", *totals)}
    agg.update(dict.fromkeys(totals, "sum"))
    if by is None:
        out = df.agg(agg).to_frame().T
        out.insert(0, "n", len(df))
        out.index = ["all"]
        return out
    g = df.groupby(list([by] if isinstance(by, str) else by))
    out = g.agg(agg)
    out.insert(0, "n", g.size())
    return out


def misses_table(rows: pd.DataFrame, kind: str = "yukawa", raw: bool = True) -> pd.DataFrame:
    """Per split: the true terms of one kind that the model wrote ``right``, wrote with the
    ``same_fields`` but another conjugation or contraction, or left ``absent``
    (:func:`lagnb.ml.metrics.misses_of_kind`), from what it wrote before the checker
    (``raw_prediction``, where the rows have it; ``raw=False``: the certified output)."""
    column = "raw_prediction" if raw and "raw_prediction" in rows else "prediction"
    counts: dict[str, Counter] = {}
    for split, pred, true in zip(rows["split"], rows[column], rows["target"]):
        counts.setdefault(split, Counter()).update(misses_of_kind(pred, true, kind))
    table = pd.DataFrame(
        [[c[m] for m in MISS_CLASSES] for c in counts.values()],
        index=pd.Index(list(counts), name="split"),
        columns=list(MISS_CLASSES),
    )
    table.insert(0, f"true {kind} terms", table.sum(axis=1))
    return table


def evaluate_examples(
    bundle: Bundle,
    examples: Iterable[dict[str, Any]],
    *,
    num_beams: int = 1,
    constrained: bool = True,
    certified: bool = True,
    alternatives: int = ALTERNATIVES,
    orders: int | None = ORDERS,
    batch_size: int = 16,
    check: bool = True,
    progress: bool = True,
    max_new_tokens: int | None = None,
) -> pd.DataFrame:
    """Generate and score examples (dicts with ``input`` and optionally ``target``, ``split``,
    ``name``), ``batch_size`` at a time.  Outputs that hit the token limit are marked
    ``truncated``.  ``constrained``, ``certified``, ``alternatives`` and ``orders`` as in
    :func:`~lagnb.ml.generate.generate_batch`: the scores are those of the certified output;
    ``raw_validity`` is that of the model's own output, ``dropped_terms``, ``replaced_terms``
    and ``added_terms`` say what certification removed, replaced and added (``order_terms``:
    what the other orders added)."""
    examples = list(examples)
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(examples), desc="evaluate", disable=not progress, unit="ex")
    for a in range(0, len(examples), batch_size):
        chunk = examples[a : a + batch_size]
        t0 = time.perf_counter()
        preds = generate_batch(
            bundle,
            [e["input"] for e in chunk],
            num_beams=num_beams,
            constrained=constrained,
            certified=certified,
            alternatives=alternatives,
            orders=orders,
            batch_size=batch_size,
            max_new_tokens=max_new_tokens,
            details=True,
        )
        dt = (time.perf_counter() - t0) / len(chunk)
        for e, g in zip(chunk, preds):
            row = score_example(e["input"], g.text, e.get("target"), check=check)
            row["split"] = e.get("split", "test")
            if "name" in e:
                row["name"] = e["name"]
            row["raw_prediction"] = g.raw
            # uncertified, the prediction is the raw output: its validity is the raw validity
            row["raw_validity"] = g.raw_validity if certified else row["validity"]
            row["dropped_terms"] = len(g.dropped)
            row["replaced_terms"] = len(g.replaced)
            row["added_terms"] = len(g.added)
            row["order_terms"] = len(g.from_orders)
            row["truncated"] = not g.finished
            row["seconds"] = dt
            rows.append(row)
        bar.update(len(chunk))
    bar.close()
    df = pd.DataFrame(rows)
    if len(df):
        df["content"] = df["has_fermion"].map({True: "fermions", False: "scalars only"})
    return df


def load_examples(
    data_dir: str | Path, splits: Sequence[str] = ("test", "ood"), max_examples: int | None = None
) -> list[dict[str, Any]]:
    """Examples (``input``, ``target``, ``split``) of the given splits of a dataset folder,
    at most ``max_examples`` per split; an empty split gives none."""
    from lagnb.data.reader import load_rows

    out = load_rows(data_dir, splits, ["input", "target"], limit=max_examples)
    if not out:
        raise LagnbError(f"no examples in {data_dir} for splits {', '.join(splits)}")
    return out


def benchmark_examples(names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The named benchmark sets as examples (targets from the engine)."""
    out = []
    for name in names or list(CATALOGUE):
        if name not in CATALOGUE:
            raise LagnbError(f"unknown benchmark {name!r}; choose from {', '.join(CATALOGUE)}")
        b = CATALOGUE[name]
        out.append({"input": fields_tokens(b.fields), "split": "benchmark", "name": name})
    return out


def sector_examples(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` examples "SM sector + one BSM field" (split ``sm+bsm``, ``name`` the sector), the
    contents of :func:`lagnb.data.sampling.sm_sector_contents`.  Sampled datasets do not leave
    them out as they do the named models, so check a training set against them before quoting
    the scores as held-out (the shipped model's training sets hold none of the first 32)."""
    from lagnb.data.sampling import sm_sector_contents

    return [
        {"input": fields_tokens(fs), "split": "sm+bsm", "name": name}
        for name, fs in sm_sector_contents(n, seed)
    ]


def evaluate(
    bundle: Bundle,
    data_dir: str | Path | None = None,
    *,
    splits: Sequence[str] = ("test", "ood"),
    benchmarks: bool = True,
    sectors: int = 0,
    max_examples: int | None = None,
    num_beams: int = 1,
    constrained: bool = True,
    certified: bool = True,
    alternatives: int = ALTERNATIVES,
    orders: int | None = ORDERS,
    batch_size: int = 16,
    check: bool = True,
    progress: bool = True,
) -> EvalResult:
    """Evaluate a model on dataset splits, the named benchmarks and ``sectors`` contents "SM
    sector + one BSM field" (:func:`sector_examples`), by default with certified decoding
    (see :func:`evaluate_examples`)."""
    examples: list[dict[str, Any]] = []
    if data_dir is not None:
        examples += load_examples(data_dir, splits, max_examples)
    if benchmarks:
        examples += benchmark_examples()
    if sectors:
        examples += sector_examples(sectors)
    t0 = time.perf_counter()
    rows = evaluate_examples(
        bundle,
        examples,
        num_beams=num_beams,
        constrained=constrained,
        certified=certified,
        alternatives=alternatives,
        orders=orders,
        batch_size=batch_size,
        check=check,
        progress=progress,
    )
    meta = {
        "model": str(bundle.path) if bundle.path else None,
        "data": str(data_dir) if data_dir else None,
        "num_beams": num_beams,
        "constrained": constrained,
        "certified": certified,
        "alternatives": alternatives if certified and constrained else 0,
        "orders": (orders or "by the number of fields") if certified and constrained else 1,
        "examples": len(rows),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return EvalResult(rows, meta)


def plot_by_fields(rows: pd.DataFrame, path: str | Path | None = None, ax=None):
    """Term F1, exact match and the paper's S against the number of fields, per split.

    Draws into ``ax`` when given (and returns it); otherwise returns a new figure, also saved
    to ``path`` if given."""
    from lagnb.figures import new_figure

    own = ax is None
    if own:
        fig, ax = new_figure(figsize=(6, 4))
    from matplotlib.ticker import MaxNLocator

    data = rows[rows["split"] != "benchmark"]
    colours = {"f1": "C0", "exact": "C1", "paper_score": "C2"}
    labels = {"f1": "term F1", "exact": "exact match", "paper_score": "paper score S"}
    styles = {"test": ("-", "o"), "ood": ("--", "s")}
    for split, part in data.groupby("split"):
        ls, marker = styles.get(str(split), (":", "^"))
        g = part.groupby("n_fields")[list(colours)].mean()
        for col, colour in colours.items():
            ax.plot(
                g.index,
                g[col],
                ls=ls,
                marker=marker,
                color=colour,
                label=f"{labels[col]} ({split})",
            )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("number of fields")
    ax.set_ylabel("score")
    ax.set_ylim(min(-0.05, float(data["paper_score"].min()) - 0.05) if len(data) else -0.05, 1.05)
    ax.axhline(0.9, color="grey", lw=0.5, ls="--")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("accuracy vs number of fields")
    if own:
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=100)
        return fig
    return ax


@torch.no_grad()
def input_sensitivity(bundle: Bundle, examples: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Does the model read its input?  Teacher-forced loss on ``examples`` (dicts with
    ``input`` and ``target``) with the right field lists, and with each example given the
    next example's field list.  A model that ignores its encoder — a failure mode of small,
    briefly trained models, whose decoder can copy field blocks from its own prefix — shows
    no gap.  Targets are BART-L and scored in the model's target format
    (:attr:`~lagnb.ml.model.Bundle.target_format`), as in training.
    """
    from lagnb.ml.tokenizer import encode_input, encode_target
    from lagnb.ml.train import collate, model_target, paired_losses

    tok, fmt = bundle.tokenizer, bundle.target_format
    rows = [
        {
            "input_ids": encode_input(tok, e["input"], bundle.input_format),
            "labels": encode_target(
                tok, model_target(e["input"], e["target"], fmt, bundle.term_order)
            ),
        }
        for e in examples
    ]
    batch = {k: v.to(bundle.device) for k, v in collate(rows, tok.pad_token_id).items()}
    loss, shuffled = paired_losses(bundle.model, batch)
    return {"loss": loss, "shuffled_inputs_loss": shuffled, "gap": shuffled - loss}
