"""The character counting of lagnb.physics.counting, and the engine checked against it.

The first tests pin the character method to textbook group theory; the property test then
compares it with the engine's explicit contractions on random field contents.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from math import comb

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lagnb.physics.counting import (
    char_mul,
    compare_counts,
    count_monomial,
    engine_counts,
    graded_power,
    object_character,
    operator_counts,
    renormalizable_monomials,
    singlets,
    su2_irrep_weights,
    su3_irrep_weights,
)
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field
from lagnb.physics.groups import SU2_REPS, SU3_REPS, su2_weights, su3_weights

S, L, R = Field.scalar, Field.left, Field.right


def n_singlets(*factors: tuple[Field, int, bool]) -> int:
    """Singlets of ⊗ P^m(object) for (field, m, conjugate?) factors, ignoring hypercharge."""
    ch = {(0, 0, 0, 0, 0): 1}
    for f, m, conj in factors:
        ch = char_mul(ch, graded_power(object_character(f, conj), m, f.is_fermion))
    return singlets(ch)


# -- representations -------------------------------------------------------------------------------
@pytest.mark.parametrize("rep", sorted(SU3_REPS))
def test_su3_weights_match_groups_module(rep: int) -> None:
    assert Counter(su3_irrep_weights(rep)) == Counter(su3_weights(rep))
    assert len(su3_irrep_weights(rep)) == abs(rep)


@pytest.mark.parametrize("rep", SU2_REPS)
def test_su2_weights_match_groups_module(rep: int) -> None:
    assert sorted(su2_irrep_weights(rep)) == sorted(su2_weights(rep))


@pytest.mark.parametrize("rep", [(8, 1), (3, 2), (1, 4), (-6, 3)])
@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_graded_power_dimensions(rep: tuple[int, int], m: int) -> None:
    """dim Sym^m(V) = C(d+m−1, m) and dim Λ^m(V) = C(d, m) (a Weyl fermion has d = 2·dim)."""
    scalar = object_character(S(*rep), False)
    fermion = object_character(L(*rep), False)
    d = abs(rep[0]) * rep[1]
    assert sum(graded_power(scalar, m, False).values()) == comb(d + m - 1, m)
    assert sum(graded_power(fermion, m, True).values()) == comb(2 * d, m)


def test_a_single_irrep_has_no_singlet_except_the_trivial_one() -> None:
    assert singlets(object_character(S(), False)) == 1
    for rep in [(3, 1), (8, 1), (1, 2), (1, 3), (6, 4)]:
        assert singlets(object_character(S(*rep), False)) == 0
    assert singlets(object_character(L(), False)) == 0  # a spinor is not a Lorentz singlet


# -- textbook facts -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("factors", "expected", "fact"),
    [
        ([(S(3), 1, False), (S(3), 1, True)], 1, "3 ⊗ 3̄ ∋ 1 once"),
        ([(S(3), 1, False), (S(3), 1, False)], 0, "3 ⊗ 3 = 6 ⊕ 3̄"),
        ([(S(3), 1, False), (S(3, 1, 1), 1, False), (S(3, 1, 2), 1, False)], 1, "3⊗3⊗3 ∋ ε"),
        ([(S(3), 3, False)], 0, "ε φφφ of one commuting triplet vanishes"),
        ([(S(8), 1, False), (S(8, 1, 1), 1, False)], 1, "8 ⊗ 8 ∋ 1 once"),
        ([(S(8), 1, False), (S(8, 1, 1), 1, False), (S(8, 1, 2), 1, False)], 2, "f and d"),
        ([(S(8), 3, False)], 1, "Sym³(8): only d_abc"),
        ([(S(8), 4, False)], 1, "Sym⁴(8): tr G⁴ = (tr G²)²/2 for SU(3)"),
        ([(S(6), 2, False)], 0, "Sym²(6) has no singlet"),
        ([(S(6), 3, False)], 1, "Sym³(6) ∋ det (ternary quadratic form)"),
        ([(S(6), 1, False), (S(6), 1, True)], 1, "6 ⊗ 6̄ ∋ 1"),
        ([(S(1, 2), 2, False)], 0, "Sym²(2): ε H H = 0"),
        ([(S(1, 2), 1, False), (S(1, 2, 1), 1, False)], 1, "2 ⊗ 2 ∋ ε"),
        ([(S(1, 2), 2, False), (S(1, 2), 2, True)], 1, "Higgs quartic (H†H)²"),
        ([(S(1, 3), 2, False)], 1, "Sym²(3) ∋ δ"),
        ([(S(1, 3), 3, False)], 0, "Sym³(3 of SU2) has no singlet (ε_abc is antisymmetric)"),
        ([(S(1, 3), 4, False)], 1, "Sym⁴(3 of SU2) = (Φ·Φ)²"),
        ([(S(1, 3), 2, False), (S(1, 3), 2, True)], 2, "Tr(Δ†Δ)², Tr(Δ†ΔΔ†Δ)"),
        ([(S(1, 4), 2, False)], 0, "Sym²(4 of SU2) = 7 ⊕ 3"),
        ([(S(1, 4), 4, False)], 1, "Sym⁴(4): the discriminant of a binary cubic"),
        ([(S(1, 2), 1, False), (S(1, 2), 1, True), (S(1, 3), 1, False)], 1, "H† Φ H"),
        ([(L(), 2, False)], 1, "Majorana mass νν"),
        ([(L(1, 2), 2, False)], 0, "LL: gauge part must be symmetric, Sym²(2) ∌ 1"),
        ([(L(1, 3), 2, False)], 1, "wino Majorana mass"),
        ([(L(8), 2, False)], 1, "gluino Majorana mass"),
        ([(L(3), 2, False)], 0, "3 ⊗ 3 ∌ 1"),
        ([(L(), 1, False), (L(1, 1, 1), 1, False)], 1, "ψ_1 ψ_2 (Dirac mass pattern)"),
        ([(L(), 1, False), (R(), 1, False)], 0, "ψ χ† without a derivative is a vector"),
        ([(L(), 1, False), (R(), 1, True)], 1, "ψ χ"),
        ([(S(1, 3), 1, False), (L(1, 2), 2, False)], 1, "type-II seesaw Δ L L"),
        ([(S(), 1, False), (L(1, 2), 2, False)], 0, "φ L L vanishes"),
        ([(S(1, 2), 1, False), (L(1, 2), 1, False), (R(), 1, True)], 1, "H L e†-type Yukawa"),
    ],
)
def test_textbook_singlet_counts(factors: list, expected: int, fact: str) -> None:
    assert n_singlets(*factors) == expected, fact


def test_hypercharge_must_vanish() -> None:
    fields = [S(1, 2, 1), S(1, 2, 1)]
    assert count_monomial(fields, [(0, False), (1, True)]) == 1
    assert count_monomial(fields, [(0, False), (1, False)]) == 0  # 2 ⊗ 2 ∋ ε, but Y = 2
    assert count_monomial([S(1, 3, 2), L(1, 2, -1)], [(0, False), (1, False), (1, False)]) == 1


def test_two_higgs_doublet_model() -> None:
    """2HDM: 4 real mass parameters and 10 real quartic couplings (λ1…λ4, complex λ5,6,7)."""
    counts = operator_counts([S(1, 2, 1), S(1, 2, 1)])
    by_size = Counter()
    for mono, n in counts.items():
        by_size[len(mono)] += n
    assert by_size == {2: 4, 4: 10}
    assert counts[((0, False), (0, True), (1, False), (1, True))] == 2  # λ3, λ4


def test_one_generation_standard_model() -> None:
    q, u, d = L(3, 2, Fraction(1, 3)), R(3, 1, Fraction(4, 3)), R(3, 1, Fraction(-2, 3))
    lep, e, h = L(1, 2, -1), R(1, 1, -2), S(1, 2, 1)
    counts = operator_counts([q, u, d, lep, e, h])
    assert counts == {
        ((5, False), (5, True)): 1,
        ((5, False), (5, False), (5, True), (5, True)): 1,
        ((0, False), (1, True), (5, False)): 1,  # Q u† H (up Yukawa)
        ((0, True), (1, False), (5, True)): 1,
        ((0, False), (2, True), (5, True)): 1,  # Q d† H†
        ((0, True), (2, False), (5, False)): 1,
        ((3, False), (4, True), (5, True)): 1,  # L e† H†
        ((3, True), (4, False), (5, False)): 1,
    }


def test_renormalizable_monomials_have_dimension_at_most_four() -> None:
    monos = renormalizable_monomials([S(), L()])
    assert ((0, False), (1, False), (1, False)) in monos  # φ ψ ψ: dimension 4
    assert all(sum(1 if i == 0 else 1.5 for i, _ in m) <= 4 for m in monos)
    assert not any(len(m) < 2 for m in monos)  # no tadpoles


def test_count_monomial_rejects_a_bad_field_index() -> None:
    with pytest.raises(ValueError, match="field 3"):
        count_monomial([S()], [(3, False), (0, False)])


def test_compare_counts_reports_differences() -> None:
    a = {((0, False), (0, True)): 1, ((0, False), (0, False)): 1}
    b = {((0, False), (0, True)): 2}
    assert compare_counts(a, b) == {
        ((0, False), (0, False)): (1, 0),
        ((0, False), (0, True)): (1, 2),
    }


def test_engine_counts_convention() -> None:
    """A real singlet scalar: φ², φ†² (from O + h.c.) and φ†φ (hermitian), all separate."""
    counts = engine_counts(lagrangian([S()]))
    assert counts[((0, False), (0, False))] == 1
    assert counts[((0, True), (0, True))] == 1
    assert counts[((0, False), (0, True))] == 1
    assert counts == operator_counts([S()])


# -- the engine against the characters on random field contents -----------------------------------
HYPERCHARGES = [Fraction(0)] * 4 + [Fraction(v) for v in ("1", "-1", "2", "1/2", "-1/2", "1/3")]


@st.composite
def field_contents(draw: st.DrawFn) -> list[Field]:
    """1–4 fields; many zero hypercharges, repeated fields and conjugate copies."""

    def make(
        su3: int,
        su2: int,
        y: Fraction,
        kinds: tuple[str, ...] = ("scalar", "scalar", "left", "right"),
    ) -> Field:
        kind = draw(st.sampled_from(kinds))
        return {"scalar": S, "left": L, "right": R}[kind](su3, su2, y)

    def new_field() -> Field:
        su3 = draw(st.sampled_from([1, 1, 3, -3, 6, -6, 8]))
        su2 = draw(st.sampled_from([1, 1, 2, 3, 4]))
        return make(su3, su2, draw(st.sampled_from(HYPERCHARGES)))

    fields = [new_field()]
    for _ in range(draw(st.integers(0, 3))):
        how = draw(st.sampled_from(["new", "new", "copy", "conjugate", "respin", "singlet"]))
        f = draw(st.sampled_from(fields))
        if how == "new":
            fields.append(new_field())
        elif how == "copy":
            fields.append(f)
        elif how == "conjugate":
            fields.append(f.conjugate())
        elif how == "respin":
            # the same gauge quantum numbers (or their conjugates) with a random spin:
            # makes Yukawas φ ψ χ and Dirac masses likely
            g = draw(st.sampled_from([f, f.conjugate()]))
            fields.append(make(g.su3, g.su2, g.y, ("scalar", "left", "right")))
        else:
            fields.append(
                make(1, draw(st.sampled_from([1, 1, 3])), Fraction(0), ("scalar", "left"))
            )
    return fields


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(field_contents())
def test_engine_matches_character_counting(fields: list[Field]) -> None:
    diff = compare_counts(operator_counts(fields), engine_counts(lagrangian(fields)))
    assert not diff, (
        f"(character count, engine count) per monomial for {[f.describe() for f in fields]}: {diff}"
    )


def test_the_comparison_can_fail() -> None:
    """A deliberately wrong engine count is caught (guards against a vacuous property test)."""
    fields = [S(1, 2, 1)]
    wrong = dict(engine_counts(lagrangian(fields)))
    wrong[((0, False), (0, False), (0, True), (0, True))] = 2
    assert compare_counts(operator_counts(fields), wrong)
