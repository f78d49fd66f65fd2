"""The BART-L model: a BART encoder-decoder over the grammar tokens, its presets, and bundles.

A *bundle* is a local folder holding a ``BartForConditionalGeneration`` and its tokenizer, in the
layout of the public BART-Lagrangian checkpoint (``config.json``, ``generation_config.json``,
``model.safetensors`` or ``pytorch_model.bin``, ``tokenizer.json``, ``tokenizer_config.json``,
``special_tokens_map.json``).  Loading never touches the network.

Presets (encoder layers + decoder layers, d_model, heads, FFN width, positions):

* ``tiny``  — 2+2, 64, 4, 256, 1024 (0.37M parameters): CI, CPU, minutes;
* ``small`` — 3+3, 128, 4, 512, 1024 (1.7M): the shipped CPU-trained model;
* ``base``  — 6+6, 768, 12, 3072, 2048 (102M; BART-base's shape, 41-token vocabulary): demos;
* ``large`` — 12+12, 1024, 16, 4096, 2048 (357M): the paper's shape (BART-large).

transformers 5 notes: generation settings live on ``model.generation_config`` (values put in
``BartConfig`` are dropped), and the default sdpa attention returns no attention weights — pass
``attn_implementation="eager"`` to :func:`load_bundle` when you need them (not saved in config).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import (
    BartConfig,
    BartForConditionalGeneration,
    GenerationConfig,
    PreTrainedTokenizerFast,
)

from lagnb.errors import LagnbError
from lagnb.ml.tokenizer import load_tokenizer

PRESETS: dict[str, dict[str, int]] = {
    "tiny": dict(layers=2, d_model=64, heads=4, ffn=256, positions=1024),
    "small": dict(layers=3, d_model=128, heads=4, ffn=512, positions=1024),
    "base": dict(layers=6, d_model=768, heads=12, ffn=3072, positions=2048),
    "large": dict(layers=12, d_model=1024, heads=16, ffn=4096, positions=2048),
}
"""Model shapes by name (same number of encoder and decoder layers)."""

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "shipped" / "small-model"


@dataclass
class Bundle:
    """A model and its tokenizer, ready to generate (the model is in eval mode)."""

    model: BartForConditionalGeneration
    tokenizer: PreTrainedTokenizerFast
    path: Path | None = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def max_positions(self) -> int:
        return int(self.model.config.max_position_embeddings)


def bart_config(preset: str, tokenizer: PreTrainedTokenizerFast, **overrides: object) -> BartConfig:
    """The ``BartConfig`` of a preset; ``overrides`` are BartConfig keyword arguments."""
    if preset not in PRESETS:
        raise LagnbError(f"unknown model preset {preset!r}; choose one of {', '.join(PRESETS)}")
    p = PRESETS[preset]
    kw: dict[str, object] = dict(
        vocab_size=len(tokenizer),
        d_model=p["d_model"],
        encoder_layers=p["layers"],
        decoder_layers=p["layers"],
        encoder_attention_heads=p["heads"],
        decoder_attention_heads=p["heads"],
        encoder_ffn_dim=p["ffn"],
        decoder_ffn_dim=p["ffn"],
        max_position_embeddings=p["positions"],
        dropout=0.1,
        attention_dropout=0.0,
        activation_dropout=0.0,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.bos_token_id,
        forced_eos_token_id=None,
        scale_embedding=False,
        tie_word_embeddings=True,
    )
    kw.update(overrides)
    return BartConfig(**kw)


def generation_config(model_config: BartConfig) -> GenerationConfig:
    """Greedy decoding up to the model's full length, from ``[SOS]`` to ``[EOS]``."""
    return GenerationConfig(
        decoder_start_token_id=model_config.decoder_start_token_id,
        bos_token_id=model_config.bos_token_id,
        eos_token_id=model_config.eos_token_id,
        pad_token_id=model_config.pad_token_id,
        max_length=model_config.max_position_embeddings,
        num_beams=1,
        do_sample=False,
    )


def build_model(
    preset: str, tokenizer: PreTrainedTokenizerFast, *, seed: int | None = None, **overrides: object
) -> BartForConditionalGeneration:
    """A freshly initialised model of a preset (seeded if ``seed`` is given)."""
    cfg = bart_config(preset, tokenizer, **overrides)
    if seed is not None:
        torch.manual_seed(seed)
    model = BartForConditionalGeneration(cfg)
    model.generation_config = generation_config(cfg)
    return model


def count_parameters(model: torch.nn.Module) -> int:
    """Number of distinct parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in model.parameters())


@contextmanager
def quiet_progress():
    """Silence transformers' own progress bars (loading/writing shards of a small model)."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def _atomic_replace(tmp: Path, dest: Path) -> None:
    """Move the finished folder ``tmp`` to ``dest``, replacing an old ``dest`` safely."""
    os.chmod(tmp, 0o755)  # mkdtemp makes 0700 folders
    for f in tmp.iterdir():
        if f.is_file():
            os.chmod(f, 0o644)
    old = None
    if dest.exists():
        old = dest.with_name(dest.name + f".old-{os.getpid()}")
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def save_bundle(
    path: str | Path,
    model: BartForConditionalGeneration,
    tokenizer: PreTrainedTokenizerFast,
    *,
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Write model (safetensors), generation config and tokenizer to ``path`` atomically.

    Everything is written to a temporary sibling folder first, then renamed into place, so
    an interrupted save never leaves a half-written bundle.  ``extra_files`` maps file names to
    text contents written alongside (e.g. a README or training metadata).
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        with quiet_progress():
            model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text)
        _atomic_replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def load_bundle(
    path: str | Path,
    attn_implementation: str | None = None,
    *,
    device: str | torch.device | None = None,
) -> Bundle:
    """Load a model and tokenizer from a local folder (lagnb's or the public BART-L layout).

    ``attn_implementation="eager"`` is needed for attention weights (``output_attentions``);
    the default (sdpa) returns none.  ``device`` defaults to CPU.
    """
    p = Path(path)
    if not (p / "config.json").is_file():
        raise LagnbError(
            f"no model at {str(p)!r}: expected a folder with config.json, model weights and "
            "tokenizer files (train one with 'lagnb train', or use the shipped model)"
        )
    kw: dict[str, object] = {"local_files_only": True}
    if attn_implementation is not None:
        kw["attn_implementation"] = attn_implementation
    with quiet_progress():
        model = BartForConditionalGeneration.from_pretrained(str(p), **kw)
    tokenizer = load_tokenizer(p)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.convert_ids_to_tokens(model.config.pad_token_id)
    gc = model.generation_config
    if gc.decoder_start_token_id is None:
        gc.decoder_start_token_id = model.config.decoder_start_token_id
    if gc.max_length is None or gc.max_length <= 20:
        gc.max_length = model.config.max_position_embeddings
    model.to(torch.device(device) if device is not None else torch.device("cpu"))
    model.eval()
    return Bundle(model, tokenizer, p)


def shipped_model_path() -> Path:
    """The folder of the small model shipped with lagnb (``lagnb/shipped/small-model``)."""
    return SHIPPED_DIR


def load_shipped(attn_implementation: str | None = None) -> Bundle:
    """Load the shipped model (see ``lagnb/shipped/README.md`` for how it was trained)."""
    return load_bundle(shipped_model_path(), attn_implementation)


def preset_table(tokenizer: PreTrainedTokenizerFast | None = None) -> list[dict[str, object]]:
    """One row per preset: shape and parameter count (counted on the meta device, so even
    ``large`` costs no memory)."""
    from lagnb.ml.tokenizer import build_tokenizer

    tok = tokenizer or build_tokenizer()
    rows = []
    for name, p in PRESETS.items():
        with torch.device("meta"):
            model = BartForConditionalGeneration(bart_config(name, tok))
        rows.append({"preset": name, **p, "parameters": count_parameters(model)})
    return rows
