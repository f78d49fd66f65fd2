"""Notebook figures: capped size, not tracked by pyplot, shown as a small palette PNG."""

import io

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from lagnb.figures import FIGURE_DPI, MAX_FIGSIZE, new_figure, palette_png


def test_size_is_capped_and_pyplot_does_not_track_it():
    before = plt.get_fignums()
    fig, axes = new_figure(1, 2, figsize=(40, 3))
    assert tuple(fig.get_size_inches()) == (MAX_FIGSIZE[0], 3)
    assert fig.dpi == FIGURE_DPI
    assert len(axes) == 2
    assert plt.get_fignums() == before


def test_palette_png_is_a_256_colour_image_no_larger_than_the_full_colour_one():
    fig, ax = new_figure(figsize=(6, 4))
    ax.imshow(np.random.default_rng(0).random((40, 40)), cmap="viridis")
    ax.set_title("a heat map")
    data = palette_png(fig)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.mode == "P"
    full = io.BytesIO()
    fig.savefig(full, format="png", bbox_inches="tight", facecolor="white")
    assert len(data) < len(full.getvalue())
    assert fig._repr_png_() == data
