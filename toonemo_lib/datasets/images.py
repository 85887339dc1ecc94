"""Normalise any image file into the square 8-bit RGB array StyleGAN2 trains on.

The capstone resized its emoji, baby-character and cartoon faces to 1024x1024 and
converted RGBA to RGB by hand, because NVIDIA's dataset tool accepts only square,
power-of-two, 3-channel images.  Reading is `toonemo_lib.images.read_image` (EXIF
orientation, transparency composited on a background colour rather than dropped,
palette / gray / 16-bit made 8-bit RGB, a pixel limit, `ImageError` for every unusable
file); this module adds the data-set steps: the image is made square by a centre crop
or by padding, then resized to a power of two with an area filter (downscale) or
Lanczos (upscale).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..images import DEFAULT_MAX_PIXELS, array_to_rgb, parse_color, pil_to_rgb, read_image


def make_square(img: np.ndarray, how: str = "crop", background="white") -> np.ndarray:
    """Centre-crop to the shorter side (`how="crop"`) or pad to the longer side (`"pad"`)."""
    h, w = img.shape[:2]
    if h == w:
        return img
    if how == "crop":
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        return img[top:top + side, left:left + side]
    if how == "pad":
        side = max(h, w)
        out = np.empty((side, side, img.shape[2]), dtype=img.dtype)
        out[:] = parse_color(background)[: img.shape[2]]
        top, left = (side - h) // 2, (side - w) // 2
        out[top:top + h, left:left + w] = img
        return out
    raise ValueError(f"square must be 'crop' or 'pad', got {how!r}")


def is_power_of_two(n: int) -> bool:
    return n > 0 and (n & (n - 1)) == 0


def check_resolution(resolution: int) -> int:
    """Return `resolution` if StyleGAN2 can use it (a power of two, at least 4)."""
    if not isinstance(resolution, (int, np.integer)) or resolution < 4 or not is_power_of_two(int(resolution)):
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution!r}")
    return int(resolution)


def resize_square(img: np.ndarray, size: int) -> np.ndarray:
    """Resize a square image to size x size: area averaging down, Lanczos up."""
    side = img.shape[0]
    if side == size:
        return img
    # INTER_AREA averages every source pixel (no aliasing) when shrinking; Lanczos is the
    # sharpest of OpenCV's filters when enlarging.  cv2.resize saturates uint8 overshoot.
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LANCZOS4
    return cv2.resize(img, (size, size), interpolation=interpolation)


def normalize_image(
    image,
    resolution: int = 256,
    *,
    square: str = "crop",
    background="white",
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """A file path, Pillow image or array as a resolution x resolution x 3 uint8 RGB array."""
    resolution = check_resolution(resolution)
    if isinstance(image, (str, Path)):
        rgb = read_image(image, background=background, max_pixels=max_pixels)
    elif isinstance(image, Image.Image):
        rgb = pil_to_rgb(image, background)  # EXIF orientation applied
    else:
        rgb = array_to_rgb(image, background)
    return resize_square(make_square(rgb, square, background), resolution)
