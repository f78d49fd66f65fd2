"""Lagrangian autocomplete: given fields and some terms, the model proposes the missing ones.

The partial Lagrangian is forced as the decoder's prefix (after ``[SOS]``), in the BART-L term
order (interactions, kinetic, gauge kinetic, mass), and the model continues it.  Decoding is
constrained by the token grammar (:mod:`lagnb.physics.grammar`), so every suggestion parses;
each one is then judged by the engine's term checker (:mod:`lagnb.physics.check`):

* ``valid`` — gauge and Lorentz invariant, renormalizable, non-zero;
* ``invalid`` — parses but fails a physics check (the reasons say which);
* ``malformed`` — does not parse (only without the grammar constraint);
* ``duplicate`` — the same operator as a term already present: equal canonical (label-
  invariant) tokens, or equal up to a constant to the same engine term.

The engine's exact Lagrangian tells which of its terms are still missing, before and after
the suggestions, for comparison.

Because the model writes terms in a fixed order, a prefix continues *after* its last term:
terms of an earlier section that are missing from the partial Lagrangian are usually not
proposed (the engine comparison lists them).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import LogitsProcessorList, StoppingCriteriaList

from lagnb.errors import LagnbError, TokenError
from lagnb.ml.decoding import GrammarLogitsProcessor, TermLimit
from lagnb.physics.check import TermCheck, check_term
from lagnb.physics.engine import as_fields, lagrangian
from lagnb.physics.fields import Field, default_names, fields_tokens, split_tokens
from lagnb.physics.grammar import Grammar, GrammarState
from lagnb.physics.terms import Commutator, Derivative, FieldFactor, SigmaBar, Term
from lagnb.physics.tokens import canonical_term, parse_term, split_terms

SECTION = {
    "yukawa": 0,
    "trilinear": 0,
    "quartic": 0,
    "other": 0,
    "kinetic": 1,
    "gauge_kinetic": 2,
    "mass": 3,
}
"""BART-L term order by section: interactions, kinetic, gauge kinetic, mass."""


# -- LaTeX and the engine's view -------------------------------------------------------------------
def term_latex(
    fields: Sequence[Field], term: Term | str, names: Sequence[str] | None = None
) -> str:
    """A term in LaTeX with its sign (no coupling constant); raises on a term that does not
    parse.  A term with field-strength pieces that is not [D,D][D,D] of one group is written
    factor by factor (its LaTeX as -¼ F F would hide what is wrong with it)."""
    t = parse_term(fields, term) if isinstance(term, str) else term
    names = list(names or default_names(fields))
    if t.kind == "gauge_kinetic" and not _field_strength_squared(t):
        return _plain_latex(t, names)
    try:
        body = t.latex(fields, names)
    except (AttributeError, IndexError, KeyError, StopIteration, AssertionError):
        # Term.latex expects the shapes the engine writes; show an ill-formed term plainly
        return _plain_latex(t, names)
    if t.kind == "gauge_kinetic":
        return body
    return f"{t.sign} {body}"


def _field_strength_squared(term: Term) -> bool:
    """True for [D_μ,D_ν][D^μ,D^ν] of one group, written A B A B as the engine does."""
    parts = [(f.part, f.group) for f in term.factors if isinstance(f, Commutator)]
    return (
        len(parts) == len(term.factors) == 4
        and [p for p, _ in parts] == list("ABAB")
        and len({g for _, g in parts}) == 1
    )


def _plain_latex(term: Term, names: Sequence[str]) -> str:
    """Factors in order, without indices: for terms whose shape the engine never writes."""
    parts = ["i\\," if term.imaginary else ""]
    for f in term.factors:
        if isinstance(f, FieldFactor):
            parts.append(names[f.field] + (r"^{\dagger}" if f.conjugate else ""))
        elif isinstance(f, Derivative):
            parts.append(r"D_{\mu}")
        elif isinstance(f, SigmaBar):
            parts.append(r"\bar{\sigma}^{\mu}")
        elif isinstance(f, Commutator):
            parts.append(rf"[D,D]^{{({f.part})}}_{{\mathrm{{{f.group}}}}}")
    return f"{term.sign} " + " ".join(p for p in parts if p)


@dataclass(frozen=True)
class EngineTerm:
    """One term of the engine's Lagrangian with h.c. written out, as in the BART-L target.

    ``index`` is the position in ``lagrangian(fields).terms``; ``conjugate`` marks the
    written-out hermitian conjugate of a non-hermitian operator.
    """

    index: int
    conjugate: bool
    kind: str
    tokens: str
    latex: str


def engine_terms(fields: str | Iterable[Field]) -> tuple[EngineTerm, ...]:
    """Every term of the exact Lagrangian, h.c. terms written out (the BART-L target order)."""
    fs = as_fields(fields)
    lag = lagrangian(fs)
    out = []
    for k, t in enumerate(lag.terms):
        for conj in (False, True) if not t.hermitian else (False,):
            tt = t.conjugate() if conj else t
            out.append(EngineTerm(k, conj, t.kind, tt.tokens(fs), term_latex(fs, tt)))
    return tuple(out)


def _key(check: TermCheck) -> tuple[int, bool] | None:
    """The engine term a checked term equals (up to a constant), if any."""
    if not check.valid or check.match is None:
        return None
    return (check.match, check.match_conjugate)


def missing_terms(
    fields: str | Iterable[Field], checks: Iterable[TermCheck]
) -> tuple[EngineTerm, ...]:
    """Engine terms that none of the checked terms equals (the exact completion)."""
    covered = {k for c in checks if (k := _key(c)) is not None}
    return tuple(e for e in engine_terms(fields) if (e.index, e.conjugate) not in covered)


# -- results ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Suggestion:
    """One proposed term and the engine's verdict on it.

    ``status`` is ``valid``, ``invalid``, ``malformed`` or ``duplicate``; ``duplicate_of`` is
    the position of the earlier term it repeats, counted over partial terms then suggestions.
    """

    tokens: str
    check: TermCheck
    status: str
    reason: str
    latex: str | None = None
    duplicate_of: int | None = None

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    @property
    def engine_term(self) -> tuple[int, bool] | None:
        """(index, conjugate) of the engine term this equals, if any."""
        return _key(self.check)


@dataclass(frozen=True)
class Completion:
    """The model's completion of a partial Lagrangian, checked against the engine."""

    fields: tuple[Field, ...]
    partial: tuple[str, ...]
    partial_checks: tuple[TermCheck, ...]
    suggestions: tuple[Suggestion, ...]
    missing_before: tuple[EngineTerm, ...]
    missing_after: tuple[EngineTerm, ...]
    generated: str
    truncated: bool
    seconds: float

    @property
    def new_valid(self) -> list[Suggestion]:
        """Valid, non-duplicate suggestions."""
        return [s for s in self.suggestions if s.valid]

    @property
    def recovered(self) -> int:
        """How many missing engine terms the suggestions supply."""
        return len(self.missing_before) - len(self.missing_after)

    def tokens(self, accepted: Iterable[int] | None = None) -> str:
        """The completed Lagrangian's tokens: partial terms plus the chosen suggestions
        (default: the valid ones)."""
        return " ".join(self.terms(accepted))

    def terms(self, accepted: Iterable[int] | None = None) -> list[str]:
        chosen = (
            [k for k, s in enumerate(self.suggestions) if s.valid]
            if accepted is None
            else list(accepted)
        )
        return [*self.partial, *(self.suggestions[k].tokens for k in chosen)]

    def summary(self) -> str:
        """Plain text: one line per suggestion, then the engine comparison."""
        rows = [
            f"{len(self.partial)} partial terms, {len(self.suggestions)} suggestions "
            f"({len(self.new_valid)} valid and new){' [truncated]' if self.truncated else ''}"
        ]
        for k, s in enumerate(self.suggestions, start=1):
            rows.append(f"{k:3d} {s.status:<9} {s.tokens}")
            rows.append(f"    {s.reason}")
        rows.append(
            f"engine: {len(self.missing_before)} terms missing before, "
            f"{len(self.missing_after)} after the valid suggestions"
        )
        rows += [f"    missing: {e.tokens}" for e in self.missing_after]
        return "\n".join(rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "fields": fields_tokens(self.fields),
            "partial": list(self.partial),
            "suggestions": [
                {
                    "tokens": s.tokens,
                    "status": s.status,
                    "reason": s.reason,
                    "latex": s.latex,
                    "duplicate_of": s.duplicate_of,
                    "engine_term": list(s.engine_term) if s.engine_term else None,
                }
                for s in self.suggestions
            ],
            "missing_before": [e.tokens for e in self.missing_before],
            "missing_after": [e.tokens for e in self.missing_after],
            "truncated": self.truncated,
            "seconds": self.seconds,
        }


# -- the partial Lagrangian ------------------------------------------------------------------------
def partial_terms(
    fields: Sequence[Field], partial: str | Iterable[str] | None, *, reorder: bool = True
) -> list[str]:
    """The partial Lagrangian as a list of term strings, each checked to parse, sorted into
    BART-L section order (stable) when ``reorder``.

    Raises :class:`TokenError` naming the partial term that does not parse.
    """
    if partial is None:
        return []
    chunks = [partial] if isinstance(partial, str) else list(partial)
    terms = [t for chunk in chunks for t in split_terms(chunk) if t.strip()]
    parsed = []
    for k, t in enumerate(terms, start=1):
        try:
            parsed.append(parse_term(fields, t))
        except LagnbError as exc:
            raise TokenError(f"partial term {k} does not parse: {exc}") from None
    text = [" ".join(split_tokens(t)) for t in terms]
    if not reorder:
        return text
    order = sorted(range(len(text)), key=lambda k: SECTION.get(parsed[k].kind, 0))
    return [text[k] for k in order]


def judge(
    fields: Sequence[Field], present: Sequence[str], candidates: Sequence[str]
) -> list[Suggestion]:
    """Check candidate terms against the engine and against the terms already present.

    A candidate that repeats a present term or an earlier candidate (same canonical tokens, or
    the same engine term up to a constant) is a ``duplicate``.
    """
    seen_canon: dict[str, int] = {}
    seen_key: dict[tuple[int, bool], int] = {}

    def remember(pos: int, text: str, check: TermCheck) -> None:
        if check.parses:
            seen_canon.setdefault(canonical_term(fields, text), pos)
        if (k := _key(check)) is not None:
            seen_key.setdefault(k, pos)

    for pos, text in enumerate(present):
        remember(pos, text, check_term(fields, text))
    out = []
    names = default_names(fields)
    for j, text in enumerate(candidates):
        pos = len(present) + j
        check = check_term(fields, text)
        latex = term_latex(fields, check.term, names) if check.term is not None else None
        dup = None
        if check.parses:
            canon = canonical_term(fields, text)
            if canon in seen_canon:
                dup, why = seen_canon[canon], "the same tokens (up to ID labels) as"
            elif (k := _key(check)) is not None and k in seen_key:
                dup, why = seen_key[k], "the same operator (up to a constant) as"
        if dup is not None:
            where = (
                f"partial term {dup + 1}"
                if dup < len(present)
                else f"suggestion {dup - len(present) + 1}"
            )
            out.append(
                Suggestion(text, check, "duplicate", f"Duplicate: {why} {where}.", latex, dup)
            )
        else:
            out.append(Suggestion(text, check, check.status, check.explain(), latex))
        remember(pos, text, check)
    return out


# -- models ----------------------------------------------------------------------------------------
def load_model_or_shipped(model_path: str | Path = "", device: str = "cpu") -> Any:
    """The model in ``model_path`` (relative paths from the repository root), or the model
    shipped with lagnb when ``model_path`` is empty — or missing, with a printed note, so that
    a notebook whose training run has not happened still runs.  No progress bars."""
    from lagnb.apps.teaching import load_model
    from lagnb.ml.model import shipped_model_path
    from lagnb.paths import resolve_path

    path = resolve_path(model_path) if str(model_path) else shipped_model_path()
    if str(model_path) and not (path / "config.json").is_file():
        print(f"no model at {model_path}: using the model shipped with lagnb instead")
        path = shipped_model_path()
    bundle = load_model(path)
    bundle.model.to(device)
    return bundle


# -- generation ------------------------------------------------------------------------------------
@contextmanager
def torch_threads(n: int | None):
    """Run the block with ``n`` intra-op CPU threads (``None``: leave as is), then restore.

    Decoding a small model token by token is fastest on one thread: the matrices are too small
    to split, and on a busy machine extra threads only wait for each other.
    """
    before = torch.get_num_threads()
    if n is not None and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _split_generated(
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
    bundle: Any,
    fields: Sequence[Field],
    prefix: Sequence[str] = (),
    *,
    max_terms: int | None = None,
    max_new_tokens: int | None = None,
    constrained: bool = True,
    num_beams: int = 1,
    min_terms: int = 0,
) -> tuple[list[str], str, bool]:
    """Let the model continue ``prefix`` (complete terms) for ``fields``.

    Returns (new terms, the raw generated token string, cut short by the length limit).
    """
    from lagnb.ml.tokenizer import decode, encode_input, encode_target

    tok, model = bundle.tokenizer, bundle.model
    enc = encode_input(tok, fields_tokens(fields))
    start_id = model.generation_config.decoder_start_token_id
    if start_id is None:
        start_id = model.config.decoder_start_token_id
    dec = [int(start_id)] + (encode_target(tok, " ".join(prefix), eos=False) if prefix else [])
    limit = int(model.config.max_position_embeddings)
    if len(enc) > limit:
        raise LagnbError(f"the field list is {len(enc)} tokens; the model reads at most {limit}")
    budget = limit - len(dec)
    if budget <= 1:
        raise LagnbError(
            f"the partial Lagrangian is {len(dec)} tokens; the model writes at most {limit}"
        )
    new = budget if max_new_tokens is None else min(max_new_tokens, budget)
    grammar = Grammar(fields)
    start = grammar.boundary() if prefix else grammar.initial()
    processors, stops = LogitsProcessorList(), StoppingCriteriaList()
    if constrained:
        proc = GrammarLogitsProcessor(grammar, tok, len(dec), start, min_terms)
        processors.append(proc)
        if max_terms is not None:
            stops.append(TermLimit(proc, max_terms))
    device = bundle.model.device
    with torch.no_grad():
        out = model.generate(
            input_ids=torch.tensor([enc], device=device),
            attention_mask=torch.ones(1, len(enc), dtype=torch.long, device=device),
            decoder_input_ids=torch.tensor([dec], device=device),
            max_length=len(dec) + new,
            num_beams=num_beams,
            do_sample=False,
            logits_processor=processors,
            stopping_criteria=stops,
        )
    new_ids = out[0, len(dec) :].tolist()
    text = decode(tok, new_ids)
    hit_eos = tok.eos_token_id in new_ids
    terms, cut = _split_generated(grammar, start, text.split(), max_terms, ended=hit_eos)
    return terms, text, cut


def complete(
    bundle: Any,
    fields: str | Iterable[Field],
    partial: str | Iterable[str] | None = None,
    *,
    max_terms: int | None = None,
    max_new_tokens: int | None = None,
    constrained: bool = True,
    reorder: bool = True,
    num_beams: int = 1,
    min_terms: int = 0,
) -> Completion:
    """Propose the terms missing from ``partial`` with the model in ``bundle``.

    Args:
        bundle: a :class:`lagnb.ml.model.Bundle` (model + tokenizer).
        fields: the field list (BART-L input string or :class:`Field` objects).
        partial: the terms present (a token string of several terms, or a list of terms).
        max_terms: stop after this many new terms (``None``: until the model ends); without
            the grammar constraint the output is cut after generation instead.
        max_new_tokens: token budget for the continuation (default: up to the model's limit).
        constrained: mask tokens the grammar forbids, so every suggestion parses.
        reorder: sort the partial terms into BART-L section order before forcing them.
        num_beams: beam width (greedy by default).
        min_terms: (constrained only) forbid ending before this many new terms, e.g. 1 to
            always get a proposal even when the model would call the Lagrangian complete.
    """
    t0 = time.perf_counter()
    fs = as_fields(fields)
    prefix = partial_terms(fs, partial, reorder=reorder)
    new, text, truncated = generate_terms(
        bundle,
        fs,
        prefix,
        max_terms=max_terms,
        max_new_tokens=max_new_tokens,
        constrained=constrained,
        num_beams=num_beams,
        min_terms=min_terms,
    )
    partial_checks = tuple(check_term(fs, t) for t in prefix)
    suggestions = tuple(judge(fs, prefix, new))
    before = missing_terms(fs, partial_checks)
    after = missing_terms(fs, [*partial_checks, *(s.check for s in suggestions if s.valid)])
    return Completion(
        fs,
        tuple(prefix),
        partial_checks,
        suggestions,
        before,
        after,
        text,
        truncated,
        time.perf_counter() - t0,
    )
