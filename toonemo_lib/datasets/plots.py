"""Figures of building a data set (notebook 02): source sizes against the thresholds, a marked face."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..plots import log2_axis


def plot_resolution_stats(decisions, min_side: int, resolution: int):
    """Source sizes of the decodable candidates of ``curate``, kept vs rejected, against the thresholds.

    ``decisions`` has the columns ``width``, ``height`` and ``kept`` (0 x 0 = undecodable, left out).
    Left: width against height; right: a histogram of the shorter side, with ``min_side`` dashed
    and the data set's ``resolution`` solid.
    """
    decoded = decisions[decisions["width"] > 0]
    if decoded.empty:
        raise ValueError("no decodable candidates to plot")
    largest = int(max(1024, resolution, decoded[["width", "height"]].to_numpy().max()))
    smallest = int(min(16, decoded[["width", "height"]].to_numpy().min()))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for kept, colour, label in ((True, "tab:green", "kept"), (False, "tab:red", "rejected")):
        part = decoded[decoded["kept"] == kept]
        ax1.scatter(part["width"], part["height"], c=colour, label=f"{label} ({len(part)})", alpha=0.7)
        ax2.hist(np.minimum(part["width"], part["height"]), bins=np.geomspace(smallest, largest, 25),
                 color=colour, alpha=0.7, label=label)
    ax1.axvline(min_side, ls="--", c="gray")
    ax1.axhline(min_side, ls="--", c="gray")
    ax2.axvline(min_side, ls="--", c="gray", label=f"min_side = {min_side}")
    ax2.axvline(resolution, c="k", label=f"resolution = {resolution}")
    for ax, which in ((ax1, "x"), (ax1, "y"), (ax2, "x")):
        log2_axis(ax, which, smallest, largest)
    ax1.set(xlabel="width (px)", ylabel="height (px)", title="Source sizes of the candidates")
    ax2.set(xlabel="shorter side (px)", ylabel="images", title="Shorter side vs the thresholds")
    ax1.legend()
    ax2.legend()
    fig.tight_layout()
    return fig


def mark_face(photo: np.ndarray, face_box=None, eyes=(), width: int = 256,
              box_color=(40, 90, 255), eye_color=(255, 30, 30)) -> np.ndarray:
    """A copy of an RGB photo scaled to ``width`` (nearest neighbour: pixels stay visible) with the
    face box (x, y, w, h) outlined in ``box_color`` and a small square on each eye centre (x, y)."""
    from ..images import draw_boxes

    photo = np.asarray(photo)
    k = width / photo.shape[1]
    marked = _resize_nearest(photo, (width, max(1, round(photo.shape[0] * k))))
    boxes, colours = [], []
    if face_box is not None:
        boxes.append(tuple(v * k for v in face_box))
        colours.append(box_color)
    half = max(2, width // 64)
    for ex, ey in eyes or ():
        boxes.append((ex * k - half, ey * k - half, 2 * half + 1, 2 * half + 1))
        colours.append(eye_color)
    if not boxes:
        return marked.copy()
    return draw_boxes(marked, boxes, color=colours, thickness=max(2, width // 128))


def _resize_nearest(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized to ``size`` = (width, height) with nearest-neighbour sampling."""
    import cv2

    return cv2.resize(np.asarray(image), size, interpolation=cv2.INTER_NEAREST)
