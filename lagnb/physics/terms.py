"""Terms of a Lagrangian as structured objects, with their BART-L tokens and LaTeX.

A term is an ordered product of *factors* — fields or conjugate fields, covariant derivatives,
σ̄^μ, or pieces of a field strength — and a set of index contractions (:class:`Atom`).
Conventions:

* a non-hermitian operator O appears once and stands for ``O + h.c.`` with a complex
  coupling (``hermitian=False``); a hermitian operator appears once with a real coupling;
* signs follow the BART-L data: ``+`` interactions, scalar kinetic and scalar masses, ``+ i``
  fermion kinetic, ``-`` gauge kinetic and fermion masses;
* in the token string, h.c. terms are written out as separate terms right after O (the
  BART-L format has no "h.c." token); ID labels are ID0, ID1, … in factor order.
* fermion kinetic terms are all written i ψ† σ̄^μ D_μ ψ (for a right-handed field this is
  the hermitian form of i χ† σ^μ D_μ χ up to a total derivative).
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from lagnb.physics.contractions import Atom
from lagnb.physics.fields import Field, check_names, default_names, fields_tokens
from lagnb.physics.flavour import Flavour
from lagnb.physics.symmetries import declared_symmetries, symmetry_json

KINDS = ("yukawa", "trilinear", "quartic", "kinetic", "gauge_kinetic", "mass", "kinetic_mixing")
"""Term kinds in BART-L order: interactions, kinetic, gauge kinetic, masses; then kinetic
mixing of two gauged U(1)s, which BART-L has no example of (it comes after the gauge kinetic
terms in a Lagrangian)."""

GAUGE_FIELDS = {"SU3": "G", "SU2": "W", "U1": "B"}


@dataclass(frozen=True, order=True)
class FieldFactor:
    """The field number ``field`` of the input (0-based), conjugated or not."""

    field: int
    conjugate: bool = False


@dataclass(frozen=True, order=True)
class Derivative:
    """A covariant derivative D_μ acting on the next factor, a field numbered ``field``."""

    field: int


@dataclass(frozen=True, order=True)
class SigmaBar:
    """σ̄^μ between ψ† and D_μ ψ."""


@dataclass(frozen=True, order=True)
class Commutator:
    """One half (``"A"`` or ``"B"``) of a commutator [D_μ, D_ν] of ``group``'s derivative.

    ``- [D_μ,D_ν][D^μ,D^ν]`` is the gauge kinetic term of the BART-L format.
    """

    part: str
    group: str


Factor = FieldFactor | Derivative | SigmaBar | Commutator


def charged_groups(f: Field) -> list[str]:
    """The gauge groups under which ``f`` is charged (its covariant derivative's content):
    SU3, SU2, U1 (hypercharge), then each gauged U(1)′ as ``U1:<name>``."""
    out = [g for g, on in (("SU3", f.su3 != 1), ("SU2", f.su2 != 1), ("U1", f.y != 0)) if on]
    return out + [s.group for s, _ in f.charges if s.is_gauged]


def gauge_symbol(group: str, latex: bool = True) -> str:
    """The gauge boson of a group: G, W, B, and X_name for a gauged U(1)′ ``U1:name``."""
    if group in GAUGE_FIELDS:
        return GAUGE_FIELDS[group]
    name = group.partition(":")[2]
    return rf"X_{{\mathrm{{{name}}}}}" if latex else f"X[{name}]"


@dataclass(frozen=True)
class Term:
    """One term of a Lagrangian.

    ``kind`` is one of :data:`KINDS`; ``hermitian`` False means the term stands for O + h.c.
    ``prefactor`` is a conventional numerical factor (½ in the kinetic and mass terms of a real
    scalar and in the kinetic mixing −(ε/2) B_μν X^μν), written in LaTeX and text but not in
    the tokens.  ``flavour`` is the coupling's flavour structure when a field of the term has
    several generations (None otherwise; see :class:`~lagnb.physics.flavour.Flavour`).
    """

    kind: str
    factors: tuple[Factor, ...]
    contractions: tuple[Atom, ...]
    hermitian: bool = True
    sign: str = "+"
    imaginary: bool = False
    prefactor: Fraction = Fraction(1)
    flavour: Flavour | None = None

    # -- structure ----------------------------------------------------------------------------
    @property
    def field_factors(self) -> list[FieldFactor]:
        return [f for f in self.factors if isinstance(f, FieldFactor)]

    @property
    def monomial(self) -> tuple[tuple[int, bool], ...]:
        """The sorted field content (field, conjugate), derivatives excluded."""
        return tuple(sorted((f.field, f.conjugate) for f in self.field_factors))

    @property
    def derivatives(self) -> int:
        return sum(isinstance(f, Derivative | Commutator) for f in self.factors)

    def conjugate(self, fields: Sequence[Field] | None = None) -> Term:
        """O† with each field conjugated and every index kind flipped (same factor order).

        With ``fields``, a real scalar stays itself (its flipped SU(2) indices are raised with
        ε, see :class:`~lagnb.physics.contractions.Slot`)."""
        factors = tuple(
            FieldFactor(
                f.field, f.conjugate if fields and fields[f.field].real else not f.conjugate
            )
            if isinstance(f, FieldFactor)
            else f
            for f in self.factors
        )
        ident = list(range(len(self.factors)))
        atoms = tuple(a.moved(ident, flip=True) for a in self.contractions)
        return replace(self, factors=factors, contractions=atoms)

    # -- tokens -------------------------------------------------------------------------------
    def tokens(self, fields: Sequence[Field]) -> str:
        """The BART-L tokens of this operator (without its h.c.)."""
        out = [self.sign] + (["i"] if self.imaginary else [])
        for k, f in enumerate(self.factors):
            if isinstance(f, FieldFactor):
                out += fields[f.field].tokens(f.conjugate)
            elif isinstance(f, Derivative):
                out += ["DERIVATIVE", *charged_groups(fields[f.field])]
            elif isinstance(f, SigmaBar):
                out.append("SIGMA_BAR")
            else:
                out += [f"COMMUTATOR_{f.part}", "DERIVATIVE", f.group]
            out.append(f"ID{k}")
        out.append("CONTRACTIONS")
        order = {"LORENTZ": 0, "SU3": 1, "SU2": 2}
        for atom in sorted(self.contractions, key=lambda a: order[a.group]):
            out += [atom.group, *(f"ID{p}" for p, _ in atom.entries)]
        return " ".join(out)

    # -- LaTeX --------------------------------------------------------------------------------
    def latex(self, fields: Sequence[Field], names: Sequence[str] | None = None) -> str:
        """The operator in LaTeX with explicit gauge indices (i, j, … SU(3); a, b, … SU(2)),
        after its numerical prefactor if any (``\frac{1}{2}``)."""
        body = _term_latex(self, fields, list(names or default_names(fields)))
        return prefactor_latex(self) + body

    def text(self, fields: Sequence[Field], names: Sequence[str] | None = None) -> str:
        """The operator in Unicode, for a terminal: ``(H†H)²``, ``(D_μ H)† (D^μ H)``.

        A product of δ-contracted bilinears is written without indices; any other term with
        explicit indices (SU(3) i, j, k, …; SU(2) p, r, s, …; then primed letters) and ε.
        ``names`` are display names (LaTeX allowed), by default the fields' own or φ_k/ψ_k.
        """
        shown = [unicode_name(n) for n in (names or default_names(fields))]
        return prefactor_text(self) + _term_text(self, fields, shown)

    def to_json(self, fields: Sequence[Field], names: Sequence[str] | None = None) -> dict:
        """The term as data (schema in ``docs/json-schema.md``): kind, field content, sign,
        contractions by factor position, tokens and LaTeX, and where they apply its numerical
        prefactor and flavour structure.  The coupling is added by :meth:`Lagrangian.to_json`,
        which numbers the couplings."""
        out = {
            "kind": self.kind,
            "fields": [{"field": f.field, "conjugate": f.conjugate} for f in self.field_factors],
            "derivatives": self.derivatives,
            "hermitian_conjugate_added": not self.hermitian,
            "sign": self.sign,
            "imaginary": self.imaginary,
            "factors": [_factor_json(f) for f in self.factors],
            "contractions": [_atom_json(a) for a in self.contractions],
            "tokens": self.tokens(fields),
            "latex": self.latex(fields, names),
        }
        if self.prefactor != 1:
            out["prefactor"] = str(self.prefactor)
        if self.flavour is not None:
            out["flavour"] = {
                "generations": list(self.flavour.generations),
                "symmetry": [
                    {"factors": list(pos), "young": list(p)} for pos, p in self.flavour.symmetry
                ],
                "components": self.flavour.components,
                "real_parameters": self.flavour.parameters,
            }
        return out


SCHEMA_VERSION = 2
"""Version of the JSON of :meth:`Lagrangian.to_json` (1: before couplings and contractions)."""


def term_couplings(terms: Sequence[Term]) -> list[dict[str, Any] | None]:
    """Per term its coupling as data (:func:`coupling_json`), numbered per kind in term
    order; None for kinetic terms."""
    return [coupling_json(t, c) for t, c in zip(terms, _coupling_numbers(terms))]


def _factor_json(f: Factor) -> dict[str, Any]:
    """One factor of a term as data: a field (number, conjugate), D_μ, σ̄^μ or half a
    commutator of covariant derivatives."""
    if isinstance(f, FieldFactor):
        return {"type": "field", "field": f.field, "conjugate": f.conjugate}
    if isinstance(f, Derivative):
        return {"type": "derivative", "field": f.field}
    if isinstance(f, SigmaBar):
        return {"type": "sigma_bar"}
    return {"type": "commutator", "part": f.part, "group": f.group}


def _atom_json(a: Atom) -> dict[str, Any]:
    """One invariant tensor: its group, ``delta``/``epsilon``/``lorentz``, and the index
    slots it joins as (factor position, ``upper``/``lower``) in tensor order (the ε sign)."""
    kind = {"u": "upper", "d": "lower", "": None}
    return {
        "group": a.group,
        "tensor": a.tensor,
        "slots": [{"factor": p, "index": kind[k]} for p, k in a.entries],
    }


def coupling_json(term: Term, number: tuple[str, int] | None) -> dict[str, Any] | None:
    """The coupling of a term as data: its name, LaTeX, whether it is complex (the term stands
    for c O + c* O†) and how it enters ℒ (``sign`` × prefactor × c × O, normalisation 1).  The
    kinetic mixing −(ε/2) B_μν X^μν of a gauged U(1)′ has the dimensionless ``epsilon_k``."""
    if number is None:
        return None
    key, k = number
    base = {
        **{"yukawa": "y", "trilinear": "mu", "quartic": "lambda", "m2": "m2", "M": "M"},
        "kinetic_mixing": "epsilon",
    }[key]
    return {
        "name": f"{base}_{k}",
        "latex": f"{_COUPLING_LATEX[key]}_{{{k}}}",
        "complex": not term.hermitian,
        "sign": term.sign,
        "normalisation": 1,
        "mass_dimension": {"yukawa": 0, "quartic": 0, "trilinear": 1, "m2": 2, "M": 1}.get(key, 0),
    }


# -- index labels ------------------------------------------------------------------------------
_SU3_LETTERS = "ijklmnpqrstuvw"
_SU2_LETTERS = "abcdefgh"
_LATEX_LETTERS = {"SU3": _SU3_LETTERS, "SU2": _SU2_LETTERS}
# Unicode has subscript forms of only some letters: the text form takes SU(3) and SU(2) labels
# from letters that have both a superscript and a subscript form.
_TEXT_LETTERS = {"SU3": "ijklmn", "SU2": "prstvx"}

IndexLabels = tuple[dict[int, list[tuple[str, str]]], list[tuple[tuple[str, ...], str]]]


def _labels_without_end(letters: str, prime: str) -> Iterator[str]:
    """Index labels without end: the letters, then each letter with one prime, two primes, …"""
    for n in itertools.count():
        for letter in letters:
            yield letter + prime * n


def _index_labels(term: Term, letters: dict[str, str], prime: str) -> IndexLabels:
    """Per factor, its (label, 'u'|'d') indices; per ε, its labels and the kind it contracts.

    Each δ gets one label (an upper and a lower index), each ε one label per entry; labels
    never run out (see :func:`_labels_without_end`), whatever the representations and field count.
    """
    idx: dict[int, list[tuple[str, str]]] = {}
    eps: list[tuple[tuple[str, ...], str]] = []
    streams = {group: _labels_without_end(alphabet, prime) for group, alphabet in letters.items()}
    for atom in term.contractions:
        if atom.group not in streams:
            continue
        if atom.tensor == "delta":
            label = next(streams[atom.group])
            for p, k in atom.entries:
                idx.setdefault(p, []).append((label, k))
        else:
            labels = tuple(next(streams[atom.group]) for _ in atom.entries)
            for (p, k), label in zip(atom.entries, labels):
                idx.setdefault(p, []).append((label, k))
            eps.append((labels, atom.entries[0][1]))
    return idx, eps


# -- LaTeX ---------------------------------------------------------------------------------------
def _with_indices(base: str, indices: list[tuple[str, str]]) -> str:
    up = "".join(x for x, k in indices if k == "u")
    down = "".join(x for x, k in indices if k == "d")
    out = base
    if up:
        out = f"{{{out}}}^{{{up}}}"
    if down:
        out = f"{{{out}}}_{{{down}}}"
    return out


def _latex_dagger(name: str, conjugate: bool) -> str:
    """``name`` or its conjugate; a name with its own superscript (``e^c``) is braced first."""
    if not conjugate:
        return name
    return (f"{{{name}}}" if "^" in name else name) + r"^{\dagger}"


def _term_latex(term: Term, fields: Sequence[Field], names: list[str]) -> str:
    halves = [f for f in term.factors if isinstance(f, Commutator)]
    if halves:
        groups = {f.group for f in halves}
        if len(halves) == len(term.factors) == 4 and len(groups) == 1:
            g = groups.pop()
            sym, a = gauge_symbol(g), "A" if g in ("SU3", "SU2") else ""
            head = "-" if term.sign == "-" else ""
            lower = rf"{sym}^{{{a}}}_{{\mu\nu}}" if a else rf"{{{sym}}}_{{\mu\nu}}"
            upper = rf"{sym}^{{{a}\mu\nu}}" if a else rf"{{{sym}}}^{{\mu\nu}}"
            if g in GAUGE_FIELDS:
                lower = rf"{sym}^{{{a}}}_{{\mu\nu}}" if a else rf"{sym}_{{\mu\nu}}"
                upper = rf"{sym}^{{{a}\mu\nu}}"
            return rf"{head}\frac{{1}}{{4}} {lower} {upper}"
        if len(halves) == len(term.factors) == 4 and len(groups) == 2:  # kinetic mixing
            g1, g2 = halves[0].group, halves[2].group
            return rf"{{{gauge_symbol(g1)}}}_{{\mu\nu}} {{{gauge_symbol(g2)}}}^{{\mu\nu}}"
        # not a field strength squared (e.g. a model's malformed output): show the pieces
        return " ".join(
            rf"[D^{{{f.group}}}]_{{{f.part}}}"
            if isinstance(f, Commutator)
            else _latex_dagger(names[f.field], f.conjugate)
            if isinstance(f, FieldFactor)
            else "?"
            for f in term.factors
        )
    idx, eps_labels = _index_labels(term, _LATEX_LETTERS, "'")
    flavour = _flavour_letters(term, _LATEX_FLAVOUR)
    eps = [
        rf"\epsilon{'_' if kind == 'u' else '^'}{{{''.join(labels)}}}"
        for labels, kind in eps_labels
    ]
    parts: list[str] = []
    derivative_next = False
    n_derivatives = 0
    for k, f in enumerate(term.factors):
        if isinstance(f, Derivative):
            derivative_next = True
            continue
        if isinstance(f, SigmaBar):
            parts.append(r"\bar{\sigma}^{\mu}")
            continue
        assert isinstance(f, FieldFactor)
        base = names[f.field]
        if k in flavour:
            base = f"{{{base}}}_{{{flavour[k]}}}"
        sym = _with_indices(_latex_dagger(base, f.conjugate), idx.get(k, []))
        if derivative_next:
            # (D_μ φ)† (D^μ φ): the second derivative of a term carries the upper index
            updown = "^" if n_derivatives else "_"
            n_derivatives += 1
            sym = rf"(D{updown}{{\mu}} {sym})"
            derivative_next = False
        parts.append(sym)
    body = " ".join(eps + parts)
    return ("i\\, " if term.imaginary else "") + body


# -- Unicode text --------------------------------------------------------------------------------
def _table(keys: str, values: str) -> dict[str, str]:
    return dict(zip(keys, values, strict=True))


_SUPERSCRIPT = _table(
    "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWαβγδεθιφχ†′*",
    "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵅᵝᵞᵟᵋᶿᶥᵠᵡ†′*",
)
_SUBSCRIPT = _table(
    "0123456789+-=()aehijklmnoprstuvxβγρφχ′",
    "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ′",
)


def _greek_command(c: str) -> str:
    """The LaTeX command of a Greek letter, from its Unicode name: λ → lambda, Δ → Delta."""
    word = unicodedata.name(c).split()[-1].lower().replace("lamda", "lambda")
    return word.capitalize() if c.isupper() else word


_SCRIPT_GLYPHS = frozenset(_SUPERSCRIPT.values()) | frozenset(_SUBSCRIPT.values())
_TEX_SYMBOLS = {
    **{_greek_command(c): c for c in "αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΥΦΨΩ"},
    "varepsilon": "ε",
    "vartheta": "ϑ",
    "varphi": "φ",
    "dagger": "†",
    "prime": "′",
    "ell": "ℓ",
    "star": "*",
}
_TEX_ACCENTS = {"bar": "\u0304", "overline": "\u0305", "tilde": "\u0303", "hat": "\u0302"}
_TEX_FONTS = {"text", "mathrm", "mathit", "mathbf", "mathsf", "mathcal", "rm", "operatorname"}
_TEX_COMMAND = re.compile(r"\\([A-Za-z]+|.?)", re.DOTALL)


def _tex_group(tex: str, i: int) -> tuple[str, int]:
    """The argument starting at ``tex[i]``: a {braced group}, a \\command or one character."""
    if i >= len(tex):
        return "", i
    if tex[i] == "{":
        depth = 0
        for j in range(i, len(tex)):
            depth += {"{": 1, "}": -1}.get(tex[j], 0)
            if depth == 0:
                return tex[i + 1 : j], j + 1
        return tex[i + 1 :], len(tex)
    if tex[i] == "\\":
        m = _TEX_COMMAND.match(tex, i)
        assert m is not None  # the pattern matches any backslash
        return m.group(0), m.end()
    return tex[i], i + 1


def unicode_name(tex: str, _depth: int = 0) -> str:
    """A display name written in LaTeX, in Unicode: ``\\phi_{1}`` → φ₁, ``H_1`` → H₁,
    ``e^c`` → eᶜ, ``\\bar{u}`` → ū, ``\\Delta`` → Δ.  What Unicode cannot raise or lower
    stays written with ``^``/``_`` (``u_R``); any string gives some text, never an error."""
    if _depth > 8:  # deeply nested scripts: show them as typed
        return tex
    out: list[str] = []
    i = 0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            m = _TEX_COMMAND.match(tex, i)
            assert m is not None
            cmd, i = m.group(1), m.end()
            if cmd in _TEX_ACCENTS or cmd in _TEX_FONTS:
                arg, i = _tex_group(tex, i)
                text = unicode_name(arg, _depth + 1)
                mark = _TEX_ACCENTS.get(cmd, "")
                out.append("".join(ch + mark for ch in text) if mark else text)
            else:
                out.append(_TEX_SYMBOLS.get(cmd, cmd if cmd.isalpha() else ""))
        elif c in "^_":
            arg, i = _tex_group(tex, i + 1)
            text = unicode_name(arg, _depth + 1)
            table = _SUPERSCRIPT if c == "^" else _SUBSCRIPT
            if text and all(ch in table for ch in text):
                out.append("".join(table[ch] for ch in text))
            else:
                out.append(c + text)
        elif c in "{}":
            i += 1
        else:
            out.append(c)
            i += 1
    if _depth:
        return "".join(out)
    return unicodedata.normalize("NFC", "".join(out)) or tex  # ū as one character


def _script(labels: Sequence[str], table: dict[str, str]) -> str:
    """Index labels (letters of :data:`_TEXT_LETTERS` and primes) raised or lowered."""
    return "".join(table[ch] for label in labels for ch in label)


def _power(n: int) -> str:
    return "" if n == 1 else "".join(_SUPERSCRIPT[d] for d in str(n))


def _bilinear_pairing(term: Term) -> dict[int, int] | None:
    """Each field's partner when every SU(3)/SU(2) index is a δ and each field's indices all
    contract with one other field: the term is then a product of bilinears (X†Y), written
    without indices.  None otherwise (an ε, or a field contracted with two others)."""
    partner: dict[int, int] = {}
    for atom in term.contractions:
        if atom.group == "LORENTZ":
            continue
        if atom.tensor != "delta" or len(atom.entries) != 2:
            return None
        (p, _), (q, _) = atom.entries
        if p == q or not all(
            0 <= x < len(term.factors) and isinstance(term.factors[x], FieldFactor) for x in (p, q)
        ):
            return None
        for a, b in ((p, q), (q, p)):
            if partner.setdefault(a, b) != b:
                return None
    return partner


_TEXT_FLAVOUR = "ₐₑₕₒ"
"""Flavour index labels in the text form (Unicode has few subscript letters)."""
_LATEX_FLAVOUR = "IJKL"
"""Flavour index labels in LaTeX: capitals, apart from the gauge indices."""


def _flavour_letters(term: Term, letters: str) -> dict[int, str]:
    """Factor position → its flavour index label, for the factors with several generations."""
    if term.flavour is None:
        return {}
    flavoured = [k for k, n in enumerate(term.flavour.generations) if n > 1]
    return {k: letters[j] for j, k in enumerate(flavoured)}


def flavour_indices(term: Term, latex: bool = True) -> str:
    """The coupling's flavour indices in factor order (``IJ``), empty without flavour."""
    letters = _flavour_letters(term, _LATEX_FLAVOUR if latex else _TEXT_FLAVOUR)
    return "".join(letters[k] for k in sorted(letters))


def _term_text(term: Term, fields: Sequence[Field], names: Sequence[str]) -> str:
    """The operator in Unicode; ``names`` are already Unicode."""

    letters = _flavour_letters(term, _TEXT_FLAVOUR)

    def name(k: int) -> str:
        f = term.factors[k]
        assert isinstance(f, FieldFactor)
        return names[f.field] + letters.get(k, "") + ("†" if f.conjugate else "")

    halves = [f for f in term.factors if isinstance(f, Commutator)]
    if halves:
        groups = {f.group for f in halves}
        if len(halves) == len(term.factors) == 4 and len(groups) == 1:
            g = groups.pop()
            sym = gauge_symbol(g, latex=False) + ("ᴬ" if g in ("SU3", "SU2") else "")
            head = "−" if term.sign == "-" else ""
            return f"{head}¼ {sym}_μν {sym}^μν"
        if len(halves) == len(term.factors) == 4 and len(groups) == 2:  # kinetic mixing
            g1, g2 = (gauge_symbol(h.group, latex=False) for h in (halves[0], halves[2]))
            return f"{g1}_μν {g2}^μν"
        return " ".join(
            f"[D({f.group})]_{f.part}"
            if isinstance(f, Commutator)
            else name(k)
            if isinstance(f, FieldFactor)
            else "?"
            for k, f in enumerate(term.factors)
        )
    pairing = _bilinear_pairing(term)
    with_lorentz = any(isinstance(f, Derivative | SigmaBar) for f in term.factors)
    if pairing is not None and not with_lorentz:
        body = _bilinear_text(term, fields, pairing, name)
    else:
        idx, eps_labels = (
            ({}, []) if pairing is not None else _index_labels(term, _TEXT_LETTERS, "′")
        )
        parts = [
            "ε" + _script(labels, _SUBSCRIPT if kind == "u" else _SUPERSCRIPT)
            for labels, kind in eps_labels
        ]
        n_derivatives = 0
        derivative_next = False
        for k, f in enumerate(term.factors):
            if isinstance(f, Derivative):
                derivative_next = True
            elif isinstance(f, SigmaBar):
                parts.append("σ̄^μ")
            elif isinstance(f, FieldFactor):
                labels = idx.get(k, [])
                up = _script([x for x, kind in labels if kind == "u"], _SUPERSCRIPT)
                down = _script([x for x, kind in labels if kind == "d"], _SUBSCRIPT)
                if derivative_next:
                    # (D_μφ)†(D^μφ): the second derivative of a term carries the upper index
                    mu = "^μ" if n_derivatives else "_μ"
                    n_derivatives += 1
                    derivative_next = False
                    if labels:
                        sym = f"(D{mu} {name(k)}{up}{down})"
                    else:
                        sym = f"(D{mu} {names[f.field]})" + ("†" if f.conjugate else "")
                else:
                    sym = name(k)
                    if labels and not f.conjugate and sym[-1:] in _SCRIPT_GLYPHS:
                        sym = f"({sym})"  # S₁ with index i: (S₁)ᵢ, not S₁ᵢ
                    sym += up + down
                parts.append(sym)
        body = " ".join(parts)
    return ("i " if term.imaginary else "") + body


def prefactor_latex(term: Term) -> str:
    """The term's numerical prefactor in LaTeX followed by a space (empty for 1)."""
    p = term.prefactor
    return "" if p == 1 else rf"\frac{{{p.numerator}}}{{{p.denominator}}} "


def prefactor_text(term: Term) -> str:
    """The term's numerical prefactor in Unicode followed by a space (empty for 1)."""
    p = term.prefactor
    return "" if p == 1 else {Fraction(1, 2): "½ "}.get(p, f"({p}) ")


def _bilinear_text(
    term: Term,
    fields: Sequence[Field],
    pairing: dict[int, int],
    name: Callable[[int], str],
) -> str:
    """A product of bilinears and SU(3)×SU(2) singlets: ``(H†H)²``, ``(H†L) e†``, ``(S†S) S``."""
    items: list[tuple[str, bool, bool]] = []  # (text, is a bilinear, only scalars)
    done: set[int] = set()
    pairing = dict(pairing)
    # an SU(3)×SU(2) singlet scalar S and its conjugate also form a bilinear: (S†S)
    lone = [k for k, f in enumerate(term.factors) if k not in pairing]
    for k in lone:
        f = term.factors[k]
        if k in pairing or not isinstance(f, FieldFactor) or not fields[f.field].is_scalar:
            continue
        mate = next(
            (
                q
                for q in lone
                if q not in pairing
                and q != k
                and term.factors[q] == FieldFactor(f.field, not f.conjugate)
            ),
            None,
        )
        if mate is not None:
            pairing[k], pairing[mate] = mate, k
    for k, f in enumerate(term.factors):
        if k in done or not isinstance(f, FieldFactor):
            continue
        q = pairing.get(k)
        if q is None:
            done.add(k)
            items.append((name(k), False, fields[f.field].is_scalar))
            continue
        g = term.factors[q]
        assert isinstance(g, FieldFactor)
        done |= {k, q}
        first, second = (q, k) if g.conjugate and not f.conjugate else (k, q)
        scalars = fields[f.field].is_scalar and fields[g.field].is_scalar
        items.append((name(first) + name(second), True, scalars))
    if len(items) == 1:
        return items[0][0]
    # scalars commute: equal scalar factors are gathered into powers, at their first place
    shown: list[list] = []
    for text, bilinear, scalars in items:
        text = f"({text})" if bilinear else text
        same = next((s for s in shown if s[0] == text and scalars and s[2]), None)
        if same is not None:
            same[1] += 1
        else:
            shown.append([text, 1, scalars])
    return " ".join(text + _power(n) for text, n, _ in shown)


_COUPLING_LATEX = {
    "yukawa": "y",
    "trilinear": r"\mu",
    "quartic": r"\lambda",
    "m2": "m^2",
    "M": "M",
    "kinetic_mixing": r"\epsilon",
}
_COUPLING_TEXT = {
    "yukawa": "y",
    "trilinear": "μ",
    "quartic": "λ",
    "m2": "m",
    "M": "M",
    "kinetic_mixing": "ε",
}


def _coupling_numbers(terms: Sequence[Term]) -> list[tuple[str, int] | None]:
    """Per term, its coupling as (symbol key, number): y_k (Yukawa), μ_k (trilinear), λ_k
    (quartic), m²_k (scalar mass), M_k (fermion mass); None for kinetic terms."""
    counters: dict[str, int] = {}
    out: list[tuple[str, int] | None] = []
    for t in terms:
        key = ("M" if t.sign == "-" else "m2") if t.kind == "mass" else t.kind
        if key not in _COUPLING_TEXT:
            out.append(None)
            continue
        counters[key] = counters.get(key, 0) + 1
        out.append((key, counters[key]))
    return out


def _field_options_json(f: Field) -> dict[str, Any]:
    """A field's options beyond BART-L for JSON, only those that differ from the default."""
    out: dict[str, Any] = {}
    if f.real:
        out["real"] = True
    if f.generations != 1:
        out["generations"] = f.generations
    if f.charges:
        out["charges"] = {s.name: str(q) for s, q in f.charges}
        out["extension_tokens"] = " ".join(f.extension_tokens())
    elif out:
        out["extension_tokens"] = " ".join(f.extension_tokens())
    return out


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal (combining accents take none)."""
    return sum(not unicodedata.combining(c) for c in text)


@dataclass(frozen=True)
class Lagrangian:
    """A field list and the terms of its renormalizable Lagrangian, in canonical order."""

    fields: tuple[Field, ...]
    terms: tuple[Term, ...]

    def __len__(self) -> int:
        return len(self.terms)

    def __repr__(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k in KINDS if (n := len(self.by_kind(k))))
        return f"<Lagrangian of {len(self.fields)} fields: {len(self.terms)} terms ({kinds})>"

    def __iter__(self) -> Iterator[Term]:
        return iter(self.terms)

    def __getitem__(self, i: int) -> Term:
        return self.terms[i]

    @property
    def names(self) -> list[str]:
        return default_names(self.fields)

    def by_kind(self, kind: str) -> list[Term]:
        return [t for t in self.terms if t.kind == kind]

    def term_tokens(self, hc: bool = True) -> list[str]:
        """Token strings of all terms; with ``hc`` each O + h.c. is followed by O†."""
        out = []
        for t in self.terms:
            out.append(t.tokens(self.fields))
            if hc and not t.hermitian:
                out.append(t.conjugate(self.fields).tokens(self.fields))
        return out

    def tokens(self, hc: bool = True) -> str:
        """The BART-L output string (the model's target), h.c. terms written out by default."""
        return " ".join(self.term_tokens(hc))

    def input_tokens(self) -> str:
        """The BART-L input string of the field list."""
        return fields_tokens(self.fields)

    def latex_lines(self, couplings: bool = True) -> list[str]:
        """One LaTeX string per term, with its sign, coupling and "+ h.c." where added.

        Couplings are named by kind: y_k (Yukawa), μ_k (trilinear), λ_k (quartic), m²_k (scalar
        mass), M_k (fermion mass); kinetic terms carry none.
        """
        names = self.names
        lines = []
        for t, c in zip(self.terms, _coupling_numbers(self.terms)):
            body = _term_latex(t, self.fields, names)
            if c is None:
                body = prefactor_latex(t) + body
                lines.append(body if body.startswith("-") else f"{t.sign} {body}")
                continue
            fl = flavour_indices(t)
            sub = f"{c[1]}" + (rf"\,{fl}" if fl else "")
            coupling = rf"{_COUPLING_LATEX[c[0]]}_{{{sub}}}\, " if couplings else ""
            coupling = prefactor_latex(t) + coupling
            if not t.hermitian:
                lines.append(f"{t.sign} \\left( {coupling}{body} + \\text{{h.c.}} \\right)")
            else:
                lines.append(f"{t.sign} {coupling}{body}")
        return lines

    def latex(self, couplings: bool = True) -> str:
        """The whole Lagrangian as one LaTeX expression ``\\mathcal{L} = …`` on one line."""
        return r"\mathcal{L} = " + " ".join(self.latex_lines(couplings)).removeprefix("+ ")

    def latex_aligned(self, per_line: int = 3, couplings: bool = True) -> str:
        """The Lagrangian as an amsmath ``aligned`` environment, ``per_line`` terms a line,
        one source line per output line (for a paper or a notebook's Markdown)."""
        if per_line < 1:
            raise ValueError(f"per_line must be at least 1, got {per_line}")
        lines = self.latex_lines(couplings)
        if not lines:
            return r"\mathcal{L} = 0"
        lines[0] = lines[0].removeprefix("+ ")
        rows = [" ".join(lines[i : i + per_line]) for i in range(0, len(lines), per_line)]
        body = " \\\\\n  & ".join(rows)
        return f"\\begin{{aligned}}\n\\mathcal{{L}} = {{}} & {body}\n\\end{{aligned}}"

    def _repr_latex_(self) -> str:
        lines = self.latex_lines()
        if not lines:
            return r"$\mathcal{L} = 0$"
        lines[0] = lines[0].removeprefix("+ ")
        body = r" \\ & ".join(lines)
        return rf"$$\begin{{aligned}} \mathcal{{L}} = & {body} \end{{aligned}}$$"

    def summary(self) -> str:
        """A plain table of the terms' LaTeX source: number, kind, h.c. flag, LaTeX."""
        width = max((len(t.kind) for t in self.terms), default=4)
        rows = [f"{len(self.terms)} terms for {len(self.fields)} fields (O + h.c. marked +hc)"]
        for k, t in enumerate(self.terms):
            hc = "+hc" if not t.hermitian else "   "
            rows.append(f"{k:3d} {t.kind:<{width}} {hc} {t.latex(self.fields, self.names)}")
        return "\n".join(rows)

    def with_names(self, names: Sequence[str]) -> Lagrangian:
        """The same Lagrangian with display names for its fields, one per field in input
        order (LaTeX allowed: ``"H_1"``, ``r"\\Delta"``); every format then uses them."""
        named = check_names(self.fields, names)
        return Lagrangian(tuple(replace(f, name=n) for f, n in zip(self.fields, named)), self.terms)

    def to_text(self, names: Sequence[str] | None = None) -> str:
        """The Lagrangian as a Unicode table for a terminal.

        The fields with their quantum numbers, then one row per term: number, kind, coupling
        (real ℝ for a hermitian operator, complex ℂ for O + h.c.) and the term as it enters
        ℒ, e.g. ``λ₁ (H†H)²`` or ``y₁ (H†L) e† + h.c.`` (see :meth:`Term.text`).  Field names
        come from ``names`` (one per field), else the fields' own, else φ₁, φ₂, … for scalars
        and ψ₁, ψ₂, … for fermions (numbered by input position).
        """
        tex = check_names(self.fields, names) if names is not None else self.names
        shown = [unicode_name(n) for n in tex]
        kinds = ", ".join(f"{n} {k}" for k in KINDS if (n := len(self.by_kind(k))))
        n, m = len(self.fields), len(self.terms)
        out = [f"ℒ of {n} field{'s' * (n != 1)}: {m} term{'s' * (m != 1)} ({kinds})"]
        wide = max(map(_width, shown), default=0)
        for n, f in zip(shown, self.fields):
            out.append(f"  {n}{' ' * (wide - _width(n))}  {f.describe()}")
        rows = [("#", "kind", "coupling", "term")]
        for k, (t, c) in enumerate(zip(self.terms, _coupling_numbers(self.terms)), start=1):
            body = _term_text(t, self.fields, shown)
            if c is None:
                coupling = ""
                body = prefactor_text(t) + body
                term = body if body.startswith("−") or t.sign == "+" else f"−{body}"
            else:
                key, number = c
                sym = _COUPLING_TEXT[key] + _script([str(number)], _SUBSCRIPT)
                sym += flavour_indices(t, latex=False)
                sym += "²" if key == "m2" else ""
                coupling = f"{sym} ∈ {'ℝ' if t.hermitian else 'ℂ'}"
                if t.flavour is not None:
                    coupling += f" ({t.flavour.describe()})"
                sign = "−" if t.sign == "-" else ""
                term = f"{sign}{prefactor_text(t)}{sym} {body}" + ("" if t.hermitian else " + h.c.")
            rows.append((str(k), t.kind, coupling, term))
        widths = [max(_width(r[i]) for r in rows) for i in range(3)]
        out.append("")
        for r in rows:
            cells = [r[0].rjust(widths[0])] + [
                r[i] + " " * (widths[i] - _width(r[i])) for i in (1, 2)
            ]
            out.append("  ".join([*cells, r[3]]).rstrip())
        if any(not t.derivatives and _bilinear_pairing(t) is None for t in self.terms):
            su3, su2 = (", ".join(_TEXT_LETTERS[g][:3]) for g in ("SU3", "SU2"))
            out.append(f"(indices: SU(3) {su3}, …; SU(2) {su2}, …; repeated ones are summed)")
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        """The field list and the terms as data, versioned by :data:`SCHEMA_VERSION`
        (documented in ``docs/json-schema.md``)."""
        names = self.names
        return {
            "schema": "lagnb.lagrangian",
            "schema_version": SCHEMA_VERSION,
            "conventions": {
                "hypercharge": "Q = T3 + Y/2",
                "term": "L contains sign * coupling * operator (+ h.c. when complex)",
                "su2_index": "a field carries lower SU(2) indices, its conjugate upper ones",
                "su3_index": "SU(3) irrep (p,q): p upper and q lower indices",
            },
            "fields": [
                {
                    "name": names[i],
                    "spin": str(f.spin),
                    "su3": f.su3,
                    "su2": f.su2,
                    "hypercharge": str(f.y),
                    "helicity": None if f.helicity is None else str(f.helicity),
                    "tokens": " ".join(f.tokens()),
                    **_field_options_json(f),
                }
                for i, f in enumerate(self.fields)
            ],
            "terms": [
                {**t.to_json(self.fields, names), "coupling": c}
                for t, c in zip(self.terms, term_couplings(self.terms))
            ],
        } | self._symmetries_json()

    def _symmetries_json(self) -> dict[str, Any]:
        """``{"symmetries": [...]}``: the extra symmetries the fields are charged under (none:
        no key, so a BART-L field list writes what it always wrote)."""
        syms = declared_symmetries(self.fields)
        return {"symmetries": [symmetry_json(s) for s in syms]} if syms else {}

    def json(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    def to_sympy(self) -> Any:
        """ℒ without derivative terms as a real SymPy expression over component fields: −V,
        Yukawas and fermion masses with their h.c. (basis: :mod:`lagnb.physics.symbolic`; real
        scalars as real components with their ½ prefactors; fermion generations with coupling
        tensors; a scalar with several generations raises
        :class:`~lagnb.physics.symbolic.RepresentationError`)."""
        from lagnb.physics.symbolic import to_sympy

        return to_sympy(self)

    def potential(self) -> Any:
        """The scalar potential V (ℒ ⊃ −V) as a real SymPy expression over components (real
        scalars included, e.g. V ⊃ −½ m2_k S²; scalar generations refused)."""
        from lagnb.physics.symbolic import potential

        return potential(self)
