"""Hair, hats, glasses, beards and earrings of the synthetic cartoon faces.

Each part is a few outlined polygons in face coordinates (see `_cartoon_look.Pen`),
sized from the head's centre (cx, cy) and half axes (half_w, half_h).
"""

from __future__ import annotations

import numpy as np

from ._cartoon_look import OUTLINE_RGB, Look, Pen, arc, darker


def _cap(look: Look, hairline_y: float, hairline_h: float, part: float = 0.0, bulge: float = 1.07) -> np.ndarray:
    """Hair over the top of the head, down to a hairline arc `hairline_h` high that sits on `hairline_y`."""
    outer = arc((look.cx, look.cy), (look.half_w * bulge, look.half_h * bulge), 180, 360)
    inner = arc((look.cx + part * look.half_w, look.cy + hairline_y * look.half_h),
                (look.half_w * 0.99, look.half_h * hairline_h), 360, 180)
    return np.concatenate([outer, inner])


def draw_hair_back(pen: Pen, look: Look) -> None:
    """What hangs behind the head: long hair, a bob, curls at the sides, a bun."""
    cx, cy, w, h = look.cx, look.cy, look.half_w, look.half_h
    style = look.hair_style
    if style in ("long", "bob"):
        bottom = cy + h * (0.95 if style == "long" else 0.45)
        width = w * (1.2 if style == "long" else 1.16)
        top = arc((cx, cy), (width, h * 1.08), 180, 360)
        ends = arc((cx, bottom), (width, 0.04), 0, 180, 12)  # a gently rounded lower edge
        pen.shape(np.concatenate([[(cx - width, bottom)], top, ends]), look.hair)
    elif style == "curly":
        t = np.linspace(np.pi * 0.9, np.pi * 2.1, 60)
        radius = 1.12 + 0.06 * np.abs(np.sin(7 * t))
        pen.shape(np.stack([cx + w * radius * np.cos(t), cy + h * radius * np.sin(t)], 1), look.hair)
    elif style == "bun":
        pen.shape(arc((cx, cy - h * 1.05), (w * 0.32, w * 0.3)), look.hair)


def draw_hair_front(pen: Pen, look: Look) -> None:
    """What covers the top of the head; a hat, if any, sits over it."""
    style = look.hair_style
    if style in ("short", "long", "bun", "curly"):
        pen.shape(_cap(look, -0.1, 0.5, part=look.hair_part), look.hair)
    elif style in ("fringe", "bob"):
        fringe = _cap(look, -0.32, 0.25, part=look.hair_part * 0.3)
        # bangs: the hairline's points pushed down in a wave
        fringe[40:, 1] += 0.025 * np.abs(np.sin(np.linspace(0, 5 * np.pi, 40)))
        pen.shape(fringe, look.hair)
    elif style == "spiky":
        cx, cy, w, h = look.cx, look.cy, look.half_w, look.half_h
        t = np.deg2rad(np.linspace(190, 350, 15))
        radius = np.where(np.arange(15) % 2 == 1, 1.28, 1.02)
        spikes = np.stack([cx + w * radius * np.cos(t), cy + h * radius * np.sin(t)], 1)
        inner = arc((cx, cy - 0.1 * h), (w * 0.99, h * 0.5), 350, 190, 20)
        pen.shape(np.concatenate([spikes, inner]), look.hair)
    if look.hat:
        _draw_hat(pen, look)


def _draw_hat(pen: Pen, look: Look) -> None:
    cx, cy, w, h = look.cx, look.cy, look.half_w, look.half_h
    rim = cy - 0.55 * h
    if look.hat == "beanie":
        dome = arc((cx, rim), (w * 1.1, rim - (cy - h * 1.12)), 180, 360)
        pen.shape(dome, look.accent)
        band = [(cx - w * 1.12, rim - 0.07), (cx + w * 1.12, rim - 0.07), (cx + w * 1.12, rim), (cx - w * 1.12, rim)]
        pen.shape(band, darker(look.accent, 0.8))
        pen.shape(arc((cx, cy - h * 1.12), (0.04, 0.04)), darker(look.accent, 0.8))
    else:  # a cap: a dome and a brim facing us
        pen.shape(arc((cx, rim), (w * 1.08, rim - (cy - h * 1.1)), 180, 360), look.accent)
        pen.shape(arc((cx, rim), (w * 1.12, 0.05), 0, 180, 20), darker(look.accent, 0.8))


def draw_beard(pen: Pen, look: Look, mouth_y: float) -> None:
    """A full beard, a goatee or a moustache, drawn before the mouth so the mouth stays in view."""
    if not look.beard:
        return
    colour = darker(look.hair, 0.8) if look.hair_style != "bald" else darker(look.skin, 0.45)
    cx, cy, w, h = look.cx, look.cy, look.half_w, look.half_h
    if look.beard == "full":
        t = np.linspace(0.1 * np.pi, 0.9 * np.pi, 30)
        jaw = np.stack([cx + w * 1.01 * np.sign(np.cos(t)) * np.abs(np.cos(t)) ** (1 - 0.6 * look.jaw),
                        cy + h * 1.02 * np.sin(t)], 1)
        under_mouth = arc((cx, mouth_y), (w * 0.5, 0.1), 180, 0, 20)
        pen.shape(np.concatenate([jaw, under_mouth]), colour, depth=0.5)
    elif look.beard == "goatee":
        pen.shape(arc((cx, mouth_y + 0.11), (0.06, 0.05)), colour, depth=1)
    if look.beard in ("full", "moustache"):
        top = arc((cx, mouth_y - 0.035), (0.1 * look.mouth_scale, 0.035), 180, 360, 20)
        bottom = arc((cx, mouth_y - 0.035), (0.1 * look.mouth_scale, 0.012), 0, 180, 20)[::-1]
        pen.shape(np.concatenate([top, bottom[::-1]]), colour, depth=1)


def draw_glasses(pen: Pen, look: Look, eye_y: float, eye_dx: float) -> None:
    if not look.glasses:
        return
    rx, ry = 0.085 * look.eye_scale, 0.075 * look.eye_scale
    width = max(look.line, 0.012)
    for side in (-1, 1):
        ex = look.cx + side * eye_dx
        if look.glasses == "round":
            frame = arc((ex, eye_y), (rx, ry))
        else:
            frame = [(ex - rx, eye_y - ry * 0.85), (ex + rx, eye_y - ry * 0.85), (ex + rx, eye_y + ry * 0.85),
                     (ex - rx, eye_y + ry * 0.85)]
        pen.stroke(frame, look.accent, width, depth=1, closed=True)
        pen.stroke([(ex + side * rx, eye_y), (look.cx + side * look.half_w * 0.98, eye_y - 0.01)],
                   look.accent, width, depth=0.5)
    pen.stroke([(look.cx - eye_dx + rx, eye_y), (look.cx + eye_dx - rx, eye_y)], look.accent, width, depth=1)


def draw_earrings(pen: Pen, look: Look) -> None:
    if not look.earrings:
        return
    for side in (-1, 1):
        x = look.cx + side * look.half_w * 0.99
        pen.fill(arc((x, look.cy + 0.06), (0.018, 0.018)), look.accent)
        pen.stroke(arc((x, look.cy + 0.06), (0.018, 0.018)), OUTLINE_RGB, 0.006, closed=True)
