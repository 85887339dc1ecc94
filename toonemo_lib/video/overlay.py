"""What is drawn over a video frame: each face's expression, its probabilities, and an emoji.

    emoji = emoji_set()                      # the project's own seven, or emoji_set("my_emoji/")
    drawn = draw_overlays(frame, records, emoji)

Emoji are RGBA uint8 with *straight* alpha (colour not multiplied by alpha, as PNG stores
it) and are composited as ``out = a * emoji + (1 - a) * frame``, everything in RGB.  Seed
000's demo drew its emoji in the wrong colours (OpenCV's BGR mixed with RGBA files); here
BGR never appears, and a test sends a pure-red emoji through and reads red back.

A personal set is a folder of seven PNGs named by expression (``angry.png`` ...
``neutral.png``), as notebook 04 and ``toonemo emoji`` write them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ..config import EMOTIONS
from ..emotion.recognize import EMOTION_COLOURS
from ..images import draw_boxes, read_image, write_image

SHORT_NAMES = {name: name[:3] for name in EMOTIONS}
SUPERSAMPLE = 4  # emoji are drawn this much larger, then area-shrunk: smooth edges
# Face fills of the built-in emoji (RGB): yellow for the everyday ones, a colour for the strong ones.
FILLS = {"Angry": (235, 90, 60), "Disgust": (150, 200, 90), "Fear": (175, 200, 245), "Happy": (255, 205, 50),
         "Sad": (120, 170, 235), "Surprise": (255, 205, 50), "Neutral": (250, 215, 110)}
INK = (60, 40, 30)


def _check_rgb(frame, name="frame") -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"{name} must be an H x W x 3 RGB uint8 array, got shape {frame.shape} dtype {frame.dtype}")
    return frame


def _check_rgba(rgba, name="emoji") -> np.ndarray:
    rgba = np.asarray(rgba)
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"{name} must be an H x W x 4 RGBA uint8 array, got shape {rgba.shape} dtype {rgba.dtype}")
    return rgba


def alpha_composite(background, rgba, x: int, y: int) -> np.ndarray:
    """A copy of the RGB ``background`` with the straight-alpha ``rgba`` laid on at top-left (x, y), clipped."""
    out = _check_rgb(background, "background").copy()
    rgba = _check_rgba(rgba)
    height, width = out.shape[:2]
    x, y = int(x), int(y)
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + rgba.shape[1], width), min(y + rgba.shape[0], height)
    if x0 >= x1 or y0 >= y1:
        return out
    patch = rgba[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.float32)
    alpha = patch[..., 3:] / 255.0
    roi = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(np.rint(alpha * patch[..., :3] + (1 - alpha) * roi), 0, 255).astype(np.uint8)
    return out


def _shrink_rgba(big: np.ndarray, size: int) -> np.ndarray:
    """Area-shrink straight-alpha RGBA: colour premultiplied first, so transparent pixels do not darken the rim."""
    big = big.astype(np.float32)
    alpha = big[..., 3:] / 255.0
    premultiplied = np.concatenate([big[..., :3] * alpha, big[..., 3:]], axis=2)
    small = cv2.resize(premultiplied, (size, size), interpolation=cv2.INTER_AREA)
    a = small[..., 3:] / 255.0
    colour = np.where(a > 0, small[..., :3] / np.maximum(a, 1e-6), 0)
    return np.clip(np.rint(np.concatenate([colour, small[..., 3:]], axis=2)), 0, 255).astype(np.uint8)


def _draw_face(canvas: np.ndarray, expression: str) -> None:
    """Draw one built-in emoji on a square RGBA canvas, in place (coordinates in units of the side)."""
    side = canvas.shape[0]
    ink = (*INK, 255)
    thick = max(2, side // 28)

    def p(u, v):
        return int(round(u * side)), int(round(v * side))

    def r(u):
        return max(1, int(round(u * side)))

    def eye(u, v, radius=0.05):
        cv2.circle(canvas, p(u, v), r(radius), ink, -1, cv2.LINE_AA)

    def brow(u0, v0, u1, v1):
        cv2.line(canvas, p(u0, v0), p(u1, v1), ink, thick, cv2.LINE_AA)

    def arc(centre, axes, start, end, filled=False):
        cv2.ellipse(canvas, p(*centre), (r(axes[0]), r(axes[1])), 0, start, end, ink, -1 if filled else thick,
                    cv2.LINE_AA)

    cv2.circle(canvas, p(0.5, 0.5), r(0.46), (*FILLS[expression], 255), -1, cv2.LINE_AA)
    cv2.circle(canvas, p(0.5, 0.5), r(0.46), ink, thick, cv2.LINE_AA)
    if expression == "Happy":
        arc((0.35, 0.42), (0.07, 0.06), 180, 360)          # smiling eyes
        arc((0.65, 0.42), (0.07, 0.06), 180, 360)
        arc((0.5, 0.58), (0.22, 0.17), 0, 180, filled=True)  # open smile
    elif expression == "Sad":
        eye(0.36, 0.45), eye(0.64, 0.45)
        brow(0.26, 0.36, 0.42, 0.31), brow(0.58, 0.31, 0.74, 0.36)
        arc((0.5, 0.78), (0.16, 0.1), 180, 360)            # frown
        cv2.ellipse(canvas, p(0.33, 0.58), (r(0.03), r(0.06)), 0, 0, 360, (70, 140, 255, 255), -1, cv2.LINE_AA)
    elif expression == "Angry":
        eye(0.36, 0.47), eye(0.64, 0.47)
        brow(0.24, 0.3, 0.44, 0.4), brow(0.56, 0.4, 0.76, 0.3)   # brows down to the middle
        arc((0.5, 0.78), (0.17, 0.08), 180, 360)
    elif expression == "Disgust":
        brow(0.28, 0.42, 0.44, 0.44), brow(0.56, 0.44, 0.72, 0.42)  # squinting
        brow(0.26, 0.32, 0.42, 0.3), brow(0.58, 0.26, 0.74, 0.3)    # one brow raised
        points = np.array([p(0.32, 0.72), p(0.42, 0.66), p(0.52, 0.72), p(0.62, 0.66), p(0.7, 0.7)], np.int32)
        cv2.polylines(canvas, [points], False, ink, thick, cv2.LINE_AA)  # a wavy, wry mouth
    elif expression == "Fear":
        for u in (0.36, 0.64):
            cv2.circle(canvas, p(u, 0.45), r(0.09), (255, 255, 255, 255), -1, cv2.LINE_AA)
            cv2.circle(canvas, p(u, 0.45), r(0.09), ink, max(1, thick // 2), cv2.LINE_AA)
            eye(u, 0.46, 0.035)
        brow(0.26, 0.3, 0.42, 0.24), brow(0.58, 0.24, 0.74, 0.3)
        arc((0.5, 0.72), (0.08, 0.1), 0, 360, filled=True)          # small open mouth
        cv2.ellipse(canvas, p(0.8, 0.32), (r(0.035), r(0.06)), 0, 0, 360, (110, 180, 255, 255), -1, cv2.LINE_AA)
    elif expression == "Surprise":
        for u in (0.36, 0.64):
            cv2.ellipse(canvas, p(u, 0.43), (r(0.055), r(0.08)), 0, 0, 360, ink, -1, cv2.LINE_AA)
        arc((0.36, 0.27), (0.09, 0.05), 200, 340), arc((0.64, 0.27), (0.09, 0.05), 200, 340)
        arc((0.5, 0.72), (0.11, 0.13), 0, 360, filled=True)         # big O
    else:  # Neutral
        eye(0.36, 0.45), eye(0.64, 0.45)
        brow(0.36, 0.7, 0.64, 0.7)                                   # straight mouth


@lru_cache(maxsize=8)
def _builtin(size: int) -> tuple[np.ndarray, ...]:
    faces = []
    for expression in EMOTIONS:
        canvas = np.zeros((size * SUPERSAMPLE, size * SUPERSAMPLE, 4), np.uint8)
        _draw_face(canvas, expression)
        faces.append(_shrink_rgba(canvas, size))
    return tuple(faces)


def builtin_emoji(size: int = 128) -> dict[str, np.ndarray]:
    """The project's own seven emoji (RGBA, ``size`` x ``size``), one per expression in `EMOTIONS` order."""
    if size < 8:
        raise ValueError(f"an emoji needs at least 8 pixels a side, got {size}")
    return {name: face.copy() for name, face in zip(EMOTIONS, _builtin(int(size)))}


def _resize(rgba: np.ndarray, size: int | None) -> np.ndarray:
    return rgba if size is None or rgba.shape[:2] == (size, size) else _shrink_rgba(
        cv2.resize(rgba, (size * SUPERSAMPLE, size * SUPERSAMPLE), interpolation=cv2.INTER_CUBIC), size)


def load_emoji_set(folder, size: int | None = None) -> dict[str, np.ndarray]:
    """The seven ``<expression>.png`` files of a folder, as RGBA (an RGB file gets full alpha)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"no emoji folder at {folder} (personal emoji sets come from notebook 04 or "
                                "`toonemo emoji`)")
    missing = [f"{name.lower()}.png" for name in EMOTIONS if not (folder / f"{name.lower()}.png").is_file()]
    if missing:
        raise FileNotFoundError(f"the emoji folder {folder} lacks {', '.join(missing)} (a set has one PNG per "
                                "expression; personal emoji sets come from notebook 04 or `toonemo emoji`)")
    return {name: _resize(read_image(folder / f"{name.lower()}.png", alpha=True), size) for name in EMOTIONS}


def emoji_set(source=None, size: int = 128) -> dict[str, np.ndarray]:
    """Emoji per expression: the built-in set (None), a folder's set, or a checked dict."""
    if source is None:
        return builtin_emoji(size)
    if isinstance(source, dict):
        missing = [name for name in EMOTIONS if name not in source]
        if missing:
            raise ValueError(f"the emoji set lacks {', '.join(missing)}")
        return {name: _check_rgba(source[name], f"the {name} emoji") for name in EMOTIONS}
    return load_emoji_set(source, size)


def write_emoji_set(emoji: dict, folder) -> list[Path]:
    """Write the seven emoji as ``<expression>.png`` (RGBA) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_image(folder / f"{name.lower()}.png", _check_rgba(emoji[name])) for name in EMOTIONS]


def emoji_sheet(emoji: dict, background="white", cell: int = 128) -> np.ndarray:
    """An RGB contact sheet: the seven emoji in a row, each named under it."""
    from ..images import parse_color

    label_h = cell // 4
    sheet = np.zeros((cell + label_h, cell * len(EMOTIONS), 3), np.uint8)
    sheet[:] = parse_color(background)
    for i, name in enumerate(EMOTIONS):
        sheet = alpha_composite(sheet, _resize(_check_rgba(emoji[name]), cell), i * cell, 0)
        scale = cell / 260
        (w, _), _ = cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.putText(sheet, name, (i * cell + (cell - w) // 2, cell + label_h * 2 // 3), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (40, 40, 40), 1, cv2.LINE_AA)
    return sheet


def _probability_bars(canvas: np.ndarray, probs: dict, x: int, y: int, row: int) -> None:
    """Seven bars (short name, bar) of ``row`` pixels each, top-left at (x, y), drawn in place inside the frame."""
    width = bars_width(row)
    height, frame_w = canvas.shape[:2]
    x = int(np.clip(x, 0, max(0, frame_w - width)))
    y = int(np.clip(y, 0, max(0, height - row * len(EMOTIONS))))
    scale = row / 30
    label_w = 6 + max(cv2.getTextSize(SHORT_NAMES[name], cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] for name in EMOTIONS)
    panel = canvas[y:y + row * len(EMOTIONS), x:x + width]
    panel[:] = (panel.astype(np.float32) * 0.35).astype(np.uint8)  # a dark, see-through panel
    for i, name in enumerate(EMOTIONS):
        top = y + i * row
        cv2.putText(canvas, SHORT_NAMES[name], (x + 3, top + row - max(2, row // 5)), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (255, 255, 255), 1, cv2.LINE_AA)
        length = int(round(float(probs[name]) * (width - label_w - 3)))
        if length > 0:
            cv2.rectangle(canvas, (x + label_w, top + 2), (x + label_w + length, top + row - 3),
                          EMOTION_COLOURS[name], -1)


def bars_width(row: int) -> int:
    return int(row * 7)


def draw_face_overlay(frame, record: dict, emoji: dict | None = None, *, bar: bool = True) -> np.ndarray:
    """A copy of ``frame`` with one face's box and label, its probability bars on one side and its emoji on the other."""
    frame = _check_rgb(frame)
    label = record["label"]
    x, y, w, h = (int(v) for v in record["rect"])
    out = draw_boxes(frame, [(x, y, w, h)], color=EMOTION_COLOURS[label],
                     labels=[f"{label} {record['probs'][label]:.2f}"])
    side, gap = max(w, h), 4
    frame_w = out.shape[1]
    row = int(np.clip(side / 7, 11, 20))
    bars_right = x + w + gap + bars_width(row) <= frame_w  # bars right of the face where they fit
    if bar:
        _probability_bars(out, record["probs"], x + w + gap if bars_right else x - gap - bars_width(row), y, row)
    if emoji is not None:
        size = max(24, int(0.6 * side))
        icon = _resize(_check_rgba(emoji[label], f"the {label} emoji"), size)
        ex = x - gap - size if bars_right or not bar else x + w + gap   # on the side the bars leave free
        ex = int(np.clip(ex, 0, max(0, frame_w - size)))
        ey = int(np.clip(y, 0, max(0, out.shape[0] - size)))
        out = alpha_composite(out, icon, ex, ey)
    return out


def draw_overlays(frame, records: list[dict], emoji: dict | None = None, bar: bool = True) -> np.ndarray:
    """`draw_face_overlay` for every face record of a frame (a copy even when there is none)."""
    out = _check_rgb(frame).copy()
    for record in records:
        out = draw_face_overlay(out, record, emoji, bar=bar)
    return out
