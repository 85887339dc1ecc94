"""Synthetic cartoon faces whose expression is a parameter.

Smoke runs need labelled faces with visible structure and no downloads.  Each
face is drawn with OpenCV from a few shapes - head, hair, eyes, brows, mouth -
and the seven FER2013 expressions differ the way a cartoonist draws them:
brows slanted in for anger, a smile for happiness, an open "O" for surprise...

Images are RGB ``uint8``.  Drawing happens at 4x the requested size and is
shrunk with area averaging, which gives clean anti-aliased edges at 48x48.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..config import EMOTIONS

MOUTH_RGB = (140, 20, 40)  # only the mouth uses this colour, so tests can find it
OUTLINE_RGB = (40, 30, 30)
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


EXPRESSIONS: dict[str, Expression] = {
    "Angry": Expression(0.05, -0.05, 0.035, 0.020, -0.03, 0.000, 0.16, 0.0),
    "Disgust": Expression(0.04, -0.01, 0.020, 0.015, -0.02, 0.015, 0.17, 0.04),
    "Fear": Expression(-0.05, 0.00, 0.060, 0.012, -0.03, 0.050, 0.20, 0.0),
    "Happy": Expression(-0.01, 0.01, 0.000, 0.000, 0.07, 0.045, 0.24, 0.0),
    "Sad": Expression(-0.04, 0.04, 0.030, 0.018, -0.06, 0.000, 0.18, 0.0),
    "Surprise": Expression(-0.07, -0.06, 0.065, 0.020, 0.00, 0.160, 0.13, 0.0),
    "Neutral": Expression(0.00, 0.00, 0.040, 0.020, 0.00, 0.000, 0.18, 0.0),
}

_SKIN = [(255, 224, 189), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36), (255, 205, 148)]
_HAIR = [(40, 30, 20), (90, 60, 30), (200, 160, 80), (150, 40, 20), (20, 20, 20), (120, 120, 130)]


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


def draw_cartoon_face(emotion: int | str, size: int = 128, seed: int | None = None, vary: bool = True) -> np.ndarray:
    """One RGB cartoon face of the given expression; ``seed`` varies colours and proportions."""
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    expr = EXPRESSIONS[EMOTIONS[emotion_index(emotion)]]
    rng = np.random.default_rng(seed)
    jitter = (lambda scale: rng.uniform(-scale, scale)) if vary else (lambda scale: 0.0)

    big = size * SUPERSAMPLE
    canvas = np.empty((big, big, 3), np.uint8)
    background = rng.integers(170, 256, 3) if vary else np.array([230, 235, 245])
    canvas[:] = background

    def px(value: float) -> int:
        return int(round(value * big))

    def pt(x: float, y: float) -> tuple[int, int]:
        return px(x), px(y)

    cx, cy = 0.5 + jitter(0.03), 0.53 + jitter(0.03)
    half_w, half_h = 0.33 + jitter(0.03), 0.40 + jitter(0.03)
    skin = _SKIN[rng.integers(len(_SKIN))] if vary else _SKIN[0]
    hair = _HAIR[rng.integers(len(_HAIR))] if vary else _HAIR[0]
    line = max(1, px(0.012))

    # hair: a cap behind the top of the head
    cv2.ellipse(canvas, pt(cx, cy - 0.08), (px(half_w + 0.04), px(half_h)), 0, 180, 360, hair, -1, cv2.LINE_AA)
    cv2.ellipse(canvas, pt(cx, cy), (px(half_w), px(half_h)), 0, 0, 360, skin, -1, cv2.LINE_AA)
    cv2.ellipse(canvas, pt(cx, cy), (px(half_w), px(half_h)), 0, 0, 360, OUTLINE_RGB, line, cv2.LINE_AA)

    eye_y, eye_dx = cy - 0.07, 0.13 + jitter(0.01)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        _draw_eye(canvas, pt(ex, eye_y), expr, px, line)
        inner = pt(ex - side * 0.07, eye_y - 0.09 + expr.brow_inner)
        outer = pt(ex + side * 0.07, eye_y - 0.09 + expr.brow_outer)
        cv2.line(canvas, inner, outer, hair, max(2, px(0.025)), cv2.LINE_AA)

    nose = np.array([pt(cx, cy - 0.02), pt(cx - 0.03, cy + 0.07), pt(cx + 0.01, cy + 0.08)], np.int32)
    cv2.polylines(canvas, [nose], False, OUTLINE_RGB, line, cv2.LINE_AA)
    _draw_mouth(canvas, (cx, cy + 0.22), expr, px)

    # RGB in, RGB out: OpenCV never sees a colour conversion here
    return cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)


def _draw_eye(canvas: np.ndarray, centre: tuple[int, int], expr: Expression, px, line: int) -> None:
    if expr.eye_open == 0:  # closed happy eye: an upward arc "^"
        cv2.ellipse(canvas, centre, (px(0.05), px(0.03)), 0, 180, 360, OUTLINE_RGB, max(2, px(0.018)), cv2.LINE_AA)
        return
    axes = (px(0.055), px(expr.eye_open))
    cv2.ellipse(canvas, centre, axes, 0, 0, 360, (255, 255, 255), -1, cv2.LINE_AA)
    cv2.ellipse(canvas, centre, axes, 0, 0, 360, OUTLINE_RGB, line, cv2.LINE_AA)
    cv2.circle(canvas, centre, max(1, px(expr.pupil)), (30, 30, 60), -1, cv2.LINE_AA)


def mouth_curve(expr: Expression, n: int = 41) -> np.ndarray:
    """Points (x, y) of the mouth's centre line relative to its centre, y pointing down."""
    u = np.linspace(-1.0, 1.0, n)
    y = expr.mouth_bend * (1.0 - u**2) + expr.mouth_skew * u
    return np.stack([u * expr.mouth_width / 2, y - y.mean()], axis=1)


def _draw_mouth(canvas: np.ndarray, centre: tuple[float, float], expr: Expression, px) -> None:
    curve = mouth_curve(expr) + np.array(centre)
    if expr.mouth_open > 0:
        # an open mouth: the centre line as the upper lip, the same line pushed down as the lower lip
        lower = curve[::-1] + np.array([0.0, expr.mouth_open])
        lower[:, 0] = curve[::-1, 0]
        shape = np.concatenate([curve, lower]) if expr.mouth_open < 0.1 else _oval(centre, expr)
        cv2.fillPoly(canvas, [np.round(shape * canvas.shape[0]).astype(np.int32)], MOUTH_RGB, cv2.LINE_AA)
    else:
        points = np.round(curve * canvas.shape[0]).astype(np.int32)
        cv2.polylines(canvas, [points], False, MOUTH_RGB, max(2, px(0.022)), cv2.LINE_AA)


def _oval(centre: tuple[float, float], expr: Expression, n: int = 48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([centre[0] + expr.mouth_width / 2 * np.cos(t), centre[1] + expr.mouth_open / 2 * np.sin(t)], 1)


def synthetic_faces(
    n: int, size: int = 48, grayscale: bool = False, seed: int = 0, emotions=None
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` labelled faces, the expressions cycling through ``emotions`` (default: all seven).

    Returns ``(images, labels)``: uint8 ``(n, size, size, 3)`` (or ``(n, size, size)``
    when ``grayscale``) and int64 labels in FER2013's order.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    labels_pool = [emotion_index(e) for e in (emotions if emotions is not None else range(len(EMOTIONS)))]
    rng = np.random.default_rng(seed)
    labels = np.array([labels_pool[i % len(labels_pool)] for i in range(n)], np.int64)
    rng.shuffle(labels)
    faces = [draw_cartoon_face(int(label), size, seed=int(rng.integers(2**31))) for label in labels]
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
