"""The term checker: is a given term gauge- and Lorentz-invariant, renormalizable, non-zero, and
which term of the engine's basis is it?

It works on tokens (e.g. a model's output) or on :class:`~lagnb.physics.terms.Term` objects, and
explains every failure in words a physicist reads: "U(1) charges add up to 2/3, not 0", "ε joins
two identical doublets and vanishes", …
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache
from itertools import permutations

import numpy as np

from lagnb.errors import LagnbError
from lagnb.physics.contractions import Atom, Evaluator, _rank_basis
from lagnb.physics.engine import (
    Monomial,
    as_fields,
    extra_symmetries,
    is_left_spinor,
    lagrangian_parsed,
    monomial_slots,
    object_rep,
)
from lagnb.physics.fields import Field
from lagnb.physics.groups import su2_slots, su3_slots
from lagnb.physics.terms import Commutator, Derivative, FieldFactor, SigmaBar, Term
from lagnb.physics.tokens import parse_term, split_terms


@dataclass(frozen=True)
class TermCheck:
    """The verdict on one term.

    ``valid`` = parses, gauge invariant, Lorentz invariant, renormalizable and not identically
    zero.  ``in_basis`` = it lies in the span of the engine's terms with the same fields (so it
    is a linear combination of them, up to relabelling and tensor identities); ``match`` = the
    index in ``lagrangian(fields).terms`` of the engine term it equals up to a constant (or the
    conjugate of that term, ``match_conjugate``).  ``repeats`` (only from
    :func:`certify_terms` with ``repeats=True``) = a valid term that the list holds already:
    not valid as a further term of the Lagrangian.
    """

    term: Term | None
    parses: bool = True
    gauge_invariant: bool = False
    lorentz_invariant: bool = False
    renormalizable: bool = False
    nonzero: bool = False
    in_basis: bool = False
    match: int | None = None
    match_conjugate: bool = False
    reasons: tuple[str, ...] = field(default_factory=tuple)
    repeats: bool = False

    @property
    def valid(self) -> bool:
        return (
            self.parses
            and self.gauge_invariant
            and self.lorentz_invariant
            and self.renormalizable
            and self.nonzero
            and not self.repeats
        )

    @property
    def engine_term(self) -> tuple[int, bool] | None:
        """(``match``, ``match_conjugate``) for a valid term that equals an engine term (up to a
        constant), else None."""
        if not self.valid or self.match is None:
            return None
        return (self.match, self.match_conjugate)

    @property
    def status(self) -> str:
        """One word: ``"valid"``, ``"invalid"`` or ``"malformed"`` (does not parse)."""
        return "malformed" if not self.parses else ("valid" if self.valid else "invalid")

    def explain(self) -> str:
        """A sentence or two on the verdict."""
        if self.valid:
            where = (
                f" It is term {self.match} of the engine's Lagrangian"
                + (" (its h.c.)" if self.match_conjugate else "")
                + "."
                if self.match is not None
                else " It is a combination of the engine's terms."
                if self.in_basis
                else ""
            )
            return "Valid: gauge and Lorentz invariant, renormalizable, non-zero." + where
        return "Invalid: " + "; ".join(self.reasons) + "."

    def to_json(self) -> dict[str, object]:
        """The verdict as JSON (the ``check`` entry of ``lagnb generate --json``, plus the
        explanation)."""
        return {
            "valid": self.valid,
            "status": self.status,
            "reasons": list(self.reasons),
            "engine_term": self.match,
            "engine_term_conjugate": self.match_conjugate,
            "explanation": self.explain(),
        }


def _name(fields: Sequence[Field], term: Term, pos: int) -> str:
    f = term.factors[pos]
    if isinstance(f, FieldFactor):
        base = fields[f.field].name or f"field {f.field + 1}"
        return f"ID{pos} ({base}{'†' if f.conjugate else ''})"
    return f"ID{pos}"


def _gauge_reasons(fields: Sequence[Field], term: Term) -> list[str]:
    reasons = []
    objs = [(k, f) for k, f in enumerate(term.factors) if isinstance(f, FieldFactor)]
    y = sum((object_rep(fields[f.field], f.conjugate)[2] for _, f in objs), Fraction(0))
    if y != 0:
        reasons.append(f"U(1) hypercharges add up to {y}, not 0")
    for sym in extra_symmetries(fields):
        total = sum(
            (fields[f.field].charge(sym) * (-1 if f.conjugate else 1) for _, f in objs),
            Fraction(0),
        )
        if sym.is_discrete and total % sym.order:
            reasons.append(
                f"Z_{sym.order} charges under {sym.name} add up to {total % sym.order} "
                f"mod {sym.order}, not 0"
            )
        elif not sym.is_discrete and total:
            reasons.append(f"{sym.describe()} charges add up to {total}, not 0")
    for group in ("SU3", "SU2"):
        need: dict[tuple[int, str], int] = {}
        for k, f in objs:
            su3, su2, _ = object_rep(fields[f.field], f.conjugate)
            if group == "SU3":
                p, q = su3_slots(su3)
                need[(k, "u")], need[(k, "d")] = p, q
            else:
                need[(k, "u" if f.conjugate else "d")] = su2_slots(su2)
        used: dict[tuple[int, str], int] = {}
        # a real scalar's SU(2) indices may be written upper (raised with ε)
        real = {k for k, f in objs if fields[f.field].real} if group == "SU2" else set()
        for atom in term.contractions:
            if atom.group != group:
                continue
            names = ", ".join(_name(fields, term, p) for p in atom.objects)
            kinds = [k for _, k in atom.entries]
            if "-" in kinds:
                reasons.append(f"{group} contraction of {names}: an object has no {group} index")
                continue
            size = 3 if group == "SU3" else 2
            if atom.tensor == "epsilon" and len(kinds) != size:
                reasons.append(
                    f"{group} contraction of {names}: {len(kinds)} indices of one kind need "
                    f"{'an ε with 3' if size == 3 else 'an ε with 2'}"
                )
            if atom.tensor == "delta" and len(kinds) != 2:
                reasons.append(f"{group} contraction of {names}: a δ joins exactly two indices")
            for entry in atom.entries:
                entry = (entry[0], "d") if entry[0] in real else entry
                used[entry] = used.get(entry, 0) + 1
        for key in sorted(set(need) | set(used)):
            if used.get(key, 0) != need.get(key, 0):
                n_need, n_used = need.get(key, 0), used.get(key, 0)
                reasons.append(
                    f"{_name(fields, term, key[0])} has {n_need} "
                    f"{'upper' if key[1] == 'u' else 'lower'} {group} "
                    f"ind{'ex' if n_need == 1 else 'ices'} but {n_used} "
                    f"{'is' if n_used == 1 else 'are'} contracted"
                )
    return reasons


def _lorentz_pairs(term: Term) -> list[frozenset[int]] | None:
    """The Lorentz atoms as sets of positions, or None if one joins more than two objects."""
    pairs = [frozenset(a.objects) for a in term.contractions if a.group == "LORENTZ"]
    return pairs if all(len(p) == 2 for p in pairs) else None


def _gauge_kinetic_reasons(term: Term) -> list[str]:
    parts = [(f.part, f.group) if isinstance(f, Commutator) else None for f in term.factors]
    groups = [g for _, g in parts] if None not in parts else []
    mixing = (
        len(groups) == 4
        and groups[0] == groups[1] != groups[2] == groups[3]
        and all(g.startswith("U1") for g in groups)
    )
    if mixing and [p for p, _ in parts] == list("ABAB"):
        pass  # kinetic mixing F_μν F′^μν of two Abelian groups
    elif None in parts or len(set(groups)) != 1 or [p for p, _ in parts] != list("ABAB"):
        return [
            "a gauge kinetic term is [D_μ,D_ν][D^μ,D^ν] of one group (A B A B), or of two "
            "Abelian groups (kinetic mixing)"
        ]
    pairs = _lorentz_pairs(term)
    if pairs is not None and any(p in (frozenset({0, 1}), frozenset({2, 3})) for p in pairs):
        return ["it contracts the two indices of one commutator: [D_μ, D^μ] = 0"]
    good = ({frozenset({0, 2}), frozenset({1, 3})}, {frozenset({0, 3}), frozenset({1, 2})})
    if pairs is None or len(pairs) != 2 or set(pairs) not in good:
        return ["the Lorentz indices of [D_μ,D_ν][D^μ,D^ν] must be paired across the commutators"]
    return []


def _kinetic_reasons(fields: Sequence[Field], term: Term) -> list[str]:
    objs = [f for f in term.factors if isinstance(f, FieldFactor)]
    shape = [type(f) for f in term.factors]
    scalar_ok = shape == [Derivative, FieldFactor, Derivative, FieldFactor]
    fermion_ok = shape == [FieldFactor, SigmaBar, Derivative, FieldFactor]
    if not (scalar_ok or fermion_ok) or len({f.field for f in objs}) != 1:
        return [
            "a term with derivatives must be a kinetic term (D φ)† (D φ) or ψ† σ̄ D ψ of one field"
        ]
    if objs[0].conjugate == objs[1].conjugate and not fields[objs[0].field].real:
        return ["a kinetic term joins a field with its conjugate"]
    if scalar_ok and fields[objs[0].field].is_fermion:
        return ["a fermion's kinetic term needs σ̄^μ"]
    if fermion_ok and fields[objs[0].field].is_scalar:
        return ["a scalar's kinetic term has two derivatives, not σ̄^μ"]
    pairs = _lorentz_pairs(term)
    if scalar_ok and pairs != [frozenset({0, 2})]:
        return ["the Lorentz indices of the two derivatives must be contracted with each other"]
    vector, spinor = frozenset({1, 2}), {frozenset({0, 1}), frozenset({1, 3})}
    # the spinor indices may be left implicit, but not half written: ψ† σ̄ with ψ's index free
    # is not a Lorentz scalar
    if fermion_ok and (
        pairs is None or vector not in pairs or set(pairs) - {vector} not in (set(), spinor)
    ):
        return ["σ̄^μ must carry the derivative's index and join ψ† to ψ"]
    return []


def _lorentz_reasons(fields: Sequence[Field], term: Term) -> list[str]:
    if any(isinstance(f, Commutator) for f in term.factors):
        return _gauge_kinetic_reasons(term)
    if any(isinstance(f, Derivative | SigmaBar) for f in term.factors):
        return _kinetic_reasons(fields, term)
    ferm = [
        k
        for k, f in enumerate(term.factors)
        if isinstance(f, FieldFactor) and fields[f.field].is_fermion
    ]
    if len(ferm) not in (0, 2):
        return [f"{len(ferm)} fermion fields cannot form a Lorentz scalar without derivatives"]
    pairs = _lorentz_pairs(term)
    if len(ferm) == 2:
        a, b = (term.factors[k] for k in ferm)
        if is_left_spinor(fields[a.field], a.conjugate) != is_left_spinor(
            fields[b.field], b.conjugate
        ):
            return [
                "a left-handed and a right-handed spinor cannot be contracted into a Lorentz "
                "scalar without σ^μ and a derivative"
            ]
        # the public data may leave the spinor ε implicit; if written it joins the two fermions
        if pairs is None or pairs not in ([], [frozenset(ferm)]):
            return ["the spinor indices must be contracted between the two fermions"]
    elif pairs:
        return ["scalars carry no Lorentz index to contract"]
    return []


def _dimension(fields: Sequence[Field], term: Term) -> Fraction:
    if any(isinstance(f, Commutator) for f in term.factors):
        return Fraction(4)
    dim = Fraction(0)
    for f in term.factors:
        if isinstance(f, FieldFactor):
            dim += Fraction(3, 2) if fields[f.field].is_fermion else 1
        elif isinstance(f, Derivative):
            dim += 1
    return dim


def sorted_form(term: Term) -> tuple[tuple[tuple[int, bool], ...], tuple[Atom, ...]]:
    """The term's monomial (sorted objects) and its gauge atoms moved to the sorted positions."""
    order = sorted(
        range(len(term.factors)),
        key=lambda k: (term.factors[k].field, term.factors[k].conjugate),  # type: ignore[union-attr]
    )
    new_pos = [0] * len(order)
    for new, old in enumerate(order):
        new_pos[old] = new
    atoms = tuple(sorted(a.moved(new_pos) for a in term.contractions if a.group != "LORENTZ"))
    return term.monomial, atoms


@lru_cache(maxsize=256)
def _engine_lagrangian(fields: tuple[Field, ...]):
    return lagrangian_parsed(fields)


def _basis_comparison(fields: tuple[Field, ...], term: Term) -> tuple[bool, bool, int | None, bool]:
    """(nonzero, in_basis, match, match_conjugate) for a derivative-free, gauge-valid term."""
    mono, atoms = sorted_form(term)
    # copies of a field with several generations are different flavours: distinct objects
    slots, _ = monomial_slots(fields, mono, distinct_copies=True)
    copies = _copy_permutations(fields, mono)
    ev = Evaluator(slots, 2 * len(mono) + 24 * len(copies), seed=7)
    v = ev(atoms)
    if np.abs(v).max(initial=0.0) < 1e-10:
        return False, False, None, False
    lag = _engine_lagrangian(fields)
    candidates: list[tuple[int, bool, np.ndarray]] = []
    for idx, t in enumerate(lag.terms):
        if t.kind in ("kinetic", "gauge_kinetic", "kinetic_mixing"):
            continue
        for conj in (False, True) if not t.hermitian else (False,):
            tt = t.conjugate(fields) if conj else t
            if tt.monomial == mono:
                form = sorted_form(tt)[1]
                for mapping in copies:  # the engine lists one flavour ordering of each
                    moved = tuple(sorted(a.moved(mapping) for a in form))
                    candidates.append((idx, conj, ev(moved)))
    if not candidates:
        return True, False, None, False
    basis = np.array([c[2] for c in candidates])
    in_basis = len(_rank_basis(np.vstack([basis, v]))) == len(_rank_basis(basis))
    for idx, conj, w in candidates:
        if len(_rank_basis(np.vstack([w, v]))) == 1:
            return True, True, idx, conj
    return True, in_basis, None, False


def _copy_permutations(fields: tuple[Field, ...], mono: Monomial) -> list[list[int]]:
    """Position maps permuting the copies of each flavoured object of a sorted monomial
    (the identity alone when no field with several generations repeats)."""
    maps = [list(range(len(mono)))]
    for obj in dict.fromkeys(mono):
        pos = [k for k, o in enumerate(mono) if o == obj]
        if fields[obj[0]].generations == 1 or len(pos) < 2:
            continue
        new = []
        for m in maps:
            for perm in permutations(pos):
                m2 = list(m)
                for a, b in zip(pos, perm):
                    m2[a] = m[b]
                new.append(m2)
        maps = new
    return maps


def _kinetic_match(fields: tuple[Field, ...], term: Term) -> tuple[bool, int | None]:
    """Kinetic and gauge kinetic terms match the engine's by factors and contractions."""

    def key(t: Term) -> object:
        # the Lorentz pairing of a (valid) gauge kinetic term only fixes its sign
        if t.kind in ("gauge_kinetic", "kinetic_mixing"):
            return t.factors
        return t.factors, sorted(t.contractions)

    for idx, t in enumerate(_engine_lagrangian(fields).terms):
        gauge = {"gauge_kinetic", "kinetic_mixing"}
        if (t.kind == term.kind or {t.kind, term.kind} <= gauge) and key(t) == key(term):
            return True, idx
    return False, None


def check_term(fields: str | Iterable[Field], term: Term | str) -> TermCheck:
    """Check one term (tokens or a :class:`Term`) against a field list.

    Never raises on a bad term: a term that does not parse comes back with ``parses=False``
    and the parser's message as the reason.  Bad *fields* raise :class:`LagnbError`.
    """
    return check_parsed(as_fields(fields), term)


def check_parsed(fs: tuple[Field, ...], term: Term | str) -> TermCheck:
    """:func:`check_term` against a field list already parsed by
    :func:`~lagnb.physics.engine.as_fields` (a non-empty tuple of Fields): for callers inside
    lagnb that hold one."""
    if isinstance(term, str):
        try:
            term = parse_term(fs, term)
        except LagnbError as exc:
            return TermCheck(None, parses=False, reasons=(f"does not parse: {exc}",))
    gauge = _gauge_reasons(fs, term)
    lorentz = _lorentz_reasons(fs, term)
    dim = _dimension(fs, term)
    reasons = gauge + lorentz
    if dim > 4:
        reasons.append(f"mass dimension {dim} > 4: not renormalizable")
    check = dict(
        term=term,
        gauge_invariant=not gauge,
        lorentz_invariant=not lorentz,
        renormalizable=dim <= 4,
    )
    if gauge or lorentz or dim > 4:
        return TermCheck(**check, reasons=tuple(reasons))  # type: ignore[arg-type]
    if term.kind in ("kinetic", "gauge_kinetic", "kinetic_mixing"):
        found, idx = _kinetic_match(fs, term)
        if not found and term.kind == "gauge_kinetic":
            reasons.append("no field is charged under this group (the engine omits its F²)")
        elif not found:
            reasons.append("the index structure differs from the engine's kinetic term")
        return TermCheck(
            **check,
            nonzero=True,
            in_basis=found,
            match=idx,  # type: ignore[arg-type]
            reasons=tuple(reasons),
        )
    nonzero, in_basis, idx, conj = _basis_comparison(fs, term)
    if not nonzero:
        reasons.append(
            "the contraction vanishes identically (e.g. an ε antisymmetric in two identical "
            "bosons, or a gauge contraction antisymmetric in two identical Weyl fermions)"
        )
    elif not in_basis:
        reasons.append("not in the span of the engine's terms with these fields")
    return TermCheck(
        **check,  # type: ignore[arg-type]
        nonzero=nonzero,
        in_basis=in_basis,
        match=idx,
        match_conjugate=conj,
        reasons=tuple(reasons),
    )


def check_lagrangian(fields: str | Iterable[Field], text: str) -> list[TermCheck]:
    """Check every term of a Lagrangian token string (e.g. a model's output)."""
    return check_lagrangian_parsed(as_fields(fields), text)


def check_lagrangian_parsed(fs: tuple[Field, ...], text: str) -> list[TermCheck]:
    """:func:`check_lagrangian` against an already parsed field list (see :func:`check_parsed`)."""
    return [check_parsed(fs, t) for t in split_terms(text)]


# -- certification: keep the terms the checker accepts, drop the others ----------------------------
@dataclass(frozen=True)
class DroppedTerm:
    """A term the checker rejected (``invalid`` or ``malformed``) and was left out."""

    tokens: str
    check: TermCheck

    @property
    def status(self) -> str:
        """``"invalid"`` or ``"malformed"``."""
        return self.check.status

    @property
    def reason(self) -> str:
        """The checker's first reason."""
        return self.check.reasons[0] if self.check.reasons else self.check.status

    def to_json(self) -> dict[str, object]:
        return {
            "tokens": self.tokens,
            "status": self.status,
            "reason": self.reason,
            "reasons": list(self.check.reasons),
        }


@dataclass(frozen=True)
class Certification:
    """Candidate terms (e.g. generated ones) with the checker's verdict on each: the one
    judgement behind certified generation (:mod:`lagnb.ml.generate`) and the autocomplete
    (:func:`lagnb.apps.autocomplete.judge`)."""

    terms: tuple[str, ...]
    checks: tuple[TermCheck, ...]

    @property
    def order(self) -> list[int]:
        """Positions of the terms the checker accepts, in order, then of those it rejects."""
        return sorted(range(len(self.terms)), key=lambda j: not self.checks[j].valid)

    @property
    def kept(self) -> tuple[str, ...]:
        """The certified terms (valid: gauge and Lorentz invariant, renormalizable, non-zero),
        in order."""
        return tuple(t for t, c in zip(self.terms, self.checks) if c.valid)

    @property
    def dropped(self) -> tuple[DroppedTerm, ...]:
        """The rejected terms (invalid or malformed), in order, with the checker's verdict."""
        return tuple(DroppedTerm(t, c) for t, c in zip(self.terms, self.checks) if not c.valid)

    @property
    def validity(self) -> float:
        """The fraction of the terms the checker accepts (NaN for no terms)."""
        n = len(self.terms)
        return len(self.kept) / n if n else float("nan")


def _safe_check(fs: tuple[Field, ...], term: str) -> TermCheck:
    try:
        return check_parsed(fs, term)
    except LagnbError as exc:  # a term that parses yet trips a later step: not certifiable
        return TermCheck(None, parses=False, reasons=(f"does not parse: {exc}",))


REPEAT_REASON = (
    "it repeats a term written before (the same operator up to a constant): a Lagrangian holds "
    "each independent term once"
)


def certify_terms(
    fs: tuple[Field, ...],
    terms: Iterable[str],
    *,
    repeats: bool = False,
    before: Iterable[tuple[int, bool]] = (),
) -> Certification:
    """Judge candidate terms with the checker against the parsed field list ``fs``
    (:func:`~lagnb.physics.engine.as_fields`): which to keep, which to drop and why.  Never
    raises on a bad term.

    With ``repeats`` (certified generation) the terms are candidates for one Lagrangian: a
    valid term equal to an engine term already written — among ``before`` (engine-term keys of
    the terms before the candidates) or an earlier candidate — is rejected too
    (:data:`REPEAT_REASON`).  Not where two fields are identical: BART-L spells them the same,
    so the engine's own Lagrangian repeats terms (two Higgs doublets' quartics)."""
    terms = tuple(terms)
    checks = [_safe_check(fs, t) for t in terms]
    if repeats and len({tuple(f.tokens(False)) for f in fs}) == len(fs):
        seen = set(before)
        for j, ch in enumerate(checks):
            if (k := ch.engine_term) is None:
                continue
            if k in seen:
                checks[j] = replace(ch, repeats=True, reasons=(*ch.reasons, REPEAT_REASON))
            seen.add(k)
    return Certification(terms, tuple(checks))
