"""The image contract of the whole library: RGB uint8 H x W x 3 at every public boundary.

OpenCV works in BGR; that order exists only inside functions that call OpenCV, converted
at that boundary (the seed's real-time demo drew its emoji in the wrong colours because
one function returned BGR and the next expected RGB).

* ``read_image`` reads any file Pillow can decode: EXIF orientation applied, transparency
  composited on a background colour (or kept, with ``alpha=True``), palette / grayscale /
  16-bit made 8-bit, a pixel limit against decompression bombs.  Every unusable input
  raises ``ImageError``, a ``ValueError`` naming the file; a missing file raises
  ``ImageNotFoundError``, which is both an ``ImageError`` and a ``FileNotFoundError``.
* ``write_image`` writes an RGB, RGBA or gray uint8 array in the format its extension names.
* ``to_gray`` is the one RGB -> gray conversion (0.299 R + 0.587 G + 0.114 B).
* ``as_uint8`` maps any integer or float image to uint8.
* ``draw_boxes`` and ``draw_label`` draw on a copy of an RGB image, in RGB colours.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageColor, ImageOps

# 8192 x 8192 pixels: far above any photo or frame we want, yet a decoded RGBA image
# of that size still fits in memory (256 MiB).
DEFAULT_MAX_PIXELS = 8192 * 8192

# Pillow modes that carry an alpha (or premultiplied alpha) channel.
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
# Pillow modes whose pixels are numbers wider than 8 bits.
_WIDE_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
# Named in the error for an unknown extension; Pillow writes a few dozen more.
_COMMON_EXTENSIONS = ".png, .jpg, .jpeg, .bmp, .tif, .webp"

_FONT = cv2.FONT_HERSHEY_SIMPLEX


class ImageError(ValueError):
    """An image that cannot be used; the message names the file and the reason."""

    def __init__(self, source, reason: str):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


class ImageNotFoundError(ImageError, FileNotFoundError):
    """No file at the path: caught by ``except ImageError`` and ``except FileNotFoundError`` alike."""


def parse_color(color) -> tuple[int, int, int]:
    """An RGB triple from a name ("white"), a hex string ("#ff8800") or a 3-sequence."""
    if isinstance(color, str):
        try:
            rgb = ImageColor.getrgb(color)
        except ValueError as err:
            raise ValueError(f"unknown colour {color!r}: {err}") from None
        return tuple(int(c) for c in rgb[:3])
    values = tuple(int(c) for c in color)
    if len(values) != 3 or not all(0 <= c <= 255 for c in values):
        raise ValueError(f"a colour needs three values in 0..255, got {color!r}")
    return values


# ---------------------------------------------------------------------------- reading


def read_image(path, *, background="white", alpha: bool = False,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file as an upright H x W x 3 uint8 RGB array (H x W x 4 RGBA with `alpha`).

    Transparency is composited on `background`, or kept as a fourth channel with
    `alpha=True` (255 where the file has no alpha).  Raises `ImageNotFoundError` for a
    missing file and `ImageError` for a directory or a file that is empty, truncated,
    corrupt, not an image, or larger than `max_pixels`.
    """
    path = Path(path)
    _check_file(path)
    return _decode(path, path, background, alpha, max_pixels)


def decode_image(data, name: str = "image", *, background="white", alpha: bool = False,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """`read_image` for an image file's bytes (an upload, a data URL's payload); errors name `name`."""
    data = bytes(data)
    if not data:
        raise ImageError(name, "empty file (0 bytes)")
    return _decode(io.BytesIO(data), name, background, alpha, max_pixels)


def _decode(source, label, background, alpha: bool, max_pixels: int) -> np.ndarray:
    """Open and decode `source` (a path or a file object) with Pillow; `ImageError`s name `label`."""
    try:
        with warnings.catch_warnings():
            # We apply our own pixel limit below; Pillow's warning would only repeat it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                width, height = im.size
                if width * height > max_pixels:
                    raise ImageError(
                        label,
                        f"{width}x{height} pixels is more than max_pixels={max_pixels} "
                        "(possible decompression bomb)",
                    )
                im.load()  # Image.open only reads the header; decoding errors show here.
                return pil_to_rgba(im) if alpha else pil_to_rgb(im, background)
    except ImageError:
        raise
    except Image.DecompressionBombError as err:
        raise ImageError(label, f"possible decompression bomb: {err}") from None
    except Image.UnidentifiedImageError:
        raise ImageError(label, "not an image (format not recognised)") from None
    except Exception as err:  # Pillow's decoders raise OSError, SyntaxError, EOFError...
        raise ImageError(label, f"cannot decode image ({type(err).__name__}: {err})") from None


def _check_file(path: Path) -> None:
    """Raise the clear error for a path that cannot hold an image file."""
    if not path.exists():
        raise ImageNotFoundError(path, "no such file")
    if path.is_dir():
        raise ImageError(path, "is a directory, not an image file")
    if not path.is_file():
        raise ImageError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise ImageError(path, "empty file (0 bytes)")


def _upright(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag, keeping the image as stored if the tag is unreadable."""
    try:
        return ImageOps.exif_transpose(im)
    except Exception:  # broken EXIF blocks are common in crawled files; pixels are still fine
        return im


def _pil_array(im: Image.Image) -> np.ndarray:
    """The pixels of an upright Pillow image as a writable gray/RGB(A) array, 8-bit or wider."""
    im = _upright(im)
    if im.mode == "P":
        im = im.convert("RGBA" if im.has_transparency_data else "RGB")
    if im.mode in _ALPHA_MODES:
        im = im.convert("RGBA")
    elif im.mode not in _WIDE_MODES and im.mode != "RGB":  # "1", "L", "CMYK", "YCbCr", ...
        im = im.convert("RGB")
    return np.array(im)  # a copy: np.asarray of a Pillow image is read-only


def pil_to_rgb(im: Image.Image, background="white") -> np.ndarray:
    """A Pillow image of any mode as an upright H x W x 3 uint8 RGB array (alpha composited)."""
    return array_to_rgb(_pil_array(im), background)


def pil_to_rgba(im: Image.Image) -> np.ndarray:
    """A Pillow image of any mode as an upright H x W x 4 uint8 RGBA array."""
    return array_to_rgba(_pil_array(im))


def _hwc_uint8(a) -> np.ndarray:
    """`a` as an H x W x C uint8 array with C in 1..4 (gray, gray+alpha, RGB, RGBA)."""
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"expected an H x W (x 1..4) image array, got shape {a.shape}")
    return as_uint8(a)


def array_to_rgb(a: np.ndarray, background="white") -> np.ndarray:
    """Convert a gray, gray+alpha, RGB or RGBA array (8-bit, 16-bit or float) to uint8 RGB."""
    a = _hwc_uint8(a)
    if a.shape[2] in (2, 4):
        a = composite(a[:, :, :-1], a[:, :, -1:], background)
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return np.ascontiguousarray(a)


def array_to_rgba(a: np.ndarray) -> np.ndarray:
    """Convert a gray, gray+alpha, RGB or RGBA array to uint8 RGBA (opaque where it had no alpha)."""
    a = _hwc_uint8(a)
    if a.shape[2] in (2, 4):
        color, alpha = a[:, :, :-1], a[:, :, -1:]
    else:
        color, alpha = a, np.full(a.shape[:2] + (1,), 255, np.uint8)
    if color.shape[2] == 1:
        color = np.repeat(color, 3, axis=2)
    return np.concatenate([color, alpha], axis=2)


def as_uint8(a: np.ndarray) -> np.ndarray:
    """Any integer, bool or float image as uint8; uint8 input is returned as it is.

    Floats are taken to be in [0, 1] when their maximum is at most 1, else in [0, 255],
    and rounded.  16-bit data is mapped with rounding (0 -> 0, 65535 -> 255), not
    clipped: Pillow's own "I" -> "L" conversion clips, which turns a 16-bit photo
    almost white.
    """
    a = np.asarray(a)
    if a.dtype == np.uint8:
        return a
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.floating):
        peak = 1.0 if a.size == 0 or np.nanmax(a) <= 1.0 else 255.0
        return np.clip(np.rint(np.nan_to_num(a) * (255.0 / peak)), 0, 255).astype(np.uint8)
    if np.issubdtype(a.dtype, np.integer):
        # uint16 is 16-bit data.  Pillow's mode "I" (int32) holds either 16-bit samples
        # (some PNG and TIFF files) or 8-bit ones widened; the range tells them apart.
        is_16_bit = a.dtype.kind == "u" and a.dtype.itemsize == 2   # either byte order
        if not is_16_bit and a.min(initial=0) >= 0 and a.max(initial=0) <= 255:
            return a.astype(np.uint8)
        wide = np.clip(a, 0, 65535).astype(np.uint32)
        return ((wide * 255 + 32767) // 65535).astype(np.uint8)
    raise ValueError(f"unsupported pixel type {a.dtype}")


def composite(color: np.ndarray, alpha: np.ndarray, background="white") -> np.ndarray:
    """Blend uint8 `color` over a flat background using uint8 `alpha` (H x W x 1)."""
    bg = np.array(parse_color(background), dtype=np.uint32)
    if color.shape[2] == 1:  # gray + alpha: blend on the background's luminance
        bg = np.array([round(0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2])], dtype=np.uint32)
    a = alpha.astype(np.uint32)
    blended = (color.astype(np.uint32) * a + bg * (255 - a) + 127) // 255
    return blended.astype(np.uint8)


# ---------------------------------------------------------------------------- writing


def write_image(path, image, *, quality: int = 95) -> Path:
    """Write an RGB, RGBA or gray uint8 image in the format its extension names; returns the path.

    Parent folders are created; `quality` applies to JPEG and WebP.  The file is
    encoded in memory first and renamed into place once written, so neither a refused
    image nor a killed process leaves a partial file behind.
    """
    path = Path(path)
    fmt = _save_format(path)
    pixels = _pixels_to_write(image, path)
    options = {"quality": int(quality)} if fmt in ("JPEG", "WEBP") else {}
    buffer = io.BytesIO()
    try:
        Image.fromarray(pixels).save(buffer, format=fmt, **options)
    except (OSError, ValueError, KeyError) as err:  # e.g. "cannot write mode RGBA as JPEG"
        raise ValueError(f"{path}: cannot write a {pixels.shape} image as {fmt}: {err}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    part.write_bytes(buffer.getvalue())
    os.replace(part, path)
    return path


def _save_format(path: Path) -> str:
    """Pillow's format name for the extension of `path`, if Pillow can write it."""
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise ValueError(f"{path}: unknown image file extension {path.suffix!r}; "
                         f"use one such as {_COMMON_EXTENSIONS}")
    return fmt


def _pixels_to_write(image, path: Path) -> np.ndarray:
    """`image` as a contiguous H x W, H x W x 3 or H x W x 4 uint8 array, or a clear error."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise ValueError(f"{path}: write_image takes uint8 pixels, got {a.dtype} "
                         "(convert with toonemo_lib.images.as_uint8)")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))) or 0 in a.shape:
        raise ValueError(f"{path}: write_image takes an H x W gray, H x W x 3 RGB or H x W x 4 RGBA "
                         f"array, got shape {a.shape}")
    return np.ascontiguousarray(a)


# ---------------------------------------------------------------------------- gray


def check_image_shape(image) -> np.ndarray:
    """``image`` as an array, if it is gray (H, W) or (H, W, 1), RGB or RGBA and at least 2x2; else ValueError."""
    a = np.asarray(image)
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (1, 3, 4))):
        raise ValueError("an image must be gray (H, W) or (H, W, 1), RGB (H, W, 3) or RGBA (H, W, 4); "
                         f"got shape {np.shape(image)}")
    if a.shape[0] < 2 or a.shape[1] < 2:
        raise ValueError(f"an image must be at least 2x2 pixels; got shape {np.shape(image)}")
    return a


def to_gray(image, *, equalize: bool = False) -> np.ndarray:
    """A 2-D uint8 gray image from an RGB, RGBA or gray (H x W or H x W x 1) one.

    Pixels are uint8 or floats in [0, 1] (any type `as_uint8` takes).  Gray is
    0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, OpenCV's RGB2GRAY); alpha is ignored.
    `equalize` spreads the histogram, which Haar cascades like.  A gray uint8 input
    may be returned as it is.
    """
    a = check_image_shape(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    a = as_uint8(a)
    if a.ndim == 3:
        a = cv2.cvtColor(np.ascontiguousarray(a[:, :, :3]), cv2.COLOR_RGB2GRAY)
    a = np.ascontiguousarray(a)
    return cv2.equalizeHist(a) if equalize else a


# ---------------------------------------------------------------------------- drawing


def draw_boxes(image, boxes, color="lime", labels=None, thickness: int | None = None,
               text_color="white", font_scale: float | None = None) -> np.ndarray:
    """A copy of an RGB (or gray, or RGBA) image with each (x, y, w, h) box outlined.

    `color` is one colour (a name, "#rrggbb" or an RGB triple) or one per box.  Each
    label in `labels` (None or "" for none) is written in `text_color` on a tab of the
    box's colour, above the box, moved inside the image when the box touches its edge.
    `thickness` and `font_scale` default to values that grow with the image.
    """
    canvas = _canvas(image)
    boxes = [tuple(int(round(float(v))) for v in box) for box in boxes]
    colors = _colors(color, len(boxes))
    labels = [None] * len(boxes) if labels is None else list(labels)
    if len(labels) != len(boxes):
        raise ValueError(f"{len(labels)} labels for {len(boxes)} boxes")
    thickness = thickness or _default_thickness(canvas.shape)
    font_scale = font_scale or _default_font_scale(canvas.shape)
    for (x, y, w, h), rgb, label in zip(boxes, colors, labels):
        cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), _ink(rgb, canvas), thickness)
        if label:
            _draw_tab(canvas, str(label), (x, y), rgb, parse_color(text_color), font_scale, thickness)
    return canvas


def draw_points(image, points, color="lime", radius: int | None = None) -> np.ndarray:
    """A copy of an RGB (or gray, or RGBA) image with a dot at each (x, y) point.

    Each dot is filled with `color` and ringed in white, so it shows on dark and light skin alike.
    """
    canvas = _canvas(image)
    radius = radius or max(2, _default_thickness(canvas.shape) + 1)
    for x, y in np.reshape(np.asarray(points, dtype=float), (-1, 2)):
        centre = (int(round(x)), int(round(y)))
        cv2.circle(canvas, centre, radius + 1, _ink((255, 255, 255), canvas), -1, cv2.LINE_AA)
        cv2.circle(canvas, centre, radius, _ink(parse_color(color), canvas), -1, cv2.LINE_AA)
    return canvas


def draw_label(image, text: str, org, color="lime", *, text_color="white",
               font_scale: float | None = None, thickness: int | None = None) -> np.ndarray:
    """A copy of an RGB image with `text` on a filled tab whose lower-left corner is `org` (x, y).

    The tab is moved inside the image where it would stick out.
    """
    canvas = _canvas(image)
    _draw_tab(canvas, str(text), tuple(int(round(float(v))) for v in org), parse_color(color),
              parse_color(text_color), font_scale or _default_font_scale(canvas.shape),
              thickness or _default_thickness(canvas.shape))
    return canvas


def _canvas(image) -> np.ndarray:
    """A writable uint8 copy to draw on: RGB for gray input, else the input's RGB(A)."""
    a = as_uint8(np.asarray(image))
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        return np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"can only draw on a gray, RGB or RGBA image; got shape {a.shape}")
    return np.array(a, order="C")  # always a copy: drawing never touches the caller's image


def _colors(color, count: int) -> list[tuple[int, int, int]]:
    """One RGB triple per box from a single colour or a sequence of colours."""
    single = isinstance(color, str) or (len(color) == 3 and all(isinstance(c, (int, float, np.number))
                                                                   for c in color))
    if single:
        return [parse_color(color)] * count
    colors = [parse_color(c) for c in color]
    if len(colors) != count:
        raise ValueError(f"{len(colors)} colours for {count} boxes")
    return colors


def _ink(rgb, canvas: np.ndarray) -> tuple:
    """The colour as OpenCV wants it for this canvas: RGB order (the canvas is RGB), opaque alpha."""
    return tuple(int(c) for c in rgb) + ((255,) if canvas.shape[2] == 4 else ())


def _default_thickness(shape) -> int:
    return max(1, round(max(shape[:2]) / 250))


def _default_font_scale(shape) -> float:
    return max(0.4, max(shape[:2]) / 1000)


def _draw_tab(canvas, text, corner, rgb, text_rgb, font_scale, thickness) -> None:
    """Draw `text` on a filled tab standing on `corner` (x, y), kept inside the canvas, in place."""
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, font_scale, thickness)
    pad = max(2, thickness)
    tab_w, tab_h = text_w + 2 * pad, text_h + baseline + 2 * pad
    height, width = canvas.shape[:2]
    left = max(0, min(corner[0], width - tab_w))
    top = max(0, min(corner[1] - tab_h, height - tab_h))
    cv2.rectangle(canvas, (left, top), (left + tab_w - 1, top + tab_h - 1), _ink(rgb, canvas), cv2.FILLED)
    cv2.putText(canvas, text, (left + pad, top + pad + text_h), _FONT, font_scale, _ink(text_rgb, canvas),
                thickness, cv2.LINE_AA)
