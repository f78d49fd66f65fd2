"""The BART-L model: presets, atomic save/load, the public checkpoint layout, generation."""

import json

import pytest
import torch
from model_helpers import TINY

from lagnb.errors import LagnbError, TokenError
from lagnb.ml.generate import generate, generate_batch, prediction_json
from lagnb.ml.model import (
    PRESETS,
    bart_config,
    build_model,
    count_parameters,
    load_bundle,
    save_bundle,
    shipped_model_path,
)
from lagnb.ml.tokenizer import build_tokenizer

HIGGS = "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory, tok):
    path = tmp_path_factory.mktemp("bundle") / "model"
    model = build_model("tiny", tok, seed=0, **TINY)
    save_bundle(path, model, tok)
    return path


def test_large_preset_is_the_paper_shape(tok):
    cfg = bart_config("large", tok)
    assert (cfg.encoder_layers, cfg.decoder_layers, cfg.d_model) == (12, 12, 1024)
    assert (cfg.encoder_attention_heads, cfg.encoder_ffn_dim) == (16, 4096)
    assert cfg.max_position_embeddings == 2048 and cfg.vocab_size == 41
    # parameter count without allocating the 357M model: embeddings + layers
    d, f, v, p = 1024, 4096, 41, 2048
    enc = 4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d
    dec = enc + 4 * d * d + 4 * d + 2 * d
    total = v * d + 2 * (p + 2) * d + 12 * (enc + dec) + 4 * d + v
    assert 350e6 < total < 360e6


def test_unknown_preset(tok):
    with pytest.raises(LagnbError, match="unknown model preset 'huge'"):
        build_model("huge", tok)


def test_tiny_preset_and_seed(tok):
    a = build_model("tiny", tok, seed=1)
    b = build_model("tiny", tok, seed=1)
    assert count_parameters(a) < 1_000_000
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert a.generation_config.decoder_start_token_id == tok.bos_token_id
    assert set(PRESETS) == {"tiny", "small", "base", "large"}


def test_save_load_round_trip(bundle_dir, tok):
    b = load_bundle(bundle_dir)
    again = build_model("tiny", tok, seed=0, **TINY)
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


def test_generate_forms(bundle_dir):
    b = load_bundle(bundle_dir)
    out = generate(b, HIGGS, max_new_tokens=12)
    assert isinstance(out, str) and len(out.split()) <= 12
    assert "[EOS]" not in out and "[SOS]" not in out
    # same input as Field objects, compact numbers, and in a batch
    from lagnb.physics.fields import parse_fields

    assert generate(b, parse_fields(HIGGS), max_new_tokens=12) == out
    assert generate_batch(b, [HIGGS, "FIELD SPIN 1/2 HEL -1/2"], max_new_tokens=12)[0] == out
    beam = generate(b, HIGGS, max_new_tokens=12, num_beams=2)
    assert isinstance(beam, str)


def test_generate_with_prefix_and_constraint(bundle_dir):
    b = load_bundle(bundle_dir)
    prefix = "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID1"
    out = generate(b, HIGGS, prefix=prefix, max_new_tokens=10)
    assert out.startswith(prefix)
    cons = generate(b, HIGGS, max_new_tokens=30, constrained=True)
    from lagnb.physics.grammar import Grammar

    g = Grammar(HIGGS)
    assert g.first_violation(cons.split()) is None  # an untrained model, yet grammatical
    with pytest.raises(LagnbError, match="prefix token"):
        generate(b, HIGGS, prefix="+ CONTRACTIONS", constrained=True, max_new_tokens=5)
    with pytest.raises(TokenError, match="unknown token 'SU7'"):
        generate(b, "[SOS] FIELD SPIN 0 SU7 2 [EOS]")


def test_public_bart_l_layout(tmp_path, bundle_dir):
    """A folder like the released checkpoint: pytorch_model.bin, special_tokens_map.json,
    a vocabulary in another order — loads offline and generates the same tokens."""
    from lagnb.ml.tokenizer import build_tokenizer as bt
    from lagnb.physics.tokens import VOCABULARY

    ours = load_bundle(bundle_dir)
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
    assert generate(b, HIGGS, max_new_tokens=15) == generate(ours, HIGGS, max_new_tokens=15)


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

    assert main(["generate", "--model", str(bundle_dir), "--max-new-tokens", "6", HIGGS]) == 0
    text = capsys.readouterr().out.strip()
    assert len(text.split()) <= 6
    args = ["generate", "--model", str(bundle_dir), "--max-new-tokens", "40", "--constrained"]
    assert main([*args, "--json", HIGGS]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fields"][0]["su2"] == 2
    assert all("check" in t and "tokens" in t for t in out["terms"])
    assert main(["generate", "--model", str(bundle_dir), "[SOS] FIELD SPIN 0 SU9 [EOS]"]) == 2
    assert "unknown token 'SU9'" in capsys.readouterr().err
