"""BART's decoder run one token at a time from cached keys and values: the inner loop of
generation (:mod:`lagnb.ml.decoding`).

``transformers``' own decoder spends most of a small model's step on bookkeeping (masks,
caches, dispatch): 3.2 ms a token for the shipped 1.7M-parameter model on this CPU, most of it
not arithmetic.  :class:`IncrementalDecoder` computes the same function from the same weights
with a few tensor operations a layer:

* the encoder runs once per field list (``transformers``' encoder), and each layer's
  cross-attention keys and values are computed from it once;
* the decoder's forced start (``[SOS]`` and any prefix) runs once per field list, and its keys
  and values are shared by all the beams that continue it;
* each further token adds one key and value per layer and row; a beam search reorders only
  the rows' own tokens, never the shared start.

BART is post-layer-norm: token embedding (× √d_model when ``scale_embedding``) plus learned
position (offset 2) → layer norm → per layer [self-attention, cross-attention, feed-forward],
each added to its input and layer-normed → the tied output projection plus
``final_logits_bias``.  The logits agree with ``BartForConditionalGeneration`` to float
rounding (tested).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import BartForConditionalGeneration

from lagnb.errors import LagnbError


@dataclass
class Memory:
    """What every decoder step reads for ``B`` field lists: each layer's cross-attention keys
    and values ``[B, heads, S, head_dim]``, and the additive padding mask ``[B, 1, 1, S]`` (None
    when no list is padded)."""

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    mask: torch.Tensor | None


@dataclass
class Cache:
    """Self-attention keys and values of ``R = B × W`` decoder rows (``W`` rows per field list,
    adjacent): the start shared by a list's rows, keys transposed ``[B, heads, head_dim, T]``
    and values ``[B, heads, T, head_dim]`` per layer (``T = 0`` for one row a list: its start
    is its own), and the rows' own tokens ``[R, heads, capacity, head_dim]`` (``length`` of them
    written; the capacity doubles when full, up to ``limit``)."""

    start_keys: list[torch.Tensor]
    start_values: list[torch.Tensor]
    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    limit: int
    length: int = 0

    @property
    def start_length(self) -> int:
        return self.start_values[0].shape[2]

    def make_room(self) -> None:
        """Room for one more token per row."""
        n, capacity = self.length, self.keys[0].shape[2]
        if n < capacity:
            return
        if capacity >= self.limit:
            raise LagnbError(f"the decoding cache holds {n} tokens after the start; no room left")
        more = min(capacity, self.limit - capacity)
        for cached in (self.keys, self.values):
            for k, t in enumerate(cached):
                cached[k] = torch.cat([t, t.new_zeros(*t.shape[:2], more, t.shape[3])], dim=2)

    def reorder(self, rows: torch.Tensor) -> None:
        """Row ``r`` continues what row ``rows[r]`` wrote (beam search)."""
        n = self.length
        if n:
            for k, v in zip(self.keys, self.values):
                k[:, :, :n] = k[:, :, :n].index_select(0, rows)
                v[:, :, :n] = v[:, :, :n].index_select(0, rows)


@dataclass(frozen=True)
class _Layer:
    """One decoder layer's weights, transposed for ``addmm`` (``x @ w + b``); the
    self-attention's query, key and value projections side by side, the query's scaled."""

    qkv: tuple[torch.Tensor, torch.Tensor]
    out: tuple[torch.Tensor, torch.Tensor]
    norm1: torch.nn.LayerNorm
    cross_q: tuple[torch.Tensor, torch.Tensor]
    cross_k: tuple[torch.Tensor, torch.Tensor]
    cross_v: tuple[torch.Tensor, torch.Tensor]
    cross_out: tuple[torch.Tensor, torch.Tensor]
    norm2: torch.nn.LayerNorm
    fc1: tuple[torch.Tensor, torch.Tensor]
    fc2: tuple[torch.Tensor, torch.Tensor]
    norm3: torch.nn.LayerNorm
    act: torch.nn.Module


_MADE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Each model's :class:`IncrementalDecoder`, with the weights' stamp it was made from."""


def _t(linear: torch.nn.Linear, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A linear layer as (bias, weight transposed), both times ``scale``."""
    return linear.bias.detach() * scale, linear.weight.detach().t().contiguous() * scale


def _norm(ln: torch.nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, ln.normalized_shape, ln.weight, ln.bias, ln.eps)


def _affine(x: torch.Tensor, bw: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    return torch.addmm(bw[0], x, bw[1])


class IncrementalDecoder:
    """A loaded BART model's decoder, one token at a time (see the module docstring).  It
    copies the weights it needs when made: :meth:`of` keeps one per model and makes it again
    after the model's weights change."""

    @classmethod
    def of(cls, model: BartForConditionalGeneration) -> IncrementalDecoder:
        """The decoder of ``model``, made once and reused while its weights are the same
        tensors, unchanged in place (training steps and ``load_state_dict`` change them)."""
        stamp = tuple((p.data_ptr(), p._version) for p in model.parameters())
        made = _MADE.get(model)
        if made is None or made[0] != stamp:
            made = _MADE[model] = (stamp, cls(model))
        return made[1]

    def __init__(self, model: BartForConditionalGeneration) -> None:
        if not isinstance(model, BartForConditionalGeneration):
            raise LagnbError(f"incremental decoding needs a BART model, got {type(model).__name__}")
        self.model = model
        cfg = model.config
        self.heads = cfg.decoder_attention_heads
        self.d_model = cfg.d_model
        self.head_dim = cfg.d_model // self.heads
        scaling = self.head_dim**-0.5
        dec = model.model.decoder
        self.dec = dec
        self.embed_scale = math.sqrt(cfg.d_model) if cfg.scale_embedding else 1.0
        self.layers = []
        for layer in dec.layers:
            att, cross = layer.self_attn, layer.encoder_attn
            q, k, v = _t(att.q_proj, scaling), _t(att.k_proj), _t(att.v_proj)
            self.layers.append(
                _Layer(
                    qkv=(torch.cat([q[0], k[0], v[0]]), torch.cat([q[1], k[1], v[1]], dim=1)),
                    out=_t(att.out_proj),
                    norm1=layer.self_attn_layer_norm,
                    cross_q=_t(cross.q_proj, scaling),
                    cross_k=_t(cross.k_proj),
                    cross_v=_t(cross.v_proj),
                    cross_out=_t(cross.out_proj),
                    norm2=layer.encoder_attn_layer_norm,
                    fc1=_t(layer.fc1),
                    fc2=_t(layer.fc2),
                    norm3=layer.final_layer_norm,
                    act=layer.activation_fn,
                )
            )
        self.lm = (
            model.final_logits_bias.detach()[0],
            model.lm_head.weight.detach().t().contiguous(),
        )

    def _heads(self, x: torch.Tensor, b: int) -> torch.Tensor:
        """``[B·L, d_model]`` → ``[B, heads, L, head_dim]``."""
        return x.view(b, -1, self.heads, self.head_dim).transpose(1, 2)

    def _merge(self, o: torch.Tensor) -> torch.Tensor:
        """``[B, heads, L, head_dim]`` → ``[B·L, d_model]``."""
        return o.transpose(1, 2).reshape(-1, self.d_model)

    @torch.no_grad()
    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Memory:
        """Run the encoder on ``[B, S]`` field lists (``attention_mask`` 0 on padding)."""
        enc = self.model.model.encoder(input_ids=input_ids, attention_mask=attention_mask)
        b = input_ids.shape[0]
        h = enc.last_hidden_state.reshape(-1, self.d_model)
        keys = [self._heads(_affine(h, lay.cross_k), b).contiguous() for lay in self.layers]
        values = [self._heads(_affine(h, lay.cross_v), b).contiguous() for lay in self.layers]
        mask = None
        if not bool(attention_mask.all()):
            dtype = enc.last_hidden_state.dtype
            mask = torch.zeros(attention_mask.shape, dtype=dtype, device=input_ids.device)
            mask = mask.masked_fill(attention_mask == 0, torch.finfo(dtype).min)[:, None, None, :]
        return Memory(keys, values, mask)

    def _embed(self, ids: torch.Tensor, position: int) -> torch.Tensor:
        """Token plus position embeddings, layer-normed: ``[N, L]`` ids from ``position``, as
        ``[N·L, d_model]``."""
        dec = self.dec
        x = F.embedding(ids.reshape(-1), dec.embed_tokens.weight) * self.embed_scale
        n = ids.shape[1]
        first = position + dec.embed_positions.offset
        pos = dec.embed_positions.weight[first : first + n]
        x = (x.view(-1, n, self.d_model) + pos).view(-1, self.d_model)
        return _norm(dec.layernorm_embedding, x)

    def _cross(self, lay: _Layer, x: torch.Tensor, memory: Memory, k: int, b: int) -> torch.Tensor:
        """Cross-attention of ``[B·M, d_model]`` queries (M per field list) to its encoding."""
        q = self._heads(_affine(x, lay.cross_q), b)  # [B, h, M, hd], scaled
        o = F.scaled_dot_product_attention(
            q, memory.keys[k], memory.values[k], attn_mask=memory.mask, scale=1.0
        )
        return _affine(self._merge(o), lay.cross_out)

    def _rest(self, lay: _Layer, x: torch.Tensor, o: torch.Tensor, memory: Memory, k: int, b: int):
        """The layer after its self-attention output ``o``: residual and norm, cross-attention,
        feed-forward."""
        x = _norm(lay.norm1, x + _affine(o, lay.out))
        x = _norm(lay.norm2, x + self._cross(lay, x, memory, k, b))
        return _norm(lay.norm3, x + _affine(lay.act(_affine(x, lay.fc1)), lay.fc2))

    @torch.no_grad()
    def start(
        self, ids: torch.Tensor, memory: Memory, rows_per_input: int, max_new: int
    ) -> tuple[torch.Tensor, Cache]:
        """Run the forced start ``[B, T]`` of each field list once; returns the logits of the
        next token ``[B, vocab]`` and a cache for ``rows_per_input`` rows per list and up to
        ``max_new`` further tokens."""
        b, t = ids.shape
        x = self._embed(ids, 0)  # [B·T, d]
        causal = torch.full((t, t), float("-inf"), device=ids.device, dtype=x.dtype).triu(1)
        start_keys, start_values = [], []
        d = self.d_model
        for k, lay in enumerate(self.layers):
            qkv = _affine(x, lay.qkv)
            q, key, value = (self._heads(qkv[:, i * d : (i + 1) * d], b) for i in range(3))
            start_keys.append(key.transpose(-1, -2).contiguous())
            start_values.append(value.contiguous())
            o = torch.softmax(q @ start_keys[-1] + causal, dim=-1) @ start_values[-1]
            x = self._rest(lay, x, self._merge(o), memory, k, b)
        own = rows_per_input == 1
        limit = max(max_new, 1) + own * t
        shape = (b * rows_per_input, self.heads, min(limit, 64 + own * t), self.head_dim)
        cache = Cache(
            start_keys,
            start_values,
            [x.new_zeros(shape) for _ in self.layers],
            [x.new_zeros(shape) for _ in self.layers],
            limit,
        )
        if own:  # one row a list: the start is the row's own (one attention call a step)
            for k in range(len(self.layers)):
                cache.keys[k][:, :, :t] = start_keys[k].transpose(-1, -2)
                cache.values[k][:, :, :t] = start_values[k]
                cache.start_keys[k] = start_keys[k][..., :0]
                cache.start_values[k] = start_values[k][:, :, :0]
            cache.length = t
        return _affine(x.view(b, t, d)[:, -1], self.lm), cache

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, memory: Memory, cache: Cache) -> torch.Tensor:
        """Feed one token per row (``[R]``) after everything in ``cache``; returns the logits
        of the next token ``[R, vocab]``."""
        b = cache.start_values[0].shape[0]
        r = tokens.shape[0]
        w, n, t0, d, h = r // b, cache.length, cache.start_length, self.d_model, self.heads
        cache.make_room()
        x = self._embed(tokens[:, None], t0 + n)  # [R, d]
        for k, lay in enumerate(self.layers):
            qkv = _affine(x, lay.qkv)
            keys, values = cache.keys[k], cache.values[k]
            keys[:, :, n] = qkv[:, d : 2 * d].view(r, h, -1)
            values[:, :, n] = qkv[:, 2 * d :].view(r, h, -1)
            q = qkv[:, :d]
            if not t0:
                o = F.scaled_dot_product_attention(
                    q.view(r, h, 1, -1), keys[:, :, : n + 1], values[:, :, : n + 1], scale=1.0
                )
                x = self._rest(lay, x, o.view(r, d), memory, k, b)
                continue
            s_start = self._heads(q, b) @ cache.start_keys[k]  # [B, h, W, T]
            s_own = q.view(r, h, 1, -1) @ keys[:, :, : n + 1].transpose(-1, -2)  # [R, h, 1, n+1]
            s_own = s_own.view(b, w, h, n + 1).transpose(1, 2)  # [B, h, W, n+1]
            p = torch.softmax(torch.cat([s_start, s_own], dim=-1), dim=-1)
            o = self._merge(p[..., :t0] @ cache.start_values[k])  # [R, d]
            p_own = p[..., t0:].transpose(1, 2).reshape(r, h, 1, n + 1)
            o = o + (p_own @ values[:, :, : n + 1]).view(r, d)
            x = self._rest(lay, x, o, memory, k, b)
        cache.length = n + 1
        return _affine(x, self.lm)
