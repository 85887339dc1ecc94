"""Figures and widgets: built from real data, readable back as images."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from toonemo_lib.datasets.samples import load_sample
from toonemo_lib.datasets.synthetic import draw_cartoon_face
from toonemo_lib.style_transfer import cover_resize
from toonemo_lib.viz import image_grid, plot_style_levels, save_figure, style_transfer_widget


def test_image_grid_saves_a_png(tmp_path):
    faces = [draw_cartoon_face(e, 48, seed=e) for e in range(7)]
    fig = image_grid(faces + [faces[0][..., 0]], [str(i) for i in range(8)], ncols=4)
    path = save_figure(fig, tmp_path / "figs", "faces")
    assert path.exists() and path.stat().st_size > 5000
    with pytest.raises(ValueError, match="at least one image"):
        image_grid([])


def test_style_levels_figure_lists_every_resolution():
    fig = plot_style_levels(256)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(t.startswith("256x256: convs W rows 11-12, ToRGB 13") for t in texts)
    assert "14 rows of w" in fig.axes[0].get_title()


def test_style_transfer_widget_result_follows_its_controls():
    content = cover_resize(load_sample("faces/astronaut.png"), (48, 48))
    style = load_sample("styles/coffee.png")
    widget = style_transfer_widget(content, style, levels=3)
    full = widget.result
    controls = {c.description: c for c in widget.children if hasattr(c, "description")}
    controls["alpha"].value = 0.0
    assert widget.result.shape == content.shape
    assert np.abs(widget.result.astype(int) - content).max() <= 1
    assert np.abs(full.astype(int) - content).mean() > 5
