"""What the model looks at: attention maps and embedding geometry.

**Attention.** :func:`attention_maps` runs the model once, teacher-forced on a Lagrangian (the
model's own greedy output by default), with eager attention so that the weights exist
(transformers 5's default sdpa returns none).  Row ``t`` of the decoder and cross maps is the
step that *wrote* output token ``t``.  :func:`term_field_attention` aggregates the cross
attention into a term × field matrix: for each term, the attention mass its tokens put on each
input field's tokens, averaged over the term's tokens — a physicist's question "which fields
did the model read to write this Yukawa?".  Plots are matplotlib heatmaps with the tokens as
labels; :func:`bertviz_view` gives bertviz's interactive head/model views when the optional
``viz`` extra is installed.

**Embeddings.** :func:`token_embedding_pca` projects the learned token embeddings.
:func:`field_representations` embeds single-field inputs — by default the paper's choice, the
encoder's last hidden state of the first token — and :func:`pca`, :func:`cluster_scores` and
:func:`pair_direction` measure how they organise by spin/helicity, SU(3), SU(2) and hypercharge
sign, and whether conjugation (3 ↔ 3̄, Y ↔ −Y) is a consistent direction in that space.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from fractions import Fraction
from itertools import product
from typing import Any

import numpy as np
import torch

from lagnb.errors import LagnbError
from lagnb.physics.engine import as_fields
from lagnb.physics.fields import Field, default_names, fields_tokens
from lagnb.physics.terms import Commutator, Derivative, FieldFactor, SigmaBar
from lagnb.physics.tokens import SPECIAL_TOKENS, parse_term


class OptionalDependencyError(LagnbError):
    """A feature needs an optional package that is not installed (the message says which)."""


# -- extraction ------------------------------------------------------------------------------------
@contextmanager
def eager_attention(model: Any):
    """Switch a model to eager attention (which returns weights) for the block, then back."""
    before = getattr(model.config, "_attn_implementation", None)
    if before != "eager":
        model.set_attn_implementation("eager")
    try:
        yield model
    finally:
        if before not in (None, "eager"):
            model.set_attn_implementation(before)


@dataclass(frozen=True)
class AttentionMaps:
    """Attention weights of one input/output pair, as numpy arrays (layers, heads, rows, cols).

    ``output_tokens`` are the tokens written (the Lagrangian, then ``[EOS]``); row ``t`` of
    ``cross`` and ``decoder`` is the step that wrote ``output_tokens[t]``.  ``field_spans`` and
    ``term_spans`` are [start, end) token ranges of each input field and each output term.
    """

    fields: tuple[Field, ...]
    input_tokens: tuple[str, ...]
    output_tokens: tuple[str, ...]
    encoder: np.ndarray
    decoder: np.ndarray
    cross: np.ndarray
    field_spans: tuple[tuple[int, int], ...]
    term_spans: tuple[tuple[int, int], ...]

    @property
    def layers(self) -> int:
        return int(self.cross.shape[0])

    @property
    def heads(self) -> int:
        return int(self.cross.shape[1])

    @property
    def terms(self) -> list[str]:
        return [" ".join(self.output_tokens[a:b]) for a, b in self.term_spans]


def _field_spans(tokens: Sequence[str]) -> tuple[tuple[int, int], ...]:
    starts = [k for k, t in enumerate(tokens) if t == "FIELD"]
    ends = [*starts[1:], next((k for k, t in enumerate(tokens) if t == "[EOS]"), len(tokens))]
    return tuple(zip(starts, ends))


def _term_spans(tokens: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Term ranges by the split_terms rule (a sign followed by a term opener)."""
    openers = ("FIELD", "DERIVATIVE", "COMMUTATOR_A", "i")
    starts = [k for k in range(len(tokens) - 1) if tokens[k] in "+-" and tokens[k + 1] in openers]
    end = next((k for k, t in enumerate(tokens) if t == "[EOS]"), len(tokens))
    return tuple(zip(starts, [*starts[1:], end]))


def attention_maps(
    bundle: Any,
    fields: str | Iterable[Field],
    output: str | None = None,
    *,
    max_new_tokens: int | None = None,
) -> AttentionMaps:
    """Attention of ``bundle``'s model for ``fields`` while writing ``output``.

    ``output`` (a Lagrangian token string) defaults to the model's own grammar-constrained
    greedy output.  The model is switched to eager attention for the pass and back afterwards.
    """
    from lagnb.apps.autocomplete import generate_terms
    from lagnb.ml.tokenizer import encode_input, encode_target

    fs = as_fields(fields)
    tok, model = bundle.tokenizer, bundle.model
    if output is None:
        terms, _, _ = generate_terms(bundle, fs, (), max_new_tokens=max_new_tokens)
        output = " ".join(terms)
    enc = encode_input(tok, fields_tokens(fs))
    target = encode_target(tok, output, eos=True)
    start = model.generation_config.decoder_start_token_id
    if start is None:
        start = model.config.decoder_start_token_id
    dec = [int(start), *target[:-1]]
    limit = int(model.config.max_position_embeddings)
    if len(dec) > limit:
        raise LagnbError(f"the output is {len(dec)} tokens; the model reads at most {limit}")
    device = bundle.model.device
    with eager_attention(model), torch.no_grad():
        out = model(
            input_ids=torch.tensor([enc], device=device),
            decoder_input_ids=torch.tensor([dec], device=device),
            output_attentions=True,
        )

    def stack(maps: Sequence[torch.Tensor]) -> np.ndarray:
        if not maps:
            raise LagnbError("the model returned no attention weights (eager attention needed)")
        return torch.stack([m[0] for m in maps]).float().cpu().numpy()

    in_toks = tuple(tok.convert_ids_to_tokens(enc))
    out_toks = tuple(tok.convert_ids_to_tokens(target))
    return AttentionMaps(
        fs,
        in_toks,
        out_toks,
        stack(out.encoder_attentions),
        stack(out.decoder_attentions),
        stack(out.cross_attentions),
        _field_spans(in_toks),
        _term_spans(out_toks),
    )


def select(maps: np.ndarray, layer: int | None = None, head: int | None = None) -> np.ndarray:
    """One layer/head of a (layers, heads, rows, cols) array; ``None`` averages that axis.

    Negative indices count from the end (``layer=-1`` is the last layer).
    """
    for axis, (value, n, what) in enumerate(
        ((layer, maps.shape[0], "layer"), (head, maps.shape[1], "head"))
    ):
        if value is not None and not -n <= value < n:
            raise LagnbError(f"{what} {value} does not exist (the model has {n})")
        del axis
    a = maps.mean(axis=0) if layer is None else maps[layer]
    return a.mean(axis=0) if head is None else a[head]


def term_field_attention(
    maps: AttentionMaps, layer: int | None = None, head: int | None = None
) -> np.ndarray:
    """(terms, fields): per term, the cross-attention mass on each field's input tokens,
    averaged over the term's tokens.  Rows sum to at most 1 (the rest goes to [SOS]/[EOS])."""
    a = select(maps.cross, layer, head)
    out = np.zeros((len(maps.term_spans), len(maps.field_spans)))
    for i, (t0, t1) in enumerate(maps.term_spans):
        for j, (f0, f1) in enumerate(maps.field_spans):
            out[i, j] = a[t0:t1, f0:f1].sum(axis=1).mean()
    return out


# -- labels ----------------------------------------------------------------------------------------
def _plain_name(name: str) -> str:
    return name.replace("\\", "").replace("{", "").replace("}", "")


def field_labels(fields: Sequence[Field]) -> list[str]:
    """Short plain-text field labels: name and quantum numbers, e.g. ``Q (3,2,1/3) L``."""
    names = default_names(fields)
    out = []
    for n, f in zip(names, fields):
        su3 = rf"$\bar{{{-f.su3}}}$" if f.su3 < 0 else str(f.su3)
        chir = "" if f.is_scalar else (" L" if f.helicity < 0 else " R")
        out.append(f"{_plain_name(n)} ({su3},{f.su2},{f.y}){chir}")
    return out


def term_label(fields: Sequence[Field], text: str) -> str:
    """A plain-text label of a term: its kind and objects, e.g. ``yukawa: Q u† H``."""
    names = [_plain_name(n) for n in default_names(fields)]
    try:
        term = parse_term(fields, text)
    except LagnbError:
        return "(does not parse)"
    parts = []
    for f in term.factors:
        if isinstance(f, FieldFactor):
            parts.append(names[f.field] + ("†" if f.conjugate else ""))
        elif isinstance(f, Derivative):
            parts.append("D")
        elif isinstance(f, SigmaBar):
            parts.append("σ̄")
        elif isinstance(f, Commutator):
            parts.append(f"[D,D]{f.group}")
    return f"{term.kind}: {' '.join(parts)}"


# -- plots -----------------------------------------------------------------------------------------
def _subplots(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """``Figure.subplots`` on a figure that pyplot does not track: a notebook shows it once
    (as the cell's value, or with ``display``), never again at the end of the cell."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=kwargs.pop("figsize", None))
    return fig, fig.subplots(*args, **kwargs)


def _heatmap(
    ax: Any,
    data: np.ndarray,
    xlabels: Sequence[str],
    ylabels: Sequence[str],
    fontsize: float,
    vmax: float | None = None,
) -> Any:
    im = ax.imshow(data, aspect="auto", cmap="viridis", vmin=0, vmax=vmax, interpolation="nearest")
    ax.set_xticks(range(len(xlabels)))
    ax.set_xticklabels(xlabels, rotation=90, fontsize=fontsize)
    ax.set_yticks(range(len(ylabels)))
    ax.set_yticklabels(ylabels, fontsize=fontsize)
    return im


def _title(kind: str, layer: int | None, head: int | None) -> str:
    lay = "mean over layers" if layer is None else f"layer {layer}"
    hd = "mean over heads" if head is None else f"head {head}"
    return f"{kind} attention ({lay}, {hd})"


def plot_cross_attention(
    maps: AttentionMaps,
    layer: int | None = None,
    head: int | None = None,
    *,
    terms: Sequence[int] | None = None,
    ax: Any = None,
) -> Any:
    """Token-level cross attention (output tokens × input tokens); ``terms`` picks the output
    terms shown (default: the first two, so that labels stay readable).  Returns the figure."""
    a = select(maps.cross, layer, head)
    chosen = list(terms) if terms is not None else list(range(min(2, len(maps.term_spans))))
    rows: list[int] = []
    bounds: list[int] = []
    for k in chosen:
        if not 0 <= k < len(maps.term_spans):
            raise LagnbError(f"term {k} does not exist (the output has {len(maps.term_spans)})")
        t0, t1 = maps.term_spans[k]
        rows += range(t0, t1)
        bounds.append(len(rows))
    data = a[rows]
    ylabels = [f"{maps.output_tokens[r]} ·{r}" for r in rows]
    if ax is None:
        fig, ax = _subplots(
            figsize=(max(6.0, 0.22 * len(maps.input_tokens) + 2), max(4.0, 0.2 * len(rows) + 1.5))
        )
    else:
        fig = ax.figure
    im = _heatmap(ax, data, maps.input_tokens, ylabels, 7)
    for b in bounds[:-1]:
        ax.axhline(b - 0.5, color="white", lw=1.5)
    names = field_labels(maps.fields)
    for (f0, f1), name in zip(maps.field_spans, names):
        ax.axvline(f0 - 0.5, color="white", lw=1)
        ax.text((f0 + f1 - 1) / 2, -1, name, ha="center", va="bottom", fontsize=7)
    ax.set_title(_title("cross", layer, head) + "\n", fontsize=9)
    ax.set_ylabel("output token written (·position)")
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    return fig


def plot_term_field_attention(
    maps: AttentionMaps,
    layer: int | None = None,
    head: int | None = None,
    *,
    max_terms: int = 40,
    ax: Any = None,
) -> Any:
    """Term × field cross-attention mass (:func:`term_field_attention`), values annotated."""
    m = term_field_attention(maps, layer, head)[:max_terms]
    ylabels = [
        f"{k + 1}. {term_label(maps.fields, t)}" for k, t in enumerate(maps.terms[:max_terms])
    ]
    xlabels = field_labels(maps.fields)
    if ax is None:
        label_width = 0.075 * max((len(y) for y in ylabels), default=10)
        fig, ax = _subplots(
            figsize=(max(6.0, 2.0 + label_width + 1.0 * len(xlabels)), 1.6 + 0.28 * len(ylabels))
        )
    else:
        fig = ax.figure
    im = _heatmap(ax, m, xlabels, ylabels, 8, vmax=max(1e-9, float(m.max(initial=0))))
    ax.set_xticklabels(xlabels, rotation=30, ha="right", fontsize=8)
    for i, j in product(range(m.shape[0]), range(m.shape[1])):
        ax.text(
            j,
            i,
            f"{m[i, j]:.2f}",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if m[i, j] < 0.6 * m.max() else "black",
        )
    ax.set_title(_title("term × field cross", layer, head).replace(" (", "\n("), fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    return fig


def plot_encoder_attention(
    maps: AttentionMaps, layer: int | None = None, head: int | None = None, *, ax: Any = None
) -> Any:
    """Encoder self-attention over the input tokens, with field boundaries."""
    a = select(maps.encoder, layer, head)
    n = len(maps.input_tokens)
    if ax is None:
        fig, ax = _subplots(figsize=(max(5.0, 0.22 * n + 2), max(4.5, 0.22 * n + 1.5)))
    else:
        fig = ax.figure
    im = _heatmap(ax, a, maps.input_tokens, maps.input_tokens, 7)
    for f0, _ in maps.field_spans:
        ax.axvline(f0 - 0.5, color="white", lw=1)
        ax.axhline(f0 - 0.5, color="white", lw=1)
    ax.set_title(_title("encoder self", layer, head), fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    return fig


def plot_heads(maps: AttentionMaps, layer: int = -1, kind: str = "term_field") -> Any:
    """One small term × field (or encoder) map per head of ``layer``: a grid to spot
    specialised heads."""
    n = maps.heads
    cols = min(4, n)
    rows = (n + cols - 1) // cols
    fig, axes = _subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
    for h in range(rows * cols):
        ax = axes[h // cols][h % cols]
        if h >= n:
            ax.axis("off")
            continue
        data = (
            term_field_attention(maps, layer, h)
            if kind == "term_field"
            else select(maps.encoder, layer, h)
        )
        ax.imshow(data, aspect="auto", cmap="viridis", vmin=0, interpolation="nearest")
        ax.set_title(f"head {h}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"layer {layer}: {'term × field' if kind == 'term_field' else 'encoder'}")
    fig.tight_layout()
    return fig


# -- bertviz ---------------------------------------------------------------------------------------
BERTVIZ_MISSING = (
    "bertviz is not installed, so the interactive head/model views are not available. "
    "Install the optional extra: pip install 'lagnb[viz]' (or pip install bertviz). "
    "The static heatmaps (plot_cross_attention, plot_term_field_attention, "
    "plot_encoder_attention) need no extra."
)


def bertviz_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("bertviz") is not None


def _term_rows(maps: AttentionMaps, terms: Sequence[int] | None, max_tokens: int) -> list[int]:
    """Output-token rows of the chosen terms (default: whole terms from the start, up to
    ``max_tokens`` rows but at least one term)."""
    if terms is None:
        terms = []
        for k, (_, t1) in enumerate(maps.term_spans):
            if terms and t1 - maps.term_spans[terms[0]][0] > max_tokens:
                break
            terms.append(k)
    rows: list[int] = []
    for k in terms:
        if not 0 <= k < len(maps.term_spans):
            raise LagnbError(f"term {k} does not exist (the output has {len(maps.term_spans)})")
        rows += range(*maps.term_spans[k])
    return rows


def bertviz_view(
    maps: AttentionMaps,
    view: str = "head",
    *,
    terms: Sequence[int] | None = None,
    max_tokens: int = 120,
) -> Any:
    """bertviz's interactive ``head`` or ``model`` view of encoder, decoder and cross attention,
    as an IPython HTML object.  Raises :class:`OptionalDependencyError` without bertviz.

    The decoder side shows the output tokens of ``terms`` (default: the first terms, up to
    ``max_tokens`` tokens): bertviz writes every weight into the page, and a whole Lagrangian
    of a few hundred tokens makes pages of tens of megabytes.  Weights are rounded to three
    decimals for the same reason.  (bertviz loads require.js and d3 from a CDN: it renders
    online, e.g. on Binder.)
    """
    if view not in ("head", "model"):
        raise LagnbError(f"view must be 'head' or 'model', got {view!r}")
    if not bertviz_available():
        raise OptionalDependencyError(BERTVIZ_MISSING)
    import bertviz

    rows = _term_rows(maps, terms, max_tokens)

    def tensors(a: np.ndarray) -> tuple[torch.Tensor, ...]:
        return tuple(torch.from_numpy(np.round(x[None].astype(np.float64), 3)) for x in a)

    fn = bertviz.head_view if view == "head" else bertviz.model_view
    return fn(
        encoder_attention=tensors(maps.encoder),
        decoder_attention=tensors(maps.decoder[:, :, rows][:, :, :, rows]),
        cross_attention=tensors(maps.cross[:, :, rows]),
        encoder_tokens=list(maps.input_tokens),
        decoder_tokens=[maps.output_tokens[r] for r in rows],
        html_action="return",
    )


# -- embeddings ------------------------------------------------------------------------------------
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
    """PCA of the learned token embeddings (special tokens left out unless ``specials``)."""
    names, weight = token_embeddings(bundle)
    keep = [i for i, n in enumerate(names) if specials or n not in SPECIAL_TOKENS]
    return [names[i] for i in keep], pca(weight[keep], k)


def plot_token_embeddings(tokens: Sequence[str], proj: Projection, *, ax: Any = None) -> Any:
    """Scatter of the token-embedding PCA, each point labelled, coloured by token class."""
    if ax is None:
        fig, ax = _subplots(figsize=(7.5, 6))
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
    tok, model = bundle.tokenizer, bundle.model
    ids = [encode_input(tok, fields_tokens([f])) for f in fields]
    out = []
    device = bundle.model.device
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
            out.append(v.float().cpu().numpy())
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
    fig, axes = _subplots(rows, cols, figsize=(5.5 * cols, 4.5 * rows), squeeze=False)
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
