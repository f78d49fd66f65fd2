"""The BART-L model: a BART encoder-decoder over the grammar tokens, its sizes, and bundles.

A *bundle* is a local folder holding a ``BartForConditionalGeneration`` and its tokenizer, in the
layout of the public BART-Lagrangian checkpoint (``config.json``, ``generation_config.json``,
``model.safetensors`` or ``pytorch_model.bin``, ``tokenizer.json``, ``tokenizer_config.json``,
``special_tokens_map.json``).  :func:`load_bundle` is lagnb's one model loader (the shipped
model when no folder is given); it never touches the network, and a damaged or missing file is a
one-line :class:`~lagnb.errors.LagnbError` naming the file and the fix.

Sizes (encoder layers + decoder layers, d_model, heads, FFN width, positions):

* ``tiny``  — 2+2, 64, 4, 256, 1024 (0.37M parameters): CI, CPU, minutes;
* ``small`` — 3+3, 128, 4, 512, 1024 (1.7M): the shipped CPU-trained model;
* ``base``  — 6+6, 768, 12, 3072, 2048 (102M; BART-base's shape, 95-token vocabulary): demos;
* ``large`` — 12+12, 1024, 16, 4096, 2048 (357M): the paper's shape (BART-large).

A model's *target format* (:mod:`lagnb.ml.targets`: ``"bart-l"`` or ``"compact"``) is recorded
in its ``config.json`` as ``lagnb_target_format`` (absent: ``"bart-l"``, as in the public
checkpoint and every model trained before the compact format existed) and read back as
:attr:`Bundle.target_format`; generation converts to and from it, so callers always see BART-L.
Likewise the *input format* (``lagnb_input_format``, :attr:`Bundle.input_format`) and the
*term order* (``lagnb_term_order``, :attr:`Bundle.term_order`).

transformers 5 notes: generation settings live on ``model.generation_config`` (values put in
``BartConfig`` are dropped), and the default sdpa attention returns no attention weights — pass
``attn_implementation="eager"`` to :func:`load_bundle` when you need them (not saved in config).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
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
from lagnb.ml.targets import (
    COMPACT_INPUTS,
    INPUT_FORMATS,
    INPUT_WORDS,
    TARGET_FORMATS,
    TERM_ORDERS,
    check_format,
    check_input_format,
    check_term_order,
)
from lagnb.ml.tokenizer import json_fault, load_tokenizer, one_line
from lagnb.paths import resolve_path
from lagnb.physics.tokens import FIELD_REFS

SIZES: dict[str, dict[str, int]] = {
    "tiny": dict(layers=2, d_model=64, heads=4, ffn=256, positions=1024),
    "small": dict(layers=3, d_model=128, heads=4, ffn=512, positions=1024),
    "base": dict(layers=6, d_model=768, heads=12, ffn=3072, positions=2048),
    "large": dict(layers=12, d_model=1024, heads=16, ffn=4096, positions=2048),
}
"""Model sizes by name: their shapes (same number of encoder and decoder layers)."""

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "shipped" / "small-model"

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
"""The weight files ``from_pretrained`` reads, in its order of preference (sharded: the index)."""

TARGET_FORMAT_KEY = "lagnb_target_format"
"""The ``config.json`` entry that records a model's target format (absent: ``"bart-l"``)."""

INPUT_FORMAT_KEY = "lagnb_input_format"
"""The ``config.json`` entry that records a model's input format (absent: ``"bart-l"``)."""

TERM_ORDER_KEY = "lagnb_term_order"
"""The ``config.json`` entry that records the order a model writes terms in (absent:
``"engine"``)."""


def _recorded(config: BartConfig, key: str, default: str) -> str:
    return str(getattr(config, key, None) or default)


def target_format_of(config: BartConfig) -> str:
    """The target format a model config records (``"bart-l"`` when it records none)."""
    return _recorded(config, TARGET_FORMAT_KEY, "bart-l")


def set_target_format(model: BartForConditionalGeneration, target_format: str) -> None:
    """Record ``target_format`` in the model's config (saved in its ``config.json``)."""
    setattr(model.config, TARGET_FORMAT_KEY, check_format(target_format))


def input_format_of(config: BartConfig) -> str:
    """The input format a model config records (``"bart-l"`` when it records none)."""
    return _recorded(config, INPUT_FORMAT_KEY, "bart-l")


def set_input_format(model: BartForConditionalGeneration, input_format: str) -> None:
    """Record ``input_format`` in the model's config (saved in its ``config.json``)."""
    setattr(model.config, INPUT_FORMAT_KEY, check_input_format(input_format))


def term_order_of(config: BartConfig) -> str:
    """The term order a model config records (``"engine"`` when it records none)."""
    return _recorded(config, TERM_ORDER_KEY, "engine")


def set_term_order(model: BartForConditionalGeneration, term_order: str) -> None:
    """Record ``term_order`` in the model's config (saved in its ``config.json``)."""
    setattr(model.config, TERM_ORDER_KEY, check_term_order(term_order))


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
    def target_format(self) -> str:
        """The spelling the model writes (:data:`lagnb.ml.targets.TARGET_FORMATS`), recorded
        in its config; lagnb converts its prefixes and outputs, callers see BART-L."""
        return target_format_of(self.model.config)

    @property
    def input_format(self) -> str:
        """The spelling of the field list the model reads
        (:data:`lagnb.ml.targets.INPUT_FORMATS`); lagnb converts BART-L inputs to it."""
        return input_format_of(self.model.config)

    @property
    def term_order(self) -> str:
        """The order in which the model learned to write terms
        (:data:`lagnb.ml.targets.TERM_ORDERS`)."""
        return term_order_of(self.model.config)

    @property
    def max_positions(self) -> int:
        return int(self.model.config.max_position_embeddings)


def check_size(size: str) -> None:
    """Raise :class:`LagnbError` unless ``size`` names one of :data:`SIZES`."""
    if size not in SIZES:
        raise LagnbError(f"unknown model size {size!r}; choose one of {', '.join(SIZES)}")


def bart_config(size: str, tokenizer: PreTrainedTokenizerFast, **overrides: object) -> BartConfig:
    """The ``BartConfig`` of a model size; ``overrides`` are BartConfig keyword arguments."""
    check_size(size)
    p = SIZES[size]
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


def scaled_init_std(size: str) -> float:
    """d_model^-½ of a model size: the standard deviation of the initial weights with which a
    narrow model learns to read its input (0.125 for ``tiny``, 0.088 for ``small``), rather
    than transformers' 0.02, which suits models of width ~1000 and left the small models'
    decoders ignoring the encoder."""
    check_size(size)
    return round(SIZES[size]["d_model"] ** -0.5, 4)


SHAPE_KEYS: dict[str, tuple[str, ...]] = {
    "layers": ("encoder_layers", "decoder_layers"),
    "d_model": ("d_model",),
    "heads": ("encoder_attention_heads", "decoder_attention_heads"),
    "ffn": ("encoder_ffn_dim", "decoder_ffn_dim"),
    "positions": ("max_position_embeddings",),
}
"""The shape entries of :data:`SIZES` and the ``BartConfig`` arguments each one sets."""


def shape_overrides(size: str, shape: Mapping[str, int]) -> dict[str, int]:
    """``BartConfig`` arguments that change the shape of a size, for :func:`build_model`:
    ``shape`` maps entries of :data:`SIZES` (layers, d_model, heads, ffn, positions) to
    positive integers, e.g. ``{"d_model": 256, "layers": 4}``.  Raises :class:`LagnbError`
    naming an unknown entry, a value that is not a positive integer, or a ``d_model`` that the
    number of heads does not divide."""
    check_size(size)
    merged = dict(SIZES[size])
    for key, value in shape.items():
        if key not in SHAPE_KEYS:
            raise LagnbError(f"model shape: unknown entry {key!r} (use {', '.join(SHAPE_KEYS)})")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise LagnbError(f"model shape: {key} must be a positive integer, got {value!r}")
        merged[key] = value
    if merged["d_model"] % merged["heads"]:
        raise LagnbError(
            f"model shape: d_model {merged['d_model']} is not a multiple of heads {merged['heads']}"
        )
    return {arg: shape[key] for key in shape for arg in SHAPE_KEYS[key]}


def build_model(
    size: str, tokenizer: PreTrainedTokenizerFast, *, seed: int | None = None, **overrides: object
) -> BartForConditionalGeneration:
    """A freshly initialised model of a size (seeded if ``seed`` is given)."""
    cfg = bart_config(size, tokenizer, **overrides)
    if seed is not None:
        torch.manual_seed(seed)
    model = BartForConditionalGeneration(cfg)
    model.generation_config = generation_config(cfg)
    return model


def untrained_like(bundle: Bundle, seed: int = 0) -> Bundle:
    """A model of the same shape, formats and tokenizer as ``bundle``'s with freshly initialised
    weights (seeded): the baseline against which to read what a trained model does."""
    import copy

    config = copy.deepcopy(bundle.model.config)
    torch.manual_seed(seed)
    model = BartForConditionalGeneration(config)
    model.generation_config = copy.deepcopy(bundle.model.generation_config)
    return Bundle(model.eval(), bundle.tokenizer)


def count_parameters(model: torch.nn.Module) -> int:
    """Number of distinct parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in model.parameters())


@contextmanager
def quiet_progress() -> Iterator[None]:
    """Silence transformers' own progress bars (loading/writing shards of a small model) and
    its load reports (lagnb raises on a weights file that lacks tensors instead)."""
    from transformers.utils import logging as hf_logging

    was, level = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
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


def shipped_model_path() -> Path:
    """The folder of the small model shipped with lagnb (``lagnb/shipped/small-model``)."""
    return SHIPPED_DIR


def model_dir(path: str | os.PathLike | None = None) -> Path:
    """The model folder :func:`load_bundle` reads: the shipped model for ``None`` or ``""``; a
    relative path from the working directory when it exists there, else from the repository
    root (notebooks run in ``notebooks/`` and name ``runs/…``)."""
    if path is None or str(path) == "":
        return shipped_model_path()
    p = Path(path).expanduser()
    return p if p.is_absolute() or p.exists() else resolve_path(p)


def repair_hint(path: Path) -> str:
    """What to do about a damaged model folder: restore the shipped one, else replace or retrain."""
    if path.resolve() == shipped_model_path().resolve():
        return (
            "the shipped model is damaged: restore it (git checkout -- lagnb/shipped/small-model "
            "in a checkout) or reinstall lagnb"
        )
    return f"replace {path} with a good copy, or retrain it (lagnb train --out {path} …)"


def read_model(path: Path, fix: str, **kwargs: object) -> BartForConditionalGeneration:
    """``BartForConditionalGeneration.from_pretrained`` from a local folder, with every damaged
    or missing file a one-line :class:`LagnbError` that names the file and ends with ``fix``.

    A weights file that lacks some of the model's tensors is an error too: transformers would
    fill them with random numbers and only log it.
    """
    config_file = path / "config.json"
    if not config_file.is_file():
        raise LagnbError(f"no config.json in {path} (the model's shape); {fix}")
    try:
        config = BartConfig.from_pretrained(str(path), local_files_only=True)
    except Exception as exc:  # OSError, TypeError, validation errors …
        fault = json_fault(config_file) or one_line(exc)
        raise LagnbError(f"{config_file} is damaged ({fault}); {fix}") from None
    weights = next((path / n for n in WEIGHT_FILES if (path / n).is_file()), None)
    if weights is None:
        raise LagnbError(
            f"no model weights in {path} (expected model.safetensors or pytorch_model.bin); {fix}"
        )
    try:
        with quiet_progress():
            model, info = BartForConditionalGeneration.from_pretrained(
                str(path), config=config, local_files_only=True, output_loading_info=True, **kwargs
            )
    except Exception as exc:  # SafetensorError, UnpicklingError, RuntimeError (shapes) …
        raise LagnbError(f"{weights} is damaged ({one_line(exc)}); {fix}") from None
    absent = sorted(info["missing_keys"]) + sorted(k for k, *_ in info["mismatched_keys"])
    if absent:
        raise LagnbError(
            f"{weights} is damaged: {len(absent)} of the model's tensors are missing or of the "
            f"wrong shape (e.g. {absent[0]}); {fix}"
        )
    return model


def load_bundle(
    path: str | os.PathLike | None = None,
    attn_implementation: str | None = None,
    *,
    device: str | torch.device | None = None,
) -> Bundle:
    """Load a model and its tokenizer: lagnb's one model loader.

    Args:
        path: a local folder in lagnb's or the public BART-L layout (resolved by
            :func:`model_dir`: relative to the working directory, else the repository root);
            ``None`` or ``""``: the model shipped with lagnb.
        attn_implementation: ``"eager"`` is needed for attention weights
            (``output_attentions``); the default (sdpa) returns none.
        device: where the model goes (default: CPU).

    Raises :class:`LagnbError` for a missing folder, and for a damaged or missing
    ``config.json``, weights file or tokenizer file (or an unknown target format, or a
    compact-format model whose tokenizer lacks the field references), naming the file and the
    fix.
    """
    p = model_dir(path)
    if not (p / "config.json").is_file():
        raise LagnbError(
            f"no model at {str(p)!r}: expected a folder with config.json, model weights and "
            "tokenizer files (train one with 'lagnb train', or use the shipped model)"
        )
    fix = repair_hint(p)
    kw: dict[str, object] = {}
    if attn_implementation is not None:
        kw["attn_implementation"] = attn_implementation
    model = read_model(p, fix, **kw)
    tokenizer = load_tokenizer(p, fix=fix)
    if len(tokenizer) > model.config.vocab_size:
        raise LagnbError(
            f"{p / 'tokenizer.json'} has {len(tokenizer)} tokens but the model in {p} has "
            f"{model.config.vocab_size} (a tokenizer from another model?); {fix}"
        )
    vocab = tokenizer.get_vocab()
    records = (
        ("target format", target_format_of(model.config), TARGET_FORMATS, FIELD_REFS),
        ("input format", input_format_of(model.config), INPUT_FORMATS, INPUT_WORDS),
        ("term order", term_order_of(model.config), TERM_ORDERS, ()),
    )
    for what, value, known, words in records:
        if value not in known:
            raise LagnbError(
                f"{p / 'config.json'} records the unknown {what} {value!r} (expected one of "
                f"{', '.join(known)}); {fix}"
            )
        # "compact" names both a target and an input format; "conjugates" only an input format
        if value in COMPACT_INPUTS and not set(words) <= vocab.keys():
            raise LagnbError(
                f"{p / 'tokenizer.json'} lacks the tokens of the compact {what} ({words[0]} …) "
                f"that {p / 'config.json'} records; {fix}"
            )
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


def size_table(tokenizer: PreTrainedTokenizerFast | None = None) -> list[dict[str, object]]:
    """One row per model size: shape and parameter count (counted on the meta device, so even
    ``large`` costs no memory)."""
    from lagnb.ml.tokenizer import build_tokenizer

    tok = tokenizer or build_tokenizer()
    rows = []
    for name, p in SIZES.items():
        with torch.device("meta"):
            model = BartForConditionalGeneration(bart_config(name, tok))
        rows.append({"size": name, **p, "parameters": count_parameters(model)})
    return rows
