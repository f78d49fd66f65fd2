"""The BART-L token grammar: vocabulary, splitting a Lagrangian string into terms, and
parsing a term back into a structured :class:`~lagnb.physics.terms.Term`."""

from __future__ import annotations

from collections.abc import Sequence

from lagnb.errors import TokenError
from lagnb.physics.contractions import Atom
from lagnb.physics.fields import Field, parse_field_tokens, split_tokens
from lagnb.physics.groups import su3_conjugate, su3_slots
from lagnb.physics.terms import Commutator, Derivative, Factor, FieldFactor, SigmaBar, Term

SPECIAL_TOKENS = ("[PAD]", "[SOS]", "[EOS]", "[UNK]")
"""Padding, start, end and unknown (ids 0–3 in lagnb's tokenizer)."""

WORDS = (
    "FIELD",
    "SPIN",
    "HEL",
    "DAGGER",
    "DERIVATIVE",
    "SIGMA_BAR",
    "SU3",
    "SU2",
    "U1",
    "LORENTZ",
    "CONTRACTIONS",
    "COMMUTATOR_A",
    "COMMUTATOR_B",
)
SYMBOLS = ("i", "+", "-", "/")
DIGITS = tuple("0123456789")
IDS = tuple(f"ID{k}" for k in range(10))

VOCABULARY: tuple[str, ...] = SPECIAL_TOKENS + SYMBOLS + DIGITS + IDS + WORDS
"""Every token of the grammar, specials first (41 entries, like the released model's)."""

TERM_OPENERS = ("FIELD", "DERIVATIVE", "COMMUTATOR_A", "i")


def split_terms(text: str) -> list[str]:
    """Split a Lagrangian token string into its terms.

    A term starts at ``+`` or ``-`` followed by ``FIELD``, ``DERIVATIVE``, ``COMMUTATOR_A``
    or ``i`` (a ``-`` inside a hypercharge is followed by a digit).  ``[SOS]``/``[EOS]`` and
    padding are dropped.
    """
    toks = [t for t in split_tokens(text) if t not in SPECIAL_TOKENS]
    terms: list[list[str]] = []
    for k, tok in enumerate(toks):
        nxt = toks[k + 1] if k + 1 < len(toks) else None
        if tok in ("+", "-") and nxt in TERM_OPENERS:
            terms.append([tok])
        elif terms:
            terms[-1].append(tok)
        else:
            terms.append([tok])
    return [" ".join(t) for t in terms]


# -- parsing one term ------------------------------------------------------------------------------
_GROUP_KEYS = ("LORENTZ", "SU3", "SU2")


def parse_term(fields: Sequence[Field], text: str) -> Term:
    """Parse one term's tokens into a :class:`Term` whose factors refer to ``fields``.

    ID labels may be any of ID0–ID9 in any order (the public data uses random labels); they
    are renumbered by factor position.  A field is identified by its quantum numbers; fields
    with identical quantum numbers (flavours) are indistinguishable in the token format and
    map to the first one.  Index kinds of an adjoint (8) in a δ are read as opposite to its
    partner's, the first entry upper when both are adjoints.

    Raises :class:`TokenError` naming the token at fault.
    """
    toks = [t for t in split_tokens(text) if t not in SPECIAL_TOKENS]
    if not toks:
        raise TokenError("empty term")
    if toks[0] not in ("+", "-"):
        raise TokenError(f"a term starts with '+' or '-', got {toks[0]!r}")
    sign, pos = toks[0], 1
    imaginary = pos < len(toks) and toks[pos] == "i"
    pos += imaginary
    factors: list[Factor] = []
    labels: dict[str, int] = {}
    pending_derivative: list[int] = []

    def expect_id(p: int) -> int:
        if p >= len(toks) or toks[p] not in IDS:
            got = toks[p] if p < len(toks) else "end of term"
            raise TokenError(f"object {len(factors) + 1}: expected an ID label, got {got!r}")
        if toks[p] in labels:
            raise TokenError(f"label {toks[p]} is used by two objects")
        labels[toks[p]] = len(factors)
        return p + 1

    while pos < len(toks) and toks[pos] != "CONTRACTIONS":
        tok = toks[pos]
        if tok == "FIELD":
            f, conj, pos = parse_field_tokens(toks, pos, len(factors), allow_dagger=True)
            try:
                idx = list(fields).index(f)
            except ValueError:
                raise TokenError(
                    f"object {len(factors) + 1}: {f.describe()} is not in the field list"
                ) from None
            for k in pending_derivative:
                factors[k] = Derivative(idx)
            pending_derivative = []
            pos = expect_id(pos)
            factors.append(FieldFactor(idx, conj))
        elif tok == "DERIVATIVE":
            pos += 1
            while pos < len(toks) and toks[pos] in ("SU3", "SU2", "U1"):
                pos += 1
            pos = expect_id(pos)
            pending_derivative.append(len(factors))
            factors.append(Derivative(-1))
        elif tok == "SIGMA_BAR":
            pos = expect_id(pos + 1)
            factors.append(SigmaBar())
        elif tok in ("COMMUTATOR_A", "COMMUTATOR_B"):
            if toks[pos + 1 : pos + 2] != ["DERIVATIVE"] or pos + 2 >= len(toks):
                raise TokenError(f"{tok} must be followed by 'DERIVATIVE <group>'")
            group = toks[pos + 2]
            if group not in ("SU3", "SU2", "U1"):
                raise TokenError(f"{tok} DERIVATIVE: unknown gauge group {group!r}")
            pos = expect_id(pos + 3)
            factors.append(Commutator(tok[-1], group))
        else:
            raise TokenError(f"unexpected token {tok!r} at position {pos} (expected an object)")
    if pending_derivative:
        raise TokenError("a DERIVATIVE is not followed by the field it acts on")
    if pos >= len(toks):
        raise TokenError("missing CONTRACTIONS")
    if not factors:
        raise TokenError("a term needs at least one object")
    pos += 1
    raw: list[tuple[str, list[int]]] = []
    while pos < len(toks):
        group = toks[pos]
        if group not in _GROUP_KEYS:
            raise TokenError(f"unexpected token {group!r} in the contraction block")
        pos += 1
        members: list[int] = []
        while pos < len(toks) and toks[pos] in IDS:
            if toks[pos] not in labels:
                raise TokenError(f"contraction {group} names {toks[pos]}, which labels no object")
            members.append(labels[toks[pos]])
            pos += 1
        if len(members) < 2:
            raise TokenError(f"a {group} contraction joins at least two objects")
        raw.append((group, members))
    atoms = tuple(_atom(fields, factors, g, m) for g, m in raw)
    return Term(_kind(fields, factors), tuple(factors), atoms, True, sign, imaginary)


def _index_kinds(fields: Sequence[Field], factor: Factor, group: str) -> set[str]:
    """The index kinds an object offers to ``group``."""
    if not isinstance(factor, FieldFactor):
        return set()
    f = fields[factor.field]
    if group == "SU2":
        return {"u" if factor.conjugate else "d"} if f.su2 > 1 else set()
    p, q = su3_slots(su3_conjugate(f.su3) if factor.conjugate else f.su3)
    return ({"u"} if p else set()) | ({"d"} if q else set())


def _atom(fields: Sequence[Field], factors: list[Factor], group: str, members: list[int]) -> Atom:
    if group == "LORENTZ":
        return Atom(group, tuple((m, "") for m in members))
    offered = [_index_kinds(fields, factors[m], group) for m in members]
    fixed = [next(iter(o)) for o in offered if len(o) == 1]
    kinds = []
    for k, o in enumerate(offered):
        if len(o) == 1:
            kinds.append(next(iter(o)))
        elif not o:
            kinds.append("-")
        elif len(members) == 2:
            partner = offered[1 - k]
            kinds.append(("d" if "u" in partner else "u") if len(partner) == 1 else "ud"[k])
        else:
            kinds.append(fixed[0] if fixed else "u")
    entries = tuple(zip(members, kinds))
    if len(members) == 2 and set(kinds) == {"u", "d"}:
        entries = tuple(sorted(entries, key=lambda e: e[1] != "u"))
    return Atom(group, entries)


def _kind(fields: Sequence[Field], factors: list[Factor]) -> str:
    """The term kind read off its objects."""
    if any(isinstance(f, Commutator) for f in factors):
        return "gauge_kinetic"
    if any(isinstance(f, Derivative | SigmaBar) for f in factors):
        return "kinetic"
    ff = [f for f in factors if isinstance(f, FieldFactor)]
    n_s = sum(fields[f.field].is_scalar for f in ff)
    n_f = len(ff) - n_s
    return {
        (2, 0): "mass",
        (0, 2): "mass",
        (3, 0): "trilinear",
        (4, 0): "quartic",
        (1, 2): "yukawa",
    }.get((n_s, n_f), "other")


def canonical_term(fields: Sequence[Field], text: str) -> str:
    """A term's tokens with ID labels renumbered by position (label-invariant form)."""
    return parse_term(fields, text).tokens(fields)
