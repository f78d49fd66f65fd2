"""The word-level tokenizer of the BART-L grammar: one id per grammar token, no subword merges.

The vocabulary is :data:`MODEL_VOCABULARY`: the 41 BART-L tokens of
:data:`lagnb.physics.tokens.VOCABULARY` (specials ``[PAD] [SOS] [EOS] [UNK]`` first, ids 0–3)
in the ids of the released model, then the field references ``F0``–``F15`` of the compact
target format (ids 41–56) and the words of the compact input format (ids 57–94, both
:mod:`lagnb.ml.targets`); text is split on whitespace.  Appending
keeps every earlier id: a model folder saved with the 41-token vocabulary loads and runs with
its own ``tokenizer.json``.  It is a ``transformers``
:class:`PreTrainedTokenizerFast`, so it saves and reloads with
``save_pretrained``/``from_pretrained`` from a local folder, offline.

Model inputs are field lists ``[SOS] FIELD … [EOS]``; labels are the Lagrangian tokens followed
by ``[EOS]`` (the decoder starts from ``[SOS]``, see :mod:`lagnb.ml.model`).  Compact numbers
such as ``1/2`` are split first (:func:`lagnb.physics.fields.split_tokens`); a token outside the
vocabulary is an error that names the token and its position, never a silent ``[UNK]``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from lagnb.errors import LagnbError, TokenError
from lagnb.ml.targets import INPUT_WORDS, to_model_input
from lagnb.physics.fields import parse_fields, split_tokens
from lagnb.physics.tokens import FIELD_REFS, SPECIAL_TOKENS, VOCABULARY

PAD, SOS, EOS, UNK = SPECIAL_TOKENS

MODEL_VOCABULARY: tuple[str, ...] = VOCABULARY + FIELD_REFS + INPUT_WORDS
"""A new model's vocabulary: the BART-L tokens (ids 0–40), the compact field references
``F0``–``F15`` (ids 41–56), then the words of the compact input spelling (ids 57–94,
:data:`lagnb.ml.targets.INPUT_WORDS`)."""


def build_tokenizer(vocabulary: tuple[str, ...] = MODEL_VOCABULARY) -> PreTrainedTokenizerFast:
    """A fresh word-level tokenizer over ``vocabulary`` (ids in vocabulary order)."""
    vocab = {tok: i for i, tok in enumerate(vocabulary)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token=PAD,
        bos_token=SOS,
        eos_token=EOS,
        unk_token=UNK,
        model_max_length=2048,
        clean_up_tokenization_spaces=False,
    )


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
"""The tokenizer's files in a model folder (``tokenizer.json`` is required, the others not)."""


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of a library exception, at most 160 characters."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0].strip()}" if lines else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def json_fault(path: Path) -> str | None:
    """Why ``path`` is not a JSON object (``None`` when it is one)."""
    try:
        data = json.loads(path.read_bytes())
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        return f"not valid JSON: {one_line(exc)}"
    return None if isinstance(data, dict) else "not a JSON object"


def load_tokenizer(path: str | os.PathLike, *, fix: str | None = None) -> PreTrainedTokenizerFast:
    """Load a tokenizer saved with ``save_pretrained`` from a local folder (no network).

    A missing ``tokenizer.json`` or a damaged tokenizer file is a one-line :class:`LagnbError`
    naming the file, ending with ``fix`` (what to do about it).
    """
    p = Path(path)
    fix = fix or f"replace {p} with a good copy of the model folder"
    if not (p / "tokenizer.json").is_file():
        raise LagnbError(f"no tokenizer.json in {p} (the model's vocabulary); {fix}")
    try:
        return PreTrainedTokenizerFast.from_pretrained(str(p), local_files_only=True)
    except Exception as exc:  # JSONDecodeError, KeyError, ValueError … from the libraries
        failure = one_line(exc)
    for name in TOKENIZER_FILES:  # name the file at fault: the first one that is not JSON
        f = p / name
        if f.is_file() and (fault := json_fault(f)):
            raise LagnbError(f"{f} is damaged ({fault}); {fix}")
    raise LagnbError(f"{p / 'tokenizer.json'} is damaged ({failure}); {fix}")


def normalise(text: str) -> list[str]:
    """Whitespace tokens with compact numbers split (``SPIN 1/2`` → ``SPIN 1 / 2``)."""
    return split_tokens(text)


def check_known(tokenizer: PreTrainedTokenizerFast, tokens: list[str], what: str) -> None:
    """Raise :class:`TokenError` naming the first token not in the vocabulary and its position."""
    vocab = tokenizer.get_vocab()
    for pos, tok in enumerate(tokens):
        if tok not in vocab:
            raise TokenError(
                f"{what}: unknown token {tok!r} at position {pos} (0-based, after splitting "
                f"numbers); the vocabulary has {len(vocab)} tokens: FIELD SPIN SU3 SU2 U1 HEL "
                "…, digits, '/', '-', '+', 'i', ID0–ID9"
                + (", F0–F15" if FIELD_REFS[0] in vocab else "")
            )


def encode_input(
    tokenizer: PreTrainedTokenizerFast, text: str, input_format: str = "bart-l"
) -> list[int]:
    """Token ids of a BART-L input (a field list) in the model's ``input_format``
    (:func:`lagnb.ml.targets.to_model_input`); ``[SOS]``/``[EOS]`` are added if absent."""
    sos, eos = tokenizer.bos_token or SOS, tokenizer.eos_token or EOS
    if input_format != "bart-l":
        text = to_model_input(parse_fields(text), input_format)
    toks = normalise(text)
    if not toks or toks[0] != sos:
        toks = [sos, *toks]
    if toks[-1] != eos:
        toks = [*toks, eos]
    check_known(tokenizer, toks, "model input")
    return tokenizer.convert_tokens_to_ids(toks)


def encode_target(tokenizer: PreTrainedTokenizerFast, text: str, *, eos: bool = True) -> list[int]:
    """Token ids of a Lagrangian string (labels), ``[EOS]`` appended unless ``eos=False``."""
    specials = set(tokenizer.all_special_tokens)
    toks = [t for t in normalise(text) if t not in specials]
    check_known(tokenizer, toks, "Lagrangian")
    ids = tokenizer.convert_tokens_to_ids(toks)
    return [*ids, tokenizer.eos_token_id] if eos else ids


def decode(tokenizer: PreTrainedTokenizerFast, ids: list[int]) -> str:
    """The token string of generated ``ids``: stops at the first ``[EOS]`` after some content,
    drops the other special tokens (pad, sos)."""
    eos = tokenizer.eos_token or EOS
    specials = set(tokenizer.all_special_tokens)
    out: list[str] = []
    for tok in tokenizer.convert_ids_to_tokens([int(i) for i in ids]):
        if tok == eos and out:
            break
        if tok in specials:
            continue
        out.append(tok)
    return " ".join(out)
