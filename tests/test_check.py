import re

import pytest

from lagnb.errors import LagnbError
from lagnb.physics import grammar, tokens
from lagnb.physics.check import check_lagrangian, check_term
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field
from lagnb.physics.tokens import parse_structure, parse_term, split_terms

HIGGS = "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"
# the released BART-L model's output for the Higgs (shared/bart-l-format.md), random labels
RELEASED = """
+ FIELD SPIN 0 SU2 2 U1 1 ID4 FIELD SPIN 0 SU2 2 U1 1 ID7 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID9 CONTRACTIONS SU2 ID4 ID0 SU2 ID7 ID9
+ FIELD SPIN 0 SU2 2 U1 1 ID6 FIELD SPIN 0 SU2 2 U1 1 ID4 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID2 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID0 CONTRACTIONS SU2 ID6 ID4 SU2 ID2 ID0
+ DERIVATIVE SU2 U1 ID6 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID7 DERIVATIVE SU2 U1 ID0 FIELD SPIN 0 SU2 2 U1 1 ID4 CONTRACTIONS LORENTZ ID6 ID0 SU2 ID7 ID4
- COMMUTATOR_A DERIVATIVE SU2 ID6 COMMUTATOR_B DERIVATIVE SU2 ID0 COMMUTATOR_A DERIVATIVE SU2 ID4 COMMUTATOR_B DERIVATIVE SU2 ID1 CONTRACTIONS LORENTZ ID6 ID4 LORENTZ ID0 ID1
- COMMUTATOR_A DERIVATIVE U1 ID6 COMMUTATOR_B DERIVATIVE U1 ID0 COMMUTATOR_A DERIVATIVE U1 ID4 COMMUTATOR_B DERIVATIVE U1 ID1 CONTRACTIONS LORENTZ ID6 ID4 LORENTZ ID0 ID1
+ FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID6 FIELD SPIN 0 SU2 2 U1 1 ID7 CONTRACTIONS SU2 ID6 ID7
"""


def test_released_model_output_is_checked_term_by_term():
    checks = check_lagrangian(HIGGS, RELEASED)
    assert [c.status for c in checks] == ["valid", "invalid", "valid", "valid", "valid", "valid"]
    assert "vanishes identically" in checks[1].explain()
    lag = lagrangian(HIGGS)
    assert [lag.terms[c.match].kind for c in checks if c.valid] == [
        "quartic",
        "kinetic",
        "gauge_kinetic",
        "gauge_kinetic",
        "mass",
    ]


def test_every_engine_term_and_its_hc_is_valid_and_found(sm):
    fields = (*sm, Field.scalar(8, 3, 0, name="X"), Field.scalar(-3, 1, "2/3", name="S"))
    lag = lagrangian(fields)
    for k, t in enumerate(lag.terms):
        c = check_term(fields, t.tokens(fields))
        assert c.valid and c.in_basis, (k, c.reasons)
        assert c.match == k or lag.terms[c.match].tokens(fields) == t.tokens(fields)
        if not t.hermitian:
            h = check_term(fields, t.conjugate().tokens(fields))
            assert h.valid and h.match_conjugate


def test_relabelled_and_reordered_terms_match():
    lag = lagrangian(HIGGS)
    text = lag.terms[0].tokens(lag.fields)
    shuffled = text.replace("ID0", "IDx").replace("ID3", "ID0").replace("IDx", "ID3")
    assert check_term(HIGGS, shuffled).match == 0


def test_sum_of_basis_terms_is_in_span_but_matches_none():
    lag = lagrangian("FIELD SPIN 0 SU2 3 U1 2")
    # tr-structure with ε's: (Δ Δ)(Δ† Δ†) written with two SU(2) ε pairs per side
    d, dd = "FIELD SPIN 0 SU2 3 U1 2", "FIELD SPIN 0 SU2 3 U1 - 2 DAGGER"
    t = (
        f"+ {d} ID0 {d} ID1 {dd} ID2 {dd} ID3 CONTRACTIONS "
        "SU2 ID0 ID1 SU2 ID0 ID1 SU2 ID2 ID3 SU2 ID2 ID3"
    )
    c = check_term(lag.fields, t)
    assert c.valid and c.in_basis


@pytest.mark.parametrize(
    ("fields", "term", "reason"),
    [
        (
            HIGGS,
            "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 1 ID1 CONTRACTIONS SU2 ID0 ID1",
            "hypercharges add up to 2, not 0",
        ),
        (
            HIGGS,
            "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID1 CONTRACTIONS",
            "has 1 lower SU2 index but 0 are contracted",
        ),
        (
            "FIELD SPIN 1 / 2 HEL - 1 / 2 FIELD SPIN 1 / 2 HEL 1 / 2",
            "+ FIELD SPIN 1 / 2 HEL - 1 / 2 ID0 FIELD SPIN 1 / 2 HEL 1 / 2 ID1 CONTRACTIONS LORENTZ ID0 ID1",
            "a left-handed and a right-handed spinor",
        ),
        (
            "FIELD SPIN 0",
            "+ FIELD SPIN 0 ID0 FIELD SPIN 0 ID1 FIELD SPIN 0 ID2 FIELD SPIN 0 ID3 "
            "FIELD SPIN 0 ID4 CONTRACTIONS",
            "mass dimension 5 > 4",
        ),
        ("FIELD SPIN 0", "+ FIELD SPIN 0 SU2 2 ID0 CONTRACTIONS", "not in the field list"),
        ("FIELD SPIN 0", "+ FIELD SPIN 0 ID0 FIELD SPIN 0 CONTRACTIONS", "expected an ID label"),
        ("FIELD SPIN 0", "FIELD SPIN 0 ID0 CONTRACTIONS", "starts with '+' or '-'"),
        ("FIELD SPIN 0", "+ FIELD SPIN 0 ID0 FIELD SPIN 0 DAGGER ID1", "missing CONTRACTIONS"),
        (
            "FIELD SPIN 0 SU3 3",
            "+ FIELD SPIN 0 SU3 3 ID0 FIELD SPIN 0 SU3 - 3 DAGGER ID1 CONTRACTIONS SU3 ID0 ID9",
            "ID9, which labels no object",
        ),
    ],
)
def test_failures_are_explained(fields, term, reason):
    c = check_term(fields, term)
    assert not c.valid
    assert reason in c.explain()


def test_parse_term_round_trips_engine_output(sm):
    fields = (*sm, Field.scalar(6, 2, "1/3"), Field.left(8, 1, 0))
    lag = lagrangian(fields)
    for text in split_terms(lag.tokens()):
        assert parse_term(fields, text).tokens(fields) == text


GAUGE = "- COMMUTATOR_A DERIVATIVE U1 ID0 COMMUTATOR_B DERIVATIVE U1 ID1 COMMUTATOR_A DERIVATIVE U1 ID2 COMMUTATOR_B DERIVATIVE U1 ID3 CONTRACTIONS "


@pytest.mark.parametrize(
    ("term", "status", "reason"),
    [
        (GAUGE + "LORENTZ ID0 ID2 LORENTZ ID1 ID3", "valid", ""),
        (GAUGE + "LORENTZ ID0 ID3 LORENTZ ID1 ID2", "valid", ""),
        (GAUGE + "LORENTZ ID0 ID1 LORENTZ ID2 ID3", "invalid", "[D_μ, D^μ] = 0"),
        (
            GAUGE.replace("B DERIVATIVE U1 ID1", "A DERIVATIVE U1 ID1")
            + "LORENTZ ID0 ID2 LORENTZ ID1 ID3",
            "invalid",
            "(A B A B)",
        ),
        (
            GAUGE.replace("U1 ID3", "SU2 ID3") + "LORENTZ ID0 ID2 LORENTZ ID1 ID3",
            "invalid",
            "of one group",
        ),
        (GAUGE + "LORENTZ ID0 ID2", "invalid", "paired across the commutators"),
        (
            "+ DERIVATIVE SU2 U1 ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID1 DERIVATIVE SU2 U1 ID2 FIELD SPIN 0 SU2 2 U1 1 ID3 CONTRACTIONS LORENTZ ID0 ID1 SU2 ID1 ID3",
            "invalid",
            "two derivatives must be contracted",
        ),
        (
            "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID1 CONTRACTIONS LORENTZ ID0 ID1 SU2 ID1 ID0",
            "invalid",
            "scalars carry no Lorentz index",
        ),
    ],
)
def test_kinetic_structures_are_checked(term, status, reason):
    c = check_term(HIGGS, term)
    assert c.status == status, c.reasons
    assert reason in c.explain()


LEPTON = "[SOS] FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 [EOS]"
L_KINETIC = (
    "+ i FIELD SPIN 1 / 2 SU2 2 U1 1 HEL 1 / 2 DAGGER ID0 SIGMA_BAR ID1 DERIVATIVE SU2 U1 ID2 "
    "FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 ID3 CONTRACTIONS "
)


@pytest.mark.parametrize(
    ("lorentz", "valid"),
    [
        ("LORENTZ ID0 ID1 LORENTZ ID1 ID2 LORENTZ ID1 ID3", True),  # i L† σ̄^μ D_μ L
        ("LORENTZ ID1 ID2", True),  # spinor indices implicit, as the public data may write them
        ("LORENTZ ID1 ID2 LORENTZ ID1 ID3", False),  # L†'s spinor index left free
        ("LORENTZ ID0 ID1 LORENTZ ID1 ID2", False),  # L's spinor index left free
        ("LORENTZ ID0 ID1 LORENTZ ID1 ID3", False),  # the derivative's index left free
    ],
)
def test_a_fermion_kinetic_term_contracts_both_spinor_indices_or_neither(lorentz, valid):
    """ψ† σ̄^μ D_μ ψ is a Lorentz scalar when σ̄^μ joins ψ† to ψ and carries D's index; with one
    spinor contraction written and the other missing, an index is free (a model wrote this)."""
    c = check_term(LEPTON, L_KINETIC + lorentz + " SU2 ID0 ID3")
    assert c.valid == valid, c.reasons
    # only the engine's own spelling is an engine term (implicit indices are valid, unmatched)
    assert c.engine_term == ((c.match, False) if lorentz.count("LORENTZ") == 3 else None)
    if not valid:
        assert "σ̄^μ must carry the derivative's index and join ψ† to ψ" in c.explain()


def test_gauge_kinetic_of_an_uncharged_group_is_valid_but_not_in_the_engine():
    c = check_term(HIGGS, GAUGE.replace("U1", "SU3") + "LORENTZ ID0 ID2 LORENTZ ID1 ID3")
    assert c.valid and not c.in_basis and "no field is charged" in c.reasons[0]


# -- the term grammar: one reader, errors that name the culprit -----------------------------------
H, HD = "FIELD SPIN 0 SU2 2 U1 1", "FIELD SPIN 0 SU2 2 U1 - 1 DAGGER"


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ("", "empty term"),
        (f"{H} ID0 CONTRACTIONS", "a term starts with '+' or '-', got 'FIELD'"),
        ("+ CONTRACTIONS", "at least one object before CONTRACTIONS, got 'CONTRACTIONS'"),
        (f"+ {H} ID0 ID1 CONTRACTIONS", "unexpected token 'ID1' at position 9"),
        (f"+ {H} ID0 {HD}", "object 2: expected an ID label, got 'end of term'"),
        (f"+ {H} ID3 {HD} ID3 CONTRACTIONS", "object 2: label ID3 is used by two objects"),
        (f"+ {H} ID0 FIELD SPIN 7 ID1 CONTRACTIONS", "object 2: spin 7 is not supported"),
        (f"+ {H} ID0 FIELD SPIN 0 U1 - ID1 CONTRACTIONS", "object 2, U1: expected"),
        ("+ COMMUTATOR_A DERIVATIVE SU4 ID0 CONTRACTIONS", "object 1: COMMUTATOR_A"),
        (f"+ {H} ID0 {HD} ID1", "missing CONTRACTIONS after object 2"),
        (f"+ {H} ID0 DERIVATIVE ID1 CONTRACTIONS", "last object 'DERIVATIVE' acts on nothing"),
        (f"+ {H} ID0 {HD} ID1 CONTRACTIONS SU3 ID0 ID1 U1 ID0", "'U1' at position 23"),
        (f"+ {H} ID0 {HD} ID1 CONTRACTIONS SU2 ID1", "SU2 contraction at position 20 joins 1"),
        (f"+ {H} ID0 {HD} ID1 CONTRACTIONS SU2 ID1 ID2", "names ID2, which labels no object"),
    ],
)
def test_malformed_terms_name_the_culprit(term, message):
    """The structural reader and parse_term fail alike, naming the object, token, position or
    label at fault (the messages the checker shows)."""
    with pytest.raises(LagnbError) as structural:
        parse_structure(term)
    with pytest.raises(LagnbError) as with_fields:
        parse_term(lagrangian(HIGGS).fields, term)
    assert str(structural.value) == str(with_fields.value)
    assert message in str(structural.value)
    assert check_term(HIGGS, term).reasons == (f"does not parse: {structural.value}",)


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ("+ FIELD SPIN 0 SU2 2 ID0 CONTRACTIONS", "object 1: scalar (1, 2, 0) is not in the"),
        # D_SU(3) on the uncoloured Higgs: was read as the Higgs' kinetic term (valid)
        (
            f"+ DERIVATIVE SU3 ID0 {HD} ID1 DERIVATIVE SU2 U1 ID2 {H} ID3 "
            "CONTRACTIONS LORENTZ ID0 ID2 SU2 ID1 ID3",
            "object 1: 'DERIVATIVE SU3' acts on object 2, scalar (1, 2, 1), whose covariant "
            "derivative is 'DERIVATIVE SU2 U1'",
        ),
        (
            f"+ DERIVATIVE SU2 U1 ID0 SIGMA_BAR ID1 {H} ID2 CONTRACTIONS",
            "object 1: a DERIVATIVE acts on the field right after it, got 'SIGMA_BAR'",
        ),
    ],
)
def test_parse_term_names_what_needs_the_field_list(term, message):
    parse_structure(term)  # grammatical: only the field list rules it out
    with pytest.raises(LagnbError, match=re.escape(message)):
        parse_term(lagrangian(HIGGS).fields, term)
    assert check_term(HIGGS, term).status == "malformed"


def test_one_grammar():
    """parse_term reads terms with parse_structure; the metrics and the decoding state machine
    use the same reader and token constants."""
    from lagnb.ml import metrics

    assert metrics.parse_structure is parse_structure
    assert metrics.TermStructure is tokens.TermStructure
    assert (grammar.EOS, grammar.SIGNS, grammar.IDS) == (tokens.EOS, tokens.SIGNS, tokens.IDS)
    assert grammar.GROUP_KEYS is tokens.CONTRACTION_GROUPS
    assert grammar.GAUGE_ORDER is tokens.GAUGE_GROUPS
    lag = lagrangian(HIGGS)
    for text in lag.term_tokens():
        s, t = parse_structure(text), parse_term(lag.fields, text)
        assert len(s.objects) == len(t.factors) and (s.sign, s.imaginary) == (t.sign, t.imaginary)
        assert [sorted(m) for _, m in s.contractions] == [sorted(a.objects) for a in t.contractions]


def test_certifying_one_lagrangian_rejects_a_term_written_twice():
    """A Lagrangian holds each independent term once.  The Higgs mass term H H† written again
    with its labels swapped is the same operator: valid on its own, a repeat as a further term
    of one Lagrangian (``repeats=True``), also of a term written before the candidates.  Two
    identical doublets spell their terms the same in BART-L (the engine's own targets repeat
    them), so there nothing is a repeat."""
    from lagnb.physics.check import REPEAT_REASON, certify_terms
    from lagnb.physics.engine import as_fields

    h, h_bar = "FIELD SPIN 0 SU2 2 U1 1", "FIELD SPIN 0 SU2 2 U1 - 1 DAGGER"
    mass = f"+ {h} ID0 {h_bar} ID1 CONTRACTIONS SU2 ID1 ID0"
    relabelled = f"+ {h_bar} ID0 {h} ID1 CONTRACTIONS SU2 ID0 ID1"
    quartic = f"+ {h} ID0 {h} ID1 {h_bar} ID2 {h_bar} ID3 CONTRACTIONS SU2 ID2 ID0 SU2 ID3 ID1"
    fs = as_fields(f"[SOS] {h} [EOS]")
    terms = [mass, quartic, relabelled]
    assert certify_terms(fs, terms).kept == tuple(terms)  # each valid on its own
    cert = certify_terms(fs, terms, repeats=True)
    assert cert.kept == (mass, quartic)
    (dropped,) = cert.dropped
    assert dropped.tokens == relabelled and dropped.reason == REPEAT_REASON
    assert dropped.status == "invalid" and cert.checks[2].repeats and not cert.checks[0].repeats
    before = {check_term(fs, quartic).engine_term}
    assert certify_terms(fs, [quartic, mass], repeats=True, before=before).kept == (mass,)
    two = as_fields(f"[SOS] {h} {h} [EOS]")
    assert certify_terms(two, [mass, mass], repeats=True).kept == (mass, mass)
