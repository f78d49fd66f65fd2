"""Extra Abelian symmetries: a gauged U(1)′, a global U(1), a Z_N (issue 12).

Textbook models written out by hand, the project's independent character counting (Z_N) and
BasisGen (extra U(1) charges, random contents).
"""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction

import pytest
from peer_basisgen import basisgen_counts

from lagnb.errors import FieldError
from lagnb.physics import catalogue
from lagnb.physics.check import check_term
from lagnb.physics.counting import compare_counts, engine_counts, operator_counts
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field
from lagnb.physics.symmetries import Symmetry
from lagnb.physics.terms import Lagrangian

S, L, R = Field.scalar, Field.left, Field.right
BL = Symmetry.gauged_u1("BL")
Z2 = Symmetry.z("Z2", 2)
Z3 = Symmetry.z("Z3", 3)
LEPTON = Symmetry.global_u1("Lepton")


def content(lag: Lagrangian) -> Counter[tuple[str, str, bool]]:
    """Each term as (kind, its fields with † in sorted order, O + h.c.?), with multiplicity."""
    names = [f.name for f in lag.fields]
    out: Counter[tuple[str, str, bool]] = Counter()
    for t in lag.terms:
        objs = sorted(names[f.field] + ("†" if f.conjugate else "") for f in t.field_factors)
        groups = sorted({getattr(f, "group", "") for f in t.factors} - {""})
        out[(t.kind, " ".join(objs) or " ".join(groups), not t.hermitian)] += 1
    return out


# -- declarations and their errors -----------------------------------------------------------------
def test_symmetry_declarations_and_errors() -> None:
    assert Symmetry.z("Z4", 4) == Symmetry("Z4", "Z", 4)
    assert BL.group == "U1:BL" and BL.is_gauged and not LEPTON.is_gauged
    for bad, match in (
        (lambda: Symmetry("Z1", "Z", 1), "N ≥ 2"),
        (lambda: Symmetry("X", "local"), "unknown kind"),
        (lambda: Symmetry("Y"), "taken"),
        (lambda: Symmetry("1x"), "letter"),
        (lambda: Symmetry("U", "gauged", 3), "only a Z_N"),
    ):
        with pytest.raises(FieldError, match=match):
            bad()


def test_field_charges_normalised() -> None:
    s = S(charges={Z3: 4, BL: "1/2", Z2: 2})
    assert s.charges == ((BL, Fraction(1, 2)), (Z3, Fraction(1)))  # Z2 charge 2 ≡ 0 dropped
    assert s.charge(Z2) == 0 and s.charge(Z3) == 1
    assert s.conjugate().charges == ((BL, Fraction(-1, 2)), (Z3, Fraction(2)))
    assert S(charges={Z2: 0}) == S()  # a zero charge is no charge
    assert S(charges={Z2: 1}) != S()
    with pytest.raises(FieldError, match="Z_2 charge 1/2 under Z2 is not an integer"):
        S(charges={Z2: "1/2"})
    with pytest.raises(FieldError, match="Symmetry objects"):
        S(charges={"Z2": 1})
    with pytest.raises(FieldError, match="two different symmetries named"):
        S(charges={Z2: 1, Symmetry.z("Z2", 4): 1})


# -- textbook models, by hand ------------------------------------------------------------------------
def test_complex_singlet_with_z2_by_hand() -> None:
    """H ~ (1,2,1) and a Z2-odd complex singlet S: no odd powers of S."""
    h, s = S(1, 2, 1, "H"), S(1, 1, 0, "S", charges={Z2: 1})
    expected = Counter(
        {
            ("quartic", "H H H† H†", False): 1,
            ("quartic", "H H† S S", True): 1,  # H†H S² + h.c.
            ("quartic", "H H† S S†", False): 1,
            ("quartic", "S S S S", True): 1,
            ("quartic", "S S S S†", True): 1,
            ("quartic", "S S S† S†", False): 1,
            ("kinetic", "H H†", False): 1,
            ("kinetic", "S S†", False): 1,
            ("gauge_kinetic", "SU2", False): 1,
            ("gauge_kinetic", "U1", False): 1,
            ("mass", "H H†", False): 1,
            ("mass", "S S", True): 1,
            ("mass", "S S†", False): 1,
        }
    )
    assert content(lagrangian([h, s])) == expected
    # without the Z2 the odd terms are there: S, S³, S²S†, H†H S (+ h.c.) …
    free = content(lagrangian([h, S(1, 1, 0, "S")]))
    assert free[("trilinear", "H H† S", True)] == 1
    assert free[("trilinear", "S S S", True)] == 1


def _sm_with_b_minus_l(phi_charge: object = 2) -> list[Field]:
    c = {"Q": "1/3", "u": "1/3", "d": "1/3", "L": -1, "e": -1}
    sm = [
        Field(f.spin, f.su3, f.su2, f.y, f.helicity, f.name, charges={BL: c[f.name]})
        if f.name in c
        else f
        for f in catalogue.get("sm").fields
    ]
    return [*sm, R(1, 1, 0, "N", charges={BL: -1}), S(1, 1, 0, "Phi", charges={BL: phi_charge})]


def test_gauged_b_minus_l_by_hand() -> None:
    """SM + ν_R (B−L −1) + Φ (B−L 2): N N Φ allowed, the Majorana mass N N forbidden, the X
    boson's kinetic term and its kinetic mixing with hypercharge."""
    expected = Counter(
        {
            # the SM Yukawas: Q u H̃, Q d H, L e H, and the Dirac L N H̃
            ("yukawa", "H Q u†", True): 1,
            ("yukawa", "H† Q d†", True): 1,
            ("yukawa", "H† L e†", True): 1,
            ("yukawa", "H L N†", True): 1,
            ("yukawa", "N† N† Phi†", True): 1,  # N N Φ: the Majorana mass after ⟨Φ⟩
            ("quartic", "H H H† H†", False): 1,
            ("quartic", "H H† Phi Phi†", False): 1,
            ("quartic", "Phi Phi Phi† Phi†", False): 1,
            **{("kinetic", f"{n} {n}†", False): 1 for n in ("Q", "u", "d", "L", "e", "N", "Phi")},
            ("kinetic", "H H†", False): 1,
            **{("gauge_kinetic", g, False): 1 for g in ("SU3", "SU2", "U1", "U1:BL")},
            ("kinetic_mixing", "U1 U1:BL", False): 1,
            ("mass", "H H†", False): 1,
            ("mass", "Phi Phi†", False): 1,
        }
    )
    assert content(lagrangian(_sm_with_b_minus_l())) == expected
    # with Φ of charge 1 instead, nothing couples N N and Φ
    other = content(lagrangian(_sm_with_b_minus_l(1)))
    assert not any("N† N†" in objs for _, objs, _ in other)


def test_global_u1_has_no_gauge_boson() -> None:
    """Lepton number forbids the Majorana mass of ν_R but adds no kinetic terms."""
    fields = [L(1, 2, -1, "L", charges={LEPTON: 1}), R(1, 1, 0, "N", charges={LEPTON: 1})]
    terms = content(lagrangian([*fields, S(1, 2, 1, "H")]))
    assert ("mass", "N† N†", True) not in terms
    assert ("yukawa", "H L N†", True) in terms
    assert not any(k == "kinetic_mixing" or "Lepton" in o for k, o, _ in terms)
    assert ("mass", "N† N†", True) in content(lagrangian([S(1, 2, 1, "H"), R(1, 1, 0, "N")]))


def test_z3_by_hand() -> None:
    """A Z3 charge-1 complex singlet: S³ allowed, S² S† and S S forbidden."""
    terms = content(lagrangian([S(1, 1, 0, "S", charges={Z3: 1})]))
    assert terms == Counter(
        {
            ("trilinear", "S S S", True): 1,
            ("quartic", "S S S† S†", False): 1,
            ("kinetic", "S S†", False): 1,
            ("mass", "S S†", False): 1,
        }
    )


def test_kinetic_mixing_between_two_u1_primes() -> None:
    x = Symmetry.gauged_u1("X")
    lag = lagrangian([S(charges={BL: 1, x: 1}, name="A")])  # no hypercharge: one mixing
    mixing = lag.by_kind("kinetic_mixing")
    assert len(mixing) == 1
    assert "X_{\\mathrm{BL}}" in lag.latex() and r"\epsilon_{1}" in lag.latex()
    assert "−½ ε₁ X[BL]_μν X[X]^μν" in lag.to_text()
    for t in lag.terms:
        assert check_term(lag.fields, t).valid, t


def test_checker_honours_extra_charges() -> None:
    h = S(1, 2, 1, "H")
    odd = S(1, 1, 0, "S", charges={Z2: 1})
    free = lagrangian([h, S(1, 1, 0, "S")])
    (trilinear,) = [t for t in free.by_kind("trilinear") if len(set(t.monomial)) == 3]
    verdict = check_term([h, odd], trilinear)
    assert not verdict.valid
    assert "Z_2 charges under Z2 add up to 1 mod 2, not 0" in verdict.reasons
    n = S(1, 1, 0, "Phi", charges={BL: 1})
    verdict = check_term([h, n], lagrangian([h, S(1, 1, 0, "Phi")]).by_kind("mass")[1])
    assert "U(1) BL (gauged) charges add up to 2, not 0" in verdict.reasons
    for fields in ([h, odd], _sm_with_b_minus_l()):
        lag = lagrangian(fields)
        assert all(check_term(fields, t).valid for t in lag.terms)


# -- independent counts ------------------------------------------------------------------------------
def random_charged(seed: int, sym: Symmetry, n_max: int = 4) -> list[Field]:
    """Random 2–n_max fields with random SM quantum numbers and charges under ``sym``."""
    rng = random.Random(seed)
    makers = [S, S, S, L, R]
    ys = [0, 0, 0, 0, 1, -1, 2]
    qs = list(range(sym.order)) if sym.is_discrete else [0, 1, -1, 2, -2, "1/2"]
    fields: list[Field] = []
    for _ in range(rng.randint(2, n_max)):
        if fields and rng.random() < 0.4:  # same gauge quantum numbers, another charge
            g = rng.choice(fields)
            fields.append(rng.choice(makers)(g.su3, g.su2, g.y, charges={sym: rng.choice(qs)}))
        else:
            fields.append(
                rng.choice(makers)(
                    rng.choice([1, 1, 1, 3, -3, 8]),
                    rng.choice([1, 1, 2, 3]),
                    rng.choice(ys),
                    charges={sym: rng.choice(qs)},
                )
            )
    return fields


def charged_contents(sym: Symmetry, n: int = 5) -> list[list[Field]]:
    """The first ``n`` random contents (seeds 0, 1, …) whose charges under ``sym`` forbid
    some of the terms the gauge symmetry alone allows, and leave some (by character counting)."""
    out = []
    for seed in range(200):
        fields = random_charged(seed, sym)
        plain = [Field(f.spin, f.su3, f.su2, f.y, f.helicity) for f in fields]
        if sum(operator_counts(plain).values()) > sum(operator_counts(fields).values()) > 0:
            out.append(fields)
        if len(out) == n:
            return out
    raise AssertionError(f"too few random contents where {sym} matters")  # pragma: no cover


@pytest.mark.parametrize("sym", [Z2, Z3, Symmetry.z("Z4", 4)], ids=lambda s: s.name)
def test_zn_counts_agree_with_character_counting(sym: Symmetry) -> None:
    for fields in charged_contents(sym):
        ours = engine_counts(lagrangian(fields))
        assert not compare_counts(operator_counts(fields), ours), fields


@pytest.mark.parametrize("sym", [BL, LEPTON], ids=lambda s: s.name)
def test_u1_counts_agree_with_basisgen(sym: Symmetry) -> None:
    for fields in charged_contents(sym):
        peer = basisgen_counts(fields)
        assert not compare_counts(peer, engine_counts(lagrangian(fields))), fields
        assert not compare_counts(peer, operator_counts(fields)), fields


def test_b_minus_l_term_tokens_check_as_the_terms() -> None:
    """The U(1)′ appears as ``U1:BL`` in DERIVATIVE and COMMUTATOR tokens; every term's token
    form (and its h.c.) is the engine term it came from."""
    fields = _sm_with_b_minus_l()
    lag = lagrangian(fields)
    assert "COMMUTATOR_A DERIVATIVE U1:BL" in lag.tokens()
    assert "DERIVATIVE SU3 SU2 U1 U1:BL" in lag.terms[8].tokens(fields)
    for i, t in enumerate(lag.terms):
        verdict = check_term(fields, t.tokens(fields))
        assert verdict.valid and verdict.match == i, (i, verdict.reasons)
        if not t.hermitian:
            verdict = check_term(fields, t.conjugate(fields).tokens(fields))
            assert verdict.valid and verdict.match == i and verdict.match_conjugate
    # a kinetic term that leaves out the U(1)′ of its field does not parse
    wrong = lag.terms[8].tokens(fields).replace(" U1:BL", "")
    assert not check_term(fields, wrong).parses
