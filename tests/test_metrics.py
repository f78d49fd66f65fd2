"""Term-level scores and the BART-L paper's metric on hand-made predictions."""

import random
import re

import pytest

from lagnb.errors import LagnbError, TokenError
from lagnb.ml.metrics import canonical_key, paper_key, parse_structure, score_lagrangian
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field
from lagnb.physics.grammar import Grammar

H = "FIELD SPIN 0 SU2 2 U1 1"
HD = "FIELD SPIN 0 SU2 2 U1 - 1 DAGGER"
HIGGS = "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"

# The released BART-L model's output for the Higgs doublet (public notebook, one term a line):
# the second quartic ε-contracts two identical doublets (it vanishes) and is an extra term.
RELEASED_HIGGS = [
    f"+ {H} ID4 {H} ID7 {HD} ID0 {HD} ID9 CONTRACTIONS SU2 ID4 ID0 SU2 ID7 ID9",
    f"+ {H} ID6 {H} ID4 {HD} ID2 {HD} ID0 CONTRACTIONS SU2 ID6 ID4 SU2 ID2 ID0",
    f"+ DERIVATIVE SU2 U1 ID6 {HD} ID7 DERIVATIVE SU2 U1 ID0 {H} ID4 "
    "CONTRACTIONS LORENTZ ID6 ID0 SU2 ID7 ID4",
    "- COMMUTATOR_A DERIVATIVE SU2 ID6 COMMUTATOR_B DERIVATIVE SU2 ID0 COMMUTATOR_A DERIVATIVE "
    "SU2 ID4 COMMUTATOR_B DERIVATIVE SU2 ID1 CONTRACTIONS LORENTZ ID6 ID4 LORENTZ ID0 ID1",
    "- COMMUTATOR_A DERIVATIVE U1 ID6 COMMUTATOR_B DERIVATIVE U1 ID0 COMMUTATOR_A DERIVATIVE "
    "U1 ID4 COMMUTATOR_B DERIVATIVE U1 ID1 CONTRACTIONS LORENTZ ID6 ID4 LORENTZ ID0 ID1",
    f"+ {HD} ID6 {H} ID7 CONTRACTIONS SU2 ID6 ID7",
]


def relabel(term: str, rng: random.Random) -> str:
    perm = list(range(10))
    rng.shuffle(perm)
    return re.sub(r"ID(\d)", lambda m: f"ID{perm[int(m.group(1))]}", term)


def higgs_singlet():
    return lagrangian([Field.scalar(1, 2, 1), Field.scalar()])


def test_identical_and_relabelled_predictions_are_exact():
    true = higgs_singlet().tokens()
    s = score_lagrangian(true, true)
    assert (s.f1, s.exact, s.paper_score, s.paper_object_score) == (1.0, True, 1.0, 1.0)
    rng = random.Random(3)
    terms = higgs_singlet().term_tokens()
    shuffled = [relabel(t, rng) for t in terms]
    rng.shuffle(shuffled)
    s = score_lagrangian(" ".join(shuffled), true)
    assert s.exact and s.paper_score == 1.0 and s.n_correct == 23


def test_23_terms_one_broken_scores_0_9565():
    terms = higgs_singlet().term_tokens()
    assert len(terms) == 23
    broken = list(terms)
    # the first quartic with the Higgs' SU(2) contraction moved: ε(H,H) ε(H†,H†), which vanishes
    k = next(i for i, t in enumerate(terms) if t.endswith("SU2 ID2 ID0 SU2 ID3 ID1"))
    broken[k] = terms[k].replace("SU2 ID2 ID0 SU2 ID3 ID1", "SU2 ID0 ID1 SU2 ID2 ID3")
    s = score_lagrangian(" ".join(broken), " ".join(terms))
    assert s.paper_score == pytest.approx(22 / 23) and round(s.paper_score, 4) == 0.9565
    assert s.paper_object_score == 1.0  # its objects are right, its contractions are not
    assert s.n_correct == 22 and not s.exact
    assert s.precision == s.recall == pytest.approx(22 / 23)


def test_released_model_higgs_output():
    true = lagrangian(HIGGS).tokens()
    s = score_lagrangian(" ".join(RELEASED_HIGGS), true)
    assert (s.n_true, s.n_pred, s.n_correct, s.paper_correct) == (5, 6, 5, 5)
    assert s.paper_extra == 1 and s.length_penalty == pytest.approx(0.2)
    assert s.paper_score == pytest.approx(0.8)
    assert s.recall == 1.0 and s.precision == pytest.approx(5 / 6)
    assert not s.exact


def test_missing_and_extra_terms():
    terms = higgs_singlet().term_tokens()
    true = " ".join(terms)
    missing = score_lagrangian(" ".join(terms[:-3]), true)
    assert missing.paper_score == pytest.approx(20 / 23) and missing.recall == pytest.approx(
        20 / 23
    )
    assert missing.precision == 1.0 and missing.paper_extra == 0
    # duplicates: extra predictions cost twice in S (not correct, and a length penalty)
    extra = score_lagrangian(" ".join(terms + terms[:2]), true)
    assert extra.paper_extra == 2 and extra.paper_score == pytest.approx(21 / 23)
    assert extra.recall == 1.0 and extra.precision == pytest.approx(23 / 25)
    # S can be negative: many wrong terms
    short = " ".join(lagrangian(HIGGS).term_tokens())
    neg = score_lagrangian(" ".join(terms), short)
    assert neg.paper_score < 0


def test_malformed_terms_are_counted_not_raised():
    true = lagrangian(HIGGS).tokens()
    bad = [
        "+ FIELD SPIN",  # truncated
        f"+ {H} ID0 {HD} ID0 CONTRACTIONS",  # label used twice
        f"+ {H} ID0 {HD} ID1 CONTRACTIONS SU2 ID0 ID5",  # unknown label
        f"+ {H} ID0 U1 ID1 CONTRACTIONS",  # stray token
        "SPIN SPIN SPIN",  # no sign
    ]
    pred = " ".join([*lagrangian(HIGGS).term_tokens(), *bad])
    s = score_lagrangian(pred, true)
    # "SPIN SPIN SPIN" has no sign: it is glued to the previous (already malformed) term
    assert s.n_pred == 9 and s.n_malformed == 4 and len(s.malformed_terms) == 4
    assert s.n_correct == 5 and not s.exact
    assert s.paper_extra == 4 and s.paper_score == pytest.approx((5 - 4) / 5)
    garbage = score_lagrangian("SPIN SPIN SPIN", true)
    assert (garbage.n_pred, garbage.n_malformed, garbage.n_correct) == (1, 1, 0)
    empty = score_lagrangian("", true)
    assert (empty.n_pred, empty.f1, empty.paper_score) == (0, 0.0, 0.0)
    with pytest.raises(TokenError, match="true Lagrangian"):
        score_lagrangian(true, "+ FIELD SPIN")


def test_canonical_key_relabelling_of_identical_objects():
    a = f"+ {H} ID0 {H} ID1 {HD} ID2 {HD} ID3 CONTRACTIONS SU2 ID2 ID0 SU2 ID3 ID1"
    swapped = f"+ {H} ID1 {H} ID0 {HD} ID2 {HD} ID3 CONTRACTIONS SU2 ID2 ID0 SU2 ID3 ID1"
    other = f"+ {H} ID0 {H} ID1 {HD} ID2 {HD} ID3 CONTRACTIONS SU2 ID0 ID1 SU2 ID2 ID3"
    assert canonical_key(a) == canonical_key(swapped) != canonical_key(other)
    assert paper_key(a) != paper_key(other)


def test_canonical_key_knows_what_a_derivative_acts_on():
    kin = (
        f"+ DERIVATIVE SU2 U1 ID0 {HD} ID1 DERIVATIVE SU2 U1 ID2 {H} ID3 "
        "CONTRACTIONS LORENTZ ID0 ID2 SU2 ID1 ID3"
    )
    moved = (
        f"+ {HD} ID1 DERIVATIVE SU2 U1 ID0 DERIVATIVE SU2 U1 ID2 {H} ID3 "
        "CONTRACTIONS LORENTZ ID0 ID2 SU2 ID1 ID3"
    )
    assert canonical_key(kin) != canonical_key(moved)
    assert canonical_key(kin) == canonical_key(relabel(kin, random.Random(1)))


def test_parse_structure_errors():
    s = parse_structure(f"+ i {HD} ID3 SIGMA_BAR ID1 CONTRACTIONS LORENTZ ID3 ID1")
    assert s.head == ("+", "i") and s.objects == (HD, "SIGMA_BAR")
    assert s.contractions == (("LORENTZ", (0, 1)),)
    for text, msg in [
        (f"+ {H} ID0", "missing CONTRACTIONS"),
        (f"+ {H} ID0 CONTRACTIONS SU2 ID0", "at least two"),
        ("+ DERIVATIVE ID0 CONTRACTIONS", "acts on nothing"),
        ("+ COMMUTATOR_A DERIVATIVE SU5 ID0 CONTRACTIONS", "unknown gauge group"),
    ]:
        with pytest.raises(TokenError, match=msg):
            parse_structure(text)


def test_a_lone_commutator_half_is_a_wrong_term_not_a_malformed_one():
    """One term grammar (lagnb.physics.tokens): what the decoding state machine accepts, the
    metrics read.  A commutator half last in a term is wrong physics, not bad syntax."""
    lone = "- COMMUTATOR_A DERIVATIVE U1 ID0 CONTRACTIONS"
    assert Grammar(HIGGS).accepts_term(lone)
    assert parse_structure(lone).objects == ("COMMUTATOR_A DERIVATIVE U1",)
    s = score_lagrangian(lone, lagrangian(HIGGS).tokens())
    assert (s.n_pred, s.n_malformed, s.n_correct) == (1, 0, 0)


# -- what a constant output cannot fake: per-kind recall, F1 without gauge kinetic terms --------


def test_term_kinds_read_from_tokens_agree_with_the_engine_on_every_catalogue_model():
    from lagnb.physics.catalogue import CATALOGUE

    for model in CATALOGUE.values():
        lag = lagrangian(model.fields)
        for term in lag.terms:
            written = term.tokens(lag.fields)
            assert parse_structure(written).kind == term.kind, (model.name, written)


def test_released_higgs_output_by_kind():
    # Higgs alone, by hand: one quartic (H†H)², one kinetic, SU(2) and U(1) gauge kinetic
    # terms, one mass.  The released output finds all of them and adds a vanishing quartic.
    s = score_lagrangian(" ".join(RELEASED_HIGGS), lagrangian([Field.scalar(su2=2, y=1)]).tokens())
    assert dict((k, (f, n)) for k, f, n in s.by_kind) == {
        "quartic": (1, 1),
        "kinetic": (1, 1),
        "gauge_kinetic": (2, 2),
        "mass": (1, 1),
    }
    # without the two gauge kinetic terms: 3 of 4 predictions right, 3 of 3 true terms found
    assert s.f1_no_gauge == pytest.approx(2 * (3 / 4) * 1 / (3 / 4 + 1))
    assert s.recall_of("yukawa") != s.recall_of("yukawa")  # NaN: no true Yukawa


def test_a_constant_gauge_kinetic_output_scores_nothing_without_gauge_terms():
    L = Field.left(su2=2, y=-1)
    e = Field.right(y=-2)
    H = Field.scalar(su2=2, y=1)
    truth = lagrangian([L, e, H])
    gauge_only = " ".join(t.tokens(truth.fields) for t in truth.by_kind("gauge_kinetic"))
    s = score_lagrangian(gauge_only, truth.tokens())
    assert s.f1 > 0.3  # what made a constant output look good
    assert s.f1_no_gauge == 0.0
    assert s.recall_of("gauge_kinetic") == 1.0
    assert s.recall_of("yukawa") == 0.0 and s.recall_of("kinetic") == 0.0
    perfect = score_lagrangian(truth.tokens(), truth.tokens())
    assert perfect.f1_no_gauge == 1.0
    assert all(found == n for _, found, n in perfect.by_kind)
    assert perfect.as_dict()["by_kind"]["yukawa"] == [2, 2]  # the Yukawa and its h.c.


# the lepton Yukawa y L e† H† + h.c. and the Higgs quartic, written out by hand; WRONG_* is the
# mistake a trained model made: H for H† (and H† for H), hypercharges no longer adding to zero
YUK = (
    "+ FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 ID0 FIELD SPIN 1 / 2 U1 2 HEL - 1 / 2 DAGGER ID1 "
    "FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID2 CONTRACTIONS LORENTZ ID0 ID1 SU2 ID2 ID0"
)
YUK_HC = (
    "+ FIELD SPIN 1 / 2 SU2 2 U1 1 HEL 1 / 2 DAGGER ID0 FIELD SPIN 1 / 2 U1 - 2 HEL 1 / 2 ID1 "
    "FIELD SPIN 0 SU2 2 U1 1 ID2 CONTRACTIONS LORENTZ ID0 ID1 SU2 ID0 ID2"
)
WRONG = YUK.replace("FIELD SPIN 0 SU2 2 U1 - 1 DAGGER", "FIELD SPIN 0 SU2 2 U1 1")
WRONG_HC = YUK_HC.replace("FIELD SPIN 0 SU2 2 U1 1 ID2", "FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID2")
QUARTIC = (
    "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 1 ID1 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER "
    "ID2 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID3 CONTRACTIONS SU2 ID2 ID0 SU2 ID3 ID1"
)


def test_misses_of_kind_tells_wrong_conjugations_from_absent_terms():
    from lagnb.ml.metrics import misses_of_kind

    true = " ".join([YUK, YUK_HC, QUARTIC])
    assert WRONG != YUK and WRONG_HC != YUK_HC
    relabelled = YUK.replace("ID0", "ID9").replace("ID2", "ID0").replace("ID9", "ID2")
    cases = [
        ([relabelled, YUK_HC, QUARTIC], (2, 0, 0)),
        ([WRONG, WRONG_HC, QUARTIC], (0, 2, 0)),
        ([WRONG, YUK_HC, QUARTIC, "+ FIELD SPIN"], (1, 1, 0)),  # a malformed term is ignored
        ([QUARTIC], (0, 0, 2)),
        ([WRONG], (0, 1, 1)),  # one wrong term stands for one true term
    ]
    for pred, (right, same, absent) in cases:
        got = misses_of_kind(" ".join(pred), true)
        assert got == {"right": right, "same_fields": same, "absent": absent}, pred
    assert misses_of_kind(QUARTIC, true, "quartic") == {"right": 1, "same_fields": 0, "absent": 0}
    with pytest.raises(LagnbError, match="unknown term kind 'yuk'"):
        misses_of_kind(QUARTIC, true, "yuk")


def test_misses_table_counts_per_split():
    import pandas as pd

    from lagnb.ml.evaluate import misses_table

    true = " ".join([YUK, YUK_HC, QUARTIC])
    rows = pd.DataFrame(
        {
            "split": ["test", "test", "ood"],
            "target": [true, true, true],
            "prediction": [QUARTIC, QUARTIC, QUARTIC],  # certified: the wrong terms dropped
            "raw_prediction": [" ".join([WRONG, YUK_HC]), true, QUARTIC],
        }
    )
    raw = misses_table(rows)
    assert raw.loc["test"].tolist() == [4, 3, 1, 0] and raw.loc["ood"].tolist() == [2, 0, 0, 2]
    assert misses_table(rows, raw=False).loc["test"].tolist() == [4, 0, 0, 4]
