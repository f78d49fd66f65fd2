"""Decoding: the model's decoder run token by token (:mod:`lagnb.ml.incremental`), greedy or
by beam search, several field lists at a time, each row masked by its field list's BART-L grammar
(:mod:`lagnb.physics.grammar`) — a token illegal in the row's state gets a score of −∞.

:func:`search` is lagnb's one decoding loop; :mod:`lagnb.ml.generate` builds each grammar in the
spelling the model writes (``Grammar(…, spelling=bundle.target_format)``: BART-L, or the compact
field references of :mod:`lagnb.ml.targets`) and calls it.  A row's grammar state is advanced
once per token it writes, so no step's work grows with what was written before.

The beam search is ``transformers``' (5.x, ``generate(num_beams=W)``, length penalty 1, no early
stopping), step for step: the log-softmax over the whole vocabulary, then the grammar's mask,
added to the beam's score; the best 2W candidates of the field list; those among the first W that
end (``[EOS]``, the term limit, or the token budget) join the finished hypotheses with their score
divided by their length, the others continue (the best W); the search stops when no running beam
can beat the worst of W finished ones.  :class:`GrammarLogitsProcessor` also applies a grammar to
``transformers``' own ``generate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import LogitsProcessor

from lagnb.errors import LagnbError
from lagnb.ml.incremental import Cache, IncrementalDecoder, Memory
from lagnb.physics.grammar import END, EOS, Grammar, GrammarState


class _Tracker:
    """Grammar states of generated rows, keyed by the generated ids (after the prefix)."""

    def __init__(
        self, grammar: Grammar, id_to_token: list[str], prefix_len: int, start: GrammarState
    ) -> None:
        self.grammar, self.id_to_token = grammar, id_to_token
        self.prefix_len, self.start = prefix_len, start
        self._cache: dict[tuple[int, ...], GrammarState] = {(): start}
        self._previous: dict[tuple[int, ...], GrammarState] = {}

    def state(self, row: Sequence[int]) -> GrammarState:
        key = tuple(row[self.prefix_len :])
        if key in self._cache:
            return self._cache[key]
        parent = self._cache.get(key[:-1]) or self._previous.get(key[:-1])
        if parent is None:
            parent = self.start
            for i in key[:-1]:
                parent = self.grammar.advance(parent, self.id_to_token[i]) or GrammarState(END)
        s = self.grammar.advance(parent, self.id_to_token[key[-1]]) if key else parent
        s = s or GrammarState(END)
        if len(self._cache) > 64:
            self._previous, self._cache = self._cache, {}
        self._cache[key] = s
        return s


class GrammarLogitsProcessor(LogitsProcessor):
    """Masks every token the grammar forbids after the tokens generated so far: one field
    list's grammar, for :func:`search` (by state: :meth:`row_mask`, :meth:`advance`) and for
    ``transformers``' ``generate`` (called with the rows generated so far).

    Args:
        grammar: the field list's :class:`Grammar`.
        tokenizer: the model's tokenizer (its vocabulary names the grammar's tokens).
        prefix_len: number of decoder tokens before generation starts (``[SOS]`` + forced
            prefix); they are not checked.
        start: the grammar state at the end of the prefix (default: before the first term, or
            :meth:`Grammar.boundary` after a prefix of complete terms).
        min_terms: forbid ``[EOS]`` until this many new terms are written.
    """

    def __init__(
        self,
        grammar: Grammar,
        tokenizer,
        prefix_len: int,
        start: GrammarState | None = None,
        min_terms: int = 0,
    ) -> None:
        vocab = tokenizer.get_vocab()
        size = max(vocab.values()) + 1
        self.id_to_token = ["[UNK]"] * size
        for tok, i in vocab.items():
            self.id_to_token[i] = tok
        self.token_to_id = vocab
        missing = sorted(grammar.vocabulary - set(vocab))
        if missing:
            raise LagnbError(
                f"the tokenizer lacks grammar tokens: {' '.join(missing)} (is it a BART-L model's "
                "tokenizer?)"
            )
        self.grammar = grammar
        self.tracker = _Tracker(grammar, self.id_to_token, prefix_len, start or grammar.initial())
        self.min_terms = min_terms
        self._masks: dict[frozenset[str] | None, torch.Tensor] = {}
        self._row_masks: dict[tuple[GrammarState, int], torch.Tensor] = {}  # states recur
        self._next: dict[tuple[GrammarState, int, int], GrammarState] = {}

    def _mask(
        self, allowed: frozenset[str] | None, size: int, device: torch.device
    ) -> torch.Tensor:
        """True where a token is forbidden (``allowed=None``: nothing is)."""
        m = self._masks.get(allowed)
        if m is None or m.shape[0] != size or m.device != device:
            m = torch.zeros(size, dtype=torch.bool, device=device)
            if allowed is not None:
                m[:] = True
                m[[self.token_to_id[t] for t in allowed]] = False
            self._masks[allowed] = m
        return m

    def row_mask(self, state: GrammarState, size: int, device: torch.device) -> torch.Tensor:
        """True where a token is forbidden after ``state`` (``[EOS]`` before ``min_terms`` new
        terms)."""
        key = (state, id(state.node))  # states compare without their place in the object trie
        m = self._row_masks.get(key)
        if m is None or m.shape[0] != size or m.device != device:
            allowed = self.grammar.allowed(state)
            early = state.terms - self.tracker.start.terms < self.min_terms
            if allowed is not None and early and EOS in allowed:
                allowed = allowed - {EOS}
            m = self._row_masks[key] = self._mask(allowed, size, device)
        return m

    def advance(self, state: GrammarState, token_id: int) -> GrammarState:
        """The state after token ``token_id`` (after one the grammar forbids: the end)."""
        key = (state, id(state.node), token_id)
        s = self._next.get(key)
        if s is None:
            s = self._next[key] = self.grammar.advance(
                state, self.id_to_token[token_id]
            ) or GrammarState(END)
        return s

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        size, device = scores.shape[1], scores.device
        masks = [self.row_mask(self.tracker.state(row), size, device) for row in input_ids.tolist()]
        return scores.masked_fill(torch.stack(masks), -float("inf"))


@dataclass(frozen=True)
class Sequences:
    """What :func:`search` returns for one field list: its best continuations (token ids after
    the forced start, best first) and whether each was stopped by the term limit."""

    ids: tuple[tuple[int, ...], ...]
    limited: tuple[bool, ...]


class _Rows:
    """The grammar states of the decoding rows (None: unconstrained) and the term limit."""

    def __init__(
        self,
        grammars: Sequence[GrammarLogitsProcessor | None],
        width: int,
        max_terms: int | None,
    ) -> None:
        self.grammars = [g for g in grammars for _ in range(width)]
        self.states = [g.tracker.start if g is not None else None for g in self.grammars]
        self.limits = [
            g.tracker.start.terms + max_terms if g is not None and max_terms is not None else None
            for g in self.grammars
        ]

    def masks(self, size: int, device: torch.device) -> torch.Tensor | None:
        if all(g is None for g in self.grammars):
            return None
        free = torch.zeros(size, dtype=torch.bool, device=device)
        return torch.stack(
            [
                free if g is None else g.row_mask(s, size, device)
                for g, s in zip(self.grammars, self.states)
            ]
        )

    def advanced(self, row: int, token: int) -> tuple[GrammarState | None, bool]:
        """The state of ``row`` after ``token``, and whether the term limit stops it there."""
        g = self.grammars[row]
        if g is None:
            return None, False
        s = g.advance(self.states[row], token)
        limit = self.limits[row]
        return s, limit is not None and s.terms > limit


def search(
    decoder: IncrementalDecoder,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    start_ids: torch.Tensor,
    grammars: Sequence[GrammarLogitsProcessor | None],
    *,
    eos_id: int,
    max_new: int,
    num_beams: int = 1,
    num_return: int = 1,
    max_terms: int | None = None,
) -> list[Sequences]:
    """Decode ``B`` field lists (encoder ids ``[B, S]``, forced decoder starts ``[B, T]`` of
    equal length): greedy for ``num_beams=1``, else beam search of that width, returning its
    ``num_return`` best finished hypotheses.  ``grammars[k]`` masks list ``k``'s rows (None:
    unconstrained); ``max_terms`` stops a row once that many new terms are complete (the next
    term's sign is its last token); ``max_new`` is the token budget."""
    b = input_ids.shape[0]
    if len(grammars) != b or start_ids.shape[0] != b:
        raise LagnbError(f"{len(grammars)} grammars and {start_ids.shape[0]} starts for {b} inputs")
    if not 1 <= num_return <= num_beams or max_new < 1:
        raise LagnbError(
            f"num_return must be 1 to num_beams ({num_beams}) and max_new at least 1, got "
            f"{num_return} and {max_new}"
        )
    memory = decoder.encode(input_ids, attention_mask)
    logits, cache = decoder.start(start_ids, memory, num_beams, max_new)
    job = _Job(decoder, memory, cache, _Rows(grammars, num_beams, max_terms), eos_id, max_new)
    if num_beams == 1:
        return _greedy(job, logits)
    return _beam(job, logits, num_beams, num_return)


@dataclass
class _Job:
    """One search: the decoder, its encoder memory and cache, the rows' grammars, the budget."""

    decoder: IncrementalDecoder
    memory: Memory
    cache: Cache
    rows: _Rows
    eos_id: int
    max_new: int


def _greedy(job: _Job, logits: torch.Tensor) -> list[Sequences]:
    rows, eos_id, max_new = job.rows, job.eos_id, job.max_new
    b = len(rows.grammars)
    out: list[list[int]] = [[] for _ in range(b)]
    limited = [False] * b
    done = [False] * b
    for step in range(max_new):
        masks = rows.masks(logits.shape[1], logits.device)
        if masks is not None:
            logits = logits.masked_fill(masks, -float("inf"))
        tokens = logits.argmax(dim=-1)
        for k, t in enumerate(tokens.tolist()):
            if done[k]:
                continue
            out[k].append(t)
            rows.states[k], stop = rows.advanced(k, t)
            limited[k] = stop
            done[k] = stop or t == eos_id
        if all(done) or step + 1 == max_new:
            break
        logits = job.decoder.step(tokens, job.memory, job.cache)
    return [Sequences((tuple(o),), (lim,)) for o, lim in zip(out, limited)]


def _beam(job: _Job, logits: torch.Tensor, width: int, num_return: int) -> list[Sequences]:
    rows, eos_id, max_new = job.rows, job.eos_id, job.max_new
    b = len(rows.grammars) // width
    vocab = logits.shape[1]
    device = logits.device
    logits = logits.repeat_interleave(width, dim=0)
    running = torch.zeros(b, width, device=device)
    running[:, 1:] = -1e9
    # the running rows' histories, step by step: each row's token and the row it continues
    tokens_at: list[list[int]] = []
    parents_at: list[list[int]] = []
    finished = torch.full((b, width), -1e9, device=device)
    filled = torch.zeros(b, width, dtype=torch.bool, device=device)
    # a finished hypothesis: (step, the running row it continues, its last token, limited)
    hyps: list[list[tuple[int, int, int, bool] | None]] = [[None] * width for _ in range(b)]
    open_ = torch.ones(b, 1, dtype=torch.bool, device=device)
    first = torch.zeros(2 * width, dtype=torch.bool, device=device)
    first[:width] = True
    offsets = (torch.arange(b, device=device) * width)[:, None]
    for step in range(max_new):
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        masks = rows.masks(vocab, device)
        if masks is not None:
            log_probs = log_probs.masked_fill(masks, -float("inf"))
        scores = (log_probs.view(b, width, vocab) + running[:, :, None]).view(b, -1)
        top, index = torch.topk(scores, 2 * width)
        parent = index // vocab + offsets  # [B, 2W] row of each candidate
        token = index % vocab
        parents, tokens = parent.tolist(), token.tolist()
        last = step + 1 == max_new
        hits, states, limited = [], [], []
        for p_row, t_row in zip(parents, tokens):
            h_row, s_row, l_row = [], [], []
            for p, t in zip(p_row, t_row):
                s, stop = rows.advanced(p, t)
                h_row.append(stop or t == eos_id or last)
                s_row.append(s)
                l_row.append(stop)
            hits.append(h_row)
            states.append(s_row)
            limited.append(l_row)
        hit = torch.tensor(hits, dtype=torch.bool, device=device)
        # finished hypotheses: the first W candidates that end, score over length
        cand = top / (step + 1)
        cand = cand + (~open_).float() * -1e9 + (~(hit & first)).float() * -1e9
        merged = torch.cat([finished, cand], dim=1)
        keep = torch.topk(merged, width).indices
        finished = merged.gather(1, keep)
        filled = torch.cat([filled, hit & first], dim=1).gather(1, keep)
        for k, row in enumerate(keep.tolist()):
            old = hyps[k]
            hyps[k] = [
                old[j]
                if j < width
                else (step, parents[k][j - width], tokens[k][j - width], limited[k][j - width])
                for j in row
            ]
        # running beams: the best W candidates that do not end
        adjusted = top + hit.float() * -1e9
        nxt = torch.topk(adjusted, width).indices
        running = adjusted.gather(1, nxt)
        chosen = parent.gather(1, nxt).view(-1)
        new_tokens = token.gather(1, nxt).view(-1)
        picks = nxt.tolist()
        parents_at.append([parents[k][j] for k in range(b) for j in picks[k]])
        tokens_at.append([tokens[k][j] for k in range(b) for j in picks[k]])
        rows.states = [states[k][j] for k in range(b) for j in picks[k]]
        best = running[:, :1] / (step + 1)
        worst = torch.where(filled, finished.min(dim=1, keepdim=True).values, -1e9)
        open_ = open_ & (best > worst).any(dim=1, keepdim=True)
        if not bool(open_.any()) or bool(hit.all()) or last:
            break
        job.cache.reorder(chosen)
        logits = job.decoder.step(new_tokens, job.memory, job.cache)

    def trace(h: tuple[int, int, int, bool] | None) -> tuple[int, ...]:
        """The tokens of a finished hypothesis, followed back through its rows."""
        if h is None:  # fewer than W hypotheses finished
            return ()
        step, row, token, _ = h
        out = [token]
        for s in range(step - 1, -1, -1):
            out.append(tokens_at[s][row])
            row = parents_at[s][row]
        return tuple(reversed(out))

    return [
        Sequences(
            tuple(trace(h) for h in hyps[k][:num_return]),
            tuple(h is not None and h[3] for h in hyps[k][:num_return]),
        )
        for k in range(b)
    ]
