"""Writing a dataset folder (layout: :mod:`lagnb.data.reader`) atomically and resumably.

Both builders (:mod:`lagnb.data.build` samples, :mod:`lagnb.data.importing` imports the public
CSV) write through :class:`ShardStore`: every file goes to a temporary name and is renamed, a
shard's part files are followed by the state file ``.state.json`` (so an interrupted build
resumes after the last complete shard, and part files of a half-written shard are redone), and
``meta.json`` is written last, marking a complete dataset.  :func:`folder_lock` makes two
processes building one folder take turns.  A content goes to train/valid/test by a hash of its
canonical key (:func:`split_of`), so it lands in the same split in every dataset.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lagnb.data.reader import (
    META,
    SCHEMA,
    SPLITS,
    STATE,
    count_rows,
    part_files,
    part_index,
    part_path,
    read_parts,
    rebuild_hint,
)
from lagnb.errors import LagnbError


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


def worker_count(workers: int | None) -> int:
    """Worker processes: ``workers``, or every core this process may use."""
    if workers is None:
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            return os.cpu_count() or 1
    if workers < 1:
        raise LagnbError(f"workers must be >= 1, got {workers}")
    return workers


# -- writing -------------------------------------------------------------------------------------
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


class ShardStore:
    """Shard files + resumable state of one dataset folder being written.

    ``kind`` (``"sampled"`` or ``"imported"``) goes into error messages, which name the command
    that rebuilds a damaged folder.
    """

    def __init__(self, out: Path, spec: Mapping[str, Any], overwrite: bool, kind: str) -> None:
        self.out = out
        self.spec = dict(spec)
        self.kind = kind
        state = self._read_state()
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
                if part_index(p) >= self.state["next_shard"]:
                    p.unlink()

    def _read_state(self) -> dict[str, Any] | None:
        path = self.out / STATE
        if not path.is_file():
            return None
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            state = exc
        if not isinstance(state, dict) or not isinstance(state.get("next_shard"), int):
            raise LagnbError(
                f"{path} (the state of an unfinished build) is damaged; "
                f"{rebuild_hint(self.out, self.kind)}"
            )
        return state

    def keys(self) -> set[str]:
        """The content keys already written (a resumed build must not repeat them)."""
        seen: set[str] = set()
        for split in SPLITS:
            table = read_parts(self.out, split, ["content_key"], kind=self.kind)
            seen.update(table.column(0).to_pylist())
        return seen

    def counts(self) -> dict[str, int]:
        """Rows written per split."""
        return {s: count_rows(self.out, s, kind=self.kind) for s in SPLITS}

    def write_shard(self, rows: Mapping[str, list[dict[str, Any]]]) -> None:
        shard = self.state["next_shard"]
        for split, split_rows in rows.items():
            if split_rows:
                write_rows(part_path(self.out, split, shard), split_rows)
        self.state["next_shard"] = shard + 1
        write_json(self.out / STATE, self.state)

    def finish(self, meta: Mapping[str, Any]) -> None:
        write_json(self.out / META, meta)
        (self.out / STATE).unlink(missing_ok=True)


def clear_dataset(out: str | os.PathLike) -> None:
    """Remove a dataset's files (meta, state and split folders) from ``out``."""
    out = Path(out)
    for name in (META, STATE):
        (out / name).unlink(missing_ok=True)
    for split in SPLITS:
        if (out / split).is_dir():
            shutil.rmtree(out / split)


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
