"""Generating Lagrangians with a trained model: lagnb's one decoding path.

The model reads the field list ``[SOS] FIELD … [EOS]`` and writes the Lagrangian's tokens after
``[SOS]`` until ``[EOS]``.  :func:`continuations` does the decoding for every caller — greedy or
beam search, several field lists at a time, optionally after a forced prefix (a partial
Lagrangian), optionally constrained by the token grammar, by :func:`lagnb.ml.decoding.search`
(the model's decoder run a token at a time from cached keys and values,
:mod:`lagnb.ml.incremental`, choosing what ``transformers``' ``generate`` chooses) — and the
rest are views of it:

* :func:`generate` / :func:`generate_batch` — the Lagrangian as a token string (evaluation, the
  CLI, the notebooks);
* :func:`generate_terms` — the new terms after a partial Lagrangian of complete terms, cut with
  the grammar, at most ``max_terms`` of them (the autocomplete app).

By default the output is *certified*: decoding is constrained (``constrained=True``: the
field-aware grammar of :mod:`lagnb.physics.grammar` masks every token that would not parse,
:mod:`lagnb.ml.decoding`), so every term is well formed — which says nothing about its physics —
and then every generated term goes to the engine's term checker
(:func:`lagnb.physics.check.certify_terms`): the terms it rejects (not gauge or Lorentz
invariant, not renormalizable, identically zero, or malformed — or, as a further term of one
Lagrangian, a repeat of an engine term written before) are dropped from the returned text.
:func:`generate` and :func:`generate_batch` first give a rejected term a second chance
(``alternatives``, default :data:`ALTERNATIVES`): the model's best alternatives for that term
are tried, and the first the checker certifies — made of the same fields if one is — replaces
it; and the model's best alternatives for its *first* term are tried too: those the checker
certifies that the output lacks are added before it, then its best next terms after those, and
so on while terms are added, and then its best first terms that begin with each input field (the
engine's order, which the model learns, puts the terms that need charges to add up — Yukawas
first — at the start, so the model's first choice is its hardest one).  ``orders`` decodes
the field list in other orders too — by default none for up to three fields, three more for
longer lists (:func:`default_orders`): the Lagrangian does not depend on the order of the
fields, the model's output does, and the certified engine terms written for the other orders
are added.  ``details=True`` returns :class:`Generated` records with the dropped,
replaced and added terms, the checker's reason for each, and the raw text.
``constrained=False, certified=False`` gives the model's raw greedy (or beam) output.  The
user's forced prefix is never checked or changed.

Prefixes and outputs are BART-L whatever the model's target format
(:attr:`~lagnb.ml.model.Bundle.target_format`): a prefix is converted to the model's spelling
before decoding (:func:`lagnb.ml.targets.to_model`; a compact model's string prefix must end
after a complete object, a sign, ``i`` or inside the contractions), the grammar is built in that
spelling, and what the model writes is converted back (:func:`lagnb.ml.targets.from_model`,
leniently: a reference to a field the input lacks stays as written, so its term is malformed).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import torch

from lagnb.errors import LagnbError
from lagnb.ml.decoding import GrammarLogitsProcessor, search
from lagnb.ml.incremental import IncrementalDecoder
from lagnb.ml.model import Bundle
from lagnb.ml.targets import from_model, to_model
from lagnb.ml.tokenizer import decode, encode_input, encode_target
from lagnb.physics.check import DroppedTerm, TermCheck, certify_terms
from lagnb.physics.engine import as_fields
from lagnb.physics.fields import Field, fields_tokens, split_tokens
from lagnb.physics.grammar import ANY_FIELD, Grammar, GrammarState
from lagnb.physics.terms import FieldFactor
from lagnb.physics.tokens import split_terms

ALTERNATIVES = 16
"""How many of the model's alternatives certified generation tries for a term the checker
rejects, and for the first term (:func:`generate`)."""

ORDERS: int | None = None
"""In how many orders of the field list certified generation decodes it by default (None: by
the length of the list, :func:`default_orders`; see :func:`generate`)."""

LONG_LIST = 4
"""From how many fields on certified generation decodes a field list in :data:`LONG_LIST_ORDERS`
orders by default."""

LONG_LIST_ORDERS = 4
"""In how many orders certified generation decodes a list of :data:`LONG_LIST` or more fields by
default: the given one, reversed, and two seeded shuffles (:func:`other_orders`)."""


def default_orders(n_fields: int) -> int:
    """In how many orders of a list of ``n_fields`` fields certified generation decodes it by
    default: 1 for up to three fields, :data:`LONG_LIST_ORDERS` from :data:`LONG_LIST` on.

    The Lagrangian does not depend on the order of the fields; the model's output does, the
    more the longer the list.  Up to three fields the given order alone writes nearly every
    Lagrangian exactly (and within the two-second budget); a longer list loses terms that
    another order writes — the SM with the leptoquark S1 is exact in four orders, not in one."""
    return LONG_LIST_ORDERS if n_fields >= LONG_LIST else 1


Prefix = str | Sequence[str] | None
"""A forced start of the output, in BART-L: a token string (it may end inside a term; the grammar
follows it token by token), or a sequence of complete terms (the model continues after the last
one: the grammar starts at a term boundary)."""


def input_string(fields_or_input: str | Iterable[Field]) -> str:
    """The BART-L input string of a field list (strings pass through unchanged)."""
    if isinstance(fields_or_input, str):
        return fields_or_input
    return fields_tokens(as_fields(fields_or_input))


@dataclass(frozen=True)
class Continuation:
    """What the model wrote for one field list after its forced prefix.

    ``text`` holds the new tokens only (no special tokens); ``finished`` is False when the
    output was cut before ``[EOS]`` (by the token budget, or by the term limit).
    """

    prefix: str
    text: str
    finished: bool

    @property
    def full(self) -> str:
        """Prefix and continuation: the whole Lagrangian as written."""
        return " ".join(t for t in (self.prefix, self.text) if t)


@dataclass(frozen=True)
class Generated:
    """One input's output with the checker's verdict (``details=True``).

    ``text`` is the certified Lagrangian (the forced prefix, then the generated terms the
    checker accepts; the raw text when not certified); ``finished`` is False when decoding was
    cut before ``[EOS]``; ``raw`` is the model's own output (greedy or beam, before any
    alternative replaced a rejected term), with the prefix; ``dropped`` the generated terms the
    checker rejected and left out of ``text``, in order, each with its verdict
    (:attr:`~lagnb.physics.check.DroppedTerm.reason`); ``replaced`` the rejected terms that a
    certified alternative of the model's replaced (see :func:`generate`), each with its
    replacement; ``added`` the certified terms among the model's alternatives for its first
    terms (see :func:`generate`) that its output lacked, put before it in ``text``;
    ``from_orders`` the certified terms of its outputs for other orders of the fields
    (``orders``) that it lacked, put after it;
    ``checked`` and ``rejected`` how many terms of ``raw`` after the prefix the checker judged
    and rejected (0 when not certified).
    """

    text: str
    finished: bool
    raw: str
    dropped: tuple[DroppedTerm, ...] = ()
    checked: int = 0
    rejected: int = 0
    replaced: tuple[tuple[DroppedTerm, str], ...] = ()
    added: tuple[str, ...] = ()
    from_orders: tuple[str, ...] = ()

    @property
    def raw_validity(self) -> float:
        """The fraction of the model's own generated terms (``raw``) the checker certifies, a
        repeat of a term written before counting as rejected (NaN when none was checked)."""
        return (self.checked - self.rejected) / self.checked if self.checked else float("nan")


def certify_continuation(fs: tuple[Field, ...], c: Continuation) -> Generated:
    """Check the generated terms of ``c`` (a term straddling the prefix's end counts as
    generated, checked whole) and drop those the checker rejects, and those that repeat an
    engine term written before them; the prefix stays as given.  ``fs`` is the parsed field
    list."""
    tokens = split_tokens(c.full)
    n_prefix = len(split_tokens(c.prefix))
    spans, pos = [], 0
    for t in split_terms(c.full):  # the same tokens, cut before each term's sign
        spans.append((t, pos, pos + len(t.split())))
        pos += len(t.split())
    own = [(t, a, b) for t, a, b in spans if b > n_prefix]  # terms with generated tokens
    cert = certify_terms(fs, [t for t, _, _ in own], repeats=True)
    kept = tokens[:n_prefix]
    for (_, a, b), check in zip(own, cert.checks):
        if check.valid:
            kept += tokens[max(a, n_prefix) : b]
    return Generated(" ".join(kept), c.finished, c.full, cert.dropped, len(own), len(cert.dropped))


@dataclass
class _Row:
    """One input, encoded: encoder ids, decoder ids (``[SOS]`` + prefix in the model's target
    format), the BART-L prefix, grammar mask, field list."""

    enc: list[int]
    dec: list[int]
    prefix: str
    processor: GrammarLogitsProcessor | None
    fields: tuple[Field, ...] = ()


def _start_id(bundle: Bundle) -> int:
    start = bundle.model.generation_config.decoder_start_token_id
    if start is None:
        start = bundle.model.config.decoder_start_token_id
    return int(start)


def _grammar_start(grammar: Grammar, tokens: list[str], complete_terms: bool) -> GrammarState:
    """The grammar state after the prefix ``tokens`` (see :data:`Prefix`)."""
    if not tokens:
        return grammar.initial()
    if complete_terms:
        return grammar.boundary()
    state = grammar.initial()
    for pos, t in enumerate(tokens):
        nxt = grammar.advance(state, t)
        if nxt is None:
            raise LagnbError(
                f"prefix token {pos} {t!r} does not follow the token grammar for these "
                "fields; constrained decoding needs a well-formed prefix"
            )
        state = nxt
    return state


_Input = tuple[list[int], tuple[Field, ...]]
"""One parsed input: the encoder ids and the field list."""


def _parse_input(bundle: Bundle, fields: str | Iterable[Field]) -> _Input:
    """Encode and parse one user input (a BART-L input string or Fields), once.  A string is
    encoded as written: the model reads the user's tokens, not their canonical form."""
    if isinstance(fields, str):
        # unknown tokens first: names the position
        enc = encode_input(bundle.tokenizer, fields, bundle.input_format)
        return enc, as_fields(fields)  # then the field list itself: not empty, well-formed
    return _encode_parsed(bundle, as_fields(fields))  # checked: not empty, Field objects only


def _encode_parsed(bundle: Bundle, fs: tuple[Field, ...]) -> _Input:
    """The input of a field list already parsed by :func:`as_fields` (its canonical tokens)."""
    return encode_input(bundle.tokenizer, fields_tokens(fs), bundle.input_format), fs


def _row(bundle: Bundle, parsed: _Input, prefix: Prefix, constrained: bool, min_terms: int) -> _Row:
    tok, fmt = bundle.tokenizer, bundle.target_format
    enc, fs = parsed
    prefix_text = prefix if isinstance(prefix, str) or not prefix else " ".join(prefix)
    bart_ids = encode_target(tok, prefix_text, eos=False) if prefix_text else []
    shown = decode(tok, bart_ids)  # the BART-L prefix, normalised
    model_ids = bart_ids
    if fmt != "bart-l" and shown:
        model_ids = encode_target(tok, to_model(fs, shown, fmt), eos=False)
    dec = [_start_id(bundle), *model_ids]
    processor = None
    if constrained:
        complete = not isinstance(prefix, str)
        grammar = Grammar.from_parsed(fs)
        start = _grammar_start(grammar, tok.convert_ids_to_tokens(bart_ids), complete)
        if fmt != "bart-l":  # checked in BART-L above (errors name the user's tokens)
            pending = start.pending
            grammar = Grammar.from_parsed(fs, spelling=fmt)
            start = _grammar_start(grammar, tok.convert_ids_to_tokens(model_ids), complete)
            if start.pending == ANY_FIELD:  # a derivative ends the prefix: keep its groups
                start = replace(start, pending=pending)
        processor = GrammarLogitsProcessor(grammar, tok, len(dec), start, min_terms)
    return _Row(enc, dec, shown, processor, fs)


def _budget(bundle: Bundle, n_enc: int, n_dec: int, max_new_tokens: int | None) -> int:
    """How many tokens the model may write after ``n_dec`` decoder tokens."""
    limit = bundle.max_positions
    if n_enc > limit:
        raise LagnbError(f"the field list is {n_enc} tokens; the model reads at most {limit}")
    budget = limit - n_dec
    if budget < 1:
        raise LagnbError(
            f"the prefix (partial Lagrangian) is {n_dec - 1} tokens, too long: the model writes "
            f"at most {limit - 1} tokens in all"
        )
    return budget if max_new_tokens is None else max(1, min(max_new_tokens, budget))


def _batches(rows: list[_Row], batch_size: int) -> Iterable[list[_Row]]:
    """Consecutive rows, at most ``batch_size`` together, with prefixes of equal length (the
    decoder input of a batch is one rectangle)."""
    batch: list[_Row] = []
    for r in rows:
        if batch and (len(batch) == batch_size or len(r.dec) != len(batch[0].dec)):
            yield batch
            batch = []
        batch.append(r)
    if batch:
        yield batch


@torch.no_grad()
def _decode_batch(
    bundle: Bundle,
    rows: list[_Row],
    num_beams: int,
    max_new_tokens: int | None,
    max_terms: int | None,
    num_return: int = 1,
) -> list[Continuation]:
    """Decode a batch of rows with equal prefix lengths: ``num_return`` continuations a row
    (the best beams, best first), row after row."""
    tok, model, device = bundle.tokenizer, bundle.model, bundle.device
    n_dec = len(rows[0].dec)
    width = max(len(r.enc) for r in rows)
    new = _budget(bundle, width, n_dec, max_new_tokens)
    ids = torch.full((len(rows), width), tok.pad_token_id, dtype=torch.long)
    att = torch.zeros((len(rows), width), dtype=torch.long)
    for k, r in enumerate(rows):
        ids[k, : len(r.enc)] = torch.tensor(r.enc)
        att[k, : len(r.enc)] = 1
    found = search(
        IncrementalDecoder.of(model),
        ids.to(device),
        att.to(device),
        torch.tensor([r.dec for r in rows], device=device),
        [r.processor for r in rows],
        eos_id=tok.eos_token_id,
        max_new=new,
        num_beams=num_beams,
        num_return=num_return,
        max_terms=max_terms,
    )
    result = []
    for r, seqs in zip(rows, found):
        for written, limited in zip(seqs.ids, seqs.limited):
            finished = bool(written) and written[-1] == tok.eos_token_id and not limited
            text = decode(tok, list(written))
            text = from_model(r.fields, text, bundle.target_format, strict=False)
            result.append(Continuation(r.prefix, text, finished))
    return result


def continuations(
    bundle: Bundle,
    inputs: Sequence[str | Iterable[Field]],
    *,
    prefixes: Sequence[Prefix] | None = None,
    num_beams: int = 1,
    max_new_tokens: int | None = None,
    constrained: bool = False,
    min_terms: int = 0,
    max_terms: int | None = None,
    batch_size: int = 16,
) -> list[Continuation]:
    """The model's continuation of each input after its prefix: the decoding behind every
    other function here.

    Args:
        bundle: a loaded model and tokenizer (:func:`lagnb.ml.model.load_bundle`).
        inputs: field lists — BART-L input strings (``"[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"``,
            compact numbers like ``1/2`` allowed) or sequences of :class:`Field`.
        prefixes: one forced start per input (see :data:`Prefix`), or ``None``.
        num_beams: 1 for greedy decoding, more for beam search.
        max_new_tokens: token budget after the prefix (default: up to the model's limit).
        constrained: mask the tokens the field-aware grammar forbids.
        min_terms: (constrained) forbid ``[EOS]`` before this many new terms.
        max_terms: (constrained) stop once this many new terms are complete; the sign of the
            next term, generated to know the last one ended, is then the end of ``text``.
        batch_size: inputs decoded together (those with equal prefix lengths, in order).

    Raises :class:`~lagnb.errors.TokenError` or :class:`~lagnb.errors.FieldError` for an empty
    or malformed field list or an unknown token, :class:`LagnbError` for an input or prefix
    longer than the model's limit or (constrained) a prefix the grammar rejects.
    """
    inputs = list(inputs)
    prefixes = [None] * len(inputs) if prefixes is None else list(prefixes)
    if len(prefixes) != len(inputs):
        raise LagnbError(f"{len(prefixes)} prefixes for {len(inputs)} inputs")
    return _continuations(
        bundle,
        (_parse_input(bundle, x) for x in inputs),  # parsed one by one, as the rows are built
        prefixes,
        num_beams=num_beams,
        max_new_tokens=max_new_tokens,
        constrained=constrained,
        min_terms=min_terms,
        max_terms=max_terms,
        batch_size=batch_size,
    )


def _continuations(
    bundle: Bundle,
    inputs: Iterable[_Input],
    prefixes: Sequence[Prefix],
    *,
    num_beams: int,
    max_new_tokens: int | None,
    constrained: bool,
    min_terms: int,
    max_terms: int | None,
    batch_size: int = 16,
) -> list[Continuation]:
    """:func:`continuations` of parsed inputs (:func:`_parse_input`), one prefix each."""
    if num_beams < 1 or batch_size < 1:
        raise LagnbError(
            f"num_beams and batch_size must be at least 1, got {num_beams}, {batch_size}"
        )
    rows = [_row(bundle, x, p, constrained, min_terms) for x, p in zip(inputs, prefixes)]
    out: list[Continuation] = []
    for batch in _batches(rows, batch_size):
        out += _decode_batch(bundle, batch, num_beams, max_new_tokens, max_terms)
    return out


def generate(
    bundle: Bundle,
    fields_or_input_string: str | Iterable[Field],
    *,
    prefix: str | None = None,
    num_beams: int = 1,
    max_new_tokens: int | None = None,
    constrained: bool = True,
    certified: bool = True,
    alternatives: int = ALTERNATIVES,
    orders: int | None = ORDERS,
    details: bool = False,
) -> str | Generated:
    """The model's Lagrangian (token string, no specials) for a field list: by default only
    the generated terms the engine's term checker certifies.

    Args:
        bundle: a loaded model and tokenizer (:func:`lagnb.ml.model.load_bundle`).
        fields_or_input_string: BART-L input (``"[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"``,
            compact numbers like ``1/2`` allowed) or a sequence of :class:`Field`.
        prefix: a partial Lagrangian (token string) forced as the start of the output; the
            returned string begins with it (it is not checked).
        num_beams: 1 for greedy decoding, more for beam search.
        max_new_tokens: generation budget (default: up to the model's position limit).
        constrained: mask tokens the field-aware grammar forbids (every term parses).
        certified: drop (or replace, see ``alternatives``) the generated terms the term
            checker rejects (invalid or malformed, or repeating an engine term written before
            them; a repeat is replaced only by another term of the same fields, in place).
        alternatives: (certified, constrained, no prefix) for each term the checker rejects, try
            the model's this many best alternatives for that term and keep the best one the
            checker certifies that is not a term already written — one made of the same fields
            as the rejected term if there is one; the model then writes the rest after it.
            Then try the model's this many best alternatives for the first term: each one the
            checker certifies as a term of the engine's Lagrangian not yet written is added at
            the start, and the model's best next terms after those are tried the same way,
            until none is added; then its this many best first terms that begin with each
            input field or its conjugate, and next terms after those, the same way
            (:func:`first_terms`).
            0: drop rejected terms only, add nothing.
        orders: (certified, constrained, no prefix) also write the Lagrangian, the same way,
            for this many − 1 other orders of the field list (:func:`other_orders`: reversed,
            then seeded shuffles, the same for the same list) and add the terms of those
            outputs the checker certifies as terms of the engine's Lagrangian that the output
            lacks, at its end.  The Lagrangian does not depend on the order of its fields; a
            small model's output does, so the other orders find terms the given one misses, at
            about ``orders`` times the cost.  None (default): by the number of fields,
            :func:`default_orders` (1 up to three fields, 4 from four on).
        details: return a :class:`Generated` record (dropped terms with reasons, raw text)
            instead of the text.

    ``constrained=False, certified=False`` returns the model's raw output.  Raises
    :class:`~lagnb.errors.TokenError` for unknown tokens in the input or prefix, and for an
    empty field list.
    """
    return generate_batch(
        bundle,
        [fields_or_input_string],
        prefixes=[prefix],
        num_beams=num_beams,
        max_new_tokens=max_new_tokens,
        constrained=constrained,
        certified=certified,
        alternatives=alternatives,
        orders=orders,
        details=details,
    )[0]


def generate_batch(
    bundle: Bundle,
    inputs: Sequence[str | Iterable[Field]],
    *,
    prefixes: Sequence[str | None] | None = None,
    num_beams: int = 1,
    max_new_tokens: int | None = None,
    constrained: bool = True,
    certified: bool = True,
    alternatives: int = ALTERNATIVES,
    orders: int | None = ORDERS,
    batch_size: int = 16,
    details: bool = False,
) -> list[str] | list[Generated]:
    """:func:`generate` for several field lists, ``batch_size`` at a time (constrained or
    not: each input is masked by its own grammar).

    With ``details`` each item is a :class:`Generated`: the certified text, ``finished``
    (False when the output was cut by the token budget before ``[EOS]``), the raw text, and the
    dropped, replaced and added terms with the checker's reasons."""
    if alternatives < 0:
        raise LagnbError(f"alternatives must be 0 or more, got {alternatives}")
    if orders is not None and orders < 1:
        raise LagnbError(f"orders must be 1 or more (1: the given order only), got {orders}")
    inputs = list(inputs)
    prefixes = [None] * len(inputs) if prefixes is None else list(prefixes)
    if len(prefixes) != len(inputs):
        raise LagnbError(f"{len(prefixes)} prefixes for {len(inputs)} inputs")
    parsed: list[_Input] = []

    def each() -> Iterable[_Input]:  # parsed one by one, as the rows are built
        for x in inputs:
            parsed.append(_parse_input(bundle, x))
            yield parsed[-1]

    outs = _continuations(
        bundle,
        each(),
        prefixes,
        num_beams=num_beams,
        max_new_tokens=max_new_tokens,
        constrained=constrained,
        min_terms=0,
        max_terms=None,
        batch_size=batch_size,
    )
    gen = []
    for x, p, c in zip(parsed, prefixes, outs):
        if not certified:
            gen.append(Generated(c.full, c.finished, c.full))
        elif alternatives and constrained and not p:
            searched: _Searched = {}
            g = _with_alternatives(bundle, x, c, alternatives, num_beams, max_new_tokens, searched)
            gen.append(_with_first_terms(bundle, x, g, alternatives, searched))
        else:
            gen.append(certify_continuation(x[1], c))
        n = default_orders(len(x[1])) if orders is None else orders
        others = other_orders(x[1], n - 1) if certified and constrained and not p else []
        if others:
            more = generate_batch(
                bundle,
                others,
                num_beams=num_beams,
                max_new_tokens=max_new_tokens,
                alternatives=alternatives,
                orders=1,
                batch_size=batch_size,
            )
            gen[-1] = _with_terms_of(x[1], gen[-1], more)
    return gen if details else [g.text for g in gen]


def other_orders(fields: Sequence[Field], n: int) -> list[tuple[Field, ...]]:
    """Up to ``n`` orders of ``fields`` other than the given one, each a different list (two
    identical fields swapped is not another order): the reversed list — every pair of fields
    the other way round — then seeded shuffles, the same for the same list (for a short list,
    where fewer than ``n`` exist, all of them)."""
    fs = tuple(fields)
    seen = {fs}
    out: list[tuple[Field, ...]] = []
    if n > 0 and fs[::-1] not in seen:
        seen.add(fs[::-1])
        out.append(fs[::-1])
    rng = random.Random(0)
    for _ in range(20 * n):  # all of them for short lists, where shuffles repeat
        if len(out) == n:
            break
        order = list(fs)
        rng.shuffle(order)
        if tuple(order) not in seen:
            seen.add(tuple(order))
            out.append(tuple(order))
    return out


def _with_terms_of(fs: tuple[Field, ...], g: Generated, others: Iterable[str]) -> Generated:
    """``g`` with the terms of the outputs ``others`` (for other orders of ``fs``) that the
    checker certifies as engine terms ``g`` lacks added at its end, first found first."""
    terms = split_terms(g.text)
    written = {k for ch in certify_terms(fs, terms).checks if (k := ch.engine_term) is not None}
    added = [t for text in others for t in _new_engine_terms(fs, split_terms(text), written)]
    if not added:
        return g
    return replace(g, text=" ".join([*terms, *added]), from_orders=tuple(added))


def _new_engine_terms(
    fs: tuple[Field, ...], candidates: Sequence[str], written: set[tuple[int, bool]]
) -> list[str]:
    """The ``candidates`` the checker certifies as engine terms not in ``written``, in order,
    each engine term once; they are added to ``written``."""
    new = []
    for t, ch in zip(candidates, certify_terms(fs, candidates).checks):
        if (k := ch.engine_term) is not None and k not in written:
            written.add(k)
            new.append(t)
    return new


def _term_budget(row: _Row) -> int:
    """The tokens a search over one term may write after ``row``'s prefix: the longest term of
    its fields in the model's spelling (:meth:`Grammar.longest_term`) and the next term's sign,
    which shows that the term ended.  A beam still inside a term by then writes no engine
    term."""
    assert row.processor is not None  # the searches are grammar-constrained
    return row.processor.grammar.longest_term() + 1


_Searched = dict[tuple[str, ...], list[str]]
"""The one-term searches already run for one input and width: their outputs by context (the
replacement of a rejected first term and the first round of :func:`first_terms` both search
after no terms)."""


def _alternatives(
    bundle: Bundle,
    parsed: _Input,
    context: Sequence[str],
    width: int,
    searched: _Searched | None = None,
) -> list[str]:
    """The model's ``width`` best next terms after the complete terms ``context`` (beam search
    of that width over one term, grammar-constrained), best first; ``[]`` where the context
    leaves the model no room.  With ``searched``, a context searched before is not searched
    again."""
    if searched is not None and tuple(context) in searched:
        return searched[tuple(context)]
    out = _search_after(bundle, parsed, context, width)
    if searched is not None:
        searched[tuple(context)] = out
    return out


def _search_after(bundle: Bundle, parsed: _Input, context: Sequence[str], width: int) -> list[str]:
    """The beam search of :func:`_alternatives`, run."""
    row = _row(bundle, parsed, tuple(context), True, 0)
    budget = min(bundle.max_positions - len(row.dec), _term_budget(row))
    if budget < 1:
        return []
    grammar = Grammar.from_parsed(parsed[1])
    start = grammar.boundary() if context else grammar.initial()
    out = []
    for c in _decode_batch(bundle, [row], width, budget, 1, num_return=width):
        out += cut_into_terms(grammar, start, c.text.split(), 1, ended=c.finished)[0]
    return out


def _fields_of(check: TermCheck) -> tuple[int, ...] | None:
    """The input fields a parsed term is made of (indices, with multiplicity; conjugation
    ignored), or None for a term that does not parse."""
    if check.term is None:
        return None
    return tuple(sorted(f.field for f in check.term.factors if isinstance(f, FieldFactor)))


def _with_alternatives(
    bundle: Bundle,
    parsed: _Input,
    first: Continuation,
    width: int,
    num_beams: int,
    max_new_tokens: int | None,
    searched: _Searched | None = None,
) -> Generated:
    """The certified output of ``first`` (decoded after no prefix) in which each generated term
    the checker rejects (as :func:`certify_continuation`: invalid, or repeating an engine term
    written before it) is replaced by one of the model's ``width`` best alternatives for that
    term (:func:`_alternatives`, after the terms before it) that the checker certifies and that
    is not an engine term already written: the best of those made of the same fields as the
    rejected term (the term the model meant, most often with a field conjugated wrongly), else
    the best of all; then the model writes the rest again after the replacement.  A repeated
    term is replaced only by such an alternative of its own fields that equals an engine term
    (another contraction, most often: the one the model meant), in place: the rest of the
    output stands.  A rejected term with no such alternative is dropped from the output (as by
    :func:`certify_continuation`) and stays in the model's context, so the rest of the model's
    output stands.  ``raw``, ``checked`` and ``rejected`` describe ``first``, the model's own
    output."""
    fs = parsed[1]
    raw = certify_continuation(fs, first)
    if not raw.rejected:
        return raw
    context: list[str] = []  # the generated terms the model has seen, in order
    shown: list[bool] = []  # whether each goes to the output
    written: set[tuple[int, bool]] = set()  # engine terms (index, conjugated) written
    dropped: list[DroppedTerm] = []
    replaced: list[tuple[DroppedTerm, str]] = []
    c = first
    while True:
        new = split_terms(c.text)
        checks = certify_terms(fs, new, repeats=True, before=written).checks
        bad = next((i for i, ch in enumerate(checks) if not ch.valid), len(new))
        for t, ch in zip(new[:bad], checks):
            context.append(t)
            shown.append(True)
            if ch.engine_term is not None:
                written.add(ch.engine_term)
        if bad == len(new):
            break
        rejected = DroppedTerm(new[bad], checks[bad])
        meant = _fields_of(checks[bad])
        repeat = checks[bad].repeats  # replaced only by another term of the same fields
        options = []
        offered = _alternatives(bundle, parsed, context, width, searched)
        for t, ch in zip(offered, certify_terms(fs, offered).checks):
            if ch.valid and ch.engine_term not in written:
                other = _fields_of(ch) != meant
                if not (repeat and (other or ch.engine_term is None)):
                    options.append((other, t, ch))
        choice = None
        if options:
            _, choice, ch = min(options, key=lambda o: o[0])  # same fields first, then rank
            if ch.engine_term is not None:
                written.add(ch.engine_term)
        context.append(choice or rejected.tokens)
        shown.append(choice is not None)
        if choice is None:
            dropped.append(rejected)
            # the context is what the model wrote: the rest of its output is its continuation
            c = replace(c, text=" ".join(new[bad + 1 :]))
            continue
        replaced.append((rejected, choice))
        if repeat:  # replaced in place: the rest of the model's output stands
            c = replace(c, text=" ".join(new[bad + 1 :]))
            continue
        row = _row(bundle, parsed, tuple(context), True, 0)
        left = bundle.max_positions - len(row.dec)
        if max_new_tokens is not None:
            left = min(left, max_new_tokens - (len(row.dec) - 1))
        if left < 1:
            c = Continuation("", "", False)
            break
        c = _decode_batch(bundle, [row], num_beams, left, None)[0]
    text = " ".join(t for t, s in zip(context, shown) if s)
    return Generated(
        text,
        c.finished,
        raw.raw,
        tuple(dropped),
        raw.checked,
        raw.rejected,
        tuple(replaced),
    )


def first_terms(
    bundle: Bundle,
    fields: str | Iterable[Field],
    written: Iterable[tuple[int, bool]] = (),
    width: int = ALTERNATIVES,
) -> list[str]:
    """The terms among the model's ``width`` best first terms (:func:`_alternatives` after no
    terms) that the checker certifies as terms of the engine's Lagrangian not in ``written``
    (engine terms as :attr:`~lagnb.physics.check.TermCheck.engine_term` keys), best first;
    then, after the terms found so far, the model's ``width`` best next terms are tried the
    same way, until a round finds nothing; then, once, the model's ``width`` best first terms
    that begin with each field of the input and with each one's conjugate (the field forced,
    the rest of the term the model's beam search), and after any it finds, rounds again.  (A
    certified term the checker names no engine term for — another basis of the same
    contractions — is not taken: it may repeat one written.)

    The model learns the engine's order, which starts with the terms that exist only where
    charges add up to zero (Yukawas, then trilinears): whether to write one is the model's
    first decision, and where its best choice is to skip one, the term is often among its next
    best — and after it, the term's conjugate and the next Yukawa.  Where its best first terms
    all begin with one field (the SM's up-quark Yukawa and its relatives begin with Q), a Yukawa
    that begins with another (the electron's, with L) is found among the terms it writes when
    its first field is given.  Certified generation
    (:func:`generate`) adds these terms to the model's output, and the autocomplete
    (:func:`lagnb.apps.autocomplete.complete`) offers them after its continuation."""
    if width < 0:
        raise LagnbError(f"alternatives must be 0 or more, got {width}")
    parsed = _parse_input(bundle, fields)
    return _first_terms(bundle, parsed, set(written), width) if width else []


def _first_terms(
    bundle: Bundle,
    parsed: _Input,
    written: set[tuple[int, bool]],
    width: int,
    searched: _Searched | None = None,
) -> list[str]:
    """:func:`first_terms` for a parsed input; adds the engine terms it finds to ``written``."""
    fs = parsed[1]
    found: list[str] = []
    led = False
    while True:  # each round finds a term or stops: at most as many rounds as engine terms
        new = _new_engine_terms(fs, _alternatives(bundle, parsed, found, width, searched), written)
        if not new and not led:
            led = True
            new = _new_engine_terms(fs, _led_terms(bundle, parsed, width), written)
        if not new:
            return found
        found += new


def _led_terms(bundle: Bundle, parsed: _Input, width: int) -> list[str]:
    """The model's ``width`` best first terms that begin with each field of the input, and with
    each one's conjugate (the field object forced, then beam search of that width over the rest
    of the term, grammar-constrained): lead by lead (those of one decoder length together),
    best first (see :func:`first_terms`).  A field leads as ``+ <field> ID0``, a conjugate as
    ``+ <field> DAGGER`` (its label the model's): in the compact spelling both are three
    tokens, one beam search."""
    fs = parsed[1]
    grammar = Grammar.from_parsed(fs)
    # a field listed twice (flavours, however named) leads once
    objects = dict.fromkeys(tuple(f.tokens(conj)) for f in fs for conj in (False, True))
    leads = []
    for obj in objects:
        lead = ["+", *obj] if obj[-1] == "DAGGER" else ["+", *obj, "ID0"]
        if grammar.first_violation(lead) is None:  # not a real field's DAGGER
            leads.append(lead)
    by_length: dict[int, list[tuple[_Row, list[str]]]] = {}
    for lead in leads:
        row = _row(bundle, parsed, " ".join(lead), True, 0)
        by_length.setdefault(len(row.dec), []).append((row, lead))
    out: list[str] = []
    for n_dec, pairs in sorted(by_length.items()):
        budget = min(bundle.max_positions - n_dec, _term_budget(pairs[0][0]))
        if budget < 1:
            continue
        rows = [r for r, _ in pairs]
        conts = _decode_batch(bundle, rows, width, budget, 1, num_return=width)
        for k, c in enumerate(conts):
            toks = [*pairs[k // width][1], *c.text.split()]
            out += cut_into_terms(grammar, grammar.initial(), toks, 1, ended=c.finished)[0]
    return out


def _with_first_terms(
    bundle: Bundle, parsed: _Input, g: Generated, width: int, searched: _Searched | None = None
) -> Generated:
    """``g`` with the terms :func:`first_terms` finds that ``g`` lacks added before its text."""
    terms = split_terms(g.text)
    checks = certify_terms(parsed[1], terms).checks
    written = {k for ch in checks if (k := ch.engine_term) is not None}
    added = _first_terms(bundle, parsed, written, width, searched)
    if not added:
        return g
    return replace(g, text=" ".join([*added, *terms]), added=tuple(added))


def cut_into_terms(
    grammar: Grammar,
    start: GrammarState,
    tokens: list[str],
    max_terms: int | None,
    ended: bool = True,
) -> tuple[list[str], bool]:
    """Cut generated tokens into terms with the grammar; returns (complete terms, cut short).

    A term is known to be complete only when a new term or ``[EOS]`` follows it: when the
    generation stopped at the length limit (``ended=False``) the last term is dropped.  Tokens
    the grammar rejects (unconstrained decoding) fall back to :func:`split_terms`.
    """
    s, starts, rejected = start, [], False
    for pos, tok in enumerate(tokens):
        nxt = grammar.advance(s, tok)
        if nxt is None:
            rejected = True
            break
        if nxt.terms > s.terms:
            starts.append(pos)
        s = nxt
    if rejected:
        # unconstrained output the grammar rejects: keep what the model wrote, split as usual
        terms = split_terms(" ".join(tokens))
        if terms and terms[-1] in ("+", "-"):
            terms = terms[:-1]
        if not ended and terms and (max_terms is None or len(terms) <= max_terms):
            return terms[:-1], True
        return terms[:max_terms], False
    bounds = [*starts, len(tokens)]
    terms = [" ".join(tokens[a:b]) for a, b in itertools.pairwise(bounds)]
    if max_terms is not None and len(terms) > max_terms:
        return terms[:max_terms], False
    if terms and not (ended and (s.at_term_end or s.phase == "end")):
        return terms[:-1], True
    return terms, False


def generate_terms(
    bundle: Bundle,
    fields: str | Iterable[Field],
    prefix: Sequence[str] = (),
    *,
    max_terms: int | None = None,
    max_new_tokens: int | None = None,
    constrained: bool = True,
    num_beams: int = 1,
    min_terms: int = 0,
    certified: bool = True,
) -> tuple[list[str], str, bool]:
    """Let the model continue ``prefix`` (complete terms) for ``fields``, term by term.

    ``max_terms`` stops after that many new terms (without the grammar constraint the output
    is cut afterwards instead); ``min_terms`` (constrained only) forbids ending before that
    many.  With ``certified`` (default) the new terms the term checker rejects are dropped
    (``max_terms`` counts the terms written, before the checker); the raw token string keeps
    them, and :func:`lagnb.physics.check.certify_terms` of the uncertified terms (or
    :func:`lagnb.apps.autocomplete.complete`) gives the reasons.  Returns (new terms, the raw
    generated token string, cut short by the length limit).
    """
    return generate_terms_parsed(
        bundle,
        as_fields(fields),
        prefix,
        max_terms=max_terms,
        max_new_tokens=max_new_tokens,
        constrained=constrained,
        num_beams=num_beams,
        min_terms=min_terms,
        certified=certified,
    )


def generate_terms_parsed(
    bundle: Bundle,
    fs: tuple[Field, ...],
    prefix: Sequence[str] = (),
    *,
    max_terms: int | None = None,
    max_new_tokens: int | None = None,
    constrained: bool = True,
    num_beams: int = 1,
    min_terms: int = 0,
    certified: bool = True,
) -> tuple[list[str], str, bool]:
    """:func:`generate_terms` for a field list already parsed by
    :func:`~lagnb.physics.engine.as_fields` (a non-empty tuple of Fields): for callers inside
    lagnb that hold one."""
    c = _continuations(
        bundle,
        [_encode_parsed(bundle, fs)],
        [tuple(prefix)],
        num_beams=num_beams,
        max_new_tokens=max_new_tokens,
        constrained=constrained,
        min_terms=min_terms,
        max_terms=max_terms,
    )[0]
    grammar = Grammar.from_parsed(fs)
    start = grammar.boundary() if prefix else grammar.initial()
    terms, cut = cut_into_terms(grammar, start, c.text.split(), max_terms, ended=c.finished)
    if certified:
        terms = list(certify_terms(fs, terms).kept)
    return terms, c.text, cut


def prediction_json(fields_or_input_string: str | Iterable[Field], text: str) -> dict:
    """A generated Lagrangian in the schema of ``lagnb lagrangian --json``, plus checks.

    Each term has ``kind``, ``fields``, ``derivatives``, ``hermitian_conjugate_added``,
    ``tokens`` (canonical: the engine's own tokens when the term equals an engine term or its
    conjugate, else ID labels renumbered by position), ``latex`` and ``check`` (``valid``,
    ``status``, ``reasons``, ``engine_term``: index of the equal engine term or ``null``).
    Malformed terms keep their raw tokens with ``kind`` ``null``.
    """
    from lagnb.physics.check import check_parsed
    from lagnb.physics.engine import lagrangian_parsed
    from lagnb.physics.terms import Lagrangian

    fields = as_fields(fields_or_input_string)
    engine = lagrangian_parsed(fields)
    names = engine.names
    terms = []
    for t in split_terms(text):
        c = check_parsed(fields, t)
        if c.term is None:
            entry: dict = {
                "kind": None,
                "fields": [],
                "derivatives": None,
                "hermitian_conjugate_added": False,
                "tokens": t,
                "latex": None,
            }
        else:
            term = c.term
            if c.match is not None:
                term = engine.terms[c.match]
                term = term.conjugate() if c.match_conjugate else term
            entry = term.to_json(fields, names)
            entry["hermitian_conjugate_added"] = False
        entry["check"] = {
            "valid": c.valid,
            "status": c.status,
            "reasons": list(c.reasons),
            "engine_term": c.match,
            "engine_term_conjugate": c.match_conjugate,
        }
        terms.append(entry)
    return {"fields": Lagrangian(fields, ()).to_json()["fields"], "terms": terms}
