"""Generating a Lagrangian with a trained model: greedy or beam search, optionally from a forced
prefix (a partial Lagrangian) and optionally constrained by the token grammar.

The model reads the field list ``[SOS] FIELD … [EOS]`` and writes the Lagrangian's tokens after
``[SOS]`` until ``[EOS]``.  With ``constrained=True`` the field-aware grammar of
:mod:`lagnb.physics.grammar` masks every token that would not parse, so the output is always a
well-formed Lagrangian (which says nothing about its physics: see :mod:`lagnb.physics.check`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from transformers import LogitsProcessorList

from lagnb.errors import LagnbError
from lagnb.ml.model import Bundle
from lagnb.ml.tokenizer import decode, encode_input, encode_target
from lagnb.physics.fields import Field, fields_tokens, parse_fields


def input_string(fields_or_input: str | Iterable[Field]) -> str:
    """The BART-L input string of a field list (strings pass through unchanged)."""
    if isinstance(fields_or_input, str):
        return fields_or_input
    return fields_tokens(tuple(fields_or_input))


def _start_id(bundle: Bundle) -> int:
    start = bundle.model.generation_config.decoder_start_token_id
    if start is None:
        start = bundle.model.config.decoder_start_token_id
    return int(start)


@torch.no_grad()
def generate(
    bundle: Bundle,
    fields_or_input_string: str | Iterable[Field],
    *,
    prefix: str | None = None,
    num_beams: int = 1,
    max_new_tokens: int | None = None,
    constrained: bool = False,
) -> str:
    """The model's Lagrangian (token string, no specials) for a field list.

    Args:
        bundle: a loaded model and tokenizer (:func:`lagnb.ml.model.load_bundle`).
        fields_or_input_string: BART-L input (``"[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"``,
            compact numbers like ``1/2`` allowed) or a sequence of :class:`Field`.
        prefix: a partial Lagrangian (token string) forced as the start of the output; the
            returned string begins with it.
        num_beams: 1 for greedy decoding, more for beam search.
        max_new_tokens: generation budget (default: up to the model's position limit).
        constrained: mask tokens the field-aware grammar forbids (the output always parses).

    Raises :class:`~lagnb.errors.TokenError` for unknown tokens in the input or prefix.
    """
    text = input_string(fields_or_input_string)
    return generate_batch(
        bundle,
        [text],
        prefixes=[prefix],
        num_beams=num_beams,
        max_new_tokens=max_new_tokens,
        constrained=constrained,
    )[0]


def _budget(bundle: Bundle, n_enc: int, n_dec: int, max_new_tokens: int | None) -> int:
    limit = bundle.max_positions
    if n_enc > limit:
        raise LagnbError(f"the field list is {n_enc} tokens; the model reads at most {limit}")
    budget = limit - n_dec
    if budget < 1:
        raise LagnbError(f"the prefix is {n_dec} tokens; the model writes at most {limit}")
    return budget if max_new_tokens is None else max(1, min(max_new_tokens, budget))


@torch.no_grad()
def generate_batch(
    bundle: Bundle,
    inputs: Sequence[str | Iterable[Field]],
    *,
    prefixes: Sequence[str | None] | None = None,
    num_beams: int = 1,
    max_new_tokens: int | None = None,
    constrained: bool = False,
    batch_size: int = 16,
    details: bool = False,
) -> list[str] | list[tuple[str, bool]]:
    """Generate for several field lists, ``batch_size`` at a time (unconstrained and without
    prefixes the rows of a batch are decoded together; otherwise one by one).

    With ``details`` each item is ``(text, finished)``, ``finished`` False when the output
    was cut by the token budget before ``[EOS]``."""
    tok, model = bundle.tokenizer, bundle.model
    texts = [input_string(x) for x in inputs]
    prefixes = list(prefixes) if prefixes is not None else [None] * len(texts)
    device = bundle.device
    start = _start_id(bundle)
    outs: list = []
    together = not constrained and not any(prefixes)
    step = batch_size if together else 1
    for a in range(0, len(texts), step):
        chunk = texts[a : a + step]
        encs = [encode_input(tok, t) for t in chunk]
        dec = [start]
        if prefixes[a]:
            dec += encode_target(tok, prefixes[a], eos=False)
        new = _budget(bundle, max(map(len, encs)), len(dec), max_new_tokens)
        width = max(map(len, encs))
        ids = torch.full((len(encs), width), tok.pad_token_id, dtype=torch.long)
        att = torch.zeros((len(encs), width), dtype=torch.long)
        for k, e in enumerate(encs):
            ids[k, : len(e)] = torch.tensor(e)
            att[k, : len(e)] = 1
        processors = LogitsProcessorList()
        if constrained:
            processors = _grammar_processors(bundle, chunk[0], dec, bool(prefixes[a]))
        out = model.generate(
            input_ids=ids.to(device),
            attention_mask=att.to(device),
            decoder_input_ids=torch.tensor([dec] * len(encs), device=device),
            max_length=len(dec) + new,
            num_beams=num_beams,
            do_sample=False,
            logits_processor=processors,
        )
        for row in out.tolist():
            text = decode(tok, row)
            finished = tok.eos_token_id in row[len(dec) :]
            outs.append((text, finished) if details else text)
    return outs


def _grammar_processors(bundle: Bundle, text: str, dec: list[int], has_prefix: bool):
    """The grammar mask for one row; after a prefix the grammar state is advanced over it."""
    from lagnb.ml.decoding import GrammarLogitsProcessor
    from lagnb.physics.grammar import Grammar

    grammar = Grammar(parse_fields(text))
    state = grammar.initial()
    if has_prefix:
        for pos, t in enumerate(bundle.tokenizer.convert_ids_to_tokens(dec[1:])):
            nxt = grammar.advance(state, t)
            if nxt is None:
                raise LagnbError(
                    f"prefix token {pos} {t!r} does not follow the token grammar for these "
                    "fields; constrained decoding needs a well-formed prefix"
                )
            state = nxt
    return LogitsProcessorList([GrammarLogitsProcessor(grammar, bundle.tokenizer, len(dec), state)])


def prediction_json(fields_or_input_string: str | Iterable[Field], text: str) -> dict:
    """A generated Lagrangian in the schema of ``lagnb lagrangian --json``, plus checks.

    Each term has ``kind``, ``fields``, ``derivatives``, ``hermitian_conjugate_added``,
    ``tokens`` (canonical: the engine's own tokens when the term equals an engine term or its
    conjugate, else ID labels renumbered by position), ``latex`` and ``check`` (``valid``,
    ``status``, ``reasons``, ``engine_term``: index of the equal engine term or ``null``).
    Malformed terms keep their raw tokens with ``kind`` ``null``.
    """
    from lagnb.physics.check import check_term
    from lagnb.physics.engine import as_fields, lagrangian
    from lagnb.physics.terms import Lagrangian
    from lagnb.physics.tokens import split_terms

    fields = as_fields(fields_or_input_string)
    engine = lagrangian(fields)
    names = engine.names
    terms = []
    for t in split_terms(text):
        c = check_term(fields, t)
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
