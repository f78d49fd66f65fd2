"""Field-content sampling: distributions, canonical contents, seeds, features, quotas."""

import random
from fractions import Fraction

import pytest
from conftest import sm_fields
from hypothesis import given, settings
from hypothesis import strategies as st

from lagnb.data.features import FEATURE_COLUMNS, FEATURES, features, has_feature
from lagnb.data.sampling import (
    DEFAULT_HYPERCHARGES,
    CandidateContext,
    FieldDistribution,
    Quotas,
    canonical_fields,
    check_targets,
    content_key,
    draw_candidate,
    draw_task,
    example_task,
    make_example,
    seed_fields,
    target_len_lower_bound,
)
from lagnb.errors import LagnbError
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field, fields_tokens, parse_fields

H = Field.scalar(1, 2, 1, name="H")
N_R = Field.right(1, 1, 0, name="N")


# -- features ------------------------------------------------------------------------------------
def test_features_of_the_standard_model():
    f = features(lagrangian(sm_fields()))
    assert f.yukawa and f.fermion and f.multi_yukawa
    assert not (f.trilinear or f.singlet or f.majorana or f.multi_quartic)


def test_multi_yukawa_needs_two_different_yukawa_monomials():
    # by hand (Q = T3 + Y/2): the SM's Yukawas are Q u† H, Q d† H† and L e† H†, three
    # monomials; the lepton sector with the Higgs has only L e† H†
    L, e = Field.left(1, 2, -1, name="L"), Field.right(1, 1, -2, name="e")
    assert not features(lagrangian([L, e, H])).multi_yukawa
    assert features(lagrangian([L, e, H])).yukawa
    # a second lepton doublet adds L' e† H†: two monomials sharing the Higgs
    assert features(lagrangian([L, e, H, Field.left(1, 2, -1, name="L2")])).multi_yukawa
    # a Y = 0 complex singlet S: N N S and N N S† are two monomials; with a real S, one
    s = Field.scalar(1, 1, 0, name="S")
    assert features(lagrangian([N_R, s])).multi_yukawa
    assert not features(lagrangian([N_R, Field.scalar(1, 1, 0, name="S", real=True)])).multi_yukawa


def test_singlet_neutrino_brings_singlet_and_majorana():
    f = features(lagrangian([*sm_fields(), N_R]))
    assert f.singlet and f.majorana and f.yukawa


def test_dirac_mass_is_not_majorana():
    pair = [Field.left(1, 1, 1), Field.right(1, 1, 1)]
    lag = lagrangian(pair)
    assert lag.by_kind("mass")
    assert not features(lag).majorana


def test_majorana_of_a_real_nonsinglet_fermion():
    # an SU(2) triplet with Y = 0 has ψψ; a doublet does not
    assert features(lagrangian([Field.left(1, 3, 0)])).majorana
    assert not features(lagrangian([Field.left(1, 2, 0)])).majorana


def test_trilinear_and_multi_quartic_examples():
    assert features(lagrangian([Field.scalar()])).trilinear  # φ³ of a singlet
    assert not features(lagrangian([H])).trilinear
    assert not features(lagrangian([H])).multi_quartic  # (H†H)² only
    two_higgs = [H, Field.scalar(1, 2, 1)]
    assert features(lagrangian(two_higgs)).multi_quartic  # (H1†H1)(H2†H2), (H1†H2)(H2†H1), …
    # H, H and a triplet with Y = -2: H H Δ is invariant (type-II seesaw)
    assert features(lagrangian([H, Field.scalar(1, 3, -2)])).trilinear


def test_feature_columns_and_unknown_feature():
    f = features(lagrangian([H]))
    assert tuple(f.as_columns()) == FEATURE_COLUMNS
    assert set(f.present()) <= set(FEATURES)
    with pytest.raises(LagnbError, match="unknown feature 'tri'"):
        has_feature(lagrangian([H]), "tri")


# -- distributions -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"su3_weights": [1, 5]}, "su3_weights: bad value 5"),
        ({"su2_weights": {2: -1.0}}, "su2_weights: weight of 2 must be"),
        ({"spin_weights": ["vector"]}, "spin_weights: bad value 'vector'"),
        ({"hypercharges": ["1/0"]}, "hypercharges: bad value"),
        ({"hypercharges": {"1/3": 0}}, "hypercharges: needs at least one value"),
        ({"reps": "huge"}, r"reps: unknown representation mix 'huge' \(use default, uniform"),
        ({"min_fields": 3, "max_fields": 2}, "min_fields <= max_fields"),
        ({"n_fields_weights": {9: 1}}, "n_fields_weights: 9 fields"),
        ({"p_scalars_only": 1.5}, "p_scalars_only"),
    ],
)
def test_bad_distribution_parameters_are_named(kwargs, message):
    with pytest.raises(LagnbError, match=message):
        FieldDistribution.make(**kwargs)


def test_draws_stay_in_the_distribution():
    dist = FieldDistribution.make(
        min_fields=2,
        max_fields=4,
        su3_weights={1: 1, -3: 2},
        su2_weights=[1, 3],
        hypercharges=["0", "1/3", "-1"],
        spin_weights={"scalar": 1, "right": 1},
    )
    rng = random.Random(3)
    for _ in range(300):
        fields = dist.draw_content(rng)
        assert 2 <= len(fields) <= 4
        for f in fields:
            assert f.su3 in (1, -3) and f.su2 in (1, 3)
            assert f.y in (0, Fraction(1, 3), -1)
            assert f.is_scalar or f.helicity > 0


def test_scalars_only_probability():
    dist = FieldDistribution.make(p_scalars_only=1.0)
    rng = random.Random(0)
    assert all(f.is_scalar for _ in range(50) for f in dist.draw_content(rng))


def test_default_distribution_uses_every_supported_representation():
    dist = FieldDistribution.make()
    assert {r for r, _ in dist.su3} == {1, 3, -3, 6, -6, 8}
    assert {r for r, _ in dist.su2} == {1, 2, 3, 4}
    assert {str(y) for y, _ in dist.hypercharges} == set(DEFAULT_HYPERCHARGES)


# -- canonical contents --------------------------------------------------------------------------
field_strategy = st.builds(
    lambda kind, su3, su2, y: getattr(Field, kind)(su3, su2, y),
    st.sampled_from(["scalar", "left", "right"]),
    st.sampled_from([1, 3, -3, 6, -6, 8]),
    st.sampled_from([1, 2, 3, 4]),
    st.sampled_from(["0", "1/3", "-2/3", "1", "-2"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(field_strategy, min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_content_key_is_permutation_invariant_and_parses_back(fields, rnd):
    shuffled = list(fields)
    rnd.shuffle(shuffled)
    assert content_key(shuffled) == content_key(fields)
    assert canonical_fields(shuffled) == canonical_fields(fields)
    assert parse_fields(content_key(fields)) == canonical_fields(fields)


def test_different_contents_have_different_keys():
    assert content_key([H]) != content_key([H, H])
    assert content_key([Field.left(1, 1, 1)]) != content_key([Field.right(1, 1, 1)])


# -- seeds -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("reps", ["default", "bart-l"])
@pytest.mark.parametrize("feature", FEATURES)
def test_seeds_have_their_feature(feature, reps):
    dist = FieldDistribution.make(reps=reps)
    rng = random.Random(hash((feature, reps)) % 1000)
    found = 0
    for _ in range(15):
        seed = seed_fields(rng, dist, feature, max_size=3)
        if seed is None:
            continue
        found += 1
        assert 1 <= len(seed) <= 3
        assert has_feature(lagrangian(seed), feature), (feature, seed)
    assert found >= 10


def test_seeds_report_impossible_features():
    rng = random.Random(0)
    no_zero = FieldDistribution.make(hypercharges=["1/3", "-2/3"])
    assert seed_fields(rng, no_zero, "singlet", 3) is None
    scalars = FieldDistribution.make(spin_weights=["scalar"])
    assert seed_fields(rng, scalars, "yukawa", 3) is None
    assert seed_fields(rng, FieldDistribution.make(), "yukawa", 1) is None  # needs 2 fields
    with pytest.raises(LagnbError, match="unknown feature"):
        seed_fields(rng, scalars, "gauge", 3)


def test_enriched_proposals_raise_feature_rates():
    dist = FieldDistribution.make(reps="bart-l")
    rng = random.Random(1)
    for feature in ("trilinear", "yukawa", "singlet", "multi_yukawa"):
        uniform = sum(
            feature in features(lagrangian(draw_candidate(rng, dist)[0])).present()
            for _ in range(60)
        )
        seeded = 0
        for _ in range(60):
            fields, used = draw_candidate(rng, dist, feature)
            seeded += has_feature(lagrangian(fields), feature)
            assert used in (feature, "uniform")
        assert seeded > uniform + 20, feature


# -- examples --------------------------------------------------------------------------------------
def test_make_example_matches_the_engine():
    fields = [*sm_fields(), N_R]
    ex = make_example(fields, random.Random(0))
    order = parse_fields(ex.input)
    assert canonical_fields(order) == canonical_fields(fields)  # names do not compare
    assert ex.input == fields_tokens(order)
    lag = lagrangian(order)
    assert ex.target == lag.tokens()
    assert ex.n_terms == len(lag.term_tokens())
    assert ex.target_len == len(ex.target.split())
    assert ex.input_len == len(ex.input.split())
    assert ex.n_fields == 7 and ex.n_scalars == 1
    assert ex.content_key == content_key(fields)
    assert set(ex.present) == set(features(lag).present())
    row = ex.row()
    assert row["has_majorana"] and row["has_yukawa"] and not row["has_trilinear"]


def test_canonical_order_and_length_limit():
    fields = [Field.right(1, 1, 0), H]
    ex = make_example(fields, shuffle=False)
    assert parse_fields(ex.input) == canonical_fields(fields)
    assert make_example(fields, max_target_len=ex.target_len) is not None
    assert make_example(fields, max_target_len=ex.target_len - 1) is None


@pytest.mark.parametrize("reps", ["default", "bart-l", "uniform"])
def test_target_length_lower_bound_holds(reps):
    dist = FieldDistribution.make(reps=reps, max_fields=6, p_scalars_only=0.3)
    rng = random.Random(11)
    tight = 0
    for _ in range(120):
        fields, _ = draw_candidate(rng, dist)
        bound = target_len_lower_bound(fields)
        actual = len(lagrangian(fields).tokens().split())
        assert bound <= actual, fields
        tight += bound == actual
    assert tight > 0


def test_candidates_are_deterministic_per_index():
    ctx = CandidateContext(7, {"main": FieldDistribution.make()}, True, {"main": None})
    a = draw_task(ctx, "main", 42, "trilinear")
    b = draw_task(ctx, "main", 42, "trilinear")
    assert a == b
    assert example_task(ctx, "main", 42, a) == example_task(ctx, "main", 42, b)
    assert len({draw_task(ctx, "main", i, "uniform").key for i in range(10)}) >= 8


# -- quotas ----------------------------------------------------------------------------------------
def test_check_targets_names_the_fault():
    assert check_targets({"trilinear": 0.2}) == {"trilinear": 0.2}
    with pytest.raises(LagnbError, match="unknown feature 'cubic'"):
        check_targets({"cubic": 0.2})
    with pytest.raises(LagnbError, match="fraction of 'singlet' must be in"):
        check_targets({"singlet": 1.5})


def test_quotas_keep_room_for_shortfalls():
    q = Quotas(10, {"trilinear": 0.5})
    assert q.quota("trilinear") == 5
    for _ in range(5):  # five plain candidates fill the room left beside the 5 needed
        assert q.wants(())
        q.add(())
    assert not q.wants(())
    assert q.wants(("trilinear",))
    for _ in range(5):
        q.add(("trilinear",))
    assert q.full and not q.wants(("trilinear",))
    assert q.fractions()["trilinear"] == 0.5


def test_uniform_quotas_accept_everything_and_proposals_follow_shortfalls():
    q = Quotas(3, {})
    assert q.wants(()) and q.proposal_weights() == [("uniform", 1.0)]
    q = Quotas(100, {"trilinear": 0.2, "singlet": 0.1})
    weights = dict(q.proposal_weights())
    assert weights["trilinear"] == pytest.approx(2 * weights["singlet"])
    assert sum(weights.values()) == pytest.approx(1.0)
