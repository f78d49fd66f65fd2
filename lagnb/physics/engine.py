"""The Lagrangian engine: every gauge- and Lorentz-invariant renormalizable term of a field list.

Mass dimension ≤ 4 with complex scalars φ (dimension 1) and Weyl fermions ψ (dimension 3/2):

* kinetic terms (D_μφ)†(D^μφ) and i ψ†σ̄^μ D_μ ψ, one per field, and one gauge kinetic term per
  gauge group under which some field is charged (as in the BART-L data);
* scalar masses φ_a φ_b and φ_a† φ_b, trilinears and quartics: every product of two, three or
  four scalar objects (fields or conjugates) with zero total charge;
* fermion masses ψ_a ψ_b and Yukawas φ ψ_a ψ_b, where ψ_a, ψ_b are left-handed spinors: a
  left-handed field or the conjugate of a right-handed one (Dirac masses are of this form,
  Majorana masses when a = b).  The conjugate operators are the h.c.

Each product of objects (a *monomial*) gets all its independent index contractions from
:mod:`lagnb.physics.contractions`, symmetrised over identical objects.  Tadpoles (a single singlet
scalar) and kinetic mixing of matter fields are left out: both are removed by field
redefinitions.

Extra symmetries (:mod:`lagnb.physics.symmetries`): a monomial must have zero total charge
under every global or gauged U(1) and zero mod N under every Z_N; each gauged U(1)′ with
charged fields adds its −¼ X_μν X^μν, and every pair of gauged Abelian factors (hypercharge
included) the kinetic mixing −(ε/2) F_μν F′^μν (kind ``kinetic_mixing``, after the gauge
kinetic terms).  A real scalar S (``Field(real=True)``) is its own conjugate: its kinetic
term is ½ (D_μS)(D^μS), its mass ½ m² S², and odd products (S³, H†H S) are allowed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from fractions import Fraction
from functools import lru_cache
from itertools import combinations, combinations_with_replacement

from lagnb.errors import FieldError
from lagnb.physics.contractions import Atom, Slot, invariant_basis
from lagnb.physics.fields import Field, parse_fields
from lagnb.physics.flavour import Flavour, flavoured_basis, schur_dimension
from lagnb.physics.groups import su2_slots, su3_conjugate, su3_slots
from lagnb.physics.symmetries import Symmetry
from lagnb.physics.terms import Commutator, Derivative, FieldFactor, Lagrangian, SigmaBar, Term

Obj = tuple[int, bool]
Monomial = tuple[Obj, ...]


def as_fields(fields: str | Iterable[Field]) -> tuple[Field, ...]:
    """A field list from a BART-L input string or from :class:`Field` objects."""
    if isinstance(fields, str):
        return parse_fields(fields)
    out = tuple(fields)
    for i, f in enumerate(out):
        if not isinstance(f, Field):
            raise FieldError(f"field {i + 1}: expected a lagnb.Field, got {type(f).__name__}")
    if not out:
        raise FieldError("the field list is empty")
    syms = extra_symmetries(out)
    names = [s.name for s in syms]
    for s in syms:
        if names.count(s.name) > 1:
            raise FieldError(f"two different symmetries are named {s.name!r}")
    return out


def object_rep(f: Field, conj: bool) -> tuple[int, int, Fraction]:
    """(SU(3) rep, SU(2) rep, hypercharge) of a field or of its conjugate."""
    return (su3_conjugate(f.su3), f.su2, -f.y) if conj else (f.su3, f.su2, f.y)


def is_left_spinor(f: Field, conj: bool) -> bool:
    """True for an undotted (left-handed) spinor: a left-handed field or a right-handed one's
    conjugate."""
    return f.is_fermion and ((f.helicity < 0) != conj)


def extra_symmetries(fields: Sequence[Field]) -> tuple[Symmetry, ...]:
    """The extra Abelian symmetries under which some field of the list is charged, sorted."""
    return tuple(sorted({s for f in fields for s, _ in f.charges}))


def objects_of(fields: Sequence[Field], i: int) -> tuple[Obj, ...]:
    """The objects of field i: the field and its conjugate, or the field alone if it is real."""
    return ((i, False),) if fields[i].real else ((i, False), (i, True))


@lru_cache(maxsize=64)
def _charges(
    fields: tuple[Field, ...],
) -> tuple[dict[Obj, tuple[int, ...]], tuple[int, ...]]:
    """Per object its additive charges as integers, and the modulus each sum must vanish by.

    Components: hypercharge × common denominator (sum 0), triality p − q (0 mod 3), number of
    SU(2) indices (even), then one per extra symmetry: a U(1) charge × its common denominator
    (sum 0) or a Z_N charge (0 mod N).
    """
    syms = extra_symmetries(fields)
    den = math.lcm(*(f.y.denominator for f in fields))
    dens = [math.lcm(*(f.charge(s).denominator for f in fields)) for s in syms]
    mods = (0, 3, 2, *(s.order for s in syms))
    out = {}
    for i, f in enumerate(fields):
        for c in (False, True):
            su3, su2, y = object_rep(f, c)
            p, q = su3_slots(su3)
            sign = -1 if c and not f.real else 1
            extra = tuple(
                int(sign * f.charge(s)) % s.order if s.is_discrete else int(sign * f.charge(s) * d)
                for s, d in zip(syms, dens)
            )
            out[(i, c)] = (int(y * den), p - q, su2_slots(su2), *extra)
    return out, mods


def allowed(fields: Sequence[Field], mono: Monomial) -> bool:
    """Cheap necessary conditions: zero hypercharge, zero triality, an even number of SU(2)
    indices, and zero total charge (mod N for a Z_N) under every extra symmetry."""
    table, mods = _charges(tuple(fields))
    if len(mods) == 3:
        y = tri = s2 = 0
        for obj in mono:
            dy, dt, ds = table[obj]
            y, tri, s2 = y + dy, tri + dt, s2 + ds
        return y == 0 and tri % 3 == 0 and s2 % 2 == 0
    sums = [sum(col) for col in zip(*(table[obj] for obj in mono))]
    return all((total % m == 0) if m else total == 0 for total, m in zip(sums, mods))


def conjugate_object(fields: Sequence[Field] | None, obj: Obj) -> Obj:
    """The conjugate of an object; a real scalar is its own conjugate."""
    i, c = obj
    return obj if fields is not None and fields[i].real else (i, not c)


def conjugate_monomial(mono: Monomial, fields: Sequence[Field] | None = None) -> Monomial:
    """The conjugate monomial (pass ``fields`` when some may be real)."""
    return tuple(sorted(conjugate_object(fields, o) for o in mono))


def monomial_slots(
    fields: Sequence[Field], mono: Monomial, distinct_copies: bool = False
) -> tuple[tuple[Slot, ...], tuple[tuple[int, int], ...]]:
    """The contraction code's view of a (sorted) monomial and its conjugate pairs.

    With ``distinct_copies`` the copies of a field with several generations are distinct
    objects (different flavours), as the checker needs; the pairs are then left out."""
    if distinct_copies and any(fields[i].generations > 1 for i, _ in mono):
        slots = []
        for k, obj in enumerate(mono):
            f = fields[obj[0]]
            su3, su2, _ = object_rep(f, obj[1])
            first = mono.index(obj)
            slots.append(Slot(su3, su2, obj[1], k if f.generations > 1 else first, f.real))
        return tuple(slots), ()
    cls: dict[Obj, int] = {}
    slots = []
    for obj in mono:
        cls.setdefault(obj, len(cls))
        f = fields[obj[0]]
        su3, su2, _ = object_rep(f, obj[1])
        slots.append(Slot(su3, su2, obj[1], cls[obj], f.real))
    pairs = tuple(
        (cls[(i, False)], cls[(i, True)] if not fields[i].real else cls[(i, False)])
        for (i, c) in cls
        if not c and ((i, True) in cls or fields[i].real)
    )
    return tuple(slots), pairs


def monomial_terms(fields: Sequence[Field], mono: Monomial, kind: str, sign: str) -> list[Term]:
    """All independent terms of one monomial (sorted objects = factor order), each with its
    flavour structure when a field has several generations."""
    if not allowed(fields, mono):
        return []
    self_conjugate = conjugate_monomial(mono, fields) == mono
    fermions = [k for k, (i, _) in enumerate(mono) if fields[i].is_fermion]
    lorentz = (Atom("LORENTZ", tuple((k, "") for k in fermions)),) if fermions else ()
    factors = tuple(FieldFactor(i, c) for i, c in mono)
    # ½ m² S² for a real scalar S, as for a Majorana-type mass of a real field
    half = kind == "mass" and len(mono) == 2 and mono[0] == mono[1] and fields[mono[0][0]].real
    prefactor = Fraction(1, 2) if half else Fraction(1)
    gens = tuple(fields[i].generations for i, _ in mono)
    repeated = [
        o
        for o in dict.fromkeys(mono)
        if fields[o[0]].generations > 1 and mono.count(o) > 1  # type: ignore[arg-type]
    ]
    if repeated:
        return _flavoured_terms(fields, mono, repeated, self_conjugate, kind, sign, prefactor)
    slots, pairs = monomial_slots(fields, mono)
    flavoured = max(gens) > 1
    out = []
    for inv in invariant_basis(slots, pairs if self_conjugate else ()):
        flavour = None
        if flavoured:
            n = math.prod(gens)
            flavour = Flavour(gens, (), n, n if inv.hermitian else 2 * n)
        out.append(
            Term(
                kind,
                factors,
                lorentz + inv.atoms,
                hermitian=inv.hermitian,
                sign=sign,
                prefactor=prefactor,
                flavour=flavour,
            )
        )
    return out


def _flavoured_terms(
    fields: Sequence[Field],
    mono: Monomial,
    repeated: list[Obj],
    self_conjugate: bool,
    kind: str,
    sign: str,
    prefactor: Fraction,
) -> list[Term]:
    """The terms of a monomial in which a field with several generations appears more than
    once: the copies are distinct objects and the coupling takes the permutation symmetry of
    each contraction (:mod:`lagnb.physics.flavour`)."""
    copy: dict[Obj, int] = {}
    keys = []
    for obj in mono:
        k = copy.get(obj, 0)
        copy[obj] = k + 1
        keys.append((obj, k if obj in repeated else 0))
    cls: dict[tuple[Obj, int], int] = {}
    slots = []
    for key in keys:
        cls.setdefault(key, len(cls))
        f = fields[key[0][0]]
        su3, su2, _ = object_rep(f, key[0][1])
        slots.append(Slot(su3, su2, key[0][1], cls[key], f.real))
    pairs: tuple[tuple[int, int], ...] = ()
    if self_conjugate:
        pairs = tuple(
            (c, cls[(conjugate_object(fields, obj), k)])
            for (obj, k), c in cls.items()
            if not obj[1] or fields[obj[0]].real
        )
    groups = tuple(tuple(p for p, o in enumerate(mono) if o == obj) for obj in repeated)
    group_gens = tuple(fields[obj[0]].generations for obj in repeated)
    gens = tuple(fields[i].generations for i, _ in mono)
    in_groups = {p for g in groups for p in g}
    single = math.prod(n for p, n in enumerate(gens) if p not in in_groups)
    fermions = [k for k, (i, _) in enumerate(mono) if fields[i].is_fermion]
    lorentz = (Atom("LORENTZ", tuple((k, "") for k in fermions)),) if fermions else ()
    factors = tuple(FieldFactor(i, c) for i, c in mono)
    out = []
    for fi in flavoured_basis(tuple(slots), pairs, groups, group_gens):
        n = single * fi.copies
        n *= math.prod(schur_dimension(p, g) for p, g in zip(fi.sector, group_gens))
        herm = fi.invariant.hermitian
        flavour = Flavour(gens, tuple(zip(groups, fi.sector)), n, n if herm else 2 * n)
        out.append(
            Term(
                kind,
                factors,
                lorentz + fi.invariant.atoms,
                hermitian=herm,
                sign=sign,
                prefactor=prefactor,
                flavour=flavour,
            )
        )
    return out


def _canonical(mono: Monomial, fields: Sequence[Field] | None = None) -> bool:
    """Whether ``mono`` (not its conjugate) is the one to list: fewer conjugates, then order."""
    conj = conjugate_monomial(mono, fields)
    return (sum(c for _, c in mono), mono) <= (sum(c for _, c in conj), conj)


def scalar_objects(fields: Sequence[Field]) -> list[Obj]:
    """Every scalar object: each complex scalar and its conjugate, each real scalar once."""
    return [o for i, f in enumerate(fields) if f.is_scalar for o in objects_of(fields, i)]


def scalar_monomials(fields: Sequence[Field], n: int) -> list[Monomial]:
    """Products of n scalar objects, one of each conjugate pair of monomials."""
    objs = scalar_objects(fields)
    return [m for m in combinations_with_replacement(objs, n) if _canonical(m, fields)]


def left_spinors(fields: Sequence[Field]) -> list[Obj]:
    return [(i, f.helicity > 0) for i, f in enumerate(fields) if f.is_fermion]


def interaction_terms(fields: Sequence[Field]) -> list[Term]:
    """Yukawas, then scalar trilinears, then scalar quartics."""
    terms: list[Term] = []
    spinor_pairs = list(combinations_with_replacement(left_spinors(fields), 2))
    scalars = scalar_objects(fields)
    for s in scalars:
        for pair in spinor_pairs:
            mono = tuple(sorted((*pair, s)))
            terms += monomial_terms(fields, mono, "yukawa", "+")
    for n, kind in ((3, "trilinear"), (4, "quartic")):
        for mono in scalar_monomials(fields, n):
            terms += monomial_terms(fields, mono, kind, "+")
    return terms


def mass_terms(fields: Sequence[Field]) -> list[Term]:
    """Scalar masses φ†φ, φ_aφ_b (h.c.), then fermion masses ψ_aψ_b (h.c.)."""
    terms: list[Term] = []
    for mono in scalar_monomials(fields, 2):
        terms += monomial_terms(fields, mono, "mass", "+")
    for pair in combinations_with_replacement(left_spinors(fields), 2):
        terms += monomial_terms(fields, tuple(sorted(pair)), "mass", "-")
    return terms


def _delta_atoms(fields: Sequence[Field], i: int, dag: int, pos: int) -> list[Atom]:
    """δ contractions joining the conjugate of field i (at ``dag``) to field i (at ``pos``)."""
    f = fields[i]
    p, q = su3_slots(f.su3)
    atoms = [Atom("SU3", ((dag, "u"), (pos, "d")))] * q
    atoms += [Atom("SU3", ((pos, "u"), (dag, "d")))] * p
    atoms += [Atom("SU2", ((dag, "u"), (pos, "d")))] * su2_slots(f.su2)
    return atoms


def kinetic_term(fields: Sequence[Field], i: int) -> Term:
    """(D_μφ)†(D^μφ) for a scalar, ½ (D_μS)(D^μS) for a real one, i ψ†σ̄^μD_μψ for a Weyl
    fermion."""
    if fields[i].is_scalar:
        real = fields[i].real
        factors = (Derivative(i), FieldFactor(i, not real), Derivative(i), FieldFactor(i, False))
        atoms = [Atom("LORENTZ", ((0, ""), (2, ""))), *_delta_atoms(fields, i, 1, 3)]
        prefactor = Fraction(1, 2) if real else Fraction(1)
        return Term("kinetic", factors, tuple(sorted(atoms)), True, "+", prefactor=prefactor)
    factors = (FieldFactor(i, True), SigmaBar(), Derivative(i), FieldFactor(i, False))
    atoms = [
        Atom("LORENTZ", ((1, ""), (2, ""))),
        Atom("LORENTZ", ((0, ""), (1, ""))),
        Atom("LORENTZ", ((1, ""), (3, ""))),
        *_delta_atoms(fields, i, 0, 3),
    ]
    return Term("kinetic", factors, tuple(sorted(atoms)), True, "+", imaginary=True)


_FIELD_STRENGTH_ATOMS = (Atom("LORENTZ", ((0, ""), (2, ""))), Atom("LORENTZ", ((1, ""), (3, ""))))


def gauge_groups(fields: Sequence[Field]) -> list[str]:
    """The gauge groups under which some field is charged: SU3, SU2, U1 (hypercharge), then
    each gauged U(1)′ as ``U1:<name>``."""
    charged = {
        "SU3": any(f.su3 != 1 for f in fields),
        "SU2": any(f.su2 != 1 for f in fields),
        "U1": any(f.y != 0 for f in fields),
    }
    out = [g for g, on in charged.items() if on]
    return out + [s.group for s in extra_symmetries(fields) if s.is_gauged]


def gauge_kinetic_terms(fields: Sequence[Field]) -> list[Term]:
    """−¼ F^A_μν F^Aμν for each gauge group under which some field is charged."""
    return [
        Term(
            "gauge_kinetic",
            tuple(Commutator(p, g) for p in "ABAB"),
            _FIELD_STRENGTH_ATOMS,
            True,
            "-",
        )
        for g in gauge_groups(fields)
    ]


def kinetic_mixing_terms(fields: Sequence[Field]) -> list[Term]:
    """−(ε/2) F_μν F′^μν for each pair of gauged Abelian groups (hypercharge and U(1)′s) with
    charged fields: gauge invariant (an Abelian field strength is), dimension 4, real ε."""
    abelian = [g for g in gauge_groups(fields) if g.startswith("U1")]
    return [
        Term(
            "kinetic_mixing",
            (Commutator("A", g1), Commutator("B", g1), Commutator("A", g2), Commutator("B", g2)),
            _FIELD_STRENGTH_ATOMS,
            True,
            "-",
            prefactor=Fraction(1, 2),
        )
        for g1, g2 in combinations(abelian, 2)
    ]


def lagrangian(fields: str | Iterable[Field]) -> Lagrangian:
    """The renormalizable Lagrangian of a field list (a BART-L input string or Fields).

    Terms come in canonical order: Yukawas, trilinears, quartics, kinetic terms (input order),
    gauge kinetic terms, masses; the same field list always gives the identical result.
    """
    return lagrangian_parsed(as_fields(fields))


def lagrangian_parsed(fs: tuple[Field, ...]) -> Lagrangian:
    """:func:`lagrangian` of a field list already parsed by :func:`as_fields` (a non-empty
    tuple of Fields): for callers inside lagnb that hold one."""
    terms = interaction_terms(fs)
    terms += [kinetic_term(fs, i) for i in range(len(fs))]
    terms += gauge_kinetic_terms(fs)
    terms += kinetic_mixing_terms(fs)
    terms += mass_terms(fs)
    return Lagrangian(fs, tuple(terms))
