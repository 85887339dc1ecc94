"""The image contract of the whole library: RGB uint8 H x W x 3 at every public boundary.

OpenCV works in BGR; that order exists only inside functions that call OpenCV, converted
at that boundary (the seed's real-time demo drew its emoji in the wrong colours because
one function returned BGR and the next expected RGB).

* ``read_image`` reads any file Pillow can decode: EXIF orientation applied, transparency
  composited on a background colour, palette / grayscale / 16-bit made 8-bit RGB, a
  pixel limit against decompression bombs; every unusable input raises ``ImageError``,
  a ``ValueError`` naming the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageColor, ImageOps

# 8192 x 8192 pixels: far above any photo or frame we want, yet a decoded RGBA image
# of that size still fits in memory (256 MiB).
DEFAULT_MAX_PIXELS = 8192 * 8192

# Pillow modes that carry an alpha (or premultiplied alpha) channel.
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
# Pillow modes whose pixels are numbers wider than 8 bits.
_WIDE_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


class ImageError(ValueError):
    """An image that cannot be used; the message names the file and the reason."""

    def __init__(self, source, reason: str):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


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


def read_image(path, *, background="white", max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file as an upright H x W x 3 uint8 RGB array.

    Transparency is composited on `background`.  Raises `ImageError` for files that
    are empty, truncated, corrupt, not images, or larger than `max_pixels`.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError(path, "no such file")
    if path.stat().st_size == 0:
        raise ImageError(path, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            # We apply our own pixel limit below; Pillow's warning would only repeat it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                if width * height > max_pixels:
                    raise ImageError(
                        path,
                        f"{width}x{height} pixels is more than max_pixels={max_pixels} "
                        "(possible decompression bomb)",
                    )
                im.load()  # Image.open only reads the header; decoding errors show here.
                im = _upright(im)
                return pil_to_rgb(im, background)
    except ImageError:
        raise
    except Image.DecompressionBombError as err:
        raise ImageError(path, f"possible decompression bomb: {err}") from None
    except Image.UnidentifiedImageError:
        raise ImageError(path, "not an image (format not recognised)") from None
    except Exception as err:  # Pillow's decoders raise OSError, SyntaxError, EOFError...
        raise ImageError(path, f"cannot decode image ({type(err).__name__}: {err})") from None


def _upright(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag, keeping the image as stored if the tag is unreadable."""
    try:
        return ImageOps.exif_transpose(im)
    except Exception:  # broken EXIF blocks are common in crawled files; pixels are still fine
        return im


def pil_to_rgb(im: Image.Image, background="white") -> np.ndarray:
    """Convert a Pillow image of any mode to an H x W x 3 uint8 RGB array."""
    if im.mode == "P":
        im = im.convert("RGBA" if im.has_transparency_data else "RGB")
    if im.mode in _ALPHA_MODES:
        return array_to_rgb(np.asarray(im.convert("RGBA")), background)
    if im.mode in _WIDE_MODES:
        return array_to_rgb(np.asarray(im), background)
    if im.mode != "RGB":  # "1", "L", "CMYK", "YCbCr", "LAB", "HSV"
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.uint8).copy()


def array_to_rgb(a: np.ndarray, background="white") -> np.ndarray:
    """Convert a gray, gray+alpha, RGB or RGBA array (8-bit, 16-bit or float) to uint8 RGB."""
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"expected an H x W (x 1..4) image array, got shape {a.shape}")
    a = to_uint8(a)
    channels = a.shape[2]
    if channels in (2, 4):
        color, alpha = a[:, :, :-1], a[:, :, -1:]
        a = composite(color, alpha, background)
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return np.ascontiguousarray(a)


def to_uint8(a: np.ndarray) -> np.ndarray:
    """Scale an integer or float image to uint8.

    16-bit data is mapped with rounding (0 -> 0, 65535 -> 255), not clipped: Pillow's
    own "I" -> "L" conversion clips, which turns a 16-bit photo almost white.
    """
    if a.dtype == np.uint8:
        return a
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.floating):
        peak = 1.0 if np.nanmax(a) <= 1.0 else 255.0
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


