"""Independent operator counting by Weyl characters (a check on :mod:`lagnb.physics.engine`).

The engine builds explicit index contractions and decides their independence numerically.
This module counts the same operators a different way, with no contractions at all:

* every *object* (a field or a conjugate field) is described by its weight multiset under
  SU(3) × SU(2) × Lorentz SU(2)_l × SU(2)_r, plus its hypercharge Y;
* ``m`` identical objects span the graded symmetric power of the object's representation:
  Sym^m for a boson and Λ^m for a Weyl fermion (Fermi statistics on the *full* Lorentz ⊗ gauge
  representation).  For two identical Weyl fermions contracted with the Lorentz ε this leaves a
  symmetric gauge part, as it should; here it comes out of the character algebra by itself.
  Powers are computed with Newton's identities on characters
  (Sym^m = 1/m Σ_k ψ^k Sym^{m−k}, Λ^m = 1/m Σ_k (−1)^{k−1} ψ^k Λ^{m−k}, ψ^k = Adams operation);
* the number of singlets of a character χ of a product of simple groups is the coefficient of
  e^ρ in χ · (Weyl denominator), n_0 = Σ_w ε(w) m_χ(ρ − wρ), summed over the Weyl group
  W(SU3) × W(SU2) × W(SU2_l) × W(SU2_r) (48 elements);
* U(1): all weights of one object share its hypercharge, so the Y = 0 projection is the
  condition Σ_k m_k Y_k = 0 on the monomial.

Counting convention (as BasisGen's): a monomial is a multiset of objects, O and O† are separate
monomials, so a complex operator counts once for its monomial and once for the conjugate
monomial, and the number for a self-conjugate monomial is the complex dimension of its space of
invariants (= the number of real couplings).  The enumeration covers every derivative-free
product of two or more objects with mass dimension ≤ 4 (scalars 1, Weyl fermions 3/2), whatever
their chiralities: the Lorentz character decides which ones survive.  Tadpoles (one object) are
excluded.

Extra symmetries, real scalars and generations: a monomial must have zero total charge under
each extra U(1) and zero mod N under each Z_N (like hypercharge, a condition on the monomial);
a real scalar is one object, its own conjugate; a field with n generations is the
representation V ⊗ ℂⁿ with the gauge group acting on V alone, so its character is n times V's
and P^m(V ⊗ ℂⁿ) counts every flavour component of the couplings (BasisGen's
``number_of_flavors``): the count of a monomial is then its number of independent complex
couplings (real ones for a self-conjugate monomial).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from functools import lru_cache
from itertools import combinations_with_replacement

from lagnb.physics.fields import Field

Weight = tuple[int, int, int, int, int]
"""(SU(3) Dynkin a, SU(3) Dynkin b, SU(2) 2T3, Lorentz 2J3_l, Lorentz 2J3_r)."""
Character = dict[Weight, int]
Obj = tuple[int, bool]
Monomial = tuple[Obj, ...]

INTERACTION_KINDS = ("yukawa", "trilinear", "quartic", "mass")
"""Engine term kinds that are derivative-free operators of two or more objects."""

# -- weights of the representations ----------------------------------------------------------------
_SU3_FUND: tuple[tuple[int, int], ...] = ((1, 0), (-1, 1), (0, -1))
"""Weights of the 3 in the Dynkin basis (highest weight (1, 0))."""


def _add2(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return (a[0] + b[0], a[1] + b[1])


def su3_irrep_weights(rep: int) -> list[tuple[int, int]]:
    """Weights (Dynkin basis, with multiplicity) of the SU(3) irreps 1, 3, 3̄, 6, 6̄, 8.

    Built from the fundamental: 6 = Sym²(3), 8 = 3 ⊗ 3̄ minus one zero weight (the trace),
    bars by negation.  Independent of :func:`lagnb.physics.groups.su3_weights` (tested against it).
    """
    base = abs(rep)
    if base == 1:
        out = [(0, 0)]
    elif base == 3:
        out = list(_SU3_FUND)
    elif base == 6:
        out = [_add2(a, b) for a, b in combinations_with_replacement(_SU3_FUND, 2)]
    elif base == 8:
        out = [_add2(a, (-b[0], -b[1])) for a in _SU3_FUND for b in _SU3_FUND]
        out.remove((0, 0))
    else:
        raise ValueError(f"unsupported SU(3) representation {rep}")
    return [(-a, -b) for a, b in out] if rep < 0 else out


def su2_irrep_weights(dim: int) -> list[int]:
    """Weights 2T3 of the SU(2) irrep of dimension ``dim``."""
    return [dim - 1 - 2 * k for k in range(dim)]


def object_character(f: Field, conj: bool) -> Character:
    """Character of one object: the field (or its conjugate) as a Lorentz ⊗ gauge rep.

    A left-handed Weyl field is (1/2, 0), a right-handed one (0, 1/2); conjugation conjugates
    every factor: SU(3) weights negated (3 ↔ 3̄), SU(2) weights negated (a relabelling, the
    irreps are self-conjugate) and (j_l, j_r) swapped.
    """
    if f.is_scalar:
        lor = [(0, 0)]
    elif f.helicity < 0:
        lor = [(1, 0), (-1, 0)]
    else:
        lor = [(0, 1), (0, -1)]
    s3 = su3_irrep_weights(f.su3)
    s2 = su2_irrep_weights(f.su2)
    if conj:
        s3 = [(-a, -b) for a, b in s3]
        s2 = [-t for t in s2]
        lor = [(jr, jl) for jl, jr in lor]
    ch: Counter[Weight] = Counter()
    for a, b in s3:
        for t in s2:
            for jl, jr in lor:
                ch[(a, b, t, jl, jr)] += f.generations
    return dict(ch)


# -- character algebra -----------------------------------------------------------------------------
def char_mul(x: Mapping[Weight, int], y: Mapping[Weight, int]) -> Character:
    """Character of a tensor product (weights add, multiplicities multiply)."""
    out: dict[Weight, int] = {}
    for w1, m1 in x.items():
        for w2, m2 in y.items():
            w = (w1[0] + w2[0], w1[1] + w2[1], w1[2] + w2[2], w1[3] + w2[3], w1[4] + w2[4])
            out[w] = out.get(w, 0) + m1 * m2
    return {w: m for w, m in out.items() if m}


def adams(x: Mapping[Weight, int], k: int) -> Character:
    """The Adams operation ψ^k: χ(g) ↦ χ(g^k), i.e. every weight multiplied by k."""
    return {tuple(k * c for c in w): m for w, m in x.items()}  # type: ignore[misc]


def graded_power(x: Mapping[Weight, int], m: int, fermionic: bool) -> Character:
    """Sym^m (bosons) or Λ^m (fermions) of a representation with character ``x``.

    Newton's identity: m·h_m = Σ_{k=1}^m s_k ψ^k(x)·h_{m−k} with s_k = 1 for Sym and
    s_k = (−1)^{k−1} for Λ.
    """
    powers: list[Character] = [{(0, 0, 0, 0, 0): 1}]
    for n in range(1, m + 1):
        acc: dict[Weight, int] = {}
        for k in range(1, n + 1):
            sign = -1 if fermionic and k % 2 == 0 else 1
            for w, c in char_mul(adams(x, k), powers[n - k]).items():
                acc[w] = acc.get(w, 0) + sign * c
        nxt: Character = {}
        for w, c in acc.items():
            if c % n:
                raise ArithmeticError(f"Newton recursion gave a non-integer multiplicity at {w}")
            if c:
                nxt[w] = c // n
        powers.append(nxt)
    return powers[m]


def _weyl_terms() -> list[tuple[Weight, int]]:
    """(ρ − wρ, ε(w)) for every w of W(SU3) × W(SU2)³."""
    # W(SU3) acting on ρ = (1, 1) in the Dynkin basis, with signs (det of w).
    su3 = [((0, 0), 1), ((2, -1), -1), ((-1, 2), -1), ((3, 0), 1), ((0, 3), 1), ((2, 2), -1)]
    su2 = [(0, 1), (2, -1)]  # ρ = 1 in units of 2T3: ρ − ρ = 0, ρ − (−ρ) = 2
    out = []
    for (a, b), s3 in su3:
        for t, s2 in su2:
            for jl, sl in su2:
                for jr, sr in su2:
                    out.append(((a, b, t, jl, jr), s3 * s2 * sl * sr))
    return out


_WEYL = _weyl_terms()


def singlets(x: Mapping[Weight, int]) -> int:
    """Number of trivial irreps in a character: Σ_w ε(w) m(ρ − wρ)."""
    return sum(sign * x.get(w, 0) for w, sign in _WEYL)


def singlets_of_product(chars: Sequence[Mapping[Weight, int]]) -> int:
    """Singlets of ⊗_k chars[k], computing only the 48 coefficients that are needed."""
    if not chars:
        return 1
    acc: Mapping[Weight, int] = {(0, 0, 0, 0, 0): 1}
    for ch in chars[:-1]:
        acc = char_mul(acc, ch)
    last = chars[-1]
    total = 0
    for target, sign in _WEYL:
        s = 0
        for w, m in last.items():
            c = acc.get(
                (
                    target[0] - w[0],
                    target[1] - w[1],
                    target[2] - w[2],
                    target[3] - w[3],
                    target[4] - w[4],
                )
            )
            if c:
                s += c * m
        total += sign * s
    return total


RepKey = tuple[Fraction, int, int, "Fraction | None", bool, int]
"""(spin, SU(3) rep, SU(2) rep, helicity, conjugate?, generations): what an object's
character depends on."""


def _rep_key(f: Field, conj: bool) -> RepKey:
    return (f.spin, f.su3, f.su2, f.helicity, conj and not f.real, f.generations)


@lru_cache(maxsize=4096)
def _power_of(key: RepKey, m: int) -> tuple[tuple[Weight, int], ...]:
    spin, su3, su2, helicity, conj, generations = key
    f = Field(spin, su3, su2, Fraction(0), helicity, generations=generations)
    return tuple(graded_power(object_character(f, conj), m, f.is_fermion).items())


@lru_cache(maxsize=65536)
def _count_signature(signature: tuple[tuple[RepKey, int], ...]) -> int:
    """Singlets of ⊗ P^m(rep) for a sorted tuple of (rep key, multiplicity m)."""
    chars = sorted((dict(_power_of(key, m)) for key, m in signature), key=len)
    return singlets_of_product(chars)


# -- public API ------------------------------------------------------------------------------------
def _check_monomial(fields: Sequence[Field], monomial: Iterable[Obj]) -> list[Obj]:
    objs = [(int(i), bool(c)) for i, c in monomial]
    for i, _ in objs:
        if not 0 <= i < len(fields):
            raise ValueError(f"monomial refers to field {i}, but there are {len(fields)} fields")
    return [(i, c and not fields[i].real) for i, c in objs]


def count_monomial(fields: Sequence[Field], monomial: Iterable[Obj]) -> int:
    """Number of independent Lorentz- and gauge-invariant operators with this field content.

    ``monomial`` is a multiset of objects (field index, conjugate?).  Derivative-free: the
    count is the number of singlets of SU(3)×SU(2)×Lorentz in ⊗_k P^{m_k}(V_k) with zero total
    hypercharge, P = Sym for scalars and Λ for Weyl fermions.
    """
    objs = _check_monomial(fields, monomial)
    multiplicity = Counter(objs)
    y = sum(
        (m * (-fields[i].y if c else fields[i].y) for (i, c), m in multiplicity.items()),
        Fraction(0),
    )
    if y != 0:
        return 0
    for sym in sorted({s for i, _ in multiplicity for s, _ in fields[i].charges}):
        q = sum(
            (m * (-1 if c and not fields[i].real else 1) * fields[i].charge(sym))
            for (i, c), m in multiplicity.items()
        )
        if (q % sym.order) if sym.is_discrete else q:
            return 0
    signature = sorted(
        ((_rep_key(fields[i], c), m) for (i, c), m in multiplicity.items()),
        key=repr,
    )
    return _count_signature(tuple(signature))


def mass_dimension(fields: Sequence[Field], monomial: Iterable[Obj]) -> Fraction:
    """Mass dimension of a derivative-free monomial (scalars 1, Weyl fermions 3/2)."""
    return sum(
        (Fraction(3, 2) if fields[i].is_fermion else Fraction(1) for i, _ in monomial), Fraction(0)
    )


def renormalizable_monomials(fields: Sequence[Field]) -> list[Monomial]:
    """Every multiset of ≥ 2 objects (fields and conjugates) with mass dimension ≤ 4.

    This is deliberately wider than the engine's list (it includes, e.g., ψ χ† and three- or
    four-fermion-free mixtures that Lorentz invariance kills): the characters decide.
    """
    objs = [(i, c) for i, f in enumerate(fields) for c in ((False,) if f.real else (False, True))]
    out: list[Monomial] = []
    for n in (2, 3, 4):
        for mono in combinations_with_replacement(objs, n):
            if mass_dimension(fields, mono) <= 4:
                out.append(tuple(sorted(mono)))
    return out


def operator_counts(fields: Sequence[Field]) -> dict[Monomial, int]:
    """Number of derivative-free renormalizable invariants per monomial (non-zero ones only).

    Monomial keys are sorted tuples of (field index, conjugate?); O and O† are separate keys.
    """
    fields = tuple(fields)
    out: dict[Monomial, int] = {}
    for mono in renormalizable_monomials(fields):
        n = count_monomial(fields, mono)
        if n < 0:
            raise ArithmeticError(f"negative singlet count {n} for {mono}")
        if n:
            out[mono] = n
    return out


def engine_counts(lagrangian: object, flavours: bool = False) -> dict[Monomial, int]:
    """The engine's Lagrangian in the same convention as :func:`operator_counts`.

    A non-hermitian term (O + h.c.) counts 1 for its monomial and 1 for the conjugate monomial
    (2 for a self-conjugate monomial), a hermitian term 1; kinetic and gauge kinetic terms are
    left out.  With ``flavours`` each term counts its number of independent flavour components
    instead of 1 (see :attr:`~lagnb.physics.terms.Term.flavour`): complex ones for O + h.c.,
    real ones for a hermitian operator.
    """
    fields = lagrangian.fields  # type: ignore[attr-defined]
    counts: Counter[Monomial] = Counter()
    for term in lagrangian.terms:  # type: ignore[attr-defined]
        if term.kind not in INTERACTION_KINDS:
            continue
        mono = tuple(sorted(term.monomial))
        n = 1
        if flavours and term.flavour is not None:
            n = term.flavour.components
        counts[mono] += n
        if not term.hermitian:
            conj = tuple(sorted((i, c if fields[i].real else not c) for i, c in mono))
            counts[conj] += n
    return dict(counts)


def compare_counts(
    expected: Mapping[Monomial, int], got: Mapping[Monomial, int]
) -> dict[Monomial, tuple[int, int]]:
    """Monomials where two count dictionaries differ: {monomial: (expected, got)}."""
    keys = set(expected) | set(got)
    return {
        k: (expected.get(k, 0), got.get(k, 0))
        for k in sorted(keys)
        if expected.get(k, 0) != got.get(k, 0)
    }
