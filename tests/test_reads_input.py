"""The model must read its input: what a Lagrangian model has to learn, tested on what it wrote.

A decoder that ignores its encoder can reach a low loss (most target tokens can be copied from
its own prefix) and earn a fair F1 (gauge kinetic terms depend only on the groups), so these
tests ask what only a model that reads the field list can do:

* its loss with the right field lists is far below its loss with the field lists swapped
  between examples;
* different field lists give different outputs;
* for a field list it was trained on, it writes the engine's Lagrangian exactly.

A tiny model trained here for a minute (seeded, one thread) must pass all three; the shipped
model must pass the first two on contents of its own domain.  The `small` model shipped before
this test existed (trained at learning rate 2·10⁻³, its encoder collapsed) fails both.
"""

from __future__ import annotations

import pytest
import torch
from model_helpers import row, tiny_train_config

from lagnb.data.reader import FORMAT_VERSION, part_path
from lagnb.data.writer import write_json, write_rows
from lagnb.ml.evaluate import input_sensitivity
from lagnb.ml.generate import generate_batch
from lagnb.ml.metrics import score_lagrangian
from lagnb.ml.model import load_bundle, scaled_init_std
from lagnb.ml.train import train
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field

pytestmark = pytest.mark.slow

RAW = dict(constrained=False, certified=False)
"""The model's own greedy output, as written: these tests are about the model."""

# One-field contents whose Lagrangians differ only through the field's quantum numbers: a
# scalar and a left-handed fermion for each (SU(2), Y).
CHARGES = [(1, "0"), (1, "1"), (1, "-2"), (2, "1"), (2, "-1"), (2, "1/3"), (3, "0"), (3, "2")]
ONE_FIELD = [[make(1, su2, y)] for su2, y in CHARGES for make in (Field.scalar, Field.left)]
HIGGS = [Field.scalar(1, 2, 1)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A `tiny` model trained for 500 steps on the 16 one-field contents (about a minute), with
    the shipped model's recipe: compact inputs and targets, initial weights d_model^-½."""
    data = tmp_path_factory.mktemp("one-field")
    rows = [row(f) for f in ONE_FIELD]
    splits = {"train": rows, "valid": rows, "test": rows, "ood": rows[:1]}
    for split, rs in splits.items():
        write_rows(part_path(data, split, 0), rs)
    counts = {split: len(rs) for split, rs in splits.items()}
    write_json(data / "meta.json", {"format": FORMAT_VERSION, "kind": "test", "counts": counts})
    out = tmp_path_factory.mktemp("model")
    cfg = tiny_train_config(
        data,
        out,
        steps=500,
        batch_size=8,
        lr=2e-3,
        warmup=20,
        eval_every=250,
        eval_batches=2,
        save_every=10_000,
        log_every=50,
        seed=0,
        keep_checkpoint=False,
        target_format="compact",
        input_format="compact",
        model_overrides={"init_std": scaled_init_std("tiny")},
    )
    train(cfg, progress=False)
    return load_bundle(out), rows


def test_loss_depends_on_the_field_list(trained):
    bundle, rows = trained
    s = input_sensitivity(bundle, [{"input": r["input"], "target": r["target"]} for r in rows])
    # compact targets of one-field contents share most tokens (every field is F0), so the
    # swapped-input loss is low in nats per token, but far above the loss with the right inputs
    assert s["gap"] > 0.1, s
    assert s["shuffled_inputs_loss"] > 20 * s["loss"], s


def test_different_field_lists_give_different_lagrangians(trained):
    bundle, rows = trained
    torch.manual_seed(0)
    outputs = generate_batch(bundle, [r["input"] for r in rows], batch_size=16, **RAW)
    assert len(set(outputs)) >= 15, f"{len(set(outputs))} distinct outputs for 16 inputs"


def test_a_trained_field_list_gives_the_engine_lagrangian(trained):
    bundle, rows = trained
    torch.manual_seed(0)
    outputs = generate_batch(bundle, [r["input"] for r in rows], batch_size=16, **RAW)
    exact = [score_lagrangian(o, r["target"]).exact for o, r in zip(outputs, rows)]
    assert sum(exact) >= 14, f"{sum(exact)} of 16 exact"
    (higgs,) = generate_batch(bundle, [lagrangian(HIGGS).input_tokens()], **RAW)
    assert score_lagrangian(higgs, lagrangian(HIGGS).tokens()).exact


# -- the shipped model --------------------------------------------------------------------------
# Contents of its domain (1–3 fields, SU(3) 1/3/3̄, SU(2) 1/2/3), none of them a catalogue model.
SHIPPED_DOMAIN = [
    *([f] for f in (Field.scalar(1, 2, 1), Field.scalar(3, 1, "2/3"), Field.scalar(1, 3, 2))),
    *([f] for f in (Field.left(1, 2, -1), Field.right(3, 1, "4/3"), Field.left(-3, 1, "2/3"))),
    [Field.scalar(1, 1, 0), Field.left(1, 1, 0)],
    [Field.scalar(1, 2, 1), Field.scalar(1, 1, 2)],
    [Field.left(1, 2, -1), Field.right(1, 1, -2)],
    [Field.scalar(3, 2, "1/3"), Field.scalar(1, 1, 0)],
    [Field.left(1, 2, 1), Field.right(1, 1, 0), Field.scalar(1, 2, 1)],
    [Field.scalar(1, 3, 0), Field.scalar(1, 2, 1)],
]


@pytest.fixture(scope="module")
def shipped():
    return load_bundle()


def test_shipped_model_loss_depends_on_the_field_list(shipped):
    examples = [
        {"input": lag.input_tokens(), "target": lag.tokens()}
        for lag in (lagrangian(f) for f in SHIPPED_DOMAIN)
    ]
    s = input_sensitivity(shipped, examples)
    assert s["gap"] > 0.2, s


def test_shipped_model_writes_different_lagrangians_for_different_fields(shipped):
    torch.manual_seed(0)
    inputs = [lagrangian(f).input_tokens() for f in SHIPPED_DOMAIN]
    outputs = generate_batch(shipped, inputs, batch_size=4, **RAW)
    assert len(set(outputs)) >= len(inputs) - 1, f"{len(set(outputs))} of {len(inputs)} distinct"
