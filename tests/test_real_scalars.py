"""Real scalars (issue 12): S = S*, no separate conjugate, odd powers, ½ normalisations.

Textbook potentials written out by hand; BasisGen (a real field is one BasisGen field with no
conjugate) and the project's character counting on random contents; the checker accepts
every term.
"""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction

import pytest
from peer_basisgen import basisgen_counts

from lagnb.errors import FieldError
from lagnb.physics.check import check_term
from lagnb.physics.counting import compare_counts, engine_counts, operator_counts
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field
from lagnb.physics.symmetries import Symmetry
from lagnb.physics.terms import Lagrangian

S, L, R = Field.scalar, Field.left, Field.right
H = S(1, 2, 1, "H")
Z2 = Symmetry.z("Z2", 2)


def content(lag: Lagrangian) -> Counter[tuple[str, str, bool, Fraction]]:
    """Each term as (kind, fields with †, O + h.c.?, prefactor), with multiplicity."""
    names = [f.name for f in lag.fields]
    out: Counter[tuple[str, str, bool, Fraction]] = Counter()
    for t in lag.terms:
        objs = sorted(names[f.field] + ("†" if f.conjugate else "") for f in t.field_factors)
        groups = sorted({getattr(f, "group", "") for f in t.factors} - {""})
        out[(t.kind, " ".join(objs) or " ".join(groups), not t.hermitian, t.prefactor)] += 1
    return out


ONE, HALF = Fraction(1), Fraction(1, 2)
HIGGS_ONLY = {
    ("quartic", "H H H† H†", False, ONE): 1,
    ("kinetic", "H H†", False, ONE): 1,
    ("gauge_kinetic", "SU2", False, ONE): 1,
    ("gauge_kinetic", "U1", False, ONE): 1,
    ("mass", "H H†", False, ONE): 1,
}


def test_singlet_scalar_dark_matter_with_z2() -> None:
    """Real S, Z2-odd: ½μ²S², λ_S S⁴, λ_HS H†H S², ½(∂S)²; no S, S³, H†H S."""
    s = S(1, 1, 0, "S", real=True, charges={Z2: 1})
    assert content(lagrangian([H, s])) == Counter(
        {
            **HIGGS_ONLY,
            ("mass", "S S", False, HALF): 1,
            ("quartic", "S S S S", False, ONE): 1,
            ("quartic", "H H† S S", False, ONE): 1,
            ("kinetic", "S S", False, HALF): 1,
        }
    )
    text = lagrangian([H, s]).to_text()
    assert "½ m₂² S²" in text and "½ (D_μ S) (D^μ S)" in text


def test_real_singlet_without_parity_has_odd_powers() -> None:
    s = S(1, 1, 0, "S", real=True)
    assert content(lagrangian([H, s])) == Counter(
        {
            **HIGGS_ONLY,
            ("trilinear", "H H† S", False, ONE): 1,  # H†H S, real coupling
            ("trilinear", "S S S", False, ONE): 1,
            ("mass", "S S", False, HALF): 1,
            ("quartic", "S S S S", False, ONE): 1,
            ("quartic", "H H† S S", False, ONE): 1,
            ("kinetic", "S S", False, HALF): 1,
        }
    )


def test_real_triplet() -> None:
    """Σ ~ (1,3,0) real: a₁ H†ΣH, ½μ² Tr Σ², a₂ H†H Tr Σ², b (Tr Σ²)²; Tr Σ³ = 0."""
    sigma = S(1, 3, 0, "Sigma", real=True)
    assert content(lagrangian([H, sigma])) == Counter(
        {
            **HIGGS_ONLY,
            ("trilinear", "H H† Sigma", False, ONE): 1,
            ("mass", "Sigma Sigma", False, HALF): 1,
            ("quartic", "H H† Sigma Sigma", False, ONE): 1,
            ("quartic", "Sigma Sigma Sigma Sigma", False, ONE): 1,
            ("kinetic", "Sigma Sigma", False, HALF): 1,
        }
    )


def test_real_octet_has_the_d_symbol_cubic() -> None:
    """A real colour octet O: Tr O³ (d_ABC) exists, one quartic (Tr O⁴ = ½ (Tr O²)²)."""
    lag = lagrangian([S(8, 1, 0, "O", real=True)])
    assert content(lag) == Counter(
        {
            ("trilinear", "O O O", False, ONE): 1,
            ("quartic", "O O O O", False, ONE): 1,
            ("mass", "O O", False, HALF): 1,
            ("kinetic", "O O", False, ONE / 2): 1,
            ("gauge_kinetic", "SU3", False, ONE): 1,
        }
    )


def test_real_field_is_its_own_conjugate_and_complex_stays_default() -> None:
    s = S(1, 3, 0, real=True)
    assert s.conjugate() is s and s != S(1, 3, 0)
    assert S(1, 3, 0).real is False
    # a Z4 charge of 2 = N/2 is its own opposite: allowed for a real field
    assert S(real=True, charges={Symmetry.z("Z4", 4): 2}).real


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: S(1, 2, 0, real=True), "SU\\(2\\) 2 is not real"),
        (lambda: S(3, 1, 0, real=True), "SU\\(3\\) 3 is not real"),
        (lambda: S(1, 1, 1, real=True), "hypercharge 1 is not real"),
        (lambda: S(real=True, charges={Symmetry.gauged_u1("X"): 1}), "X charge 1"),
        (lambda: S(real=True, charges={Symmetry.z("Z3", 3): 1}), "Z_3 charge 1"),
        (lambda: Field(Fraction(1, 2), 1, 1, 0, Fraction(-1, 2), real=True), "only a scalar"),
    ],
)
def test_real_field_in_a_complex_representation_is_an_error(make, match) -> None:
    with pytest.raises(FieldError, match=match):
        make()


def test_checker_on_real_fields() -> None:
    """Every engine term is valid, including h.c. forms whose real triplet's indices are
    raised; a term conjugating a real field is judged the same as the field's."""
    fields = [S(1, 3, 0, "A", real=True), S(1, 3, 0, "B", real=True), S(1, 3, 2, "D"), H]
    lag = lagrangian(fields)
    for t in lag.terms:
        assert check_term(fields, t).valid, t.text(fields)
        if not t.hermitian:
            verdict = check_term(fields, t.conjugate(fields))
            assert verdict.valid and verdict.match_conjugate, t.text(fields)


def random_real_content(seed: int) -> list[Field]:
    """2–4 fields, some real scalars in real representations, some complex ones."""
    rng = random.Random(seed)
    out: list[Field] = []
    for _ in range(rng.randint(2, 4)):
        if rng.random() < 0.5:
            out.append(S(rng.choice([1, 1, 8]), rng.choice([1, 3, 3]), 0, real=True))
        else:
            maker = rng.choice([S, S, L, R])
            out.append(
                maker(rng.choice([1, 1, 3, 8]), rng.choice([1, 2, 3]), rng.choice([0, 0, 2]))
            )
    return out


@pytest.mark.parametrize("seed", range(8))
def test_random_real_contents_agree_with_basisgen(seed: int) -> None:
    fields = random_real_content(seed)
    ours = engine_counts(lagrangian(fields))
    peer = basisgen_counts(fields)
    assert not compare_counts(peer, ours), [f.describe() for f in fields]
    assert not compare_counts(operator_counts(fields), ours)
