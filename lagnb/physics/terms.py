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

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from lagnb.physics.contractions import Atom
from lagnb.physics.fields import Field, default_names, fields_tokens

KINDS = ("yukawa", "trilinear", "quartic", "kinetic", "gauge_kinetic", "mass")
"""Term kinds in BART-L order: interactions, kinetic, gauge kinetic, masses."""

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
    """The gauge groups under which ``f`` is charged (its covariant derivative's content)."""
    return [g for g, on in (("SU3", f.su3 != 1), ("SU2", f.su2 != 1), ("U1", f.y != 0)) if on]


@dataclass(frozen=True)
class Term:
    """One term of a Lagrangian.

    ``kind`` is one of :data:`KINDS`; ``hermitian`` False means the term stands for O + h.c.
    """

    kind: str
    factors: tuple[Factor, ...]
    contractions: tuple[Atom, ...]
    hermitian: bool = True
    sign: str = "+"
    imaginary: bool = False

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

    def conjugate(self) -> Term:
        """O† with each field conjugated and every index kind flipped (same factor order)."""
        factors = tuple(
            FieldFactor(f.field, not f.conjugate) if isinstance(f, FieldFactor) else f
            for f in self.factors
        )
        ident = list(range(len(self.factors)))
        atoms = tuple(a.moved(ident, flip=True) for a in self.contractions)
        return Term(self.kind, factors, atoms, self.hermitian, self.sign, self.imaginary)

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
        """The operator in LaTeX with explicit gauge indices (i, j, … SU(3); a, b, … SU(2))."""
        return _term_latex(self, fields, list(names or default_names(fields)))

    def to_json(self, fields: Sequence[Field], names: Sequence[str] | None = None) -> dict:
        return {
            "kind": self.kind,
            "fields": [{"field": f.field, "conjugate": f.conjugate} for f in self.field_factors],
            "derivatives": self.derivatives,
            "hermitian_conjugate_added": not self.hermitian,
            "tokens": self.tokens(fields),
            "latex": self.latex(fields, names),
        }


# -- LaTeX helpers -------------------------------------------------------------------------------
_SU3_LETTERS = "ijklmnpqrstuvw"
_SU2_LETTERS = "abcdefgh"


def _index_labels(term: Term) -> tuple[dict[int, list[tuple[str, str]]], list[str]]:
    """Per factor, its (letter, 'u'|'d') indices; plus the ε symbols to print."""
    idx: dict[int, list[tuple[str, str]]] = {}
    eps: list[str] = []
    letters = {"SU3": iter(_SU3_LETTERS), "SU2": iter(_SU2_LETTERS)}
    for atom in term.contractions:
        if atom.group == "LORENTZ":
            continue
        if atom.tensor == "delta":
            letter = next(letters[atom.group])
            for p, k in atom.entries:
                idx.setdefault(p, []).append((letter, k))
        else:
            ls = [next(letters[atom.group]) for _ in atom.entries]
            for (p, k), letter in zip(atom.entries, ls):
                idx.setdefault(p, []).append((letter, k))
            pos = "_" if atom.entries[0][1] == "u" else "^"
            eps.append(rf"\epsilon{pos}{{{''.join(ls)}}}")
    return idx, eps


def _with_indices(base: str, indices: list[tuple[str, str]]) -> str:
    up = "".join(x for x, k in indices if k == "u")
    down = "".join(x for x, k in indices if k == "d")
    out = base
    if up:
        out = f"{{{out}}}^{{{up}}}"
    if down:
        out = f"{{{out}}}_{{{down}}}"
    return out


def _term_latex(term: Term, fields: Sequence[Field], names: list[str]) -> str:
    halves = [f for f in term.factors if isinstance(f, Commutator)]
    if halves:
        groups = {f.group for f in halves}
        if len(halves) == len(term.factors) == 4 and len(groups) == 1:
            g = groups.pop()
            sym, a = GAUGE_FIELDS[g], "" if g == "U1" else "A"
            head = "-" if term.sign == "-" else ""
            lower = rf"{sym}^{{{a}}}_{{\mu\nu}}" if a else rf"{sym}_{{\mu\nu}}"
            return rf"{head}\frac{{1}}{{4}} {lower} {sym}^{{{a}\mu\nu}}"
        # not a field strength squared (e.g. a model's malformed output): show the pieces
        return " ".join(
            rf"[D^{{{f.group}}}]_{{{f.part}}}"
            if isinstance(f, Commutator)
            else names[f.field] + (r"^{\dagger}" if f.conjugate else "")
            if isinstance(f, FieldFactor)
            else "?"
            for f in term.factors
        )
    idx, eps = _index_labels(term)
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
        base = names[f.field] + (r"^{\dagger}" if f.conjugate else "")
        sym = _with_indices(base, idx.get(k, []))
        if derivative_next:
            # (D_μ φ)† (D^μ φ): the second derivative of a term carries the upper index
            updown = "^" if n_derivatives else "_"
            n_derivatives += 1
            sym = rf"(D{updown}{{\mu}} {sym})"
            derivative_next = False
        parts.append(sym)
    body = " ".join(eps + parts)
    return ("i\\, " if term.imaginary else "") + body


_COUPLING = {
    "yukawa": "y",
    "trilinear": r"\mu",
    "quartic": r"\lambda",
    "mass": "m",
}


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
                out.append(t.conjugate().tokens(self.fields))
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
        counters: dict[str, int] = {}
        lines = []
        for t in self.terms:
            body = t.latex(self.fields, names)
            if t.kind in ("kinetic", "gauge_kinetic"):
                lines.append(body if body.startswith("-") else "+ " + body)
                continue
            sym = _COUPLING[t.kind]
            if t.kind == "mass":
                sym = "M" if t.sign == "-" else "m^2"
            counters[sym] = counters.get(sym, 0) + 1
            coupling = rf"{sym}_{{{counters[sym]}}}\, " if couplings else ""
            if sym == "m^2" and couplings:
                coupling = rf"m^2_{{{counters[sym]}}}\, "
            hc = r" + \text{h.c.}" if not t.hermitian else ""
            if hc:
                lines.append(f"{t.sign} \\left( {coupling}{body}{hc} \\right)")
            else:
                lines.append(f"{t.sign} {coupling}{body}")
        return lines

    def latex(self, couplings: bool = True) -> str:
        """The whole Lagrangian as one LaTeX expression ``\\mathcal{L} = …``."""
        return r"\mathcal{L} = " + " ".join(self.latex_lines(couplings)).removeprefix("+ ")

    def _repr_latex_(self) -> str:
        lines = self.latex_lines()
        if not lines:
            return r"$\mathcal{L} = 0$"
        lines[0] = lines[0].removeprefix("+ ")
        body = r" \\ & ".join(lines)
        return rf"$$\begin{{aligned}} \mathcal{{L}} = & {body} \end{{aligned}}$$"

    def summary(self) -> str:
        """A plain-text table: one line per term with its kind, h.c. flag and tokens."""
        width = max((len(t.kind) for t in self.terms), default=4)
        rows = [f"{len(self.terms)} terms for {len(self.fields)} fields (O + h.c. marked +hc)"]
        for k, t in enumerate(self.terms):
            hc = "+hc" if not t.hermitian else "   "
            rows.append(f"{k:3d} {t.kind:<{width}} {hc} {t.latex(self.fields, self.names)}")
        return "\n".join(rows)

    def to_json(self) -> dict[str, Any]:
        names = self.names
        return {
            "fields": [
                {
                    "name": names[i],
                    "spin": str(f.spin),
                    "su3": f.su3,
                    "su2": f.su2,
                    "hypercharge": str(f.y),
                    "helicity": None if f.helicity is None else str(f.helicity),
                    "tokens": " ".join(f.tokens()),
                }
                for i, f in enumerate(self.fields)
            ],
            "terms": [t.to_json(self.fields, names) for t in self.terms],
        }

    def json(self) -> str:
        return json.dumps(self.to_json(), indent=2)
