"""Helpers for the model tests: tiny datasets from the engine and tiny models (CPU, seconds)."""

from __future__ import annotations

from pathlib import Path

from lagnb.data.features import features
from lagnb.data.reader import FORMAT_VERSION, part_path
from lagnb.data.sampling import content_key
from lagnb.data.writer import write_json, write_rows
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field

FIELD_LISTS: list[list[Field]] = [
    [Field.scalar()],
    [Field.scalar(1, 2, 1)],
    [Field.left(1, 1, 0)],
    [Field.right(1, 1, -2)],
    [Field.left(1, 2, -1)],
    [Field.scalar(1, 1, 0), Field.left(1, 1, 0)],
    [Field.scalar(1, 2, 1), Field.scalar(1, 1, 2)],
    [Field.left(1, 2, -1), Field.right(1, 1, -2)],
    [Field.scalar(3, 1, "2/3")],
    [Field.scalar(1, 3, 0)],
    [Field.left(3, 1, "1/3")],
    [Field.scalar(1, 2, -1), Field.right(1, 2, 1)],
]

TINY = dict(
    d_model=32,
    encoder_layers=1,
    decoder_layers=1,
    encoder_ffn_dim=64,
    decoder_ffn_dim=64,
    encoder_attention_heads=2,
    decoder_attention_heads=2,
    max_position_embeddings=512,
)


def row(fields: list[Field]) -> dict:
    lag = lagrangian(fields)
    target = lag.tokens()
    return {
        "input": lag.input_tokens(),
        "target": target,
        "n_fields": len(fields),
        "n_scalars": sum(f.is_scalar for f in fields),
        "n_terms": len(lag.term_tokens()),
        "input_len": len(lag.input_tokens().split()),
        "target_len": len(target.split()),
        "content_key": content_key(fields),
        **features(lag).as_columns(),
        "proposal": "test",
    }


def write_dataset(root: Path) -> Path:
    """A complete dataset (lagnb.data.reader's layout): train = all field lists (twice),
    valid/test = a few, ood = a three-field list."""
    rows = [row(f) for f in FIELD_LISTS]
    splits = {
        "train": rows * 2,
        "valid": rows[:4],
        "test": rows[:3],
        "ood": [row([Field.scalar(1, 2, 1), Field.left(1, 2, -1), Field.right(1, 1, -2)])],
    }
    for split, rs in splits.items():
        write_rows(part_path(root, split, 0), rs)
    counts = {split: len(rs) for split, rs in splits.items()}
    write_json(root / "meta.json", {"format": FORMAT_VERSION, "kind": "test", "counts": counts})
    return root


def tiny_train_config(data: Path | str, out: Path | str, **kw):
    """A :class:`~lagnb.ml.train.TrainConfig` for a tiny model (:data:`TINY`) on one thread,
    batches of 4, one validation batch; ``kw`` sets the rest (steps, schedule, formats)."""
    from lagnb.ml.train import TrainConfig

    base = dict(
        data=str(data),
        out=str(out),
        size="tiny",
        batch_size=4,
        eval_batches=1,
        threads=1,
        model_overrides=TINY,
    )
    return TrainConfig(**{**base, **kw})
