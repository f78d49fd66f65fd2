"""The on-disk layout of a dataset of (field list → Lagrangian) pairs, and the one reader of it.

Layout of a dataset folder ``DIR``::

    DIR/meta.json                      parameters, counts, achieved feature fractions, version
    DIR/<split>/part-NNNNN.parquet     split ∈ train, valid, test, ood

Columns (:data:`SCHEMA`): ``input`` (BART-L input string with ``[SOS] … [EOS]``, fields in the
sampled order), ``target`` (the exact Lagrangian's token string, h.c. terms written out, no
specials), ``n_fields``, ``n_scalars``, ``n_terms`` (terms of ``target``),
``input_len``/``target_len`` (token counts, ``input_len`` with the specials), ``content_key``
(canonical content, :func:`lagnb.data.sampling.content_key`), boolean ``has_<feature>`` columns
(:data:`lagnb.data.features.FEATURE_COLUMNS`) and ``proposal`` (which sampler proposal made it).
``meta.json`` is written last (:mod:`lagnb.data.build`, :mod:`lagnb.data.importing`): a folder
without it holds no complete dataset.

Every consumer reads through this module, in the form it needs: :func:`load_rows` (dicts),
:func:`load_table` (Arrow), :func:`load_frame` (pandas, for statistics) and :func:`load_split`
(a ``datasets.Dataset``, for training).  Each checks that the folder holds a complete dataset,
that every part file is a readable parquet file with the dataset's columns, and that the rows
match the counts in ``meta.json``; anything else is a one-line :class:`LagnbError` naming the
file and the fix.  :func:`read_parts` and :func:`count_rows` read the part files of a folder
that is still being written (the builders' own view).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from lagnb.data.features import FEATURE_COLUMNS
from lagnb.errors import LagnbError

if TYPE_CHECKING:
    import datasets
    import pandas as pd

SPLITS: tuple[str, ...] = ("train", "valid", "test", "ood")
FORMAT_VERSION = 1
"""Version of the layout, recorded in ``meta.json``; the reader refuses any other."""

META = "meta.json"
STATE = ".state.json"
"""The resumable state of a build in progress (removed when ``meta.json`` is written)."""

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
"""Columns of every part file."""

DESCRIPTOR_COLUMNS: tuple[str, ...] = tuple(n for n in SCHEMA.names if n not in ("input", "target"))
"""Every column but the two token strings: what statistics need (the long strings stay on disk)."""

_PART = re.compile(r"part-(\d{5})\.parquet$")
_COMMANDS = {"sampled": "`lagnb sample`", "imported": "`lagnb import-csv`"}


# -- file names ----------------------------------------------------------------------------------
def part_path(out: str | os.PathLike, split: str, shard: int) -> Path:
    """The part file of shard number ``shard`` in a split."""
    return Path(out) / split / f"part-{shard:05d}.parquet"


def part_files(out: str | os.PathLike, split: str) -> list[Path]:
    """The part files of a split, in shard order."""
    folder = Path(out) / split
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _PART.fullmatch(p.name))


def part_index(path: Path) -> int:
    """The shard number of a part file."""
    match = _PART.fullmatch(path.name)
    if match is None:
        raise LagnbError(f"{path} is not a part file (expected part-NNNNN.parquet)")
    return int(match.group(1))


def rebuild_hint(out: str | os.PathLike, kind: str | None = None) -> str:
    """The fix for a damaged dataset: the data are a deterministic function of the arguments,
    so deleting the folder and rerunning the command that made it rebuilds them."""
    command = _COMMANDS.get(kind or "", "`lagnb sample` (or `lagnb import-csv`)")
    return f"delete {out} and rerun {command} with the same arguments to rebuild it"


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise LagnbError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")


# -- meta.json ----------------------------------------------------------------------------------
def read_meta(out: str | os.PathLike) -> dict[str, Any]:
    """``meta.json`` of a complete dataset.

    Raises :class:`LagnbError` when the folder holds no complete dataset (saying whether a build
    stopped part-way, which rerunning finishes) or when ``meta.json`` is not a readable dataset
    description of this layout version.
    """
    out = Path(out)
    path = out / META
    if not path.is_file():
        raise LagnbError(_no_dataset(out))
    hint = rebuild_hint(out)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LagnbError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); {hint}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LagnbError(f"{path} cannot be read ({_first_line(exc)}); {hint}") from None
    counts = meta.get("counts") if isinstance(meta, dict) else None
    if not isinstance(counts, dict) or "format" not in meta:
        raise LagnbError(
            f"{path} is not a lagnb dataset description (no 'format' and 'counts'); {hint}"
        )
    hint = rebuild_hint(out, meta.get("kind"))
    if meta["format"] != FORMAT_VERSION:
        raise LagnbError(
            f"{path}: dataset format {meta['format']!r}, but this lagnb reads format "
            f"{FORMAT_VERSION}; {hint}"
        )
    bad = [s for s, n in counts.items() if s not in SPLITS or not isinstance(n, int) or n < 0]
    if bad:
        raise LagnbError(f"{path}: 'counts' has bad entries for {', '.join(map(str, bad))}; {hint}")
    return meta


def _no_dataset(out: Path) -> str:
    what = f"no complete dataset at {out}"
    if not out.is_dir():
        return f"{what}: the folder does not exist (make one with `lagnb sample --out {out}`)"
    if (out / STATE).is_file():
        return (
            f"{what}: {out / META} is missing and {out / STATE} shows a build that stopped "
            "part-way; rerun `lagnb sample` (or `lagnb import-csv`) with the same arguments "
            "to finish it"
        )
    if any(part_files(out, s) for s in SPLITS):
        return (
            f"{what}: {out / META} is missing (it is written last, so the build never "
            f"finished or the file was deleted); {rebuild_hint(out)}"
        )
    return (
        f"{what}: {out / META} is missing and there are no split folders (make one with "
        f"`lagnb sample --out {out}` or `lagnb import-csv CSV --out {out}`)"
    )


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


# -- part files ----------------------------------------------------------------------------------
def _read_part(path: Path, columns: Sequence[str], hint: str) -> pa.Table:
    """One part file, checked against :data:`SCHEMA` (a file without pyarrow's checks would
    give null columns for the missing ones)."""
    try:
        with pq.ParquetFile(path) as fh:
            problem = _schema_problem(fh.schema_arrow)
            table = None if problem else fh.read(columns=list(columns))
    except (pa.ArrowException, OSError) as exc:
        raise LagnbError(
            f"{path} is not a readable parquet file ({_first_line(exc)}); {hint}"
        ) from None
    if table is None:
        raise LagnbError(f"{path} is not a part file of a lagnb dataset ({problem}); {hint}")
    return table


def _schema_problem(schema: pa.Schema) -> str:
    missing = [f.name for f in SCHEMA if f.name not in schema.names]
    if missing:
        return "missing column(s) " + ", ".join(missing)
    wrong = [
        f"{f.name} is {schema.field(f.name).type}, not {f.type}"
        for f in SCHEMA
        if not schema.field(f.name).type.equals(f.type)
    ]
    return "; ".join(wrong)


def _columns(columns: Sequence[str] | None) -> list[str]:
    cols = [c for c in (columns or SCHEMA.names) if c != "split"]
    unknown = [c for c in cols if c not in SCHEMA.names]
    if unknown:
        raise LagnbError(
            f"unknown dataset column(s) {', '.join(unknown)}; the columns are "
            + ", ".join(SCHEMA.names)
        )
    return cols


def _empty(cols: Sequence[str]) -> pa.Table:
    return pa.schema([SCHEMA.field(c) for c in cols]).empty_table()


def read_parts(
    out: str | os.PathLike,
    split: str,
    columns: Sequence[str] | None = None,
    *,
    kind: str | None = None,
) -> pa.Table:
    """The part files of one split as one table, whether or not the dataset is complete (the
    builders read the shards they have written with it; everyone else uses the ``load_*``
    functions).  ``kind`` (``"sampled"``/``"imported"``) names the rebuild command in errors."""
    _check_split(split)
    cols = _columns(columns)
    hint = rebuild_hint(out, kind)
    tables = [_read_part(p, cols, hint) for p in part_files(out, split)]
    return pa.concat_tables(tables) if tables else _empty(cols)


def count_rows(out: str | os.PathLike, split: str, *, kind: str | None = None) -> int:
    """Rows in the part files of one split (from the parquet footers, no data read)."""
    _check_split(split)
    hint = rebuild_hint(out, kind)
    total = 0
    for path in part_files(out, split):
        try:
            with pq.ParquetFile(path) as fh:
                total += fh.metadata.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise LagnbError(
                f"{path} is not a readable parquet file ({_first_line(exc)}); {hint}"
            ) from None
    return total


# -- the reader ----------------------------------------------------------------------------------
def _load(
    out: Path, meta: Mapping[str, Any], split: str, cols: Sequence[str], hint: str
) -> pa.Table:
    """One split of a complete dataset, its rows checked against ``meta.json``."""
    expected = meta["counts"].get(split, 0)
    files = part_files(out, split)
    if not files and expected:
        if not any(part_files(out, s) for s in SPLITS):
            raise LagnbError(
                f"{out} has {META} but no split folders ({', '.join(SPLITS)}): the data "
                f"files were moved or deleted; {hint}"
            )
        raise LagnbError(
            f"{out / split} has no part files, but {META} records {expected} rows; {hint}"
        )
    tables = [_read_part(p, cols, hint) for p in files]
    table = pa.concat_tables(tables) if tables else _empty(cols)
    if table.num_rows != expected:
        raise LagnbError(
            f"{out / split} holds {table.num_rows} rows, but {META} records {expected}: part "
            f"files were added or deleted; {hint}"
        )
    return table


def load_table(
    out: str | os.PathLike, splits: Iterable[str] = SPLITS, columns: Sequence[str] | None = None
) -> pa.Table:
    """Selected columns (default: all) of several splits (or one, by name) of a complete
    dataset, as one Arrow table with a ``split`` column."""
    splits = [splits] if isinstance(splits, str) else splits
    out = Path(out)
    meta = read_meta(out)
    hint = rebuild_hint(out, meta.get("kind"))
    cols = _columns(columns)
    parts = []
    for split in splits:
        _check_split(split)
        t = _load(out, meta, split, cols, hint)
        parts.append(t.append_column("split", pa.array([split] * t.num_rows, pa.string())))
    if not parts:
        return pa.schema([SCHEMA.field(c) for c in cols] + [("split", pa.string())]).empty_table()
    return pa.concat_tables(parts)


def load_rows(
    out: str | os.PathLike,
    splits: Iterable[str] = SPLITS,
    columns: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Rows (dicts of the selected columns and ``split``) of several splits (or one, by name),
    split by split in file order; at most ``limit`` rows of each split."""
    splits = [splits] if isinstance(splits, str) else splits
    rows: list[dict[str, Any]] = []
    for split in splits:
        table = load_table(out, [split], columns)
        rows += (table if limit is None else table.slice(0, limit)).to_pylist()
    return rows


def load_frame(
    out: str | os.PathLike,
    splits: Iterable[str] = ("train", "valid", "test"),
    columns: Sequence[str] = DESCRIPTOR_COLUMNS,
) -> pd.DataFrame:
    """Selected columns of several splits as one DataFrame with a ``split`` column (by default
    the in-distribution splits and :data:`DESCRIPTOR_COLUMNS`, for :mod:`lagnb.data.stats`)."""
    return load_table(out, splits, columns).to_pandas()


def load_split(out: str | os.PathLike, split: str) -> datasets.Dataset:
    """One split of a complete dataset as an in-memory :class:`datasets.Dataset` with all
    columns (local files only, no cache written).  An empty split gives an empty dataset with
    the same columns."""
    import datasets

    _check_split(split)
    return datasets.Dataset(load_table(out, [split]).drop_columns(["split"]))
