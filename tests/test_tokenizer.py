"""The word-level BART-L tokenizer: vocabulary, round trips, errors, offline save/load."""

import pytest

from lagnb.errors import LagnbError, TokenError
from lagnb.ml.targets import INPUT_WORDS
from lagnb.ml.tokenizer import (
    MODEL_VOCABULARY,
    build_tokenizer,
    decode,
    encode_input,
    encode_target,
    load_tokenizer,
)
from lagnb.physics.engine import lagrangian
from lagnb.physics.tokens import FIELD_REFS, VOCABULARY


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


def test_one_id_per_grammar_token(tok):
    """The 41 BART-L tokens keep the released model's ids; the compact format's field
    references F0–F15 are appended after them (ids 41–56), then the 38 words of the compact
    input format (ids 57–94)."""
    assert len(VOCABULARY) == 41 and len(FIELD_REFS) == 16 and len(INPUT_WORDS) == 38
    assert len(tok) == len(MODEL_VOCABULARY) == 95
    for k, t in enumerate(INPUT_WORDS):
        assert tok.convert_tokens_to_ids(t) == 57 + k
    for i, t in enumerate(VOCABULARY):
        assert tok.convert_tokens_to_ids(t) == i
    for k, t in enumerate(FIELD_REFS):
        assert t == f"F{k}" and tok.convert_tokens_to_ids(t) == 41 + k
    assert (tok.pad_token, tok.bos_token, tok.eos_token, tok.unk_token) == (
        "[PAD]",
        "[SOS]",
        "[EOS]",
        "[UNK]",
    )


def test_round_trip_of_a_lagrangian(tok):
    lag = lagrangian(
        "[SOS] FIELD SPIN 0 SU2 2 U1 1 FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 [EOS]"
    )
    ids = encode_target(tok, lag.tokens())
    assert ids[-1] == tok.eos_token_id
    assert len(ids) == len(lag.tokens().split()) + 1
    assert decode(tok, [tok.bos_token_id, *ids, tok.pad_token_id]) == lag.tokens()


def test_input_specials_added_and_compact_numbers_split(tok):
    a = encode_input(tok, "FIELD SPIN 1/2 U1 -7/2 HEL -1/2")
    b = encode_input(tok, "[SOS] FIELD SPIN 1 / 2 U1 - 7 / 2 HEL - 1 / 2 [EOS]")
    assert a == b
    assert a[0] == tok.bos_token_id and a[-1] == tok.eos_token_id
    assert tok.convert_ids_to_tokens(a[3:6]) == ["1", "/", "2"]


def test_unknown_token_names_token_and_position(tok):
    with pytest.raises(TokenError, match=r"'SU5' at position 6"):
        encode_input(tok, "[SOS] FIELD SPIN 0 SU2 2 SU5 3 [EOS]")
    with pytest.raises(TokenError, match=r"'h\.c\.' at position 2"):
        encode_target(tok, "+ FIELD h.c.")


def test_save_and_reload_offline(tok, tmp_path):
    tok.save_pretrained(tmp_path)
    again = load_tokenizer(tmp_path)
    text = "[SOS] FIELD SPIN 0 SU3 - 3 U1 2 / 3 [EOS]"
    assert encode_input(again, text) == encode_input(tok, text)
    assert again.get_vocab() == tok.get_vocab()
    assert again.eos_token_id == 2 and again.pad_token_id == 0


def test_damaged_tokenizer_files_are_named(tok, tmp_path):
    with pytest.raises(LagnbError, match=r"^no tokenizer.json in .*; replace .* with a good copy"):
        load_tokenizer(tmp_path)
    tok.save_pretrained(tmp_path)
    (tmp_path / "tokenizer_config.json").write_text('"[SOS]"')
    with pytest.raises(LagnbError, match=r"tokenizer_config.json is damaged \(not a JSON object\)"):
        load_tokenizer(tmp_path)
    tok.save_pretrained(tmp_path)
    data = (tmp_path / "tokenizer.json").read_bytes()
    (tmp_path / "tokenizer.json").write_bytes(data[: len(data) // 3])
    with pytest.raises(LagnbError, match=r"tokenizer.json is damaged .*; run the tests again$"):
        load_tokenizer(tmp_path, fix="run the tests again")
