"""Evaluation: scores per example, aggregation, malformed outputs, benchmarks, plots."""

import math
from dataclasses import replace
from fractions import Fraction

import pytest
from model_helpers import TINY, write_dataset

import lagnb.ml.evaluate as ev
from lagnb.errors import LagnbError
from lagnb.ml.generate import Continuation, Generated, certify_continuation
from lagnb.ml.model import build_model, load_bundle, save_bundle
from lagnb.ml.tokenizer import build_tokenizer
from lagnb.physics.catalogue import CATALOGUE
from lagnb.physics.check import check_term
from lagnb.physics.engine import as_fields, lagrangian
from lagnb.physics.tokens import split_terms


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("evdata"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    tok = build_tokenizer()
    path = tmp_path_factory.mktemp("evmodel") / "m"
    save_bundle(path, build_model("tiny", tok, seed=0, **TINY), tok)
    return load_bundle(path)


def outputs(inputs, texts, finished, certified):
    """What generate_batch(details=True) makes of these texts: certified by the checker or
    raw."""
    return [
        certify_continuation(as_fields(x), Continuation("", t, finished))
        if certified
        else Generated(t, finished, t)
        for x, t in zip(inputs, texts)
    ]


def oracle(bundle, inputs, **kw):
    assert kw["details"]
    return outputs(inputs, [lagrangian(x).tokens() for x in inputs], True, kw["certified"])


GARBAGE = ["SPIN SPIN", "+ FIELD SPIN 0 ID0 CONTRACTIONS + FIELD", ""]


def garbage(bundle, inputs, **kw):
    texts = (GARBAGE + ["+"] * len(inputs))[: len(inputs)]
    return outputs(inputs, texts, False, kw["certified"])


def test_oracle_scores_one_everywhere(bundle, data, monkeypatch):
    monkeypatch.setattr(ev, "generate_batch", oracle)
    res = ev.evaluate(bundle, data, progress=False)
    rows = res.rows
    assert set(rows["split"]) == {"test", "ood", "benchmark"}
    assert len(rows[rows["split"] == "benchmark"]) == len(CATALOGUE)
    assert rows["exact"].all() and (rows["paper_score"] == 1).all() and (rows["f1"] == 1).all()
    assert (rows["validity"] == 1).all() and not rows["truncated"].any()
    assert (rows["raw_validity"] == 1).all() and (rows["dropped_terms"] == 0).all()
    assert (rows["raw_prediction"] == rows["prediction"]).all()
    table = res.summary(["split", "n_fields"])
    assert table.loc[("ood", 3), "n"] == 1 and table["exact"].eq(1).all()
    js = res.to_json()
    assert js["overall"][0]["f1"] == 1 and js["malformed_examples"] == []
    assert {r["content"] for r in js["by_content"]} == {"fermions", "scalars only"}


def test_garbage_outputs_are_counted(bundle, data, monkeypatch):
    monkeypatch.setattr(ev, "generate_batch", garbage)
    res = ev.evaluate(bundle, data, benchmarks=False, progress=False, certified=False)
    rows = res.rows
    assert not rows["exact"].any() and rows["truncated"].all()
    assert rows["n_malformed"].sum() >= 3
    assert res.summary().loc["all", "malformed_terms"] == rows["n_malformed"].sum()
    second = rows.iloc[1]
    # "+ FIELD SPIN 0 ID0 CONTRACTIONS" parses; it is the singlet's tadpole: not invariant-free
    assert second["n_pred"] == 2 and second["n_malformed"] == 1
    assert math.isnan(rows.iloc[2]["validity"])  # nothing generated, nothing checked
    assert res.to_json()["malformed_examples"]
    # uncertified: the prediction is the raw output, nothing dropped
    assert rows["raw_validity"].equals(rows["validity"]) and (rows["dropped_terms"] == 0).all()


def test_certified_garbage_is_dropped_and_counted(bundle, data, monkeypatch):
    """The same garbage, certified: every term fails the checker (a lone field is no
    invariant, the rest does not parse), so nothing is scored and all of it is dropped."""
    monkeypatch.setattr(ev, "generate_batch", garbage)
    res = ev.evaluate(bundle, data, benchmarks=False, progress=False)
    rows = res.rows
    assert (rows["prediction"] == "").all() and (rows["n_pred"] == 0).all()
    assert rows["validity"].isna().all() and (rows["n_malformed"] == 0).all()
    raw_terms = [len(split_terms(t)) for t in rows["raw_prediction"]]
    assert list(rows["dropped_terms"]) == raw_terms and raw_terms[:3] == [1, 2, 0]
    assert (rows["raw_validity"].iloc[[0, 1, 3]] == 0).all()
    assert math.isnan(rows.iloc[2]["raw_validity"])  # nothing generated
    summary = res.summary()
    assert summary.loc["all", "dropped_terms"] == sum(raw_terms)
    assert summary.loc["all", "raw_validity"] == 0
    assert {"raw_validity", "dropped_terms"} <= set(ev.SUMMARY_COLUMNS)


def test_terms_from_other_orders_are_counted(bundle, data, monkeypatch):
    """``orders`` reaches the decoder; the terms the other orders added are counted per example
    and summed, and the setting is recorded."""
    seen = []

    def with_orders(bundle, inputs, **kw):
        seen.append(kw["orders"])
        return [
            replace(g, from_orders=("+ x",) * k) for k, g in enumerate(oracle(bundle, inputs, **kw))
        ]

    monkeypatch.setattr(ev, "generate_batch", with_orders)
    res = ev.evaluate(bundle, data, benchmarks=False, progress=False, orders=3)
    assert set(seen) == {3} and res.meta["orders"] == 3
    n = len(res.rows)
    assert list(res.rows["order_terms"]) == [k % 16 for k in range(n)]  # batches of 16
    assert res.summary().loc["all", "order_terms"] == sum(k % 16 for k in range(n))
    default = ev.evaluate(bundle, data, benchmarks=False, progress=False).meta["orders"]
    assert default == "by the number of fields"


def test_certified_validity_is_one_or_nan(bundle, data):
    """Real decoding with the untrained tiny model: whatever is left after certification is
    valid (validity 1, or NaN when nothing is left); raw validity can be anything, and the
    dropped terms are exactly the raw terms that are not left."""
    examples = ev.load_examples(data, ["test", "ood"])
    rows = ev.evaluate_examples(bundle, examples, progress=False, max_new_tokens=40)
    assert set(rows["validity"].dropna()) <= {1.0}
    for r in rows.itertuples():
        kept = split_terms(r.prediction)
        assert all(check_term(r.input, t).valid for t in kept)
        raw = split_terms(r.raw_prediction)
        assert r.dropped_terms == len(raw) - len(kept)
        valid_raw = sum(check_term(r.input, t).valid for t in raw)
        assert r.raw_validity == pytest.approx(valid_raw / len(raw)) if raw else True
    assert rows["dropped_terms"].sum() > 0  # an untrained model writes invalid terms


def test_batched_constrained_decoding_is_one_at_a_time(bundle, data):
    """Evaluation decodes constrained inputs in batches: the same outputs as one by one."""
    examples = ev.load_examples(data, ["test", "ood"])
    kw = dict(progress=False, max_new_tokens=30, certified=False)
    batched = ev.evaluate_examples(bundle, examples, batch_size=4, **kw)
    alone = ev.evaluate_examples(bundle, examples, batch_size=1, **kw)
    assert list(batched["prediction"]) == list(alone["prediction"])
    assert list(batched["truncated"]) == list(alone["truncated"])


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


def test_sm_sector_examples():
    from collections import Counter

    from lagnb.data.sampling import DEFAULT_HYPERCHARGES, SM_SECTORS, content_key
    from lagnb.physics.fields import parse_fields

    examples = ev.sector_examples(12, seed=0)
    assert examples == ev.sector_examples(12, seed=0) != ev.sector_examples(12, seed=1)
    assert [e["name"] for e in examples] == list(SM_SECTORS) * 3
    named = {content_key(m.fields) for m in CATALOGUE.values()}
    keys = [content_key(parse_fields(e["input"])) for e in examples]
    assert len(set(keys)) == 12 and not set(keys) & named
    ys = {str(Fraction(y)) for y in DEFAULT_HYPERCHARGES}
    for e in examples:
        extra = Counter(parse_fields(e["input"])) - Counter(SM_SECTORS[e["name"]])
        assert sum(extra.values()) == 1, e
        (bsm,) = extra
        assert bsm.su3 in (1, 3, -3) and bsm.su2 in (1, 2, 3) and str(bsm.y) in ys
    # each sector is closed under its Yukawas: one per sector for one generation (Q ū H with H,
    # not H†: 1/3 − 4/3 + 1 = 0; Q d̄ H†; L ē H†), two for the quark sector
    expected = {"leptons": 1, "up quarks": 1, "down quarks": 1, "quarks": 2}
    for name, fields in SM_SECTORS.items():
        assert sum(t.kind == "yukawa" for t in lagrangian(fields).terms) == expected[name]


def test_too_many_sectors_is_an_error():
    # 3 spins × 3 × 3 × 13 hypercharges = 351 BSM fields per sector, 4 sectors: at most 1,404
    with pytest.raises(LagnbError, match=r"sectors: only \d+ distinct .* for n=2000"):
        ev.sector_examples(2000)


def test_sectors_are_scored_as_their_own_split(bundle, monkeypatch):
    monkeypatch.setattr(ev, "generate_batch", oracle)
    res = ev.evaluate(bundle, benchmarks=False, sectors=4, progress=False)
    assert list(res.rows["split"]) == ["sm+bsm"] * 4 and res.rows["exact"].all()
