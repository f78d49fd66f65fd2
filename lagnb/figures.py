"""Figures for notebooks: matplotlib figures of a sensible size that pyplot does not track.

Every plot in lagnb is drawn on :func:`new_figure`.  In a notebook such a figure is shown once
(as the cell's value, or with ``display``) as a 256-colour palette PNG: plots use few colours
and a colormap has 256 entries anyway, so it looks the same and takes a third of the bytes,
which keeps the committed notebooks small.
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.figure import Figure

FIGURE_DPI = 72
MAX_FIGSIZE = (12.0, 9.0)
"""Figures are drawn at most this large (inches) at :data:`FIGURE_DPI`: readable in a
notebook, and a few tens of kB each in the committed notebooks."""


class NotebookFigure(Figure):
    """A matplotlib figure that a notebook displays as a palette PNG (:func:`palette_png`)."""

    def _repr_png_(self) -> bytes:
        return palette_png(self)


def palette_png(fig: Figure, dpi: float | None = None) -> bytes:
    """``fig`` as PNG bytes with at most 256 colours (white background, tight bounding box)."""
    from PIL import Image

    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=dpi or fig.dpi, bbox_inches="tight", facecolor="white")
    raw.seek(0)
    image = Image.open(raw).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="png", optimize=True)
    return out.getvalue()


def _show_as_palette_png() -> None:
    """Route IPython's PNG display of :class:`NotebookFigure` to :func:`palette_png`.

    The inline backend registers a PNG printer for every ``Figure``; a printer registered for
    the subclass comes first in IPython's lookup, so this one wins (outside IPython: nothing).
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    shell.display_formatter.formatters["image/png"].for_type(NotebookFigure, palette_png)


def new_figure(*args: Any, **kwargs: Any) -> tuple[NotebookFigure, Any]:
    """``Figure.subplots`` on a figure that pyplot does not track: a notebook shows it once
    (as the cell's value, or with ``display``), never again at the end of the cell.  The size
    is capped at :data:`MAX_FIGSIZE`, the resolution is :data:`FIGURE_DPI`."""
    w, h = kwargs.pop("figsize", (6.4, 4.8))
    size = (min(w, MAX_FIGSIZE[0]), min(h, MAX_FIGSIZE[1]))
    fig = NotebookFigure(figsize=size, dpi=FIGURE_DPI)
    _show_as_palette_png()
    return fig, fig.subplots(*args, **kwargs)
