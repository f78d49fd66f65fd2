import itertools
import random
from collections import Counter

import numpy as np

from lagnb.physics.check import sorted_form
from lagnb.physics.contractions import Evaluator, _rank_basis
from lagnb.physics.engine import conjugate_monomial, lagrangian, monomial_slots
from lagnb.physics.fields import Field, parse_fields
from lagnb.physics.tokens import split_terms

HIGGS = "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"


def kinds(lag):
    return Counter(t.kind for t in lag.terms)


def test_higgs_alone_matches_the_bart_l_structure():
    lag = lagrangian(HIGGS)
    assert kinds(lag) == {"quartic": 1, "kinetic": 1, "gauge_kinetic": 2, "mass": 1}
    # the released model's second quartic, with ε(H H), is not in the basis: one quartic only
    (quartic,) = lag.by_kind("quartic")
    assert {a.tensor for a in quartic.contractions} == {"delta"}
    assert lag.tokens().startswith(
        "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 1 ID1 "
        "FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID2 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID3 CONTRACTIONS"
    )


def test_total_singlet_scalar_has_every_complex_operator():
    lag = lagrangian("FIELD SPIN 0")
    monos = Counter((t.kind, sum(c for _, c in t.monomial), t.hermitian) for t in lag.terms)
    # φ†φ (real), φφ (+h.c.); φ³, φ²φ† (+h.c.); φ⁴, φ³φ† (+h.c.), φ²φ†² (real)
    assert monos == {
        ("mass", 1, True): 1,
        ("mass", 0, False): 1,
        ("trilinear", 0, False): 1,
        ("trilinear", 1, False): 1,
        ("quartic", 0, False): 1,
        ("quartic", 1, False): 1,
        ("quartic", 2, True): 1,
        ("kinetic", 1, True): 1,
    }
    assert not lag.by_kind("gauge_kinetic")


def test_majorana_mass_only_for_symmetric_gauge_part():
    assert len(lagrangian([Field.left()]).by_kind("mass")) == 1
    # Sym²(3 of SU(2)) contains a singlet, Sym²(2) does not: a lone doublet has no mass
    assert len(lagrangian([Field.left(1, 3, 0)]).by_kind("mass")) == 1
    assert not lagrangian([Field.left(1, 2, 0)]).by_kind("mass")
    # Dirac mass of a vector-like pair
    pair = [Field.left(3, 1, "2/3"), Field.right(3, 1, "2/3")]
    (mass,) = lagrangian(pair).by_kind("mass")
    assert mass.sign == "-" and not mass.hermitian


def test_output_is_deterministic_and_hc_is_written_out(sm):
    a, b = lagrangian(sm), lagrangian(sm)
    assert a.tokens() == b.tokens()
    n_hc = sum(not t.hermitian for t in a.terms)
    assert len(split_terms(a.tokens())) == len(a) + n_hc
    assert len(split_terms(a.tokens(hc=False))) == len(a)


def test_field_order_does_not_change_the_physics(sm):
    base = kinds(lagrangian(sm))
    for perm in itertools.islice(itertools.permutations(sm), 0, 720, 97):
        assert kinds(lagrangian(perm)) == base


def test_each_monomial_basis_is_independent_and_hermitian_terms_are_hermitian():
    rng = random.Random(3)
    reps = [(1, 1), (1, 2), (1, 3), (3, 1), (-3, 2), (8, 1), (6, 1), (1, 4)]
    for _ in range(12):
        fields = [
            Field.scalar(*rng.choice(reps), y=rng.choice([0, 0, 1, -1, "1/3"])) for _ in range(2)
        ]
        lag = lagrangian(fields)
        by_mono: dict = {}
        for t in lag.terms:
            if t.kind not in ("kinetic", "gauge_kinetic"):
                by_mono.setdefault(t.monomial, []).append(t)
        for mono, terms in by_mono.items():
            slots, _ = monomial_slots(lag.fields, mono)
            ev = Evaluator(slots, 40, seed=11)
            vecs = [ev(sorted_form(t)[1]) for t in terms]
            if conjugate_monomial(mono) == mono:
                vecs += [ev(sorted_form(t.conjugate())[1]) for t in terms if not t.hermitian]
            assert len(_rank_basis(np.array(vecs))) == len(vecs), (fields, mono)
            for t in terms:
                if t.hermitian:
                    v, w = ev(sorted_form(t)[1]), ev(sorted_form(t.conjugate())[1])
                    assert min(np.abs(v - w).max(), np.abs(v + w).max()) < 1e-9


def test_known_contraction_counts():
    def count(text, kind):
        return len(lagrangian(parse_fields(text)).by_kind(kind))

    assert count("FIELD SPIN 0 SU2 3 U1 2", "quartic") == 2  # complex triplet: 2 quartics
    assert count("FIELD SPIN 0 SU3 6 U1 2", "quartic") == 2  # complex sextet
    # d-type φ³ and φ²φ† (each + h.c.); the f-type φ²φ† is antisymmetric in φφ and vanishes
    assert count("FIELD SPIN 0 SU3 8", "trilinear") == 2
    assert count("FIELD SPIN 0 SU3 3 U1 2", "trilinear") == 0  # ε φφφ vanishes; charge ≠ 0
    assert count("FIELD SPIN 0 SU3 3", "trilinear") == 0  # ε antisymmetric, identical bosons
    assert count("FIELD SPIN 0 SU3 3 FIELD SPIN 0 SU3 3 FIELD SPIN 0 SU3 3", "trilinear") == 1
