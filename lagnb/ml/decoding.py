"""Grammar-constrained decoding: the BART-L grammar (:mod:`lagnb.physics.grammar`) as
``transformers`` logits processors and stopping criteria — tokens illegal in the current state get
a score of −∞.  Each field list has its own grammar; in a batch of several field lists,
:class:`PerInput` and :class:`PerInputStop` hand each input's rows (its beams) to its own
processor.  :mod:`lagnb.ml.generate` is where they are used; it builds each grammar in the spelling
the model writes (``Grammar(…, spelling=bundle.target_format)``: BART-L, or the compact field
references of :mod:`lagnb.ml.targets`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import LogitsProcessor, StoppingCriteria

from lagnb.errors import LagnbError
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
    """Masks every token the grammar forbids after the tokens generated so far.

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

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        size, device = scores.shape[1], scores.device
        masks = []
        for row in input_ids.tolist():
            state = self.tracker.state(row)
            allowed = self.grammar.allowed(state)
            early = state.terms - self.tracker.start.terms < self.min_terms
            if allowed is not None and early and EOS in allowed:
                allowed = allowed - {EOS}
            masks.append(self._mask(allowed, size, device))
        return scores.masked_fill(torch.stack(masks), -float("inf"))


class TermLimit(StoppingCriteria):
    """Stops a row once ``max_terms`` new terms are complete (the next term's sign, generated
    to know the term ended, is dropped by the caller)."""

    def __init__(self, processor: GrammarLogitsProcessor, max_terms: int) -> None:
        self.tracker, self.max_terms = processor.tracker, max_terms

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kw
    ) -> torch.BoolTensor:
        done = [
            self.tracker.state(row).terms > self.max_terms + self.tracker.start.terms
            for row in input_ids.tolist()
        ]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def _slices(n_rows: int, n_inputs: int) -> list[slice]:
    """The rows of each input: ``generate`` keeps an input's beams (or candidate beams)
    adjacent, the same number for every input."""
    per = n_rows // n_inputs
    return [slice(k * per, (k + 1) * per) for k in range(n_inputs)]


class PerInput(LogitsProcessor):
    """A batch of several inputs: input ``k``'s rows are masked by ``processors[k]``."""

    def __init__(self, processors: Sequence[LogitsProcessor]) -> None:
        self.processors = list(processors)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        parts = _slices(input_ids.shape[0], len(self.processors))
        return torch.cat([p(input_ids[r], scores[r]) for p, r in zip(self.processors, parts)])


class PerInputStop(StoppingCriteria):
    """A batch of several inputs: input ``k``'s rows are stopped by ``criteria[k]``."""

    def __init__(self, criteria: Sequence[StoppingCriteria]) -> None:
        self.criteria = list(criteria)

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kw
    ) -> torch.BoolTensor:
        parts = _slices(input_ids.shape[0], len(self.criteria))
        return torch.cat([c(input_ids[r], scores, **kw) for c, r in zip(self.criteria, parts)])
