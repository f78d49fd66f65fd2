"""Statistics, summaries and figures of Lagrangian datasets (layout: :mod:`lagnb.data.reader`).

The statistics take pandas DataFrames with the dataset's columns
(:func:`lagnb.data.reader.load_frame`), so the same functions describe one dataset, one split, or
several datasets side by side (a mapping label → frame, e.g. ``{"uniform": …, "enriched": …}``).
The summaries (:func:`sample_summary`, :func:`format_achieved`) describe a dataset from its
``meta.json`` (:func:`lagnb.data.reader.read_meta`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lagnb.data.features import FEATURES
from lagnb.data.reader import SPLITS
from lagnb.physics.fields import parse_fields

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


# -- summaries of meta.json ----------------------------------------------------------------------
def achieved_table(meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows (feature, target, achieved in-distribution, achieved ood) for reports."""
    rows = []
    phases = meta.get("phases", {})
    for f in FEATURES:
        rows.append(
            {
                "feature": f,
                "target": meta.get("targets", {}).get(f),
                "achieved": phases.get("main", {}).get("achieved", {}).get(f),
                "achieved_ood": phases.get("ood", {}).get("achieved", {}).get(f),
            }
        )
    return rows


def format_achieved(meta: Mapping[str, Any]) -> str:
    """A plain-text table of target vs achieved feature fractions."""
    lines = [f"{'feature':<14} {'target':>7} {'achieved':>9} {'ood':>7}"]
    for r in achieved_table(meta):

        def pct(x: float | None) -> str:
            return "-" if x is None else f"{100 * x:.1f}%"

        lines.append(
            f"{r['feature']:<14} {pct(r['target']):>7} {pct(r['achieved']):>9} "
            f"{pct(r['achieved_ood']):>7}"
        )
    return "\n".join(lines)


def sample_summary(meta: Mapping[str, Any]) -> str:
    """A few lines saying what a dataset holds (counts, drops, target vs achieved)."""
    lines = [
        "splits: " + ", ".join(f"{s} {meta['counts'].get(s, 0)}" for s in SPLITS),
    ]
    for phase, info in meta.get("phases", {}).items():
        if "candidates" not in info:
            continue
        lines.append(
            f"{phase}: {info['accepted']}/{info['target']} accepted from {info['candidates']} "
            f"candidates ({info['duplicates']} duplicates, {info['too_long']} over "
            f"max_target_len, {info['rejected']} rejected by quotas)"
        )
        if info.get("held_out"):
            lines.append(f"  {info['held_out']} draws of a named model's content left out")
        if info.get("quotas_relaxed"):
            lines.append("  quotas relaxed: the targets were out of reach within the candidates")
        if info["too_long"]:
            by_n = ", ".join(f"{k} fields: {v}" for k, v in info["too_long_by_n_fields"].items())
            lines.append(f"  dropped as too long by number of fields: {by_n}")
    lines.append(format_achieved(meta))
    return "\n".join(lines)


# -- statistics of rows ----------------------------------------------------------------------------
def _frames(data: pd.DataFrame | Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    import pandas as pd

    return {"data": data} if isinstance(data, pd.DataFrame) else dict(data)


def feature_fractions(df: pd.DataFrame) -> dict[str, float]:
    """Fraction of rows with each feature."""
    n = len(df)
    return {f: (float(df[f"has_{f}"].sum()) / n if n else 0.0) for f in FEATURES}


def compare_features(
    data: pd.DataFrame | Mapping[str, pd.DataFrame],
    targets: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Feature fractions side by side: one row per feature, one column per dataset (and a
    ``target`` column when targets are given), in percent."""
    import pandas as pd

    table = pd.DataFrame({k: feature_fractions(v) for k, v in _frames(data).items()})
    if targets:
        table.insert(0, "target", [targets.get(f, float("nan")) for f in FEATURES])
    table.index.name = "feature"
    return (100 * table).round(1)


def length_summary(df: pd.DataFrame, by: str = "n_fields") -> pd.DataFrame:
    """Count and mean/median/max of terms and token lengths, grouped by ``by``."""
    g = df.groupby(by)
    table = g.agg(
        count=("n_terms", "size"),
        terms_mean=("n_terms", "mean"),
        terms_max=("n_terms", "max"),
        target_len_mean=("target_len", "mean"),
        target_len_median=("target_len", "median"),
        target_len_max=("target_len", "max"),
        input_len_mean=("input_len", "mean"),
    )
    return table.round(1)


def field_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per field of every content: kind (scalar/left/right), su3, su2, hypercharge."""
    import pandas as pd

    cache: dict[str, list[tuple[str, str, int, str]]] = {}
    rows: list[tuple[str, str, int, str]] = []
    for key in df["content_key"]:
        if key not in cache:
            out = []
            for f in parse_fields(key):
                kind = "scalar" if f.is_scalar else ("left" if f.helicity < 0 else "right")
                out.append((kind, _su3_name(f.su3), f.su2, str(f.y)))
            cache[key] = out
        rows.extend(cache[key])
    return pd.DataFrame(rows, columns=["kind", "su3", "su2", "hypercharge"])


def _su3_name(rep: int) -> str:
    return f"{-rep}bar" if rep < 0 else str(rep)


_SU3_ORDER = ["1", "3", "3bar", "6", "6bar", "8"]


def rep_frequencies(df: pd.DataFrame) -> dict[str, pd.Series]:
    """Relative frequency of each field kind, SU(3) and SU(2) representation and hypercharge,
    over all fields of all contents."""
    fields = field_table(df)
    out = {}
    for col in ("kind", "su3", "su2", "hypercharge"):
        s = fields[col].value_counts(normalize=True)
        out[col] = s.reindex(_order(col, s.index)).fillna(0.0)
    return out


def _order(col: str, values: Iterable[Any]) -> list[Any]:
    values = list(values)
    if col == "kind":
        return [k for k in ("scalar", "left", "right") if k in values]
    if col == "su3":
        return [k for k in _SU3_ORDER if k in values]
    if col == "hypercharge":
        return sorted(values, key=lambda y: Fraction(y))
    return sorted(values)


# -- figures -------------------------------------------------------------------------------------
def _grouped_bars(ax: Any, labels: Sequence[str], series: Mapping[str, Sequence[float]]) -> None:
    import numpy as np

    k = max(1, len(series))
    width = 0.8 / k
    x = np.arange(len(labels))
    for j, (name, values) in enumerate(series.items()):
        ax.bar(x + (j - (k - 1) / 2) * width, values, width, label=name)
    ax.set_xticks(x)
    ax.set_xticklabels(labels)


def plot_overview(
    data: pd.DataFrame | Mapping[str, pd.DataFrame],
    targets: Mapping[str, float] | None = None,
    max_target_len: int | None = None,
    path: str | os.PathLike | None = None,
) -> Figure:
    """Four panels: fields per content, terms per Lagrangian, target token lengths, and
    feature fractions (with the enriched targets as markers).  Saved to ``path`` if given."""
    import numpy as np

    from lagnb.figures import new_figure

    frames = _frames(data)
    fig, axes = new_figure(2, 2, figsize=(11, 7.5))
    ax = axes[0, 0]
    ns = sorted({int(n) for df in frames.values() for n in df["n_fields"].unique()})
    _grouped_bars(
        ax,
        [str(n) for n in ns],
        {
            k: [float((df["n_fields"] == n).mean()) if len(df) else 0.0 for n in ns]
            for k, df in frames.items()
        },
    )
    ax.set_xlabel("fields per content")
    ax.set_ylabel("fraction of Lagrangians")
    ax.set_title("number of fields")
    for ax, col, title in (
        (axes[0, 1], "n_terms", "terms per Lagrangian (h.c. written out)"),
        (axes[1, 0], "target_len", "target length (tokens)"),
    ):
        top = max((int(df[col].max()) for df in frames.values() if len(df)), default=1)
        # integer-aligned bins (counts are integers: no empty comb teeth)
        bins = np.unique(np.linspace(0, top + 1, 41).round()) - 0.5
        for name, df in frames.items():
            ax.hist(df[col], bins=bins, histtype="step", linewidth=1.5, density=True, label=name)
        ax.set_xlabel(title)
        ax.set_ylabel("density")
        ax.set_title(title.split(" (")[0])
    if max_target_len:
        axes[1, 0].axvline(max_target_len, color="0.3", linestyle="--", linewidth=1)
        axes[1, 0].annotate(
            "max_target_len",
            (max_target_len, 0.95),
            xycoords=("data", "axes fraction"),
            ha="right",
            va="top",
            fontsize=8,
            rotation=90,
        )
    ax = axes[1, 1]
    fr = {k: [100 * v for v in feature_fractions(df).values()] for k, df in frames.items()}
    _grouped_bars(ax, [f.replace("_", "\n") for f in FEATURES], fr)
    if targets:
        xs = [i for i, f in enumerate(FEATURES) if f in targets]
        ax.scatter(
            xs,
            [100 * targets[FEATURES[i]] for i in xs],
            marker="_",
            s=500,
            color="black",
            zorder=3,
            label="target (min.)",
        )
    ax.set_ylabel("% of Lagrangians")
    ax.set_title("features")
    ax.tick_params(axis="x", labelsize=8)
    for a in axes.flat:
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path), dpi=110)
    return fig


def plot_reps(
    data: pd.DataFrame | Mapping[str, pd.DataFrame], path: str | os.PathLike | None = None
) -> Figure:
    """Frequencies of field kinds, SU(3) and SU(2) representations and hypercharges."""
    from lagnb.figures import new_figure

    freqs = {k: rep_frequencies(df) for k, df in _frames(data).items()}
    fig, axes = new_figure(1, 4, figsize=(12, 3.6), gridspec_kw={"width_ratios": [1, 1.5, 1.2, 3]})
    names = {"kind": "spin / helicity", "su3": "SU(3)", "su2": "SU(2)", "hypercharge": "U(1) Y"}
    for ax, col in zip(axes, ("kind", "su3", "su2", "hypercharge")):
        labels: list[Any] = []
        for f in freqs.values():
            labels += [x for x in f[col].index if x not in labels]
        labels = _order(col, labels)
        _grouped_bars(
            ax,
            [_pretty(col, x) for x in labels],
            {k: [float(f[col].get(x, 0.0)) for x in labels] for k, f in freqs.items()},
        )
        ax.set_title(names[col])
        ax.tick_params(axis="x", labelsize=8, rotation=90 if col == "hypercharge" else 0)
    axes[0].set_ylabel("fraction of fields")
    if len(freqs) > 1:
        axes[-1].legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path), dpi=110)
    return fig


def _pretty(col: str, value: Any) -> str:
    if col == "su3":
        rep = -int(value[:-3]) if str(value).endswith("bar") else int(value)
        return rf"$\overline{{{-rep}}}$" if rep < 0 else str(rep)
    return str(value)
