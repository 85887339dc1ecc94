"""Synthetic cartoon faces whose expression is a parameter.

Smoke runs need labelled faces with visible structure and no downloads.  Each face is
drawn with OpenCV from a few shapes, and the seven FER2013 expressions differ the way a
cartoonist draws them: brows slanted in for anger, a smile for happiness, an open "O"
for surprise, a tear for sadness...  Everything else varies with the seed, so that a
generator trained on the faces has many different faces to learn: the head's shape and
skin, the hair's style and colour, eye size and spacing, line weight, glasses, beards,
earrings, hats, a slight turn (yaw) and tilt (roll), and the background.

Images are RGB ``uint8``.  Drawing happens at 4x the requested size and is shrunk with
area averaging, which gives clean anti-aliased edges at 48x48.  Every shape is drawn
in "face coordinates" (fractions of the image, y down) and placed by one pose transform.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..config import EMOTIONS
from ._cartoon_look import (  # noqa: F401  (the palettes and Look are re-exported for tests and notebooks)
    BACKGROUNDS, BLUSH_RGB, EYE_COLOURS, HAIR_COLOURS, OUTLINE_RGB, PUPIL_RGB, SKIN_TONES, TEAR_RGB, WHITE,
    Look, Pen, arc, canonical_look, darker, sample_look,
)
from ._cartoon_parts import draw_beard, draw_earrings, draw_glasses, draw_hair_back, draw_hair_front

MOUTH_RGB = (140, 20, 40)  # only the mouth uses this colour, so tests can find it
SUPERSAMPLE = 4


@dataclass(frozen=True)
class Expression:
    """How one emotion is drawn.  Lengths are fractions of the face size."""

    brow_inner: float  # vertical offset of the brow end near the nose (negative = up)
    brow_outer: float
    eye_open: float  # vertical eye radius; 0 draws a closed, smiling arc
    pupil: float
    mouth_bend: float  # >0 smile (middle lower than corners), <0 frown
    mouth_open: float  # height of the open mouth; 0 is a line
    mouth_width: float
    mouth_skew: float  # one corner up, the other down (disgust)
    lid_tilt: float = 0.0  # upper lid lower at the nose (>0, anger) or at the temple (<0, sadness)
    squint: float = 0.0  # how far the lower lid rises (disgust)
    brow_arch: float = 0.0  # the brow's middle raised above its ends
    mark: str = ""  # a cartoonist's sign of the emotion: furrow, wrinkle, sweat, blush, tear


EXPRESSIONS: dict[str, Expression] = {
    "Angry": Expression(0.05, -0.05, 0.035, 0.020, -0.03, 0.000, 0.16, 0.0, lid_tilt=0.6, mark="furrow"),
    "Disgust": Expression(0.04, -0.01, 0.020, 0.015, -0.02, 0.015, 0.17, 0.04, squint=0.4, mark="wrinkle"),
    "Fear": Expression(-0.05, 0.00, 0.060, 0.012, -0.03, 0.050, 0.20, 0.0, brow_arch=0.01, mark="sweat"),
    "Happy": Expression(-0.01, 0.01, 0.000, 0.000, 0.07, 0.045, 0.24, 0.0, mark="blush"),
    "Sad": Expression(-0.04, 0.04, 0.030, 0.018, -0.06, 0.000, 0.18, 0.0, lid_tilt=-0.5, mark="tear"),
    "Surprise": Expression(-0.07, -0.06, 0.065, 0.020, 0.00, 0.160, 0.13, 0.0, brow_arch=0.025),
    "Neutral": Expression(0.00, 0.00, 0.040, 0.020, 0.00, 0.000, 0.18, 0.0),
}


def emotion_index(emotion: int | str) -> int:
    """0..6 from an index or a name (case-insensitive); a ``ValueError`` otherwise."""
    if isinstance(emotion, str):
        names = [e.lower() for e in EMOTIONS]
        if emotion.lower() not in names:
            raise ValueError(f"unknown emotion {emotion!r}: choose one of {', '.join(EMOTIONS)}")
        return names.index(emotion.lower())
    if not 0 <= int(emotion) < len(EMOTIONS):
        raise ValueError(f"emotion index {emotion} out of range 0..{len(EMOTIONS) - 1}")
    return int(emotion)


FRAMINGS = ("portrait", "fer")
# FER2013's framing: the eyes about 38 % and the mouth about 76 % of the way down a face that fills the frame.
FER_EYE_ROW, FER_MOUTH_ROW = 0.38, 0.76


def draw_cartoon_face(emotion: int | str, size: int = 128, seed: int | None = None, vary: bool = True,
                      framing: str = "portrait") -> np.ndarray:
    """One RGB cartoon face of the given expression; ``seed`` picks who is drawn.

    With ``vary=False`` the face is the canonical one: centred, upright, no accessories.
    ``framing``: "portrait", the whole head on its background; "fer", cropped as FER2013's faces
    are (eyes and mouth at `FER_EYE_ROW` and `FER_MOUTH_ROW`, the face filling the frame), so
    that a model fine-tuned from a FER2013 face model keeps its layout.
    """
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    if framing not in FRAMINGS:
        raise ValueError(f"framing must be one of {FRAMINGS}, got {framing!r}")
    expr = EXPRESSIONS[EMOTIONS[emotion_index(emotion)]]
    look = sample_look(np.random.default_rng(seed)) if vary else canonical_look()
    eye_y, _, mouth_y = _feature_positions(look)
    # the crop, in fractions of the drawing: the whole drawing, or the face as FER2013 frames it
    side = 1.0 if framing == "portrait" else (mouth_y - eye_y) / (FER_MOUTH_ROW - FER_EYE_ROW)
    top, left = (0.0, 0.0) if framing == "portrait" else (eye_y - FER_EYE_ROW * side, look.cx - side / 2)
    big = int(round(size * SUPERSAMPLE / side))  # the crop is drawn at SUPERSAMPLE times the output size
    canvas = _background(look, big)
    pen = Pen(canvas, look)
    _draw_head(pen, look)
    _draw_face(pen, look, expr)
    _draw_accessories(pen, look)
    if framing == "fer":
        canvas = _crop(canvas, int(round(top * big)), int(round(left * big)), size * SUPERSAMPLE)
    # RGB in, RGB out: OpenCV never sees a colour conversion here
    return cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)


def _crop(canvas: np.ndarray, top: int, left: int, side: int) -> np.ndarray:
    """The side x side square at (top, left), the edge pixels repeated where it leaves the canvas."""
    pad = max(0, -top, -left, top + side - canvas.shape[0], left + side - canvas.shape[1])
    if pad:
        canvas = cv2.copyMakeBorder(canvas, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return canvas[top + pad:top + pad + side, left + pad:left + pad + side]


def cartoon_foreground(face: np.ndarray, tolerance: int = 12) -> np.ndarray:
    """The drawn face's pixels (bool): all but the background reached from the four corners.

    The backgrounds are flat, two-tone or smooth gradients, so a flood fill that follows
    small steps from pixel to pixel covers them, and the dark outlines stop it.
    """
    mask = np.zeros((face.shape[0] + 2, face.shape[1] + 2), np.uint8)
    h, w = face.shape[:2]
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (255 << 8)
    for corner in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
        if not mask[corner[1] + 1, corner[0] + 1]:
            cv2.floodFill(face.copy(), mask, corner, 0, (tolerance,) * 3, (tolerance,) * 3, flags)
    return mask[1:-1, 1:-1] == 0


# ----------------------------------------------------------------------------
# Background and head.


def _background(look: Look, big: int) -> np.ndarray:
    kind, a, b, angle = look.background
    canvas = np.empty((big, big, 3), np.uint8)
    if kind == "flat":
        canvas[:] = a
        return canvas
    yy, xx = (np.mgrid[0:big, 0:big] + 0.5) / big - 0.5
    along = xx * np.cos(angle) + yy * np.sin(angle)
    # two-tone: a hard edge (anti-aliased by the shrink); gradient: a smooth ramp across the image
    t = (along > 0).astype(float) if kind == "two-tone" else np.clip(along + 0.5, 0, 1)
    canvas[:] = np.round(np.array(a) * (1 - t[..., None]) + np.array(b) * t[..., None]).astype(np.uint8)
    return canvas


def _head_outline(look: Look, n: int = 72) -> np.ndarray:
    """The head's outline: an ellipse whose lower half is pushed towards a square jaw by `look.jaw`."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    lower = s > 0
    squareness = 1 - 0.6 * look.jaw
    c = np.where(lower, np.sign(c) * np.abs(c) ** squareness, c)
    return np.stack([look.cx + look.half_w * c, look.cy + look.half_h * s], 1)


def _draw_head(pen: Pen, look: Look) -> None:
    """Hair behind, ears, the head, then hair (and hat) in front."""
    draw_hair_back(pen, look)
    for side in (-1, 1):
        ear = (look.cx + side * look.half_w * 0.97, look.cy - 0.02)
        pen.shape(arc(ear, (0.045, 0.07)), look.skin)
    pen.shape(_head_outline(look), look.skin)
    draw_hair_front(pen, look)


# ----------------------------------------------------------------------------
# The expression: eyes, brows, nose, mouth and the emotion's mark.


def _feature_positions(look: Look) -> tuple[float, float, float]:
    """Eye height, half the eye spacing and mouth height, all following the head's size."""
    return look.cy - 0.175 * look.half_h, 0.39 * look.half_w * look.eye_spacing, look.cy + 0.55 * look.half_h


def _draw_face(pen: Pen, look: Look, expr: Expression) -> None:
    eye_y, eye_dx, mouth_y = _feature_positions(look)
    brow = darker(look.hair, 0.55) if look.hair_style != "bald" else darker(look.skin, 0.45)
    for side in (-1, 1):
        ex = look.cx + side * eye_dx
        _draw_eye(pen, (ex, eye_y), side, expr, look)
        arch = (ex, eye_y - 0.09 + (expr.brow_inner + expr.brow_outer) / 2 - expr.brow_arch)
        inner = (ex - side * 0.07, eye_y - 0.09 + expr.brow_inner)
        outer = (ex + side * 0.07, eye_y - 0.09 + expr.brow_outer)
        pen.stroke([inner, arch, outer], brow, look.brow_width, depth=1)
    nose = [(look.cx, eye_y + 0.05), (look.cx - 0.03, mouth_y - 0.15), (look.cx + 0.01, mouth_y - 0.14)]
    pen.stroke(nose, OUTLINE_RGB, look.line, depth=1.5)
    _draw_mark(pen, look, expr, eye_y, eye_dx, mouth_y)
    draw_beard(pen, look, mouth_y)
    _draw_mouth(pen, (look.cx, mouth_y), expr, look.mouth_scale)


def _draw_eye(pen: Pen, centre, side: int, expr: Expression, look: Look) -> None:
    width = 0.055 * look.eye_scale
    if expr.eye_open == 0:  # closed happy eye: an upward arc "^"
        pen.stroke(arc(centre, (width * 0.9, 0.03), 180, 360), OUTLINE_RGB, max(0.018, look.line), depth=1)
        return
    height = expr.eye_open * look.eye_scale
    outline = arc(centre, (width, height))
    pen.fill(outline, WHITE, depth=1)
    pupil = max(0.006, expr.pupil * look.eye_scale)
    iris = arc(centre, (pupil * 1.5, min(pupil * 1.5, height)))
    pen.fill(iris, look.eye_colour, depth=1)
    pen.fill(arc(centre, (pupil * 0.8, min(pupil * 0.8, height))), PUPIL_RGB, depth=1)
    _draw_lids(pen, centre, side, width, height, expr, look)
    pen.stroke(outline, OUTLINE_RGB, look.line, depth=1, closed=True)


def _draw_lids(pen: Pen, centre, side: int, width: float, height: float, expr: Expression, look: Look) -> None:
    """Skin over the top of the eye (a slanted lid) or its bottom (a squint), each with a lid line."""
    x, y = centre
    if expr.lid_tilt:
        inner_y = y - height + 2 * height * max(expr.lid_tilt, 0.0) * 0.8
        outer_y = y - height + 2 * height * max(-expr.lid_tilt, 0.0) * 0.8
        lid = [(x - side * width * 1.2, inner_y), (x + side * width * 1.2, outer_y)]
        pen.fill(lid + [(x + side * width * 1.2, y - height * 1.6), (x - side * width * 1.2, y - height * 1.6)],
                 look.skin, depth=1)
        pen.stroke(lid, OUTLINE_RGB, max(look.line, 0.012), depth=1)
    if expr.squint:
        top = y + height * (1 - 2 * expr.squint)
        lid = arc((x, top + height), (width * 1.2, height), 180, 360, 20)
        pen.fill(np.concatenate([lid, [(x + width * 1.2, y + height * 1.6), (x - width * 1.2, y + height * 1.6)]]),
                 look.skin, depth=1)
        pen.stroke(lid, OUTLINE_RGB, look.line, depth=1)


def _draw_mark(pen: Pen, look: Look, expr: Expression, eye_y: float, eye_dx: float, mouth_y: float) -> None:
    """The emotion's extra sign, which keeps the seven expressions apart on very different faces."""
    cx = look.cx
    if expr.mark == "furrow":  # two short creases between the brows
        for dx in (-0.015, 0.015):
            pen.stroke([(cx + dx, eye_y - 0.1), (cx + dx * 0.6, eye_y - 0.05)], OUTLINE_RGB, 0.01, depth=1)
    elif expr.mark == "wrinkle":  # a crumpled nose
        for dy in (0.0, 0.025):
            pen.stroke(arc((cx, eye_y + 0.04 + dy), (0.03, 0.01), 200, 340, 8), OUTLINE_RGB, 0.008, depth=1.5)
    elif expr.mark == "blush":
        for side in (-1, 1):
            pen.fill(arc((cx + side * (eye_dx + 0.03), mouth_y - 0.09), (0.045, 0.022)), BLUSH_RGB, depth=1)
    elif expr.mark == "tear":
        x, y = cx + eye_dx + 0.01, eye_y + 0.06
        pen.shape([(x, y)] + list(arc((x, y + 0.035), (0.018, 0.018), -30, 210, 16)), TEAR_RGB, depth=1)
    elif expr.mark == "sweat":
        x, y = cx - look.half_w * 0.6, look.cy - look.half_h * 0.45
        pen.shape([(x, y)] + list(arc((x, y + 0.04), (0.02, 0.02), -30, 210, 16)), TEAR_RGB, depth=0.5)


def mouth_curve(expr: Expression, n: int = 41) -> np.ndarray:
    """Points (x, y) of the mouth's centre line relative to its centre, y pointing down."""
    u = np.linspace(-1.0, 1.0, n)
    y = expr.mouth_bend * (1.0 - u**2) + expr.mouth_skew * u
    return np.stack([u * expr.mouth_width / 2, y - y.mean()], axis=1)


def _draw_mouth(pen: Pen, centre: tuple[float, float], expr: Expression, scale: float) -> None:
    curve = mouth_curve(expr) * (scale, 1.0) + np.array(centre)
    if expr.mouth_open <= 0:
        pen.stroke(curve, MOUTH_RGB, 0.022, depth=1)
        return
    if expr.mouth_open < 0.1:
        # an open mouth: the centre line as the upper lip, the same line pushed down as the lower lip
        shape = np.concatenate([curve, curve[::-1] + (0.0, expr.mouth_open)])
    else:  # wide open: an oval
        shape = arc(centre, (expr.mouth_width * scale / 2, expr.mouth_open / 2), 0, 360, 48)
    pen.fill(shape, MOUTH_RGB, depth=1)


def _draw_accessories(pen: Pen, look: Look) -> None:
    eye_y, eye_dx, _ = _feature_positions(look)
    draw_glasses(pen, look, eye_y, eye_dx)
    draw_earrings(pen, look)


# ----------------------------------------------------------------------------
# Data sets.


def synthetic_faces(
    n: int, size: int = 48, grayscale: bool = False, seed: int = 0, emotions=None, framing: str = "portrait"
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` labelled faces, the expressions cycling through ``emotions`` (default: all seven), framed
    as ``framing`` says (`draw_cartoon_face`).

    Returns ``(images, labels)``: uint8 ``(n, size, size, 3)`` (or ``(n, size, size)``
    when ``grayscale``) and int64 labels in FER2013's order.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    labels_pool = [emotion_index(e) for e in (emotions if emotions is not None else range(len(EMOTIONS)))]
    rng = np.random.default_rng(seed)
    labels = np.array([labels_pool[i % len(labels_pool)] for i in range(n)], np.int64)
    rng.shuffle(labels)
    faces = [draw_cartoon_face(int(label), size, seed=int(rng.integers(2**31)), framing=framing) for label in labels]
    images = np.stack(faces)
    if grayscale:
        images = np.stack([cv2.cvtColor(face, cv2.COLOR_RGB2GRAY) for face in faces])
    return images, labels


SOURCE_TEXT = "synthetic cartoon faces drawn by toonemo_lib.datasets.synthetic"


def synthetic_splits(n: int, val_fraction: float = 0.2, size: int = 48, seed: int = 0) -> dict:
    """``n`` grayscale synthetic faces split into ``{"train": ..., "val": ...}`` like FER2013's loaders.

    The labels are already shuffled, so the first ``int((1 - val_fraction) * n)`` faces train
    and the rest validate (the 80/20 split at the default); both splits are uint8 ``(N, size, size)``
    with int64 labels.  ``n`` must leave at least one face on each side.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    split = int(round((1 - val_fraction) * n, 6))  # a product just below an integer must not lose a face
    if n < 2 or not 0 < split < n:
        raise ValueError(f"{n} faces cannot be split {1 - val_fraction:.0%} / {val_fraction:.0%} "
                         "with a face on each side")
    faces, labels = synthetic_faces(n, size=size, grayscale=True, seed=seed)
    return {"train": (faces[:split], labels[:split]), "val": (faces[split:], labels[split:])}


def coloured_discs(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """``n`` RGB uint8 images of one saturated disc on a dark background.

    A data set a small GAN can learn in a few CPU minutes: its colour histogram (dark
    background, a few bright hues) is far from a fresh generator's grey noise, so
    training progress shows as a distance between histograms.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    rng = np.random.default_rng(seed)
    images = np.zeros((n, size, size, 3), np.uint8)
    big = size * SUPERSAMPLE
    for image in images:
        canvas = np.full((big, big, 3), rng.integers(0, 40), np.uint8)
        hue = int(rng.integers(0, 180))
        colour = cv2.cvtColor(np.uint8([[[hue, 220, 240]]]), cv2.COLOR_HSV2RGB)[0, 0]
        radius = rng.uniform(0.18, 0.32) * big
        centre = rng.uniform(radius, big - radius, size=2)
        cv2.circle(canvas, tuple(int(c) for c in centre), int(radius),
                   tuple(int(c) for c in colour), -1, cv2.LINE_AA)
        image[:] = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
    return images
