"""Lagrangian autocomplete: given fields and some terms, the model proposes the missing ones.

The partial Lagrangian is forced as the decoder's prefix (after ``[SOS]``), in the BART-L term
order (interactions, kinetic, gauge kinetic, mass), and the model continues it.  Decoding is
constrained by the token grammar (:mod:`lagnb.physics.grammar`), so every suggestion parses;
each one is then judged by the engine's term checker (:mod:`lagnb.physics.check`):

* ``valid`` — gauge and Lorentz invariant, renormalizable, non-zero;
* ``invalid`` — parses but fails a physics check (the reasons say which);
* ``malformed`` — does not parse (only without the grammar constraint);
* ``duplicate`` — a valid term, but the same operator as a term already present: equal
  canonical (label-invariant) tokens, or equal up to a constant to the same engine term.

Only ``valid`` suggestions can be accepted.  Those the checker rejects (invalid, malformed) are
dropped and counted, or — with ``show_rejected`` — listed after the others.  The user's own
partial terms get the checker's verdict too (:attr:`Completion.partial_checks`).

The engine's exact Lagrangian tells which of its terms are still missing, before and after
the suggestions, for comparison.

Because the model writes terms in a fixed order, a prefix continues *after* its last term:
terms of an earlier section that are missing from the partial Lagrangian are not what it
continues with.  So, after the continuation, the model's best *first* terms are searched too
(:func:`lagnb.ml.generate.first_terms`, as certified generation does): those the checker
certifies as engine terms that neither the partial Lagrangian nor the suggestions hold are
offered after the continuation's (``Completion.added``).  The engine comparison lists what
is still missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from lagnb.errors import LagnbError, TokenError
from lagnb.ml.generate import ALTERNATIVES, first_terms, generate_terms_parsed
from lagnb.ml.model import Bundle, load_bundle, model_dir
from lagnb.physics.check import TermCheck, certify_terms, check_parsed
from lagnb.physics.engine import as_fields, lagrangian_parsed
from lagnb.physics.fields import Field, default_names, fields_tokens, split_tokens
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


def engine_terms(fields: tuple[Field, ...]) -> tuple[EngineTerm, ...]:
    """Every term of the exact Lagrangian of ``fields`` (a field list parsed by
    :func:`~lagnb.physics.engine.as_fields`), h.c. terms written out (the BART-L target
    order)."""
    lag = lagrangian_parsed(fields)
    out = []
    for k, t in enumerate(lag.terms):
        for conj in (False, True) if not t.hermitian else (False,):
            tt = t.conjugate() if conj else t
            out.append(EngineTerm(k, conj, t.kind, tt.tokens(fields), term_latex(fields, tt)))
    return tuple(out)


def missing_terms(fields: tuple[Field, ...], checks: Iterable[TermCheck]) -> tuple[EngineTerm, ...]:
    """Engine terms that none of the checked terms equals (the exact completion); ``fields``
    is the parsed field list the terms were checked against."""
    covered = {k for c in checks if (k := c.engine_term) is not None}
    return tuple(e for e in engine_terms(fields) if (e.index, e.conjugate) not in covered)


# -- results ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Suggestion:
    """One proposed term and the engine's verdict on it.

    ``status`` is ``valid``, ``invalid``, ``malformed`` or ``duplicate`` (a valid term that
    repeats one already there); ``duplicate_of`` is the position of the earlier term it
    repeats, counted over partial terms then suggestions.  Only a ``valid`` suggestion can be
    accepted.
    """

    tokens: str
    check: TermCheck
    status: str
    reason: str
    latex: str | None = None
    duplicate_of: int | None = None

    @property
    def valid(self) -> bool:
        """Valid and new: the only suggestions that may join the Lagrangian."""
        return self.status == "valid"

    @property
    def rejected(self) -> bool:
        """The term checker rejects it (``invalid`` or ``malformed``)."""
        return not self.check.valid

    @property
    def engine_term(self) -> tuple[int, bool] | None:
        """(index, conjugate) of the engine term this equals, if any."""
        return self.check.engine_term

    def to_json(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens,
            "status": self.status,
            "reason": self.reason,
            "latex": self.latex,
            "duplicate_of": self.duplicate_of,
            "engine_term": list(self.engine_term) if self.engine_term else None,
        }


@dataclass(frozen=True)
class Completion:
    """Suggestions for a partial Lagrangian, checked against the engine.

    ``partial_checks`` are the checker's verdicts on the partial terms (the user's own terms
    can be wrong too).  ``suggestions`` lists the valid and duplicate suggestions first (in the
    model's order), then — only when asked for — the ones the checker rejects; ``dropped``
    holds the rejected suggestions that were left out.  ``added`` holds the suggestions found
    among the model's best first terms (:func:`lagnb.ml.generate.first_terms`), which follow
    the continuation's.
    """

    fields: tuple[Field, ...]
    partial: tuple[str, ...]
    partial_checks: tuple[TermCheck, ...]
    suggestions: tuple[Suggestion, ...]
    missing_before: tuple[EngineTerm, ...]
    missing_after: tuple[EngineTerm, ...]
    generated: str = ""
    truncated: bool = False
    seconds: float = 0.0
    dropped: tuple[Suggestion, ...] = ()
    added: tuple[str, ...] = ()

    @property
    def new_valid(self) -> list[Suggestion]:
        """Valid, non-duplicate suggestions."""
        return [s for s in self.suggestions if s.valid]

    @property
    def invalid_partial(self) -> list[int]:
        """Positions of the partial terms the checker rejects."""
        return [k for k, c in enumerate(self.partial_checks) if not c.valid]

    @property
    def recovered(self) -> int:
        """How many missing engine terms the suggestions supply."""
        return len(self.missing_before) - len(self.missing_after)

    def tokens(self, accepted: Iterable[int] | None = None) -> str:
        """The completed Lagrangian's tokens: partial terms plus the chosen suggestions
        (default: the valid ones)."""
        return " ".join(self.terms(accepted))

    def terms(self, accepted: Iterable[int] | None = None) -> list[str]:
        """The partial terms plus the suggestions at positions ``accepted`` (default: every
        valid one); raises :class:`LagnbError` for a suggestion that is not valid and new."""
        chosen = (
            [k for k, s in enumerate(self.suggestions) if s.valid]
            if accepted is None
            else list(accepted)
        )
        for k in chosen:
            if not 0 <= k < len(self.suggestions):
                raise LagnbError(
                    f"suggestion {k + 1} does not exist: there are {len(self.suggestions)}"
                )
            s = self.suggestions[k]
            if not s.valid:
                raise LagnbError(f"suggestion {k + 1} cannot be accepted: {s.reason}")
        return [*self.partial, *(self.suggestions[k].tokens for k in chosen)]

    def summary(self) -> str:
        """Plain text: the verdict on each partial term, one entry per suggestion, then the
        engine comparison."""
        n, bad, dropped = len(self.partial), len(self.invalid_partial), len(self.dropped)
        head = f"{n} partial term{'' if n == 1 else 's'}"
        rows = [
            head
            + (f", {bad} rejected by the term checker:" if bad else ", all valid:" if n else "")
        ]
        for k, (t, c) in enumerate(zip(self.partial, self.partial_checks, strict=True), 1):
            rows.append(f"  p{k:<2} {c.status:<9} {t}")
            rows.append(f"      {c.explain()}")
        k = len(self.suggestions)
        rows.append(
            f"{k} suggestion{'' if k == 1 else 's'} ({len(self.new_valid)} valid and new)"
            + (
                f"; {dropped} invalid suggestion{'' if dropped == 1 else 's'} dropped "
                "(show them with show_rejected=True, or --show-rejected)"
                if dropped
                else ""
            )
            + (" [truncated]" if self.truncated else "")
            + (
                f"; the last {len(self.added)} from the model's best first terms"
                if self.added
                else ""
            )
        )
        for k, s in enumerate(self.suggestions, start=1):
            rows.append(f"  {k:<3} {s.status:<9} {s.tokens}")
            rows.append(f"      {s.reason}")
        before = len(self.missing_before)
        rows.append(
            f"engine: {before} term{'' if before == 1 else 's'} missing before, "
            f"{len(self.missing_after)} after the valid suggestions"
        )
        rows += [f"    missing: {e.tokens}" for e in self.missing_after]
        return "\n".join(rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "fields": fields_tokens(self.fields),
            "partial": list(self.partial),
            "partial_checks": [c.to_json() for c in self.partial_checks],
            "suggestions": [s.to_json() for s in self.suggestions],
            "dropped": len(self.dropped),
            "added": list(self.added),
            "missing_before": [e.tokens for e in self.missing_before],
            "missing_after": [e.tokens for e in self.missing_after],
            "truncated": self.truncated,
            "seconds": self.seconds,
        }


# -- the partial Lagrangian ------------------------------------------------------------------------
def partial_terms(
    fields: tuple[Field, ...], partial: str | Iterable[str] | None, *, reorder: bool = True
) -> list[str]:
    """The partial Lagrangian as a list of term strings, each checked to parse against the
    parsed field list ``fields``, sorted into BART-L section order (stable) when ``reorder``.

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
    fields: tuple[Field, ...],
    present: Sequence[str],
    candidates: Sequence[str],
    *,
    present_checks: Sequence[TermCheck] | None = None,
) -> list[Suggestion]:
    """Check candidate terms with the term checker and against the terms already present, for
    the parsed field list ``fields``.

    The checker's verdicts come from :func:`~lagnb.physics.check.certify_terms`, the same
    judgement that certified generation (:func:`lagnb.ml.generate.generate`) drops terms by.
    A valid candidate that repeats a present term or an earlier candidate (same canonical
    tokens, or the same engine term up to a constant) is a ``duplicate``.  The result lists the
    candidates the checker accepts (valid and duplicate) first, in the given order, then those
    it rejects (invalid, malformed); ``duplicate_of`` counts positions in that order.
    ``present_checks``: the verdicts on ``present``, if already known.
    """
    seen_canon: dict[str, int] = {}
    seen_key: dict[tuple[int, bool], int] = {}

    def remember(pos: int, text: str, check: TermCheck) -> None:
        if check.parses:
            seen_canon.setdefault(canonical_term(fields, text), pos)
        if (k := check.engine_term) is not None:
            seen_key.setdefault(k, pos)

    if present_checks is None:
        present_checks = [check_parsed(fields, t) for t in present]
    for pos, (text, check) in enumerate(zip(present, present_checks, strict=True)):
        remember(pos, text, check)
    cert = certify_terms(fields, candidates)  # the one keep-or-drop judgement (also generate's)
    checks, order = cert.checks, cert.order
    out = []
    names = default_names(fields)
    for j in order:
        text, check = candidates[j], checks[j]
        pos = len(present) + len(out)
        latex = term_latex(fields, check.term, names) if check.term is not None else None
        if not check.valid:
            out.append(Suggestion(text, check, check.status, check.explain(), latex))
            continue
        dup = None
        canon = canonical_term(fields, text)
        if canon in seen_canon:
            dup, why = seen_canon[canon], "the same tokens (up to ID labels) as"
        elif (k := check.engine_term) is not None and k in seen_key:
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


def assess(
    fields: tuple[Field, ...],
    partial: str | Iterable[str] | None,
    candidates: Sequence[str],
    *,
    show_rejected: bool = False,
    reorder: bool = True,
    generated: str | None = None,
    truncated: bool = False,
    seconds: float = 0.0,
) -> Completion:
    """Judge candidate terms for a partial Lagrangian, without a model: the checker's verdict on
    every partial term and candidate, duplicates, and the engine's missing terms before and
    after the valid candidates.  Candidates the checker rejects are left out (counted in
    ``dropped``) unless ``show_rejected``; then they are listed after the others.  ``fields``
    is the parsed field list (:func:`~lagnb.physics.engine.as_fields`).

    Raises :class:`TokenError` naming a partial term that does not parse.
    """
    prefix = partial_terms(fields, partial, reorder=reorder)
    partial_checks = tuple(check_parsed(fields, t) for t in prefix)
    judged = judge(fields, prefix, candidates, present_checks=partial_checks)
    rejected = tuple(s for s in judged if s.rejected)
    shown = tuple(judged) if show_rejected else tuple(s for s in judged if not s.rejected)
    before = missing_terms(fields, partial_checks)
    after = missing_terms(fields, [*partial_checks, *(s.check for s in shown if s.valid)])
    return Completion(
        fields,
        tuple(prefix),
        partial_checks,
        shown,
        before,
        after,
        " ".join(candidates) if generated is None else generated,
        truncated,
        seconds,
        () if show_rejected else rejected,
    )


# -- models ----------------------------------------------------------------------------------------
def load_model_or_shipped(model_path: str | Path = "", device: str = "cpu") -> Bundle:
    """The model in ``model_path`` (see :func:`lagnb.ml.model.model_dir`), or the model
    shipped with lagnb when ``model_path`` is empty — or missing, with a printed note, so that
    a notebook whose training run has not happened still runs."""
    path = model_dir(model_path)
    if str(model_path) and not (path / "config.json").is_file():
        print(f"no model at {model_path}: using the model shipped with lagnb instead")
        path = None
    return load_bundle(path, device=device)


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
    show_rejected: bool = False,
    alternatives: int = ALTERNATIVES,
) -> Completion:
    """Propose the terms missing from ``partial`` with the model in ``bundle``; every partial
    term and every suggestion gets the term checker's verdict (see :func:`assess`).

    Args:
        bundle: a :class:`lagnb.ml.model.Bundle` (model + tokenizer).
        fields: the field list (BART-L input string or :class:`Field` objects).
        partial: the terms present (a token string of several terms, or a list of terms).
        max_terms: propose at most this many terms (``None``: until the model ends); without
            the grammar constraint the output is cut after generation instead.
        max_new_tokens: token budget for the continuation (default: up to the model's limit).
        constrained: mask tokens the grammar forbids, so every suggestion parses.
        reorder: sort the partial terms into BART-L section order before forcing them.
        num_beams: beam width (greedy by default).
        min_terms: (constrained only) forbid ending before this many new terms, e.g. 1 to
            always get a proposal even when the model would call the Lagrangian complete.
        show_rejected: keep the suggestions the term checker rejects (listed after the others,
            marked invalid); by default they are dropped and only counted.
        alternatives: (constrained only) after the continuation, search the model's this many
            best first terms, then its best next terms after those found, and its best first
            terms led by each field (and after those), for terms the checker
            certifies as engine terms that the partial Lagrangian and the suggestions lack
            (:func:`lagnb.ml.generate.first_terms`); they are offered after the
            continuation's suggestions, within ``max_terms``.  0: no search.
    """
    return complete_parsed(
        bundle,
        as_fields(fields),
        partial,
        max_terms=max_terms,
        max_new_tokens=max_new_tokens,
        constrained=constrained,
        reorder=reorder,
        num_beams=num_beams,
        min_terms=min_terms,
        show_rejected=show_rejected,
        alternatives=alternatives,
    )


def complete_parsed(
    bundle: Any,
    fields: tuple[Field, ...],
    partial: str | Iterable[str] | None = None,
    *,
    max_terms: int | None = None,
    max_new_tokens: int | None = None,
    constrained: bool = True,
    reorder: bool = True,
    num_beams: int = 1,
    min_terms: int = 0,
    show_rejected: bool = False,
    alternatives: int = ALTERNATIVES,
) -> Completion:
    """:func:`complete` for a field list already parsed by
    :func:`~lagnb.physics.engine.as_fields` (a non-empty tuple of Fields): for the CLI and the
    widgets, which parse their input once."""
    t0 = time.perf_counter()
    prefix = partial_terms(fields, partial, reorder=reorder)
    new, text, truncated = generate_terms_parsed(
        bundle,
        fields,
        prefix,
        max_terms=max_terms,
        max_new_tokens=max_new_tokens,
        constrained=constrained,
        num_beams=num_beams,
        min_terms=min_terms,
        certified=False,  # judged below with the same checker, duplicates and engine view too
    )
    c = assess(
        fields,
        prefix,
        new,
        show_rejected=show_rejected,
        reorder=False,
        generated=text,
        truncated=truncated,
    )
    # the checker's rejects were not proposed: the search may take their room
    room = None if max_terms is None else max_terms - sum(not s.rejected for s in c.suggestions)
    if constrained and alternatives and (room is None or room > 0):
        written = [*c.partial_checks, *(s.check for s in c.suggestions if s.valid)]
        keys = [k for ch in written if (k := ch.engine_term) is not None]
        added = first_terms(bundle, fields, keys, alternatives)[:room]
        if added:
            c = assess(
                fields,
                prefix,
                [*new, *added],
                show_rejected=show_rejected,
                reorder=False,
                generated=text,
                truncated=truncated,
            )
            c = replace(c, added=tuple(added))
    return replace(c, seconds=time.perf_counter() - t0)
