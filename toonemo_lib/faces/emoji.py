"""The personal emoji: a face with its background removed, made transparent and cropped.

The recipe (seed 000, figure 6), one small function per step so a notebook can show each:

1. ``face_region``  - where the face is: a given box, the largest Haar face, or - for a
   centred generated face where none is found - a centred ellipse prior;
2. ``seed_mask``    - a GrabCut seed from that region: sure background outside the head,
   probable foreground on an ellipse around the head, sure foreground at the face's core;
3. ``grabcut_mask`` - OpenCV's GrabCut refines the seed into a 0/255 foreground mask;
4. ``clean_mask``   - morphological opening and closing, then the largest contour
   filled (one component, no holes);
5. ``feather_alpha`` - an alpha channel whose edge ramps over ``feather`` pixels;
6. ``make_transparent`` / ``crop_to_mask`` - RGBA, then cropped to the mask's bounding box
   with a margin, optionally squared and resized to an emoji of N pixels.

``personal_emoji`` runs them all and returns an ``EmojiSteps``; ``save_emoji`` writes the
RGBA result as a PNG.  Images are RGB (or RGBA, alpha ignored) uint8 arrays; masks are
H x W uint8 with 0 and 255; boxes are (x, y, w, h) pixels.  BGR exists only inside the
GrabCut call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..images import write_image
from .detect import largest_face

# How far the head reaches beyond a Haar face box (which runs from the brows to the
# chin), as fractions of the box: hair above, ears at the sides, a little chin below.
HEAD_EXPAND = {"left": 0.25, "right": 0.25, "top": 0.55, "bottom": 0.20}
# The centred prior for a generated (FFHQ-aligned) face when no face is detected: the
# head as an ellipse with these centre and semi-axes, as fractions of width and height.
CENTRED_PRIOR = (0.5, 0.5, 0.40, 0.45)
# Probable (not sure) background reaches this fraction of the face box beyond the head box.
OUTER_MARGIN = 0.25

_NO_FOREGROUND_HINT = ("pass box=(x, y, w, h) around the face, a larger box, or more iterations; "
                       "a face on a background of the same colours cannot be separated")


@dataclass
class EmojiSteps:
    """Each stage of ``personal_emoji``, for showing side by side.

    ``original`` RGB; ``mask`` 0/255 after clean-up; ``transparent`` RGBA of the whole
    image with the feathered alpha; ``cropped`` RGBA cut to the face (square / resized
    when asked); ``box`` the face box used and ``box_source`` where it came from
    ("given", "detected" or "centred prior"); ``crop_box`` the (x, y, w, h) cut from
    ``transparent`` (it may reach outside the image when squared: padded transparent).
    """

    original: np.ndarray
    mask: np.ndarray
    transparent: np.ndarray
    cropped: np.ndarray
    box: tuple[int, int, int, int]
    box_source: str
    crop_box: tuple[int, int, int, int]

    def panels(self) -> tuple[list[np.ndarray], list[str]]:
        """The four figure panels and their titles: original, mask, transparent, cropped."""
        return ([self.original, self.mask, self.transparent, self.cropped],
                ["original", "mask", "transparent", "cropped"])


# ---------------------------------------------------------------------------- checks


def _as_rgb(image) -> np.ndarray:
    """`image` as a contiguous H x W x 3 uint8 RGB array, or a clear ``ValueError``."""
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"personal emoji needs an H x W x 3 RGB (or RGBA) image, got shape {a.shape}")
    if a.dtype != np.uint8:
        raise ValueError(f"personal emoji needs uint8 pixels, got {a.dtype} "
                         "(convert with toonemo_lib.images.as_uint8)")
    if min(a.shape[:2]) < 16:
        raise ValueError(f"image of {a.shape[1]}x{a.shape[0]} pixels is too small for a face (at least 16x16)")
    return np.ascontiguousarray(a[:, :, :3])


def _as_mask(mask, name: str = "mask") -> np.ndarray:
    """A 2-D mask as uint8 0/255 (any nonzero value counts as foreground)."""
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[2] == 1:
        m = m[:, :, 0]
    if m.ndim != 2:
        raise ValueError(f"{name} must be a 2-D H x W array, got shape {np.shape(mask)}")
    return np.where(m > 0, 255, 0).astype(np.uint8)


def check_box(box, shape) -> tuple[int, int, int, int]:
    """`box` (x, y, w, h) as ints, clipped to an image of `shape`; a clear error when it cannot be used."""
    try:
        x, y, w, h = (int(round(float(v))) for v in box)
    except (TypeError, ValueError):
        raise ValueError(f"a box is (x, y, w, h), got {box!r}") from None
    height, width = shape[:2]
    if w <= 0 or h <= 0:
        raise ValueError(f"box {box!r} has no area: width and height must be positive")
    x0, y0, x1, y1 = max(0, x), max(0, y), min(width, x + w), min(height, y + h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ValueError(f"box {box!r} lies outside the {width}x{height} image")
    return x0, y0, x1 - x0, y1 - y0


# ---------------------------------------------------------------------------- steps


def face_region(image, box=None, **detect_kwargs) -> tuple[tuple[int, int, int, int], str]:
    """The face box and where it came from: ("given" | "detected" | "centred prior").

    With no `box`, the largest Haar face is used; when none is found the face is taken
    to be a centred generated one and the box is the middle of the image (the face part
    of ``CENTRED_PRIOR``).
    """
    rgb = _as_rgb(image)
    if box is not None:
        return check_box(box, rgb.shape), "given"
    found = largest_face(rgb, **detect_kwargs)
    if found is not None:
        return check_box(found, rgb.shape), "detected"
    return _centred_box(rgb.shape), "centred prior"


def _centred_box(shape) -> tuple[int, int, int, int]:
    """A face box whose head (expanded by HEAD_EXPAND) is about the CENTRED_PRIOR ellipse."""
    height, width = shape[:2]
    cx, cy, ax, ay = CENTRED_PRIOR
    w = 2 * ax * width / (1 + HEAD_EXPAND["left"] + HEAD_EXPAND["right"])
    h = 2 * ay * height / (1 + HEAD_EXPAND["top"] + HEAD_EXPAND["bottom"])
    top = cy * height - ay * height + HEAD_EXPAND["top"] * h
    return check_box((cx * width - w / 2, top, w, h), shape)


def head_box(box, shape, expand=None) -> tuple[int, int, int, int]:
    """The face box grown by `expand` (default HEAD_EXPAND) to hold the whole head, unclipped."""
    e = {**HEAD_EXPAND, **(expand or {})}
    x, y, w, h = box
    x0, y0 = x - e["left"] * w, y - e["top"] * h
    x1, y1 = x + w + e["right"] * w, y + h + e["bottom"] * h
    return int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))


def seed_mask(shape, box, *, prior: bool = False, expand=None) -> np.ndarray:
    """A GrabCut seed (cv2.GC_* labels) for an image of `shape` with the face in `box`.

    Sure background well outside the head box (and along the image border); probable
    background around the head ellipse, up to ``OUTER_MARGIN`` beyond the head box; probable foreground on the head ellipse;
    sure foreground on an ellipse at the face's core (skin, eyes, nose).  With `prior`
    (a centred generated face, box not detected) the head ellipse is ``CENTRED_PRIOR``
    and only the border is sure background, since the head's extent is a guess.
    """
    height, width = shape[:2]
    seed = np.full((height, width), cv2.GC_BGD, np.uint8)
    x, y, w, h = box
    if prior:
        seed[:] = cv2.GC_PR_BGD
        cx, cy, ax, ay = CENTRED_PRIOR
        centre, axes = (cx * width, cy * height), (ax * width, ay * height)
    else:
        # probable background reaches OUTER_MARGIN of the face box beyond the head box, so
        # GrabCut can still take a chin or hair that sticks out of the head estimate
        hx, hy, hw, hh = head_box(box, shape, expand)
        ox, oy = int(round(OUTER_MARGIN * w)), int(round(OUTER_MARGIN * h))
        seed[max(0, hy - oy):max(0, hy + hh + oy), max(0, hx - ox):max(0, hx + hw + ox)] = cv2.GC_PR_BGD
        centre, axes = (hx + hw / 2, hy + hh / 2), (hw / 2, hh / 2)
    _ellipse(seed, centre, axes, cv2.GC_PR_FGD)
    _ellipse(seed, (x + w / 2, y + h * 0.55), (0.28 * w, 0.33 * h), cv2.GC_FGD)
    border = max(1, round(0.01 * min(height, width)))
    for edge in (seed[:border], seed[-border:], seed[:, :border], seed[:, -border:]):
        edge[edge != cv2.GC_FGD] = cv2.GC_BGD
    return seed


def _ellipse(canvas, centre, axes, value) -> None:
    """Fill an ellipse given in float pixels (drawn with 4 bits of sub-pixel precision), in place."""
    shift = 4
    c = tuple(int(round(v * (1 << shift))) for v in centre)
    a = tuple(max(1, int(round(v * (1 << shift)))) for v in axes)
    cv2.ellipse(canvas, c, a, 0, 0, 360, int(value), cv2.FILLED, cv2.LINE_8, shift)


def grabcut_mask(image, seed, iterations: int = 5, rng_seed: int | None = 0) -> np.ndarray:
    """GrabCut from a `seed` of cv2.GC_* labels: the 0/255 foreground mask.

    GrabCut starts its colour models with k-means on OpenCV's global random generator,
    so the same image can give different masks; `rng_seed` (None: leave the generator
    alone) reseeds it first, which makes the result repeatable.
    """
    rgb = _as_rgb(image)
    labels = np.array(seed, np.uint8)  # GrabCut writes into its mask
    if labels.shape != rgb.shape[:2]:
        raise ValueError(f"seed of shape {labels.shape} does not match the image's {rgb.shape[:2]}")
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    fg = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD))
    if fg.all() or not fg.any():
        raise ValueError("the GrabCut seed needs both background and foreground pixels; "
                         "pass a face box smaller than the image")
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)  # OpenCV's order, inside this call only
    if rng_seed is not None:
        cv2.setRNGSeed(int(rng_seed))
    try:
        cv2.grabCut(bgr, labels, None, bgd, fgd, int(iterations), cv2.GC_INIT_WITH_MASK)
    except cv2.error as err:
        raise ValueError(f"GrabCut failed on this image and seed: {err}; {_NO_FOREGROUND_HINT}") from None
    return np.where(np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)), 255, 0).astype(np.uint8)


def _kernel(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def open_close(mask, open_px: int = 2, close_px: int = 4) -> np.ndarray:
    """Opening (drops specks and thin bridges) then closing (shuts small gaps), radii in pixels."""
    m = _as_mask(mask)
    if open_px > 0:
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, _kernel(int(open_px)))
    if close_px > 0:
        # pad so that closing near the border does not eat into the mask
        pad = int(close_px) + 1
        m = cv2.copyMakeBorder(m, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, _kernel(int(close_px)))[pad:-pad, pad:-pad]
    return np.ascontiguousarray(m)


def largest_component(mask) -> np.ndarray:
    """Only the largest 8-connected foreground component of a mask (empty stays empty)."""
    m = _as_mask(mask)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if count <= 1:
        return m
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return np.where(labels == biggest, 255, 0).astype(np.uint8)


def fill_holes(mask) -> np.ndarray:
    """The mask with every hole filled: each external contour drawn solid."""
    m = _as_mask(mask)
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(m)
    cv2.drawContours(filled, contours, -1, 255, cv2.FILLED)
    return filled | m


def clean_mask(mask, open_px: int | None = None, close_px: int | None = None) -> np.ndarray:
    """Opening, closing, the largest component, holes filled; radii default to ~1% / 2% of the size."""
    m = _as_mask(mask)
    side = min(m.shape)
    open_px = max(1, round(0.01 * side)) if open_px is None else open_px
    close_px = max(2, round(0.02 * side)) if close_px is None else close_px
    return fill_holes(largest_component(open_close(m, open_px, close_px)))


def feather_alpha(mask, feather: float = 3.0) -> np.ndarray:
    """A uint8 alpha from a 0/255 mask whose edge ramps from 0 to 255 over `feather` pixels.

    The ramp follows the signed distance to the mask's edge (distance transforms inside
    and outside), so it is centred on the edge and keeps the mask's shape; `feather` 0
    gives the hard mask.
    """
    m = _as_mask(mask)
    if feather < 0:
        raise ValueError(f"feather must be >= 0 pixels, got {feather}")
    if feather == 0 or not m.any() or m.all():
        return m.copy()
    inside = cv2.distanceTransform(m, cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(255 - m, cv2.DIST_L2, 5)
    signed = np.where(m > 0, inside - 0.5, 0.5 - outside)
    alpha = np.clip(0.5 + signed / float(feather), 0.0, 1.0)
    return np.rint(alpha * 255).astype(np.uint8)


def make_transparent(image, alpha) -> np.ndarray:
    """RGBA uint8: the image's RGB with `alpha` (H x W uint8) as the fourth channel."""
    rgb = _as_rgb(image)
    a = np.asarray(alpha)
    if a.shape != rgb.shape[:2] or a.dtype != np.uint8:
        raise ValueError(f"alpha must be uint8 of shape {rgb.shape[:2]}, got {a.dtype} {a.shape}")
    return np.dstack([rgb, a])


def mask_box(mask) -> tuple[int, int, int, int]:
    """The (x, y, w, h) bounding box of a mask's foreground; a clear error when it is empty."""
    m = _as_mask(mask)
    if not m.any():
        raise ValueError(f"no foreground found in the mask; {_NO_FOREGROUND_HINT}")
    return tuple(int(v) for v in cv2.boundingRect(m))


def crop_to_mask(rgba, mask=None, *, margin: float = 0.08, square: bool = True,
                 size: int | None = None) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The RGBA image cut to the mask's bounding box; returns (cropped, crop box).

    `mask` defaults to the alpha channel.  `margin` is added on each side as a fraction
    of the box's longer side; `square` grows the shorter side to a square (areas outside
    the image are transparent); `size` resizes the result to `size` x `size` pixels
    (with `square`) or to `size` on its longer side, in premultiplied alpha so that
    transparent pixels leave no coloured fringe.
    """
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"crop_to_mask needs an H x W x 4 uint8 RGBA image, got {rgba.dtype} {rgba.shape}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    x, y, w, h = mask_box(rgba[:, :, 3] if mask is None else mask)
    pad = margin * max(w, h)
    cw, ch = w + 2 * pad, h + 2 * pad
    if square:
        cw = ch = max(cw, ch)
    x0, y0 = int(round(x + w / 2 - cw / 2)), int(round(y + h / 2 - ch / 2))
    cw, ch = int(round(cw)), int(round(ch))
    out = np.zeros((ch, cw, 4), np.uint8)
    height, width = rgba.shape[:2]
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(width, x0 + cw), min(height, y0 + ch)
    out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = rgba[sy0:sy1, sx0:sx1]
    if size is not None:
        out = _resize_rgba(out, int(size))
    return out, (x0, y0, cw, ch)


def _resize_rgba(rgba: np.ndarray, size: int) -> np.ndarray:
    """Resize so the longer side is `size`, averaging colour weighted by alpha (premultiplied)."""
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    h, w = rgba.shape[:2]
    k = size / max(h, w)
    new = (max(1, round(w * k)), max(1, round(h * k)))
    interpolation = cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC
    a = rgba[:, :, 3:].astype(np.float32) / 255.0
    premultiplied = np.dstack([rgba[:, :, :3].astype(np.float32) * a, a[:, :, 0]])
    small = cv2.resize(premultiplied, new, interpolation=interpolation)
    alpha = np.clip(small[:, :, 3:], 0.0, 1.0)
    color = np.where(alpha > 1e-6, small[:, :, :3] / np.maximum(alpha, 1e-6), 0.0)
    return np.dstack([np.clip(np.rint(color), 0, 255), np.rint(alpha * 255)]).astype(np.uint8)


# ---------------------------------------------------------------------------- all together


def personal_emoji(image, box=None, *, feather: float = 3.0, margin: float = 0.08, square: bool = True,
                   size: int | None = None, iterations: int = 5, open_px: int | None = None,
                   close_px: int | None = None) -> EmojiSteps:
    """Remove the background around the face in `image` and cut out an RGBA emoji.

    `box` (x, y, w, h) is the face; without it the largest detected face is used, or a
    centred prior for a generated face.  See the module docstring for the steps and
    ``crop_to_mask`` for `margin`, `square` and `size`.  Raises ``ValueError`` for an
    image of the wrong shape or type, a box outside the image, and a mask that comes
    out empty.
    """
    rgb = _as_rgb(image)
    face, source = face_region(rgb, box)
    seed = seed_mask(rgb.shape, face, prior=source == "centred prior")
    raw = grabcut_mask(rgb, seed, iterations)
    if not raw.any():
        raise ValueError(f"no foreground found around the face box {face} ({source}); {_NO_FOREGROUND_HINT}")
    mask = clean_mask(raw, open_px, close_px)
    if not mask.any():
        raise ValueError(f"no foreground left after cleaning the mask around {face} ({source}); "
                         "try smaller open_px, or " + _NO_FOREGROUND_HINT)
    transparent = make_transparent(rgb, feather_alpha(mask, feather))
    cropped, crop_box = crop_to_mask(transparent, mask, margin=margin, square=square, size=size)
    return EmojiSteps(rgb, mask, transparent, cropped, face, source, crop_box)


def save_emoji(path, rgba) -> Path:
    """Write an RGBA emoji as a PNG (the format that keeps alpha); returns the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"{path}: an emoji is saved as .png, the format here that keeps transparency "
                         f"(got {path.suffix or 'no extension'!r})")
    a = np.asarray(rgba)
    if a.ndim != 3 or a.shape[2] != 4:
        raise ValueError(f"{path}: save_emoji takes an H x W x 4 RGBA image, got shape {a.shape}")
    return write_image(path, a)
