"""Figures and widgets of every domain (`plots`, `lessons.plots`, `datasets.plots`, `stylegan2.plots`): built from real data, readable back as images."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from toonemo_lib.datasets.plots import mark_face, plot_resolution_stats  # noqa: E402
from toonemo_lib.datasets.samples import load_sample  # noqa: E402
from toonemo_lib.datasets.synthetic import draw_cartoon_face  # noqa: E402
from toonemo_lib.lessons.plots import plot_style_levels, style_transfer_widget  # noqa: E402
from toonemo_lib.lessons.style_transfer import cover_resize  # noqa: E402
from toonemo_lib.plots import image_grid, log2_axis, save_figure  # noqa: E402


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


def test_log2_axis_puts_plain_numbers_at_powers_of_two():
    fig, ax = plt.subplots()
    ax.plot([20, 700], [1, 2])
    log2_axis(ax, "x", 16, 1024)
    fig.canvas.draw()
    assert ax.get_xscale() == "log"
    assert list(ax.get_xticks()) == [16, 32, 64, 128, 256, 512, 1024]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["16", "32", "64", "128", "256", "512", "1024"]
    with pytest.raises(ValueError, match="'x' or 'y'"):
        log2_axis(ax, "z")
    plt.close(fig)


def test_resolution_stats_show_kept_and_rejected_against_the_thresholds(tmp_path):
    decisions = pd.DataFrame({"width": [25, 25, 512, 84, 0], "height": [25, 30, 512, 72, 0],
                              "kept": [False, False, True, True, False]})  # the last one did not decode
    fig = plot_resolution_stats(decisions, min_side=32, resolution=64)
    scatter, hist = fig.axes
    assert [t.get_text() for t in scatter.get_legend().get_texts()] == ["kept (2)", "rejected (2)"]
    assert {"min_side = 32", "resolution = 64"} <= {t.get_text() for t in hist.get_legend().get_texts()}
    assert scatter.get_xscale() == scatter.get_yscale() == hist.get_xscale() == "log"
    assert save_figure(fig, tmp_path, "stats").stat().st_size > 5000
    with pytest.raises(ValueError, match="no decodable"):
        plot_resolution_stats(decisions.iloc[[4]], 32, 64)
    plt.close("all")


def test_mark_face_draws_box_and_eyes_on_a_scaled_copy_and_keeps_colours():
    photo = np.zeros((20, 40, 3), np.uint8)
    photo[:, :20] = (255, 0, 0)   # red left half
    photo[:, 20:] = (0, 0, 255)   # blue right half
    before = photo.copy()
    marked = mark_face(photo, face_box=(10, 4, 20, 12), eyes=((15, 8), (25, 8)), width=80,
                       box_color=(0, 255, 0), eye_color=(255, 255, 0))
    np.testing.assert_array_equal(photo, before)  # the input is left alone
    assert marked.shape == (40, 80, 3) and marked.dtype == np.uint8
    assert tuple(marked[38, 2]) == (255, 0, 0) and tuple(marked[38, 77]) == (0, 0, 255)  # RGB stays RGB
    assert tuple(marked[8, 40]) == (0, 255, 0)  # the box's top edge, scaled by 2: y = 8
    yellow = np.all(marked == (255, 255, 0), axis=-1)
    assert yellow[10:22, 24:36].any() and yellow[10:22, 44:56].any()  # a square round each eye (x 30 and 50, y 16)
    plain = mark_face(photo, width=40)
    np.testing.assert_array_equal(plain, photo)


def test_blend_weights_figure_and_widget_follow_pinkneys_rule(tmp_path):
    from toonemo_lib.stylegan2.demo import tiny_generator
    from toonemo_lib.stylegan2.plots import blend_layer_weights, blend_widget, plot_blend_weights

    structure, texture = tiny_generator(16, seed=1), tiny_generator(16, seed=0)
    hard = blend_layer_weights(structure, 8)
    assert list(hard) == ["4x4/Const", "4x4/ToRGB", "8x8/Conv0_up", "8x8/Conv1", "8x8/ToRGB",
                          "16x16/Conv0_up", "16x16/Conv1", "16x16/ToRGB"]
    assert list(hard.values()) == [0, 0, 0, 0, 0, 1, 1, 1]
    smooth = blend_layer_weights(structure, 8, blend_width=1.0)
    assert smooth["8x8/Conv0_up"] == 0.5 and 0 < smooth["4x4/Const"] < 0.5 < smooth["16x16/ToRGB"] < 1
    fig = plot_blend_weights(structure, 8)
    assert len(fig.axes[0].lines) == 4 + 1  # hard, three smooth widths, the centre line
    assert save_figure(fig, tmp_path, "weights").stat().st_size > 5000
    plt.close("all")

    widget = blend_widget(structure, texture, seeds=[0, 1])
    assert widget.result.shape == (2, 3, 16, 16, 3) and widget.result.dtype == np.uint8
    controls = {c.description: c for c in widget.children if hasattr(c, "description")}
    assert controls["resolution"].options == (4, 8, 16)
    controls["resolution"].value = 16  # blending at the full resolution keeps the structure model
    assert np.array_equal(widget.result[:, 1], widget.result[:, 0])
    controls["resolution"].value = 4
    assert not np.array_equal(widget.result[:, 1], widget.result[:, 0])
    controls["width"].value = 1.0
    smooth_grid = widget.result
    controls["width"].value = 0.0
    assert not np.array_equal(smooth_grid[:, 1], widget.result[:, 1])
    plt.close("all")


# --- Toonify yourself: the upload widget and Colab's webcam snapshot (notebook 04) ---------------
