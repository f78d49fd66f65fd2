"""Model-side target formats: the tokens a model writes, converted to and from BART-L.

Every public interface of lagnb reads and writes BART-L (datasets, prefixes, generated
Lagrangians, the checker).  A model may be trained on another spelling of the same text, its
*target format* (:data:`TARGET_FORMATS`, recorded in the model folder, see
:attr:`lagnb.ml.model.Bundle.target_format`):

* ``"bart-l"`` — the public spelling itself (the conversions are the identity);
* ``"compact"`` — the same Lagrangian with field objects written as references to the input:

  - a field object ``FIELD SPIN … [DAGGER]`` becomes ``F<k>`` or ``F<k> DAGGER``, where ``k``
    is the position (0-based) in the input list of the *first* field with that spelling
    (identical fields — flavours — are indistinguishable in BART-L, so a reference always
    names the first copy);
  - a covariant derivative ``DERIVATIVE <groups> IDk`` becomes ``DERIVATIVE IDk``: its groups
    are those of the field it acts on, which follows it, and are restored from that field;
  - everything else is unchanged: signs, ``i``, ``SIGMA_BAR``, the commutators (which keep
    their group, ``COMMUTATOR_A DERIVATIVE SU2 IDa``), the ID labels and the ``CONTRACTIONS``
    block.

  The references are ``F0``–``F15`` (:data:`~lagnb.physics.tokens.FIELD_REFS`): BART-L data
  has at most six fields in distribution, lagnb's out-of-distribution sets eight and the
  catalogue's largest model seven.  A field list whose distinct fields go beyond sixteen
  cannot be written compactly (a one-line :class:`~lagnb.errors.TokenError`).

The conversion is lossless: ``from_model(fs, to_model(fs, text, "compact"), "compact") == text``
for every Lagrangian the engine writes (normalised token spacing).  Example, the Higgs doublet
``[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]`` (the engine's Lagrangian, one term per line; the
gauge kinetic terms are the same in both spellings and left out)::

    BART-L (149 tokens in all)
    + FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 1 ID1 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID2
      FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID3 CONTRACTIONS SU2 ID2 ID0 SU2 ID3 ID1
    + DERIVATIVE SU2 U1 ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID1 DERIVATIVE SU2 U1 ID2
      FIELD SPIN 0 SU2 2 U1 1 ID3 CONTRACTIONS LORENTZ ID0 ID2 SU2 ID1 ID3
    + FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID1 CONTRACTIONS SU2 ID1 ID0

    compact (93 tokens in all)
    + F0 ID0 F0 ID1 F0 DAGGER ID2 F0 DAGGER ID3 CONTRACTIONS SU2 ID2 ID0 SU2 ID3 ID1
    + DERIVATIVE ID0 F0 DAGGER ID1 DERIVATIVE ID2 F0 ID3 CONTRACTIONS LORENTZ ID0 ID2 SU2 ID1 ID3
    + F0 ID0 F0 DAGGER ID1 CONTRACTIONS SU2 ID1 ID0

A compact model cannot copy a field's quantum numbers from its own prefix: to write ``F0`` or
``F1`` it has to know which input field is which, so it must read the encoder.

:func:`to_model` reads BART-L (dataset targets, the user's prefixes) and raises a one-line
:class:`~lagnb.errors.TokenError` for what the compact spelling cannot say (a field that is
not in the list, a derivative whose groups are not those of the field after it, a text that
ends inside an object).  :func:`from_model` reads what a model wrote: with ``strict=False``
(generation) it never raises on bad output but converts what it can and leaves the rest as
written — a reference to a field the input does not have stays ``F<k>``, so its term does not
parse and evaluation counts it as a malformed (wrong) term, as it does for malformed BART-L.

**Input formats.**  A model may also read its field list in another spelling, its *input
format* (:data:`INPUT_FORMATS`, recorded as ``lagnb_input_format``): ``"bart-l"`` (the
public spelling, the default) or ``"compact"``, where every field is exactly five tokens —
``FIELD``, its Lorentz type (``SCALAR``, ``LEFT``, ``RIGHT``), its SU(3) and SU(2)
representations (``SU3:1``, ``SU3:3b``, …, ``SU2:2``, …) and six times its hypercharge
(``6Y:-2`` for Y = −1/3), a zero hypercharge or a singlet spelled out rather than left out::

    [SOS] FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 FIELD SPIN 0 SU2 2 U1 1 [EOS]
    [SOS] FIELD LEFT SU3:1 SU2:2 6Y:-6 FIELD SCALAR SU3:1 SU2:2 6Y:6 [EOS]

Charges add up by adding one token's worth each, not by reading fractions digit by digit.  A
hypercharge that is not a multiple of 1/6 in [−2, 2] keeps its BART-L spelling (``U1 5 / 7``).

``"conjugates"`` is the compact spelling with every field followed by its conjugate, spelled
the same way after ``DAGGER`` (opposite Lorentz type, conjugate SU(3) representation, −6Y)::

    [SOS] FIELD LEFT SU3:1 SU2:2 6Y:-6 DAGGER RIGHT SU3:1 SU2:2 6Y:6
          FIELD SCALAR SU3:1 SU2:2 6Y:6 DAGGER SCALAR SU3:1 SU2:2 6Y:-6 [EOS]

A term is a product of such entries whose 6Y add up to zero; with the conjugates written out, a
model picks entries and adds their numbers instead of also choosing the sign of each (the
Yukawa mistakes of a compact-input model are mostly a wrong conjugation).

:func:`to_model_input` converts; the conversion only goes one way (inputs are never written).

**Term order.**  A model may learn to write the terms in another order than the engine lists
them (:data:`TERM_ORDERS`, recorded as ``lagnb_term_order``; :func:`ordered_terms`): the
engine starts with the Yukawas, whose existence is the hardest decision (charges adding up to
zero), and a model must make it before it has written anything; ``"kinetic-first"`` puts the
terms every field has first and the Yukawas last.  Scores compare multisets of terms, so the
order changes what the model learns, not how it is judged.

This module imports no torch: it is pure token work on top of :mod:`lagnb.physics`.
"""

from __future__ import annotations

from collections.abc import Sequence

from lagnb.errors import LagnbError, TokenError
from lagnb.physics.fields import Field, fields_tokens, parse_field_tokens, split_tokens
from lagnb.physics.terms import charged_groups
from lagnb.physics.tokens import (
    COMMUTATORS,
    CONTRACTION_GROUPS,
    FIELD_REFS,
    GAUGE_GROUPS,
    IDS,
    MAX_FIELD_REFS,
    SIGNS,
    SPECIAL_TOKENS,
    field_position,
    field_ref_index,
    parse_structure,
    split_terms,
    starts_term,
)

TARGET_FORMATS = ("bart-l", "compact")
"""The target formats a model can be trained on; ``"bart-l"`` is the default (and the format of
every model folder that does not record one)."""

COMPACT_WORDS = frozenset(
    {
        *SIGNS,
        "i",
        *IDS,
        "DERIVATIVE",
        "SIGMA_BAR",
        "DAGGER",
        "CONTRACTIONS",
        *COMMUTATORS,
        *GAUGE_GROUPS,
        *CONTRACTION_GROUPS,
        *FIELD_REFS,
        *SPECIAL_TOKENS,
    }
)
"""Every token of the compact spelling (no ``FIELD``, ``SPIN``, ``HEL``, digits or ``/``)."""


INPUT_FORMATS = ("bart-l", "compact", "conjugates")
"""The spellings of the field list a model can read (default ``"bart-l"``)."""

COMPACT_INPUTS = ("compact", "conjugates")
"""The input formats spelled with :data:`INPUT_WORDS`."""

LORENTZ_WORDS = ("SCALAR", "LEFT", "RIGHT")
SU3_WORDS = {1: "SU3:1", 3: "SU3:3", -3: "SU3:3b", 6: "SU3:6", -6: "SU3:6b", 8: "SU3:8"}
SU2_WORDS = {n: f"SU2:{n}" for n in (1, 2, 3, 4)}
MAX_6Y = 12
Y_WORDS = {n: f"6Y:{n}" for n in range(-MAX_6Y, MAX_6Y + 1)}
INPUT_WORDS: tuple[str, ...] = (
    *LORENTZ_WORDS,
    *SU3_WORDS.values(),
    *SU2_WORDS.values(),
    *Y_WORDS.values(),
)
"""The tokens of the compact input spelling beyond BART-L's (38)."""


def check_input_format(input_format: str) -> str:
    """``input_format`` if it is one of :data:`INPUT_FORMATS`, else a one-line
    :class:`LagnbError`."""
    if input_format not in INPUT_FORMATS:
        raise LagnbError(
            f"unknown input format {input_format!r}; choose one of {', '.join(INPUT_FORMATS)}"
        )
    return input_format


def to_model_input(fields: Sequence[Field], input_format: str) -> str:
    """The field list as a model with ``input_format`` reads it, ``[SOS] … [EOS]`` included."""
    if check_input_format(input_format) == "bart-l":
        return fields_tokens(fields)
    out = ["[SOS]"]
    for f in fields:
        out += ["FIELD", *_compact_quantum_numbers(f)]
        if input_format == "conjugates":
            out += ["DAGGER", *_compact_quantum_numbers(f.conjugate())]
    out.append("[EOS]")
    return " ".join(out)


def _compact_quantum_numbers(f: Field) -> list[str]:
    """Lorentz type, SU(3) and SU(2) representations and 6Y of ``f`` in compact words."""
    lorentz = "SCALAR" if f.is_scalar else ("LEFT" if f.helicity < 0 else "RIGHT")
    out = [lorentz, SU3_WORDS[f.su3], SU2_WORDS[f.su2]]
    six_y = 6 * f.y
    if six_y.denominator == 1 and abs(six_y) <= MAX_6Y:
        out.append(Y_WORDS[int(six_y)])
    else:  # the BART-L spelling, U1 … up to HEL
        toks = f.tokens()
        start = toks.index("U1")
        out += toks[start : toks.index("HEL") if "HEL" in toks else len(toks)]
    return out


TERM_ORDERS = ("engine", "kinetic-first")
"""Orders in which a model can learn to write a Lagrangian's terms: ``"engine"`` (as the engine
lists them: Yukawas first) or ``"kinetic-first"`` (:data:`KINETIC_FIRST`)."""

KINETIC_FIRST = ("kinetic", "gauge_kinetic", "mass", "quartic", "trilinear", "yukawa")
"""The ``"kinetic-first"`` order of term kinds: the terms every field has come first, those
whose existence takes charge arithmetic (trilinears, Yukawas) last; other kinds after them."""


def check_term_order(term_order: str) -> str:
    """``term_order`` if it is one of :data:`TERM_ORDERS`, else a one-line :class:`LagnbError`."""
    if term_order not in TERM_ORDERS:
        raise LagnbError(
            f"unknown term order {term_order!r}; choose one of {', '.join(TERM_ORDERS)}"
        )
    return term_order


def ordered_terms(text: str, term_order: str) -> str:
    """A BART-L Lagrangian with its terms in ``term_order`` (a stable sort by kind for
    ``"kinetic-first"``; the same multiset of terms, so every score is unchanged)."""
    if check_term_order(term_order) == "engine":
        return text
    rank = {k: i for i, k in enumerate(KINETIC_FIRST)}
    terms = split_terms(text)
    keyed = sorted(
        range(len(terms)),
        key=lambda i: (rank.get(parse_structure(terms[i]).kind, len(rank)), i),
    )
    return " ".join(terms[i] for i in keyed)


def check_format(target_format: str) -> str:
    """``target_format`` if it is one of :data:`TARGET_FORMATS`, else a one-line
    :class:`LagnbError` listing them."""
    if target_format not in TARGET_FORMATS:
        raise LagnbError(
            f"unknown target format {target_format!r}; choose one of {', '.join(TARGET_FORMATS)}"
        )
    return target_format


def _field_ref(fields: tuple[Field, ...], field: Field, where: str) -> str:
    """The reference ``F<k>`` of the field a BART-L object spells: ``k`` is its first position
    in ``fields`` (:func:`~lagnb.physics.tokens.field_position`)."""
    k = field_position(fields, field, where)
    if k >= MAX_FIELD_REFS:
        raise TokenError(
            f"{where}: {field.describe()} is field {k + 1}; the compact spelling names at most "
            f"{MAX_FIELD_REFS} distinct fields (F0–F{MAX_FIELD_REFS - 1})"
        )
    return FIELD_REFS[k]


def to_model(fields: Sequence[Field], text: str, target_format: str) -> str:
    """The model-format tokens of a BART-L Lagrangian, or of a prefix of one (``"bart-l"``:
    ``text`` unchanged).

    ``text`` may be a whole Lagrangian or a prefix that ends after a complete object (its ID
    label), after a conjugated field block (its ``DAGGER``: the field is known, its label not),
    after a sign or ``i``, or inside a contraction block; a field block is identified
    by its quantum numbers, like :func:`~lagnb.physics.tokens.parse_term` does.  Raises a
    one-line :class:`TokenError` naming the term and token position of what the compact
    spelling cannot say: a field that is not in ``fields`` (or beyond ``F15``), a
    ``DERIVATIVE`` whose groups are not those of the field after it or that acts on no field,
    a field block that does not parse, a text that ends inside an object.
    """
    if check_format(target_format) == "bart-l":
        return text
    fs = tuple(fields)
    toks = split_tokens(text)
    out: list[str] = []
    term = 0
    pos = 0

    def where(p: int) -> str:
        return f"term {max(term, 1)}, position {p}"

    read: dict[tuple[str, ...], tuple[Field, bool, int]] = {}  # field block → field, length

    def read_field(p: int) -> tuple[Field, bool, int]:
        """The field block at ``p`` and the position after it; it must end at an ID label (a
        conjugated one may end the text)."""
        label = next((q for q in range(p + 1, min(p + 24, len(toks))) if toks[q] in IDS), None)
        block = tuple(toks[p:label]) if label is not None else None
        if block in read:  # a Lagrangian names the same few fields many times
            f, conj, n = read[block]
            return f, conj, p + n
        try:
            f, conj, end = parse_field_tokens(toks, p, 0, allow_dagger=True, what="object")
        except LagnbError as exc:
            raise type(exc)(f"{where(p)}: {str(exc).removeprefix('object 1: ')}") from None
        if end >= len(toks) and not conj:  # a DAGGER ends an object's field block
            raise TokenError(
                f"{where(p)}: the text ends inside a field object (no ID label after it); the "
                "compact spelling can only stop after a complete object or a DAGGER"
            )
        if end < len(toks) and toks[end] not in IDS:
            raise TokenError(f"{where(p)}: expected an ID label after the field, got {toks[end]!r}")
        if end == label:
            read[block] = (f, conj, end - p)
        return f, conj, end

    while pos < len(toks):
        tok = toks[pos]
        if starts_term(tok, toks[pos + 1] if pos + 1 < len(toks) else None):
            term += 1
        if tok == "FIELD":
            f, conj, end = read_field(pos)
            out += [_field_ref(fs, f, where(pos)), *(["DAGGER"] if conj else [])]
            pos = end
            continue
        if tok in COMMUTATORS:  # COMMUTATOR_X DERIVATIVE G: unchanged
            n = 3 if toks[pos + 1 : pos + 2] == ["DERIVATIVE"] else 1
            if pos + n >= len(toks):
                raise TokenError(
                    f"{where(pos)}: the text ends inside the {tok} object (no ID label); the "
                    "compact spelling can only stop after a complete object"
                )
            out += toks[pos : pos + n]
            pos += n
            continue
        if tok == "DERIVATIVE":
            start, pos = pos, pos + 1
            groups: list[str] = []
            while pos < len(toks) and toks[pos] in GAUGE_GROUPS:
                groups.append(toks[pos])
                pos += 1
            if pos >= len(toks) or toks[pos] not in IDS:
                got = repr(toks[pos]) if pos < len(toks) else "the end of the text"
                raise TokenError(
                    f"{where(start)}: DERIVATIVE {' '.join(groups)} must be followed by an ID "
                    f"label, got {got}"
                )
            label, pos = toks[pos], pos + 1
            if pos < len(toks):  # the field it acts on (a prefix may stop before it)
                if toks[pos] != "FIELD":
                    raise TokenError(
                        f"{where(start)}: a DERIVATIVE acts on the field right after it, got "
                        f"{toks[pos]!r}"
                    )
                f, _, _ = read_field(pos)
                if list(charged_groups(f)) != groups:
                    written = " ".join(["DERIVATIVE", *charged_groups(f)])
                    raise TokenError(
                        f"{where(start)}: {' '.join(['DERIVATIVE', *groups])!r} acts on "
                        f"{f.describe()}, whose covariant derivative is {written!r}"
                    )
            out += ["DERIVATIVE", label]
            continue
        out.append(tok)
        pos += 1
    return " ".join(out)


def from_model(
    fields: Sequence[Field], text: str, target_format: str, *, strict: bool = True
) -> str:
    """The BART-L tokens of what a model wrote in ``target_format`` (``"bart-l"``: ``text``
    unchanged).

    ``text`` may be any stretch of model output (a whole Lagrangian, a continuation after a
    prefix, a cut-off one).  ``F<k>`` becomes ``fields[k]``'s tokens (``F<k> DAGGER`` its
    conjugate's), ``DERIVATIVE IDk F<j>`` gets field ``j``'s gauge groups back.

    With ``strict`` (default) anything that cannot be converted is a one-line
    :class:`TokenError` naming the token and its position: a reference to a field the input
    does not have, a ``DAGGER`` after no reference, a ``DERIVATIVE`` whose label is not
    followed by a reference, a token that is not compact spelling (``FIELD``, digits …).
    Without it nothing raises: what cannot be converted is left as written, so that its term
    does not parse (a reference ``F<k>`` is no BART-L token) and counts as malformed.
    """
    if check_format(target_format) == "bart-l":
        return text
    fs = tuple(fields)
    toks = split_tokens(text)
    out: list[str] = []

    def ref(p: int) -> int | None:
        """The field number of a usable reference at ``p``, else None."""
        k = field_ref_index(toks[p]) if p < len(toks) else None
        return k if k is not None and k < min(len(fs), MAX_FIELD_REFS) else None

    def fail(p: int, why: str) -> None:
        if strict:
            raise TokenError(f"model output token {toks[p]!r} at position {p}: {why}")
        out.append(toks[p])

    pos = 0
    while pos < len(toks):
        tok = toks[pos]
        k = field_ref_index(tok)
        if k is not None:
            if ref(pos) is None:
                fail(
                    pos,
                    f"refers to field {k + 1}, but the input has {len(fs)} field"
                    f"{'' if len(fs) == 1 else 's'}"
                    if k < MAX_FIELD_REFS
                    else f"is not a field reference (F0–F{MAX_FIELD_REFS - 1})",
                )
                pos += 1
                continue
            conj = toks[pos + 1 : pos + 2] == ["DAGGER"]
            out += fs[k].tokens(conj)
            pos += 2 if conj else 1
            continue
        if tok == "DAGGER":
            fail(pos, "DAGGER must follow a field reference")
        elif tok == "DERIVATIVE" and (pos == 0 or toks[pos - 1] not in COMMUTATORS):
            j = ref(pos + 2) if pos + 1 < len(toks) and toks[pos + 1] in IDS else None
            if j is None:
                fail(pos, "a DERIVATIVE's ID label must be followed by the field it acts on")
            else:
                out += ["DERIVATIVE", *charged_groups(fs[j])]
        elif tok not in COMPACT_WORDS:
            fail(pos, "not a token of the compact spelling")
        else:
            out.append(tok)
        pos += 1
    return " ".join(out)
