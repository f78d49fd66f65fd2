"""Datasets of (field list → Lagrangian) pairs on disk: sampling at scale, import, loading.

Layout of a dataset folder ``DIR``::

    DIR/meta.json                      parameters, counts, achieved feature fractions, version
    DIR/<split>/part-NNNNN.parquet     split ∈ train, valid, test, ood

Columns: ``input`` (BART-L input string with ``[SOS] … [EOS]``, fields in the sampled order),
``target`` (the exact Lagrangian's token string, h.c. terms written out, no specials),
``n_fields``, ``n_scalars``, ``n_terms`` (terms of ``target``), ``input_len``/``target_len``
(token counts, ``input_len`` with the specials), ``content_key`` (canonical content,
:func:`lagnb.data.sampling.content_key`), boolean ``has_<feature>`` columns
(:data:`lagnb.data.features.FEATURE_COLUMNS`) and ``proposal`` (which sampler proposal made it).

Splits are disjoint by canonical content: a content goes to train/valid/test by a hash of its
key (so it lands in the same split in every dataset); the ``ood`` split holds contents with more
fields than any in-distribution one.  Every file is written to a temporary name and renamed;
``meta.json`` is written last and marks a complete dataset.  A state file ``.state.json`` is
updated after each shard, so an interrupted build resumes where it stopped, and gives the same
result as an uninterrupted one (candidates are seeded by their index, not by the worker).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import multiprocessing as mp
import os
import random
import re
import shutil
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from lagnb.data.features import FEATURE_COLUMNS, FEATURES
from lagnb.data.sampling import (
    DEFAULT_TARGETS,
    STRATEGIES,
    CandidateContext,
    FieldDistribution,
    Quotas,
    check_targets,
    content_key,
    init_worker,
    pick_weighted,
    run_draw,
    run_example,
)
from lagnb.errors import LagnbError

if TYPE_CHECKING:
    import datasets

SPLITS: tuple[str, ...] = ("train", "valid", "test", "ood")
FORMAT_VERSION = 1
SAMPLER_VERSION = 1
"""Bumped whenever the sampling algorithm changes what a given set of parameters produces; it is
part of the parameters compared with an existing dataset, so stale data are rebuilt."""

SCHEMA = pa.schema(
    [
        ("input", pa.string()),
        ("target", pa.string()),
        ("n_fields", pa.int32()),
        ("n_scalars", pa.int32()),
        ("n_terms", pa.int32()),
        ("input_len", pa.int32()),
        ("target_len", pa.int32()),
        ("content_key", pa.string()),
        *((name, pa.bool_()) for name in FEATURE_COLUMNS),
        ("proposal", pa.string()),
    ]
)
"""Columns of every split file."""

_STATE = ".state.json"
_PART = re.compile(r"part-(\d{5})\.parquet$")


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
            p_scalars_only: the field distribution (:meth:`FieldDistribution.make`).
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


def lagnb_version() -> str:
    """The installed lagnb version (recorded in ``meta.json``)."""
    try:
        from importlib.metadata import version

        return version("lagnb")
    except Exception:  # pragma: no cover - not installed as a distribution
        return "unknown"


def split_of(key: str, valid_fraction: float, test_fraction: float) -> str:
    """train / valid / test for a canonical content, from a hash of its key (seed independent)."""
    u = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") / 2**64
    if u < valid_fraction:
        return "valid"
    if u < valid_fraction + test_fraction:
        return "test"
    return "train"


# -- files ---------------------------------------------------------------------------------------
def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    _atomic_write_bytes(Path(path), (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def write_rows(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write rows as one parquet file with :data:`SCHEMA`, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    table = pa.Table.from_pylist([{k: r[k] for k in SCHEMA.names} for r in rows], schema=SCHEMA)
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def part_files(out: Path, split: str) -> list[Path]:
    """The part files of a split, in order."""
    folder = Path(out) / split
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _PART.fullmatch(p.name))


def read_meta(out: str | os.PathLike) -> dict[str, Any]:
    """``meta.json`` of a complete dataset (LagnbError if there is none)."""
    path = Path(out) / "meta.json"
    if not path.is_file():
        raise LagnbError(f"no complete dataset at {out} (meta.json is missing)")
    return json.loads(path.read_text())


def load_split(out: str | os.PathLike, split: str) -> datasets.Dataset:
    """One split of a dataset folder as an in-memory :class:`datasets.Dataset` (local files
    only, no cache written).  An empty split gives an empty dataset with the same columns."""
    import datasets

    if split not in SPLITS:
        raise LagnbError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    out = Path(out)
    if not (out / "meta.json").is_file():
        raise LagnbError(f"no complete dataset at {out} (meta.json is missing)")
    files = part_files(out, split)
    tables = [pq.read_table(p, schema=SCHEMA) for p in files]
    table = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
    return datasets.Dataset(table)


def load_table(
    out: str | os.PathLike, splits: Iterable[str] = SPLITS, columns: Sequence[str] | None = None
) -> pa.Table:
    """Selected columns of several splits as one Arrow table with a ``split`` column."""
    cols = [c for c in (columns or SCHEMA.names) if c != "split"]
    parts = []
    for split in splits:
        for p in part_files(Path(out), split):
            t = pq.read_table(p, columns=cols)
            parts.append(t.append_column("split", pa.array([split] * t.num_rows, pa.string())))
    if not parts:
        empty = pa.schema([SCHEMA.field(c) for c in cols] + [("split", pa.string())])
        return empty.empty_table()
    return pa.concat_tables(parts)


class _ShardStore:
    """Shard files + resumable state of one dataset folder."""

    def __init__(self, out: Path, spec: Mapping[str, Any], overwrite: bool) -> None:
        self.out = out
        self.spec = dict(spec)
        state_path = out / _STATE
        state = json.loads(state_path.read_text()) if state_path.is_file() else None
        if state is not None and state.get("spec") != self.spec:
            if not overwrite:
                raise LagnbError(
                    f"{out} holds a partial dataset built with other parameters; "
                    "use another folder or overwrite=True (--overwrite)"
                )
            clear_dataset(out)
            state = None
        elif state is None and not overwrite and any(part_files(out, s) for s in SPLITS):
            raise LagnbError(f"{out} is not empty and holds no resumable dataset")
        self.state: dict[str, Any] = state or {"spec": self.spec, "next_shard": 0, "phases": {}}
        self.resumed = state is not None
        # Files from a shard that was being written when the run stopped are redone.
        for split in SPLITS:
            for p in part_files(out, split):
                if int(_PART.fullmatch(p.name).group(1)) >= self.state["next_shard"]:
                    p.unlink()

    def keys(self) -> set[str]:
        seen: set[str] = set()
        for split in SPLITS:
            for p in part_files(self.out, split):
                seen.update(pq.read_table(p, columns=["content_key"]).column(0).to_pylist())
        return seen

    def write_shard(self, rows: Mapping[str, list[dict[str, Any]]]) -> None:
        shard = self.state["next_shard"]
        for split, split_rows in rows.items():
            if split_rows:
                write_rows(self.out / split / f"part-{shard:05d}.parquet", split_rows)
        self.state["next_shard"] = shard + 1
        write_json(self.out / _STATE, self.state)

    def finish(self, meta: Mapping[str, Any]) -> None:
        write_json(self.out / "meta.json", meta)
        (self.out / _STATE).unlink(missing_ok=True)


def clear_dataset(out: str | os.PathLike) -> None:
    """Remove a dataset's files (meta, state and split folders) from ``out``."""
    out = Path(out)
    for name in ("meta.json", _STATE):
        (out / name).unlink(missing_ok=True)
    for split in SPLITS:
        if (out / split).is_dir():
            shutil.rmtree(out / split)


def _split_counts(out: Path) -> dict[str, int]:
    return {s: sum(pq.ParquetFile(p).metadata.num_rows for p in part_files(out, s)) for s in SPLITS}


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


def _worker_count(workers: int | None) -> int:
    if workers is None:
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            return os.cpu_count() or 1
    if workers < 1:
        raise LagnbError(f"workers must be >= 1, got {workers}")
    return workers


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


@contextlib.contextmanager
def folder_lock(out: Path) -> Iterator[None]:
    """An exclusive lock on a dataset folder (``out/.lock``), so that two processes building
    the same dataset (notebooks tested in parallel, say) take turns: the second one then finds
    the finished dataset.  No-op where ``fcntl`` is missing."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(out / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _build_locked(
    p: SampleParams,
    out: Path,
    workers: int | None,
    progress: bool,
    overwrite: bool,
    max_shards: int | None,
) -> Path:
    spec = p.spec()
    if (out / "meta.json").is_file():
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
    store = _ShardStore(out, spec, overwrite)
    seen = store.keys()
    long_keys: set[str] = set()  # contents over max_target_len (a deterministic verdict)
    n_workers = _worker_count(workers)
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
                    write_json(out / _STATE, store.state)
            finally:
                bar.close()
    finally:
        executor.close()
    meta = _sampling_meta(p, spec, store.state, out, n_workers, time.perf_counter() - start)
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
    state: dict[str, Any],
    out: Path,
    workers: int,
    seconds: float,
) -> dict[str, Any]:
    phases = {}
    total_seconds = 0.0
    for phase, info in state["phases"].items():
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
        "counts": _split_counts(out),
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
    if (out / "meta.json").is_file():
        spec = SampleParams.from_kwargs(**params).spec()
        if read_meta(out).get("params") != spec:
            warnings.warn(
                f"using the existing dataset at {out}, built with other parameters", stacklevel=2
            )
        return out
    return build_dataset(out, workers=workers, progress=progress, **params)


def achieved_table(meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows (feature, target, achieved in-distribution, achieved ood) for reports."""
    rows = []
    phases = meta.get("phases", {})
    for f in FEATURES:
        rows.append(
            {
                "feature": f,
                "target": meta.get("targets", {}).get(f),
                "achieved": phases.get("main", {}).get("achieved", {}).get(f),
                "achieved_ood": phases.get("ood", {}).get("achieved", {}).get(f),
            }
        )
    return rows


def format_achieved(meta: Mapping[str, Any]) -> str:
    """A plain-text table of target vs achieved feature fractions."""
    lines = [f"{'feature':<14} {'target':>7} {'achieved':>9} {'ood':>7}"]
    for r in achieved_table(meta):

        def pct(x: float | None) -> str:
            return "-" if x is None else f"{100 * x:.1f}%"

        lines.append(
            f"{r['feature']:<14} {pct(r['target']):>7} {pct(r['achieved']):>9} "
            f"{pct(r['achieved_ood']):>7}"
        )
    return "\n".join(lines)


# -- import of the public BART-L CSV layout -------------------------------------------------------
_COLUMN_ALIASES = {
    "fields": ("fields", "field", "input", "inputs", "source", "src"),
    "lagrangian": ("lagrangian", "target", "output", "tgt"),
    "split": ("traineval", "split"),
}


def _norm_col(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def recognise_columns(columns: Sequence[str]) -> dict[str, str | None]:
    """Map the BART-L CSV roles (fields, lagrangian, split) to actual column names.

    Raises :class:`LagnbError` listing the columns found when fields or Lagrangian is missing.
    """
    found: dict[str, str | None] = {}
    normed = {_norm_col(c): c for c in columns}
    for role, aliases in _COLUMN_ALIASES.items():
        found[role] = next((normed[a] for a in aliases if a in normed), None)
    missing = [r for r in ("fields", "lagrangian") if found[r] is None]
    if missing:
        raise LagnbError(
            "not a BART-L CSV: no column for "
            + " and ".join(missing)
            + f" (found columns {list(columns)!r}; expected 'fields', 'Lagrangian' and "
            "optionally 'train/eval')"
        )
    return found


_SPLIT_VALUES = {
    "train": "train",
    "training": "train",
    "eval": "eval",
    "evaluation": "eval",
    "test": "eval",
    "valid": "eval",
    "validation": "eval",
}


def _import_features(fields_str: str) -> tuple[str, ...]:
    from lagnb.data.features import features
    from lagnb.physics.engine import lagrangian

    return features(lagrangian(fields_str)).present()


def import_bart_l_csv(
    csv_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    valid_fraction: float = 0.05,
    eval_split: str = "test",
    dedupe: bool = True,
    max_rows: int | None = None,
    chunk_rows: int = 20_000,
    on_error: str = "raise",
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Import a dataset in the public BART-L CSV layout (columns ``fields``, ``Lagrangian``,
    ``train/eval``) from a local file into the lagnb dataset layout.

    Inputs are normalised to lagnb's token form (``SPIN 1/2`` → ``SPIN 1 / 2``, with
    ``[SOS]``/``[EOS]``); targets are kept as they are, split into single tokens.  Feature
    flags come from lagnb's engine on the field content.  ``train`` rows go to train (a
    ``valid_fraction`` of contents, by hash, to valid), ``eval`` rows to ``eval_split``.  With
    ``dedupe`` only the first row of each canonical content is kept (so splits are disjoint);
    the dropped rows are counted in ``meta.json``.  ``on_error="skip"`` skips (and counts)
    rows whose fields do not parse instead of failing.
    """
    import pandas as pd

    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise LagnbError(f"no such CSV file: {csv_path}")
    if eval_split not in ("valid", "test"):
        raise LagnbError(f"eval_split must be 'valid' or 'test', got {eval_split!r}")
    if on_error not in ("raise", "skip"):
        raise LagnbError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    header = pd.read_csv(csv_path, nrows=0).columns.tolist()
    cols = recognise_columns(header)
    spec = {
        "source": "bart-l-csv",
        "path": str(csv_path.resolve()),
        "size": csv_path.stat().st_size,
        "valid_fraction": valid_fraction,
        "eval_split": eval_split,
        "dedupe": dedupe,
        "max_rows": max_rows,
        "chunk_rows": chunk_rows,
        "on_error": on_error,
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with folder_lock(out):
        return _import_locked(
            csv_path, out, spec, cols, valid_fraction, eval_split, dedupe, max_rows,
            chunk_rows, on_error, workers, progress, overwrite,
        )  # fmt: skip


def _import_locked(
    csv_path: Path,
    out: Path,
    spec: dict[str, Any],
    cols: dict[str, str | None],
    valid_fraction: float,
    eval_split: str,
    dedupe: bool,
    max_rows: int | None,
    chunk_rows: int,
    on_error: str,
    workers: int | None,
    progress: bool,
    overwrite: bool,
) -> Path:
    import pandas as pd

    from lagnb.physics.fields import fields_tokens, parse_fields, split_tokens
    from lagnb.physics.tokens import SPECIAL_TOKENS, split_terms

    if (out / "meta.json").is_file():
        if read_meta(out).get("params") == spec:
            return out
        if not overwrite:
            raise LagnbError(f"{out} holds another dataset; use another folder or overwrite=True")
        clear_dataset(out)
    store = _ShardStore(out, spec, overwrite)
    seen = store.keys()
    st = store.state.setdefault(
        "import", {"rows": 0, "duplicates": 0, "cross_split_duplicates": 0, "errors": 0}
    )
    usecols = [c for c in cols.values() if c is not None]
    n_workers = _worker_count(workers)
    method = "fork" if "fork" in mp.get_all_start_methods() else None
    pool = mp.get_context(method).Pool(n_workers) if n_workers > 1 else None
    first_split: dict[str, str] = {}
    start = time.perf_counter()
    bar = tqdm(
        desc="importing",
        unit="row",
        disable=not progress,
        file=sys.stderr,
        ncols=90,
        mininterval=1.0,
    )
    try:
        reader = pd.read_csv(csv_path, usecols=usecols, dtype=str, chunksize=chunk_rows)
        for k, chunk in enumerate(reader):
            if k < store.state["next_shard"]:
                bar.update(len(chunk))
                continue
            rows_in: list[tuple[str, str, str, str, int]] = []
            for offset, rec in enumerate(chunk.itertuples(index=False)):
                row_no = k * chunk_rows + offset + 2  # 1-based, after the header line
                if max_rows is not None and k * chunk_rows + offset >= max_rows:
                    break
                st["rows"] += 1
                values = dict(zip(usecols, rec))
                raw_split = values.get(cols["split"], "train") if cols["split"] else "train"
                kind = _SPLIT_VALUES.get(str(raw_split).strip().lower())
                if kind is None:
                    raise LagnbError(
                        f"{csv_path}: row {row_no}: unknown {cols['split']!r} value {raw_split!r}"
                    )
                try:
                    flds = parse_fields(str(values[cols["fields"]]))
                except LagnbError as exc:
                    if on_error == "raise":
                        raise LagnbError(f"{csv_path}: row {row_no}: {exc}") from None
                    st["errors"] += 1
                    continue
                key = content_key(flds)
                split = eval_split if kind == "eval" else split_of(key, valid_fraction, 0.0)
                if dedupe and (key in seen or key in first_split):
                    st["duplicates"] += 1
                    if first_split.get(key, split) != split:
                        st["cross_split_duplicates"] += 1
                    continue
                seen.add(key)
                first_split[key] = split
                target_toks = [
                    t
                    for t in split_tokens(str(values[cols["lagrangian"]]))
                    if t not in SPECIAL_TOKENS
                ]
                rows_in.append((fields_tokens(flds), " ".join(target_toks), key, split, len(flds)))
            inputs = [r[0] for r in rows_in]
            feats = (
                pool.map(_import_features, inputs, chunksize=64)
                if pool
                else [_import_features(s) for s in inputs]
            )
            rows: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
            for (inp, target, key, split, nf), present in zip(rows_in, feats):
                row = {
                    "input": inp,
                    "target": target,
                    "n_fields": nf,
                    "n_scalars": inp.count("SPIN 0"),
                    "n_terms": len(split_terms(target)),
                    "input_len": inp.count(" ") + 1,
                    "target_len": target.count(" ") + 1 if target else 0,
                    "content_key": key,
                    "proposal": "bart-l-csv",
                }
                row.update({f"has_{f}": f in present for f in FEATURES})
                rows[split].append(row)
            store.write_shard(rows)
            bar.update(len(chunk))
            if max_rows is not None and (k + 1) * chunk_rows >= max_rows:
                break
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
            pool.join()
    counts = _split_counts(out)
    achieved = _fractions_from_files(out, ("train", "valid", "test"))
    meta = {
        "format": FORMAT_VERSION,
        "lagnb_version": lagnb_version(),
        "kind": "imported",
        "params": spec,
        "counts": counts,
        "targets": {},
        "achieved": achieved,
        "phases": {"main": {"achieved": achieved, **st}},
        "workers": n_workers,
        "seconds": round(time.perf_counter() - start, 3),
    }
    store.finish(meta)
    return out


def _fractions_from_files(out: Path, splits: Iterable[str]) -> dict[str, float]:
    table = load_table(out, splits, columns=list(FEATURE_COLUMNS))
    n = table.num_rows
    return {f: (sum(table.column(f"has_{f}").to_pylist()) / n if n else 0.0) for f in FEATURES}


def sample_summary(meta: Mapping[str, Any]) -> str:
    """A few lines saying what a dataset holds (counts, drops, target vs achieved)."""
    lines = [
        "splits: " + ", ".join(f"{s} {meta['counts'].get(s, 0)}" for s in SPLITS),
    ]
    for phase, info in meta.get("phases", {}).items():
        if "candidates" not in info:
            continue
        lines.append(
            f"{phase}: {info['accepted']}/{info['target']} accepted from {info['candidates']} "
            f"candidates ({info['duplicates']} duplicates, {info['too_long']} over "
            f"max_target_len, {info['rejected']} rejected by quotas)"
        )
        if info.get("quotas_relaxed"):
            lines.append("  quotas relaxed: the targets were out of reach within the candidates")
        if info["too_long"]:
            by_n = ", ".join(f"{k} fields: {v}" for k, v in info["too_long_by_n_fields"].items())
            lines.append(f"  dropped as too long by number of fields: {by_n}")
    lines.append(format_achieved(meta))
    return "\n".join(lines)
