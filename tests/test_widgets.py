"""The autocomplete widget app, driven from Python: set values, click, read the state."""

import pytest

from lagnb.apps.autocomplete import engine_terms
from lagnb.apps.widgets import FIELD_PRESETS, AutocompleteApp
from lagnb.ml.model import build_model, save_bundle
from lagnb.ml.tokenizer import build_tokenizer
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field


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
    assert tuple(app.fields) == FIELD_PRESETS["Standard Model (one generation)"]
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


def test_presets_and_engine_terms_fill_the_partial_lagrangian(app):
    app.preset.value = "Higgs doublet"
    app.preset_button.click()
    assert app.fields == [Field.scalar(1, 2, 1)]
    app.engine_term.value = 4
    app.engine_add_button.click()
    app.engine_term.value = 0
    app.engine_add_button.click()
    terms = lagrangian("[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]").term_tokens()
    assert app.partial_terms == [terms[4], terms[0]]
    assert app.lagrangian.value.count(r"\\ &") == 1  # two lines of LaTeX


def test_complete_accept_reject_export(app):
    app.preset.value = "leptons + Higgs"
    app.preset_button.click()
    for k in (0, 1, 2):
        app.add_engine_term(k)
    before = list(app.partial_terms)
    app.complete_button.click()
    c = app.completion
    assert c is not None, app.status.value
    assert 1 <= len(app.rows) <= 2
    assert len(app.suggestion_box.children) == len(app.rows)
    assert f"{len(c.suggestions)} suggestions" in app.status.value
    for row in app.rows:
        assert row.suggestion.status in ("valid", "invalid", "duplicate")
        assert row.suggestion.status in row.math.value
        assert "$" in row.math.value  # LaTeX for HTMLMath
    assert "still missing" in app.missing.value
    app.rows[0].accept_button.click()
    assert app.decisions[0] == "accepted"
    assert app.rows[0].accept_button.disabled and app.rows[0].reject_button.disabled
    assert app.partial_terms == [*before, app.rows[0].suggestion.tokens]
    app.rows[0].accept_button.click()  # accepting twice adds nothing
    assert len(app.partial_terms) == len(before) + 1
    if len(app.rows) > 1:
        app.rows[1].reject_button.click()
        assert app.decisions[1] == "rejected"
        assert app.rows[1].widget.layout.opacity == "0.45"
    app.export_tokens_button.click()
    first, second = app.export.value.splitlines()
    assert first == app.fields_tokens
    assert second == " ".join(app.partial_terms)
    app.export_latex_button.click()
    assert app.export.value.startswith(r"\mathcal{L} \supset")
    assert r"\epsilon" in app.export.value or "H" in app.export.value


def test_accept_all_takes_only_valid_new_terms(app):
    app.preset.value = "Higgs doublet"
    app.preset_button.click()
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
    app.load_preset("Higgs doublet")
    app.complete()
    assert app.rows
    app.load_preset("two Higgs doublets")
    assert app.rows == [] and app.suggestion_box.children == () and app.completion is None


def test_app_displays_its_widget(app):
    import ipywidgets

    assert isinstance(app.widget, ipywidgets.VBox)
    assert "lagnb-autocomplete" in app.widget._dom_classes
    assert len(engine_terms(app.fields)) == len(app.engine_term.options)
