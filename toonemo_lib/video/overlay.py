"""What is drawn over a video frame: each face's box and expression, its probabilities, and an emoji.

    emoji = emoji_set()                       # the project's own seven, or emoji_set("my_emoji/")
    drawn = draw_overlays(frame, records, emoji)
    emoji_sheet(emoji)                        # the seven in a row, named, for a notebook

Emoji are RGBA uint8 with *straight* alpha (colour not multiplied by alpha, as PNG stores it)
and are composited as ``out = a * emoji + (1 - a) * frame``, all in RGB.  Seed 000's demo
showed its emoji in the wrong colours (OpenCV's BGR mixed with RGBA files); here BGR never
appears, and a test sends a pure-red emoji through and reads pure red back.

A personal set is a folder of seven PNGs named by expression (``angry.png`` ... ``neutral.png``),
as notebook 04 writes them; `write_emoji_set` writes the built-in set the same way.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ..config import EMOTIONS
from ..emotion.recognize import EMOTION_COLOURS
from ..images import draw_boxes, parse_color, read_image, write_image

FILE_NAMES = {name: f"{name.lower()}.png" for name in EMOTIONS}
SHORT_NAMES = {name: name[:3] for name in EMOTIONS}
# Face colours of the built-in emoji (RGB): yellow for the everyday three, a tint for the strong ones.
FILLS = {"Angry": (240, 95, 65), "Disgust": (150, 200, 85), "Fear": (185, 210, 245), "Happy": (255, 205, 40),
         "Sad": (125, 170, 235), "Surprise": (255, 190, 50), "Neutral": (250, 215, 105)}
INK, WHITE, WATER, MOUTH = (60, 35, 25), (255, 255, 255), (90, 170, 250), (120, 30, 30)
SUPERSAMPLE = 4  # emoji are drawn this much larger, then area-averaged: anti-aliased edges
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_SET_HINT = "a personal emoji set is made in notebook 04; `write_emoji_set(builtin_emoji(), DIR)` writes the built-in one"


def _check_image(image, name: str, channels: int = 3) -> np.ndarray:
    """`image` as an array, or a ValueError naming it when it isn't H x W x `channels` (RGB or RGBA) uint8."""
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != channels:
        raise ValueError(f"{name} must be an H x W x {channels} {'RGBA'[:channels]} uint8 array; "
                         f"got shape {a.shape}, dtype {a.dtype}")
    return a


def alpha_composite(background, rgba, x: int, y: int) -> np.ndarray:
    """A copy of the RGB `background` with straight-alpha `rgba` laid on, top-left at (x, y), clipped to the frame."""
    out = _check_image(background, "background").copy()
    rgba = _check_image(rgba, "emoji", 4)
    x, y = int(round(x)), int(round(y))
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + rgba.shape[1], out.shape[1]), min(y + rgba.shape[0], out.shape[0])
    if x0 >= x1 or y0 >= y1:
        return out
    patch = rgba[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.uint32)
    alpha, under = patch[..., 3:], out[y0:y1, x0:x1].astype(np.uint32)
    # Integer rounding of (a*fg + (255-a)*bg) / 255: exact, and never halfway since 255 is odd.
    out[y0:y1, x0:x1] = ((alpha * patch[..., :3] + (255 - alpha) * under + 127) // 255).astype(np.uint8)
    return out


# ---------------------------------------------------------------------------- resizing emoji


def _unpremultiply(premultiplied: np.ndarray) -> np.ndarray:
    """Straight RGBA uint8 from float premultiplied RGBA (0..255)."""
    alpha = premultiplied[..., 3:]
    colour = np.where(alpha > 0, premultiplied[..., :3] * 255 / np.maximum(alpha, 1e-6), 0)
    return np.clip(np.rint(np.concatenate([colour, alpha], axis=2)), 0, 255).astype(np.uint8)


def resize_emoji(rgba, size: int) -> np.ndarray:
    """`rgba` resized to `size` x `size`, averaging premultiplied colour so transparent pixels don't darken the rim."""
    rgba = _check_image(rgba, "emoji", 4)
    if rgba.shape[:2] == (size, size):
        return rgba.copy()
    big = rgba.astype(np.float32)
    premultiplied = np.concatenate([big[..., :3] * big[..., 3:] / 255, big[..., 3:]], axis=2)
    shrinking = size < max(rgba.shape[:2])
    small = cv2.resize(premultiplied, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return _unpremultiply(small)


# ---------------------------------------------------------------------------- the built-in set


class _Pen:
    """Draws on a square RGBA canvas in face units: (0, 0) is the centre, ±1 the rim of the face."""

    def __init__(self, canvas: np.ndarray):
        self.canvas, self.unit, self.centre = canvas, canvas.shape[0] * 0.44, canvas.shape[0] / 2
        self.thick = max(2, round(self.unit * 0.075))

    def at(self, u, v):
        return round(self.centre + u * self.unit), round(self.centre + v * self.unit)

    def ellipse(self, u, v, ru, rv, colour=INK, thickness=-1, start=0, end=360):
        axes = (max(1, round(ru * self.unit)), max(1, round(rv * self.unit)))
        cv2.ellipse(self.canvas, self.at(u, v), axes, 0, start, end, (*colour, 255), thickness, cv2.LINE_AA)

    def curve(self, points, colour=INK, thickness=None, filled=False):
        pts = np.array([self.at(u, v) for u, v in points], np.int32)
        if filled:
            cv2.fillPoly(self.canvas, [pts], (*colour, 255), cv2.LINE_AA)
        else:
            cv2.polylines(self.canvas, [pts], False, (*colour, 255), thickness or self.thick, cv2.LINE_AA)

    def mouth(self, bend, width=0.38, v=0.45, filled=False):
        """A parabola from corner to corner: bend > 0 smiles, < 0 frowns; `filled` closes it as an open mouth."""
        us = np.linspace(-width, width, 25)
        points = [(u, v + bend * (1 - (u / width) ** 2)) for u in us]
        if filled:
            self.curve(points, MOUTH, filled=True)
            points.append((-width, v))  # outline the open mouth, closed along its top
        self.curve(points, INK, thickness=self.thick if not filled else max(1, self.thick * 2 // 3))

    def dot_eyes(self, v=-0.15, r=0.09):
        for u in (-0.33, 0.33):
            self.ellipse(u, v, r * 0.85, r)

    def open_eyes(self, v=-0.15, r=0.17, pupil=0.07):
        for u in (-0.33, 0.33):
            self.ellipse(u, v, r * 0.85, r, WHITE)
            self.ellipse(u, v, r * 0.85, r, INK, max(1, self.thick // 2))
            self.ellipse(u, v + r * 0.2, pupil, pupil)

    def brows(self, left, right):
        """Each brow is (outer v, inner v) at u = ∓0.5 .. ∓0.15; a smaller v is higher."""
        for sign, (outer, inner) in ((-1, left), (1, right)):
            self.curve([(sign * 0.52, outer), (sign * 0.14, inner)])

    def drop(self, u, v, r):
        """A water drop (tear or sweat) with its round end at (u, v)."""
        self.curve([(u - r * 0.95, v - r * 0.3), (u, v - r * 2.6), (u + r * 0.95, v - r * 0.3)], WATER, filled=True)
        self.ellipse(u, v, r, r, WATER)


def _draw_expression(pen: _Pen, name: str) -> None:
    """The eyes, brows and mouth that make `name` readable at a glance."""
    if name == "Angry":
        pen.dot_eyes(v=-0.08), pen.brows((-0.42, -0.2), (-0.42, -0.2)), pen.mouth(-0.16, width=0.3, v=0.55)
    elif name == "Disgust":
        pen.curve([(-0.48, -0.12), (-0.18, -0.1)]), pen.curve([(0.18, -0.1), (0.48, -0.12)])  # squinting
        pen.brows((-0.26, -0.24), (-0.5, -0.42))
        us = np.linspace(-0.36, 0.36, 30)
        pen.curve([(u, 0.5 - 0.15 * u + 0.07 * np.sin(u * 14)) for u in us])  # wavy and skewed
    elif name == "Fear":
        pen.open_eyes(r=0.2, pupil=0.05), pen.brows((-0.5, -0.6), (-0.5, -0.6))
        pen.ellipse(0, 0.5, 0.12, 0.18, MOUTH), pen.ellipse(0, 0.5, 0.12, 0.18, INK, max(1, pen.thick * 2 // 3))
        pen.drop(0.72, -0.25, 0.1)
    elif name == "Happy":
        for u in (-0.33, 0.33):
            pen.ellipse(u, -0.1, 0.15, 0.13, start=180, end=360, thickness=pen.thick)  # smiling eyes
        pen.mouth(0.32, width=0.5, v=0.22, filled=True)
    elif name == "Sad":
        pen.dot_eyes(), pen.brows((-0.3, -0.48), (-0.3, -0.48)), pen.mouth(-0.16, width=0.3, v=0.58)
        pen.drop(-0.36, 0.25, 0.09)
    elif name == "Surprise":
        pen.open_eyes(r=0.18, pupil=0.08)
        for u in (-0.33, 0.33):
            pen.ellipse(u, -0.42, 0.17, 0.1, start=200, end=340, thickness=pen.thick)  # arched brows, raised
        pen.ellipse(0, 0.47, 0.18, 0.24, MOUTH), pen.ellipse(0, 0.47, 0.18, 0.24, INK, pen.thick)
    else:  # Neutral
        pen.dot_eyes(), pen.curve([(-0.3, 0.45), (0.3, 0.45)])


@lru_cache(maxsize=8)
def _builtin(size: int) -> tuple[np.ndarray, ...]:
    faces = []
    for name in EMOTIONS:
        # Drawn on transparent black with anti-aliasing, the canvas *is* premultiplied RGBA:
        # a rim pixel k-covered holds k*colour and k*255.  Area-averaging it and dividing by
        # alpha gives smooth edges whose colour is not darkened.
        canvas = np.zeros((size * SUPERSAMPLE, size * SUPERSAMPLE, 4), np.uint8)
        pen = _Pen(canvas)
        pen.ellipse(0, 0, 1, 1, FILLS[name])
        pen.ellipse(0, 0, 1, 1, INK, pen.thick)
        _draw_expression(pen, name)
        faces.append(_unpremultiply(cv2.resize(canvas.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)))
    return tuple(faces)


def builtin_emoji(size: int = 128) -> dict[str, np.ndarray]:
    """The project's own seven emoji, `size` x `size` RGBA, one per expression in `EMOTIONS` order."""
    if int(size) < 16:
        raise ValueError(f"a built-in emoji needs at least 16 pixels a side, got {size}")
    return {name: face.copy() for name, face in zip(EMOTIONS, _builtin(int(size)))}  # copies: the cache stays intact


# ---------------------------------------------------------------------------- sets on disk


def load_emoji_set(folder, size: int | None = None) -> dict[str, np.ndarray]:
    """The seven ``<expression>.png`` of `folder` as RGBA (an RGB file gets full alpha), resized square to `size`."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"no emoji folder at {folder} ({_SET_HINT})")
    missing = [file for file in FILE_NAMES.values() if not (folder / file).is_file()]
    if missing:
        raise FileNotFoundError(f"the emoji folder {folder} lacks {', '.join(missing)}: a set has one PNG per "
                                f"expression ({_SET_HINT})")
    emoji = {name: read_image(folder / file, alpha=True) for name, file in FILE_NAMES.items()}
    return emoji if size is None else {name: resize_emoji(rgba, int(size)) for name, rgba in emoji.items()}


def _check_set(emoji: dict) -> dict[str, np.ndarray]:
    """`emoji` in `EMOTIONS` order, after checking it has all seven and each is RGBA uint8."""
    if not isinstance(emoji, dict):
        raise ValueError(f"an emoji set is a dict expression -> RGBA array; got {type(emoji).__name__}")
    missing = [name for name in EMOTIONS if name not in emoji]
    if missing:
        raise ValueError(f"the emoji set lacks {', '.join(missing)} (it needs all of {', '.join(EMOTIONS)})")
    return {name: _check_image(emoji[name], f"the {name} emoji", 4) for name in EMOTIONS}


def emoji_set(source=None, size: int = 128) -> dict[str, np.ndarray]:
    """Emoji per expression: the built-in set (None or "builtin"), a folder's set at `size`, or a checked dict."""
    if source is None or (isinstance(source, str) and source == "builtin"):
        return builtin_emoji(size)
    if isinstance(source, dict):
        return _check_set(source)
    return load_emoji_set(source, size)


def write_emoji_set(emoji: dict, folder) -> list[Path]:
    """Write the seven emoji as ``<expression>.png`` (RGBA) into `folder`; returns the paths."""
    emoji, folder = _check_set(emoji), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_image(folder / FILE_NAMES[name], rgba) for name, rgba in emoji.items()]


def emoji_sheet(emoji: dict, background="white", cell: int | None = None) -> np.ndarray:
    """An RGB contact sheet: the seven emoji in a row on `background` ("checker" or a colour), each named under it."""
    emoji = _check_set(emoji)
    cell = int(cell or max(max(rgba.shape[:2]) for rgba in emoji.values()))
    widest = max(cv2.getTextSize(name, _FONT, 1.0, 1)[0][0] for name in EMOTIONS)
    label_h, scale = max(14, cell // 5), min(max(0.35, cell / 300), (cell - 4) / widest)  # names must not touch
    height, width = cell + label_h, cell * len(EMOTIONS)
    if background == "checker":  # light-gray squares, the usual picture of transparency
        rows, cols = np.indices((height, width)) // max(4, cell // 12)
        sheet = np.where(((rows + cols) % 2)[..., None] == 0, 235, 200).astype(np.uint8).repeat(3, axis=2)
    else:
        sheet = np.full((height, width, 3), parse_color(background), np.uint8)
    for i, (name, rgba) in enumerate(emoji.items()):
        sheet = alpha_composite(sheet, resize_emoji(rgba, cell), i * cell, 0)
        (text_w, text_h), _ = cv2.getTextSize(name, _FONT, scale, 1)
        cv2.putText(sheet, name, (i * cell + (cell - text_w) // 2, cell + (label_h + text_h) // 2), _FONT, scale,
                    (40, 40, 40), 1, cv2.LINE_AA)
    return sheet


# ---------------------------------------------------------------------------- overlays


def _check_record(record) -> tuple[tuple[int, int, int, int], str, dict]:
    """The box, label and probabilities of a face record, or a ValueError saying what it lacks."""
    try:
        box, label, probs = tuple(int(round(float(v))) for v in record["rect"]), record["label"], record["probs"]
        if len(box) != 4 or label not in EMOTIONS or any(name not in probs for name in EMOTIONS):
            raise ValueError("wrong values")
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"a face record needs 'rect' [x, y, w, h], a 'label' among {EMOTIONS} and 'probs' "
                         f"naming all seven; got {record!r}") from None
    return box, label, probs


def _emoji_place(box, side: int, label_right: int, shape) -> tuple[int, int]:
    """Top-left of an emoji on the box's top-right corner, right of the label tab, inside the frame where it fits."""
    x, y, w, _ = box
    ex = int(np.clip(max(x + w - side // 3, label_right + 3), 0, max(0, shape[1] - side)))
    # At the frame's right edge there is no room beside the label: tuck the emoji under it, in the box's corner.
    ey = y - side * 2 // 3 if ex > label_right else y + 2
    return ex, int(np.clip(ey, 0, max(0, shape[0] - side)))


def _bar_chart(canvas: np.ndarray, probs: dict, box, emoji_box=None) -> None:
    """Seven thin bars (short name, bar in the expression's colour) beside the face, drawn in place.

    The chart is bottom-aligned with the box, or starts under the emoji (x, y, side) where it would cover it.
    """
    x, y, w, h = box
    frame_h, frame_w = canvas.shape[:2]
    row = int(np.clip(h / 8, 10, 18))
    scale, gap = row / 32, 6
    name_w = max(cv2.getTextSize(short, _FONT, scale, 1)[0][0] for short in SHORT_NAMES.values()) + 6
    bar_len = int(np.clip(w * 0.6, 40, 120))
    chart_w, chart_h = name_w + bar_len + 6, row * len(EMOTIONS) + 4
    left = x + w + gap if x + w + gap + chart_w <= frame_w else x - gap - chart_w  # right of the face, else left
    left = int(np.clip(left, 0, max(0, frame_w - chart_w)))
    top = y + h - chart_h
    if emoji_box is not None and emoji_box[0] < left + chart_w and left < emoji_box[0] + emoji_box[2]:
        top = max(top, emoji_box[1] + emoji_box[2] + 3)
    top = int(np.clip(top, 0, max(0, frame_h - chart_h)))
    panel = canvas[top:top + chart_h, left:left + chart_w]
    panel[:] = panel // 3  # a dark see-through panel keeps the white names readable on any frame
    for i, name in enumerate(EMOTIONS):
        row_top, bar_left = top + 2 + i * row, left + name_w
        cv2.putText(canvas, SHORT_NAMES[name], (left + 3, row_top + row - max(2, row // 4)), _FONT, scale, WHITE, 1,
                    cv2.LINE_AA)
        cv2.line(canvas, (bar_left, row_top + row // 2), (bar_left + bar_len, row_top + row // 2), (90, 90, 90), 1)
        length = round(float(np.clip(probs[name], 0, 1)) * bar_len)
        if length > 0:
            cv2.rectangle(canvas, (bar_left, row_top + 2), (bar_left + length, row_top + row - 3),
                          EMOTION_COLOURS[name], cv2.FILLED)


def draw_face_overlay(frame, record: dict, emoji: dict | None = None, *, bar: bool = True) -> np.ndarray:
    """A copy of `frame` with the face's box and "Label 0.87", its probability bars and (given a set) its emoji.

    `record` is one of `EmotionRecognizer.detect_and_classify`'s: "rect", "label", "probs" (keypoints are ignored).
    """
    frame = _check_image(frame, "frame")
    box, label, probs = _check_record(record)
    # The label's font as draw_boxes would choose it, passed explicitly so the tab's width is known here.
    scale, thickness = max(0.4, max(frame.shape[:2]) / 1000), max(1, round(max(frame.shape[:2]) / 250))
    text = f"{label} {float(probs[label]):.2f}"
    out = draw_boxes(frame, [box], EMOTION_COLOURS[label], labels=[text], thickness=thickness, font_scale=scale)
    icon = place = None
    if emoji is not None:
        if label not in emoji:
            raise ValueError(f"the emoji set has no {label!r} emoji (use emoji_set() to load a complete one)")
        side = max(24, round(0.6 * max(box[2], box[3])))
        icon = resize_emoji(_check_image(emoji[label], f"the {label} emoji", 4), side)
        tab_w = cv2.getTextSize(text, _FONT, scale, thickness)[0][0] + 2 * max(2, thickness)
        place = _emoji_place(box, side, int(np.clip(box[0], 0, frame.shape[1] - tab_w)) + tab_w, out.shape)
    if bar:
        _bar_chart(out, probs, box, None if place is None else (*place, icon.shape[0]))
    return out if icon is None else alpha_composite(out, icon, *place)


def draw_overlays(frame, records: list[dict], emoji: dict | None = None, bar: bool = True) -> np.ndarray:
    """`draw_face_overlay` for every face record of a frame (a copy even when there is none)."""
    out = _check_image(frame, "frame").copy()
    for record in records:
        out = draw_face_overlay(out, record, emoji, bar=bar)
    return out
