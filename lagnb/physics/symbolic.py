"""The Lagrangian as a SymPy expression over component fields.

Each term of a :class:`~lagnb.physics.terms.Lagrangian` is a contraction of index tensors
(:mod:`lagnb.physics.contractions`); here every index is summed explicitly over components, so
that a user can substitute a vacuum, differentiate and get mass matrices with plain SymPy.

**Component basis** (the same for every field, documented in ``docs/json-schema.md``):

* SU(2): a field in the n-dimensional irrep is a symmetric tensor T_{a₁…a_k} (k = n − 1 lower
  indices, values 1, 2; index value 1 has T3 = +½).  Its components φ_w, w = 1 … n, are the
  weight (charge) eigenstates with T3 = (n − 1)/2 − (w − 1), ordered from the highest weight,
  and T_{a₁…a_k} = φ_w / √C(k, w − 1) where w − 1 indices equal 2.  This is the canonically
  normalised map (Σ |T|² = Σ |φ_w|²), with the Condon–Shortley phases of feynlag's
  Gelfand–Tsetlin basis: the doublet is (φ₁, φ₂) = (upper, lower), the triplet
  (T₁₁, √2 T₁₂, T₂₂), the quadruplet (T₁₁₁, √3 T₁₁₂, √3 T₁₂₂, T₂₂₂).
* SU(3): the 3 (one upper index) and the 3̄ (one lower index) have components c = 1, 2, 3;
  colour indices are summed explicitly.  The 6, 6̄ and 8 are refused (their component maps are
  not tested).
* A conjugate field is the complex conjugate of its components (``sympy.conjugate``), with its
  index kinds flipped; ε^{12} = ε_{12} = +1 and ε^{123} = ε_{123} = +1.
* A **real scalar** (``Field(..., real=True)``: an SU(2) singlet or triplet, colour singlet,
  Y = 0) is its own conjugate.  A real singlet is one real symbol S.  A real triplet has three
  real components t₁, t₂, t₃ (T = Σ_k t_k σ^k iσ²/√2, the Cartesian basis of feynlag's
  adjoint); in the weight basis φ₁ = (−t₁ + i t₂)/√2 (T3 = +1) is a complex symbol, φ₂ = t₃
  (T3 = 0) a real symbol and φ₃ = −φ₁* is not a symbol of its own.  So (T_{ab})* = −T^{ab},
  where an upper index of a real field is its lower index raised with ε
  (T^{a…} = ε^{ab} T_{b…}), as the engine writes the conjugate of a real field.  A term's
  prefactor (½ in ½ m² S²) multiplies its component expression.
* **Generations**: a field with ``generations > 1`` is refused (its coupling would be a
  flavour matrix; components are written for one flavour per field).

**Fermions** are two-component Weyl spinors: a component is a commuting symbol standing for the
spinor, and a product of two left-handed (undotted) spinors ψ^α χ_α is :class:`WeylPair`
(symmetric in its arguments, as anticommuting spinors contracted with ε are);
``conjugate(WeylPair(ψ, χ))`` is the dotted product of the conjugates, ψ†χ†.

**Couplings** are named as in the JSON (``y_1``, ``mu_2``, ``lambda_3``, ``m2_1``, ``M_1``).  A
real coupling is a real symbol; a complex one (a term O + h.c.) is ``c_re + I*c_im`` with two
real symbols, and the term enters ℒ as sign·(c O + c* O†), so ℒ is real.  A hermitian operator
whose components come out anti-hermitian (O† = −O) is multiplied by i, keeping its coupling
real.

Derivative terms (kinetic and gauge kinetic) are not part of :func:`to_sympy`: they need gauge
fields and are written as feynlag covariant derivatives by :mod:`lagnb.physics.feynlag_source`.
"""

from __future__ import annotations

import itertools
import keyword
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import sympy as sp

from lagnb.errors import LagnbError
from lagnb.physics.contractions import Atom
from lagnb.physics.fields import Field
from lagnb.physics.terms import FieldFactor, Lagrangian, Term, term_couplings

SUPPORTED_SU3 = (1, 3, -3)
"""SU(3) representations with a tested component map."""


class RepresentationError(LagnbError):
    """A field's representation has no tested component map (SU(3) 6, 6̄, 8), or a field
    option the component code does not support (several generations)."""


class WeylPair(sp.Function):
    """ψ^α χ_α: the Lorentz-invariant product of two undotted Weyl spinors (components of
    left-handed spinors: a left-handed field or a right-handed field's conjugate).

    Symmetric (anticommuting spinors contracted with the antisymmetric ε); its conjugate is the
    dotted product of the conjugate spinors, written ``WeylPair(conjugate(ψ), conjugate(χ))``.
    """

    nargs = 2

    @classmethod
    def eval(cls, a: sp.Expr, b: sp.Expr) -> sp.Expr | None:
        if sp.default_sort_key(b) < sp.default_sort_key(a):
            return cls(b, a)
        return None

    def _eval_conjugate(self) -> sp.Expr:
        return WeylPair(sp.conjugate(self.args[0]), sp.conjugate(self.args[1]))

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        a, b = (printer.doprint(x) for x in self.args)
        return rf"\left({a}\,{b}\right)"


# -- names and components ----------------------------------------------------------------------
RESERVED = frozenset(
    {
        *keyword.kwlist,
        *("y", "mu", "lambda", "m2", "M"),
        *("i", "I", "Rational", "conjugate", "sqrt", "sp", "fl", "warnings"),
        *("Bilinear", "MajoranaBilinear", "diracC", "diracPL", "diracPR"),
        *("gs", "gw", "g1", "SU3c", "SU2L", "U1Y", "number", "sector", "expr"),
        *("lagrangian", "model", "fields", "parameters", "gauge_groups", "TERMS", "UFO_WARNINGS"),
    }
)
"""Names a field's symbols must not take: the coupling prefixes (``y_1`` is a coupling), Python
keywords and the names the feynlag model file defines."""


def symbol_base(name: str) -> str:
    """A Python-identifier name for a field from its display name: ``S_1`` → ``S1``,
    ``\\Delta`` → ``Delta``, ``e^c`` → ``ec``, ``H_{1}`` → ``H1``; a :data:`RESERVED` name
    gets an ``F`` (``\\lambda`` → ``lambdaF``)."""
    plain = re.sub(r"\\([A-Za-z]+)", r"\1", name)
    plain = re.sub(r"[^A-Za-z0-9]", "", plain)
    if not plain or plain[0].isdigit():
        plain = f"F{plain}"
    return plain + "F" if plain in RESERVED else plain


def field_label(k: int, f: Field) -> str:
    """``field 2 (S)``: a field by its 1-based position and name, for error messages."""
    return f"field {k} ({f.name})" if f.name else f"field {k}"


def check_supported(fields: Sequence[Field]) -> None:
    """Raise :class:`RepresentationError` naming the first field whose SU(3) representation has
    no tested component map, or that has several generations."""
    for k, f in enumerate(fields, start=1):
        if f.su3 not in SUPPORTED_SU3:
            raise RepresentationError(
                f"{field_label(k, f)}: SU(3) representation {f.su3} has no tested component map "
                "(components are written for SU(3) 1, 3 and 3bar only)"
            )
        if f.generations != 1:
            raise RepresentationError(
                f"{field_label(k, f)}: {f.generations} generations are not supported in "
                "components (flavour-matrix couplings are not written; use generations=1)"
            )


@dataclass(frozen=True)
class ComponentField:
    """The components of one field: SymPy symbols indexed by (colour, weight).

    ``colour`` runs over 0 (no SU(3) index) or 1, 2, 3; ``weight`` over 1 … n for an SU(2)
    n-plet (T3 = (n − 1)/2 − (weight − 1)).  Scalar components are complex symbols; fermion
    components are commuting placeholders for the spinor (see :class:`WeylPair`).  A real
    scalar has only its independent components as symbols: the real neutral one (real=True)
    and, for a triplet, the complex φ₁ (φ₃ = −φ₁*, see :meth:`value`).
    """

    field: Field
    base: str

    @cached_property
    def symbols(self) -> dict[tuple[int, int], sp.Symbol]:
        colours = (0,) if self.field.su3 == 1 else (1, 2, 3)
        n = self.field.su2
        real = self.field.real
        weights = range(1, (n + 1) // 2 + 1) if real else range(1, n + 1)
        out = {}
        for c, w in itertools.product(colours, weights):
            parts = [self.base]
            if c:
                parts.append(f"c{c}")
            if n > 1:
                parts.append(str(w))
            neutral_real = real and self.t3(w) == 0
            out[(c, w)] = (
                sp.Symbol("_".join(parts), real=True)
                if neutral_real
                else sp.Symbol("_".join(parts))
            )
        return out

    def value(self, colour: int, weight: int) -> sp.Expr:
        """The component of weight ``weight``: its symbol, or for a real field's negative-T3
        weight (−1)^{T3} times the conjugate of the mirrored one (φ₃ = −φ₁* for a triplet)."""
        if (colour, weight) in self.symbols:
            return self.symbols[(colour, weight)]
        mirror = self.field.su2 + 1 - weight
        return (-1) ** int(self.t3(mirror)) * sp.conjugate(self.symbols[(colour, mirror)])

    @property
    def components(self) -> list[sp.Symbol]:
        return list(self.symbols.values())

    def t3(self, weight: int) -> Fraction:
        """T3 of the component with this weight index."""
        return Fraction(self.field.su2 - 1, 2) - (weight - 1)

    def charge(self, weight: int) -> Fraction:
        """Electric charge Q = T3 + Y/2 of the component with this weight index."""
        return self.t3(weight) + self.field.y / 2

    def entry(
        self, colour: int, su2: Sequence[int], upper: Sequence[bool] = ()
    ) -> tuple[sp.Expr, sp.Expr]:
        """The tensor entry with colour index ``colour`` (0 if none) and SU(2) indices ``su2``
        (each 1 or 2) as (component, factor): φ_w / √C(k, w − 1), w − 1 the number of 2s.

        ``upper`` flags the indices that are upper on a real field (its conjugate is itself):
        such an index is raised with ε, T^{1…} = T_{2…} and T^{2…} = −T_{1…}."""
        sign = 1
        lowered = []
        for k, a in enumerate(su2):
            if k < len(upper) and upper[k]:
                sign *= 1 if a == 1 else -1
                a = 3 - a
            lowered.append(a)
        twos = sum(1 for a in lowered if a == 2)
        return self.value(colour, twos + 1), sign / sp.sqrt(math.comb(len(lowered), twos))


def component_fields(lag: Lagrangian) -> list[ComponentField]:
    """The component fields of a Lagrangian, one per field, with distinct symbol names."""
    check_supported(lag.fields)
    bases: list[str] = []
    for name in lag.names:
        base = symbol_base(name)
        while base in bases:
            base += "x"
        bases.append(base)
    return [ComponentField(f, b) for f, b in zip(lag.fields, bases)]


# -- couplings ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Coupling:
    """A coupling as SymPy: ``value`` is the real symbol, or ``re + I*im`` for a complex one."""

    name: str
    complex: bool
    sign: int

    @cached_property
    def parts(self) -> tuple[sp.Symbol, ...]:
        """The real parameters: (c,) or (c_re, c_im)."""
        if self.complex:
            return (
                sp.Symbol(f"{self.name}_re", real=True),
                sp.Symbol(f"{self.name}_im", real=True),
            )
        return (sp.Symbol(self.name, real=True),)

    @property
    def value(self) -> sp.Expr:
        return self.parts[0] + sp.I * self.parts[1] if self.complex else self.parts[0]


def couplings(lag: Lagrangian) -> list[Coupling | None]:
    """Per term its :class:`Coupling` (None for kinetic terms), named as in the JSON."""
    out: list[Coupling | None] = []
    for t, data in zip(lag.terms, term_couplings(lag.terms)):
        out.append(
            None
            if data is None
            else Coupling(data["name"], data["complex"], -1 if t.sign == "-" else 1)
        )
    return out


# -- operators ---------------------------------------------------------------------------------
def operator(term: Term, comps: Sequence[ComponentField]) -> sp.Expr:
    """The operator O of a derivative-free term (no coupling, no sign, no h.c.) with every
    index summed over components."""
    if term.derivatives:
        raise LagnbError(
            f"a {term.kind} term has derivatives; only potential and Yukawa/mass "
            "terms have a component operator here"
        )
    factors = term.factors
    atoms = [a for a in term.contractions if a.group != "LORENTZ"]
    # per factor, the (atom, entry) slots of each group, in atom order
    slots: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for ai, atom in enumerate(atoms):
        for ei, (pos, _) in enumerate(atom.entries):
            slots.setdefault((pos, atom.group), []).append((ai, ei))
    ranges = [_atom_range(a) for a in atoms]
    total = sp.S.Zero
    for values in itertools.product(*ranges):
        weight = 1
        for atom, vals in zip(atoms, values):
            if atom.tensor == "epsilon":
                weight *= sp.LeviCivita(*vals)
        if weight == 0:
            continue
        bosons: list[sp.Expr] = []
        spinors: list[sp.Expr] = []
        for pos, f in enumerate(factors):
            assert isinstance(f, FieldFactor)
            su3 = [values[ai][ei] for ai, ei in slots.get((pos, "SU3"), [])]
            su2_slots = slots.get((pos, "SU2"), [])
            su2 = [values[ai][ei] for ai, ei in su2_slots]
            comp = comps[f.field]
            upper = [atoms[ai].entries[ei][1] == "u" for ai, ei in su2_slots]
            symbol, norm = comp.entry(su3[0] if su3 else 0, su2, upper if comp.field.real else ())
            symbol = sp.conjugate(symbol) if f.conjugate else symbol
            weight *= norm
            (spinors if comp.field.is_fermion else bosons).append(symbol)
        piece = weight * sp.Mul(*bosons)
        if spinors:
            if len(spinors) != 2:
                raise LagnbError(f"a {term.kind} term with {len(spinors)} spinors")
            piece *= WeylPair(*spinors)
        total += piece
    return sp.expand(total)


def _atom_range(atom: Atom) -> list[tuple[int, ...]]:
    """Index values of one invariant tensor: (i, i) for δ, all k-tuples for ε."""
    n = 3 if atom.group == "SU3" else 2
    if atom.tensor == "delta":
        return [(i, i) for i in range(1, n + 1)]
    return list(itertools.permutations(range(1, n + 1), len(atom.entries)))


def term_expression(
    term: Term, coupling: Coupling | None, comps: Sequence[ComponentField]
) -> sp.Expr:
    """sign · p · (c O + h.c.) for a complex coupling, sign · p · c O for a real one (i O if O
    is anti-hermitian), p the term's prefactor (½ in ½ m² S² of a real scalar)."""
    if coupling is None:
        raise LagnbError(f"a {term.kind} term has no coupling")
    op = sp.Rational(term.prefactor.numerator, term.prefactor.denominator) * operator(term, comps)
    if not term.hermitian:
        piece = coupling.value * op
        return coupling.sign * sp.expand(piece + sp.conjugate(piece))
    if sp.expand(op - sp.conjugate(op)) != 0:
        if sp.expand(op + sp.conjugate(op)) != 0:  # pragma: no cover - the basis is hermitian
            raise LagnbError(f"a {term.kind} term is neither hermitian nor anti-hermitian")
        op = sp.I * op
    return coupling.sign * coupling.value * sp.expand(op)


def to_sympy(lag: Lagrangian) -> sp.Expr:
    """ℒ without its derivative terms: −V plus the Yukawa and fermion mass terms with their
    hermitian conjugates, as a real SymPy expression over component fields and couplings."""
    comps = component_fields(lag)
    return sp.Add(
        *(
            term_expression(t, c, comps)
            for t, c in zip(lag.terms, couplings(lag))
            if not t.derivatives
        )
    )


def potential(lag: Lagrangian) -> sp.Expr:
    """The scalar potential V (ℒ ⊃ −V): scalar masses, trilinears and quartics, summed over
    components, as a real SymPy expression."""
    comps = component_fields(lag)
    terms = [
        term_expression(t, c, comps)
        for t, c in zip(lag.terms, couplings(lag))
        if not t.derivatives and all(lag.fields[f.field].is_scalar for f in t.field_factors)
    ]
    return -sp.Add(*terms)


def components(lag: Lagrangian) -> dict[str, list[sp.Symbol]]:
    """The component symbols of each field, by the field's display name."""
    return {n: c.components for n, c in zip(lag.names, component_fields(lag))}


def coupling_symbols(lag: Lagrangian) -> dict[str, sp.Expr]:
    """Every coupling by name: a real symbol or ``re + I*im``."""
    return {c.name: c.value for c in couplings(lag) if c is not None}
