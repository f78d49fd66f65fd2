"""The autocomplete widget app, driven from Python: set values, click, read the state."""

import html

import pytest

from lagnb.apps.autocomplete import assess, engine_terms
from lagnb.apps.widgets import AutocompleteApp
from lagnb.ml.model import build_model, save_bundle
from lagnb.ml.tokenizer import build_tokenizer
from lagnb.physics import catalogue
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field

HIGGS = "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"
# H H with an ε: total hypercharge 1 + 1 = 2, not 0
WRONG_HYPERCHARGE = (
    "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 1 ID1 CONTRACTIONS SU2 ID0 ID1"
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    tok = build_tokenizer()
    path = tmp_path_factory.mktemp("tiny") / "model"
    save_bundle(path, build_model("tiny", tok, seed=1), tok)
    return path


@pytest.fixture
def app(model_dir):
    return AutocompleteApp(model_dir, max_terms=2)


def test_starts_with_the_standard_model(app):
    assert tuple(app.fields) == catalogue.get("sm").fields
    assert [f.name for f in app.fields] == ["Q", "u", "d", "L", "e", "H"]
    assert app.catalogue.value == "sm" and app.catalogue.options == tuple(catalogue.CATALOGUE)
    assert "Standard Model" in app.catalogue_description.value
    assert len(app.field_list.options) == 6
    assert len(app.engine_term.options) == len(lagrangian(app.fields).term_tokens())
    assert app.partial_terms == []
    assert "no terms yet" in app.lagrangian.value


def test_field_builder_adds_and_removes(app):
    app.clear_button.click()
    assert app.fields == [] and app.field_list.options == ()
    app.kind.value = "left-handed Weyl"
    app.su3.value = -3
    app.su2.value = 2
    app.hypercharge.value = "-1/3"
    app.name.value = "Q^c"
    app.add_button.click()
    assert app.fields == [Field.left(-3, 2, "-1/3")]
    assert app.fields[0].name == "Q^c"
    assert "Q^c" in app.field_list.options[0][0]
    app.kind.value = "scalar"
    app.su3.value, app.su2.value, app.hypercharge.value, app.name.value = 1, 2, "1", ""
    app.add_button.click()
    assert len(app.fields) == 2 and app.fields[1] == Field.scalar(1, 2, 1)
    app.field_list.index = 0
    app.remove_button.click()
    assert app.fields == [Field.scalar(1, 2, 1)]
    assert len(app.engine_term.options) == 5


def test_bad_builder_input_is_reported_not_raised(app):
    app.kind.value = "scalar"
    app.hypercharge.value = "one third"
    n = len(app.fields)
    app.add_button.click()
    assert len(app.fields) == n
    assert "not a rational number" in app.status.value


def test_field_builder_takes_the_model_building_options(app):
    """Real scalars, generations and charges under symmetries declared in the builder."""
    from lagnb.physics.symmetries import Symmetry

    app.clear_button.click()
    app.symmetries.value = "Z2=Z2, BL=gauged"
    app.kind.value = "right-handed Weyl"
    app.generations.value = 3
    app.charges.value = "BL=-1"
    app.name.value = "N"
    app.add_button.click()
    app.kind.value, app.generations.value, app.charges.value = "scalar", 1, "Z2=1"
    app.real.value, app.name.value = True, "S"
    app.add_button.click()
    bl, z2 = Symmetry.gauged_u1("BL"), Symmetry.z("Z2", 2)
    assert app.fields == [
        Field.right(1, 1, 0, generations=3, charges={bl: -1}),
        Field.scalar(real=True, charges={z2: 1}),
    ]
    assert "real scalar (1, 1, 0, Z2 1)" in app.field_list.options[1][0]
    assert len(app.engine_term.options) == len(lagrangian(app.fields).term_tokens())
    for box, value, message in (
        ("charges", "X=1", "charge under undeclared symmetry &#x27;X&#x27;"),
        ("symmetries", "Z2=Z1", "Z_N needs N ≥ 2, got 1"),
        ("symmetries", "Z2=local", "expected &quot;gauged&quot;"),
        ("charges", "Z2=1/2", "not an integer"),
    ):
        getattr(app, box).value = value
        app.add_button.click()
        assert message in app.status.value and len(app.fields) == 2
        app.symmetries.value, app.charges.value = "Z2=Z2, BL=gauged", ""
    app.real.value, app.su2.value = True, 2
    app.add_button.click()
    assert "SU(2) 2 is not real" in app.status.value
    app.complete_button.click()
    assert "BART-L fields only" in app.status.value and app.rows == []


def test_the_catalogue_menu_loads_named_models(app):
    app.partial.value = WRONG_HYPERCHARGE
    app.catalogue.value = "2hdm"
    assert "two Higgs doublets" in app.catalogue_description.value
    app.catalogue_button.click()
    assert app.fields == [Field.scalar(1, 2, 1), Field.scalar(1, 2, 1)]
    assert [f.name for f in app.fields] == ["H_1", "H_2"]
    assert app.partial.value == "" and "loaded 2hdm" in app.status.value
    assert not app.load_from_catalogue("SM")
    assert "unknown model 'SM': the catalogue has sm_leptons_higgs, sm," in html.unescape(
        app.status.value
    )
    assert len(app.fields) == 2


def test_engine_terms_fill_the_partial_lagrangian(app):
    app.set_fields(lagrangian(HIGGS).fields)
    assert app.fields == [Field.scalar(1, 2, 1)]
    app.engine_term.value = 4
    app.engine_add_button.click()
    app.engine_term.value = 0
    app.engine_add_button.click()
    terms = lagrangian(HIGGS).term_tokens()
    assert app.partial_terms == [terms[4], terms[0]]
    assert app.lagrangian.value.count(r"\\ &") == 1  # two lines of LaTeX
    assert repr(app) == "AutocompleteApp(1 field, 2 partial terms, 0 suggestions)"


def test_each_partial_term_gets_the_checkers_verdict(app):
    app.set_fields(lagrangian(HIGGS).fields)
    mass = lagrangian(HIGGS).term_tokens()[-1]
    app.partial.value = f"{mass}\n{WRONG_HYPERCHARGE}\n+ FIELD SPIN 0 ID0"
    verdicts = app.partial_checks.value
    assert verdicts.count("<li>") == 3
    items = verdicts.split("<li>")[1:]
    assert ">valid<" in items[0] and ">invalid<" in items[1] and ">malformed<" in items[2]
    assert "Invalid: U(1) hypercharges add up to 2, not 0." in items[1]
    assert "does not parse" in items[2]
    assert [c.status for c in app.check_partial()] == ["valid", "invalid", "malformed"]
    app.partial.value = mass
    assert (
        app.partial_checks.value.count("<li>") == 1 and ">invalid<" not in app.partial_checks.value
    )


def test_complete_with_the_model_shows_checked_suggestions(app):
    app.load_from_catalogue("sm_leptons_higgs")
    for k in (0, 1, 2):
        app.add_engine_term(k)
    before = list(app.partial_terms)
    app.show_rejected.value = True
    app.complete_button.click()
    c = app.completion
    assert c is not None, app.status.value
    assert 1 <= len(app.rows) <= 2 and c.dropped == ()
    assert len(app.suggestion_box.children) == len(app.rows)
    n = len(c.suggestions)
    assert (f"{n} suggestions," if n > 1 else "1 suggestion,") in app.status.value
    for row in app.rows:
        assert row.suggestion.status in ("valid", "invalid", "duplicate")
        assert row.suggestion.status in row.math.value
        assert "$" in row.math.value  # LaTeX for HTMLMath
        assert row.accept_button.disabled is (not row.suggestion.valid)
    assert "still missing" in app.missing.value
    # an untrained model writes invalid terms: shown last, no live accept button, refused
    bad = [r for r in app.rows if r.suggestion.rejected]
    assert bad and app.rows[-1] is bad[-1]
    bad[0].accept_button.click()
    assert bad[0].decision is None and app.partial_terms == before
    assert "not added (invalid)" in app.status.value
    bad[0].reject_button.click()
    assert bad[0].decision == "rejected" and bad[0].widget.layout.opacity == "0.45"
    # by default they are dropped and counted
    app.show_rejected.value = False
    app.complete()
    assert [r.suggestion for r in app.rows] == [s for s in c.suggestions if not s.rejected]
    n = len(bad)
    assert f"{n} invalid suggestion{'' if n == 1 else 's'} dropped" in app.status.value


def test_only_valid_new_suggestions_can_be_accepted(app):
    fs = (Field.scalar(1, 2, 1, "H"),)
    quartic, kinetic, _w, _b, mass = lagrangian(HIGGS).term_tokens()
    app.set_fields(fs)
    app.show(assess(fs, [mass], [WRONG_HYPERCHARGE, quartic, mass, kinetic], show_rejected=True))
    assert [r.suggestion.status for r in app.rows] == ["valid", "duplicate", "valid", "invalid"]
    assert [r.accept_button.disabled for r in app.rows] == [False, True, False, True]
    assert not app.accept(1)
    assert "not added (duplicate)" in app.status.value and "partial term 1" in app.status.value
    assert not app.accept(3)
    assert "hypercharges add up to 2, not 0" in app.status.value
    assert not app.accept(7) and "there is no suggestion 8" in app.status.value
    assert app.partial_terms == [mass]
    # the user types the kinetic term in by hand: its suggestion is now a duplicate
    app.partial.value += "\n" + kinetic
    app.rows[2].accept_button.click()
    assert app.decisions[2] is None and app.rows[2].accept_button.disabled
    assert "Duplicate: the same tokens (up to ID labels) as partial term 2" in app.status.value
    app.accept_all_button.click()
    assert app.decisions == ["accepted", None, None, None]
    assert app.rows[0].accept_button.disabled and app.rows[0].reject_button.disabled
    assert app.partial_terms == [mass, kinetic, quartic]
    app.rows[0].accept_button.click()  # accepting twice adds nothing
    assert len(app.partial_terms) == 3
    app.export_tokens_button.click()
    assert app.export.value.splitlines() == [HIGGS, f"{mass} {kinetic} {quartic}"]
    app.export_latex_button.click()
    # μ² H†H, (D_μH)†(D^μH), λ (H†H)²: written by hand
    assert app.export.value == (
        r"\mathcal{L} \supset {H}_{a} {H^{\dagger}}^{a} "
        r"+ (D_{\mu} {H^{\dagger}}^{a}) (D^{\mu} {H}_{a}) "
        r"+ {H}_{a} {H}_{b} {H^{\dagger}}^{a} {H^{\dagger}}^{b}"
    )


def test_invalid_partial_terms_are_named_after_a_completion(app):
    fs = lagrangian(HIGGS).fields
    mass = lagrangian(HIGGS).term_tokens()[-1]
    app.set_fields(fs)
    app.show(assess(fs, [mass, WRONG_HYPERCHARGE], []))
    assert "1 of your partial terms is rejected by the term checker" in app.status.value
    assert app.partial_terms == [mass, WRONG_HYPERCHARGE]
    assert ">invalid<" in app.partial_checks.value


def test_the_app_offers_terms_that_come_before_the_users(app, monkeypatch):
    """With the kinetic terms written, the model's continuation comes after them; the terms
    its best first terms hold (stubbed: the Yukawa coupling) are offered too, said so in the
    status line, and can be accepted."""
    import lagnb.ml.generate as gen

    app.load_from_catalogue("sm_leptons_higgs")
    exact = engine_terms(tuple(app.fields))
    kinetic = [k for k, e in enumerate(exact) if e.kind == "kinetic"]
    yukawa = next(e.tokens for e in exact if e.kind == "yukawa")
    for k in kinetic:
        app.add_engine_term(k)
    app.max_terms.value = 5
    monkeypatch.setattr(gen, "_search_after", lambda b, p, context, w: [] if context else [yukawa])
    app.complete()
    assert app.completion.added == (yukawa,), app.status.value
    assert "the last 1 from the model's best first terms" in html.unescape(app.status.value)
    row = next(r for r in app.rows if r.suggestion.tokens == yukawa)
    assert row.suggestion.valid and not row.accept_button.disabled
    row.accept_button.click()
    assert row.decision == "accepted" and app.partial_terms[-1] == yukawa


def test_accept_all_takes_only_valid_new_terms(app):
    app.load_from_catalogue("2hdm")
    app.show_rejected.value = True
    app.complete()
    n = len(app.partial_terms)
    app.accept_all_button.click()
    valid = [r for r in app.rows if r.suggestion.valid]
    assert len(app.partial_terms) == n + len(valid)
    assert all((r.decision == "accepted") == r.suggestion.valid for r in app.rows)


def test_errors_go_to_the_status_line(app, tmp_path):
    app.partial.value = "+ FIELD SPIN 0 SU2 2 U1 1 ID0 CONTRACTIONS SU2 ID0"
    app.complete_button.click()
    assert app.completion is None
    assert "partial term 1 does not parse" in app.status.value
    app.set_fields([])
    app.complete_button.click()
    assert "add at least one field" in app.status.value
    missing = AutocompleteApp(tmp_path / "no-model")
    missing.complete_button.click()
    assert "no model at" in missing.status.value


def test_a_new_field_list_clears_old_suggestions(app):
    fs = lagrangian(HIGGS).fields
    app.set_fields(fs)
    app.show(assess(fs, [], lagrangian(HIGGS).term_tokens()[:1]))
    assert app.rows
    app.load_from_catalogue("2hdm")
    assert app.rows == [] and app.suggestion_box.children == () and app.completion is None


def test_app_displays_its_widget(app):
    import ipywidgets

    assert isinstance(app.widget, ipywidgets.VBox)
    assert "lagnb-autocomplete" in app.widget._dom_classes
    assert len(engine_terms(app.fields)) == len(app.engine_term.options)
