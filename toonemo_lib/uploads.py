"""A photo from the learner in a notebook: the upload widget, and on Colab a webcam snapshot."""

from __future__ import annotations

import numpy as np


# Colab has no ipywidgets camera: this runs in the page (google.colab.output.eval_js waits for the
# promise), shows the webcam's picture with a button, and returns the frame as a JPEG data URL.
COLAB_SNAPSHOT_JS = """
async function takeSnapshot(quality) {
  const box = document.createElement('div');
  const button = document.createElement('button');
  button.textContent = 'Take the snapshot';
  const video = document.createElement('video');
  video.style.display = 'block';
  const stream = await navigator.mediaDevices.getUserMedia({video: true});
  document.body.appendChild(box);
  box.appendChild(video);
  box.appendChild(button);
  video.srcObject = stream;
  await video.play();
  google.colab.output.setIframeHeight(document.documentElement.scrollHeight, true);
  await new Promise((resolve) => button.onclick = resolve);
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext('2d').drawImage(video, 0, 0);
  stream.getVideoTracks()[0].stop();
  box.remove();
  return canvas.toDataURL('image/jpeg', quality);
}
"""


def image_from_bytes(data, name: str = "upload") -> np.ndarray:
    """Decode an uploaded file's bytes to RGB uint8 H x W x 3 exactly as a file on disk is read
    (`images.decode_image`); an `images.ImageError` names `name`."""
    from .images import decode_image

    return decode_image(data, name)


def upload_to_image(value) -> tuple[str, np.ndarray]:
    """(name, RGB uint8 image) of the one file in an ``ipywidgets.FileUpload`` value.

    ipywidgets 8's value is a tuple of dicts with ``name``, ``type`` and ``content`` (a
    memoryview).  Raises ``ValueError`` when it holds no file or several, and
    ``images.ImageError`` (a ValueError naming the file) when the file is not an image.
    """
    files = list(value or ())
    if len(files) != 1:
        raise ValueError(f"expected one uploaded file, got {len(files)}")
    item = files[0]
    name = item.get("name") or "upload"
    return name, image_from_bytes(item["content"], name)


def data_url_bytes(url: str) -> tuple[str, bytes]:
    """(MIME type, bytes) of a base64 ``data:`` URL such as ``canvas.toDataURL()`` returns."""
    import base64
    import binascii

    if not isinstance(url, str) or not url.startswith("data:") or "," not in url:
        raise ValueError(f"not a data URL: {str(url)[:40]!r}")
    header, payload = url[5:].split(",", 1)
    if not header.endswith(";base64"):
        raise ValueError(f"expected a base64 data URL, got 'data:{header[:40]},...'")
    try:
        return header[: -len(";base64")] or "text/plain", base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError(f"the data URL's base64 payload is corrupt: {err}") from None


def data_url_to_image(url: str, name: str = "webcam snapshot") -> np.ndarray:
    """A ``data:image/...;base64,...`` URL as an RGB uint8 image (``image_from_bytes``)."""
    kind, data = data_url_bytes(url)
    if not kind.startswith("image/"):
        raise ValueError(f"{name}: the data URL holds {kind}, not an image")
    return image_from_bytes(data, name)


def _colab_snapshot_url(quality: float) -> str:
    import sys

    if "google.colab" not in sys.modules:
        raise RuntimeError("a webcam snapshot needs Colab (google.colab); elsewhere upload a photo")
    from google.colab.output import eval_js  # only on Colab

    return eval_js(COLAB_SNAPSHOT_JS + f"takeSnapshot({float(quality)})")


def colab_webcam_snapshot(quality: float = 0.9) -> np.ndarray:
    """On Colab: show the webcam with a button, and return the frame taken as RGB uint8 H x W x 3.

    Runs ``COLAB_SNAPSHOT_JS`` through ``google.colab.output.eval_js`` (the browser asks for
    the camera first); raises RuntimeError outside Colab.
    """
    return data_url_to_image(_colab_snapshot_url(quality))


def photo_upload_widget(on_photo, verb: str = "processed", description: str = "Upload a photo"):
    """An upload button for one image; each upload calls ``on_photo(photo)`` with it as RGB uint8.

    Built with ``ipywidgets.interactive`` on a ``FileUpload`` (images only, one file), so a
    test can set the upload's value and read ``widget.result``: what ``on_photo`` returned, or
    None when nothing is uploaded or the file is not an image.  The output shows
    "<verb> <name>" after a successful call, or "cannot use <name>: <reason>" for a file that
    is not an image (and for a ValueError of ``on_photo``, e.g. no face found).  What
    ``on_photo`` draws appears in the same output.

    On Colab (``google.colab`` imported) a second button, **webcam snapshot**, takes a frame
    with ``colab_webcam_snapshot``'s JavaScript and feeds it through the same upload value;
    ``widget.snapshot()`` does the same from a cell.  Elsewhere ``widget.snapshot`` is None.
    """
    import datetime
    import sys
    import time

    import ipywidgets as widgets

    from .images import ImageError

    upload = widgets.FileUpload(accept="image/*", multiple=False, description=description,
                                layout=widgets.Layout(width="auto"))

    def show(upload=()):
        if not upload:
            print("Upload a photo with a face (PNG or JPEG)" +
                  (", or take a webcam snapshot." if "google.colab" in sys.modules else "."))
            return None
        try:
            name, photo = upload_to_image(upload)
        except ImageError as err:
            print(f"cannot use {err.source}: {err.reason}")
            return None
        except ValueError as err:
            print(f"cannot use the upload: {err}")
            return None
        print(f"{name}: {photo.shape[1]}x{photo.shape[0]} photo")
        began = time.perf_counter()
        try:
            result = on_photo(photo)
        except ValueError as err:
            print(f"cannot use {name}: {err}")
            return None
        print(f"{verb} {name} in {time.perf_counter() - began:.1f} s")
        return result

    widget = widgets.interactive(show, upload=upload)
    widget.upload = upload
    widget.snapshot = None
    if "google.colab" in sys.modules:
        def snapshot(_button=None, quality: float = 0.9):
            kind, data = data_url_bytes(_colab_snapshot_url(quality))
            upload.value = ({"name": f"webcam snapshot {time.strftime('%H:%M:%S')}.jpg", "type": kind,
                             "size": len(data), "content": memoryview(data),
                             "last_modified": datetime.datetime.now(datetime.timezone.utc)},)

        button = widgets.Button(description="webcam snapshot", icon="camera")
        button.on_click(snapshot)
        widget.snapshot = snapshot
        widget.children = (*widget.children[:-1], button, widget.children[-1])  # the output stays last
    return widget
