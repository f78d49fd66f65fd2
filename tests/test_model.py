"""The BART-L model: sizes, atomic save/load, the public checkpoint layout, damaged model
folders and checkpoints, generation (greedy, beam, constrained, batched)."""

import json
import re
import shutil

import pytest
import torch
from model_helpers import FIELD_LISTS, TINY, tiny_train_config, write_dataset

from lagnb.errors import FieldError, LagnbError, TokenError
from lagnb.ml.generate import generate, generate_batch, prediction_json
from lagnb.ml.model import (
    SIZES,
    bart_config,
    build_model,
    count_parameters,
    load_bundle,
    save_bundle,
    shipped_model_path,
)
from lagnb.ml.tokenizer import build_tokenizer, decode, encode_input
from lagnb.physics.check import check_term
from lagnb.physics.grammar import Grammar
from lagnb.physics.tokens import FIELD_REFS, VOCABULARY, split_terms

HIGGS = "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    """An untrained tiny model over the 57-token vocabulary of the BART-L and compact-target
    formats (the junk it writes, which the CLI tests below rely on, depends on its shape)."""
    path = tmp_path_factory.mktemp("bundle") / "model"
    tok57 = build_tokenizer(VOCABULARY + FIELD_REFS)
    model = build_model("tiny", tok57, seed=0, **TINY)
    save_bundle(path, model, tok57)
    return path


def test_large_size_is_the_paper_shape(tok):
    # the paper's vocabulary is BART-L's 41 tokens; lagnb's adds the 16 field references and
    # the 38 words of the compact input format
    assert bart_config("large", tok).vocab_size == 41 + 16 + 38
    cfg = bart_config("large", build_tokenizer(VOCABULARY))
    assert (cfg.encoder_layers, cfg.decoder_layers, cfg.d_model) == (12, 12, 1024)
    assert (cfg.encoder_attention_heads, cfg.encoder_ffn_dim) == (16, 4096)
    assert cfg.max_position_embeddings == 2048 and cfg.vocab_size == 41
    # parameter count without allocating the 357M model: embeddings + layers
    d, f, v, p = 1024, 4096, 41, 2048
    enc = 4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d
    dec = enc + 4 * d * d + 4 * d + 2 * d
    total = v * d + 2 * (p + 2) * d + 12 * (enc + dec) + 4 * d + v
    assert 350e6 < total < 360e6


def test_unknown_size(tok):
    with pytest.raises(LagnbError, match="unknown model size 'huge'; choose one of tiny, small"):
        build_model("huge", tok)


def test_size_is_the_train_option_and_preset_its_old_name(capsys):
    from lagnb.cli import build_parser
    from lagnb.ml.train import TrainConfig, check_resumable

    args = ["train", "--data", "d", "--out", "o"]
    assert build_parser("train").parse_args([*args, "--size", "small"]).size == "small"
    assert build_parser("train").parse_args(args).size == "tiny"
    assert build_parser("train").parse_args([*args, "--preset", "base"]).size == "base"
    assert "--preset is deprecated, use --size" in capsys.readouterr().err
    # a checkpoint written when the option was called preset still guards its run
    with pytest.raises(LagnbError, match="size: 'small' -> 'tiny'"):
        check_resumable({"preset": "small"}, TrainConfig(data="d", out="o", size="tiny"))
    check_resumable({"preset": "tiny"}, TrainConfig(data="d", out="o", size="tiny"))


def test_target_format_is_a_train_option(capsys):
    from lagnb.cli import build_parser

    args = ["train", "--data", "d", "--out", "o"]
    parser = build_parser("train")
    assert parser.parse_args(args).target_format == "bart-l"
    assert parser.parse_args([*args, "--target-format", "compact"]).target_format == "compact"
    with pytest.raises(LagnbError, match="--target-format: invalid choice: 'short'"):
        parser.parse_args([*args, "--target-format", "short"])
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--help"])
    assert "--target-format {bart-l,compact}" in capsys.readouterr().out


def test_shape_overrides_change_the_shape_they_name(tok):
    from lagnb.ml.model import shape_overrides

    over = shape_overrides("tiny", {"d_model": 96, "layers": 1, "heads": 3})
    cfg = build_model("tiny", tok, **over).config
    assert (cfg.d_model, cfg.encoder_layers, cfg.decoder_layers) == (96, 1, 1)
    assert (cfg.encoder_attention_heads, cfg.decoder_attention_heads) == (3, 3)
    assert (cfg.encoder_ffn_dim, cfg.max_position_embeddings) == (256, 1024)  # tiny's own
    assert shape_overrides("small", {}) == {}
    for shape, needle in [
        ({"d_modle": 96}, "unknown entry 'd_modle' (use layers, d_model"),
        ({"ffn": 0}, "ffn must be a positive integer, got 0"),
        ({"heads": 5}, "d_model 64 is not a multiple of heads 5"),
    ]:
        with pytest.raises(LagnbError, match=re.escape(needle)):
            shape_overrides("tiny", shape)


def test_train_shape_option(capsys):
    from lagnb.cli import build_parser, main

    args = ["train", "--data", "d", "--out", "o"]
    parsed = build_parser("train").parse_args(
        [*args, "--shape", "d_model=256", "--shape", "layers=4"]
    )
    assert parsed.shape == [("d_model", 256), ("layers", 4)]
    assert main([*args, "--shape", "d_model=x"]) == 2
    assert "expected ENTRY=INTEGER (e.g. d_model=256), got 'd_model=x'" in capsys.readouterr().err
    assert main([*args, "--shape", "depth=4"]) == 2
    assert "model shape: unknown entry 'depth'" in capsys.readouterr().err


def test_tiny_size_and_seed(tok):
    a = build_model("tiny", tok, seed=1)
    b = build_model("tiny", tok, seed=1)
    assert count_parameters(a) < 1_000_000
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert a.generation_config.decoder_start_token_id == tok.bos_token_id
    assert set(SIZES) == {"tiny", "small", "base", "large"}


def test_save_load_round_trip(bundle_dir, tok):
    b = load_bundle(bundle_dir)
    again = build_model("tiny", b.tokenizer, seed=0, **TINY)
    for (n, x), (_, y) in zip(b.model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(x, y), n
    assert not b.model.training
    assert b.max_positions == 512
    assert b.model.generation_config.eos_token_id == tok.eos_token_id
    assert not any(p.name.startswith(".") for p in bundle_dir.parent.iterdir())


def test_save_replaces_atomically(tmp_path, tok):
    m = build_model("tiny", tok, seed=0, **TINY)
    save_bundle(tmp_path / "m", m, tok)
    save_bundle(tmp_path / "m", m, tok, extra_files={"README.md": "hi"})
    assert (tmp_path / "m" / "README.md").read_text() == "hi"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_missing_model_folder(tmp_path):
    with pytest.raises(LagnbError, match="no model at"):
        load_bundle(tmp_path / "nope")


def test_eager_attention_returns_weights(bundle_dir):
    b = load_bundle(bundle_dir, attn_implementation="eager")
    ids = torch.tensor([[1, 28, 29, 8, 2]])
    out = b.model(input_ids=ids, decoder_input_ids=ids[:, :3], output_attentions=True)
    assert out.encoder_attentions[0].shape == (1, 2, 5, 5)
    assert out.cross_attentions[0].shape == (1, 2, 3, 5)


@torch.no_grad()
def greedy_by_hand(b, text: str, n: int) -> str:
    """Greedy decoding written out: the arg-max token of one forward pass per step."""
    enc = torch.tensor([encode_input(b.tokenizer, text)])
    dec = [b.model.config.decoder_start_token_id]
    for _ in range(n):
        logits = b.model(input_ids=enc, decoder_input_ids=torch.tensor([dec])).logits
        dec.append(int(logits[0, -1].argmax()))
        if dec[-1] == b.tokenizer.eos_token_id:
            break
    return decode(b.tokenizer, dec)


def test_generate_forms(bundle_dir):
    b = load_bundle(bundle_dir)
    out = generate(b, HIGGS, max_new_tokens=12, constrained=False, certified=False)
    assert out == greedy_by_hand(b, HIGGS, 12)
    assert "[EOS]" not in out and "[SOS]" not in out
    # same input as Field objects, compact numbers, and in a batch
    from lagnb.physics.fields import parse_fields

    raw = dict(constrained=False, certified=False)
    assert generate(b, parse_fields(HIGGS), max_new_tokens=12, **raw) == out
    assert generate_batch(b, [HIGGS, "FIELD SPIN 1/2 HEL -1/2"], max_new_tokens=12, **raw)[0] == out
    # beam search: transformers' own beam search on the bare model, not greedy's answer
    beam = generate(b, HIGGS, max_new_tokens=12, num_beams=2, **raw)
    enc = torch.tensor([encode_input(b.tokenizer, HIGGS)])
    ref = b.model.generate(input_ids=enc, num_beams=2, max_length=13, do_sample=False)
    assert beam == decode(b.tokenizer, ref[0].tolist()) != out


def test_constrained_batch_is_each_inputs_own_grammar(bundle_dir):
    """Field lists decoded together: each row is masked by its own field list's grammar (the
    three lists share no gauge group, so no output fits another list), and gets what it gets
    alone; the term limit stops each row on its own."""
    from lagnb.ml.generate import continuations

    b = load_bundle(bundle_dir)
    inputs = ["FIELD SPIN 0 SU2 2", "FIELD SPIN 1/2 SU3 3 HEL 1/2", "FIELD SPIN 1/2 U1 2 HEL -1/2"]
    for beams in (1, 2):
        kw = dict(constrained=True, certified=False, max_new_tokens=40, num_beams=beams)
        together = generate_batch(b, inputs, **kw)
        alone = [generate(b, x, **kw) for x in inputs]
        assert together == alone
        for x, out in zip(inputs, together):
            assert [Grammar(y).first_violation(out.split()) is None for y in inputs] == [
                y == x for y in inputs
            ]
        # at least three terms, but stop after two: two terms and the third's sign
        kw = dict(constrained=True, min_terms=3, max_terms=2, num_beams=beams)
        limited = continuations(b, inputs, **kw)
        assert limited == [continuations(b, [x], **kw)[0] for x in inputs]
        for x, c in zip(inputs, limited):
            g = Grammar(x)
            assert not c.finished and c.text.split()[-1] in ("+", "-")
            assert g.feed(c.text.split()[:-1]).terms == 2 and g.feed(c.text.split()).terms == 3


def test_certified_by_default(bundle_dir):
    """An untrained model writes garbage: by default (grammar-constrained, certified) every
    returned term passes the term checker, the dropped ones come with the checker's reason, and
    the raw text is what the model wrote; with neither, the raw greedy output is returned."""
    b = load_bundle(bundle_dir)
    inputs = [HIGGS, *FIELD_LISTS]
    raw = dict(constrained=False, certified=False)
    plain = dict(alternatives=0)  # rejected terms dropped, not replaced (tested below)
    for kw, raw_kw in ((plain, dict(certified=False)), (dict(constrained=False), raw)):
        texts = generate_batch(b, inputs, max_new_tokens=60, **kw)
        gens = generate_batch(b, inputs, max_new_tokens=60, details=True, **kw)
        assert texts == [g.text for g in gens]
        assert [g.raw for g in gens] == generate_batch(b, inputs, max_new_tokens=60, **raw_kw)
        assert sum(len(g.dropped) for g in gens) > 0  # garbage was dropped
        for x, g in zip(inputs, gens):
            kept, written = split_terms(g.text), split_terms(g.raw)
            assert all(check_term(x, t).valid for t in kept)
            for d in g.dropped:
                c = check_term(x, d.tokens)
                assert not c.valid and d.reason == c.reasons[0] and d.status == c.status
            # kept and dropped terms are the written terms, in order, nothing else
            assert len(kept) + len(g.dropped) == len(written) == g.checked
            assert [t for t in written if check_term(x, t).valid] == kept
            assert g.raw_validity == pytest.approx(len(kept) / len(written)) if written else True
    assert generate(b, HIGGS, max_new_tokens=12, **raw) == greedy_by_hand(b, HIGGS, 12)
    unconstrained = generate(b, HIGGS, max_new_tokens=60, details=True, constrained=False)
    assert any(d.status == "malformed" for d in unconstrained.dropped)
    assert unconstrained.text == ""  # the untrained model's unconstrained output: all junk


def test_certified_output_keeps_the_prefix(bundle_dir):
    """The user's forced prefix is never checked or dropped, even ending inside a term (the
    term it starts is checked whole, and only its generated tokens may go)."""
    b = load_bundle(bundle_dir)
    mass = "- FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID1"
    bad = "+ FIELD SPIN 0 SU2 2 U1 1 ID0 CONTRACTIONS"  # hypercharge 1: not invariant
    for prefix in (mass, bad + " " + mass):
        g = generate(b, HIGGS, prefix=prefix, max_new_tokens=40, details=True)
        assert g.text.startswith(prefix) and g.raw.startswith(prefix)
        new = split_terms(g.text)[len(split_terms(prefix)) :]
        assert all(check_term(HIGGS, t).valid for t in new)
        assert bad not in [d.tokens for d in g.dropped]  # the user's own term is not judged
        assert g.dropped and split_terms(g.raw)[len(split_terms(prefix)) - 1].startswith(mass)


def test_alternatives_without_a_certified_one_drop_as_before(bundle_dir):
    """An untrained model's alternatives are garbage too: nothing is replaced or added, and the
    output, the raw text and its validity are those of plain certification."""
    b = load_bundle(bundle_dir)
    inputs = [HIGGS, *FIELD_LISTS]
    plain = generate_batch(b, inputs, max_new_tokens=60, details=True, alternatives=0)
    tried = generate_batch(b, inputs, max_new_tokens=60, details=True, alternatives=3)
    assert sum(g.rejected for g in tried) > 0
    for p, g in zip(plain, tried):
        assert g.replaced == () == g.added
        assert (g.text, g.raw, g.dropped) == (p.text, p.raw, p.dropped)
        assert (g.checked, g.rejected, g.finished) == (p.checked, p.rejected, p.finished)
    with pytest.raises(LagnbError, match="alternatives must be 0 or more"):
        generate(b, HIGGS, alternatives=-1)


LEPTONS = (
    "[SOS] "
    + " ".join(
        (
            "FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2",  # L
            "FIELD SPIN 1 / 2 U1 2 HEL - 1 / 2",  # the left-handed positron e^c
            "FIELD SPIN 0 SU2 2 U1 1",  # H
        )
    )
    + " [EOS]"
)


def test_a_rejected_term_is_replaced_by_an_alternative_of_the_same_fields_first(
    bundle_dir, monkeypatch
):
    """The choice among the model's alternatives (stubbed here, best first) for the Yukawa term
    L e^c H, rejected (hypercharges -1 + 2 + 1): the certified L e^c H† even when the model
    ranks the Higgs quartic above it; else the best certified term not already written; else
    none (the term is dropped)."""
    import lagnb.ml.generate as gen

    b = load_bundle(bundle_dir)
    higgs = "FIELD SPIN 0 SU2 2 U1 1"
    higgs_bar = "FIELD SPIN 0 SU2 2 U1 - 1 DAGGER"
    lepton = "FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 ID0 FIELD SPIN 1 / 2 U1 2 HEL - 1 / 2 ID1"
    mass = f"+ {higgs} ID0 {higgs_bar} ID1 CONTRACTIONS SU2 ID1 ID0"
    quartic = (
        f"+ {higgs} ID0 {higgs} ID1 {higgs_bar} ID2 {higgs_bar} ID3 "
        "CONTRACTIONS SU2 ID2 ID0 SU2 ID3 ID1"
    )
    wrong = f"+ {lepton} {higgs} ID2 CONTRACTIONS LORENTZ ID0 ID1 SU2 ID0 ID2"
    yukawa = f"+ {lepton} {higgs_bar} ID2 CONTRACTIONS LORENTZ ID0 ID1 SU2 ID2 ID0"
    assert not check_term(LEPTONS, wrong).valid
    assert all(check_term(LEPTONS, t).valid for t in (mass, quartic, yukawa))
    first = gen.Continuation("", f"{mass} {wrong}", True)
    parsed = gen._parse_input(b, LEPTONS)
    for offered, kept in (
        ([quartic, wrong, yukawa], yukawa),
        ([mass, quartic], quartic),  # the mass term is written already
        ([mass, wrong], None),
    ):
        monkeypatch.setattr(gen, "_alternatives", lambda *a, offered=offered: offered)
        # a budget of one token: no room to write on after the replacement
        g = gen._with_alternatives(b, parsed, first, 3, 1, max_new_tokens=1)
        assert g.raw == first.full and (g.checked, g.rejected) == (2, 1)
        if kept is None:
            assert g.text == mass and [d.tokens for d in g.dropped] == [wrong] and not g.replaced
        else:
            assert g.text == f"{mass} {kept}" and g.dropped == ()
            assert [(d.tokens, t) for d, t in g.replaced] == [(wrong, kept)]


def test_a_repeated_term_is_replaced_in_place_by_another_of_its_fields_or_dropped(
    bundle_dir, monkeypatch
):
    """Two doublets H and Φ (hypercharges 1 and 3) have two independent quartics H H† Φ Φ†
    (the SU(2) indices paired within or across the doublets).  The model (stubbed) writes the
    first twice: the second is no new term, so it is replaced by the model's best alternative
    (stubbed, best first) made of the same fields that is an engine term not written — the
    other contraction — and the rest of the output stands (nothing is decoded again); with no
    such alternative (another field's term does not count) it is dropped."""
    import lagnb.ml.generate as gen
    from lagnb.physics.check import REPEAT_REASON

    b = load_bundle(bundle_dir)
    h, h_bar = "FIELD SPIN 0 SU2 2 U1 1", "FIELD SPIN 0 SU2 2 U1 - 1 DAGGER"
    p, p_bar = "FIELD SPIN 0 SU2 2 U1 3", "FIELD SPIN 0 SU2 2 U1 - 3 DAGGER"
    fields = f"[SOS] {h} {p} [EOS]"
    objects = f"{h} ID0 {h_bar} ID1 {p} ID2 {p_bar} ID3 CONTRACTIONS"
    within = f"+ {objects} SU2 ID1 ID0 SU2 ID3 ID2"
    across = f"+ {objects} SU2 ID1 ID2 SU2 ID3 ID0"
    mass_h = f"+ {h} ID0 {h_bar} ID1 CONTRACTIONS SU2 ID1 ID0"
    mass_p = f"+ {p} ID0 {p_bar} ID1 CONTRACTIONS SU2 ID1 ID0"
    keys = [check_term(fields, t).engine_term for t in (within, across, mass_h, mass_p)]
    assert None not in keys and len(set(keys)) == 4
    first = gen.Continuation("", f"{within} {within} {mass_h}", True)
    parsed = gen._parse_input(b, fields)

    def no_decoding(*a, **kw):
        raise AssertionError("the rest of the output is not written again")

    monkeypatch.setattr(gen, "_decode_batch", no_decoding)
    for offered, kept in (([mass_p, within, across], across), ([mass_p, within], None)):
        monkeypatch.setattr(gen, "_alternatives", lambda *a, offered=offered: offered)
        g = gen._with_alternatives(b, parsed, first, 3, 1, max_new_tokens=None)
        assert g.raw == first.full and (g.checked, g.rejected) == (3, 1)
        if kept is None:
            assert g.text == f"{within} {mass_h}" and not g.replaced
            assert [(d.tokens, d.reason) for d in g.dropped] == [(within, REPEAT_REASON)]
        else:
            assert g.text == f"{within} {across} {mass_h}" and g.dropped == ()
            assert [(d.tokens, t) for d, t in g.replaced] == [(within, across)]
    assert gen.certify_continuation(parsed[1], first).text == f"{within} {mass_h}"


def test_a_rejected_first_term_and_the_first_round_share_one_search(bundle_dir, monkeypatch):
    """Certified generation searches after no terms once: for the alternatives of a rejected
    first term and for the model's best first terms (the same beam search)."""
    import lagnb.ml.generate as gen

    b = load_bundle(bundle_dir)
    higgs = "FIELD SPIN 0 SU2 2 U1 1"
    higgs_bar = "FIELD SPIN 0 SU2 2 U1 - 1 DAGGER"
    lepton = "FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 ID0 FIELD SPIN 1 / 2 U1 2 HEL - 1 / 2 ID1"
    quartic = (
        f"+ {higgs} ID0 {higgs} ID1 {higgs_bar} ID2 {higgs_bar} ID3 "
        "CONTRACTIONS SU2 ID2 ID0 SU2 ID3 ID1"
    )
    wrong = f"+ {lepton} {higgs} ID2 CONTRACTIONS LORENTZ ID0 ID1 SU2 ID0 ID2"
    yukawa = f"+ {lepton} {higgs_bar} ID2 CONTRACTIONS LORENTZ ID0 ID1 SU2 ID2 ID0"
    contexts = []

    def searched(bundle, parsed, context, width):
        contexts.append(list(context))
        return [] if context else [quartic, wrong, yukawa]

    def continued(bundle, inputs, prefixes, **kw):
        return [gen.Continuation("", wrong, True) for _ in inputs]

    monkeypatch.setattr(gen, "_continuations", continued)
    monkeypatch.setattr(gen, "_search_after", searched)
    monkeypatch.setattr(gen, "_led_terms", lambda *a: [])
    (g,) = gen.generate_batch(b, [LEPTONS], max_new_tokens=1, alternatives=3, details=True)
    assert [(d.tokens, t) for d, t in g.replaced] == [(wrong, yukawa)]
    assert g.added == (quartic,) and g.text == f"{quartic} {yukawa}"
    assert contexts == [[], [quartic]]  # not [[], [], [quartic]]


def test_certified_first_terms_the_output_lacks_are_added_first(bundle_dir, monkeypatch):
    """Of the model's alternatives for its first term (stubbed here, best first), those the
    checker certifies as engine terms that the output lacks — not the same engine term in other
    words, not a valid term the checker names no engine term for — are added before the output,
    best first; then the model's alternatives after the terms added, until none is added; then,
    once, its first terms led by each field (stubbed), and after a new one, rounds again."""
    import lagnb.ml.generate as gen

    b = load_bundle(bundle_dir)
    higgs, higgs_bar = "FIELD SPIN 0 SU2 2 U1 1", "FIELD SPIN 0 SU2 2 U1 - 1 DAGGER"
    lepton = "FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 ID0 FIELD SPIN 1 / 2 U1 2 HEL - 1 / 2 ID1"
    mass = f"+ {higgs} ID0 {higgs_bar} ID1 CONTRACTIONS SU2 ID1 ID0"
    mass_relabelled = f"+ {higgs_bar} ID0 {higgs} ID1 CONTRACTIONS SU2 ID0 ID1"
    quartic = (
        f"+ {higgs} ID0 {higgs} ID1 {higgs_bar} ID2 {higgs_bar} ID3 "
        "CONTRACTIONS SU2 ID2 ID0 SU2 ID3 ID1"
    )
    wrong = f"+ {lepton} {higgs} ID2 CONTRACTIONS LORENTZ ID0 ID1 SU2 ID0 ID2"
    yukawa = f"+ {lepton} {higgs_bar} ID2 CONTRACTIONS LORENTZ ID0 ID1 SU2 ID2 ID0"
    implicit = (  # L's kinetic term with its spinor indices left implicit: valid, no engine term
        "+ i FIELD SPIN 1 / 2 SU2 2 U1 1 HEL 1 / 2 DAGGER ID0 SIGMA_BAR ID1 DERIVATIVE SU2 U1 ID2 "
        "FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 ID3 CONTRACTIONS LORENTZ ID1 ID2 SU2 ID0 ID3"
    )
    assert check_term(LEPTONS, mass_relabelled).match == check_term(LEPTONS, mass).match
    assert check_term(LEPTONS, implicit).valid and check_term(LEPTONS, implicit).match is None
    parsed = gen._parse_input(b, LEPTONS)
    written = gen.Generated(mass, True, mass, checked=1)
    yukawa_hc = (
        "+ FIELD SPIN 1 / 2 SU2 2 U1 1 HEL 1 / 2 DAGGER ID0 FIELD SPIN 1 / 2 U1 - 2 HEL 1 / 2 "
        f"DAGGER ID1 {higgs} ID2 CONTRACTIONS LORENTZ ID0 ID1 SU2 ID0 ID2"
    )
    hc = check_term(LEPTONS, yukawa_hc).engine_term
    assert hc is not None and hc != check_term(LEPTONS, yukawa).engine_term
    rounds = {  # the stub's alternatives after 0, 1, 2 and 3 added terms
        0: [wrong, mass_relabelled, implicit, yukawa, yukawa],
        1: [yukawa, quartic, mass],
        2: [quartic, wrong, yukawa],
        3: [mass, yukawa_hc],
    }
    contexts, leads = [], []

    def offered(bundle, parsed, context, width):
        contexts.append(list(context))
        return rounds[len(context)]

    def led(bundle, parsed, width):
        leads.append(width)
        return [wrong, quartic, yukawa_hc, implicit]

    monkeypatch.setattr(gen, "_search_after", offered)
    monkeypatch.setattr(gen, "_led_terms", led)
    g = gen._with_first_terms(b, parsed, written, 5)
    assert g.added == (yukawa, quartic, yukawa_hc)
    assert g.text == f"{yukawa} {quartic} {yukawa_hc} {mass}"
    # the third round adds nothing, the led terms add one, the round after it nothing
    assert contexts == [[], [yukawa], [yukawa, quartic], [yukawa, quartic, yukawa_hc]]
    assert leads == [5]  # once
    assert (g.raw, g.checked, g.dropped) == (mass, 1, ())
    monkeypatch.setattr(gen, "_alternatives", lambda *a: [wrong, mass_relabelled])
    monkeypatch.setattr(gen, "_led_terms", lambda *a: [mass_relabelled, implicit])
    assert gen._with_first_terms(b, parsed, written, 5) == written


def test_led_terms_begin_with_each_field_and_its_conjugate(bundle_dir, monkeypatch):
    """The search led by each field decodes, in one beam search of the given width per prefix
    length (one in all in the compact spelling: see test_targets), one term after each field
    object (and its label) and after each one's conjugate (before its label: the model writes
    it), a flavour repeated leading once, and returns the complete terms, lead by lead, best
    first."""
    import lagnb.ml.generate as gen
    from lagnb.physics.fields import Field

    b = load_bundle(bundle_dir)
    fields = [Field.scalar(su2=2, y=1, name=f"H_{k}") for k in (1, 2)] + [Field.scalar(su3=3)]
    parsed = gen._parse_input(b, fields)
    higgs, colour = "FIELD SPIN 0 SU2 2 U1 1", "FIELD SPIN 0 SU3 3"
    leads = [f"+ {f} ID0" for f in (higgs, colour)]
    leads += [f"+ {f} DAGGER" for f in ("FIELD SPIN 0 SU2 2 U1 - 1", "FIELD SPIN 0 SU3 - 3")]
    written = {
        leads[0]: "FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID1 CONTRACTIONS SU2 ID1 ID0",
        leads[1]: "FIELD SPIN 0 SU3 - 3 DAGGER ID1 CONTRACTIONS SU3 ID1 ID0",
        leads[2]: f"ID0 {higgs} ID1 CONTRACTIONS SU2 ID0 ID1",
    }
    calls = []

    def decoded(bundle, rows, width, budget, max_terms, num_return=1):
        calls.append(([r.prefix for r in rows], {len(r.dec) for r in rows}, width, num_return))
        out = []
        for r in rows:  # a mass term after three leads, nothing complete after the fourth
            term = written.get(r.prefix)
            out += [gen.Continuation(r.prefix, term or "", term is not None)]
            out += [gen.Continuation(r.prefix, "", False)] * (width - 1)
        return out

    monkeypatch.setattr(gen, "_decode_batch", decoded)
    terms = gen._led_terms(b, parsed, 3)
    assert sorted(p for c in calls for p in c[0]) == sorted(leads)
    lengths = [c[1] for c in calls]  # one beam search per decoder prefix length
    assert all(len(n) == 1 for n in lengths) and len(set(map(min, lengths))) == len(calls)
    assert {c[2:] for c in calls} == {(3, 3)}
    assert sorted(terms) == sorted(f"{lead} {written[lead]}" for lead in leads[:3])


def test_other_orders_are_distinct_field_lists_and_seeded():
    from lagnb.ml.generate import other_orders
    from lagnb.physics.fields import Field

    h, lep, e = Field.scalar(1, 2, 1), Field.left(1, 2, -1), Field.right(1, 1, -2)
    fs = (h, lep, e)
    orders = other_orders(fs, 10)
    assert len(orders) == 5 and fs not in orders  # 3! - 1: every other order, once
    assert orders[0] == (e, lep, h)  # reversed first: every pair the other way round
    assert sorted(map(sorted, (map(repr, o) for o in orders))) == [sorted(map(repr, fs))] * 5
    assert other_orders(fs, 10) == orders and other_orders(fs, 2) == orders[:2]
    assert other_orders((h, h), 4) == [] and len(other_orders((h, h, lep), 4)) == 2
    assert other_orders((h, lep, h), 1) != [(h, lep, h)]  # a palindrome's reverse is itself


def test_longer_field_lists_are_written_in_more_orders_by_default(bundle_dir, monkeypatch):
    """By default a list of up to three fields is decoded in its given order only, a list of
    four or more in four orders (three others); an explicit ``orders`` wins."""
    import lagnb.ml.generate as gen
    from lagnb.physics.engine import as_fields
    from lagnb.physics.fields import Field

    asked = []
    real = gen.other_orders

    def recording(fs, n):
        asked.append((len(fs), n))
        return real(fs, n)

    monkeypatch.setattr(gen, "other_orders", recording)
    b = load_bundle(bundle_dir)
    three = as_fields(LEPTONS)
    four = (*three, Field.scalar(1, 1, 0))  # a singlet scalar S
    assert [gen.default_orders(n) for n in (1, 2, 3, 4, 7)] == [1, 1, 1, 4, 4]
    generate(b, three, max_new_tokens=8)
    assert asked == [(3, 0)]
    generate(b, four, max_new_tokens=8)
    assert asked[1:] == [(4, 3), (4, 0), (4, 0), (4, 0)]  # the other three decoded once each
    asked.clear()
    generate(b, four, max_new_tokens=8, orders=1)
    generate(b, three, max_new_tokens=8, orders=2)
    assert asked == [(4, 0), (3, 1), (3, 0)]


def test_terms_of_other_orders_the_output_lacks_are_added_last(bundle_dir):
    """Of the outputs for other orders of the fields, the terms the checker certifies as engine
    terms the output lacks are added at its end, first found first: not an invalid term, not
    the same engine term written with its objects relabelled, not one of another order's
    output twice."""
    import lagnb.ml.generate as gen
    from lagnb.physics.engine import as_fields

    higgs, higgs_bar = "FIELD SPIN 0 SU2 2 U1 1", "FIELD SPIN 0 SU2 2 U1 - 1 DAGGER"
    lepton = "FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 ID0 FIELD SPIN 1 / 2 U1 2 HEL - 1 / 2 ID1"
    mass = f"+ {higgs} ID0 {higgs_bar} ID1 CONTRACTIONS SU2 ID1 ID0"
    mass_relabelled = f"+ {higgs_bar} ID0 {higgs} ID1 CONTRACTIONS SU2 ID0 ID1"
    wrong = f"+ {lepton} {higgs} ID2 CONTRACTIONS LORENTZ ID0 ID1 SU2 ID0 ID2"
    yukawa = f"+ {lepton} {higgs_bar} ID2 CONTRACTIONS LORENTZ ID0 ID1 SU2 ID2 ID0"
    fs = as_fields(LEPTONS)
    g = gen.Generated(mass, True, mass, checked=1)
    others = [f"{wrong} {mass_relabelled}", f"{yukawa} {mass}", yukawa]
    out = gen._with_terms_of(fs, g, others)
    assert out.from_orders == (yukawa,) and out.text == f"{mass} {yukawa}"
    assert (out.raw, out.added, out.dropped) == (mass, (), ())
    assert gen._with_terms_of(fs, g, [wrong, mass_relabelled]) == g
    # two identical doublets have no other order: the same output
    b, two = load_bundle(bundle_dir), HIGGS.replace("[EOS]", "FIELD SPIN 0 SU2 2 U1 1 [EOS]")
    assert generate(b, two, orders=3, max_new_tokens=30) == generate(b, two, max_new_tokens=30)


def test_shipped_model_writes_sm_and_s1_exactly_by_default(capsys):
    """The Lagrangian does not depend on the order of the fields; the shipped model's output
    does.  For the SM with the leptoquark S1 its certified output in the given order misses
    engine terms (leptoquark Yukawas); by default a list of seven fields is written in three
    more orders too, and the terms those outputs hold and it lacks make the Lagrangian the
    engine's, term for term; the CLI says how many were added."""
    from lagnb.cli import main
    from lagnb.ml.metrics import score_lagrangian
    from lagnb.physics import catalogue
    from lagnb.physics.engine import lagrangian
    from lagnb.physics.fields import fields_tokens

    b = load_bundle()
    text = fields_tokens(catalogue.get("sm_leptoquark_s1").fields)
    true = lagrangian(text).tokens()
    one = generate(b, text, details=True, orders=1)
    g = generate(b, text, details=True)
    assert not score_lagrangian(one.text, true).exact and one.from_orders == ()
    assert score_lagrangian(g.text, true).exact and len(split_terms(true)) == 29
    assert g.text == " ".join([one.text, *g.from_orders]) and len(g.from_orders) >= 2
    assert all(check_term(text, t).valid for t in g.from_orders)
    assert (g.raw, g.added, g.replaced) == (one.raw, one.added, one.replaced)
    assert main(["generate", text]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == g.text
    n = len(g.from_orders)
    assert (
        f"{n} certified terms from the model's outputs for other orders of the fields were " in err
    )
    with pytest.raises(LagnbError, match=r"orders must be 1 or more .*got 0"):
        generate(b, text, orders=0)


def test_shipped_model_writes_the_sm_with_the_first_terms_each_field_leads():
    """The shipped model's best first terms for one generation of the SM begin with Q (the
    quark Yukawas): the electron's Yukawa L e† H† and its conjugate are not among its 16 best,
    but among its best first terms that begin with L and with L†; with that search, part of
    certified generation, the SM comes out exactly, term for term."""
    import lagnb.ml.generate as gen
    from lagnb.ml.metrics import score_lagrangian
    from lagnb.physics import catalogue
    from lagnb.physics.check import certify_terms
    from lagnb.physics.engine import lagrangian

    b = load_bundle()
    fs = tuple(catalogue.get("sm").fields)
    assert [f.name for f in fs] == ["Q", "u", "d", "L", "e", "H"]
    parsed = gen._parse_input(b, fs)
    true = lagrangian(fs).tokens()
    checks = certify_terms(fs, split_terms(true)).checks
    electron = {ch.engine_term for ch in checks if gen._fields_of(ch) == (3, 4, 5)}
    assert len(electron) == 2 and None not in electron

    def engine_terms(terms):
        return {ch.engine_term for ch in certify_terms(fs, terms).checks}

    assert not electron & engine_terms(gen._alternatives(b, parsed, [], 16))
    assert electron <= engine_terms(gen._led_terms(b, parsed, 16))
    assert score_lagrangian(generate(b, fs), true).exact


def test_shipped_model_generates_for_a_real_scalar():
    """A real scalar is written in BART-L without its reality: the searches, which convert
    their forced first terms to the model's spelling, find it in the field list all the same
    (every term returned certified)."""
    from lagnb.physics.fields import Field

    b = load_bundle()
    fields = [Field.scalar(name="S", real=True), Field.left(1, 2, -1)]
    g = generate(b, fields, details=True)
    terms = split_terms(g.text)
    assert terms and all(check_term(fields, t).valid for t in terms)


# the type-II seesaw: a scalar triplet of hypercharge -1 and the lepton doublet (a held-out
# content; its Yukawa couples the triplet to two lepton doublets)
SEESAW = "[SOS] FIELD SPIN 0 SU2 3 U1 - 2 FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 [EOS]"


def test_shipped_model_finds_the_seesaw_yukawa_among_its_first_terms(capsys):
    """The shipped model's own output for the type-II seesaw leaves out the Yukawa coupling
    Δ† L L and its conjugate (the engine's Lagrangian has them); both are among the model's 8
    best first terms, so by default they are added and the Lagrangian is the engine's, term
    for term; the CLI says so."""
    from lagnb.cli import main
    from lagnb.ml.metrics import score_lagrangian
    from lagnb.physics.engine import lagrangian

    b = load_bundle()
    true = lagrangian(SEESAW)
    yukawas = [t for t in split_terms(true.tokens()) if check_term(SEESAW, t).term.kind == "yukawa"]
    plain = generate(b, SEESAW, details=True, alternatives=0)
    g = generate(b, SEESAW, details=True)
    assert len(yukawas) == 2 and not any(t in split_terms(plain.text) for t in yukawas)
    assert score_lagrangian(g.text, true.tokens()).exact
    assert not score_lagrangian(plain.text, true.tokens()).exact
    assert sorted(g.added) == sorted(yukawas) and g.raw == plain.raw
    assert main(["generate", SEESAW]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == g.text
    assert err.splitlines() == [
        "lagnb generate: 2 certified terms from the model's alternatives for its first terms "
        "were added (--alternatives 0 adds none)"
    ]


def test_shipped_model_writes_the_lepton_sector_exactly_with_its_alternatives():
    """The lepton sector with the Higgs, one of the paper's named models: the shipped model's
    own greedy output writes its Yukawa coupling L e^c H† with the Higgs unconjugated (rejected:
    the hypercharges add up to 2); by default its certified alternative replaces it, and the
    Lagrangian is the engine's, term for term."""
    from lagnb.ml.metrics import score_lagrangian
    from lagnb.physics.engine import lagrangian

    b = load_bundle()
    true = lagrangian(LEPTONS).tokens()
    plain = generate(b, LEPTONS, details=True, alternatives=0)
    g = generate(b, LEPTONS, details=True)
    assert not score_lagrangian(plain.text, true).exact
    assert score_lagrangian(g.text, true).exact
    assert g.raw == plain.raw and g.raw_validity == plain.raw_validity < 1
    assert g.replaced and g.dropped == ()
    for rejected, term in g.replaced:
        assert not check_term(LEPTONS, rejected.tokens).valid and check_term(LEPTONS, term).valid
        assert term in split_terms(g.text)


def test_cli_generate_reports_the_replaced_terms(capsys):
    """The shipped model on the lepton sector: by default the replacement is said on stderr and
    listed in --json; --alternatives 0 drops the rejected terms instead."""
    from lagnb.cli import main

    g = generate(load_bundle(), LEPTONS, details=True)
    n = len(g.replaced)
    assert main(["generate", LEPTONS]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == g.text
    assert err.splitlines() == [
        f"lagnb generate: {n} generated term{'' if n == 1 else 's'} failed the checker and the "
        f"model's certified alternative replaced {'it' if n == 1 else 'them'} "
        "(--alternatives 0 drops them)"
    ]
    assert main(["generate", "--json", LEPTONS]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["added"] == []  # nothing lacking: the output is the engine's Lagrangian
    assert [(r["rejected"]["tokens"], r["by"]) for r in out["replaced"]] == [
        (d.tokens, t) for d, t in g.replaced
    ]
    assert out["dropped"] == [] and all(t["check"]["valid"] for t in out["terms"])
    assert main(["generate", "--alternatives", "0", LEPTONS]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == generate(load_bundle(), LEPTONS, alternatives=0)
    assert "dropped (--raw keeps them)" in err and "replaced" not in err


def test_empty_field_list_is_an_error(bundle_dir):
    b = load_bundle(bundle_dir)
    with pytest.raises(FieldError, match="the field list is empty"):
        generate(b, [])
    with pytest.raises(TokenError, match="empty field list"):
        generate(b, "[SOS] [EOS]")
    with pytest.raises(TokenError, match="empty field list"):
        generate_batch(b, [HIGGS, ""], max_new_tokens=3)


def test_generate_with_prefix_and_constraint(bundle_dir):
    b = load_bundle(bundle_dir)
    prefix = "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID1"
    out = generate(b, HIGGS, prefix=prefix, max_new_tokens=10, constrained=False, certified=False)
    assert out.startswith(prefix)
    cons = generate(b, HIGGS, max_new_tokens=30, certified=False)
    from lagnb.physics.grammar import Grammar

    g = Grammar(HIGGS)
    assert g.first_violation(cons.split()) is None  # an untrained model, yet grammatical
    with pytest.raises(LagnbError, match="prefix token"):
        generate(b, HIGGS, prefix="+ CONTRACTIONS", constrained=True, max_new_tokens=5)
    with pytest.raises(TokenError, match="unknown token 'SU7'"):
        generate(b, "[SOS] FIELD SPIN 0 SU7 2 [EOS]")


def test_public_bart_l_layout(tmp_path):
    """A folder like the released checkpoint: pytorch_model.bin, special_tokens_map.json,
    its 41-token vocabulary in another order — loads offline and generates the same tokens as
    the same weights in lagnb's order (a 41-token lagnb folder, as saved before the compact
    format's field references were appended)."""
    from lagnb.ml.tokenizer import build_tokenizer as bt
    from lagnb.physics.tokens import VOCABULARY

    old = bt(VOCABULARY)
    save_bundle(tmp_path / "ours", build_model("tiny", old, seed=0, **TINY), old)
    ours = load_bundle(tmp_path / "ours")
    assert len(ours.tokenizer) == 41
    order = ["[SOS]", "[EOS]", "[PAD]", "[UNK]", *[t for t in VOCABULARY[4:]][::-1]]
    tok = bt(tuple(order))
    model = build_model("tiny", tok, seed=0, **TINY)
    # same weights with the embedding rows permuted to the other vocabulary order
    perm = [ours.tokenizer.convert_tokens_to_ids(t) for t in order]
    sd = {k: v.clone() for k, v in ours.model.state_dict().items()}
    for k in sd:
        if sd[k].shape[:1] == (len(order),) and (
            "embed_tokens" in k or "shared" in k or "lm_head" in k or "final_logits" in k
        ):
            sd[k] = sd[k][perm]
    sd["final_logits_bias"] = ours.model.state_dict()["final_logits_bias"][:, perm]
    model.load_state_dict(sd)
    pub = tmp_path / "bart-l"
    pub.mkdir()
    model.config.save_pretrained(pub)
    model.generation_config.save_pretrained(pub)
    torch.save(model.state_dict(), pub / "pytorch_model.bin")
    tok.save_pretrained(pub)
    (pub / "special_tokens_map.json").write_text(
        json.dumps(
            {"bos_token": "[SOS]", "eos_token": "[EOS]", "pad_token": "[PAD]", "unk_token": "[UNK]"}
        )
    )
    assert not (pub / "model.safetensors").exists()
    b = load_bundle(pub)
    assert b.tokenizer.convert_tokens_to_ids("[SOS]") == 0
    raw = dict(constrained=False, certified=False)
    assert generate(b, HIGGS, max_new_tokens=15, **raw) == generate(
        ours, HIGGS, max_new_tokens=15, **raw
    )


def test_prediction_json_schema():
    from lagnb.physics.engine import lagrangian

    lag = lagrangian(HIGGS)
    terms = lag.term_tokens()
    # relabel one term and break another
    relabelled = terms[0].replace("ID0", "ID9").replace("ID1", "ID0").replace("ID9", "ID1")
    text = " ".join([relabelled, "+ FIELD SPIN 0 SU2 2 U1 1 ID0 CONTRACTIONS", "+ FIELD SPIN"])
    j = prediction_json(HIGGS, text)
    assert [f["tokens"] for f in j["fields"]] == ["FIELD SPIN 0 SU2 2 U1 1"]
    first, second, third = j["terms"]
    assert first["tokens"] == terms[0] and first["check"]["valid"]
    assert first["kind"] == "quartic" and first["check"]["engine_term"] == 0
    assert set(first) >= {
        "kind",
        "fields",
        "derivatives",
        "hermitian_conjugate_added",
        "tokens",
        "latex",
        "check",
    }
    assert not second["check"]["valid"] and second["check"]["status"] == "invalid"
    assert third["check"]["status"] == "malformed" and third["kind"] is None


def test_shipped_model_path_is_in_the_package():
    p = shipped_model_path()
    assert p.name == "small-model" and p.parent.name == "shipped"


def test_cli_generate(bundle_dir, capsys):
    from lagnb.cli import main

    model = ["generate", "--model", str(bundle_dir)]
    # --unconstrained --raw: the model's raw output, nothing on stderr
    assert main([*model, "--unconstrained", "--raw", "--max-new-tokens", "60", HIGGS]) == 0
    out, err = capsys.readouterr()
    b = load_bundle(bundle_dir)
    raw = generate(b, HIGGS, max_new_tokens=60, constrained=False, certified=False)
    assert out.strip() == raw and "SPIN SPIN" in raw and err == ""  # junk, as written
    assert main([*model, "--unconstrained", "--max-new-tokens", "60", HIGGS]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "" and "1 generated term failed the checker and was dropped" in err
    # the default: certified; the dropped terms are counted on stderr in one line
    assert main([*model, "--max-new-tokens", "60", HIGGS]) == 0
    out, err = capsys.readouterr()
    g = generate(b, HIGGS, max_new_tokens=60, details=True)
    assert out.strip() == g.text and g.dropped
    n = len(g.dropped)
    s = "" if n == 1 else "s"
    assert err.splitlines() == [
        f"lagnb generate: {n} generated term{s} failed the checker and "
        f"{'was' if n == 1 else 'were'} dropped (--raw keeps them)"
    ]
    assert main([*model, "--max-new-tokens", "60", "--raw", HIGGS]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == g.raw and err == ""
    # --json: the certified terms with their checks, the dropped ones with the reasons
    assert main([*model, "--max-new-tokens", "60", "--json", HIGGS]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fields"][0]["su2"] == 2
    assert all(t["check"]["valid"] for t in out["terms"])
    assert [(d["tokens"], d["reason"]) for d in out["dropped"]] == [
        (d.tokens, d.reason) for d in g.dropped
    ]
    assert all(d["reason"] == d["reasons"][0] for d in out["dropped"])
    assert main([*model, "--constrained", "--max-new-tokens", "60", HIGGS]) == 0  # old flag
    assert capsys.readouterr().out.strip() == g.text
    assert main([*model, "[SOS] FIELD SPIN 0 SU9 [EOS]"]) == 2
    assert "'SU9'" in capsys.readouterr().err


# -- damaged model folders and checkpoints ---------------------------------------------------------
def truncate(path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def drop_tensors(path) -> None:
    """A well-formed safetensors file that lacks the last decoder layer."""
    from safetensors.torch import load_file, save_file

    kept = {k: v for k, v in load_file(str(path)).items() if "decoder.layers.2." not in k}
    save_file(kept, str(path), metadata={"format": "pt"})


DAMAGE = {
    "truncated weights": (
        lambda d: truncate(d / "model.safetensors"),
        r"model.safetensors is damaged \(SafetensorError: Error while deserializing header",
    ),
    "weights lacking tensors": (
        lambda d: drop_tensors(d / "model.safetensors"),
        "model.safetensors is damaged: 26 of the model's tensors are missing",
    ),
    "no weights": (
        lambda d: (d / "model.safetensors").unlink(),
        "no model weights in .*expected model.safetensors or pytorch_model.bin",
    ),
    "garbled config": (
        lambda d: (d / "config.json").write_text('{"d_model": 128,'),
        r"config.json is damaged \(not valid JSON",
    ),
    "config not an object": (
        lambda d: (d / "config.json").write_text("[1, 2]"),
        r"config.json is damaged \(not a JSON object\)",
    ),
    "no tokenizer": (lambda d: (d / "tokenizer.json").unlink(), "no tokenizer.json in"),
    "garbled tokenizer": (
        lambda d: truncate(d / "tokenizer.json"),
        r"tokenizer.json is damaged \(not valid JSON: JSONDecodeError",
    ),
    "tokenizer of another kind": (
        lambda d: (d / "tokenizer.json").write_text('{"version": "1.0"}'),
        "tokenizer.json is damaged",
    ),
    "garbled tokenizer config": (
        lambda d: (d / "tokenizer_config.json").write_bytes(b"\xff\xfe"),
        r"tokenizer_config.json is damaged \(not valid JSON",
    ),
}


@pytest.fixture
def shipped_copy(tmp_path):
    return shutil.copytree(shipped_model_path(), tmp_path / "model")


@pytest.mark.parametrize("case", DAMAGE)
def test_damaged_model_folder_names_the_file_and_the_fix(shipped_copy, case):
    damage, message = DAMAGE[case]
    damage(shipped_copy)
    with pytest.raises(LagnbError, match=message) as err:
        load_bundle(shipped_copy)
    text = str(err.value)
    assert "\n" not in text and str(shipped_copy) in text
    assert text.endswith(
        f"replace {shipped_copy} with a good copy, or retrain it "
        f"(lagnb train --out {shipped_copy} …)"
    )


def test_damaged_shipped_model_says_how_to_restore_it(shipped_copy, monkeypatch):
    import lagnb.ml.model

    load_bundle(shipped_copy)  # the undamaged copy loads
    truncate(shipped_copy / "model.safetensors", 0.9)
    monkeypatch.setattr(lagnb.ml.model, "shipped_model_path", lambda: shipped_copy)
    with pytest.raises(LagnbError, match="git checkout -- lagnb/shipped/small-model"):
        load_bundle()


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    """A tiny training run stopped after one step: OUT/checkpoint holds its state."""
    from lagnb.ml.train import train

    root = tmp_path_factory.mktemp("run")
    cfg = tiny_train_config(write_dataset(root / "data"), root / "out", steps=4)
    train(cfg, stop_after=1, progress=False)
    return cfg


@pytest.mark.parametrize(
    "name", ["state.json", "model.safetensors", "tokenizer.json", "optimizer.pt"]
)
def test_damaged_checkpoint_names_the_file_and_fresh(stopped_run, tmp_path, name):
    from dataclasses import replace

    from lagnb.ml.train import train

    out = shutil.copytree(stopped_run.out, tmp_path / "out")
    truncate(out / "checkpoint" / name)
    cfg = replace(stopped_run, out=str(out))
    with pytest.raises(LagnbError, match=f"checkpoint/{name} is damaged") as e:
        train(cfg, progress=False)
    assert "\n" not in str(e.value)
    assert str(e.value).endswith(f"--fresh' (or fresh=True), which deletes {out / 'checkpoint'}")


def test_untrained_like_keeps_shape_and_formats_not_weights():
    from lagnb.ml.model import untrained_like

    shipped = load_bundle()
    a, b = untrained_like(shipped, seed=1), untrained_like(shipped, seed=1)
    assert a.model.config.to_dict() == shipped.model.config.to_dict()
    assert (a.input_format, a.target_format) == (shipped.input_format, shipped.target_format)
    assert a.tokenizer is shipped.tokenizer and not a.model.training
    pa, pb, ps = (dict(x.model.named_parameters()) for x in (a, b, shipped))
    assert all(torch.equal(pa[k], pb[k]) for k in pa)  # seeded
    assert not torch.equal(pa["model.shared.weight"], ps["model.shared.weight"])
