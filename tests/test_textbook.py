"""Textbook Lagrangians reproduced term by term by the engine (issue 2, "Correctness").

Every expected operator below is written down from the physics literature and a hand
derivation, *not* from the engine's output.  Conventions of the engine (see lagnb/engine.py):

* hypercharge Q = T3 + Y/2: H = (1,2,1), Q = (3,2,1/3) L, u = (3,1,4/3) R, d = (3,1,-2/3) R,
  L = (1,2,-1) L, e = (1,1,-2) R;
* fermion bilinears are built from left-handed (undotted) spinors only: a left-handed field or
  the conjugate of a right-handed one (u†, d†, e†), so the up Yukawa is the monomial
  {Q, u†, H} and its h.c. is implied;
* a monomial that is not its own conjugate appears once and stands for O + h.c. (complex
  coupling); a self-conjugate one appears with real couplings where its invariants are
  hermitian.  Which of O and O† the engine writes is a convention, so complex operators are
  compared up to conjugation.

Each expected operator is ``(kind, monomial, number of independent contractions, hermitian)``;
the engine must produce exactly that multiset per kind, no more and no less.  Hand derivations
are in the comments next to each model.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import NamedTuple

import pytest

from lagnb.physics import catalogue
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field
from lagnb.physics.terms import Commutator, FieldFactor, Lagrangian, Term

DAG = "†"


class Op(NamedTuple):
    """An expected operator: kind, field monomial (names, ``X†`` for a conjugate), number of
    independent contractions, and whether its couplings are real (hermitian) or O + h.c."""

    kind: str
    monomial: str
    count: int = 1
    hermitian: bool = False


def herm(kind: str, monomial: str, count: int = 1) -> Op:
    return Op(kind, monomial, count, True)


def cplx(kind: str, monomial: str, count: int = 1) -> Op:
    return Op(kind, monomial, count, False)


# -- the fields ------------------------------------------------------------------------------------
def sm_fields() -> list[Field]:
    """One generation of the SM, Q = T3 + Y/2 (the catalogue's ``"sm"``: Q, u, d, L, e, H)."""
    return list(catalogue.get("sm").fields)


SM_KINETIC = [herm("kinetic", f"{n}{DAG} {n}") for n in ("Q", "u", "d", "L", "e", "H")]
SM_GAUGE = {"SU3", "SU2", "U1"}

# SM, one generation.  Left spinors: Q (3,2,1/3), u† (3̄,1,-4/3), d† (3̄,1,2/3), L (1,2,-1),
# e† (1,1,2).  A Yukawa needs a colour singlet and Y = 0 with H (Y=1) or H† (Y=-1):
#   Q u† H (1/3-4/3+1), Q d† H† (1/3+2/3-1), L e† H† (-1+2-1); nothing else (Q Q, u† d†, Q L
#   are coloured; L L H has Y=-1).  No fermion mass (no Y=0 singlet pair).  Scalar potential:
#   H†H and (H†H)² (one invariant: Sym²(2) ⊗ Sym²(2̄) = 3 ⊗ 3 ∋ 1 once); no trilinear (odd
#   number of doublets), no H H (Y=2).
SM_EXPECTED = [
    cplx("yukawa", f"Q u{DAG} H"),
    cplx("yukawa", f"Q d{DAG} H{DAG}"),
    cplx("yukawa", f"L e{DAG} H{DAG}"),
    herm("quartic", f"H H H{DAG} H{DAG}"),
    herm("mass", f"H{DAG} H"),
    *SM_KINETIC,
]


# -- comparison helpers ----------------------------------------------------------------------------
Mono = tuple[str, ...]


def parse_mono(text: str) -> Mono:
    return tuple(sorted(text.split()))


def conj_mono(mono: Mono) -> Mono:
    return tuple(sorted(x[:-1] if x.endswith(DAG) else x + DAG for x in mono))


def canonical(mono: Mono, hermitian: bool) -> Mono:
    """A complex operator O + h.c. is the same operator written as O† + h.c."""
    return mono if hermitian else min(mono, conj_mono(mono))


def term_mono(lag: Lagrangian, term: Term) -> Mono:
    names = lag.names
    return tuple(sorted(names[i] + (DAG if c else "") for i, c in term.monomial))


def engine_ops(lag: Lagrangian) -> Counter:
    """(kind, canonical monomial, hermitian) → number of terms, gauge kinetic excluded."""
    out: Counter = Counter()
    for t in lag.terms:
        if t.kind == "gauge_kinetic":
            continue
        out[(t.kind, canonical(term_mono(lag, t), t.hermitian), t.hermitian)] += 1
    return out


def expected_ops(ops: Iterable[Op]) -> Counter:
    out: Counter = Counter()
    for op in ops:
        mono = parse_mono(op.monomial)
        out[(op.kind, canonical(mono, op.hermitian), op.hermitian)] += op.count
    return out


def gauge_groups(lag: Lagrangian) -> set[str]:
    out = set()
    for t in lag.by_kind("gauge_kinetic"):
        assert all(isinstance(f, Commutator) for f in t.factors)
        out.add(t.factors[0].group)
    assert len(out) == len(lag.by_kind("gauge_kinetic"))
    return out


def assert_model(lag: Lagrangian, expected: Sequence[Op], gauge: set[str]) -> None:
    """The engine's operators equal ``expected`` exactly: per kind, monomial, count, hermiticity."""
    got, want = engine_ops(lag), expected_ops(expected)
    missing = want - got
    extra = got - want
    assert not missing and not extra, f"missing {dict(missing)}; extra {dict(extra)}"
    assert gauge_groups(lag) == gauge


def terms_of(lag: Lagrangian, kind: str, monomial: str) -> list[Term]:
    """The engine's terms of one kind whose monomial is ``monomial`` or its conjugate."""
    mono = parse_mono(monomial)
    return [t for t in lag.by_kind(kind) if term_mono(lag, t) in (mono, conj_mono(mono))]


Contraction = tuple[str, tuple[str, ...]]


def A(tensor: str, *names: str) -> Contraction:
    """An expected contraction: ``"delta"`` or ``"epsilon"`` joining the named objects."""
    return tensor, tuple(sorted(names))


def su_atoms(lag: Lagrangian, term: Term, group: str) -> list[Contraction]:
    """The term's ``group`` contractions as (tensor, sorted names of the objects joined)."""
    names = lag.names
    factor_name = {}
    for k, f in enumerate(term.factors):
        if isinstance(f, FieldFactor):
            factor_name[k] = names[f.field] + (DAG if f.conjugate else "")
    return sorted(
        A(a.tensor, *(factor_name[p] for p in a.objects))
        for a in term.contractions
        if a.group == group
    )


def only_term(lag: Lagrangian, kind: str, monomial: str) -> Term:
    found = terms_of(lag, kind, monomial)
    assert len(found) == 1, f"{kind} {monomial}: {len(found)} terms"
    return found[0]


# -- 1. the Standard Model -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sm() -> Lagrangian:
    return lagrangian(sm_fields())


def test_sm_operator_set(sm: Lagrangian) -> None:
    assert_model(sm, SM_EXPECTED, SM_GAUGE)
    kinds = Counter(t.kind for t in sm.terms)
    assert kinds == {"yukawa": 3, "quartic": 1, "mass": 1, "kinetic": 6, "gauge_kinetic": 3}
    assert not sm.by_kind("trilinear")


def test_sm_yukawa_index_structure(sm: Lagrangian) -> None:
    # up type: ε_ab Q^a H^b (H̃ = iσ2 H*), colour δ between Q and u†
    up = only_term(sm, "yukawa", f"Q u{DAG} H")
    assert su_atoms(sm, up, "SU2") == [A("epsilon", "H", "Q")]
    assert su_atoms(sm, up, "SU3") == [A("delta", "Q", f"u{DAG}")]
    # down type and lepton: δ between the doublet and H†
    down = only_term(sm, "yukawa", f"Q d{DAG} H{DAG}")
    assert su_atoms(sm, down, "SU2") == [A("delta", f"H{DAG}", "Q")]
    assert su_atoms(sm, down, "SU3") == [A("delta", "Q", f"d{DAG}")]
    lep = only_term(sm, "yukawa", f"L e{DAG} H{DAG}")
    assert su_atoms(sm, lep, "SU2") == [A("delta", f"H{DAG}", "L")]
    assert su_atoms(sm, lep, "SU3") == []
    for t in (up, down, lep):
        assert not t.hermitian
        lorentz = [a for a in t.contractions if a.group == "LORENTZ"]
        assert len(lorentz) == 1 and len(lorentz[0].objects) == 2


def test_sm_higgs_potential_structure(sm: Lagrangian) -> None:
    quartic = only_term(sm, "quartic", f"H H H{DAG} H{DAG}")
    assert quartic.hermitian
    # (H†H)²: two δ's, each joining one H with one H†
    assert su_atoms(sm, quartic, "SU2") == [A("delta", f"H{DAG}", "H")] * 2
    mass = only_term(sm, "mass", f"H{DAG} H")
    assert mass.hermitian and mass.sign == "+"
    assert su_atoms(sm, mass, "SU2") == [A("delta", f"H{DAG}", "H")]


# -- 2. SM + singlet scalar ------------------------------------------------------------------------
# S = (1,1,0), complex.  Every S/S† monomial is neutral and a singlet, so (dropping the tadpole S):
#   mass: S†S (real), S² (+h.c.);  trilinear: S³, S²S† (+h.c.; S†³ and S S†² are their h.c.),
#   H†H S (+h.c.: the monomial {H, H†, S} is not self-conjugate);
#   quartic: S⁴, S³S† (+h.c.), S²S†² (real), H†H S² (+h.c.), H†H S†S (real), (H†H)² (real).
#   No new Yukawa: no pair of SM left spinors is a Y=0 singlet.
SINGLET_EXPECTED = [
    *SM_EXPECTED,
    herm("kinetic", f"S{DAG} S"),
    herm("mass", f"S{DAG} S"),
    cplx("mass", "S S"),
    cplx("trilinear", "S S S"),
    cplx("trilinear", f"S S S{DAG}"),
    cplx("trilinear", f"H H{DAG} S"),
    cplx("quartic", "S S S S"),
    cplx("quartic", f"S S S S{DAG}"),
    herm("quartic", f"S S S{DAG} S{DAG}"),
    cplx("quartic", f"H H{DAG} S S"),
    herm("quartic", f"H H{DAG} S S{DAG}"),
]


@pytest.fixture(scope="module")
def sm_singlet() -> Lagrangian:
    return lagrangian([*sm_fields(), Field.scalar(1, 1, 0, "S")])


def test_complex_singlet_operator_set(sm_singlet: Lagrangian) -> None:
    assert_model(sm_singlet, SINGLET_EXPECTED, SM_GAUGE)
    # no tadpole and no term linear in S alone
    assert all(len(t.monomial) >= 2 for t in sm_singlet.terms if t.kind != "gauge_kinetic")


def test_real_singlet_potential(sm_singlet: Lagrangian) -> None:
    """Setting S = S† maps the complex singlet potential onto the textbook real singlet one:
    V = μ²H†H + λ(H†H)² + m²S² + μ₁ H†H S + λ_HS H†H S² + μ₃ S³ + λ_S S⁴ (tadpole dropped)."""
    real = {
        tuple(sorted(x.replace(f"S{DAG}", "S") for x in term_mono(sm_singlet, t)))
        for t in sm_singlet.terms
        if t.kind in ("mass", "trilinear", "quartic")
    }
    textbook = {
        parse_mono(m)
        for m in (
            f"H{DAG} H",
            f"H H H{DAG} H{DAG}",
            "S S",
            "S S S",
            "S S S S",
            f"H{DAG} H S",
            f"H{DAG} H S S",
        )
    }
    assert real == textbook


# -- 3. two-Higgs-doublet model --------------------------------------------------------------------
# H1, H2 = (1,2,1).  Mass: m11² H1†H1, m22² H2†H2 (real), m12² H1†H2 (+h.c.).  Quartics: all
# products of two doublets and two antidoublets:
#   {H1 H1 H1† H1†} λ1, {H2 H2 H2† H2†} λ2 (Sym² ⊗ Sym²: one each);
#   {H1 H2 H1† H2†}: 2⊗2⊗2̄⊗2̄ of distinct doublets has 2 invariants, λ3 (H1†H1)(H2†H2) and
#     λ4 (H1†H2)(H2†H1), both hermitian;
#   {H1 H1 H2† H2†} λ5, {H1 H1 H1† H2†} λ6, {H2 H2 H2† H1†} λ7: one each, complex.
# That is 4 real + 3 complex quartic couplings, the textbook 2HDM count.  Type-III Yukawas:
# each SM Yukawa with H1 and with H2.
TWO_HDM_EXPECTED = [
    cplx("yukawa", f"Q u{DAG} H1"),
    cplx("yukawa", f"Q u{DAG} H2"),
    cplx("yukawa", f"Q d{DAG} H1{DAG}"),
    cplx("yukawa", f"Q d{DAG} H2{DAG}"),
    cplx("yukawa", f"L e{DAG} H1{DAG}"),
    cplx("yukawa", f"L e{DAG} H2{DAG}"),
    herm("mass", f"H1{DAG} H1"),
    herm("mass", f"H2{DAG} H2"),
    cplx("mass", f"H1{DAG} H2"),
    herm("quartic", f"H1 H1 H1{DAG} H1{DAG}"),
    herm("quartic", f"H2 H2 H2{DAG} H2{DAG}"),
    herm("quartic", f"H1 H2 H1{DAG} H2{DAG}", 2),
    cplx("quartic", f"H1 H1 H2{DAG} H2{DAG}"),
    cplx("quartic", f"H1 H1 H1{DAG} H2{DAG}"),
    cplx("quartic", f"H2 H2 H2{DAG} H1{DAG}"),
    *[op for op in SM_KINETIC if "H" not in op.monomial],
    herm("kinetic", f"H1{DAG} H1"),
    herm("kinetic", f"H2{DAG} H2"),
]


@pytest.fixture(scope="module")
def two_hdm() -> Lagrangian:
    return lagrangian([*sm_fields()[:5], Field.scalar(1, 2, 1, "H1"), Field.scalar(1, 2, 1, "H2")])


def test_2hdm_operator_set(two_hdm: Lagrangian) -> None:
    assert_model(two_hdm, TWO_HDM_EXPECTED, SM_GAUGE)
    quartics = two_hdm.by_kind("quartic")
    assert sum(t.hermitian for t in quartics) == 4  # λ1, λ2, λ3, λ4
    assert sum(not t.hermitian for t in quartics) == 3  # λ5, λ6, λ7
    masses = two_hdm.by_kind("mass")
    assert (sum(t.hermitian for t in masses), sum(not t.hermitian for t in masses)) == (2, 1)
    assert not two_hdm.by_kind("trilinear")


def test_2hdm_lambda3_lambda4(two_hdm: Lagrangian) -> None:
    """λ3 (H1†H1)(H2†H2) and λ4 (H1†H2)(H2†H1): the two δδ pairings of {H1, H2, H1†, H2†}."""
    l34 = terms_of(two_hdm, "quartic", f"H1 H2 H1{DAG} H2{DAG}")
    assert len(l34) == 2 and all(t.hermitian for t in l34)
    pairings = sorted(su_atoms(two_hdm, t, "SU2") for t in l34)
    lam3 = sorted([A("delta", f"H1{DAG}", "H1"), A("delta", f"H2{DAG}", "H2")])
    lam4 = sorted([A("delta", f"H1{DAG}", "H2"), A("delta", f"H2{DAG}", "H1")])
    assert pairings == sorted([lam3, lam4])


# -- 4. SM + scalar leptoquark S1 -----------------------------------------------------------------
# S1 ~ (3̄, 1, 1/3) with Q = T3 + Y (Doršner, Fajfer, Greljo, Kamenik, Košnik 2016), i.e.
# (3̄, 1, 2/3) here.  Its renormalizable couplings (their eq. for S1):
#   y^LL Q̄^c iτ2 L S1  →  Weyl monomial {Q, L, S1}      (Y: 1/3 - 1 + 2/3 = 0)
#   y^RR ū^c e S1      →  u_R e_R S1 = h.c. of {u†, e†, S1†}   (Y: -4/3 + 2 - 2/3 = 0)
#   z^LL Q̄^c iτ2 Q S1† →  {Q, Q, S1†}                   (Y: 1/3 + 1/3 - 2/3 = 0)
#   z^RR ū^c d S1†     →  u_R d_R S1† = h.c. of {u†, d†, S1}    (Y: -4/3 + 2/3 + 2/3 = 0)
# No other pair of left spinors works: with S1 (3̄, Y=2/3) the pair needs Y = -2/3 and a 3 in
# its colour product (Q L, u† d† only); with S1† (3, Y=-2/3) Y = 2/3 and a 3̄ (Q Q, u† e† only).
# Q Q S1† by hand: ε_ijk ε_ab Q^{ia} Q^{jb} S1†^k; swapping the two Q's the Lorentz ε times the
# Grassmann sign is symmetric (ψχ = χψ), and ε_ijk ε_ab is antisymmetric × antisymmetric =
# symmetric, so the operator survives for a single generation (z^LL is flavour-symmetric).
# Scalar sector: S1†S1 mass; quartics (S1†S1)² (Sym²(3̄)⊗Sym²(3) = 6̄⊗6 ∋ 1 once) and
# (H†H)(S1†S1); no trilinear (S1³ is a colour singlet but has Y = 2), no H-S1 mixing.
LEPTOQUARK_EXPECTED = [
    *SM_EXPECTED,
    cplx("yukawa", "Q L S1"),
    cplx("yukawa", f"u{DAG} e{DAG} S1{DAG}"),
    cplx("yukawa", f"Q Q S1{DAG}"),
    cplx("yukawa", f"u{DAG} d{DAG} S1"),
    herm("mass", f"S1{DAG} S1"),
    herm("quartic", f"S1 S1 S1{DAG} S1{DAG}"),
    herm("quartic", f"H H{DAG} S1 S1{DAG}"),
    herm("kinetic", f"S1{DAG} S1"),
]


@pytest.fixture(scope="module")
def leptoquark() -> Lagrangian:
    return lagrangian([*sm_fields(), Field.scalar(-3, 1, Fraction(2, 3), "S1")])


def test_leptoquark_operator_set(leptoquark: Lagrangian) -> None:
    assert_model(leptoquark, LEPTOQUARK_EXPECTED, SM_GAUGE)


def test_leptoquark_index_structure(leptoquark: Lagrangian) -> None:
    lq = leptoquark
    # Q L S1: colour δ between Q and S1, SU(2) ε between Q and L
    t = only_term(lq, "yukawa", "Q L S1")
    assert su_atoms(lq, t, "SU3") == [A("delta", "Q", "S1")]
    assert su_atoms(lq, t, "SU2") == [A("epsilon", "L", "Q")]
    # Q Q S1†: one colour ε over Q, Q, S1† and one SU(2) ε between the two Q's
    t = only_term(lq, "yukawa", f"Q Q S1{DAG}")
    assert su_atoms(lq, t, "SU3") == [A("epsilon", "Q", "Q", f"S1{DAG}")]
    assert su_atoms(lq, t, "SU2") == [A("epsilon", "Q", "Q")]
    # u† d† S1: colour ε of three antitriplets (lower indices)
    t = only_term(lq, "yukawa", f"u{DAG} d{DAG} S1")
    assert su_atoms(lq, t, "SU3") == [A("epsilon", "S1", f"d{DAG}", f"u{DAG}")]
    assert all(k == "d" for a in t.contractions if a.group == "SU3" for _, k in a.entries)
    # u† e† S1†: colour δ
    t = only_term(lq, "yukawa", f"u{DAG} e{DAG} S1{DAG}")
    assert su_atoms(lq, t, "SU3") == [A("delta", f"S1{DAG}", f"u{DAG}")]


# -- 5. type-II seesaw: SM + Δ (1, 3, 2) -----------------------------------------------------------
# Δ = (1,3,2) (Y = 1 with Q = T3 + Y).  Yukawa: only L L Δ (pairs with Y = -2 whose SU(2)
# product holds a triplet: L L; its gauge part L_a L_b Δ^{ab}-type is symmetric, which identical
# fermions need, so it survives for one generation).  Trilinear: H H Δ† (μ H^T iσ2 Δ† H + h.c.);
# H H† Δ has Y = 2, Δ Δ Δ† has Y = 2, nothing else is neutral with three objects.  Quartics
# (neutral sets of four objects): {H H H† H†} (1), {H H† Δ Δ†} (2: (H†H)Tr(Δ†Δ) and H†ΔΔ†H),
# {Δ Δ Δ† Δ†} (2: (TrΔ†Δ)² and Tr(Δ†ΔΔ†Δ), from (1+5)⊗(1+5)); all hermitian.  That is the
# textbook type-II potential with λ, λ1…λ4 and μ.  Masses: H†H, Δ†Δ (Δ Δ has Y = 4).
TYPE2_EXPECTED = [
    *SM_EXPECTED,
    cplx("yukawa", "L L D"),
    cplx("trilinear", f"H H D{DAG}"),
    herm("quartic", f"H H{DAG} D D{DAG}", 2),
    herm("quartic", f"D D D{DAG} D{DAG}", 2),
    herm("mass", f"D{DAG} D"),
    herm("kinetic", f"D{DAG} D"),
]


@pytest.fixture(scope="module")
def type2() -> Lagrangian:
    return lagrangian([*sm_fields(), Field.scalar(1, 3, 2, "D")])


def test_type2_seesaw_operator_set(type2: Lagrangian) -> None:
    assert_model(type2, TYPE2_EXPECTED, SM_GAUGE)
    # explicitly absent: H H† Δ (Y = 2), Δ Δ Δ† (Y = 2), Δ Δ (Y = 4), H Δ mixing
    for kind, mono in (
        ("trilinear", f"H H{DAG} D"),
        ("trilinear", f"D D D{DAG}"),
        ("mass", "D D"),
        ("mass", f"H D{DAG}"),
    ):
        assert not terms_of(type2, kind, mono)


def test_type2_seesaw_index_structure(type2: Lagrangian) -> None:
    # L^T iσ2 Δ L: each L joined to the triplet by an ε (ε between the two L's would vanish)
    t = only_term(type2, "yukawa", "L L D")
    assert su_atoms(type2, t, "SU2") == [A("epsilon", "D", "L")] * 2
    # H^T iσ2 Δ† H: each H joined to Δ† by a δ
    t = only_term(type2, "trilinear", f"H H D{DAG}")
    assert su_atoms(type2, t, "SU2") == [A("delta", f"D{DAG}", "H")] * 2
    # a triplet has two independent quartics with itself, both hermitian
    quartics = terms_of(type2, "quartic", f"D D D{DAG} D{DAG}")
    assert len(quartics) == 2 and all(q.hermitian for q in quartics)
    assert len({tuple(q.contractions) for q in quartics}) == 2
    mixed = terms_of(type2, "quartic", f"H H{DAG} D D{DAG}")
    assert len(mixed) == 2 and all(q.hermitian for q in mixed)


# -- 6. LLē of the RPV MSSM in components ---------------------------------------------------------
# W ⊃ ½ λ_ijk L_i L_j Ē_k gives the Yukawas λ (L̃_i L_j ē_k + L_i L_j ẽ^c_k + …) + h.c. with Weyl
# fields L_i = (1,2,-1) L, ē = (1,1,2) L and scalars L̃ = (1,2,-1), ẽc = (1,1,2).
# Hand enumeration (left spinors L1, L2, ē; scalars L̃ (Y -1, doublet), L̃† (+1), ẽc (+2),
# ẽc† (-2)): pairs L_i L_j have Y -2 and need ẽc; their SU(2) singlet is ε, antisymmetric, so
# L1 L2 ẽc exists but L1 L1 ẽc and L2 L2 ẽc vanish (identical fermions need a symmetric gauge
# part).  Pairs L_i ē have Y +1 (a doublet) and need L̃: L1 ē L̃, L2 ē L̃.  ē ē has Y 4.  No
# fermion mass.  Scalars: L̃†L̃, ẽc†ẽc masses; the A-term L̃ L̃ ẽc vanishes for one slepton
# doublet (ε between identical bosons); quartics (L̃†L̃)², (ẽc†ẽc)², (L̃†L̃)(ẽc†ẽc).
RPV_FIELDS = [
    Field.left(1, 2, -1, "L1"),
    Field.left(1, 2, -1, "L2"),
    Field.left(1, 1, 2, "E"),
    Field.scalar(1, 2, -1, "Lt"),
    Field.scalar(1, 1, 2, "Et"),
]
RPV_EXPECTED = [
    cplx("yukawa", "L1 L2 Et"),
    cplx("yukawa", "L1 E Lt"),
    cplx("yukawa", "L2 E Lt"),
    herm("mass", f"Lt{DAG} Lt"),
    herm("mass", f"Et{DAG} Et"),
    herm("quartic", f"Lt Lt Lt{DAG} Lt{DAG}"),
    herm("quartic", f"Et Et Et{DAG} Et{DAG}"),
    herm("quartic", f"Lt Lt{DAG} Et Et{DAG}"),
    *[herm("kinetic", f"{n}{DAG} {n}") for n in ("L1", "L2", "E", "Lt", "Et")],
]

# With a second slepton doublet the A-term L̃1 L̃2 ẽc appears (distinct bosons, ε allowed), as
# do L_i ē L̃_j for all i, j, the mass mixing L̃1†L̃2 and the doublet quartics of a 2HDM with
# Y = -1 (four real, three complex), plus (L̃_i†L̃_j)(ẽc†ẽc) for each i ≤ j.
RPV2_FIELDS = [
    *RPV_FIELDS[:3],
    Field.scalar(1, 2, -1, "Lt1"),
    Field.scalar(1, 2, -1, "Lt2"),
    RPV_FIELDS[4],
]
RPV2_EXPECTED = [
    cplx("yukawa", "L1 L2 Et"),
    *[cplx("yukawa", f"L{i} E Lt{j}") for i in (1, 2) for j in (1, 2)],
    cplx("trilinear", "Lt1 Lt2 Et"),
    herm("mass", f"Lt1{DAG} Lt1"),
    herm("mass", f"Lt2{DAG} Lt2"),
    cplx("mass", f"Lt1{DAG} Lt2"),
    herm("mass", f"Et{DAG} Et"),
    herm("quartic", f"Lt1 Lt1 Lt1{DAG} Lt1{DAG}"),
    herm("quartic", f"Lt2 Lt2 Lt2{DAG} Lt2{DAG}"),
    herm("quartic", f"Lt1 Lt2 Lt1{DAG} Lt2{DAG}", 2),
    cplx("quartic", f"Lt1 Lt1 Lt2{DAG} Lt2{DAG}"),
    cplx("quartic", f"Lt1 Lt1 Lt1{DAG} Lt2{DAG}"),
    cplx("quartic", f"Lt2 Lt2 Lt2{DAG} Lt1{DAG}"),
    herm("quartic", f"Et Et Et{DAG} Et{DAG}"),
    herm("quartic", f"Lt1 Lt1{DAG} Et Et{DAG}"),
    herm("quartic", f"Lt2 Lt2{DAG} Et Et{DAG}"),
    cplx("quartic", f"Lt1 Lt2{DAG} Et Et{DAG}"),
    *[herm("kinetic", f"{n}{DAG} {n}") for n in ("L1", "L2", "E", "Lt1", "Lt2", "Et")],
]


def test_rpv_lle_operator_set() -> None:
    lag = lagrangian(RPV_FIELDS)
    assert_model(lag, RPV_EXPECTED, {"SU2", "U1"})
    assert not terms_of(lag, "yukawa", "L1 L1 Et")
    assert not terms_of(lag, "yukawa", "L2 L2 Et")
    assert not terms_of(lag, "trilinear", "Lt Lt Et")
    t = only_term(lag, "yukawa", "L1 L2 Et")
    assert su_atoms(lag, t, "SU2") == [A("epsilon", "L1", "L2")]
    for name in ("L1", "L2"):
        t = only_term(lag, "yukawa", f"{name} E Lt")
        assert su_atoms(lag, t, "SU2") == [A("epsilon", name, "Lt")]


def test_rpv_lle_two_slepton_doublets() -> None:
    lag = lagrangian(RPV2_FIELDS)
    assert_model(lag, RPV2_EXPECTED, {"SU2", "U1"})
    t = only_term(lag, "trilinear", "Lt1 Lt2 Et")
    assert su_atoms(lag, t, "SU2") == [A("epsilon", "Lt1", "Lt2")]


def test_identical_fermions_need_symmetric_gauge_part() -> None:
    """One lepton doublet: L L ẽc vanishes (ε antisymmetric), L L Δ survives (symmetric triplet);
    an antisymmetric SU(2) ε times an antisymmetric SU(3) ε survives (Q Q S1†, see above)."""
    lep = Field.left(1, 2, -1, "L")
    singlet = lagrangian([lep, Field.scalar(1, 1, 2, "Et")])
    triplet = lagrangian([lep, Field.scalar(1, 3, 2, "D")])
    assert not singlet.by_kind("yukawa")
    assert [term_mono(triplet, t) for t in triplet.by_kind("yukawa")] == [("D", "L", "L")]


# -- LaTeX and JSON --------------------------------------------------------------------------------
MODELS = {
    "sm": sm_fields,
    "singlet": lambda: [*sm_fields(), Field.scalar(1, 1, 0, "S")],
    "leptoquark": lambda: [*sm_fields(), Field.scalar(-3, 1, Fraction(2, 3), "S_1")],
    "type2": lambda: [*sm_fields(), Field.scalar(1, 3, 2, r"\Delta")],
    "rpv": lambda: RPV2_FIELDS,
    "unnamed": lambda: [Field.scalar(1, 2, 1), Field.left(3, 2, Fraction(1, 3))],
}


FULL_RENDER = ("sm", "type2", "unnamed")


def balanced(tex: str) -> bool:
    depth = 0
    for ch in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0 and tex.count(r"\left") == tex.count(r"\right")


@pytest.mark.parametrize("model", sorted(MODELS))
def test_latex_renders(model: str) -> None:
    from matplotlib.mathtext import MathTextParser

    lag = lagrangian(MODELS[model]())
    parser = MathTextParser("path")
    full = lag.latex()
    assert full.startswith(r"\mathcal{L}") and balanced(full)
    # one "+ h.c." per complex operator
    assert full.count("h.c.") == sum(not t.hermitian for t in lag.terms)
    if model in FULL_RENDER:
        # mathtext is slow on whole Lagrangians (~0.5 s each): render a few in full
        parser.parse(f"${full}$")
    for t in lag.terms:
        tex = t.latex(lag.fields, lag.names)
        assert tex and balanced(tex), tex
        parser.parse(f"${tex}$")


@pytest.mark.parametrize("model", sorted(MODELS))
def test_json_schema(model: str) -> None:
    lag = lagrangian(MODELS[model]())
    data = json.loads(json.dumps(lag.to_json()))
    assert set(data) >= {"fields", "terms"}
    assert len(data["fields"]) == len(lag.fields)
    assert len(data["terms"]) == len(lag.terms)
    for term, d in zip(lag.terms, data["terms"]):
        assert set(d) >= {
            "kind",
            "fields",
            "derivatives",
            "hermitian_conjugate_added",
            "tokens",
            "latex",
        }
        assert d["kind"] == term.kind
        assert all(set(f) == {"field", "conjugate"} for f in d["fields"])
        assert sorted((f["field"], f["conjugate"]) for f in d["fields"]) == list(term.monomial)
        assert d["hermitian_conjugate_added"] is (not term.hermitian)
        assert d["tokens"] == term.tokens(lag.fields)
        assert isinstance(d["latex"], str) and balanced(d["latex"])
        if term.kind == "gauge_kinetic":
            assert d["fields"] == [] and d["derivatives"] > 0
        elif term.kind == "kinetic":
            scalar = lag.fields[d["fields"][0]["field"]].is_scalar
            assert d["derivatives"] == (2 if scalar else 1)
            assert d["fields"][0]["field"] == d["fields"][1]["field"]
        else:
            assert d["derivatives"] == 0
