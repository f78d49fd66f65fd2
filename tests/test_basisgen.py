"""The engine against the peer tool BasisGen: derivative-free invariants per field monomial.

BasisGen is an independent implementation (its own Lie-algebra code, Freudenthal multiplicities,
tensor-product decomposition).  The driver is tests/peer_basisgen.py.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from peer_basisgen import basisgen_counts

from lagnb.physics import catalogue
from lagnb.physics.counting import compare_counts, engine_counts, operator_counts
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field

S, L, R = Field.scalar, Field.left, Field.right

STANDARD_MODEL = list(catalogue.get("sm").fields)


def random_content(seed: int, n_min: int = 1, n_max: int = 4) -> list[Field]:
    """A reproducible random field content with many zero hypercharges and repeated reps."""
    rng = random.Random(seed)
    ys = [Fraction(0)] * 3 + [Fraction(v) for v in ("1", "-1", "2", "1/2", "-1/2", "1/3")]
    makers = [S, S, L, R]

    def new() -> Field:
        return rng.choice(makers)(
            rng.choice([1, 1, 3, -3, 6, -6, 8]), rng.choice([1, 1, 2, 3, 4]), rng.choice(ys)
        )

    fields = [new()]
    for _ in range(rng.randint(n_min, n_max) - 1):
        r = rng.random()
        g = rng.choice(fields)
        if r < 0.5:
            fields.append(new())
        elif r < 0.65:
            fields.append(g)
        elif r < 0.8:
            fields.append(g.conjugate())
        else:  # same gauge quantum numbers, another spin: Yukawas and Dirac masses
            g = rng.choice([g, g.conjugate()])
            fields.append(rng.choice(makers)(g.su3, g.su2, g.y))
    return fields


def assert_agree(fields: list[Field]) -> None:
    peer = basisgen_counts(fields)
    ours = engine_counts(lagrangian(fields))
    diff = compare_counts(peer, ours)
    assert not diff, f"(BasisGen, engine) per monomial for {[f.describe() for f in fields]}: {diff}"


def test_standard_model_one_generation() -> None:
    peer = basisgen_counts(STANDARD_MODEL)
    assert peer == engine_counts(lagrangian(STANDARD_MODEL))
    assert peer == operator_counts(STANDARD_MODEL)
    assert sum(peer.values()) == 8  # μ², λ, and 3 Yukawas + their conjugates


def test_singlet_scalar_drops_the_tadpole() -> None:
    peer = basisgen_counts([S()])
    assert ((0, False),) not in peer
    assert peer == {
        ((0, False), (0, False)): 1,
        ((0, False), (0, True)): 1,
        ((0, True), (0, True)): 1,
        ((0, False), (0, False), (0, False)): 1,
        ((0, False), (0, False), (0, True)): 1,
        ((0, False), (0, True), (0, True)): 1,
        ((0, True), (0, True), (0, True)): 1,
        ((0, False), (0, False), (0, False), (0, False)): 1,
        ((0, False), (0, False), (0, False), (0, True)): 1,
        ((0, False), (0, False), (0, True), (0, True)): 1,
        ((0, False), (0, True), (0, True), (0, True)): 1,
        ((0, True), (0, True), (0, True), (0, True)): 1,
    }
    assert_agree([S()])


@pytest.mark.parametrize(
    "fields",
    [
        [S(1, 2, 1), S(1, 2, 1)],  # two Higgs doublets
        [S(1, 2, 1), S(1, 3, 2)],  # type-II seesaw scalars
        [S(1, 2, 1), S(1, 3, 2), L(1, 2, -1)],  # … with the lepton doublet
        [S(8), L(8), R(3, 2, Fraction(1, 3))],  # colour octets
        [S(6, 1, Fraction(2, 3)), S(-3, 1, Fraction(-2, 3)), L(3, 1, Fraction(-1, 3))],
        [S(1, 4, 1), S(1, 4, 1)],  # quadruplets
        [L(), R(), L(1, 3), S()],  # singlet fermions and a triplet
    ],
)
def test_named_models(fields: list[Field]) -> None:
    assert_agree(fields)


@pytest.mark.parametrize("seed", range(12))
def test_random_contents(seed: int) -> None:
    assert_agree(random_content(seed))


@pytest.mark.parametrize("seed", [100, 101])
def test_random_six_field_contents(seed: int) -> None:
    fields = random_content(seed, 6, 6)
    assert len(fields) == 6
    assert_agree(fields)
