"""Import of a dataset in the public BART-L CSV layout (columns ``fields``, ``Lagrangian``,
``train/eval``) from a local file into the lagnb layout (:mod:`lagnb.data.reader`), through the
same atomic, resumable shard writer as sampling (:class:`lagnb.data.writer.ShardStore`).

A bad file is a one-line :class:`LagnbError` naming it (and the row): an empty file, missing
columns, a line the CSV parser cannot split, bytes that are not UTF-8, an empty cell, fields
that do not parse, or a Lagrangian with tokens outside the BART-L vocabulary.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from lagnb.data.features import FEATURE_COLUMNS, FEATURES
from lagnb.data.reader import FORMAT_VERSION, META, SPLITS, read_meta, read_parts
from lagnb.data.sampling import content_key
from lagnb.data.writer import (
    ShardStore,
    clear_dataset,
    folder_lock,
    lagnb_version,
    split_of,
    worker_count,
)
from lagnb.errors import LagnbError

_COLUMN_ALIASES = {
    "fields": ("fields", "field", "input", "inputs", "source", "src"),
    "lagrangian": ("lagrangian", "target", "output", "tgt"),
    "split": ("traineval", "split"),
}

_SPLIT_VALUES = {
    "train": "train",
    "training": "train",
    "eval": "eval",
    "evaluation": "eval",
    "test": "eval",
    "valid": "eval",
    "validation": "eval",
}

_HEADER_HINT = (
    "a BART-L CSV has a header line naming the columns fields, Lagrangian and train/eval, "
    "then one row per Lagrangian"
)


def _norm_col(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def recognise_columns(
    columns: Sequence[str], source: str | os.PathLike | None = None
) -> dict[str, str | None]:
    """Map the BART-L CSV roles (fields, lagrangian, split) to actual column names.

    Raises :class:`LagnbError` (naming ``source``, the file, when given) listing the columns
    found when fields or Lagrangian is missing.
    """
    found: dict[str, str | None] = {}
    normed = {_norm_col(c): c for c in columns}
    for role, aliases in _COLUMN_ALIASES.items():
        found[role] = next((normed[a] for a in aliases if a in normed), None)
    missing = [r for r in ("fields", "lagrangian") if found[r] is None]
    if missing:
        shown = repr(list(columns)[:8])[:200] + (" …" if len(columns) > 8 else "")
        raise LagnbError(
            (f"{source}: " if source else "")
            + "not a BART-L CSV: no column for "
            + " and ".join(missing)
            + f" (found columns {shown}; expected 'fields', 'Lagrangian' and "
            "optionally 'train/eval')"
        )
    return found


def _read_header(csv_path: Path) -> list[str]:
    import pandas as pd

    try:
        return pd.read_csv(csv_path, nrows=0, encoding_errors="replace").columns.tolist()
    except pd.errors.EmptyDataError:
        raise LagnbError(f"{csv_path} is empty: {_HEADER_HINT}") from None
    except pd.errors.ParserError as exc:
        raise LagnbError(f"{csv_path}: not a CSV file ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class _BadRow(Exception):
    """A row that cannot be imported (raised, or skipped and counted with ``on_error="skip"``)."""


def _cell(values: dict[str, Any], column: str) -> str:
    value = values[column]
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise _BadRow(f"empty {column!r} cell")
    if "\ufffd" in text:  # what encoding_errors="replace" leaves of bytes that are not UTF-8
        raise _BadRow(f"the {column!r} cell is not UTF-8 text")
    return text


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
    the dropped rows are counted in ``meta.json``.  A bad row (an empty or non-UTF-8 cell,
    fields that do not parse, a Lagrangian token outside the BART-L vocabulary) is an error
    naming the file and row; ``on_error="skip"`` skips and counts such rows instead.  A file
    the CSV parser cannot split, an unknown ``train/eval`` value, or no importable row at all
    is always an error.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise LagnbError(f"no such CSV file: {csv_path}")
    if eval_split not in ("valid", "test"):
        raise LagnbError(f"eval_split must be 'valid' or 'test', got {eval_split!r}")
    if on_error not in ("raise", "skip"):
        raise LagnbError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    cols = recognise_columns(_read_header(csv_path), csv_path)
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
    from lagnb.physics.tokens import SPECIAL_TOKENS, VOCABULARY, split_terms

    vocabulary = set(VOCABULARY)
    if (out / META).is_file():
        if read_meta(out).get("params") == spec:
            return out
        if not overwrite:
            raise LagnbError(f"{out} holds another dataset; use another folder or overwrite=True")
        clear_dataset(out)
    store = ShardStore(out, spec, overwrite, "imported")
    seen = store.keys()
    st = store.state.setdefault(
        "import", {"rows": 0, "duplicates": 0, "cross_split_duplicates": 0, "errors": 0}
    )
    usecols = [c for c in cols.values() if c is not None]
    n_workers = worker_count(workers)
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
        # Every cell as a string ("" when empty); bytes that are not UTF-8 become U+FFFD
        # so that the row, not the whole file, can be named (or skipped).
        reader = pd.read_csv(
            csv_path,
            usecols=usecols,
            dtype=str,
            na_filter=False,
            encoding_errors="replace",
            chunksize=chunk_rows,
        )
        for k, chunk in enumerate(_chunks(reader, csv_path)):
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
                raw_split = values[cols["split"]] if cols["split"] else "train"
                kind = _SPLIT_VALUES.get(str(raw_split).strip().lower())
                if kind is None:
                    raise LagnbError(
                        f"{csv_path}: row {row_no}: unknown {cols['split']!r} value {raw_split!r} "
                        "(expected train or eval)"
                    )
                try:
                    flds = parse_fields(_cell(values, cols["fields"]))
                    target_toks = [
                        t
                        for t in split_tokens(_cell(values, cols["lagrangian"]))
                        if t not in SPECIAL_TOKENS
                    ]
                    unknown = next((t for t in target_toks if t not in vocabulary), None)
                    if unknown is not None:
                        raise _BadRow(
                            f"the Lagrangian has the token {unknown[:40]!r}, which is not in the "
                            "BART-L vocabulary"
                        )
                except (LagnbError, _BadRow) as exc:
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
    counts = store.counts()
    if not sum(counts.values()):
        reason = f"{st['errors']} bad rows skipped" if st["errors"] else "no data rows"
        raise LagnbError(f"{csv_path}: nothing to import ({reason}): {_HEADER_HINT}")
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


def _chunks(reader: Iterable[Any], csv_path: Path) -> Iterable[Any]:
    """The reader's chunks, a line the CSV parser cannot split being a one-line error."""
    import pandas as pd

    try:
        yield from reader
    except pd.errors.ParserError as exc:
        raise LagnbError(
            f"{csv_path}: the CSV parser stopped ({_first_line(exc)}); fix or remove that line"
        ) from None


def _fractions_from_files(out: Path, splits: Iterable[str]) -> dict[str, float]:
    tables = [read_parts(out, s, list(FEATURE_COLUMNS), kind="imported") for s in splits]
    n = sum(t.num_rows for t in tables)
    return {
        f: (sum(sum(t.column(f"has_{f}").to_pylist()) for t in tables) / n if n else 0.0)
        for f in FEATURES
    }
