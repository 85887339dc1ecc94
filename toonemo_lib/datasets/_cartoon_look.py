"""Who a synthetic cartoon face shows: palettes, the per-face `Look`, and the pen that places shapes.

`synthetic.draw_cartoon_face` samples one `Look` per seed; the expression is drawn on
top of it.  Every colour here keeps red minus green at most 60, while the mouth's colour
(`synthetic.MOUTH_RGB`, 140, 20, 40) has 120: no palette colour, and no blend of them
made by anti-aliasing, comes within 60 (summed over R, G, B) of the mouth's colour, by
which tests find the mouth.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

RGB = tuple[int, int, int]
OUTLINE_RGB: RGB = (40, 30, 30)
WHITE: RGB = (255, 255, 255)
PUPIL_RGB: RGB = (25, 25, 40)
TEAR_RGB: RGB = (150, 200, 245)
BLUSH_RGB: RGB = (245, 185, 180)
SHIFT = 3  # OpenCV's fixed-point bits: shapes are placed to 1/8 of a (supersampled) pixel

SKIN_TONES: tuple[RGB, ...] = (
    (255, 224, 189), (250, 232, 220), (241, 194, 125), (236, 200, 170), (224, 172, 105), (198, 140, 80),
    (180, 122, 88), (141, 85, 36), (118, 74, 52), (92, 58, 42), (255, 205, 148),
    (176, 214, 166), (172, 200, 236),  # two cartoon-only tones: green and blue
)
HAIR_COLOURS: tuple[RGB, ...] = (
    (70, 45, 30), (30, 25, 25), (110, 70, 40), (150, 92, 60), (215, 155, 80), (226, 190, 110),
    (236, 226, 200), (150, 150, 156), (60, 90, 170), (230, 175, 205), (70, 140, 90), (112, 72, 150),
)
EYE_COLOURS: tuple[RGB, ...] = ((90, 60, 40), (60, 110, 170), (70, 120, 80), (110, 110, 120), (40, 35, 30))
BACKGROUNDS: tuple[RGB, ...] = (
    (230, 235, 245), (250, 240, 200), (200, 230, 210), (205, 220, 250), (250, 215, 220), (225, 215, 245),
    (245, 245, 240), (170, 200, 170), (150, 180, 220), (230, 200, 150), (120, 130, 170), (110, 150, 140),
    (250, 200, 160), (190, 190, 195),
)
ACCENTS: tuple[RGB, ...] = (  # glasses frames, hats, earrings
    (40, 40, 50), (60, 90, 170), (230, 190, 60), (200, 200, 210), (70, 140, 90), (120, 70, 150), (240, 180, 80),
)
HAIR_STYLES = ("short", "long", "bob", "spiky", "bald", "bun", "fringe", "curly")
HAIR_STYLE_WEIGHTS = (0.16, 0.16, 0.14, 0.11, 0.07, 0.1, 0.14, 0.12)
FACE_SHAPES = {  # half width, half height, jaw squareness: ranges
    "round": ((0.34, 0.37), (0.35, 0.38), (0.0, 0.2)),
    "oval": ((0.30, 0.33), (0.38, 0.41), (0.1, 0.3)),
    "long": ((0.27, 0.30), (0.40, 0.43), (0.2, 0.4)),
    "square": ((0.32, 0.36), (0.36, 0.40), (0.6, 0.9)),
}


@dataclass(frozen=True)
class Look:
    """Everything about a face but its expression.  Lengths are fractions of the image."""

    cx: float
    cy: float
    half_w: float
    half_h: float
    jaw: float  # 0: a rounded chin; 1: a square jaw
    skin: RGB
    hair: RGB
    hair_style: str
    hair_part: float  # where the hairline peaks, from -1 (far left) to 1 (far right) of the head
    eye_colour: RGB
    eye_scale: float
    eye_spacing: float
    brow_width: float
    mouth_scale: float
    line: float  # outline thickness
    background: tuple  # (kind: "flat" | "two-tone" | "gradient", colour, colour, angle in radians)
    glasses: str = ""  # "", "round", "square"
    beard: str = ""  # "", "full", "goatee", "moustache"
    earrings: bool = False
    hat: str = ""  # "", "beanie", "cap"
    accent: RGB = ACCENTS[0]
    yaw: float = 0.0  # -1..1 of a quarter turn, roughly; > 0 turns the face to the image's left
    roll: float = 0.0  # degrees


def canonical_look() -> Look:
    """The centred, upright face without accessories that ``vary=False`` draws."""
    return Look(cx=0.5, cy=0.53, half_w=0.33, half_h=0.40, jaw=0.15, skin=SKIN_TONES[0], hair=HAIR_COLOURS[0],
                hair_style="short", hair_part=0.0, eye_colour=EYE_COLOURS[0], eye_scale=1.0, eye_spacing=1.0, brow_width=0.025,
                mouth_scale=1.0, line=0.012, background=("flat", BACKGROUNDS[0], BACKGROUNDS[0], 0.0))


def sample_look(rng: np.random.Generator) -> Look:
    """A random face: every attribute drawn from `rng` in a fixed order, so a seed repeats it."""
    shape = FACE_SHAPES[list(FACE_SHAPES)[rng.integers(len(FACE_SHAPES))]]
    half_w, half_h, jaw = (rng.uniform(*span) for span in shape)
    hair_style = HAIR_STYLES[rng.choice(len(HAIR_STYLES), p=HAIR_STYLE_WEIGHTS)]
    return Look(
        cx=0.5 + rng.uniform(-0.03, 0.03), cy=0.55 - (half_h - 0.38) * 0.5 + rng.uniform(-0.02, 0.02),
        half_w=half_w, half_h=half_h, jaw=jaw,
        skin=_pick(rng, SKIN_TONES), hair=_pick(rng, HAIR_COLOURS), hair_style=hair_style,
        hair_part=rng.uniform(-0.35, 0.35),
        eye_colour=_pick(rng, EYE_COLOURS), eye_scale=rng.uniform(0.8, 1.25), eye_spacing=rng.uniform(0.88, 1.12),
        brow_width=rng.uniform(0.015, 0.035), mouth_scale=rng.uniform(0.8, 1.2), line=rng.uniform(0.006, 0.02),
        background=_sample_background(rng),
        glasses=["", "round", "square"][rng.choice(3, p=(0.72, 0.14, 0.14))],
        beard=["", "full", "goatee", "moustache"][rng.choice(4, p=(0.76, 0.08, 0.08, 0.08))],
        earrings=bool(rng.random() < 0.25),
        hat=["", "beanie", "cap"][rng.choice(3, p=(0.84, 0.08, 0.08))] if hair_style != "bun" else "",
        accent=_pick(rng, ACCENTS), yaw=rng.uniform(-0.5, 0.5), roll=rng.uniform(-10, 10),
    )


def _pick(rng: np.random.Generator, palette):
    return palette[rng.integers(len(palette))]


def _sample_background(rng: np.random.Generator) -> tuple:
    kind = ["flat", "two-tone", "gradient"][rng.choice(3, p=(0.5, 0.2, 0.3))]
    first, second = rng.choice(len(BACKGROUNDS), 2, replace=False)
    return kind, BACKGROUNDS[first], BACKGROUNDS[second], rng.uniform(0, 2 * np.pi)


def darker(colour: RGB, factor: float) -> RGB:
    return tuple(int(round(c * factor)) for c in colour)


def palette_colours() -> list[RGB]:
    """Every colour a face can show but the mouth's, for checks that the mouth's stays unique."""
    colours = [OUTLINE_RGB, WHITE, BLUSH_RGB, TEAR_RGB, PUPIL_RGB]
    for palette in (SKIN_TONES, HAIR_COLOURS, EYE_COLOURS, BACKGROUNDS, ACCENTS):
        colours += list(palette)
    colours += [darker(c, f) for c in HAIR_COLOURS + SKIN_TONES + ACCENTS for f in (0.45, 0.55, 0.8)]
    return colours


class Pen:
    """Draws shapes given in face coordinates onto a supersampled canvas, through the look's yaw and roll."""

    def __init__(self, canvas: np.ndarray, look: Look):
        self.canvas, self.look, self.big = canvas, look, canvas.shape[0]
        angle = np.deg2rad(look.roll)
        self.rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])

    def place(self, points, depth: float = 0.0) -> np.ndarray:
        """Fixed-point pixels of face points; `depth` 1 is the eyes' and mouth's, 1.5 the nose's."""
        look = self.look
        p = np.asarray(points, float).reshape(-1, 2) - (look.cx, look.cy)
        across = np.clip(p[:, 0] / look.half_w, -1.3, 1.3)
        # turning the head squashes the far side and slides the features towards it
        p[:, 0] = p[:, 0] * (1 - 0.3 * look.yaw * across) - 0.15 * look.yaw * depth * look.half_w
        p = p @ self.rotation.T + (look.cx, look.cy)
        return np.round(p * self.big * (1 << SHIFT)).astype(np.int32)

    def width(self, fraction: float) -> int:
        return max(1, int(round(fraction * self.big)))

    def fill(self, points, colour, depth: float = 0.0) -> None:
        cv2.fillPoly(self.canvas, [self.place(points, depth)], colour, cv2.LINE_AA, SHIFT)

    def stroke(self, points, colour, width: float, depth: float = 0.0, closed: bool = False) -> None:
        cv2.polylines(self.canvas, [self.place(points, depth)], closed, colour, self.width(width), cv2.LINE_AA, SHIFT)

    def shape(self, points, colour, depth: float = 0.0) -> None:
        """A filled shape with the look's outline."""
        self.fill(points, colour, depth)
        self.stroke(points, OUTLINE_RGB, self.look.line, depth, closed=True)


def arc(centre, axes, start: float = 0, end: float = 360, n: int = 40) -> np.ndarray:
    """Points of an ellipse arc, angles in degrees (0 = right, 90 = down)."""
    t = np.deg2rad(np.linspace(start, end, n))
    return np.stack([centre[0] + axes[0] * np.cos(t), centre[1] + axes[1] * np.sin(t)], 1)
