"""A photo from the learner (`uploads`): the upload widget, data URLs, Colab's webcam snapshot, and Toonify yourself."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from toonemo_lib.datasets.samples import load_sample  # noqa: E402


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
    from toonemo_lib.uploads import data_url_to_image, image_from_bytes, upload_to_image

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
    from toonemo_lib.uploads import photo_upload_widget

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

    from toonemo_lib.uploads import COLAB_SNAPSHOT_JS, colab_webcam_snapshot, photo_upload_widget

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
    from toonemo_lib.toonify.toonifier import toonify
    from toonemo_lib.toonify.plots import plot_toonified, toonify_upload_widget

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
