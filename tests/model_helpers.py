"""Helpers for the model tests: tiny datasets from the engine and tiny models (CPU, seconds)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

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
        "n_terms": len(lag.term_tokens()),
        "input_len": len(lag.input_tokens().split()),
        "target_len": len(target.split()),
        "has_fermion": any(f.is_fermion for f in fields),
    }


def write_dataset(root: Path) -> Path:
    """Train = all field lists (twice), valid/test = a few, ood = a three-field list."""
    rows = [row(f) for f in FIELD_LISTS]
    splits = {
        "train": rows * 2,
        "valid": rows[:4],
        "test": rows[:3],
        "ood": [row([Field.scalar(1, 2, 1), Field.left(1, 2, -1), Field.right(1, 1, -2)])],
    }
    for split, rs in splits.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rs), root / split / "part-00000.parquet")
    return root
