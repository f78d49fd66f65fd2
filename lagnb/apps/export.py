"""The edge of the feynlag route: write the model file of
:func:`lagnb.physics.feynlag_source.feynlag_source` to disk, or run it with feynlag
(``pip install lagnb[feynlag]``).  The text itself is pure and lives in physics."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from lagnb.errors import LagnbError
from lagnb.physics.feynlag_source import feynlag_source
from lagnb.physics.terms import Lagrangian


def write_feynlag(
    lag: Lagrangian, path: str | os.PathLike, model_name: str = "lagnb_model"
) -> Path:
    """Write :func:`feynlag_source` to ``path`` atomically (a temporary file, then a rename)."""
    target = Path(path)
    text = feynlag_source(lag, model_name)
    if not target.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such folder", str(target.parent))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def require_feynlag() -> None:
    """Raise a one-line :class:`LagnbError` when feynlag is not installed."""
    try:
        import feynlag  # noqa: F401
    except ImportError:
        raise LagnbError("feynlag is not installed: pip install 'lagnb[feynlag]'") from None


def feynlag_namespace(lag: Lagrangian, model_name: str = "lagnb_model") -> dict[str, object]:
    """Run :func:`feynlag_source` in a fresh namespace and return it (``ns["model"]`` is the
    feynlag ``Model``, ``ns["TERMS"]`` the terms, and every field, component and parameter is
    there by name).  Needs feynlag installed (``pip install lagnb[feynlag]``)."""
    require_feynlag()
    namespace: dict[str, object] = {"__name__": model_name}
    exec(compile(feynlag_source(lag, model_name), f"<lagnb {model_name}>", "exec"), namespace)
    return namespace
