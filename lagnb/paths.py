"""Where things are: the repository root and paths relative to it (used by the notebooks, the
notebook runner and the apps, which run from any current directory)."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The repository root (the folder holding ``pyproject.toml`` and ``notebooks/``).

    ``$LAGNB_ROOT`` if set; else the checkout this package was imported from (an editable
    install); else the first parent of the current directory that looks like the repository;
    else the current directory.
    """

    def looks_like_root(p: Path) -> bool:
        return (p / "pyproject.toml").is_file() and (p / "lagnb").is_dir()

    env = os.environ.get("LAGNB_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parent.parent
    if looks_like_root(here):
        return here
    cwd = Path.cwd().resolve()
    for p in (cwd, *cwd.parents):
        if looks_like_root(p):
            return p
    return cwd


def resolve_path(path: str | os.PathLike) -> Path:
    """An absolute path: as given if absolute, else relative to :func:`repo_root`."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else repo_root() / p
