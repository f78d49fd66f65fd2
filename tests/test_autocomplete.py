"""Autocomplete: partial Lagrangians, the engine's verdicts on suggestions, constrained model
completion (an untrained tiny model: its suggestions are random but must parse), the CLI."""

import json

import pytest
from conftest import sm_fields

from lagnb.apps.autocomplete import (
    Completion,
    assess,
    complete,
    engine_terms,
    judge,
    load_model_or_shipped,
    missing_terms,
    partial_terms,
    term_latex,
    torch_threads,
)
from lagnb.cli import main
from lagnb.errors import LagnbError, TokenError
from lagnb.ml.generate import generate_terms
from lagnb.ml.model import build_model, load_bundle, save_bundle
from lagnb.ml.tokenizer import build_tokenizer
from lagnb.physics.check import check_term
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import fields_tokens
from lagnb.physics.grammar import Grammar
from lagnb.physics.tokens import parse_term

HIGGS = "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"
# H H with an ε: total hypercharge 1 + 1 = 2, not 0 (and ε(HH) would vanish anyway)
WRONG_HYPERCHARGE = (
    "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 1 ID1 CONTRACTIONS SU2 ID0 ID1"
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    tok = build_tokenizer()
    path = tmp_path_factory.mktemp("tiny") / "model"
    save_bundle(path, build_model("tiny", tok, seed=0), tok)
    return path


@pytest.fixture(scope="module")
def bundle(model_dir):
    import torch

    torch.set_num_threads(1)
    return load_bundle(model_dir)


def relabel(term: str, shift: int = 3) -> str:
    return " ".join(
        f"ID{(int(t[2:]) + shift) % 10}" if t.startswith("ID") else t for t in term.split()
    )


# -- the engine side -------------------------------------------------------------------------------
def test_engine_terms_write_out_hc_like_the_target():
    fs = sm_fields()
    terms = engine_terms(fs)
    assert [e.tokens for e in terms] == lagrangian(fs).term_tokens()
    assert sum(e.conjugate for e in terms) == sum(not t.hermitian for t in lagrangian(fs).terms)
    assert all(e.latex for e in terms)


def test_missing_terms_is_the_exact_completion():
    fs = sm_fields()
    terms = lagrangian(fs).term_tokens()
    present = [terms[0], relabel(terms[3]), terms[-1]]
    missing = missing_terms(fs, [check_term(fs, t) for t in present])
    assert [e.tokens for e in missing] == [
        t for k, t in enumerate(terms) if k not in (0, 3, len(terms) - 1)
    ]
    assert missing_terms(fs, [check_term(fs, t) for t in terms]) == ()


def test_partial_terms_reordered_into_sections_and_checked():
    fs = lagrangian(HIGGS).fields
    quartic, kinetic, _w, b, mass = lagrangian(HIGGS).term_tokens()
    assert partial_terms(fs, [mass, kinetic, quartic]) == [quartic, kinetic, mass]
    assert partial_terms(fs, [mass, kinetic], reorder=False) == [mass, kinetic]
    assert partial_terms(fs, f"{mass} {b}") == [b, mass]  # one string of several terms
    assert partial_terms(fs, None) == []
    with pytest.raises(TokenError, match="partial term 2 does not parse"):
        partial_terms(fs, [mass, "+ FIELD SPIN 0 SU2 2 U1 1 ID0 CONTRACTIONS LORENTZ ID0"])


def test_judge_statuses_and_duplicates():
    fs = sm_fields()
    terms = lagrangian(fs).term_tokens()
    present = [terms[0], terms[1]]
    vanishing = (  # ε between two copies of one doublet: identically zero
        "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 1 ID1 FIELD SPIN 0 SU2 2 U1 - 1 "
        "DAGGER ID2 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID3 CONTRACTIONS SU2 ID0 ID1 SU2 ID2 ID3"
    )
    candidates = [
        relabel(terms[0]),  # same tokens up to labels
        terms[2],  # new and valid
        terms[2],  # repeats the previous suggestion
        vanishing,
        "+ FIELD SPIN 0 SU2 2 U1 1 ID0 CONTRACTIONS",  # charge 1, uncontracted index
        "+ FIELD SPIN 0 SU2 2 U1 1 ID0 DERIVATIVE",  # does not parse
    ]
    out = judge(fs, present, candidates)
    assert [s.status for s in out] == [
        "duplicate",
        "valid",
        "duplicate",
        "invalid",
        "invalid",
        "malformed",
    ]
    assert out[0].duplicate_of == 0 and "partial term 1" in out[0].reason
    assert out[2].duplicate_of == 3 and "suggestion 2" in out[2].reason
    assert "vanishes" in out[3].reason
    assert "hypercharges add up to 1" in out[4].reason
    assert out[5].latex is None and "does not parse" in out[5].reason
    # token term 2 is the SM's second Yukawa: the first Yukawa and its h.c. come before it
    assert [t.kind for t in lagrangian(fs).terms[:2]] == ["yukawa", "yukawa"]
    assert out[1].engine_term == (1, False)


def test_judge_lists_rejected_candidates_last_and_counts_duplicates_among_the_rest():
    fs = sm_fields()
    terms = lagrangian(fs).term_tokens()
    charge_1 = "+ FIELD SPIN 0 SU2 2 U1 1 ID0 CONTRACTIONS"
    out = judge(fs, [terms[0]], [charge_1, terms[2], charge_1, relabel(terms[2]), terms[4]])
    assert [s.tokens for s in out] == [
        terms[2],
        relabel(terms[2]),
        terms[4],
        charge_1,
        charge_1,
    ]
    assert [s.status for s in out] == ["valid", "duplicate", "valid", "invalid", "invalid"]
    # positions count over the partial term, then the suggestions in the order returned
    assert out[1].duplicate_of == 1 and out[1].reason.endswith("as suggestion 1.")
    assert [s.rejected for s in out] == [False, False, False, True, True]


def test_duplicate_by_operator_not_only_by_tokens():
    """The same operator with its factors in another order is a duplicate of the engine term."""
    fs = lagrangian(HIGGS).fields
    mass = lagrangian(HIGGS).term_tokens()[-1]
    swapped = "+ FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID0 FIELD SPIN 0 SU2 2 U1 1 ID1 CONTRACTIONS SU2 ID0 ID1"
    (s,) = judge(fs, [mass], [swapped])
    assert s.status == "duplicate"
    assert "same operator" in s.reason


def test_assess_gives_the_checker_verdict_on_each_partial_term():
    fs = lagrangian(HIGGS).fields
    quartic, kinetic, *_, mass = lagrangian(HIGGS).term_tokens()
    c = assess(fs, [mass, WRONG_HYPERCHARGE], [])
    assert c.partial == (mass, WRONG_HYPERCHARGE)  # two scalars: both in the mass section
    assert [pc.status for pc in c.partial_checks] == ["valid", "invalid"]
    assert c.invalid_partial == [1]
    assert "hypercharges add up to 2, not 0" in c.partial_checks[1].explain()
    text = c.summary()
    assert "2 partial terms, 1 rejected by the term checker" in text
    assert "Invalid: U(1) hypercharges add up to 2, not 0." in text
    out = c.to_json()
    assert [pc["status"] for pc in out["partial_checks"]] == ["valid", "invalid"]
    assert "hypercharges add up to 2" in out["partial_checks"][1]["explanation"]
    # the wrong term covers no engine term: 4 of the 5 are missing (all but the mass)
    assert len(c.missing_before) == 4
    assert "all valid" in assess(fs, [quartic, kinetic], []).summary()


def test_assess_drops_rejected_suggestions_unless_asked():
    fs = lagrangian(HIGGS).fields
    quartic, kinetic, _w, _b, mass = lagrangian(HIGGS).term_tokens()
    sigma_on_scalar = (  # σ̄ between scalars: no Lorentz invariant
        "+ FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID0 SIGMA_BAR ID1 DERIVATIVE SU2 U1 ID2 "
        "FIELD SPIN 0 SU2 2 U1 1 ID3 CONTRACTIONS LORENTZ ID1 ID2 SU2 ID0 ID3"
    )
    candidates = [sigma_on_scalar, WRONG_HYPERCHARGE, quartic, mass, kinetic]
    c = assess(fs, [mass], candidates)
    assert [s.tokens for s in c.suggestions] == [quartic, mass, kinetic]
    assert [s.status for s in c.suggestions] == ["valid", "duplicate", "valid"]
    assert [s.tokens for s in c.dropped] == [sigma_on_scalar, WRONG_HYPERCHARGE]
    assert all(s.status == "invalid" for s in c.dropped)
    assert "3 suggestions (2 valid and new); 2 invalid suggestions dropped" in c.summary()
    assert c.to_json()["dropped"] == 2 and len(c.to_json()["suggestions"]) == 3
    assert len(c.missing_after) == 5 - 3  # mass given; quartic and kinetic supplied
    one = assess(fs, [mass, quartic, kinetic, _w], [_b, WRONG_HYPERCHARGE]).summary()
    assert "1 suggestion (1 valid and new); 1 invalid suggestion dropped" in one
    assert "engine: 1 term missing before, 0 after" in one
    shown = assess(fs, [mass], candidates, show_rejected=True)
    assert [s.status for s in shown.suggestions] == [
        "valid",
        "duplicate",
        "valid",
        "invalid",
        "invalid",
    ]
    assert shown.dropped == () and "dropped" not in shown.summary()
    assert shown.missing_after == c.missing_after
    # only valid, new suggestions can join the Lagrangian
    assert c.terms() == [mass, quartic, kinetic]
    with pytest.raises(LagnbError, match="suggestion 2 cannot be accepted: Duplicate"):
        c.terms([0, 1])
    with pytest.raises(LagnbError, match="suggestion 4 cannot be accepted: Invalid"):
        shown.terms([3])
    with pytest.raises(LagnbError, match="suggestion 9 does not exist"):
        c.terms([8])


def test_term_latex_of_engine_and_broken_terms():
    fs = lagrangian(HIGGS).fields
    _quartic, _kinetic, w, _, mass = lagrangian(HIGGS).term_tokens()
    assert term_latex(fs, mass).startswith("+ ")
    assert term_latex(fs, w).startswith(r"-\frac{1}{4} W")
    broken = (
        "- COMMUTATOR_A DERIVATIVE SU2 ID0 FIELD SPIN 0 SU2 2 U1 1 ID1 CONTRACTIONS LORENTZ ID0 ID1"
    )
    latex = term_latex(fs, broken)
    assert "W_{" not in latex and r"[D,D]" in latex and r"\phi_{1}" in latex
    with pytest.raises(LagnbError):
        term_latex(fs, "+ FIELD SPIN 0 ID0")


# -- the model side --------------------------------------------------------------------------------
def test_constrained_completion_parses_and_respects_limits(bundle):
    fs = sm_fields()
    partial = lagrangian(fs).term_tokens()[:3]
    c = complete(bundle, fs, partial, max_terms=2, min_terms=1, max_new_tokens=600)
    assert isinstance(c, Completion)
    assert c.partial == tuple(partial)
    assert 1 <= len(c.suggestions) + len(c.dropped) <= 2
    grammar = Grammar(fs)
    for s in (*c.suggestions, *c.dropped):
        assert s.status in ("valid", "invalid", "duplicate")  # never malformed
        parse_term(fs, s.tokens)
        assert grammar.accepts_term(s.tokens)
        assert s.latex
    assert len(c.missing_before) == len(lagrangian(fs).term_tokens()) - 3
    assert len(c.missing_after) == len(c.missing_before) - c.recovered
    assert c.tokens([]) == " ".join(partial)
    assert json.loads(json.dumps(c.to_json()))["partial"] == partial
    assert "suggestions" in c.summary()


def test_rejected_suggestions_are_dropped_unless_asked(bundle):
    fs = sm_fields()
    partial = lagrangian(fs).term_tokens()[:3]
    kw = dict(max_terms=3, min_terms=3, max_new_tokens=900)
    shown = complete(bundle, fs, partial, show_rejected=True, **kw)
    c = complete(bundle, fs, partial, **kw)
    assert any(s.rejected for s in shown.suggestions)  # an untrained model writes invalid terms
    assert shown.dropped == ()
    rejected = [s.rejected for s in shown.suggestions]
    assert rejected == sorted(rejected)  # rejected ones last
    assert c.suggestions == tuple(s for s in shown.suggestions if not s.rejected)
    assert c.dropped == tuple(s for s in shown.suggestions if s.rejected)
    n = len(c.dropped)
    assert f"{n} invalid suggestion{'' if n == 1 else 's'} dropped" in c.summary()


def test_beam_search_is_constrained_too(bundle):
    fs = sm_fields()
    c = complete(
        bundle,
        fs,
        lagrangian(fs).term_tokens()[:2],
        max_terms=1,
        min_terms=1,
        num_beams=3,
        max_new_tokens=300,
        show_rejected=True,
    )
    assert len(c.suggestions) == 1
    assert Grammar(fs).accepts_term(c.suggestions[0].tokens)


def test_generated_terms_continue_the_prefix(bundle):
    fs = sm_fields()
    prefix = lagrangian(fs).term_tokens()[:2]
    terms, text, truncated = generate_terms(
        bundle, fs, prefix, max_terms=1, min_terms=1, max_new_tokens=600, certified=False
    )
    assert len(terms) == 1 and text.startswith(terms[0])
    assert not truncated


def test_truncation_drops_the_unfinished_term(bundle):
    fs = sm_fields()
    terms, text, truncated = generate_terms(bundle, fs, (), min_terms=1, max_new_tokens=6)
    assert truncated and terms == [] and len(text.split()) == 6


def test_unconstrained_completion_is_checked_as_written(bundle):
    """Without the grammar an untrained model writes junk: it is reported, not hidden."""
    fs = sm_fields()
    c = complete(
        bundle,
        fs,
        lagrangian(fs).term_tokens()[:1],
        constrained=False,
        max_terms=3,
        max_new_tokens=120,
        show_rejected=True,
    )
    assert len(c.suggestions) <= 3
    assert c.truncated or c.generated.split()[-1] != "+"
    for s in c.suggestions:
        assert s.status in ("valid", "invalid", "duplicate", "malformed")
        if s.status == "malformed":
            assert s.latex is None and s.reason.startswith("Invalid: does not parse")


def test_too_long_prefix_is_an_error(bundle):
    fs = sm_fields()
    long = lagrangian(fs).term_tokens() * 3
    with pytest.raises(LagnbError, match="the model writes at most"):
        complete(bundle, fs, long)


# the lepton sector with the Higgs: L, e (right-handed), H
LEPTONS_HIGGS = (
    "[SOS] FIELD SPIN 0 SU2 2 U1 1 FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 "
    "FIELD SPIN 1 / 2 U1 - 2 HEL 1 / 2 [EOS]"
)


def test_completion_offers_the_certified_first_terms_the_partial_lacks(bundle, monkeypatch):
    """After the continuation (none here: a one-token budget), the model's best first terms
    (stubbed, best first) are searched: those the checker certifies as engine terms that the
    partial Lagrangian lacks are offered after the continuation's suggestions, in the order
    found — not an invalid one, not one the partial holds in other words — then the model's
    best next terms after those, round by round; within max_terms; none with alternatives=0."""
    import lagnb.ml.generate as gen
    from lagnb.physics.engine import as_fields

    fs = as_fields(LEPTONS_HIGGS)
    exact = {(e.kind, e.conjugate): e.tokens for e in engine_terms(fs)}
    yukawa, yukawa_hc = exact["yukawa", False], exact["yukawa", True]
    quartic, mass = exact["quartic", False], exact["mass", False]
    # the Yukawa with H for H†: hypercharges -1 + 2 + 1 = 2, not 0 (hand-written)
    wrong = (
        "+ FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 ID0 FIELD SPIN 1 / 2 U1 2 HEL - 1 / 2 "
        "DAGGER ID1 FIELD SPIN 0 SU2 2 U1 1 ID2 CONTRACTIONS LORENTZ ID0 ID1 SU2 ID0 ID2"
    )
    assert not check_term(LEPTONS_HIGGS, wrong).valid
    partial = [e.tokens for e in engine_terms(fs) if e.kind == "kinetic"] + [mass]
    rounds = {0: [wrong, relabel(mass), yukawa], 1: [yukawa_hc, yukawa, quartic], 3: [wrong]}
    contexts = []

    def offered(bundle, parsed, context, width):
        contexts.append(list(context))
        return rounds[len(context)]

    monkeypatch.setattr(gen, "_search_after", offered)
    c = complete(bundle, fs, partial, max_new_tokens=1)
    assert c.added == (yukawa, yukawa_hc, quartic)
    assert [s.tokens for s in c.suggestions] == [yukawa, yukawa_hc, quartic]
    assert all(s.valid for s in c.suggestions) and c.recovered == 3
    assert contexts == [[], [yukawa], [yukawa, yukawa_hc, quartic]]
    assert "the last 3 from the model's best first terms" in c.summary()
    assert c.to_json()["added"] == [yukawa, yukawa_hc, quartic]
    assert complete(bundle, fs, partial, max_new_tokens=1, max_terms=1).added == (yukawa,)
    contexts.clear()
    assert complete(bundle, fs, partial, max_new_tokens=1, alternatives=0).added == ()
    assert contexts == []


def test_shipped_model_offers_the_yukawas_missing_before_the_users_kinetic_terms():
    """The physicist has written the kinetic terms of the lepton sector with the Higgs and
    asks for the rest.  The model continues after them (gauge kinetic and mass terms), never
    back to the Yukawa coupling L e† H† and the quartic, which come first in its order; its
    best first terms hold them, so by default they are offered too, and the Lagrangian is
    complete: the engine misses nothing after the suggestions."""
    from lagnb.physics.engine import as_fields

    fs = as_fields(LEPTONS_HIGGS)
    exact = engine_terms(fs)
    partial = [e.tokens for e in exact if e.kind == "kinetic"]
    earlier = {(e.index, e.conjugate) for e in exact if e.kind in ("yukawa", "quartic")}
    b = load_bundle()
    plain = complete(b, fs, partial, alternatives=0)
    c = complete(b, fs, partial)
    assert not earlier & {s.engine_term for s in plain.suggestions}
    assert plain.missing_after and not c.missing_after
    assert {s.engine_term for s in c.suggestions if s.tokens in c.added} == earlier
    assert all(s.valid for s in c.suggestions)


# -- command line ----------------------------------------------------------------------------------
def test_cli_complete_json(model_dir, capsys):
    mass = lagrangian(HIGGS).term_tokens()[-1]
    rc = main(
        [
            "complete",
            "--model",
            str(model_dir),
            HIGGS,
            "--partial",
            mass,
            "--max-terms",
            "1",
            "--max-new-tokens",
            "300",
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["partial"] == [mass]
    assert [c["status"] for c in out["partial_checks"]] == ["valid"]
    assert len(out["missing_before"]) == 4
    assert len(out["suggestions"]) + out["dropped"] <= 1


def test_cli_complete_gives_the_verdict_on_the_users_terms(model_dir, capsys):
    rc = main(["complete", "--model", str(model_dir), HIGGS, "--partial", WRONG_HYPERCHARGE])
    assert rc == 0
    out = capsys.readouterr().out
    assert "1 partial term, 1 rejected by the term checker" in out
    assert "invalid" in out.splitlines()[1]
    assert "Invalid: U(1) hypercharges add up to 2, not 0." in out


def test_cli_complete_show_rejected(model_dir, capsys):
    fs = sm_fields()
    args = [
        "complete",
        "--model",
        str(model_dir),
        fields_tokens(fs),
        "--partial",
        " ".join(lagrangian(fs).term_tokens()[:3]),
        "--min-terms",
        "3",
        "--max-terms",
        "3",
        "--max-new-tokens",
        "900",
        "--json",
    ]
    assert main(args) == 0
    default = json.loads(capsys.readouterr().out)
    assert main([*args, "--show-rejected"]) == 0
    shown = json.loads(capsys.readouterr().out)
    kept = [s for s in shown["suggestions"] if s["status"] in ("valid", "duplicate")]
    assert default["suggestions"] == kept
    assert default["dropped"] == len(shown["suggestions"]) - len(kept) > 0
    assert shown["dropped"] == 0
    statuses = [s["status"] for s in shown["suggestions"]]
    assert statuses[len(kept) :] == ["invalid"] * default["dropped"]


def test_cli_complete_errors(model_dir, tmp_path, capsys):
    assert main(["complete", "--model", str(tmp_path / "none"), HIGGS]) == 2
    assert "no model at" in capsys.readouterr().err
    rc = main(["complete", "--model", str(model_dir), HIGGS, "--partial", "+ FIELD SPIN 7 ID0"])
    assert rc == 2
    assert "spin" in capsys.readouterr().err.lower()
    # a partial term that does not parse is reported before the model is looked for
    rc = main(["complete", "--model", str(tmp_path / "none"), HIGGS, "--partial", "+ FIELD ID0"])
    assert rc == 2
    assert "partial term 1 does not parse" in capsys.readouterr().err
    assert main(["complete", "--model", str(model_dir), HIGGS, "--alternatives", "-1"]) == 2
    assert "--alternatives: must be at least 0, got -1" in capsys.readouterr().err


def test_cli_complete_passes_alternatives_on(model_dir, capsys, monkeypatch):
    """--alternatives N reaches the search (0: no search at all); --json lists what it added."""
    import lagnb.ml.generate as gen

    quartic = lagrangian(HIGGS).term_tokens()[0]
    widths = []

    def offered(bundle, parsed, context, width):
        widths.append(width)
        return [] if context else [quartic]

    monkeypatch.setattr(gen, "_search_after", offered)
    args = ["complete", "--model", str(model_dir), HIGGS, "--max-new-tokens", "1", "--json"]
    assert main([*args, "--alternatives", "3"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == [quartic] and widths == [3, 3]
    assert main([*args, "--alternatives", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == [] and widths == [3, 3]


# -- helpers ---------------------------------------------------------------------------------------
def test_torch_threads_restores_the_setting():
    import torch

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before


def test_load_model_or_shipped(model_dir, tmp_path, capsys, monkeypatch):
    import lagnb.ml.model

    b = load_model_or_shipped(str(model_dir))
    assert b.model.config.d_model == 64
    assert capsys.readouterr().out == ""
    # a missing folder falls back to the shipped model (pointed here at the tiny one)
    monkeypatch.setattr(lagnb.ml.model, "shipped_model_path", lambda: model_dir)
    b = load_model_or_shipped(str(tmp_path / "not-trained-yet"))
    assert "using the model shipped with lagnb" in capsys.readouterr().out
    assert b.path == model_dir
