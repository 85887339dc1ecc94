"""Figures and widgets: built from real data, readable back as images."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from toonemo_lib.datasets.samples import load_sample
from toonemo_lib.datasets.synthetic import draw_cartoon_face
from toonemo_lib.lessons.style_transfer import cover_resize
import matplotlib.pyplot as plt
import pandas as pd

from toonemo_lib.viz import (
    image_grid,
    log2_axis,
    mark_face,
    plot_resolution_stats,
    plot_style_levels,
    save_figure,
    style_transfer_widget,
)


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
    from toonemo_lib.viz import blend_layer_weights, blend_widget, plot_blend_weights

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

def _upload_value(path_or_bytes, name=None):
    """What ipywidgets 8's FileUpload holds after the browser sent one file."""
    import datetime
    from pathlib import Path

    data = Path(path_or_bytes).read_bytes() if not isinstance(path_or_bytes, bytes) else path_or_bytes
    name = name or Path(path_or_bytes).name
    return ({"name": name, "type": "image/png", "size": len(data), "content": memoryview(data),
             "last_modified": datetime.datetime.now(datetime.timezone.utc)},)


def _astronaut_data_url():
    import base64

    from toonemo_lib.datasets.samples import sample_path

    return "data:image/png;base64," + base64.b64encode(sample_path("faces/astronaut.png").read_bytes()).decode()


def test_an_upload_or_data_url_decodes_like_the_file_and_bad_data_is_named():
    from toonemo_lib.datasets.samples import sample_path
    from toonemo_lib.images import ImageError
    from toonemo_lib.viz import data_url_to_image, image_from_bytes, upload_to_image

    astronaut = load_sample("faces/astronaut.png")
    name, photo = upload_to_image(_upload_value(sample_path("faces/astronaut.png")))
    assert name == "astronaut.png" and photo.dtype == np.uint8 and np.array_equal(photo, astronaut)
    assert np.array_equal(data_url_to_image(_astronaut_data_url()), astronaut)
    with pytest.raises(ImageError, match=r"^broken\.png: not an image"):
        upload_to_image(_upload_value(b"this is no PNG", "broken.png"))
    truncated = sample_path("faces/astronaut.png").read_bytes()[:2000]
    with pytest.raises(ImageError, match=r"^cut\.png: cannot decode image"):
        image_from_bytes(truncated, "cut.png")
    with pytest.raises(ImageError, match="empty file"):
        image_from_bytes(b"", "empty.png")
    with pytest.raises(ValueError, match="one uploaded file, got 0"):
        upload_to_image(())
    with pytest.raises(ValueError, match="not an image"):
        data_url_to_image("data:text/plain;base64,aGVsbG8=")
    with pytest.raises(ValueError, match="not a data URL"):
        data_url_to_image("http://example.org/face.png")
    with pytest.raises(ValueError, match="base64 payload is corrupt"):
        data_url_to_image("data:image/png;base64,@@@")


def test_photo_upload_widget_calls_back_with_the_photo_or_names_the_bad_file(capsys):
    from toonemo_lib.datasets.samples import sample_path
    from toonemo_lib.viz import photo_upload_widget

    seen = []
    widget = photo_upload_widget(lambda photo: seen.append(photo) or photo.shape, verb="toonified")
    assert widget.result is None and not seen and widget.snapshot is None  # nothing uploaded yet, not Colab
    assert widget.upload.accept == "image/*" and widget.upload.multiple is False
    assert "Upload a photo" in capsys.readouterr().out

    widget.upload.value = _upload_value(sample_path("faces/astronaut.png"))
    (photo,) = seen
    assert np.array_equal(photo, load_sample("faces/astronaut.png")) and widget.result == photo.shape
    assert "toonified astronaut.png" in capsys.readouterr().out

    widget.upload.value = _upload_value(b"\x89PNG\r\n\x1a\n but corrupt", "corrupt.png")
    assert len(seen) == 1 and widget.result is None
    out = capsys.readouterr().out
    assert "cannot use corrupt.png:" in out and "toonified" not in out

    def no_face(photo):
        raise ValueError("no face found")

    widget = photo_upload_widget(no_face)
    widget.upload.value = _upload_value(sample_path("faces/astronaut.png"))
    assert widget.result is None and "cannot use astronaut.png: no face found" in capsys.readouterr().out


def test_colab_webcam_snapshot_goes_through_the_upload(monkeypatch, capsys):
    """Colab faked: eval_js gets the getUserMedia snippet and answers with the astronaut as a data URL."""
    import sys
    import types

    from toonemo_lib.viz import COLAB_SNAPSHOT_JS, colab_webcam_snapshot, photo_upload_widget

    with pytest.raises(RuntimeError, match="needs Colab"):
        colab_webcam_snapshot()
    scripts = []
    output = types.ModuleType("google.colab.output")
    output.eval_js = lambda script: scripts.append(script) or _astronaut_data_url()
    colab = types.ModuleType("google.colab")
    colab.output = output
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.output", output)

    astronaut = load_sample("faces/astronaut.png")
    assert np.array_equal(colab_webcam_snapshot(), astronaut)
    assert "getUserMedia" in COLAB_SNAPSHOT_JS and scripts[0].startswith(COLAB_SNAPSHOT_JS)
    assert scripts[0].endswith("takeSnapshot(0.9)")

    seen = []
    widget = photo_upload_widget(seen.append)
    buttons = [c for c in widget.children if getattr(c, "description", "") == "webcam snapshot"]
    assert len(buttons) == 1 and widget.children[-1] is widget.out
    buttons[0].click()
    assert len(seen) == 1 and np.array_equal(seen[0], astronaut)
    assert widget.upload.value[0]["name"].startswith("webcam snapshot")
    assert "processed webcam snapshot" in capsys.readouterr().out


def test_toonify_upload_widget_toonifies_the_upload_and_cuts_its_emoji(capsys):
    from toonemo_lib.datasets.samples import sample_path
    from toonemo_lib.faces.emoji import personal_emoji
    from toonemo_lib.stylegan2.demo import tiny_generator
    from toonemo_lib.stylegan2.project import w_statistics
    from toonemo_lib.toonify import toonify
    from toonemo_lib.viz import plot_toonified, toonify_upload_widget

    base, toon = tiny_generator(32, seed=0), tiny_generator(32, seed=1)
    stats = w_statistics(base, 500)
    calls = []

    def toonify_photo(photo):
        calls.append(photo)
        return toonify(photo, base, toon, steps=3, w_stats=stats, progress=False)

    def make_emojis(photo, toon_face):
        return {"photo": personal_emoji(photo, size=64)}

    plt.close("all")
    widget = toonify_upload_widget(toonify_photo, make_emojis, names=("cartoon", "face"), blend_point=16)
    widget.upload.value = _upload_value(sample_path("faces/astronaut.png"))
    assert len(calls) == 1 and np.array_equal(calls[0], load_sample("faces/astronaut.png"))
    result, emojis = widget.result["toonify"], widget.result["emojis"]
    assert result.toon_face.shape == (32, 32, 3) and result.pasted.shape == calls[0].shape
    assert emojis["photo"].cropped.shape[2] == 4
    assert "toonified astronaut.png" in capsys.readouterr().out
    titles = [ax.get_title() for ax in plt.figure(plt.get_fignums()[0]).axes]
    assert titles == ["photo and the face's quad", "aligned face", "face: reconstruction", "blend at 16: toon face",
                      "pasted back"]
    assert len(plt.get_fignums()) == 2  # the toonify row and the emoji steps
    plt.close("all")
    fig = plot_toonified(calls[0], result)
    assert fig.axes[3].get_title() == "toon face"
    plt.close(fig)
