"""Exercise checkers of the guided tour (lagnb.apps.teaching)."""

import numpy as np
import pytest

from lagnb.apps import teaching as T
from lagnb.errors import LagnbError
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field, fields_tokens

L = Field.left(1, 2, -1, name="L")
E = Field.right(1, 1, -2, name="e")


# -- exercise 1 -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "answer",
    [
        [L, E],
        [E, L],
        [Field.left(1, 2, -1), Field.right(1, 1, -2)],
        [L, Field.left(1, 1, 2, name="e^c")],
        fields_tokens([L, E]),
    ],
)
def test_lepton_sector_accepts_every_way_of_writing_it(answer):
    result = T.check_lepton_sector(answer)
    assert result.ok, result.message
    assert bool(result) and str(result).startswith("✔")


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ([Field.left(1, 2, 1, name="L"), E], "Q = T3 + Y/2 = 1, 0"),
        ([L], "1 field(s) missing"),
        ([L, E, Field.right(name="N")], "right-handed neutrino"),
        ([Field.right(1, 2, -1, name="L"), E], "flip the sign of Y or the chirality"),
        ([L, Field.left(1, 1, -2, name="e")], "flip the sign of Y or the chirality"),
        ([L, Field.scalar(1, 1, -2, name="e")], "is a scalar"),
        ([Field.left(3, 2, -1, name="L"), E], "carries colour"),
        ([L, E, L], "too many"),
        ([L, L], "one doublet and one singlet"),
        ("FIELD SPIN 7", "does not parse"),
    ],
)
def test_lepton_sector_rejects_with_a_reason(answer, hint):
    result = T.check_lepton_sector(answer)
    assert not result.ok
    assert hint in result.message
    assert str(result).startswith("✘")


def test_left_handed_form_identifies_a_right_handed_field_with_its_conjugate():
    assert T.left_handed_form(E) == T.left_handed_form(Field.left(1, 1, 2))
    assert T.left_handed_form(Field.right(3, 1, "4/3")) == T.left_handed_form(
        Field.left(-3, 1, "-4/3")
    )
    assert T.left_handed_form(L) != T.left_handed_form(Field.right(1, 2, -1))


# -- exercise 2 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("y", [2, "2", -2])
def test_triplet_hypercharge_right(y):
    result = T.check_triplet_hypercharge(y)
    assert result.ok, result.message
    assert ("Δ†" in result.message) == (int(y) < 0)


@pytest.mark.parametrize("y", [0, 1, "1/2", -1, 4])
def test_triplet_hypercharge_wrong(y):
    result = T.check_triplet_hypercharge(y)
    assert not result.ok and "no L L Δ coupling" in result.message


def test_triplet_hypercharge_garbage_raises_naming_the_parameter():
    with pytest.raises(LagnbError, match="hypercharge"):
        T.check_triplet_hypercharge("two")


# -- exercise 3 -----------------------------------------------------------------------------------
def test_2hdm_quartic_count_comes_from_the_engine():
    n = len(lagrangian(T.two_higgs_doublets()).by_kind("quartic"))
    assert n == 7  # λ1 … λ7 of the textbook 2HDM potential
    assert T.check_2hdm_quartics(7).ok
    assert T.check_2hdm_quartics(np.int64(7)).ok
    assert "10 real quartic parameters" in T.check_2hdm_quartics(7).message


@pytest.mark.parametrize(("n", "word"), [(5, "too few"), (6, "too few"), (10, "too many")])
def test_2hdm_quartic_count_wrong(n, word):
    result = T.check_2hdm_quartics(n)
    assert not result.ok and word in result.message


@pytest.mark.parametrize("n", ["7", 7.0, True, None])
def test_2hdm_quartic_count_needs_an_integer(n):
    result = T.check_2hdm_quartics(n)
    assert not result.ok and "whole number" in result.message


# -- exercise 4 -----------------------------------------------------------------------------------
def test_invalid_terms_of_the_released_models_higgs_output():
    assert T.invalid_terms(T.HIGGS_INPUT, T.RELEASED_MODEL_HIGGS_OUTPUT) == [1]
    ok = T.check_invalid_terms(T.HIGGS_INPUT, T.RELEASED_MODEL_HIGGS_OUTPUT, [1])
    assert ok.ok and "vanishes identically" in ok.message
    assert T.check_invalid_terms(T.HIGGS_INPUT, T.RELEASED_MODEL_HIGGS_OUTPUT, (1, 1)).ok


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ([], "1 invalid term(s) not found"),
        ([0, 1], "term(s) 0 are valid"),
        ([6], "numbered 0 … 5"),
        ("x", "list of term positions"),
    ],
)
def test_invalid_terms_wrong_answers(answer, hint):
    result = T.check_invalid_terms(T.HIGGS_INPUT, T.RELEASED_MODEL_HIGGS_OUTPUT, answer)
    assert not result.ok and hint in result.message


def test_invalid_terms_of_a_correct_lagrangian_is_the_empty_list():
    lag = lagrangian((L, E, Field.scalar(1, 2, 1, name="H")))
    assert T.invalid_terms(lag.fields, lag.tokens()) == []
    assert T.check_invalid_terms(lag.fields, lag.tokens(), []).ok


# -- tour helpers ---------------------------------------------------------------------------------
def test_new_terms_shows_what_added_fields_bring():
    h = Field.scalar(1, 2, 1, name="H")
    before, after = lagrangian((h,)), lagrangian((h, L, E))
    added = T.new_terms(before, after)
    assert added.fields == after.fields
    kinds = sorted(t.kind for t in added.terms)
    assert kinds == ["kinetic", "kinetic", "yukawa"]
    assert len(T.new_terms(after, after).terms) == 0


def test_verdict_table_lists_every_term_and_explains_the_bad_ones():
    table = T.verdict_table(T.HIGGS_INPUT, T.RELEASED_MODEL_HIGGS_OUTPUT)
    lines = table.splitlines()
    assert lines[0] == "6 terms, 5 valid"
    assert sum(line.split()[1] == "invalid" for line in lines[1:] if line[:2].strip()) == 1
    assert "vanishes identically" in table


# -- environment ----------------------------------------------------------------------------------
def test_environment_problems_in_the_dev_environment():
    # this venv has the CPU torch, ipywidgets, jupyterlab and papermill
    assert T.environment_problems(require_shipped_model=False) == []


def test_environment_problems_reports_a_missing_shipped_model(monkeypatch, tmp_path):
    import lagnb.ml.model

    monkeypatch.setattr(lagnb.ml.model, "shipped_model_path", lambda: tmp_path / "nothing")
    problems = T.environment_problems()
    assert len(problems) == 1 and "shipped model is missing" in problems[0]
    with pytest.raises(LagnbError, match="shipped model is missing"):
        T.check_environment()


def test_environment_problems_reports_a_cuda_torch(monkeypatch):
    import torch

    monkeypatch.setattr(torch.version, "cuda", "12.8")
    problems = T.environment_problems(require_shipped_model=False)
    assert len(problems) == 1 and "CUDA build" in problems[0]


def test_latex_block_renders_one_term_per_line():
    lag = lagrangian((Field.scalar(1, 2, 1, name="H"),))
    block = T.latex_block(lag)
    assert block.data.startswith("$$\\begin{aligned}")
    assert block.data.count("\\\\") == len(lag.terms) - 1


def test_compare_with_engine_on_the_released_models_higgs_output():
    text = T.compare_with_engine(T.HIGGS_INPUT, T.RELEASED_MODEL_HIGGS_OUTPUT)
    assert "6 terms — 5 valid, 1 invalid, 0 malformed" in text
    assert "found: 5 of 5" in text
    # the paper's metric: 5 correct, 1 extra, 5 true terms: S = (5 - 1) / 5
    assert "paper score S = 0.80" in text and "exact: no" in text
    assert len(T.missing_terms(T.HIGGS_INPUT, T.RELEASED_MODEL_HIGGS_OUTPUT).terms) == 0


def test_compare_with_engine_on_the_engines_own_and_on_broken_output():
    fields = (L, E, Field.scalar(1, 2, 1, name="H"))
    lag = lagrangian(fields)
    assert "exact: yes" in T.compare_with_engine(fields, lag.tokens())
    broken = lag.term_tokens()[0] + " + FIELD SPIN 0 SU2 2 U1 -"
    text = T.compare_with_engine(fields, broken)
    assert "2 terms — 1 valid, 0 invalid, 1 malformed" in text
    assert f"found: 1 of {len(lag.terms)}" in text
    missing = T.missing_terms(fields, broken)
    assert len(missing.terms) == len(lag.terms) - 1
    assert lag.terms[0] not in missing.terms


def test_load_model_from_a_folder_relative_to_the_working_directory(tmp_path, monkeypatch):
    from transformers.utils import logging as hf_logging

    from lagnb.ml.model import build_model, save_bundle
    from lagnb.ml.tokenizer import build_tokenizer

    tok = build_tokenizer()
    save_bundle(tmp_path / "m", build_model("tiny", tok, seed=0, d_model=32), tok)
    monkeypatch.chdir(tmp_path)
    bundle = T.load_model("m")
    assert bundle.path.resolve() == (tmp_path / "m").resolve()
    assert bundle.model.config.d_model == 32
    assert hf_logging.is_progress_bar_enabled()  # restored after loading quietly
    with pytest.raises(LagnbError, match="no model at"):
        T.load_model("no-such-folder")


def test_explain_orders_reasons_whole_term_first():
    from lagnb.physics.check import TermCheck

    check = TermCheck(None, reasons=("ID2 (H†) has 1", "U(1) hypercharges add up to -2", "ID0 x"))
    assert T.explain(check) == "Invalid: U(1) hypercharges add up to -2; ID0 x; ID2 (H†) has 1."
    assert T.explain(TermCheck(None, reasons=("b", "a"))) == "Invalid: a; b."


def test_the_tours_pipeline_parameters_are_the_notebooks_own():
    from lagnb.pipeline import PROFILES, notebook_parameters

    declared = notebook_parameters("00_tour.ipynb")
    assert "00_tour.ipynb" in PROFILES["tiny"]
    for preset in PROFILES.values():
        for name, value in preset.get("00_tour.ipynb", {}).items():
            assert name in declared
            assert type(value).__name__ == declared[name]["inferred_type_name"]


def test_tour_notebook_has_one_parameters_cell_and_solved_exercises():
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks/00_tour.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    tagged = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    assert "widgets" not in nb["metadata"]
    assert all(c["execution_count"] for c in code)  # committed executed, in order
    assert not any(o["output_type"] == "error" for c in code for o in c["outputs"])
    answers = [k for k, c in enumerate(code) if "".join(c["source"]).startswith("# ✏️")]
    assert len(answers) == 4
    for k in answers:
        check = code[k + 1]
        assert "teaching.check_" in "".join(check["source"])
        (result,) = [o for o in check["outputs"] if o["output_type"] == "execute_result"]
        assert "".join(result["data"]["text/plain"]).startswith("✔ Correct.")
