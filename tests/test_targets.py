"""The compact target format (lagnb.ml.targets): lossless on every engine Lagrangian, shorter,
spoken token by token by the compact grammar; conversion errors name the token; a tiny model
trained on compact targets saves and loads its format and talks BART-L to every caller."""

from __future__ import annotations

import json
import random
import statistics
from fractions import Fraction

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from model_helpers import TINY, tiny_train_config, write_dataset

from lagnb.errors import LagnbError, TokenError
from lagnb.ml.metrics import score_lagrangian
from lagnb.ml.targets import COMPACT_WORDS, TARGET_FORMATS, from_model, to_model
from lagnb.physics.catalogue import CATALOGUE
from lagnb.physics.check import check_term
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field, fields_tokens, parse_field_tokens
from lagnb.physics.grammar import END, Grammar
from lagnb.physics.terms import charged_groups
from lagnb.physics.tokens import (
    FIELD_REFS,
    IDS,
    VOCABULARY,
    field_ref_index,
    parse_structure,
    parse_term,
    split_terms,
)

HIGGS = (Field.scalar(1, 2, 1, "H"),)
HIGGS_INPUT = "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"
COMPACT_HIGGS_KINETIC = (
    "+ DERIVATIVE ID0 F0 DAGGER ID1 DERIVATIVE ID2 F0 ID3 CONTRACTIONS LORENTZ ID0 ID2 SU2 ID1 ID3"
)


def lengths_after_round_trip(fields: tuple[Field, ...]) -> tuple[int, int]:
    """Check the compact form of the engine's Lagrangian of ``fields``; return the (BART-L,
    compact) token counts.

    The compact text converts back to exactly the BART-L text, term by term too; it has no
    quantum numbers left (every field object is a reference, to the first copy of its field);
    and the compact grammar of ``fields`` accepts it token by token, to the end.
    """
    bart = lagrangian(fields).tokens()
    comp = to_model(fields, bart, "compact")
    assert from_model(fields, comp, "compact") == bart
    assert to_model(fields, bart, "bart-l") == bart == from_model(fields, bart, "bart-l")
    toks = comp.split()
    assert set(toks) <= COMPACT_WORDS
    assert not {"FIELD", "SPIN", "HEL", "/"} & set(toks)
    refs = [k for k in map(field_ref_index, toks) if k is not None]
    assert refs and all(fields.index(fields[k]) == k for k in refs)
    g = Grammar(fields, spelling="compact")
    assert g.feed([*toks, "[EOS]"]).phase == END
    bart_terms, comp_terms = split_terms(bart), split_terms(comp)
    assert len(bart_terms) == len(comp_terms)
    assert [from_model(fields, t, "compact") for t in comp_terms] == bart_terms
    assert all(g.accepts_term(t) for t in comp_terms)
    return len(bart.split()), len(toks)


# -- the engine's Lagrangians of the catalogue ---------------------------------------------------
@pytest.mark.parametrize("name", list(CATALOGUE))
def test_catalogue_round_trip_and_length(name):
    n_bart, n_compact = lengths_after_round_trip(CATALOGUE[name].fields)
    # measured: sm_leptons_higgs 0.50, sm 0.44, sm_leptoquark_s1 0.39, rpv_llec 0.60, 2hdm 0.47,
    # sm_singlet 0.48, sm_triplet 0.44
    assert n_compact < 0.7 * n_bart, (n_bart, n_compact)


def test_catalogue_total_compact_length():
    sizes = [lengths_after_round_trip(m.fields) for m in CATALOGUE.values()]
    n_bart, n_compact = map(sum, zip(*sizes))
    assert n_compact < 0.7 * n_bart  # measured 2553 / 5690 = 0.45


def test_median_over_random_three_field_contents():
    """Contents drawn by the dataset sampler (its default mix: SU(3) 1, 3, 3̄, 6, 6̄, 8; SU(2)
    1–4), three fields each: compact targets are about half as long."""
    from lagnb.data.sampling import FieldDistribution

    rng, dist = random.Random(0), FieldDistribution()
    ratios = []
    for _ in range(60):
        fields = dist.draw_content(rng, 3)
        n_bart, n_compact = lengths_after_round_trip(fields)
        ratios.append(n_compact / n_bart)
    assert statistics.median(ratios) < 0.65  # measured 0.56 (200 contents: 0.56)
    assert max(ratios) < 0.75


def test_flavours_are_the_first_copy():
    """Two identical doublets (2HDM) are indistinguishable in BART-L: every reference is F0,
    and the compact grammar has no F1 to offer."""
    fields = CATALOGUE["2hdm"].fields
    comp = to_model(fields, lagrangian(fields).tokens(), "compact")
    assert "F0" in comp.split() and "F1" not in comp.split()
    g = Grammar(fields, spelling="compact")
    s = g.advance(g.initial(), "+")
    assert "F0" in g.allowed(s) and "F1" not in g.allowed(s)
    # a reference to the second copy still reads back (the same tokens as the first)
    assert from_model(fields, "+ F1 ID0 F1 DAGGER ID1 CONTRACTIONS SU2 ID0 ID1", "compact") == (
        from_model(fields, "+ F0 ID0 F0 DAGGER ID1 CONTRACTIONS SU2 ID0 ID1", "compact")
    )


def test_higgs_example_of_the_docstring():
    from lagnb.ml import targets

    bart = lagrangian(HIGGS).tokens()
    comp = to_model(HIGGS, bart, "compact")
    assert COMPACT_HIGGS_KINETIC in split_terms(comp)
    assert f"({len(bart.split())} tokens in all)" in targets.__doc__
    assert f"({len(comp.split())} tokens in all)" in targets.__doc__
    for term in split_terms(comp):
        if "COMMUTATOR_A" not in term:
            assert term in " ".join(targets.__doc__.split())


# -- random field lists --------------------------------------------------------------------------
@st.composite
def field_lists(draw: st.DrawFn) -> tuple[Field, ...]:
    """1–4 fields: scalars and Weyl fermions of either helicity in every representation lagnb
    knows (SU(3) 1, 3, 3̄, 6, 6̄, 8; SU(2) 1–4), with repeated identical fields (flavours) and
    conjugate copies."""

    def new() -> Field:
        kind = draw(st.sampled_from(["scalar", "scalar", "left", "right"]))
        su3 = draw(st.sampled_from([1, 1, 3, -3, 6, -6, 8]))
        su2 = draw(st.sampled_from([1, 1, 2, 3, 4]))
        y = draw(st.sampled_from([Fraction(0)] * 3 + [Fraction(v) for v in ("1", "-2", "1/3")]))
        return getattr(Field, kind)(su3, su2, y)

    fields = [new()]
    for _ in range(draw(st.integers(0, 3))):
        how = draw(st.sampled_from(["new", "new", "copy", "conjugate"]))
        f = draw(st.sampled_from(fields))
        fields.append(new() if how == "new" else f if how == "copy" else f.conjugate())
    return tuple(fields)


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(field_lists())
@example((Field.scalar(1, 2, 1), Field.scalar(1, 2, 1), Field.left(1, 2, -1)))  # flavours
@example((Field.scalar(6, 1, "2/3"), Field.left(8, 1, 0), Field.right(-6, 1, "-2/3")))  # 6, 8
@example((Field.scalar(1, 4, 1), Field.left(1, 4, 1), Field.scalar()))  # SU(2) quadruplets
@example((Field.left(1, 1, 0), Field.right(1, 1, 0), Field.scalar(1, 1, 0)))  # total singlets
@example((Field.scalar(3, 2, "1/3"), Field.scalar(-3, 2, "-1/3")))  # a field and its conjugate
def test_random_field_lists_round_trip(fields):
    n_bart, n_compact = lengths_after_round_trip(fields)
    assert n_compact < n_bart


def test_real_and_flavoured_fields_round_trip():
    """BART-L writes a real scalar and a field with generations by their quantum numbers
    alone (as the checker reads them); the compact spelling refers to them all the same."""
    fields = (
        Field.scalar(name="S", real=True),
        Field.left(1, 2, -1, generations=3),
        Field.scalar(1, 2, 1),
    )
    n_bart, n_compact = lengths_after_round_trip(fields)
    assert n_compact < n_bart


# -- conversion errors ---------------------------------------------------------------------------
def test_fields_the_tokens_cannot_tell_apart_are_named():
    """A real and a complex singlet look the same in BART-L: converting a term of either is a
    one-line error naming the object and both fields."""
    fields = (Field.scalar(name="S", real=True), Field.scalar(name="T"))
    with pytest.raises(TokenError) as err:
        to_model(fields, "+ FIELD SPIN 0 ID0 FIELD SPIN 0 ID1 CONTRACTIONS", "compact")
    assert str(err.value) == (
        "term 1, position 1: scalar (1, 1, 0) is ambiguous: fields 1, 2 differ only in charges, "
        "reality or generations, which term tokens do not write; check Term objects instead"
    )


def test_out_of_range_reference_is_named():
    text = "+ F0 ID0 F3 DAGGER ID1 CONTRACTIONS SU2 ID1 ID0"
    with pytest.raises(TokenError) as err:
        from_model(HIGGS, text, "compact")
    msg = str(err.value)
    assert "\n" not in msg
    assert msg == (
        "model output token 'F3' at position 3: refers to field 4, but the input has 1 field"
    )
    with pytest.raises(TokenError, match=r"'F16' at position 1: is not a field reference"):
        from_model(HIGGS, "+ F16 ID0", "compact")


def test_out_of_range_reference_is_a_malformed_term_not_a_crash():
    """Leniently converted (as generation does), the bad reference stays as written: its term
    does not parse, is a term of its own, and the scorer counts it as a wrong prediction."""
    good = "+ F0 DAGGER ID1 F0 ID0 CONTRACTIONS SU2 ID1 ID0"
    bad = "+ F0 ID0 F3 DAGGER ID1 CONTRACTIONS SU2 ID1 ID0"
    text = from_model(HIGGS, f"{good} {bad}", "compact", strict=False)
    terms = split_terms(text)
    assert len(terms) == 2 and terms[1].split()[9:11] == ["F3", "DAGGER"]
    assert check_term(HIGGS_INPUT, terms[0]).valid
    verdict = check_term(HIGGS_INPUT, terms[1])
    assert not verdict.parses and "'F3'" in verdict.reasons[0]
    with pytest.raises(LagnbError, match="'F3'"):
        parse_term(HIGGS, terms[1])
    target = lagrangian(HIGGS).tokens()
    s = score_lagrangian(text, target)
    assert (s.n_pred, s.n_malformed, s.n_correct) == (2, 1, 1)
    # a bad reference that opens a term still begins a term of its own
    text = from_model(HIGGS, f"{good} + F7 ID0 CONTRACTIONS", "compact", strict=False)
    assert split_terms(text)[1] == "+ F7 ID0 CONTRACTIONS"


@pytest.mark.parametrize(
    ("text", "culprit"),
    [
        ("+ DAGGER ID0", r"'DAGGER' at position 1: DAGGER must follow a field reference"),
        ("+ DERIVATIVE ID0 SIGMA_BAR ID1", r"'DERIVATIVE' at position 1: .* the field it acts on"),
        ("+ DERIVATIVE SU2 U1 ID0 F0 ID1", r"'DERIVATIVE' at position 1"),
        ("+ FIELD SPIN 0 SU2 2 U1 1 ID0", r"'FIELD' at position 1: not a token of the compact"),
        ("+ F0 ID0 F0 DAGGER ID1 CONTRACTIONS SU2 ID0 ID1 - DERIVATIVE", r"at position 11"),
    ],
)
def test_unconvertible_model_output(text, culprit):
    with pytest.raises(TokenError, match=culprit):
        from_model(HIGGS, text, "compact")
    assert from_model(HIGGS, text, "compact", strict=False)  # lenient: no error


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    st.lists(
        st.sampled_from(sorted(COMPACT_WORDS | {"F17", "F99", "FIELD", "SPIN", "1", "/", "x"})),
        max_size=25,
    )
)
def test_any_model_output_converts_leniently_and_errors_name_the_token(toks):
    fields = CATALOGUE["sm_leptons_higgs"].fields
    text = " ".join(toks)
    out = from_model(fields, text, "compact", strict=False)
    for term in split_terms(out):  # BART-L, or malformed: never anything else
        c = check_term(fields, term)
        assert c.parses or c.reasons[0].startswith("does not parse")
    try:
        strict = from_model(fields, text, "compact")
    except TokenError as exc:
        msg = str(exc)
        assert "\n" not in msg and msg.startswith("model output token '")
    else:
        assert strict == out


def test_to_model_refuses_what_compact_cannot_say():
    with pytest.raises(TokenError, match=r"position 1: scalar \(1, 1, 0\) is not in the field"):
        to_model(HIGGS, "+ FIELD SPIN 0 ID0 FIELD SPIN 0 DAGGER ID1 CONTRACTIONS", "compact")
    wrong = "+ DERIVATIVE SU2 ID0 FIELD SPIN 0 SU2 2 U1 1 ID1"
    with pytest.raises(TokenError, match=r"'DERIVATIVE SU2' acts on .* 'DERIVATIVE SU2 U1'"):
        to_model(HIGGS, wrong, "compact")
    with pytest.raises(TokenError, match="ends inside a field object"):
        to_model(HIGGS, "+ FIELD SPIN 0 SU2 2 U1 1", "compact")
    # after a conjugate's DAGGER the field is known (only its label is missing)
    assert to_model(HIGGS, "+ FIELD SPIN 0 SU2 2 U1 - 1 DAGGER", "compact") == "+ F0 DAGGER"
    with pytest.raises(TokenError, match="position 1: expected an ID label after the field"):
        to_model(HIGGS, "+ FIELD SPIN 0 SU2 2 U1 - 1 DAGGER FIELD", "compact")
    with pytest.raises(TokenError, match="ends inside the COMMUTATOR_A object"):
        to_model(HIGGS, "- COMMUTATOR_A DERIVATIVE SU2", "compact")
    with pytest.raises(TokenError, match="must be followed by an ID label, got the end"):
        to_model(HIGGS, "+ DERIVATIVE SU2 U1", "compact")
    with pytest.raises(LagnbError, match="unknown target format 'short'; choose one of bart-l"):
        to_model(HIGGS, "+", "short")
    assert TARGET_FORMATS == ("bart-l", "compact")
    # a prefix may end after a derivative (its groups come back from the field written next)
    assert to_model(HIGGS, "+ DERIVATIVE SU2 U1 ID0", "compact") == "+ DERIVATIVE ID0"
    # non-canonical spellings of a listed field are that field (like parse_term)
    assert to_model(HIGGS, "+ FIELD SPIN 0 SU2 2 U1 1.0 ID0", "compact") == "+ F0 ID0"


def test_seventeen_distinct_fields_are_beyond_the_references():
    fields = tuple(Field.scalar(1, 1, k) for k in range(1, 18))
    last = fields[-1]
    kinetic = (
        f"+ DERIVATIVE U1 ID0 {' '.join(last.tokens(True))} ID1 DERIVATIVE U1 ID2 "
        f"{' '.join(last.tokens())} ID3 CONTRACTIONS LORENTZ ID0 ID2"
    )
    with pytest.raises(TokenError, match=r"field 17; the compact spelling names at most 16"):
        to_model(fields, kinetic, "compact")
    with pytest.raises(LagnbError, match=r"^field 17 .* at most 16 distinct fields \(F0–F15\)"):
        Grammar(fields, spelling="compact")
    # sixteen are fine, and so is a seventeenth that repeats one of them
    Grammar(fields[:16], spelling="compact")
    Grammar((*fields[:16], fields[3]), spelling="compact")


# -- a tiny model trained on compact targets ---------------------------------------------------
@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"))


def train_config(data, out, **kw):
    base = dict(
        steps=12, lr=5e-3, warmup=2, eval_every=6, log_every=3, seed=3, target_format="compact"
    )
    return tiny_train_config(data, out, **{**base, **kw})


@pytest.fixture(scope="module")
def compact_dir(data, tmp_path_factory):
    from lagnb.ml.train import train

    out = tmp_path_factory.mktemp("compact") / "model"
    assert train(train_config(data, out), progress=False)["finished"]
    return out


@pytest.fixture(scope="module")
def compact(compact_dir):
    from lagnb.ml.model import load_bundle

    return load_bundle(compact_dir)


def test_tokenize_split_converts_and_filters_in_model_tokens(data):
    from lagnb.data.reader import load_split
    from lagnb.ml.tokenizer import build_tokenizer
    from lagnb.ml.train import tokenize_split

    tok = build_tokenizer()
    ds = load_split(data, "train")
    bart = tokenize_split(ds, tok, 2048)
    comp = tokenize_split(ds, tok, 2048, target_format="compact")
    refs = {tok.convert_tokens_to_ids(t) for t in FIELD_REFS}
    for b, c, row in zip(bart["labels"], comp["labels"], ds):
        assert len(c) < len(b) and refs & set(c) and not refs & set(b)
        fields = tuple(lagrangian(row["input"]).fields)
        text = " ".join(tok.convert_ids_to_tokens(c[:-1]))
        assert from_model(fields, text, "compact") == row["target"]
    # max_target_len counts model tokens: a limit between the two lengths keeps compact rows
    limit = max(len(c) for c in comp["labels"])
    assert len(tokenize_split(ds, tok, limit, target_format="compact")) == len(ds)
    assert len(tokenize_split(ds, tok, limit)) < len(ds)


def test_compact_model_records_and_loads_its_format(compact_dir, compact):
    config = json.loads((compact_dir / "config.json").read_text())
    assert config["lagnb_target_format"] == "compact"
    log = json.loads((compact_dir / "train_log.json").read_text())
    assert log["config"]["target_format"] == "compact"
    assert all(h["valid_loss_wrong_fields"] > 0 for h in log["history"] if "valid_loss" in h)
    assert compact.target_format == "compact" and len(compact.tokenizer) == 95


def test_resuming_needs_the_same_format(data, tmp_path):
    from lagnb.ml.train import train

    train(train_config(data, tmp_path / "r", steps=4), stop_after=2, progress=False)
    with pytest.raises(LagnbError, match=r"other settings \(target_format: 'compact' -> 'bart-l'"):
        train(train_config(data, tmp_path / "r", steps=4, target_format="bart-l"), progress=False)


def test_a_damaged_format_record_is_named(compact_dir, tmp_path):
    import shutil

    from lagnb.ml.model import load_bundle

    bad = tmp_path / "bad"
    shutil.copytree(compact_dir, bad)
    config = json.loads((bad / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**config, "lagnb_target_format": "short"}))
    with pytest.raises(LagnbError, match=r"config.json records the unknown target format 'short'"):
        load_bundle(bad)


def test_compact_model_generates_bart_l(compact):
    from lagnb.ml.generate import generate_batch

    lists = (HIGGS, CATALOGUE["sm_leptons_higgs"].fields)
    texts = generate_batch(
        compact,
        [fields_tokens(f) for f in lists],
        max_new_tokens=120,
        constrained=False,
        certified=False,
    )
    for fields, text in zip(lists, texts):
        # every reference to a listed field is converted: only out-of-range ones may remain
        left = {field_ref_index(t) for t in text.split()} - {None}
        assert all(k >= len(fields) for k in left)
        for term in split_terms(text):  # BART-L terms, or malformed ones: never a crash
            c = check_term(fields, term)
            assert c.parses or c.reasons[0].startswith("does not parse: ")
    for fields in lists:
        [g] = generate_batch(compact, [fields], max_new_tokens=150, certified=False, details=True)
        text, finished = g.text, g.finished
        assert Grammar(fields).first_violation(text) is None  # BART-L, well formed
        terms = split_terms(text)
        assert all(parse_term(fields, t) for t in (terms if finished else terms[:-1]))


def test_compact_model_continues_bart_l_prefixes(compact):
    from lagnb.ml.generate import _parse_input, _row, generate

    kinetic = lagrangian(HIGGS).term_tokens()[1]
    assert kinetic.startswith("+ DERIVATIVE SU2 U1")
    out = generate(compact, HIGGS, prefix=kinetic, max_new_tokens=20, certified=False)
    assert out.startswith(kinetic + " ")
    # a prefix that ends after a derivative: the grammar offers only fields it acts on
    fields = (Field.scalar(1, 1, 0), Field.scalar(1, 2, 1))
    for prefix, offered in (("+ DERIVATIVE SU2 U1 ID3", {"F1"}), ("+ DERIVATIVE ID3", {"F0"})):
        row = _row(compact, _parse_input(compact, fields), prefix, True, 0)
        assert row.processor.grammar.allowed(row.processor.tracker.start) == offered
        out = generate(compact, fields, prefix=prefix, max_new_tokens=12, certified=False)
        assert out.startswith(prefix + " FIELD") and Grammar(fields).first_violation(out) is None
        f, _, _ = parse_field_tokens(out.split(), len(prefix.split()), 0, allow_dagger=True)
        assert charged_groups(f) == prefix.split()[2:-1]
    with pytest.raises(TokenError, match="ends inside a field object"):
        generate(
            compact, HIGGS, prefix="+ FIELD SPIN 0 SU2 2 U1 1", max_new_tokens=5, constrained=False
        )
    # a prefix that ends after a conjugate's DAGGER: the model writes its label next
    conj = "+ FIELD SPIN 0 SU2 2 U1 - 1 DAGGER"
    row = _row(compact, _parse_input(compact, HIGGS), conj, True, 0)
    assert row.processor.grammar.allowed(row.processor.tracker.start) == set(IDS)
    out = generate(compact, HIGGS, prefix=conj, max_new_tokens=3, certified=False)
    assert out.startswith(conj + " ID") and Grammar(HIGGS).first_violation(out) is None
    with pytest.raises(LagnbError, match="prefix token 1 'CONTRACTIONS'"):
        generate(compact, HIGGS, prefix="+ CONTRACTIONS", constrained=True, max_new_tokens=5)


def test_compact_leads_are_one_beam_search(compact, monkeypatch):
    """In the compact spelling a field's lead (``+ F<k> ID0``) and its conjugate's (``+ F<k>
    DAGGER``) are equally long: the search led by each field is one beam search."""
    import lagnb.ml.generate as gen

    calls = []

    def decoded(bundle, rows, width, budget, max_terms, num_return=1):
        calls.append([bundle.tokenizer.convert_ids_to_tokens(r.dec[1:]) for r in rows])
        return [gen.Continuation(r.prefix, "", False) for r in rows for _ in range(num_return)]

    monkeypatch.setattr(gen, "_decode_batch", decoded)
    fields = (Field.scalar(1, 2, 1), Field.left(1, 2, -1), Field.right(1, 1, -2))
    assert gen._led_terms(compact, gen._parse_input(compact, fields), 4) == []
    assert len(calls) == 1
    assert sorted(map(" ".join, calls[0])) == sorted(
        f"+ F{k}{d}" for k in range(3) for d in (" ID0", " DAGGER")
    )


def test_compact_model_autocompletes(compact):
    from lagnb.apps.autocomplete import complete

    partial = lagrangian(HIGGS).term_tokens()[1]
    c = complete(compact, HIGGS, partial, max_terms=2, min_terms=1, max_new_tokens=150)
    assert c.partial == (partial,)
    assert c.suggestions or c.dropped or c.truncated
    assert all(s.check.parses for s in (*c.suggestions, *c.dropped))
    assert not set(c.generated.split()) & set(FIELD_REFS)


def test_compact_model_evaluates(compact, data):
    from lagnb.ml.evaluate import evaluate_examples, input_sensitivity, load_examples
    from lagnb.ml.tokenizer import encode_input, encode_target
    from lagnb.ml.train import collate

    rows = evaluate_examples(compact, [{"input": HIGGS_INPUT}], progress=False, max_new_tokens=60)
    assert len(rows) == 1 and rows["n_malformed"].iloc[0] >= 0
    examples = load_examples(data, ["valid"])
    gap = input_sensitivity(compact, examples)
    # the loss is on compact labels: recomputed by hand here
    tok = compact.tokenizer
    batch = collate(
        [
            {
                "input_ids": encode_input(tok, e["input"]),
                "labels": encode_target(
                    tok, to_model(lagrangian(e["input"]).fields, e["target"], "compact")
                ),
            }
            for e in examples
        ],
        tok.pad_token_id,
    )
    with torch.no_grad():
        assert gap["loss"] == pytest.approx(float(compact.model(**batch).loss), rel=1e-5)


def test_compact_attention_maps(compact):
    from lagnb.ml import attention as att

    lag = lagrangian(HIGGS)
    maps = att.attention_maps(compact, HIGGS, lag.tokens())
    comp = to_model(HIGGS, lag.tokens(), "compact")
    assert maps.output_tokens == (*comp.split(), "[EOS]")
    assert maps.target_format == "compact"
    assert maps.terms == lag.term_tokens()  # BART-L terms
    assert len(maps.term_spans) == len(lag.term_tokens())
    assert att.term_label(HIGGS, maps.terms[1]).startswith("kinetic: ")
    assert att.plot_term_field_attention(maps) is not None
    assert att.plot_cross_attention(maps, terms=[1]) is not None


def test_cli_trains_a_compact_model_and_generates_bart_l(data, tmp_path, capsys):
    from lagnb.cli import main

    out = tmp_path / "cli"
    common = ["--data", str(data), "--out", str(out), "--steps", "2", "--batch-size", "4"]
    rc = main(["train", *common, "--threads", "1", "--target-format", "compact"])
    assert rc == 0 and "finished at step 2" in capsys.readouterr().out
    assert json.loads((out / "config.json").read_text())["lagnb_target_format"] == "compact"
    rc = main(["generate", "--model", str(out), "--raw", "--max-new-tokens", "40", HIGGS_INPUT])
    text = capsys.readouterr().out.strip()
    assert rc == 0 and text.startswith(("+", "-")) and Grammar(HIGGS).first_violation(text) is None


# -- the BART-L models are untouched -----------------------------------------------------------
def test_bart_l_model_output_is_the_raw_decoding(tmp_path):
    """A BART-L-format model's text is what it wrote, token for token (no conversion)."""
    from lagnb.ml.generate import generate
    from lagnb.ml.model import build_model, load_bundle, save_bundle
    from lagnb.ml.tokenizer import build_tokenizer, decode, encode_input

    tok = build_tokenizer()
    save_bundle(tmp_path / "m", build_model("tiny", tok, seed=1, **TINY), tok)
    b = load_bundle(tmp_path / "m")
    assert b.target_format == "bart-l"
    with torch.no_grad():
        raw = b.model.generate(
            input_ids=torch.tensor([encode_input(tok, HIGGS_INPUT)]), max_length=40
        )[0]
    out = generate(b, HIGGS_INPUT, max_new_tokens=39, constrained=False, certified=False)
    assert out == decode(tok, raw.tolist()[1:])


def test_shipped_model_reads_conjugates_inputs_writes_compact_targets_and_answers_in_bart_l():
    from lagnb.ml.generate import generate
    from lagnb.ml.metrics import score_lagrangian
    from lagnb.ml.model import load_bundle
    from lagnb.physics.engine import lagrangian

    b = load_bundle()
    assert b.target_format == "compact" and b.input_format == "conjugates"
    assert len(b.tokenizer) == 95
    assert b.tokenizer.convert_ids_to_tokens(list(range(41))) == list(VOCABULARY)
    g = generate(b, HIGGS_INPUT, details=True)  # the default: constrained and certified
    assert Grammar(HIGGS).accepts(g.raw)  # converted back: BART-L, no field references
    assert set(g.raw.split()) <= set(VOCABULARY)
    # the Higgs doublet: only terms the checker certifies, and here exactly the engine's
    terms = split_terms(g.text)
    assert terms and all(check_term(HIGGS, t).valid for t in terms)
    assert g.finished and g.checked == len(terms) + len(g.dropped)
    assert score_lagrangian(g.text, lagrangian(HIGGS).tokens()).exact


# -- the compact input format ----------------------------------------------------------------------
def test_compact_input_spells_each_field_in_five_tokens():
    """Written out by hand: the SM lepton doublet and the Higgs, and a neutral singlet fermion
    (its zero hypercharge and singlet representations spelled out)."""
    from lagnb.ml.targets import to_model_input

    fields = (Field.left(1, 2, -1), Field.scalar(1, 2, 1), Field.right(1, 1, 0))
    assert to_model_input(fields, "compact") == (
        "[SOS] FIELD LEFT SU3:1 SU2:2 6Y:-6 FIELD SCALAR SU3:1 SU2:2 6Y:6 "
        "FIELD RIGHT SU3:1 SU2:1 6Y:0 [EOS]"
    )
    assert to_model_input((Field.scalar(-3, 3, Fraction(1, 3)),), "compact") == (
        "[SOS] FIELD SCALAR SU3:3b SU2:3 6Y:2 [EOS]"
    )
    assert to_model_input(fields, "bart-l") == fields_tokens(fields)
    # beyond multiples of 1/6 in [-2, 2] the hypercharge keeps its BART-L spelling
    assert to_model_input((Field.scalar(3, 1, Fraction(-5, 7)),), "compact") == (
        "[SOS] FIELD SCALAR SU3:3 SU2:1 U1 - 5 / 7 [EOS]"
    )
    with pytest.raises(LagnbError, match="unknown input format 'short'"):
        to_model_input(fields, "short")


def test_conjugates_input_follows_each_field_with_its_conjugate():
    """Written out by hand: the lepton doublet's conjugate is right-handed with 6Y = +6, a
    colour triplet's is an anti-triplet with the opposite 6Y, a neutral singlet scalar's has
    the same quantum numbers; ten tokens a field."""
    from lagnb.ml.targets import to_model_input
    from lagnb.ml.tokenizer import build_tokenizer, encode_input

    fields = (Field.left(1, 2, -1), Field.scalar(1, 2, 1), Field.left(3, 1, Fraction(4, 3)))
    assert to_model_input(fields, "conjugates") == (
        "[SOS] FIELD LEFT SU3:1 SU2:2 6Y:-6 DAGGER RIGHT SU3:1 SU2:2 6Y:6 "
        "FIELD SCALAR SU3:1 SU2:2 6Y:6 DAGGER SCALAR SU3:1 SU2:2 6Y:-6 "
        "FIELD LEFT SU3:3 SU2:1 6Y:8 DAGGER RIGHT SU3:3b SU2:1 6Y:-8 [EOS]"
    )
    assert to_model_input((Field.scalar(1, 1, 0),), "conjugates") == (
        "[SOS] FIELD SCALAR SU3:1 SU2:1 6Y:0 DAGGER SCALAR SU3:1 SU2:1 6Y:0 [EOS]"
    )
    # the BART-L spelling of an unusual hypercharge is negated too
    assert to_model_input((Field.scalar(3, 1, Fraction(-5, 7)),), "conjugates") == (
        "[SOS] FIELD SCALAR SU3:3 SU2:1 U1 - 5 / 7 DAGGER SCALAR SU3:3b SU2:1 U1 5 / 7 [EOS]"
    )
    tok = build_tokenizer()
    ids = encode_input(tok, fields_tokens(fields), "conjugates")
    assert len(ids) == 2 + 3 * 10 and tok.unk_token_id not in ids


def test_compact_input_tells_every_field_of_the_engine_domain_apart():
    from lagnb.ml.targets import to_model_input
    from lagnb.ml.tokenizer import build_tokenizer, encode_input

    tok = build_tokenizer()
    grid = [
        getattr(Field, kind)(su3, su2, Fraction(n, 6))
        for kind in ("scalar", "left", "right")
        for su3 in (1, 3, -3, 6, -6, 8)
        for su2 in (1, 2, 3, 4)
        for n in range(-12, 13)
    ]
    spellings = {to_model_input((f,), "compact") for f in grid}
    assert len(spellings) == len(grid)
    for f in grid[::7]:
        ids = encode_input(tok, fields_tokens((f,)), "compact")
        assert len(ids) == 7 and tok.unk_token_id not in ids


@pytest.mark.parametrize("fmt", ["compact", "conjugates"])
def test_a_compact_input_model_trains_records_and_generates(data, tmp_path, fmt):
    from lagnb.ml.generate import generate_batch
    from lagnb.ml.model import load_bundle
    from lagnb.ml.train import train

    out = tmp_path / "cin"
    cfg = train_config(data, out, input_format=fmt, term_order="kinetic-first")
    train(cfg, progress=False)
    config = json.loads((out / "config.json").read_text())
    assert config["lagnb_input_format"] == fmt
    assert config["lagnb_term_order"] == "kinetic-first"
    bundle = load_bundle(out)
    assert bundle.input_format == fmt and bundle.target_format == "compact"
    assert bundle.term_order == "kinetic-first"
    outs = generate_batch(bundle, [fields_tokens((Field.scalar(1, 2, 1),))], max_new_tokens=40)
    assert isinstance(outs[0], str)
    # training it further needs the same formats, and says which option to pass
    with pytest.raises(LagnbError, match=f"has input format '{fmt}'; pass --input-format {fmt}"):
        train(train_config(data, tmp_path / "x", init_from=str(out)), progress=False)
    with pytest.raises(LagnbError, match="has term order 'kinetic-first'; pass --term-order kin"):
        cfg = train_config(data, tmp_path / "y", init_from=str(out), input_format=fmt)
        train(cfg, progress=False)
    # a damaged record is named
    config["lagnb_input_format"] = "short"
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(LagnbError, match="records the unknown input format 'short'"):
        load_bundle(out)


def test_kinetic_first_order_moves_the_yukawas_last_and_keeps_the_terms():
    """The SM lepton sector with the Higgs, written out by kind: the engine lists the two
    Yukawas (charged lepton, and its conjugate form) first; kinetic-first puts the three
    kinetic terms, the two gauge kinetic terms, the mass and the quartic before them."""
    from lagnb.ml.targets import ordered_terms
    from lagnb.ml.train import model_target

    lag = lagrangian(CATALOGUE["sm_leptons_higgs"].fields)
    text = lag.tokens()
    kinds = [parse_structure(t).kind for t in split_terms(text)]
    assert kinds[0] == "yukawa"
    moved = ordered_terms(text, "kinetic-first")
    assert [parse_structure(t).kind for t in split_terms(moved)] == [
        "kinetic", "kinetic", "kinetic", "gauge_kinetic", "gauge_kinetic", "mass", "quartic",
        "yukawa", "yukawa",
    ]  # fmt: skip
    assert sorted(split_terms(moved)) == sorted(split_terms(text))
    assert score_lagrangian(moved, text).exact
    assert ordered_terms(text, "engine") == text
    compact = model_target(lag.input_tokens(), text, "compact", "kinetic-first")
    assert from_model(lag.fields, compact, "compact") == moved
    with pytest.raises(LagnbError, match="unknown term order 'random'"):
        ordered_terms(text, "random")
