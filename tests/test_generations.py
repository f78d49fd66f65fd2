"""Generations (issue 12): each operator once with its flavour structure and parameter count.

Textbook models by hand (type-I seesaw, Zee–Babu, scotogenic, the general 2HDM written as one
doublet with two generations), BasisGen's flavour counting (``number_of_flavors``) and the
project's character counting on random contents.
"""

from __future__ import annotations

import random
from dataclasses import replace
from fractions import Fraction

import pytest
from peer_basisgen import basisgen_counts

from lagnb.errors import FieldError
from lagnb.physics import catalogue
from lagnb.physics.check import check_term
from lagnb.physics.counting import compare_counts, engine_counts, operator_counts
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field
from lagnb.physics.flavour import schur_dimension
from lagnb.physics.symmetries import Symmetry
from lagnb.physics.terms import Lagrangian

S, L, R = Field.scalar, Field.left, Field.right
Z2 = Symmetry.z("Z2", 2)


def flavoured(lag: Lagrangian) -> dict[tuple[str, str], tuple[str, int]]:
    """Interaction terms as (kind, fields with †) → (flavour symmetry words, real parameters);
    unflavoured terms get ('', 1 or 2).  A monomial with several operators gets a tuple of
    them, in order."""
    names = [f.name for f in lag.fields]
    out: dict[tuple[str, str], tuple] = {}
    for t in lag.terms:
        if t.kind in ("kinetic", "gauge_kinetic", "kinetic_mixing"):
            continue
        objs = " ".join(
            sorted(names[f.field] + ("†" if f.conjugate else "") for f in t.field_factors)
        )
        key = (t.kind, objs)
        if t.flavour is None:
            value = ("", 1 if t.hermitian else 2)
        else:
            words = ",".join(
                {(2,): "sym", (1, 1): "anti"}.get(p, str(p)) for _, p in t.flavour.symmetry
            )
            value = (words, t.flavour.parameters)
        out[key] = (
            (*out[key], value)
            if key in out and isinstance(out[key][0], tuple)
            else ((out[key], value) if key in out else value)
        )
    return out


LEPTONS = [L(1, 2, -1, "L", generations=3), R(1, 1, -2, "e", generations=3)]
H = S(1, 2, 1, "H")


def test_type_one_seesaw() -> None:
    """Three N_R: symmetric Majorana mass (6 complex = 12 real), general 3×3 Yukawa (18)."""
    n = R(1, 1, 0, "N", generations=3)
    assert flavoured(lagrangian([*LEPTONS, n, H])) == {
        ("yukawa", "H† L e†"): ("", 18),
        ("yukawa", "H L N†"): ("", 18),  # L H̃ N: a general complex 3×3 matrix
        ("quartic", "H H H† H†"): ("", 1),
        ("mass", "H H†"): ("", 1),
        ("mass", "N† N†"): ("sym", 12),
    }


def test_zee_babu() -> None:
    """h⁺ ~ (1,1,2), k⁺⁺ ~ (1,1,4): f_ij L_i L_j h⁺ antisymmetric (3 complex), g_ij e e k⁺⁺
    symmetric (6 complex), μ h h k⁺⁺† (complex)."""
    h, k = S(1, 1, 2, "h"), S(1, 1, 4, "k")
    terms = flavoured(lagrangian([*LEPTONS, H, h, k]))
    assert terms[("yukawa", "L L h")] == ("anti", 6)
    assert terms[("yukawa", "e† e† k†")] == ("sym", 12)
    assert terms[("trilinear", "h h k†")] == ("", 2)
    assert terms[("yukawa", "H† L e†")] == ("", 18)
    assert len([key for key in terms if key[0] == "quartic"]) == 6  # |H|⁴ … |k|⁴, all real
    # one generation: ε(L L) h vanishes, the Majorana-like e e k survives
    one = flavoured(lagrangian([L(1, 2, -1, "L"), R(1, 1, -2, "e"), h, k]))
    assert ("yukawa", "L L h") not in one and ("yukawa", "e† e† k†") in one


def test_scotogenic_model() -> None:
    """η ~ (1,2,1) and N_i Z2-odd: λ5 (H†η)², L η̃ N Yukawas, Majorana masses; no L H̃ N."""
    eta = S(1, 2, 1, "eta", charges={Z2: 1})
    n = R(1, 1, 0, "N", generations=3, charges={Z2: 1})
    assert flavoured(lagrangian([*LEPTONS, n, H, eta])) == {
        ("yukawa", "H† L e†"): ("", 18),
        ("yukawa", "L N† eta"): ("", 18),  # ε L η N†: L η̃ N
        ("quartic", "H H H† H†"): ("", 1),
        ("quartic", "H H eta† eta†"): ("", 2),  # λ5 (H†η)² + h.c.
        ("quartic", "H H† eta eta†"): (("", 1), ("", 1)),  # λ3 |H|²|η|², λ4 |H†η|²
        ("quartic", "eta eta eta† eta†"): ("", 1),
        ("mass", "H H†"): ("", 1),
        ("mass", "eta eta†"): ("", 1),
        ("mass", "N† N†"): ("sym", 12),
    }
    lag = lagrangian([*LEPTONS, n, H, eta])
    assert (
        len([t for t in lag.terms if t.monomial == ((3, False), (3, True), (4, False), (4, True))])
        == 2
    )


def test_type_two_seesaw_yukawa_is_symmetric() -> None:
    """Δ ~ (1,3,2): the L L Δ Yukawa (the Weinberg-like structure) takes a symmetric matrix."""
    lag = lagrangian([L(1, 2, -1, "L", generations=3), S(1, 3, 2, "Delta"), H])
    terms = flavoured(lag)
    assert terms[("yukawa", "Delta L L")] == ("sym", 12)


def test_two_higgs_doublets_as_two_generations() -> None:
    """The general 2HDM: m11², m22² real, m12² complex (4); λ1…λ4 real, λ5…λ7 complex (10)."""
    lag = lagrangian([S(1, 2, 1, "H", generations=2)])
    masses = [t.flavour.parameters for t in lag.by_kind("mass")]
    quartics = sorted((t.flavour.parameters, t.flavour.describe()) for t in lag.by_kind("quartic"))
    assert masses == [4]
    assert quartics == [
        (1, "2×2×2×2 antisymmetric, antisymmetric, 1 real"),
        (9, "2×2×2×2 symmetric, symmetric, 9 real"),
    ]


def test_schur_dimensions_by_hand() -> None:
    assert schur_dimension((2,), 3) == 6  # symmetric 3×3
    assert schur_dimension((1, 1), 3) == 3  # antisymmetric 3×3
    assert schur_dimension((1, 1), 1) == 0  # ε(L L) h⁺ with one generation
    assert schur_dimension((3,), 2) == 4
    assert schur_dimension((2, 1), 2) == 2
    assert schur_dimension((2, 2), 2) == 1
    assert schur_dimension((2, 1, 1), 3) == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_bad_generations(bad: object) -> None:
    with pytest.raises(FieldError, match="generations"):
        S(generations=bad)  # type: ignore[arg-type]


def test_checker_accepts_flavoured_terms() -> None:
    """An antisymmetric ε(L L)h⁺ is zero for identical L but not for two flavours."""
    fields = [*LEPTONS, H, S(1, 1, 2, "h"), S(1, 2, 0, "D", generations=2)]
    lag = lagrangian(fields)
    for t in lag.terms:
        verdict = check_term(fields, t)
        assert verdict.valid, (t.text(fields), verdict.reasons)
        if t.kind not in ("kinetic", "gauge_kinetic"):
            assert verdict.match is not None
    one = [replace(f, generations=1) for f in fields]
    (llh,) = [
        t for t in lag.by_kind("yukawa") if t.monomial == ((0, False), (0, False), (3, False))
    ]
    assert "vanishes identically" in check_term(one, llh).reasons[0]


def test_sm_with_three_generations_agrees_with_basisgen() -> None:
    sm3 = [replace(f, generations=3) if f.is_fermion else f for f in catalogue.get("sm").fields]
    peer = basisgen_counts(sm3)
    lag = lagrangian(sm3)
    assert peer == engine_counts(lag, flavours=True)
    assert sum(t.flavour.parameters for t in lag.by_kind("yukawa")) == 54  # three 3×3 complex


def random_flavoured(seed: int) -> list[Field]:
    rng = random.Random(seed)
    out: list[Field] = []
    for _ in range(rng.randint(1, 3)):
        if out and rng.random() < 0.3:  # same quantum numbers, another spin
            g = rng.choice(out)
            out.append(rng.choice([S, L, R])(g.su3, g.su2, g.y, generations=rng.choice([1, 2, 3])))
            continue
        maker = rng.choice([S, S, L, R])
        out.append(
            maker(
                rng.choice([1, 1, 3, -3, 8]),
                rng.choice([1, 1, 2, 3]),
                rng.choice([0, 0, 1, -1, 2, Fraction(1, 3)]),
                generations=rng.choice([1, 2, 3]),
            )
        )
    if rng.random() < 0.5:
        out.append(S(rng.choice([1, 8]), rng.choice([1, 3]), 0, real=True, generations=2))
    return out


@pytest.mark.parametrize("seed", range(10))
def test_random_flavour_counts_agree_with_basisgen(seed: int) -> None:
    fields = random_flavoured(seed)
    ours = engine_counts(lagrangian(fields), flavours=True)
    assert not compare_counts(basisgen_counts(fields), ours), [f.describe() for f in fields]
    assert not compare_counts(operator_counts(fields), ours)


@pytest.mark.parametrize("seed", range(4))
def test_random_flavours_with_z2_agree_with_character_counting(seed: int) -> None:
    fields = [
        replace(f, charges={Z2: k % 2}) if not f.real else f
        for k, f in enumerate(random_flavoured(seed))
    ]
    ours = engine_counts(lagrangian(fields), flavours=True)
    assert not compare_counts(operator_counts(fields), ours)


def test_sm_three_generations_with_z2_singlet_is_fast() -> None:
    """Issue 12's speed goal, with a wide margin (about 2 ms on a laptop core): < 50 ms warm."""
    import time

    fields = [
        *(replace(f, generations=3) if f.is_fermion else f for f in catalogue.get("sm").fields),
        S(1, 1, 0, "S", real=True, charges={Z2: 1}),
    ]
    lagrangian(fields)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        lagrangian(fields)
        times.append(time.perf_counter() - t0)
    assert sorted(times)[2] < 0.050
