"""Training a BART-L model: a compact loop (nanoGPT style) on top of ``accelerate``.

* The device is chosen automatically (CUDA if present); on GPU the model runs in bf16 autocast
  with sdpa attention.  ``accelerate launch``/``torchrun`` spread the same script over several
  GPUs with no code change (each process takes every ``world``-th micro-batch).
* Runs are seeded and deterministic on a fixed thread count: the data order of epoch ``e`` is a
  permutation drawn from ``seed + e`` and dropout is reseeded at every step from
  ``seed + step``, so a resumed run gives the same weights as an uninterrupted one.
* ``OUT/checkpoint/`` holds the resumable state (model, tokenizer, optimizer, scheduler,
  step, loss history), written atomically every ``save_every`` steps and on interruption;
  the final model is written to ``OUT/`` as a bundle (:func:`lagnb.ml.model.save_bundle`) with
  ``train_log.json`` and ``loss.png``.
* Batches group examples of similar length (less padding): chunks of 50 batches are sorted by
  target length, cut into batches, and the batch order is shuffled.
* ``target_format`` (:mod:`lagnb.ml.targets`) is the spelling the model learns to write:
  ``"bart-l"`` (default) or ``"compact"``.  Datasets stay BART-L on disk; each target is
  converted when it is tokenised (so ``max_target_len`` counts model-format tokens), and the
  format is recorded in the model's ``config.json`` (``lagnb_target_format``).
  ``input_format`` likewise is the spelling of the field list the model reads (``"compact"``:
  five tokens a field, charges as single tokens; ``lagnb_input_format``).
* ``init_from`` starts from a trained model folder's weights (same formats) with a new
  optimizer and learning-rate schedule, to train a model further.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lagnb.data.reader import load_split
from lagnb.errors import LagnbError
from lagnb.ml.model import (
    _atomic_replace,
    build_model,
    check_size,
    count_parameters,
    input_format_of,
    quiet_progress,
    read_model,
    save_bundle,
    set_input_format,
    set_target_format,
    set_term_order,
    target_format_of,
    term_order_of,
)
from lagnb.ml.targets import (
    check_format,
    check_input_format,
    check_term_order,
    ordered_terms,
    to_model,
)
from lagnb.ml.tokenizer import (
    build_tokenizer,
    encode_input,
    encode_target,
    load_tokenizer,
    one_line,
)
from lagnb.physics.fields import parse_fields

IGNORE = -100


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved with every checkpoint)."""

    data: str
    out: str
    size: str = "tiny"
    steps: int = 200
    batch_size: int = 16
    grad_accum: int = 1
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup: int = 20
    weight_decay: float = 0.01
    clip: float = 1.0
    seed: int = 0
    eval_every: int = 50
    eval_batches: int = 8
    save_every: int = 100
    log_every: int = 10
    max_target_len: int | None = None
    max_examples: int | None = None
    device: str | None = None
    threads: int | None = None
    keep_checkpoint: bool = True
    model_overrides: dict[str, Any] = field(default_factory=dict)
    target_format: str = "bart-l"
    input_format: str = "bart-l"
    term_order: str = "engine"
    init_from: str | None = None


# -- data ----------------------------------------------------------------------------------------
def model_target(
    input_string: str, target: str, target_format: str, term_order: str = "engine"
) -> str:
    """A dataset target (BART-L) in the model's ``term_order`` and ``target_format``, for the
    field list ``input_string`` (:func:`lagnb.ml.targets.ordered_terms`,
    :func:`lagnb.ml.targets.to_model`)."""
    target = ordered_terms(target, term_order)
    if target_format == "bart-l":
        return target
    return to_model(parse_fields(input_string), target, target_format)


def tokenize_split(
    ds,
    tokenizer,
    max_len: int,
    max_examples: int | None = None,
    target_format: str = "bart-l",
    input_format: str = "bart-l",
    term_order: str = "engine",
    progress: str | None = None,
):
    """Add ``input_ids`` (the field list in ``input_format``) and ``labels`` (target in
    ``target_format`` + [EOS]); drop rows longer than ``max_len`` (model-format tokens).

    ``progress``: a label for a progress bar (converting tens of thousands of targets to the
    compact format takes minutes); none by default."""
    if max_examples is not None and len(ds) > max_examples:
        ds = ds.select(range(max_examples))

    from tqdm import tqdm

    bar = tqdm(total=len(ds), desc=progress, unit="target", disable=not progress)

    def enc(batch: dict[str, list]) -> dict[str, list]:
        encoded = {
            "input_ids": [encode_input(tokenizer, s, input_format) for s in batch["input"]],
            "labels": [
                encode_target(tokenizer, model_target(i, t, target_format, term_order))
                for i, t in zip(batch["input"], batch["target"])
            ],
        }
        bar.update(len(batch["input"]))
        return encoded

    import datasets

    keep = ["input_ids", "labels"]
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # our own bar: datasets' would be a widget in a notebook
    try:
        drop = [c for c in ds.column_names if c not in keep]
        ds = ds.map(enc, batched=True, remove_columns=drop, keep_in_memory=True)
    finally:
        bar.close()
        if bars:
            datasets.enable_progress_bars()
    lengths = np.array([max(len(a), len(b)) for a, b in zip(ds["input_ids"], ds["labels"])])
    ok = np.nonzero(lengths <= max_len)[0]
    if len(ok) < len(ds):
        ds = ds.select(ok.tolist())
    return ds


def collate(rows: list[dict[str, list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a list of examples to tensors (labels padded with -100)."""
    n_in = max(len(r["input_ids"]) for r in rows)
    n_out = max(len(r["labels"]) for r in rows)
    ids = torch.full((len(rows), n_in), pad_id, dtype=torch.long)
    att = torch.zeros((len(rows), n_in), dtype=torch.long)
    lab = torch.full((len(rows), n_out), IGNORE, dtype=torch.long)
    for k, r in enumerate(rows):
        ids[k, : len(r["input_ids"])] = torch.tensor(r["input_ids"])
        att[k, : len(r["input_ids"])] = 1
        lab[k, : len(r["labels"])] = torch.tensor(r["labels"])
    return {"input_ids": ids, "attention_mask": att, "labels": lab}


def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """The batches (index arrays) of one epoch: length-bucketed, order seeded by seed+epoch."""
    rng = np.random.default_rng(seed + 1000003 * epoch)
    perm = rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(perm), chunk):
        part = perm[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


class MicroBatches:
    """Micro-batch number m → padded batch, for any m (epochs cycle with new seeds)."""

    def __init__(self, ds, batch_size: int, seed: int, pad_id: int):
        self.ds, self.batch_size, self.seed, self.pad_id = ds, batch_size, seed, pad_id
        self.lengths = np.array([len(x) for x in ds["labels"]])
        self.per_epoch = math.ceil(len(ds) / batch_size)
        self._epoch, self._batches = -1, []

    def __getitem__(self, m: int) -> dict[str, torch.Tensor]:
        epoch, k = divmod(m, self.per_epoch)
        if epoch != self._epoch:
            self._epoch = epoch
            self._batches = epoch_batches(self.lengths, self.batch_size, self.seed, epoch)
        idx = self._batches[k].tolist()
        rows = self.ds[idx]
        return collate(
            [{"input_ids": a, "labels": b} for a, b in zip(rows["input_ids"], rows["labels"])],
            self.pad_id,
        )


# -- schedule, checkpoints -------------------------------------------------------------------------
def lr_lambda(cfg: TrainConfig):
    """Linear warm-up, then cosine decay to ``min_lr_ratio`` at ``cfg.steps``."""

    def f(step: int) -> float:
        if step < cfg.warmup:
            return (step + 1) / cfg.warmup
        t = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))

    return f


def save_checkpoint(path: Path, model, tokenizer, optimizer, scheduler, state: dict) -> None:
    """Write the full resumable state to ``path`` atomically (temp folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        with quiet_progress():
            model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        torch.save(
            {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
            tmp / "optimizer.pt",
        )
        (tmp / "state.json").write_text(json.dumps(state, indent=1))
        _atomic_replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def plot_losses(history: list[dict], path: str | Path, title: str = "") -> None:
    """Training and validation loss against optimizer step, as a PNG (log scale)."""
    import matplotlib.ticker

    from lagnb.figures import new_figure

    fig, ax = new_figure(figsize=(6, 4))
    tr = [(h["step"], h["train_loss"]) for h in history if h.get("train_loss") is not None]
    va = [(h["step"], h["valid_loss"]) for h in history if h.get("valid_loss") is not None]
    if tr:
        ax.plot(*zip(*tr), label="train", lw=1)
    wrong = [
        (h["step"], h["valid_loss_wrong_fields"])
        for h in history
        if h.get("valid_loss_wrong_fields") is not None
    ]
    if va:
        ax.plot(*zip(*va), "o-", label="valid", ms=3)
    if wrong:
        ax.plot(*zip(*wrong), "x--", label="valid, wrong field lists", ms=4, lw=1, color="grey")
    ax.set_yscale("log")
    fmt = matplotlib.ticker.FormatStrFormatter("%.2g")
    ax.yaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs=(2.0, 3.0, 5.0)))
    ax.yaxis.set_major_formatter(fmt)
    ax.yaxis.set_minor_formatter(fmt)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy per token (nats)")
    ax.set_title(title or "BART-L training")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# -- the loop --------------------------------------------------------------------------------------
@torch.no_grad()
def paired_losses(model, batch: dict[str, torch.Tensor]) -> tuple[float, float]:
    """Mean token loss of ``batch`` with its own field lists, and with each example given the
    next example's field list (the encoder inputs rolled by one); the labels are the model's
    targets, in its target format.

    The pair tells whether the model reads its input at all: a decoder can learn to copy field
    blocks from its own prefix and ignore the encoder, and then both losses agree.
    """
    perm = torch.roll(torch.arange(len(batch["labels"]), device=batch["labels"].device), 1)
    right = model(**batch).loss
    wrong = model(
        input_ids=batch["input_ids"][perm],
        attention_mask=batch["attention_mask"][perm],
        labels=batch["labels"],
    ).loss
    return float(right), float(wrong)


@torch.no_grad()
def evaluate_loss(
    model, batches: list[dict[str, torch.Tensor]], accelerator
) -> tuple[float, float]:
    """:func:`paired_losses` over fixed validation batches (dropout off), token-weighted."""
    was_training = model.training
    model.eval()
    total = shuffled = count = 0.0
    for b in batches:
        b = {k: v.to(accelerator.device) for k, v in b.items()}
        with accelerator.autocast():
            right, wrong = paired_losses(model, b)
        n = int((b["labels"] != IGNORE).sum())
        total += right * n
        shuffled += wrong * n
        count += n
    model.train(was_training)
    return total / max(count, 1.0), shuffled / max(count, 1.0)


RUN_FIELDS = (
    "data", "size", "steps", "batch_size", "grad_accum", "lr", "min_lr_ratio", "warmup",
    "weight_decay", "clip", "seed", "max_target_len", "max_examples", "model_overrides",
    "target_format", "input_format", "term_order", "init_from",
)  # fmt: skip
"""Configuration fields that define the run: a checkpoint resumes only with the same values."""


def _read_json(path: Path, fix: str) -> dict[str, Any]:
    """A checkpoint's JSON file; a damaged one is a :class:`LagnbError` naming it and ``fix``."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise LagnbError(f"{path} is damaged ({one_line(exc)}); {fix}") from None
    if not isinstance(data, dict):
        raise LagnbError(f"{path} is damaged (not a JSON object); {fix}")
    return data


def check_resumable(saved: dict[str, Any], cfg: TrainConfig) -> None:
    """Raise :class:`LagnbError` naming the fields in which ``cfg`` differs from the
    checkpoint's configuration (resuming would silently mix two runs)."""
    now = asdict(cfg)
    if "preset" in saved:  # checkpoints written before the model size was called "size"
        saved = {**saved, "size": saved["preset"]}
    diff = [k for k in RUN_FIELDS if k in saved and saved[k] != now[k]]
    if diff:
        changes = ", ".join(f"{k}: {saved[k]!r} -> {now[k]!r}" for k in diff)
        raise LagnbError(
            f"{cfg.out}/checkpoint is from a run with other settings ({changes}); "
            "resume with the same settings, use another --out, or pass --fresh to start over"
        )


def _format_mismatch(model: Any, cfg: TrainConfig) -> list[tuple[str, str]]:
    """``(what, the model's value)`` for each of the target and input formats in which a
    loaded model differs from ``cfg``."""
    pairs = (
        ("target format", target_format_of(model.config), cfg.target_format),
        ("input format", input_format_of(model.config), cfg.input_format),
        ("term order", term_order_of(model.config), cfg.term_order),
    )
    return [(what, has) for what, has, want in pairs if has != want]


def train(
    cfg: TrainConfig,
    *,
    stop_after: int | None = None,
    progress: bool = True,
    fresh: bool = False,
) -> dict:
    """Train (or resume) a model as configured; return the final state (history, paths).

    An existing ``OUT/checkpoint`` is resumed (it must come from the same settings, see
    :data:`RUN_FIELDS`); ``fresh=True`` deletes it first.  ``stop_after`` stops (with a
    checkpoint) after that many optimizer steps in total, as an interruption would.
    """
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm import tqdm

    check_size(cfg.size)
    check_format(cfg.target_format)
    check_input_format(cfg.input_format)
    check_term_order(cfg.term_order)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.device not in (None, "cpu", "cuda"):
        raise LagnbError(f"device must be cpu or cuda (or unset: automatic), got {cfg.device!r}")
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise LagnbError("device 'cuda' was asked for, but no CUDA device is available here")
    cpu = cfg.device == "cpu" or (cfg.device is None and not torch.cuda.is_available())
    bf16 = not cpu and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    accelerator = Accelerator(cpu=cpu, mixed_precision="bf16" if bf16 else "no")
    out = Path(cfg.out)
    ckpt = out / "checkpoint"
    main = accelerator.is_main_process

    if fresh and main:
        shutil.rmtree(ckpt, ignore_errors=True)
    accelerator.wait_for_everyone()
    resumed = (ckpt / "state.json").is_file()
    state: dict[str, Any]
    fix = f"start over with 'lagnb train … --fresh' (or fresh=True), which deletes {ckpt}"
    if resumed:
        state = _read_json(ckpt / "state.json", fix)
        check_resumable(state.get("config", {}), cfg)
        tokenizer = load_tokenizer(ckpt, fix=fix)
        model = read_model(ckpt, fix)
        for what, has in _format_mismatch(model, cfg):
            raise LagnbError(f"{ckpt} holds a model with {what} {has!r}; {fix}")
    elif cfg.init_from:  # fine-tune: another model's weights, a fresh optimizer and schedule
        state = {"step": 0, "history": [], "tokens": 0, "elapsed": 0.0}
        source = Path(cfg.init_from)
        fix = "pass --init-from a model folder written by 'lagnb train'"
        if not source.is_dir():
            raise LagnbError(f"--init-from {source}: no such folder; {fix}")
        tokenizer = load_tokenizer(source, fix=fix)
        model = read_model(source, fix)
        for what, has in _format_mismatch(model, cfg):
            option = "--" + what.replace(" ", "-")
            raise LagnbError(f"{source} has {what} {has!r}; pass {option} {has} to train it on")
        for key, value in cfg.model_overrides.items():
            has = getattr(model.config, key, None)
            if has != value:
                raise LagnbError(
                    f"{source} has {key} {has!r}, not {value!r}: --init-from continues a model "
                    "with its own shape and weights (leave out --shape and --init-std)"
                )
    else:
        state = {"step": 0, "history": [], "tokens": 0, "elapsed": 0.0}
        tokenizer = build_tokenizer()
        model = build_model(cfg.size, tokenizer, seed=cfg.seed, **cfg.model_overrides)
        set_target_format(model, cfg.target_format)
        set_input_format(model, cfg.input_format)
        set_term_order(model, cfg.term_order)
    state["config"] = asdict(cfg)
    positions = model.config.max_position_embeddings
    max_len = min(positions, cfg.max_target_len + 1) if cfg.max_target_len else positions

    fmts = (cfg.target_format, cfg.input_format, cfg.term_order)
    show = progress and main
    train_ds = tokenize_split(
        load_split(cfg.data, "train"),
        tokenizer,
        max_len,
        cfg.max_examples,
        *fmts,
        progress="preparing train targets" if show else None,
    )
    valid_ds = tokenize_split(
        load_split(cfg.data, "valid"),
        tokenizer,
        max_len,
        None,
        *fmts,
        progress="preparing valid targets" if show else None,
    )
    if len(train_ds) == 0:
        raise LagnbError(f"no training examples of length ≤ {max_len} in {cfg.data}")
    micro = MicroBatches(train_ds, cfg.batch_size, cfg.seed, tokenizer.pad_token_id)
    valid = MicroBatches(valid_ds, cfg.batch_size, cfg.seed, tokenizer.pad_token_id)
    valid_batches = [valid[k] for k in range(min(cfg.eval_batches, valid.per_epoch))]

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=cfg.lr,
        betas=(0.9, 0.98),
        eps=1e-8,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg))
    if resumed:
        try:
            opt = torch.load(ckpt / "optimizer.pt", map_location="cpu", weights_only=False)
            optimizer.load_state_dict(opt["optimizer"])
            scheduler.load_state_dict(opt["scheduler"])
        except Exception as exc:  # OSError, UnpicklingError, EOFError, KeyError, ValueError …
            raise LagnbError(
                f"{ckpt / 'optimizer.pt'} is damaged ({one_line(exc)}); {fix}"
            ) from None
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()

    world, rank = accelerator.num_processes, accelerator.process_index
    n_params = count_parameters(accelerator.unwrap_model(model))
    if main:
        print(
            f"lagnb train: size {cfg.size} ({n_params / 1e6:.2f}M parameters), "
            f"{len(train_ds)} train / {len(valid_ds)} valid examples, device {accelerator.device}"
            f"{' bf16' if bf16 else ''}, {world} process(es)"
            + (f", resuming at step {state['step']}" if resumed else "")
        )

    interrupted = {"flag": False}

    def on_sigterm(signum, frame):  # finish the step, checkpoint, stop
        interrupted["flag"] = True

    old_handler = signal.signal(signal.SIGTERM, on_sigterm) if main else None
    end = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    bar = tqdm(
        total=cfg.steps,
        initial=state["step"],
        disable=not (progress and main),
        desc="train",
        unit="step",
        dynamic_ncols=True,
        mininterval=2.0,
    )
    running: list[float] = state.setdefault("running", [])  # losses since the last log
    t0 = time.time() - state["elapsed"]

    def checkpoint() -> None:
        accelerator.wait_for_everyone()
        if main:
            state["elapsed"] = time.time() - t0
            save_checkpoint(
                ckpt, accelerator.unwrap_model(model), tokenizer, optimizer, scheduler, state
            )

    try:
        while state["step"] < end and not interrupted["flag"]:
            step = state["step"]
            set_seed(cfg.seed + 7919 * step + rank)
            loss_sum = 0.0
            for a in range(cfg.grad_accum):
                m = (step * cfg.grad_accum + a) * world + rank
                batch = {k: v.to(accelerator.device) for k, v in micro[m].items()}
                state["tokens"] += (
                    int(batch["attention_mask"].sum() + (batch["labels"] != IGNORE).sum()) * world
                )
                sync = a == cfg.grad_accum - 1
                ctx = accelerator.no_sync(model) if not sync else _nullcontext()
                with ctx, accelerator.autocast():
                    loss = model(**batch).loss / cfg.grad_accum
                    accelerator.backward(loss)
                loss_sum += float(loss.detach())
            if cfg.clip:
                accelerator.clip_grad_norm_(model.parameters(), cfg.clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] = step + 1
            running.append(loss_sum)
            bar.update(1)
            lr_now = scheduler.get_last_lr()[0]
            bar.set_postfix(loss=f"{loss_sum:.3f}", lr=f"{lr_now:.2e}", refresh=False)
            row: dict[str, Any] = {}
            if state["step"] % cfg.log_every == 0 or state["step"] == cfg.steps:
                row["train_loss"] = float(np.mean(running))
                running.clear()
            if state["step"] % cfg.eval_every == 0 or state["step"] == cfg.steps:
                row["valid_loss"], row["valid_loss_wrong_fields"] = evaluate_loss(
                    model, valid_batches, accelerator
                )
            if row:
                row.update(
                    step=state["step"],
                    lr=scheduler.get_last_lr()[0],
                    tokens=state["tokens"],
                    elapsed=round(time.time() - t0, 2),
                )
                state["history"].append(row)
            if state["step"] % cfg.save_every == 0 and state["step"] < end:
                checkpoint()
    except KeyboardInterrupt:
        interrupted["flag"] = True
    finally:
        bar.close()
        if old_handler is not None:
            signal.signal(signal.SIGTERM, old_handler)
    checkpoint()
    state["finished"] = state["step"] >= cfg.steps
    if main and state["finished"]:
        unwrapped = accelerator.unwrap_model(model)
        log = {k: state[k] for k in ("config", "history", "tokens", "elapsed", "step")}
        log["parameters"] = n_params
        log["train_examples"] = len(train_ds)
        extra = {"train_log.json": json.dumps(log, indent=1)}
        _save_final(out, unwrapped, tokenizer, extra)
        plot_losses(
            state["history"],
            out / "loss.png",
            f"BART-L {cfg.size}: {n_params / 1e6:.2f}M parameters",
        )
        if not cfg.keep_checkpoint:
            shutil.rmtree(ckpt, ignore_errors=True)
    accelerator.wait_for_everyone()
    state["out"] = str(out)
    return state


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _save_final(out: Path, model, tokenizer, extra: dict[str, str]) -> None:
    """Write the final bundle into ``out`` without touching ``out/checkpoint``."""
    staged = save_bundle(
        out.parent / f".{out.name}.final-{os.getpid()}", model, tokenizer, extra_files=extra
    )
    for f in staged.iterdir():
        os.replace(f, out / f.name)
    staged.rmdir()
