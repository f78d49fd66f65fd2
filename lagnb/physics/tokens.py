"""The BART-L token grammar: vocabulary, splitting a Lagrangian string into terms, and
parsing a term — first into its structure (objects, labels, contractions; no field list
needed), then into a :class:`~lagnb.physics.terms.Term` over a field list.

A term is written::

    term     := SIGN ["i"] object+ "CONTRACTIONS" (GROUP ID ID+)*
    object   := field ID | "DERIVATIVE" [SU3] [SU2] [U1] ID | "SIGMA_BAR" ID
              | ("COMMUTATOR_A" | "COMMUTATOR_B") "DERIVATIVE" GAUGE ID
    field    := "FIELD" "SPIN" n ["SU3" n] ["SU2" n] ["U1" n] ["HEL" n] ["DAGGER"]

with SIGN ``+``/``-``, GROUP ``LORENTZ``/``SU3``/``SU2``, GAUGE ``SU3``/``SU2``/``U1`` and ID
one of ``ID0``–``ID9``, fresh within the term.  :func:`parse_structure` is the one reader of
this grammar; :func:`parse_term` adds what needs the field list, and the token-by-token state
machine for decoding (:mod:`lagnb.physics.grammar`) uses the constants defined here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from lagnb.errors import TokenError
from lagnb.physics.contractions import Atom
from lagnb.physics.fields import Field, parse_field_tokens, split_tokens
from lagnb.physics.groups import GROUPS, su3_conjugate, su3_slots
from lagnb.physics.terms import (
    Commutator,
    Derivative,
    Factor,
    FieldFactor,
    SigmaBar,
    Term,
    charged_groups,
)

SPECIAL_TOKENS = ("[PAD]", "[SOS]", "[EOS]", "[UNK]")
"""Padding, start, end and unknown (ids 0–3 in lagnb's tokenizer)."""
EOS = "[EOS]"

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

SIGNS = ("+", "-")
"""A term's first token."""
GAUGE_GROUPS = GROUPS
"""The gauge groups a ``DERIVATIVE`` lists (in this order) and a commutator names."""
EXTRA_GAUGE_PREFIX = "U1:"
"""A gauged U(1)′ named X is the group ``U1:X`` in DERIVATIVE and COMMUTATOR tokens (an
extension beyond BART-L, see :mod:`lagnb.physics.symmetries`)."""
CONTRACTION_GROUPS = ("LORENTZ", "SU3", "SU2")
"""The index groups of the ``CONTRACTIONS`` block."""
COMMUTATORS = ("COMMUTATOR_A", "COMMUTATOR_B")
TERM_OPENERS = ("FIELD", "DERIVATIVE", "COMMUTATOR_A", "i")

MAX_FIELD_REFS = 16
"""How many input fields the compact target spelling can name (``F0``–``F15``).

The BART-L data has at most six fields in distribution and lagnb's out-of-distribution sets
add two (the catalogue's largest model has seven), so sixteen leaves room; a field list whose
distinct fields go beyond it cannot be written in the compact spelling."""
FIELD_REFS: tuple[str, ...] = tuple(f"F{k}" for k in range(MAX_FIELD_REFS))
"""The compact spelling's field references: ``F<k>`` stands for the input field number ``k``
(0-based), written as :meth:`~lagnb.physics.fields.Field.tokens` spells it.  Not BART-L: only
a model trained on compact targets writes them (see :mod:`lagnb.ml.targets`)."""


def field_ref_index(tok: str) -> int | None:
    """The field number of a field reference ``F<k>`` (``k`` any decimal number, also beyond
    :data:`FIELD_REFS`); ``None`` for any other token."""
    if len(tok) > 1 and tok[0] == "F" and tok[1:].isascii() and tok[1:].isdigit():
        return int(tok[1:])
    return None


def starts_term(tok: str, nxt: str | None) -> bool:
    """True when ``tok`` followed by ``nxt`` begins a term: a sign before a term opener (or
    before a compact field reference ``F<k>``, so that a reference left in unconverted model
    output still begins its own term)."""
    return (
        tok in SIGNS
        and nxt is not None
        and (nxt in TERM_OPENERS or field_ref_index(nxt) is not None)
    )


def split_terms(text: str) -> list[str]:
    """Split a Lagrangian token string into its terms.

    A term starts at ``+`` or ``-`` followed by ``FIELD``, ``DERIVATIVE``, ``COMMUTATOR_A``
    or ``i`` (a ``-`` inside a hypercharge is followed by a digit), see :func:`starts_term`.
    ``[SOS]``/``[EOS]`` and padding are dropped.
    """
    toks = [t for t in split_tokens(text) if t not in SPECIAL_TOKENS]
    terms: list[list[str]] = []
    for k, tok in enumerate(toks):
        nxt = toks[k + 1] if k + 1 < len(toks) else None
        if starts_term(tok, nxt):
            terms.append([tok])
        elif terms:
            terms[-1].append(tok)
        else:
            terms.append([tok])
    return [" ".join(t) for t in terms]


# -- the structure of one term (no field list needed) ----------------------------------------------
@dataclass(frozen=True)
class TermStructure:
    """A term as written: its head, its objects in written order, its contractions with
    labels resolved to object positions.

    ``objects`` are the objects' tokens without their labels (``"DERIVATIVE SU2 U1"``,
    ``"FIELD SPIN 0 SU2 2 U1 - 1 DAGGER"``); ``fields`` holds, per object, the field a
    ``FIELD`` block spells (unconjugated) and whether it carries ``DAGGER``, ``None`` for
    other objects; ``labels`` are the written ID labels.
    """

    head: tuple[str, ...]
    objects: tuple[str, ...]
    contractions: tuple[tuple[str, tuple[int, ...]], ...]
    n_tokens: int
    fields: tuple[tuple[Field, bool] | None, ...] = ()
    labels: tuple[str, ...] = ()

    @property
    def sign(self) -> str:
        return self.head[0]

    @property
    def imaginary(self) -> bool:
        return "i" in self.head

    @property
    def kind(self) -> str:
        """The term kind (:func:`kind_of`): kinetic, gauge_kinetic, mass, yukawa, …"""
        spelled = [f for f in self.fields if f is not None]
        n_s = sum(f.is_scalar for f, _ in spelled)
        return kind_of(
            any(o.startswith("COMMUTATOR") for o in self.objects),
            any(o.startswith(("DERIVATIVE", "SIGMA_BAR")) for o in self.objects),
            n_s,
            len(spelled) - n_s,
        )

    @property
    def links(self) -> tuple[tuple[int, int], ...]:
        """(derivative or commutator-A position, the object it acts on / pairs with)."""
        out = []
        for k, obj in enumerate(self.objects[:-1]):
            if obj.startswith(("DERIVATIVE", "COMMUTATOR_A")):
                out.append((k, k + 1))
        return tuple(out)


def parse_structure(text: str) -> TermStructure:
    """Read one term's tokens into a :class:`TermStructure` (the grammar, field-independent).

    ID labels may be any of ID0–ID9 in any order (the public data uses random labels).
    Raises :class:`TokenError` (or :class:`~lagnb.errors.FieldError` for impossible quantum
    numbers) naming the token, object or contraction at fault.
    """
    toks = [t for t in split_tokens(text) if t not in SPECIAL_TOKENS]
    if not toks:
        raise TokenError("empty term: a term starts with '+' or '-'")
    if toks[0] not in SIGNS:
        raise TokenError(f"a term starts with '+' or '-', got {toks[0]!r}")
    head, pos = [toks[0]], 1
    if pos < len(toks) and toks[pos] == "i":
        head.append("i")
        pos += 1
    objects: list[str] = []
    fields: list[tuple[Field, bool] | None] = []
    labels: dict[str, int] = {}
    while pos < len(toks) and toks[pos] != "CONTRACTIONS":
        start, tok, where = pos, toks[pos], f"object {len(objects) + 1}"
        field = None
        if tok == "FIELD":
            f, conj, pos = parse_field_tokens(toks, pos, len(objects), True, "object")
            field = (f, conj)
        elif tok == "DERIVATIVE":
            pos += 1
            for g in GAUGE_GROUPS:
                if pos < len(toks) and toks[pos] == g:
                    pos += 1
            while pos < len(toks) and toks[pos].startswith(EXTRA_GAUGE_PREFIX):
                pos += 1  # a gauged U(1)′ (not BART-L): U1:<name>
        elif tok == "SIGMA_BAR":
            pos += 1
        elif tok in COMMUTATORS:
            if toks[pos + 1 : pos + 2] != ["DERIVATIVE"] or pos + 2 >= len(toks):
                raise TokenError(f"{where}: {tok} must be followed by 'DERIVATIVE <group>'")
            group = toks[pos + 2]
            if group not in GAUGE_GROUPS and not group.startswith(EXTRA_GAUGE_PREFIX):
                raise TokenError(
                    f"{where}: {tok} DERIVATIVE: unknown gauge group {toks[pos + 2]!r} "
                    "(expected SU3, SU2 or U1)"
                )
            pos += 3
        else:
            raise TokenError(f"unexpected token {tok!r} at position {pos} (expected an object)")
        if pos >= len(toks) or toks[pos] not in IDS:
            got = toks[pos] if pos < len(toks) else "end of term"
            raise TokenError(f"{where}: expected an ID label, got {got!r}")
        if toks[pos] in labels:
            raise TokenError(
                f"{where}: label {toks[pos]} is used by two objects "
                f"(also object {labels[toks[pos]] + 1})"
            )
        labels[toks[pos]] = len(objects)
        objects.append(" ".join(toks[start:pos]))
        fields.append(field)
        pos += 1
    if not objects:
        got = toks[pos] if pos < len(toks) else "end of term"
        raise TokenError(f"a term needs at least one object before CONTRACTIONS, got {got!r}")
    if pos >= len(toks):
        raise TokenError(f"missing CONTRACTIONS after object {len(objects)}")
    if objects[-1].startswith("DERIVATIVE"):
        raise TokenError(f"the last object {objects[-1]!r} acts on nothing")
    pos += 1
    contractions: list[tuple[str, tuple[int, ...]]] = []
    while pos < len(toks):
        group, start = toks[pos], pos
        if group not in CONTRACTION_GROUPS:
            raise TokenError(
                f"unexpected token {group!r} at position {pos} in the contractions "
                "(expected LORENTZ, SU3 or SU2)"
            )
        pos += 1
        members = []
        while pos < len(toks) and toks[pos] in IDS:
            if toks[pos] not in labels:
                raise TokenError(f"contraction {group} names {toks[pos]}, which labels no object")
            members.append(labels[toks[pos]])
            pos += 1
        if len(members) < 2:
            raise TokenError(
                f"the {group} contraction at position {start} joins {len(members)} object"
                f"{'' if len(members) == 1 else 's'}; a contraction joins at least two objects"
            )
        contractions.append((group, tuple(members)))
    return TermStructure(
        tuple(head), tuple(objects), tuple(contractions), len(toks), tuple(fields), tuple(labels)
    )


# -- a term over a field list ----------------------------------------------------------------------
def field_position(fields: tuple[Field, ...], field: Field, where: str) -> int:
    """The position in ``fields`` of the field a BART-L object spells (``field``, as parsed):
    the first with its quantum numbers.  A term's tokens are BART-L, so a real, flavoured or
    charged field is written by its SU(3)×SU(2)×U(1) quantum numbers alone.  Raises a
    :class:`TokenError` starting with ``where`` when no field matches, or when fields that
    differ only in what the tokens do not write (charges, reality, generations) both do."""
    if all(f.is_bart_l for f in fields):
        if field not in fields:
            raise TokenError(f"{where}: {field.describe()} is not in the field list")
        return fields.index(field)
    plain = [replace(f, real=False, generations=1, charges=()) for f in fields]
    hits = [i for i, f in enumerate(plain) if f == field]
    if not hits:
        raise TokenError(f"{where}: {field.describe()} is not in the field list")
    if len({fields[i] for i in hits}) > 1:
        raise TokenError(
            f"{where}: {field.describe()} is ambiguous: fields "
            f"{', '.join(str(i + 1) for i in hits)} differ only in charges, reality or "
            "generations, which term tokens do not write; check Term objects instead"
        )
    return hits[0]


def parse_term(fields: Sequence[Field], text: str) -> Term:
    """Parse one term's tokens into a :class:`Term` whose factors refer to ``fields``.

    On top of :func:`parse_structure`: ID labels are renumbered by factor position.  A field
    is identified by its quantum numbers; fields with identical quantum numbers (flavours)
    are indistinguishable in the token format and map to the first one.  A ``DERIVATIVE``
    acts on the field right after it and lists exactly the gauge groups that field is charged
    under (as the decoding state machine requires).
    Index kinds of an adjoint (8) in a δ are read as opposite to its partner's, the first
    entry upper when both are adjoints.

    Raises :class:`TokenError` naming the token or object at fault.
    """
    s = parse_structure(text)
    fields = tuple(fields)
    index = [  # per object, its field's position in ``fields`` (-1: not a field)
        -1 if parsed is None else field_position(fields, parsed[0], f"object {k + 1}")
        for k, parsed in enumerate(s.fields)
    ]
    factors: list[Factor] = []
    for k, (obj, parsed) in enumerate(zip(s.objects, s.fields)):
        word = obj.split(" ", 1)[0]
        if parsed is not None:
            factors.append(FieldFactor(index[k], parsed[1]))
        elif word == "DERIVATIVE":
            # parse_structure leaves no DERIVATIVE last; it acts on the object right after it
            target = s.fields[k + 1]
            if target is None:
                raise TokenError(
                    f"object {k + 1}: a DERIVATIVE acts on the field right after it, "
                    f"got {s.objects[k + 1]!r}"
                )
            written = " ".join(["DERIVATIVE", *charged_groups(fields[index[k + 1]])])
            if obj != written:
                raise TokenError(
                    f"object {k + 1}: {obj!r} acts on object {k + 2}, {target[0].describe()}, "
                    f"whose covariant derivative is {written!r}"
                )
            factors.append(Derivative(index[k + 1]))
        elif word == "SIGMA_BAR":
            factors.append(SigmaBar())
        else:
            factors.append(Commutator(word[-1], obj.rsplit(" ", 1)[-1]))
    atoms = tuple(_atom(fields, factors, g, list(m)) for g, m in s.contractions)
    return Term(_kind(fields, factors), tuple(factors), atoms, True, s.sign, s.imaginary)


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


def kind_of(gauge: bool, derivative: bool, n_scalars: int, n_fermions: int) -> str:
    """The term kind: ``gauge_kinetic`` (a commutator), ``kinetic`` (a derivative or σ̄),
    else read off the fields: ``mass`` (two), ``trilinear``, ``quartic``, ``yukawa``, or
    ``other`` for a field content no renormalizable term has."""
    if gauge:
        return "gauge_kinetic"
    if derivative:
        return "kinetic"
    return {
        (2, 0): "mass",
        (0, 2): "mass",
        (3, 0): "trilinear",
        (4, 0): "quartic",
        (1, 2): "yukawa",
    }.get((n_scalars, n_fermions), "other")


def _kind(fields: Sequence[Field], factors: list[Factor]) -> str:
    """The term kind read off its objects."""
    ff = [f for f in factors if isinstance(f, FieldFactor)]
    n_s = sum(fields[f.field].is_scalar for f in ff)
    return kind_of(
        any(isinstance(f, Commutator) for f in factors),
        any(isinstance(f, Derivative | SigmaBar) for f in factors),
        n_s,
        len(ff) - n_s,
    )


def canonical_term(fields: Sequence[Field], text: str) -> str:
    """A term's tokens with ID labels renumbered by position (label-invariant form)."""
    return parse_term(fields, text).tokens(fields)
