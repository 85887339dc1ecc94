"""AdaIN style transfer on real images, by matching statistics at several scales.

Huang & Belongie apply AdaIN to the features of a pretrained VGG19 and decode
the result with a trained decoder.  Neither network can be had offline, so this
module applies the *same* operation, eq. (1), to a feature extractor that needs
no training: a Laplacian pyramid of the image in CIE Lab colour.  Each pyramid
level is a band of spatial frequencies (fine detail at level 0, the colour
layout in the last, low-pass level); AdaIN gives every band of the content the
per-channel mean and deviation of the same band of the style image, and the
pyramid is collapsed back into an image - no decoder needed, since the pyramid
inverts exactly.

What it can and cannot do, honestly: it transfers colour palettes and how
much texture there is at each scale (smooth vs grainy vs busy), but not
*which* patterns (brush strokes, shapes): a pyramid band knows energy, not
structure, which is exactly what a learned VGG feature adds.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
from keras import ops

from .adain import adain


def as_rgb_image(image, name: str = "image") -> np.ndarray:
    """Validate an RGB ``uint8`` image of shape (H, W, 3); a clear ``ValueError`` otherwise."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"{name} must be an RGB image of shape (H, W, 3), got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8 (0..255), got {image.dtype}")
    if min(image.shape[:2]) < 8:
        raise ValueError(f"{name} is too small ({image.shape[1]}x{image.shape[0]}); need at least 8x8")
    return image


def laplacian_pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    """Band-pass levels from fine to coarse, then the low-pass residual (``levels`` arrays)."""
    if levels < 1:
        raise ValueError(f"levels must be at least 1, got {levels}")
    pyramid, current = [], image.astype(np.float32)
    for _ in range(levels - 1):
        if min(current.shape[:2]) < 2:
            break  # nothing left to split: a shorter pyramid is still exact
        down = cv2.pyrDown(current)
        up = cv2.pyrUp(down, dstsize=(current.shape[1], current.shape[0]))
        pyramid.append(current - up)
        current = down
    pyramid.append(current)
    return pyramid


def collapse_pyramid(pyramid: Sequence[np.ndarray]) -> np.ndarray:
    """Invert :func:`laplacian_pyramid` exactly."""
    image = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        image = cv2.pyrUp(image, dstsize=(band.shape[1], band.shape[0])) + band
    return image


def rgb_to_lab(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB)
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)


def cover_resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to (width, height) keeping the aspect ratio, centre-cropping what overflows."""
    width, height = size
    scale = max(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (max(width, round(image.shape[1] * scale)), max(height, round(image.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    top, left = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return resized[top:top + height, left:left + width]


def pyramid_style_transfer(
    content,
    style,
    levels: int = 5,
    alpha: float = 1.0,
    use_levels: Sequence[bool] | None = None,
) -> np.ndarray:
    """Give ``content`` the per-scale colour statistics of ``style`` with AdaIN (eq. 1).

    ``alpha`` blends each band between the content (0) and the stylised band (1),
    Huang & Belongie's content-style trade-off.  ``use_levels`` (fine to coarse,
    ``levels`` booleans) restyles only some scales - the image counterpart of
    StyleGAN's style mixing, where coarse layers set layout and colour and fine
    layers texture.
    """
    content = as_rgb_image(content, "content")
    style = cover_resize(as_rgb_image(style, "style"), (content.shape[1], content.shape[0]))
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    content_bands = laplacian_pyramid(rgb_to_lab(content), levels)
    style_bands = laplacian_pyramid(rgb_to_lab(style), levels)
    mask = list(use_levels) if use_levels is not None else [True] * len(content_bands)
    if len(mask) != levels:
        raise ValueError(f"use_levels needs {levels} entries (fine to coarse), got {len(mask)}")
    mask = mask[: len(content_bands) - 1] + [mask[-1]]  # a pyramid cut short keeps its residual last

    bands = []
    for band, style_band, restyle in zip(content_bands, style_bands, mask):
        if restyle:
            stylised = ops.convert_to_numpy(adain(band[None], style_band[None]))[0]
            band = alpha * stylised + (1.0 - alpha) * band
        bands.append(band)
    return lab_to_rgb(collapse_pyramid(bands))


def scale_mixing(content, style, levels: int = 5) -> dict[str, np.ndarray]:
    """Content restyled at the coarse scales only, the fine scales only, and all of them."""
    coarse = levels // 2
    fine_mask = [True] * (levels - coarse) + [False] * coarse
    coarse_mask = [False] * (levels - coarse) + [True] * coarse
    return {
        "coarse scales from style": pyramid_style_transfer(content, style, levels, use_levels=coarse_mask),
        "fine scales from style": pyramid_style_transfer(content, style, levels, use_levels=fine_mask),
        "all scales from style": pyramid_style_transfer(content, style, levels),
    }
