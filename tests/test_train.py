"""Training: a few steps of a tiny model, resume equivalence, the CLI, evaluation of the result."""

import json

import pytest
import torch
from model_helpers import TINY, tiny_train_config, write_dataset
from safetensors.torch import load_file

from lagnb.cli import main
from lagnb.errors import LagnbError
from lagnb.ml.train import TrainConfig, epoch_batches, lr_lambda, train


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"))


def cfg(data, out, **kw) -> TrainConfig:
    base = dict(
        steps=6, grad_accum=2, lr=3e-3, warmup=2, eval_every=3, save_every=100, log_every=2, seed=5
    )
    return tiny_train_config(data, out, **{**base, **kw})


def weights(path):
    return load_file(str(path / "model.safetensors"))


def test_resume_gives_the_same_weights(data, tmp_path):
    full = train(cfg(data, tmp_path / "full"), progress=False)
    assert full["finished"] and full["step"] == 6
    part = train(cfg(data, tmp_path / "part"), stop_after=3, progress=False)
    assert not part["finished"] and part["step"] == 3
    assert (tmp_path / "part" / "checkpoint" / "state.json").is_file()
    assert not (tmp_path / "part" / "model.safetensors").exists()
    resumed = train(cfg(data, tmp_path / "part"), progress=False)
    assert resumed["finished"] and resumed["step"] == 6
    a, b = weights(tmp_path / "full"), weights(tmp_path / "part")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert full["history"] == [
        {**h, "elapsed": full["history"][i]["elapsed"]} for i, h in enumerate(resumed["history"])
    ]
    # a different seed gives different weights (the comparison above can fail)
    other = train(cfg(data, tmp_path / "other", seed=6), progress=False)
    assert other["finished"]
    c = weights(tmp_path / "other")
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_resume_refuses_other_settings(data, tmp_path):
    train(cfg(data, tmp_path / "r"), stop_after=2, progress=False)
    with pytest.raises(LagnbError, match=r"other settings \(steps: 6 -> 8, lr"):
        train(cfg(data, tmp_path / "r", steps=8, lr=1e-3), progress=False)
    # logging settings may change; fresh starts over
    state = train(cfg(data, tmp_path / "r", log_every=1), stop_after=3, progress=False)
    assert state["step"] == 3
    state = train(cfg(data, tmp_path / "r", steps=8), stop_after=1, progress=False, fresh=True)
    assert state["step"] == 1


def test_init_from_continues_a_trained_model(data, tmp_path):
    train(cfg(data, tmp_path / "first", steps=20, lr=5e-3), progress=False)
    first = weights(tmp_path / "first")
    # a vanishing learning rate: the continued run ends where the first one did
    train(
        cfg(data, tmp_path / "again", init_from=str(tmp_path / "first"), lr=1e-12), progress=False
    )
    again = weights(tmp_path / "again")
    assert all(torch.allclose(first[k], again[k], atol=1e-6) for k in first)
    # a fresh model with the same seed is somewhere else, so the comparison above can fail
    train(cfg(data, tmp_path / "fresh", lr=1e-12), progress=False)
    fresh = weights(tmp_path / "fresh")
    assert any(not torch.allclose(first[k], fresh[k], atol=1e-6) for k in first)
    # the run's configuration says where its weights came from
    log = json.loads((tmp_path / "again" / "train_log.json").read_text())
    assert log["config"]["init_from"] == str(tmp_path / "first")
    with pytest.raises(
        LagnbError, match="has target format 'bart-l'; pass --target-format bart-l to train it on"
    ):
        train(
            cfg(data, tmp_path / "x", init_from=str(tmp_path / "first"), target_format="compact"),
            progress=False,
        )
    # a shape that is not the model's is an error, not silently ignored
    with pytest.raises(LagnbError, match="has d_model 32, not 48: --init-from continues a model"):
        train(
            cfg(
                data,
                tmp_path / "w",
                init_from=str(tmp_path / "first"),
                model_overrides={**TINY, "d_model": 48},
            ),
            progress=False,
        )
    with pytest.raises(LagnbError, match=r"--init-from .*missing: no such folder"):
        train(cfg(data, tmp_path / "y", init_from=str(tmp_path / "missing")), progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        LagnbError, match=r"no tokenizer\.json in .*empty.*pass --init-from a model"
    ):
        train(cfg(data, tmp_path / "z", init_from=str(tmp_path / "empty")), progress=False)


def test_outputs_loss_goes_down_and_log(data, tmp_path):
    out = tmp_path / "run"
    state = train(cfg(data, out, steps=30, eval_every=10, lr=5e-3, grad_accum=1), progress=False)
    log = json.loads((out / "train_log.json").read_text())
    assert log["step"] == 30 and log["parameters"] > 0
    valid = [h["valid_loss"] for h in log["history"] if "valid_loss" in h]
    assert len(valid) == 3 and valid[-1] < valid[0]
    wrong = [h["valid_loss_wrong_fields"] for h in log["history"] if "valid_loss" in h]
    assert len(wrong) == 3 and all(w > 0 for w in wrong)
    assert (out / "loss.png").stat().st_size > 1000
    for f in ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json"):
        assert (out / f).is_file()
    assert state["tokens"] > 0


def test_batches_and_schedule():
    import numpy as np

    lengths = np.array([5, 1, 9, 3, 7, 2, 8, 4, 6, 10])
    a = epoch_batches(lengths, 3, seed=0, epoch=0)
    assert sorted(np.concatenate(a).tolist()) == list(range(10))
    assert [x.tolist() for x in a] == [x.tolist() for x in epoch_batches(lengths, 3, 0, 0)]
    assert [x.tolist() for x in a] != [x.tolist() for x in epoch_batches(lengths, 3, 0, 1)]
    f = lr_lambda(TrainConfig(data="", out="", steps=100, warmup=10, min_lr_ratio=0.1))
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(100) == pytest.approx(0.1) and f(55) == pytest.approx(0.55)


def test_cli_train_then_evaluate(tmp_path, capsys):
    """On a dataset sampled by the project's own sampler (lagnb.data.build)."""
    from lagnb.data.build import ensure_dataset

    data = ensure_dataset(
        tmp_path / "data",
        n=24,
        max_fields=2,
        max_target_len=300,
        n_ood=2,
        workers=1,
        progress=False,
        seed=1,
    )
    out = tmp_path / "cli"
    rc = main(
        [
            "train",
            "--size",
            "tiny",
            "--data",
            str(data),
            "--out",
            str(out),
            "--steps",
            "2",
            "--batch-size",
            "4",
            "--eval-every",
            "1",
            "--threads",
            "1",
            "--init-std",
            "0.125",
            "--no-keep-checkpoint",
        ]
    )
    assert rc == 0
    assert (out / "model.safetensors").is_file() and not (out / "checkpoint").exists()
    assert json.loads((out / "config.json").read_text())["init_std"] == 0.125
    fc1 = weights(out)["model.encoder.layers.0.fc1.weight"]  # two small steps from its init
    assert 0.11 < float(fc1.std()) < 0.14
    shown = capsys.readouterr()
    assert "finished at step 2" in shown.out
    # the target preparation before step 1 (minutes on a large dataset) shows its progress
    assert "preparing train targets" in shown.err and "preparing valid targets" in shown.err
    rc = main(
        [
            "evaluate",
            "--model",
            str(out),
            "--data",
            str(data),
            "--max-examples",
            "2",
            "--no-benchmarks",
            "--json",
        ]
    )
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert {r["split"] for r in res["by_split"]} <= {"test", "ood"}
    from lagnb.data.reader import load_split

    expected = sum(min(2, len(load_split(data, s))) for s in ("test", "ood"))
    assert res["meta"]["examples"] == expected == sum(r["n"] for r in res["by_split"])
    # certified by default: what is left is valid; the raw validity and the drops are reported
    assert res["meta"]["constrained"] and res["meta"]["certified"]
    overall = res["overall"][0]
    assert {"raw_validity", "dropped_terms"} <= set(overall)
    assert overall["validity"] in (1, None)  # 1, or NaN (null) when nothing was left


def test_bad_device(data, tmp_path):
    with pytest.raises(LagnbError, match="device must be cpu or cuda"):
        train(cfg(data, tmp_path / "o", device="tpu"), progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(LagnbError, match="no CUDA device"):
            train(cfg(data, tmp_path / "o", device="cuda"), progress=False)


def test_missing_data(tmp_path):
    with pytest.raises(LagnbError, match="no complete dataset"):
        train(cfg(tmp_path, tmp_path / "o"), progress=False)
