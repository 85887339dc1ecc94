"""Figures of the face tools: the personal emoji's steps."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def _checkerboard(height: int, width: int, cell: int = 8, shades=(205, 245)) -> np.ndarray:
    """An H x W x 3 uint8 gray checkerboard, the usual backdrop that shows transparency."""
    yy, xx = np.mgrid[:height, :width]
    board = np.where(((yy // cell) + (xx // cell)) % 2 == 0, shades[0], shades[1]).astype(np.uint8)
    return np.repeat(board[:, :, None], 3, axis=2)


def plot_emoji_steps(steps, size: float = 2.6, suptitle: str | None = None):
    """The personal emoji's four panels (original, mask, transparent, cropped), one row per result.

    ``steps`` is one ``faces.emoji.EmojiSteps`` or a sequence of them (anything with a
    ``panels()`` method returning images and titles); RGBA panels are drawn over a checkerboard.
    """
    rows = [steps] if hasattr(steps, "panels") else list(steps)
    if not rows:
        raise ValueError("plot_emoji_steps needs at least one EmojiSteps")
    cols = max(len(row.panels()[0]) for row in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(size * cols, size * len(rows) + (0.4 if suptitle else 0)),
                             squeeze=False, layout="constrained")  # see image_grid
    for r, row in enumerate(rows):
        images, titles = row.panels()
        for c, ax in enumerate(axes[r]):
            ax.axis("off")
            if c >= len(images):
                continue
            image = np.asarray(images[c])
            if image.ndim == 3 and image.shape[2] == 4:
                cell = max(4, min(image.shape[:2]) // 16)
                ax.imshow(_checkerboard(*image.shape[:2], cell=cell), vmin=0, vmax=255)
            ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255)
            ax.set_title(titles[c], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig
