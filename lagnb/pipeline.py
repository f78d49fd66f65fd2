"""Headless notebook runs: one notebook with parameters (papermill), or the whole pipeline.

The project's notebooks (``notebooks/NN_*.ipynb``) each have one cell tagged ``parameters``;
:data:`PROFILES` gives, per profile, the parameters of every notebook.  ``lagnb pipeline`` runs
the notebooks in order on a profile and skips those that do not exist (yet); ``lagnb run`` runs
one notebook.  Executed notebooks go to a run folder; widget state is not stored in them.
Kernels run in the notebook's folder (as under nbval), so notebooks resolve their paths with
:func:`repo_root` and work from any current directory.
"""

from __future__ import annotations

import ast
import datetime as _dt
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lagnb.errors import LagnbError
from lagnb.paths import repo_root, resolve_path

NOTEBOOKS: list[str] = [
    "00_tour.ipynb",
    "01_dataset_sampling.ipynb",
    "02_training.ipynb",
    "03_evaluation.ipynb",
    "04_attention.ipynb",
    "05_autocomplete.ipynb",
    "06_feynman_rules.ipynb",
]
"""The pipeline's notebooks, in order (names under ``notebooks/``).  Notebooks named in a
profile are run too, ordered by their ``NN_`` prefix; missing ones are skipped."""

PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "tiny": {
        "00_tour.ipynb": {"model_path": "", "max_new_tokens": 400, "seed": 0},
        "01_dataset_sampling.ipynb": {
            "n": 2000,
            "strategy": "enriched",
            "seed": 0,
            "min_fields": 1,
            "max_fields": 3,
            "reps": "bart-l",
            "max_target_len": 384,
            "shuffle": True,
            "out_dir": "runs/tiny/data",
            "compare_uniform": True,
        },
        "02_training.ipynb": {
            "data_dir": "runs/tiny/data",
            "out_dir": "runs/tiny/model",
            "size": "tiny",
            "steps": 300,
            "seed": 0,
            "fresh": True,
        },
        "03_evaluation.ipynb": {
            "model_path": "runs/tiny/model",
            "data_dir": "runs/tiny/data",
            "max_examples": 16,
            "seed": 0,
        },
        "04_attention.ipynb": {"model_path": "runs/tiny/model", "device": "cpu", "seed": 0},
        "05_autocomplete.ipynb": {
            "model_path": "runs/tiny/model",
            "device": "cpu",
            "partial_terms": 3,
            "max_terms": 3,
            "seed": 0,
        },
        "06_feynman_rules.ipynb": {"v_delta": 1.0, "mu": 5.0, "scan_points": 41},
    },
    "small": {
        "01_dataset_sampling.ipynb": {
            "n": 20000,
            "strategy": "enriched",
            "seed": 0,
            "min_fields": 1,
            "max_fields": 4,
            "reps": "bart-l",
            "max_target_len": 1024,
            "shuffle": True,
            "out_dir": "runs/small/data",
            "compare_uniform": True,
        },
        "02_training.ipynb": {
            "data_dir": "runs/small/data",
            "out_dir": "runs/small/model",
            "size": "small",
            "steps": 3000,
            "seed": 0,
            "fresh": False,
        },
        "03_evaluation.ipynb": {
            "model_path": "runs/small/model",
            "data_dir": "runs/small/data",
            "max_examples": 500,
            "seed": 0,
        },
        "04_attention.ipynb": {"model_path": "runs/small/model", "seed": 0},
        "05_autocomplete.ipynb": {"model_path": "runs/small/model", "seed": 0},
        "06_feynman_rules.ipynb": {"v_delta": 1.0, "mu": 5.0, "scan_points": 81},
    },
    "paper": {
        "01_dataset_sampling.ipynb": {
            "n": 37000,
            "strategy": "enriched",
            "seed": 0,
            "min_fields": 1,
            "max_fields": 6,
            "reps": "default",
            "max_target_len": 2048,
            "shuffle": True,
            "out_dir": "runs/paper/data",
            "compare_uniform": True,
        },
        "02_training.ipynb": {
            "data_dir": "runs/paper/data",
            "out_dir": "runs/paper/model",
            "size": "large",
            "steps": 20000,
            "seed": 0,
            "fresh": False,
        },
        "03_evaluation.ipynb": {
            "model_path": "runs/paper/model",
            "data_dir": "runs/paper/data",
            "max_examples": 500,
            "seed": 0,
        },
        "04_attention.ipynb": {"model_path": "runs/paper/model", "seed": 0},
        "05_autocomplete.ipynb": {"model_path": "runs/paper/model", "seed": 0},
        "06_feynman_rules.ipynb": {"v_delta": 1.0, "mu": 5.0, "scan_points": 201},
    },
}
"""profile → notebook → parameters.  ``tiny`` (the default, the README's main job) runs in a few
minutes on a 2-core CPU; ``paper`` has the BART-L paper's dataset size (37K Lagrangians, up to
six fields)."""


def dataset_params(profile: str = "tiny") -> dict[str, Any]:
    """The sampling parameters of a profile's dataset (notebook 01's parameters without the
    folder and display options), for ``lagnb.data.build.ensure_dataset(dir, **params)`` in
    notebooks that must build the data themselves when run alone."""
    if profile not in PROFILES:
        raise LagnbError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    params = dict(PROFILES[profile].get("01_dataset_sampling.ipynb", {}))
    for key in ("out_dir", "compare_uniform"):
        params.pop(key, None)
    return params


class NotebookError(LagnbError):
    """A notebook failed: names the notebook and the cell, with the cell's error."""


def find_notebook(notebook: str | os.PathLike) -> Path:
    """A notebook path: as given (relative to the current directory), else relative to the
    repository root, else under ``notebooks/`` (so ``01_dataset_sampling.ipynb`` is enough)."""
    p = Path(notebook).expanduser()
    candidates = [p] if p.is_absolute() else [p, repo_root() / p, repo_root() / "notebooks" / p]
    for c in candidates:
        if c.is_file():
            return c.resolve()
    raise LagnbError(f"no such notebook: {notebook} (looked in {', '.join(map(str, candidates))})")


def notebook_parameters(notebook: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares (papermill's inspection of its ``parameters`` cell):
    name → {"inferred_type_name", "default", "help"}."""
    import nbformat
    import papermill as pm

    path = find_notebook(notebook)
    try:
        return dict(pm.inspect_notebook(str(path)))
    except (ValueError, nbformat.ValidationError) as exc:  # not JSON, not UTF-8, not a notebook
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LagnbError(f"{path}: not a readable Jupyter notebook ({why})") from None


def parse_value(text: str) -> Any:
    """A command-line parameter value: a Python literal (``3``, ``0.5``, ``True``, ``None``,
    ``[1, 2]``) when it is one, else the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _check_parameters(nb: Path, parameters: Mapping[str, Any]) -> None:
    declared = notebook_parameters(nb)
    unknown = [k for k in parameters if k not in declared]
    if unknown:
        raise LagnbError(
            f"{nb.name}: unknown parameter(s) {', '.join(unknown)}; "
            f"the notebook's parameters are {', '.join(declared) or '(none)'}"
        )


def _timestamp() -> str:
    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def run_notebook(
    notebook: str | os.PathLike,
    parameters: Mapping[str, Any] | None = None,
    *,
    output: str | os.PathLike | None = None,
    run_dir: str | os.PathLike | None = None,
    kernel_name: str | None = None,
    progress: bool = True,
    timeout: int | None = None,
    check_parameters: bool = True,
) -> Path:
    """Execute a notebook headlessly with papermill and return the executed notebook's path.

    Args:
        notebook: a path, or a name under ``notebooks/``.
        parameters: values for the notebook's ``parameters`` cell (unknown names are an error).
        output: where to write the executed notebook (may be the notebook itself, to refresh
            its committed outputs); default ``run_dir/<name>``.
        run_dir: default ``runs/<stem>-<timestamp>`` under the repository root.
        kernel_name: default: the notebook's own kernel.
        timeout: per-cell time limit in seconds (default none).

    Raises :class:`NotebookError` naming the failing cell (its number in the executed notebook,
    its execution count and first line) and its error; the executed notebook, with the error
    in it, is still written.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    nb = find_notebook(notebook)
    params = dict(parameters or {})
    if check_parameters:
        _check_parameters(nb, params)
    if output is None:
        folder = (
            resolve_path(run_dir) if run_dir else repo_root() / "runs" / f"{nb.stem}-{_timestamp()}"
        )
        out = folder / nb.name
    else:
        out = Path(output).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        pm.execute_notebook(
            str(nb),
            str(out),
            parameters=params,
            cwd=str(nb.parent),
            kernel_name=kernel_name,
            progress_bar=progress,
            store_widget_state=False,
            execution_timeout=timeout,
        )
    except PapermillExecutionError as exc:
        raise NotebookError(_describe_failure(nb, out, exc)) from None
    return out


def _describe_failure(nb: Path, out: Path, exc: Any) -> str:
    first = next((ln for ln in str(exc.source).splitlines() if ln.strip()), "").strip()
    index = exc.cell_index
    try:  # the index in the notebook as written (papermill inserts an injected-parameters cell)
        import nbformat

        cells = nbformat.read(str(out), as_version=4).cells
        injected = sum(
            "injected-parameters" in c.get("metadata", {}).get("tags", []) for c in cells[:index]
        )
        index -= injected
    except Exception:  # pragma: no cover - the message is still useful without it
        pass
    return (
        f"notebook {nb.name} failed in cell {index} (In [{exc.exec_count}]: {first[:80]!r}): "
        f"{exc.ename}: {exc.evalue}\n(executed notebook with the traceback: {out})"
    )


def _prefix(name: str) -> tuple[int, str]:
    m = re.match(r"(\d+)_", name)
    return (int(m.group(1)) if m else 10**6, name)


def notebooks_in_order(profile: str = "tiny") -> list[str]:
    """The pipeline's notebook names for ``profile``: :data:`NOTEBOOKS` and those the profile
    names, ordered by their number prefix."""
    if profile not in PROFILES:
        raise LagnbError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    return sorted(set(NOTEBOOKS) | set(PROFILES[profile]), key=_prefix)


def run_pipeline(
    profile: str = "tiny",
    *,
    run_dir: str | os.PathLike | None = None,
    only: Iterable[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    kernel_name: str | None = None,
    progress: bool = True,
    log: Any = print,
) -> list[Path]:
    """Run the project's notebooks in order on a profile; return the executed notebooks.

    Notebooks that do not exist (yet) are skipped with a message.  ``only`` restricts to
    notebooks whose name starts with one of the given prefixes (``["01", "02"]``);
    ``overrides`` sets parameters in every notebook that declares them.  The executed
    notebooks go to ``run_dir`` (default ``runs/<profile>``).  Stops at the first failing
    notebook with :class:`NotebookError`.
    """
    names = notebooks_in_order(profile)
    if only:
        prefixes = tuple(only)
        names = [n for n in names if n.startswith(prefixes)]
        if not names:
            known = ", ".join(notebooks_in_order(profile))
            raise LagnbError(f"only={list(prefixes)} matches none of the notebooks ({known})")
    folder = resolve_path(run_dir) if run_dir else repo_root() / "runs" / profile
    done: list[Path] = []
    for name in names:
        path = repo_root() / "notebooks" / name
        if not path.is_file():
            log(f"[pipeline] skip {name}: notebooks/{name} does not exist")
            continue
        params = dict(PROFILES[profile].get(name, {}))
        if overrides:
            declared = notebook_parameters(path)
            params.update({k: v for k, v in overrides.items() if k in declared})
        log(f"[pipeline] {name} ({profile}) → {folder / name}")
        done.append(
            run_notebook(
                path, params, output=folder / name, kernel_name=kernel_name, progress=progress
            )
        )
    return done


def parameter_pairs(pairs: Sequence[Sequence[str]] | None) -> dict[str, Any]:
    """``[["n", "200"], ["strategy", "uniform"]]`` (from ``-p name value``) → a dict."""
    return {name: parse_value(value) for name, value in (pairs or [])}
