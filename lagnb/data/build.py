"""Sampling a dataset to disk: its parameters (:class:`SampleParams`) and the deterministic,
parallel, resumable builder (:func:`build_dataset`).

:func:`build_dataset` draws field contents (:mod:`lagnb.data.sampling`), lets the engine write
their Lagrangians, and stores them through :class:`lagnb.data.writer.ShardStore` (atomic files,
resumable shards) in the layout of :mod:`lagnb.data.reader`.  Splits are disjoint by canonical
content (:func:`lagnb.data.writer.split_of`); the ``ood`` split holds contents with more fields
than any in-distribution one.  The field contents of the named models
(:data:`lagnb.physics.catalogue.CATALOGUE`) are never sampled: they are the held-out
examples every model is scored on, so they stay out of every split.  An interrupted build
resumes where it stopped and gives the same result as an uninterrupted one: candidates are
seeded by their index, not by the worker, and shard sizes depend only on the saved state.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import random
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tqdm import tqdm

from lagnb.data.features import FEATURES
from lagnb.data.reader import FORMAT_VERSION, META, SPLITS, STATE, read_meta
from lagnb.data.sampling import (
    DEFAULT_TARGETS,
    STRATEGIES,
    CandidateContext,
    FieldDistribution,
    Quotas,
    check_targets,
    init_worker,
    named_content_keys,
    pick_weighted,
    run_draw,
    run_example,
)
from lagnb.data.writer import (
    ShardStore,
    clear_dataset,
    folder_lock,
    lagnb_version,
    split_of,
    worker_count,
    write_json,
)
from lagnb.errors import LagnbError

SAMPLER_VERSION = 2
"""Bumped whenever the sampling algorithm changes what a given set of parameters produces; it is
part of the parameters compared with an existing dataset, so stale data are rebuilt."""


# -- parameters --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleParams:
    """Parameters of a sampled dataset (all of them go to ``meta.json``).

    Attributes:
        n: number of in-distribution Lagrangians (train + valid + test).
        seed: random seed; the dataset is a deterministic function of the parameters.
        strategy: ``"uniform"`` or ``"enriched"`` (see :mod:`lagnb.data.sampling`).
        targets: minimum feature fractions for ``enriched`` (default
            :data:`lagnb.data.sampling.DEFAULT_TARGETS`); ignored by ``uniform``.
        min_fields, max_fields: number of fields of in-distribution contents.
        n_fields_weights, spin_weights, reps, su3_weights, su2_weights, hypercharges,
            p_scalars_only: the field distribution (:meth:`FieldDistribution.make`; ``reps``
            names a representation mix of :data:`lagnb.data.sampling.REP_MIXES`).
        shuffle: fields in random order in ``input`` (as in the BART-L data) or canonical.
        max_target_len: drop Lagrangians with more target tokens (None: keep all); the drops
            are counted in ``meta.json`` by number of fields.
        valid_fraction, test_fraction: shares of contents hashed to valid/test.
        n_ood: size of the out-of-distribution split (None: 5 % of ``n``, at least 1).
        ood_min_fields, ood_max_fields: its number of fields (default max_fields + 1 … + 2).
        ood_max_target_len: target length limit of the ood split (None: twice
            ``max_target_len``; contents with more fields have longer Lagrangians).
        shard_size: candidates per shard (the unit of writing and resuming).
        max_candidates: give up a phase after this many candidates (None: 20·n + 2000).
            After 10·n + 1000 candidates the enriched quotas stop rejecting (they are then
            out of reach, e.g. because featured contents exceed ``max_target_len``).
    """

    n: int = 1000
    seed: int = 0
    strategy: str = "uniform"
    targets: Mapping[str, float] | None = None
    min_fields: int = 1
    max_fields: int = 6
    n_fields_weights: Mapping[int, float] | Sequence[int] | None = None
    spin_weights: Mapping[str, float] | Sequence[str] | None = None
    reps: str = "default"
    su3_weights: Mapping[int, float] | Sequence[int] | None = None
    su2_weights: Mapping[int, float] | Sequence[int] | None = None
    hypercharges: Mapping[Any, float] | Sequence[Any] | None = None
    p_scalars_only: float = 0.3
    shuffle: bool = True
    max_target_len: int | None = 2048
    valid_fraction: float = 0.05
    test_fraction: float = 0.05
    n_ood: int | None = None
    ood_min_fields: int | None = None
    ood_max_fields: int | None = None
    ood_max_target_len: int | None = None
    shard_size: int = 1024
    max_candidates: int | None = None

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> SampleParams:
        """Parameters from keyword arguments, naming any unknown one."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise LagnbError(
                f"unknown sampling parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        return cls(**kwargs)

    def __post_init__(self) -> None:
        def integer(name: str, low: int) -> None:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise LagnbError(f"{name} must be an integer >= {low}, got {value!r}")

        integer("n", 0)
        integer("seed", 0)
        integer("shard_size", 1)
        if self.strategy not in STRATEGIES:
            raise LagnbError(
                f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
            )
        if self.max_target_len is not None:
            integer("max_target_len", 1)
        if self.ood_max_target_len is not None:
            integer("ood_max_target_len", 1)
        if self.n_ood is not None:
            integer("n_ood", 0)
        if self.max_candidates is not None:
            integer("max_candidates", 1)
        for name in ("valid_fraction", "test_fraction"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise LagnbError(f"{name} must be a number in [0, 1], got {value!r}")
        if self.valid_fraction + self.test_fraction > 1.0:
            raise LagnbError("valid_fraction + test_fraction must not exceed 1")
        check_targets(self.targets)
        self.distribution("main")
        if self.ood_count > 0:
            self.distribution("ood")

    # -- derived -------------------------------------------------------------------------------
    @property
    def ood_count(self) -> int:
        if self.n_ood is not None:
            return self.n_ood
        return max(1, round(0.05 * self.n)) if self.n else 0

    @property
    def ood_range(self) -> tuple[int, int]:
        low = self.ood_min_fields if self.ood_min_fields is not None else self.max_fields + 1
        high = (
            self.ood_max_fields
            if self.ood_max_fields is not None
            else max(low, self.max_fields + 2)
        )
        return low, high

    def resolved_targets(self) -> dict[str, float]:
        if self.strategy != "enriched":
            return {}
        return check_targets(DEFAULT_TARGETS if self.targets is None else self.targets)

    def distribution(self, phase: str) -> FieldDistribution:
        """The field distribution of ``"main"`` (in-distribution) or ``"ood"``."""
        if phase == "main":
            low, high, weights = self.min_fields, self.max_fields, self.n_fields_weights
        else:
            (low, high), weights = self.ood_range, None
            if low <= self.max_fields:
                raise LagnbError(
                    f"ood_min_fields ({low}) must exceed max_fields ({self.max_fields}): the ood "
                    "split holds contents with more fields than the training data"
                )
        try:
            return FieldDistribution.make(
                min_fields=low,
                max_fields=high,
                n_fields_weights=weights,
                spin_weights=self.spin_weights,
                reps=self.reps,
                su3_weights=self.su3_weights,
                su2_weights=self.su2_weights,
                hypercharges=self.hypercharges,
                p_scalars_only=self.p_scalars_only,
            )
        except LagnbError as exc:
            raise LagnbError(f"{phase} field distribution: {exc}") from None

    def max_candidates_for(self, n: int) -> int:
        return self.max_candidates if self.max_candidates is not None else 20 * n + 2000

    @staticmethod
    def quota_patience(n: int) -> int:
        """Candidates after which the enriched quotas stop rejecting."""
        return 10 * n + 1000

    def target_len_limit(self, phase: str) -> int | None:
        """``max_target_len`` of a phase (``"main"`` or ``"ood"``)."""
        if phase == "main" or self.ood_max_target_len is not None:
            return self.max_target_len if phase == "main" else self.ood_max_target_len
        return None if self.max_target_len is None else 2 * self.max_target_len

    def spec(self) -> dict[str, Any]:
        """The resolved, JSON-able parameters: equal specs give identical datasets."""
        n_ood = self.ood_count
        return {
            "sampler": SAMPLER_VERSION,
            "n": self.n,
            "seed": self.seed,
            "strategy": self.strategy,
            "targets": self.resolved_targets(),
            "distribution": self.distribution("main").to_json(),
            "ood_distribution": self.distribution("ood").to_json() if n_ood else None,
            "n_ood": n_ood,
            "shuffle": self.shuffle,
            "max_target_len": self.max_target_len,
            "ood_max_target_len": self.target_len_limit("ood") if n_ood else None,
            "valid_fraction": self.valid_fraction,
            "test_fraction": self.test_fraction,
            "shard_size": self.shard_size,
            "max_candidates": self.max_candidates,
        }

    def user_params(self) -> dict[str, Any]:
        """The parameters as given (JSON-able), to rebuild the dataset."""
        return json.loads(json.dumps(asdict(self), default=str))


# -- sampling ------------------------------------------------------------------------------------
@dataclass
class _PhaseStats:
    target: int
    accepted: int = 0
    candidates: int = 0
    next_index: int = 0
    duplicates: int = 0
    too_long: int = 0
    rejected: int = 0
    held_out: int = 0
    too_long_by_n_fields: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    proposals: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    quotas_relaxed: bool = False
    done: bool = False


def _shard_size(shard_size: int, n: int, stats: _PhaseStats) -> int:
    """Candidates in the next shard: ``shard_size``, or fewer when the phase is nearly full
    (1.5 × what the acceptance rate so far says is needed).  Depends only on the saved state,
    so resumed and uninterrupted runs cut the same shards."""
    rate = stats.accepted / stats.candidates if stats.candidates else 0.5
    need = math.ceil(1.5 * (n - stats.accepted) / max(rate, 0.02)) + 16
    return max(1, min(shard_size, need))


class _Executor:
    """Ordered map of worker tasks, in-process or over a process pool (fork)."""

    def __init__(self, ctx: CandidateContext, workers: int) -> None:
        self.ctx = ctx
        self.workers = workers
        self.pool = None
        if workers > 1:
            method = "fork" if "fork" in mp.get_all_start_methods() else None
            self.pool = mp.get_context(method).Pool(workers, init_worker, (ctx,))
        else:
            init_worker(ctx)

    def map(self, fn: Callable[[Any], Any], tasks: list[Any]) -> Iterator[Any]:
        if self.pool is None:
            return (fn(t) for t in tasks)
        chunk = max(1, min(16, len(tasks) // (self.workers * 8)))
        return self.pool.imap(fn, tasks, chunksize=chunk)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()


def build_dataset(
    out: str | os.PathLike,
    *,
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    max_shards: int | None = None,
    **params: Any,
) -> Path:
    """Sample a dataset into ``out`` (see the module docstring for the layout).

    Args:
        out: dataset folder (created if needed).
        workers: processes (default: all cores); the result does not depend on it.
        progress: show tqdm progress bars (on stderr).
        overwrite: replace a dataset (complete or partial) built with other parameters;
            without it such a folder is an error.  A complete dataset with the same parameters
            is kept as is in both cases.
        max_shards: stop after writing this many shards in this call (a time-boxed build);
            calling again resumes.  The return value is then the folder of a partial dataset
            (no ``meta.json`` yet).
        **params: :class:`SampleParams`.

    Returns the folder.  Prints a warning when a phase runs out of candidates before reaching
    its size (``max_candidates``) and records it in ``meta.json``.
    """
    p = SampleParams.from_kwargs(**params)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with folder_lock(out):
        return _build_locked(p, out, workers, progress, overwrite, max_shards)


def _build_locked(
    p: SampleParams,
    out: Path,
    workers: int | None,
    progress: bool,
    overwrite: bool,
    max_shards: int | None,
) -> Path:
    spec = p.spec()
    if (out / META).is_file():
        meta = read_meta(out)
        if meta.get("params") == spec:
            return out
        if not overwrite:
            raise LagnbError(
                f"{out} holds a dataset built with other parameters; "
                "use another folder or overwrite=True (--overwrite)"
            )
        clear_dataset(out)
    out.mkdir(parents=True, exist_ok=True)
    store = ShardStore(out, spec, overwrite, "sampled")
    seen = store.keys()
    held_out = named_content_keys()
    long_keys: set[str] = set()  # contents over max_target_len (a deterministic verdict)
    n_workers = worker_count(workers)
    ctx = CandidateContext(
        seed=p.seed,
        distributions={
            "main": p.distribution("main"),
            **({"ood": p.distribution("ood")} if p.ood_count else {}),
        },
        shuffle=p.shuffle,
        max_target_len={phase: p.target_len_limit(phase) for phase in ("main", "ood")},
    )
    targets = p.resolved_targets()
    phases = [("main", p.n), ("ood", p.ood_count)]
    start = time.perf_counter()
    shards_written = 0
    executor = _Executor(ctx, n_workers)
    try:
        for phase, n in phases:
            stats = _PhaseStats(**store.state["phases"].get(phase, {"target": n}))
            if stats.done:
                continue
            quotas = Quotas(n, targets, stats.accepted, Counter(stats.counts))
            limit = p.max_candidates_for(n)
            bar = tqdm(
                total=n,
                initial=stats.accepted,
                desc=f"sampling {phase}",
                unit="lag",
                disable=not progress,
                file=sys.stderr,
                ncols=90,
                mininterval=1.0,
            )
            try:
                while not quotas.full and stats.next_index < limit:
                    if max_shards is not None and shards_written >= max_shards:
                        return out
                    t0 = time.perf_counter()
                    shard = store.state["next_shard"]
                    weights = quotas.proposal_weights()
                    prng = random.Random(f"lagnb:{p.seed}:{phase}:proposals:{shard}")
                    size = min(_shard_size(p.shard_size, n, stats), limit - stats.next_index)
                    tasks = [
                        (phase, stats.next_index + j, pick_weighted(prng, weights))
                        for j in range(size)
                    ]
                    rows: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
                    # Stage 1: draw the contents.  A content already in the dataset, drawn
                    # earlier in this shard, or known to be too long is not built again.
                    drawn = list(executor.map(run_draw, tasks))
                    in_shard: set[str] = set()
                    fresh = []
                    for (_, index, _), d in zip(tasks, drawn):
                        if d.key in held_out:
                            continue
                        if d.key not in seen and d.key not in in_shard and d.key not in long_keys:
                            in_shard.add(d.key)
                            fresh.append((phase, index, d))
                    # Stage 2: build the new contents' Lagrangians, accept in candidate order.
                    examples = executor.map(run_example, fresh)
                    nxt = 0
                    for (_, index, _), d in zip(tasks, drawn):
                        if quotas.full:
                            break
                        stats.candidates += 1
                        if d.key in held_out:
                            stats.held_out += 1
                            continue
                        ex = None
                        if nxt < len(fresh) and fresh[nxt][1] == index:
                            nxt += 1
                            ex = next(examples)
                            if ex is None:
                                long_keys.add(d.key)
                        elif d.key not in long_keys:
                            stats.duplicates += 1
                            continue
                        if ex is None:
                            stats.too_long += 1
                            nf = str(len(d.fields))
                            stats.too_long_by_n_fields[nf] = (
                                stats.too_long_by_n_fields.get(nf, 0) + 1
                            )
                            continue
                        relaxed = stats.candidates > p.quota_patience(n)
                        if not relaxed and not quotas.wants(ex.present):
                            stats.rejected += 1
                            continue
                        stats.quotas_relaxed = stats.quotas_relaxed or relaxed
                        seen.add(d.key)
                        quotas.add(ex.present)
                        stats.proposals[ex.proposal] = stats.proposals.get(ex.proposal, 0) + 1
                        split = (
                            "ood"
                            if phase == "ood"
                            else split_of(d.key, p.valid_fraction, p.test_fraction)
                        )
                        rows[split].append(ex.row())
                        bar.update(1)
                    stats.next_index += size
                    stats.accepted = quotas.accepted
                    stats.counts = dict(quotas.counts)
                    stats.done = quotas.full or stats.next_index >= limit
                    stats.seconds += time.perf_counter() - t0
                    store.state["phases"][phase] = asdict(stats)
                    store.write_shard(rows)
                    shards_written += 1
                    bar.set_postfix(candidates=stats.candidates, refresh=False)
                if not stats.done:
                    stats.done = True
                    store.state["phases"][phase] = asdict(stats)
                    write_json(out / STATE, store.state)
            finally:
                bar.close()
    finally:
        executor.close()
    meta = _sampling_meta(p, spec, store, n_workers, time.perf_counter() - start)
    for phase, info in meta["phases"].items():
        if info["shortfall"]:
            warnings.warn(
                f"{phase}: only {info['accepted']} of {info['target']} Lagrangians after "
                f"{info['candidates']} candidates (raise max_candidates or widen the distribution)",
                stacklevel=2,
            )
    store.finish(meta)
    return out


def _sampling_meta(
    p: SampleParams,
    spec: dict[str, Any],
    store: ShardStore,
    workers: int,
    seconds: float,
) -> dict[str, Any]:
    phases = {}
    total_seconds = 0.0
    for phase, info in store.state["phases"].items():
        accepted = info["accepted"]
        counts = info["counts"]
        total_seconds += info["seconds"]
        phases[phase] = {
            "target": info["target"],
            "accepted": accepted,
            "shortfall": max(0, info["target"] - accepted),
            "candidates": info["candidates"],
            "duplicates": info["duplicates"],
            "too_long": info["too_long"],
            "too_long_by_n_fields": dict(sorted(info["too_long_by_n_fields"].items())),
            "rejected": info["rejected"],
            "held_out": info.get("held_out", 0),
            "quotas_relaxed": info["quotas_relaxed"],
            "proposals": dict(sorted(info["proposals"].items())),
            "achieved": {f: (counts.get(f, 0) / accepted if accepted else 0.0) for f in FEATURES},
        }
    main = phases.get("main", {"achieved": {}})
    return {
        "format": FORMAT_VERSION,
        "lagnb_version": lagnb_version(),
        "kind": "sampled",
        "params": spec,
        "user_params": p.user_params(),
        "counts": store.counts(),
        "targets": spec["targets"],
        "achieved": main["achieved"],
        "phases": phases,
        "workers": workers,
        "seconds": round(total_seconds, 3),
        "last_call_seconds": round(seconds, 3),
    }


def ensure_dataset(
    out: str | os.PathLike, *, workers: int | None = None, progress: bool = True, **params: Any
) -> Path:
    """The dataset at ``out``, sampled with ``params`` first if there is no complete one.

    A complete dataset is used as it is, even if built with other parameters (a warning says
    so): notebooks call this to run standalone, and the pipeline's first notebook decides what
    the data is.  A partial one is resumed.
    """
    out = Path(out)
    if (out / META).is_file():
        spec = SampleParams.from_kwargs(**params).spec()
        if read_meta(out).get("params") != spec:
            warnings.warn(
                f"using the existing dataset at {out}, built with other parameters", stacklevel=2
            )
        return out
    return build_dataset(out, workers=workers, progress=progress, **params)
