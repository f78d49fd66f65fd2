"""Evaluation: scores per example, aggregation, malformed outputs, benchmarks, plots."""

import math

import pytest
from model_helpers import TINY, write_dataset

import lagnb.ml.evaluate as ev
from lagnb.errors import LagnbError
from lagnb.ml.model import build_model, load_bundle, save_bundle
from lagnb.ml.tokenizer import build_tokenizer
from lagnb.physics.catalogue import CATALOGUE
from lagnb.physics.engine import lagrangian


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("evdata"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    tok = build_tokenizer()
    path = tmp_path_factory.mktemp("evmodel") / "m"
    save_bundle(path, build_model("tiny", tok, seed=0, **TINY), tok)
    return load_bundle(path)


def oracle(bundle, inputs, **kw):
    assert kw["details"]
    return [(lagrangian(x).tokens(), True) for x in inputs]


def test_oracle_scores_one_everywhere(bundle, data, monkeypatch):
    monkeypatch.setattr(ev, "generate_batch", oracle)
    res = ev.evaluate(bundle, data, progress=False)
    rows = res.rows
    assert set(rows["split"]) == {"test", "ood", "benchmark"}
    assert len(rows[rows["split"] == "benchmark"]) == len(CATALOGUE)
    assert rows["exact"].all() and (rows["paper_score"] == 1).all() and (rows["f1"] == 1).all()
    assert (rows["validity"] == 1).all() and not rows["truncated"].any()
    table = res.summary(["split", "n_fields"])
    assert table.loc[("ood", 3), "n"] == 1 and table["exact"].eq(1).all()
    js = res.to_json()
    assert js["overall"][0]["f1"] == 1 and js["malformed_examples"] == []
    assert {r["content"] for r in js["by_content"]} == {"fermions", "scalars only"}


def test_garbage_outputs_are_counted(bundle, data, monkeypatch):
    def garbage(bundle, inputs, **kw):
        texts = ["SPIN SPIN", "+ FIELD SPIN 0 ID0 CONTRACTIONS + FIELD", ""][: len(inputs)]
        texts += ["+"] * max(0, len(inputs) - 3)
        return [(t, False) for t in texts]

    monkeypatch.setattr(ev, "generate_batch", garbage)
    res = ev.evaluate(bundle, data, benchmarks=False, progress=False)
    rows = res.rows
    assert not rows["exact"].any() and rows["truncated"].all()
    assert rows["n_malformed"].sum() >= 3
    assert res.summary().loc["all", "malformed_terms"] == rows["n_malformed"].sum()
    second = rows.iloc[1]
    # "+ FIELD SPIN 0 ID0 CONTRACTIONS" parses; it is the singlet's tadpole: not invariant-free
    assert second["n_pred"] == 2 and second["n_malformed"] == 1
    assert math.isnan(rows.iloc[2]["validity"])  # nothing generated, nothing checked
    assert res.to_json()["malformed_examples"]


def test_real_generation_on_a_tiny_model(bundle, data):
    rows = ev.evaluate_examples(
        bundle,
        ev.load_examples(data, ["test"], max_examples=2),
        progress=False,
        max_new_tokens=20,
    )
    assert len(rows) == 2 and rows["truncated"].dtype == bool
    for r in rows.itertuples():
        assert len(r.prediction.split()) <= 20 and "[" not in r.prediction
    assert (rows["f1"] <= 1).all() and (rows["seconds"] > 0).all()


def test_without_checker(bundle, data, monkeypatch):
    monkeypatch.setattr(ev, "generate_batch", oracle)
    res = ev.evaluate(bundle, data, benchmarks=False, check=False, progress=False)
    assert res.rows["validity"].isna().all() and (res.rows["checked_terms"] == 0).all()
    assert res.summary("split")["f1"].eq(1).all()


def test_plot_by_fields(bundle, data, monkeypatch, tmp_path):
    monkeypatch.setattr(ev, "generate_batch", oracle)
    res = ev.evaluate(bundle, data, benchmarks=False, progress=False)
    ev.plot_by_fields(res.rows, tmp_path / "acc.png")
    assert (tmp_path / "acc.png").stat().st_size > 1000


def test_benchmarks_are_the_named_models():
    assert set(CATALOGUE) == {
        "sm_leptons_higgs",
        "sm",
        "sm_leptoquark_s1",
        "rpv_llec",
        "2hdm",
        "sm_singlet",
        "sm_triplet",
    }
    sm = CATALOGUE["sm"].fields
    assert [(f.su3, f.su2, str(f.y)) for f in sm] == [
        (3, 2, "1/3"),
        (3, 1, "4/3"),
        (3, 1, "-2/3"),
        (1, 2, "-1"),
        (1, 1, "-2"),
        (1, 2, "1"),
    ]
    for b in CATALOGUE.values():
        kinds = {t.kind for t in lagrangian(b.fields).terms}
        # three Weyl fermions make no renormalizable invariant: LLē has only kinetic terms
        expected = {"kinetic", "gauge_kinetic"} if b.name == "rpv_llec" else None
        assert kinds == expected if expected else kinds & {"yukawa", "quartic"}, b.name
    s1 = CATALOGUE["sm_leptoquark_s1"].fields[-1]
    assert (s1.su3, s1.su2, str(s1.y)) == (-3, 1, "2/3")
    with pytest.raises(LagnbError, match="unknown benchmark"):
        ev.benchmark_examples(["nope"])


def test_missing_splits(tmp_path, data):
    with pytest.raises(LagnbError, match="no complete dataset"):
        ev.load_examples(tmp_path, ["test"])
    with pytest.raises(LagnbError, match="unknown split 'dev'"):
        ev.load_examples(data, ["dev"])


def test_input_sensitivity(bundle, data):
    examples = ev.load_examples(data, ["test"])
    out = ev.input_sensitivity(bundle, examples)
    assert set(out) == {"loss", "shuffled_inputs_loss", "gap"}
    assert out["gap"] == pytest.approx(out["shuffled_inputs_loss"] - out["loss"])
    # a single example has no other field list: the gap vanishes
    one = ev.input_sensitivity(bundle, examples[:1])
    assert one["gap"] == 0
