"""What the model learned about fields: the geometry of its embeddings.

**Embeddings.** :func:`token_embedding_pca` projects the learned token embeddings.
:func:`field_representations` embeds single-field inputs — by default the paper's choice, the
encoder's last hidden state of the first token — and :func:`pca`, :func:`cluster_scores` and
:func:`pair_direction` measure how they organise by spin/helicity, SU(3), SU(2) and hypercharge
sign, and whether conjugation (3 ↔ 3̄, Y ↔ −Y) is a consistent direction in that space.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from itertools import product
from typing import Any

import numpy as np
import torch

from lagnb.errors import LagnbError
from lagnb.figures import new_figure
from lagnb.ml.targets import COMPACT_INPUTS, INPUT_WORDS
from lagnb.physics.fields import Field, fields_tokens
from lagnb.physics.tokens import FIELD_REFS, SPECIAL_TOKENS


@dataclass(frozen=True)
class Projection:
    """A PCA projection: ``coords`` (n, k), the ``components`` (k, d), the data ``mean`` and
    the fraction of variance each component explains."""

    coords: np.ndarray
    components: np.ndarray
    mean: np.ndarray
    explained: np.ndarray

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x) - self.mean) @ self.components.T


def pca(x: np.ndarray, k: int = 2) -> Projection:
    """Principal components of the rows of ``x`` (signs fixed: largest loading positive)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise LagnbError(f"PCA needs at least two vectors, got an array of shape {x.shape}")
    mean = x.mean(axis=0)
    _u, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    k = min(k, vt.shape[0])
    comps = vt[:k]
    signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(axis=1)])
    comps = comps * signs[:, None]
    var = s**2
    return Projection((x - mean) @ comps.T, comps, mean, var[:k] / max(var.sum(), 1e-30))


TOKEN_CLASSES = {
    "special": SPECIAL_TOKENS,
    "digit": tuple("0123456789"),
    "label": tuple(f"ID{k}" for k in range(10)),
    "symbol": ("i", "+", "-", "/"),
    "group": ("SU3", "SU2", "U1", "LORENTZ"),
    "field reference": FIELD_REFS,
    "field word": INPUT_WORDS,
}


def token_class(token: str) -> str:
    for name, toks in TOKEN_CLASSES.items():
        if token in toks:
            return name
    return "keyword"


def token_embeddings(bundle: Any) -> tuple[list[str], np.ndarray]:
    """The model's learned input token embeddings: (tokens in id order, (vocab, d_model))."""
    weight = bundle.model.get_input_embeddings().weight.detach().float().cpu().numpy()
    vocab = bundle.tokenizer.get_vocab()
    names = ["?"] * weight.shape[0]
    for tok, i in vocab.items():
        if i < len(names):
            names[i] = tok
    return names, weight


def token_embedding_pca(
    bundle: Any, k: int = 2, *, specials: bool = False
) -> tuple[list[str], Projection]:
    """PCA of the learned token embeddings (special tokens left out unless ``specials``; the
    compact format's field references ``F0``–``F15`` left out unless the model writes them,
    :attr:`~lagnb.ml.model.Bundle.target_format` ``"compact"``, and the compact input words
    unless it reads them, :attr:`~lagnb.ml.model.Bundle.input_format` ``"compact"`` or
    ``"conjugates"``)."""
    names, weight = token_embeddings(bundle)
    unused = set() if bundle.target_format == "compact" else set(FIELD_REFS)
    if bundle.input_format not in COMPACT_INPUTS:
        unused |= set(INPUT_WORDS)
    keep = [
        i for i, n in enumerate(names) if (specials or n not in SPECIAL_TOKENS) and n not in unused
    ]
    return [names[i] for i in keep], pca(weight[keep], k)


def plot_token_embeddings(tokens: Sequence[str], proj: Projection, *, ax: Any = None) -> Any:
    """Scatter of the token-embedding PCA, each point labelled, coloured by token class."""
    if ax is None:
        fig, ax = new_figure(figsize=(7.5, 6))
    else:
        fig = ax.figure
    classes = [token_class(t) for t in tokens]
    for j, name in enumerate(dict.fromkeys(classes)):
        idx = [i for i, c in enumerate(classes) if c == name]
        ax.scatter(proj.coords[idx, 0], proj.coords[idx, 1], s=28, color=f"C{j}", label=name)
    for (x, y), t in zip(proj.coords[:, :2], tokens):
        ax.annotate(t, (x, y), fontsize=7, xytext=(3, 2), textcoords="offset points")
    ev = proj.explained
    ax.set_xlabel(f"PC1 ({ev[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({ev[1]:.0%} of variance)" if len(ev) > 1 else "PC2")
    ax.set_title("learned token embeddings (PCA)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


HYPERCHARGES = (*tuple(Fraction(n, 3) for n in (-6, -4, -2, -1, 1, 2, 4, 6)), Fraction(0))


def single_fields(
    su3: Sequence[int] = (1, 3, -3),
    su2: Sequence[int] = (1, 2, 3),
    hypercharges: Sequence[Fraction] = HYPERCHARGES,
) -> tuple[Field, ...]:
    """A grid of single fields (scalar, left- and right-handed Weyl) over the given reps and
    hypercharges — the inputs of the paper's embedding study.  The grid is closed under
    conjugation when the rep and hypercharge lists are."""
    out = []
    for kind, s3, s2, y in product(("scalar", "left", "right"), su3, su2, hypercharges):
        out.append(getattr(Field, kind)(s3, s2, y))
    return tuple(out)


def field_representations(
    bundle: Any, fields: Sequence[Field], how: str = "encoder_first", *, batch_size: int = 64
) -> np.ndarray:
    """One vector per single-field input ``[SOS] <field> [EOS]``.

    ``how``: ``encoder_first`` — the encoder's last hidden state at the first token (the
    paper's choice); ``encoder_mean`` — its mean over the field's tokens; ``embedding_mean`` —
    the mean learned input embedding of the field's tokens (no context).
    """
    from lagnb.ml.tokenizer import encode_input

    if how not in ("encoder_first", "encoder_mean", "embedding_mean"):
        raise LagnbError(
            f"how must be 'encoder_first', 'encoder_mean' or 'embedding_mean', got {how!r}"
        )
    tok = bundle.tokenizer
    # float64 on the CPU: float32 sums change in the last digits with memory alignment and
    # thread count, and the notebook prints statistics of these vectors
    model = copy.deepcopy(bundle.model).to(device="cpu", dtype=torch.float64).eval()
    ids = [encode_input(tok, fields_tokens([f]), bundle.input_format) for f in fields]
    out = []
    device = model.device
    emb = model.get_input_embeddings()
    encoder = model.get_encoder()
    with torch.no_grad():
        for b in range(0, len(ids), batch_size):
            chunk = ids[b : b + batch_size]
            n = max(len(c) for c in chunk)
            pad = tok.pad_token_id
            x = torch.tensor([c + [pad] * (n - len(c)) for c in chunk], device=device)
            mask = torch.tensor([[1] * len(c) + [0] * (n - len(c)) for c in chunk], device=device)
            inner = mask.clone()
            inner[:, 0] = 0
            inner[torch.arange(len(chunk)), mask.sum(1) - 1] = 0
            if how == "embedding_mean":
                h = emb(x)
            else:
                h = encoder(input_ids=x, attention_mask=mask).last_hidden_state
            if how == "encoder_first":
                v = h[:, 0]
            else:
                w = inner.unsqueeze(-1).to(h.dtype)
                v = (h * w).sum(1) / w.sum(1)
            out.append(v.cpu().numpy())
    return np.concatenate(out)


ATTRIBUTES: dict[str, Callable[[Field], str]] = {
    "spin/helicity": lambda f: "scalar" if f.is_scalar else ("L" if f.helicity < 0 else "R"),
    "SU(3)": lambda f: rf"$\bar{{{-f.su3}}}$" if f.su3 < 0 else str(f.su3),
    "SU(2)": lambda f: str(f.su2),
    "hypercharge sign": lambda f: "Y>0" if f.y > 0 else ("Y<0" if f.y < 0 else "Y=0"),
}
"""Labels to colour and cluster single fields by."""


def silhouette(x: np.ndarray, labels: Sequence[str]) -> float:
    """Mean silhouette coefficient of ``labels`` on the rows of ``x`` (Euclidean): near 1 for
    tight separated clusters, near 0 for overlapping ones."""
    x = np.asarray(x, dtype=np.float64)
    lab = np.asarray(labels)
    names = np.unique(lab)
    if len(names) < 2:
        raise LagnbError("a silhouette needs at least two clusters")
    d = np.sqrt(np.maximum(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1), 0))
    scores = []
    for i in range(len(x)):
        same = lab == lab[i]
        if same.sum() < 2:
            scores.append(0.0)
            continue
        a = d[i, same].sum() / (same.sum() - 1)
        b = min(d[i, lab == n].mean() for n in names if n != lab[i])
        scores.append((b - a) / max(a, b, 1e-30))
    return float(np.mean(scores))


def cluster_scores(x: np.ndarray, fields: Sequence[Field]) -> dict[str, float]:
    """Silhouette of each attribute of :data:`ATTRIBUTES` on the representations ``x``."""
    return {
        name: silhouette(x, [fn(f) for f in fields])
        for name, fn in ATTRIBUTES.items()
        if len({fn(f) for f in fields}) > 1
    }


def _conjugation_partner(f: Field) -> Field | None:
    """The conjugate field, oriented so that each pair is counted once: from 3 (or 6) to 3̄;
    for real SU(3) reps from Y > 0 to Y < 0; for Y = 0 fermions from L to R."""
    if f.su3 in (3, 6):
        return f.conjugate()
    if f.su3 in (-3, -6):
        return None
    if f.y != 0:
        return f.conjugate() if f.y > 0 else None
    return f.conjugate() if f.is_fermion and f.helicity < 0 else None


PAIRINGS: dict[str, Callable[[Field], Field | None]] = {
    "conjugation": _conjugation_partner,
    "3 → 3̄": lambda f: replace(f, su3=-3) if f.su3 == 3 else None,
    "Y → −Y": lambda f: replace(f, y=-f.y) if f.y > 0 else None,
}
"""Ways to pair a field with a partner: full conjugation (rep, hypercharge and helicity), the
SU(3) rep alone, the hypercharge sign alone.  Each pairs a field only one way round."""


@dataclass(frozen=True)
class PairDirection:
    """How consistently pairing moves representations: ``direction`` is the unit mean
    difference (partner − field), ``consistency`` the mean cosine of each pair's difference
    with it (1 = one common direction, ~0 = none), over ``pairs`` pairs; ``pairs_index`` holds
    the (field, partner) row indices."""

    direction: np.ndarray
    consistency: float
    pairs: int
    pairs_index: tuple[tuple[int, int], ...]


def pair_direction(
    x: np.ndarray, fields: Sequence[Field], pairing: str = "conjugation"
) -> PairDirection:
    """The direction from each field to its partner (see :data:`PAIRINGS`) in ``x``."""
    if pairing not in PAIRINGS:
        raise LagnbError(f"pairing must be one of {', '.join(PAIRINGS)}, got {pairing!r}")
    where = {f: k for k, f in enumerate(fields)}
    pairs = []
    for k, f in enumerate(fields):
        partner = PAIRINGS[pairing](f)
        if partner is not None and partner in where:
            pairs.append((k, where[partner]))
    if not pairs:
        raise LagnbError(f"no {pairing} pairs in the field list")
    x = np.asarray(x, dtype=np.float64)
    diffs = np.array([x[b] - x[a] for a, b in pairs])
    mean = diffs.mean(axis=0)
    unit = mean / max(np.linalg.norm(mean), 1e-30)
    cos = diffs @ unit / np.maximum(np.linalg.norm(diffs, axis=1), 1e-30)
    return PairDirection(unit, float(cos.mean()), len(pairs), tuple(pairs))


def plot_field_pca(
    proj: Projection,
    fields: Sequence[Field],
    *,
    pairing: str | None = "conjugation",
    attributes: Sequence[str] | None = None,
    max_arrows: int = 24,
    title: str = "single-field representations",
) -> Any:
    """The PCA of field representations, one panel per attribute of :data:`ATTRIBUTES`
    (default: all four), points coloured by it.  Thin arrows join some fields to their partners
    (``pairing``, see :data:`PAIRINGS`); the thick red arrow from the centre is the mean
    field → partner shift in the plane: the *conjugation direction* when it is consistent."""
    names = list(attributes or ATTRIBUTES)
    unknown = [a for a in names if a not in ATTRIBUTES]
    if unknown:
        raise LagnbError(f"unknown attribute {unknown[0]!r}; choose from {', '.join(ATTRIBUTES)}")
    cols = min(2, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axes = new_figure(rows, cols, figsize=(5.5 * cols, 4.5 * rows), squeeze=False)
    xy = proj.coords[:, :2]
    arrows: tuple[tuple[int, int], ...] = ()
    mean_shift = None
    if pairing is not None:
        pd = pair_direction(xy, fields, pairing)
        step = max(1, len(pd.pairs_index) // max_arrows)
        arrows = pd.pairs_index[::step]
        mean_shift = np.mean([xy[b] - xy[a] for a, b in pd.pairs_index], axis=0)
    for k, ax in enumerate(axes.flat):
        if k >= len(names):
            ax.axis("off")
            continue
        name = names[k]
        labels = [ATTRIBUTES[name](f) for f in fields]
        for j, lab in enumerate(sorted(set(labels), key=lambda s: (s.startswith("$"), s))):
            idx = [i for i, x in enumerate(labels) if x == lab]
            ax.scatter(xy[idx, 0], xy[idx, 1], s=14, color=f"C{j}", label=lab, alpha=0.8)
        for a, b in arrows:
            ax.annotate(
                "",
                xy=xy[b],
                xytext=xy[a],
                arrowprops=dict(arrowstyle="->", color="0.4", lw=0.6, alpha=0.6),
            )
        if mean_shift is not None:
            c = xy.mean(axis=0)
            ax.annotate(
                "",
                xy=c + mean_shift,
                xytext=c,
                arrowprops=dict(arrowstyle="-|>", color="red", lw=2.5),
            )
        ax.set_title(f"coloured by {name}", fontsize=9)
        ax.legend(fontsize=7, markerscale=1.5)
        ax.set_xlabel(f"PC1 ({proj.explained[0]:.0%})")
        ax.set_ylabel(f"PC2 ({proj.explained[1]:.0%})")
    sub = f"; arrows: {pairing}" if pairing else ""
    fig.suptitle(f"{title} (PCA{sub})")
    fig.tight_layout()
    return fig
