"""What the model looks at: attention maps and embedding geometry.

**Attention.** :func:`attention_maps` runs the model once, teacher-forced on a Lagrangian (the
model's own greedy output by default), with eager attention so that the weights exist
(transformers 5's default sdpa returns none).  Row ``t`` of the decoder and cross maps is the
step that *wrote* output token ``t``.  :func:`term_field_attention` aggregates the cross
attention into a term × field matrix: for each term, the attention mass its tokens put on each
input field's tokens, averaged over the term's tokens — a physicist's question "which fields
did the model read to write this Yukawa?".  For a model writing compact targets,
:func:`reference_attention` and :func:`pointer_heads` ask the sharper question: when the model
writes the reference ``F<k>`` to input field ``k``, does it look at field ``k``?  Plots are
matplotlib heatmaps with the tokens as labels; :func:`bertviz_view` gives bertviz's interactive
head/model views when the optional ``viz`` extra is installed.

The embedding geometry (tokens, single fields) is in :mod:`lagnb.ml.embeddings`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import torch

from lagnb.errors import LagnbError
from lagnb.figures import new_figure
from lagnb.physics.engine import as_fields
from lagnb.physics.fields import Field, default_names, fields_tokens
from lagnb.physics.terms import Commutator, Derivative, FieldFactor, SigmaBar
from lagnb.physics.tokens import parse_term, starts_term


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

    ``output_tokens`` are the tokens written (the Lagrangian in the model's
    ``target_format``, e.g. ``F0 DAGGER`` for a compact model, then ``[EOS]``); row ``t`` of
    ``cross`` and ``decoder`` is the step that wrote ``output_tokens[t]``.  ``field_spans`` and
    ``term_spans`` are [start, end) token ranges of each input field and each output term;
    :attr:`terms` are the output terms in BART-L.
    """

    fields: tuple[Field, ...]
    input_tokens: tuple[str, ...]
    output_tokens: tuple[str, ...]
    encoder: np.ndarray
    decoder: np.ndarray
    cross: np.ndarray
    field_spans: tuple[tuple[int, int], ...]
    term_spans: tuple[tuple[int, int], ...]
    target_format: str = "bart-l"

    @property
    def layers(self) -> int:
        return int(self.cross.shape[0])

    @property
    def heads(self) -> int:
        return int(self.cross.shape[1])

    @property
    def terms(self) -> list[str]:
        """The output terms in BART-L (converted from the model's target format)."""
        from lagnb.ml.targets import from_model

        return [
            from_model(
                self.fields, " ".join(self.output_tokens[a:b]), self.target_format, strict=False
            )
            for a, b in self.term_spans
        ]


def _field_spans(tokens: Sequence[str]) -> tuple[tuple[int, int], ...]:
    starts = [k for k, t in enumerate(tokens) if t == "FIELD"]
    ends = [*starts[1:], next((k for k, t in enumerate(tokens) if t == "[EOS]"), len(tokens))]
    return tuple(zip(starts, ends))


def _term_spans(tokens: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Term ranges by the split_terms rule (a sign followed by a term opener, or by a field
    reference in the compact spelling)."""
    starts = [k for k in range(len(tokens) - 1) if starts_term(tokens[k], tokens[k + 1])]
    end = next((k for k, t in enumerate(tokens) if t == "[EOS]"), len(tokens))
    return tuple(zip(starts, [*starts[1:], end]))


def attention_maps(
    bundle: Any,
    fields: str | Iterable[Field],
    output: str | None = None,
    *,
    max_new_tokens: int | None = None,
    float64: bool = False,
) -> AttentionMaps:
    """Attention of ``bundle``'s model for ``fields`` while writing ``output``.

    ``output`` (a BART-L Lagrangian token string) defaults to the model's own
    grammar-constrained greedy output, every term as written (not certified: the attention is
    that of what the model wrote); the model is fed it in its own target format
    (:func:`lagnb.ml.targets.to_model`).  The model is switched to eager attention for the pass
    and back afterwards.  ``float64`` runs the pass on a float64 CPU copy of the model, so that
    statistics printed from the maps are the same on every machine (float32 sums change in the
    last digits with memory alignment and thread count).
    """
    from lagnb.ml.generate import generate_terms_parsed
    from lagnb.ml.targets import to_model
    from lagnb.ml.tokenizer import encode_input, encode_target

    fs = as_fields(fields)
    tok, model = bundle.tokenizer, bundle.model
    if output is None:
        terms, _, _ = generate_terms_parsed(
            bundle, fs, (), max_new_tokens=max_new_tokens, certified=False
        )
        output = " ".join(terms)
    fmt = bundle.target_format
    enc = encode_input(tok, fields_tokens(fs), bundle.input_format)
    target = encode_target(tok, to_model(fs, output, fmt), eos=True)
    start = model.generation_config.decoder_start_token_id
    if start is None:
        start = model.config.decoder_start_token_id
    dec = [int(start), *target[:-1]]
    if float64:
        model = copy.deepcopy(model).to(device="cpu", dtype=torch.float64).eval()
    limit = int(model.config.max_position_embeddings)
    if len(dec) > limit:
        raise LagnbError(f"the output is {len(dec)} tokens; the model reads at most {limit}")
    device = model.device
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
        fmt,
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


def _reference_rows(maps: AttentionMaps) -> list[tuple[int, int]]:
    """(row, k) for every output token that is a field reference ``F<k>`` (compact format)."""
    if maps.target_format != "compact":
        raise LagnbError(
            f"the model writes {maps.target_format} targets: field references F0… exist only in "
            "the compact format (a model trained with --target-format compact)"
        )
    return [
        (t, int(tok[1:]))
        for t, tok in enumerate(maps.output_tokens)
        if tok[:1] == "F" and tok[1:].isdigit() and int(tok[1:]) < len(maps.field_spans)
    ]


def reference_attention(
    maps: AttentionMaps, layer: int | None = None, head: int | None = None
) -> np.ndarray:
    """(fields, fields) for a compact-format model: row ``k`` is the cross-attention mass on
    each input field's tokens at the steps that wrote the reference ``F<k>`` (to field ``k``),
    averaged over those steps (NaN where ``F<k>`` was never written).  A model that reads its
    input to decide which field a term holds looks it up: a bright diagonal."""
    a = select(maps.cross, layer, head)
    n = len(maps.field_spans)
    total, count = np.zeros((n, n)), np.zeros(n)
    for t, k in _reference_rows(maps):
        total[k] += [a[t, f0:f1].sum() for f0, f1 in maps.field_spans]
        count[k] += 1
    with np.errstate(invalid="ignore"):
        return total / count[:, None]


def pointer_heads(maps: AttentionMaps) -> list[tuple[float, int, int]]:
    """``(accuracy, layer, head)`` for every head, best first: the share of written field
    references ``F<k>`` at which that head puts the most attention mass on field ``k``'s input
    tokens (chance level: one over the number of fields)."""
    rows = _reference_rows(maps)
    if not rows:
        raise LagnbError("the output writes no field reference F0…, so nothing to point at")
    out = []
    for layer, head in product(range(maps.layers), range(maps.heads)):
        a = maps.cross[layer, head]
        hits = sum(
            int(np.argmax([a[t, f0:f1].sum() for f0, f1 in maps.field_spans]) == k) for t, k in rows
        )
        out.append((hits / len(rows), layer, head))
    return sorted(out, key=lambda x: (-x[0], x[1], x[2]))


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
        fig, ax = new_figure(
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
        fig, ax = new_figure(
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


def plot_reference_attention(
    maps: AttentionMaps, layer: int | None = None, head: int | None = None, *, ax: Any = None
) -> Any:
    """Reference × field cross-attention (:func:`reference_attention`), values annotated."""
    m = reference_attention(maps, layer, head)
    names = field_labels(maps.fields)
    if ax is None:
        fig, ax = new_figure(figsize=(2.5 + 1.1 * len(names), 1.5 + 0.45 * len(names)))
    else:
        fig = ax.figure
    ylabels = [f"writes F{k} ({n.split(' ')[0]})" for k, n in enumerate(names)]
    im = _heatmap(ax, np.nan_to_num(m), names, ylabels, 8, vmax=1.0)
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    for i, j in product(range(m.shape[0]), range(m.shape[1])):
        text = "–" if np.isnan(m[i, j]) else f"{m[i, j]:.2f}"
        color = "black" if m[i, j] > 0.6 else "white"
        ax.text(j, i, text, ha="center", va="center", fontsize=7, color=color)
    ax.set_xlabel("input field attended")
    ax.set_title(
        _title("field reference × field cross", layer, head).replace(" (", "\n("), fontsize=9
    )
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
        fig, ax = new_figure(figsize=(max(5.0, 0.22 * n + 2), max(4.5, 0.22 * n + 1.5)))
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
    fig, axes = new_figure(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
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
