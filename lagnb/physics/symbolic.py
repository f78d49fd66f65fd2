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
* **Generations**: a fermion with n > 1 generations has one set of components per flavour
  (``L_g2_1``: flavour 2, weight 1) and its couplings are tensors c_{IJ…}, one index per
  flavoured factor in factor order, with the symmetry the contraction forces on two identical
  flavoured factors (symmetric Majorana mass M_IJ = M_JI, antisymmetric f_IJ = −f_JI of
  ε(L_I L_J) h⁺), entered as Σ_{IJ…} c_{IJ…} O_{IJ…} + h.c. with no ½; see :class:`Coupling`.
  A scalar with several generations is refused (its hermitian flavour couplings, like the
  hermitian m²_IJ, are not written), and so are generations in the spectrum and the feynlag
  file (:func:`component_fields`).

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
from lagnb.physics.flavour import Flavour
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


def check_supported(fields: Sequence[Field], fermion_generations: bool = False) -> None:
    """Raise :class:`RepresentationError` naming the first field whose SU(3) representation has
    no tested component map, or that has several generations (allowed for a fermion with
    ``fermion_generations``: :func:`to_sympy` and :func:`potential` write its couplings as
    flavour tensors; the spectrum and the feynlag file do not)."""
    for k, f in enumerate(fields, start=1):
        if f.su3 not in SUPPORTED_SU3:
            raise RepresentationError(
                f"{field_label(k, f)}: SU(3) representation {f.su3} has no tested component map "
                "(components are written for SU(3) 1, 3 and 3bar only)"
            )
        if f.generations != 1 and not (fermion_generations and f.is_fermion):
            where = "of a scalar " if fermion_generations else ""
            raise RepresentationError(
                f"{field_label(k, f)}: {f.generations} generations {where}are not supported "
                "here (flavour-tensor couplings are written only for fermions, in to_sympy and "
                "potential; use generations=1)"
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
    flavour: int = 0
    """1 … n for one flavour of a field with n > 1 generations (symbols ``N_g2``), else 0."""

    @cached_property
    def symbols(self) -> dict[tuple[int, int], sp.Symbol]:
        colours = (0,) if self.field.su3 == 1 else (1, 2, 3)
        n = self.field.su2
        real = self.field.real
        weights = range(1, (n + 1) // 2 + 1) if real else range(1, n + 1)
        out = {}
        for c, w in itertools.product(colours, weights):
            parts = [self.base, f"g{self.flavour}"] if self.flavour else [self.base]
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


def _bases(lag: Lagrangian) -> list[str]:
    """Distinct symbol bases of the fields, from their display names."""
    bases: list[str] = []
    for name in lag.names:
        base = symbol_base(name)
        while base in bases:
            base += "x"
        bases.append(base)
    return bases


def component_fields(lag: Lagrangian) -> list[ComponentField]:
    """The component fields of a Lagrangian, one per field, with distinct symbol names
    (several generations are refused: see :func:`flavour_components`)."""
    check_supported(lag.fields)
    return [ComponentField(f, b) for f, b in zip(lag.fields, _bases(lag))]


def flavour_components(lag: Lagrangian) -> list[list[ComponentField]]:
    """Per field its component fields, one per flavour: ``[ComponentField]`` for one
    generation, flavours 1 … n (symbols ``L_g1_1`` …) for a fermion with n generations; a
    scalar with several generations is refused."""
    check_supported(lag.fields, fermion_generations=True)
    return [
        [ComponentField(f, b)]
        if f.generations == 1
        else [ComponentField(f, b, g) for g in range(1, f.generations + 1)]
        for f, b in zip(lag.fields, _bases(lag))
    ]


# -- couplings ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Coupling:
    """A coupling as SymPy: ``value`` is the real symbol, or ``re + I*im`` for a complex one.

    With ``flavour`` (a term of fields with several generations) the coupling is a tensor
    c_{I…} with one index per flavoured factor: ``entries`` maps each index tuple (flavours
    1 … n, in factor order) to its entry, an independent complex symbol pair ``<name>_<I…>``
    up to the symmetry the contraction forces — symmetric c_IJ = c_JI (the Majorana mass
    N_I N_J) or antisymmetric c_IJ = −c_JI, c_II = 0 (ε(L_I L_J) h⁺) — and ``value`` is a
    SymPy ``Matrix`` (one or two indices) or ``Array``.
    """

    name: str
    complex: bool
    sign: int
    flavour: Flavour | None = None

    @cached_property
    def entries(self) -> dict[tuple[int, ...], sp.Expr]:
        """The tensor entries by flavour indices (``{(): value}`` without flavour)."""
        if self.flavour is None:
            return {(): _complex_or_real(self.name, self.complex)}
        dims = [n for n in self.flavour.generations if n > 1]
        flavoured = [k for k, n in enumerate(self.flavour.generations) if n > 1]
        young = {}
        for positions, p in self.flavour.symmetry:
            young[tuple(flavoured.index(k) for k in positions)] = p
        out: dict[tuple[int, ...], sp.Expr] = {}
        for idx in itertools.product(*(range(1, n + 1) for n in dims)):
            key, sign = list(idx), 1
            for (a, b), p in young.items():  # canonical order of a symmetric pair: I ≤ J
                if key[a] > key[b]:
                    key[a], key[b] = key[b], key[a]
                    sign = -sign if p == (1, 1) else sign
                if p == (1, 1) and key[a] == key[b]:
                    sign = 0
            label = f"{self.name}_{''.join(map(str, key))}"
            out[idx] = sign * _complex_or_real(label, self.complex) if sign else sp.S.Zero
        return out

    @cached_property
    def parts(self) -> tuple[sp.Symbol, ...]:
        """The real parameters: (c,) or (c_re, c_im); for a tensor, those of its independent
        entries in index order."""
        out: list[sp.Symbol] = []
        for e in self.entries.values():
            out += [s for s in sorted(e.free_symbols, key=lambda x: x.name) if s not in out]
        return tuple(out)

    @property
    def value(self) -> sp.Expr:
        if self.flavour is None:
            return self.entries[()]
        dims = [n for n in self.flavour.generations if n > 1]
        if len(dims) <= 2:
            rows, cols = dims[0], dims[1] if len(dims) == 2 else 1
            return sp.Matrix(rows, cols, lambda i, j: self.entries[(i + 1, j + 1)[: len(dims)]])
        return sp.ImmutableDenseNDimArray(list(self.entries.values()), dims)


def _complex_or_real(name: str, complex_: bool) -> sp.Expr:
    """``name`` as a real symbol, or ``name_re + I*name_im``."""
    if complex_:
        return sp.Symbol(f"{name}_re", real=True) + sp.I * sp.Symbol(f"{name}_im", real=True)
    return sp.Symbol(name, real=True)


def couplings(lag: Lagrangian) -> list[Coupling | None]:
    """Per term its :class:`Coupling` (None for kinetic terms), named as in the JSON."""
    out: list[Coupling | None] = []
    for t, data in zip(lag.terms, term_couplings(lag.terms)):
        out.append(
            None
            if data is None
            else Coupling(data["name"], data["complex"], -1 if t.sign == "-" else 1, t.flavour)
        )
    return out


# -- operators ---------------------------------------------------------------------------------
def operator(
    term: Term,
    comps: Sequence[ComponentField],
    by_factor: Sequence[ComponentField] | None = None,
) -> sp.Expr:
    """The operator O of a derivative-free term (no coupling, no sign, no h.c.) with every
    index summed over components; ``by_factor`` gives each factor's components (one flavour
    each) instead of ``comps[field]``."""
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
            comp = by_factor[pos] if by_factor is not None else comps[f.field]
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
    if term.flavour is not None:
        raise LagnbError(
            f"a {term.kind} term with a flavour structure needs flavour_term_expression"
        )
    op = sp.Rational(term.prefactor.numerator, term.prefactor.denominator) * operator(term, comps)
    if not term.hermitian:
        piece = coupling.value * op
        return coupling.sign * sp.expand(piece + sp.conjugate(piece))
    if sp.expand(op - sp.conjugate(op)) != 0:
        if sp.expand(op + sp.conjugate(op)) != 0:  # pragma: no cover - the basis is hermitian
            raise LagnbError(f"a {term.kind} term is neither hermitian nor anti-hermitian")
        op = sp.I * op
    return coupling.sign * coupling.value * sp.expand(op)


def flavour_term_expression(
    term: Term, coupling: Coupling, comps: Sequence[Sequence[ComponentField]]
) -> sp.Expr:
    """sign · p · (Σ_{I…} c_{I…} O_{I…} + h.c.) of a term whose fields have several
    generations: O_{I…} takes flavour I of each flavoured factor (``comps[field][I − 1]``),
    c is the coupling tensor (:attr:`Coupling.entries`, with the symmetry of identical
    flavoured factors).  Only O + h.c. terms with a symmetry of at most pairs are written (all
    fermion masses and Yukawas); anything else raises :class:`LagnbError` naming the term."""
    assert term.flavour is not None
    flavour = term.flavour
    if term.hermitian or any(
        len(pos) != 2 or p not in ((2,), (1, 1)) for pos, p in flavour.symmetry
    ):
        raise LagnbError(
            f"a {term.kind} term with flavour structure {flavour.describe()} is not written in "
            "components (only complex coupling tensors with pairwise symmetries are)"
        )
    factors = term.field_factors
    flavoured = [k for k, n in enumerate(flavour.generations) if n > 1]
    total = sp.S.Zero
    for idx, c in coupling.entries.items():
        if c == 0:
            continue
        by_factor = [comps[f.field][0] for f in factors]
        for k, i in zip(flavoured, idx):
            by_factor[k] = comps[factors[k].field][i - 1]
        total += c * operator(term, [], by_factor)
    piece = sp.Rational(term.prefactor.numerator, term.prefactor.denominator) * total
    return coupling.sign * sp.expand(piece + sp.conjugate(piece))


def _term_expressions(lag: Lagrangian, keep) -> list[sp.Expr]:
    """The component expression of every derivative-free term for which ``keep(term)``."""
    comps = flavour_components(lag)
    flat = [c[0] for c in comps]
    out = []
    for t, c in zip(lag.terms, couplings(lag)):
        if t.derivatives or not keep(t):
            continue
        if t.flavour is None:
            out.append(term_expression(t, c, flat))
        else:
            assert c is not None
            out.append(flavour_term_expression(t, c, comps))
    return out


def to_sympy(lag: Lagrangian) -> sp.Expr:
    """ℒ without its derivative terms: −V plus the Yukawa and fermion mass terms with their
    hermitian conjugates, as a real SymPy expression over component fields and couplings
    (a fermion with several generations: one set of components per flavour and coupling
    tensors, see :class:`Coupling`)."""
    return sp.Add(*_term_expressions(lag, lambda t: True))


def potential(lag: Lagrangian) -> sp.Expr:
    """The scalar potential V (ℒ ⊃ −V): scalar masses, trilinears and quartics, summed over
    components, as a real SymPy expression."""
    return -sp.Add(
        *_term_expressions(
            lag, lambda t: all(lag.fields[f.field].is_scalar for f in t.field_factors)
        )
    )


def components(lag: Lagrangian) -> dict[str, list[sp.Symbol]]:
    """The component symbols of each field, by the field's display name (flavour after
    flavour for a fermion with several generations)."""
    return {
        n: [s for c in cs for s in c.components]
        for n, cs in zip(lag.names, flavour_components(lag))
    }


def coupling_symbols(lag: Lagrangian) -> dict[str, sp.Expr]:
    """Every coupling by name: a real symbol or ``re + I*im``."""
    return {c.name: c.value for c in couplings(lag) if c is not None}
