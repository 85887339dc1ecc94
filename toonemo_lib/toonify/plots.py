"""Figures and widgets of Toonify and expressions (notebooks 04 and 07)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..faces.plots import plot_emoji_steps
from ..uploads import photo_upload_widget


def plot_toonified(photo: np.ndarray, result, names: tuple[str, str] = ("structure", "texture"),
                   blend_point: int | None = None):
    """Photo with the face's quad, aligned face, reconstruction, toon face and pasted back, in a row.

    ``result`` is a ``toonify.toonifier.ToonifyResult`` of ``photo``; ``names`` name the two models
    (structure, texture), ``blend_point`` the blend resolution of the toon model.
    """
    quad = np.vstack([result.aligned.quad, result.aligned.quad[:1]])
    fig, axes = plt.subplots(1, 5, figsize=(16, 3.6))
    toon_title = "toon face" if blend_point is None else f"blend at {blend_point}: toon face"
    for ax, (image, title) in zip(axes, [(photo, "photo and the face's quad"), (result.aligned_face, "aligned face"),
                                         (result.reconstruction, f"{names[1]}: reconstruction"),
                                         (result.toon_face, toon_title), (result.pasted, "pasted back")]):
        ax.imshow(image)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    axes[0].plot(quad[:, 0], quad[:, 1], color="yellow", lw=1.5)
    fig.tight_layout()
    return fig


def toonify_upload_widget(toonify_photo, make_emojis=None, names: tuple[str, str] = ("structure", "texture"),
                          blend_point: int | None = None):
    """Toonify yourself: upload a photo, see it toonified (``plot_toonified``) and as personal emoji.

    ``toonify_photo(photo)`` returns a ``toonify.toonifier.ToonifyResult``; ``make_emojis(photo,
    toon_face)`` (optional) a dict of ``faces.emoji.EmojiSteps`` drawn by ``plot_emoji_steps``
    (notebook 04 passes the functions its static sections use, so both run one path).
    ``widget.result`` is ``{"toonify": result, "emojis": emojis}`` for the last photo; see
    ``photo_upload_widget`` for the controls, the messages and Colab's webcam snapshot.
    """

    def on_photo(photo):
        result = toonify_photo(photo)
        plot_toonified(photo, result, names=names, blend_point=blend_point)
        plt.show()
        emojis = None
        if make_emojis is not None:
            emojis = make_emojis(photo, result.toon_face)
            plot_emoji_steps(list(emojis.values()), suptitle="your personal emoji: " + ", ".join(emojis))
            plt.show()
        return {"toonify": result, "emojis": emojis}

    return photo_upload_widget(on_photo, verb="toonified", description="Upload your photo")


def plot_expression_grid(real: np.ndarray, toon: np.ndarray, strengths: Sequence[float], expressions: Sequence[str],
                         size: float = 1.1, suptitle: str | None = None):
    """One face edited toward each expression (rows) at each strength (columns): the face model's
    drawing on the left, the toon model's on the right.  `real`, `toon`: (E, S, R, R, 3) uint8."""
    rows, cols = real.shape[:2]
    fig, axes = plt.subplots(rows, 2 * cols, figsize=(size * 2 * cols + 0.8, size * rows + 0.7), squeeze=False,
                             layout="constrained")
    for r in range(rows):
        for c in range(2 * cols):
            ax = axes[r, c]
            ax.imshow((real if c < cols else toon)[r, c % cols])
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(f"{'face' if c < cols else 'toon'} {strengths[c % cols]:g}", fontsize=8)
            if c == 0:
                ax.set_ylabel(expressions[r], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def plot_strength_sweep(sweep, judge: str, fitted: str | None = None):
    """The edit's trade-off per expression against strength: the `judge` recogniser's mean probability
    of the intended expression and the share it labels so (dashed: the `fitted` one's), and the identity
    distance outside eyes and mouth."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6), layout="constrained")
    for index, (expression, rows) in enumerate(sweep.groupby("expression", sort=False)):
        colour = plt.cm.tab10(index)
        axes[0].plot(rows["strength"], rows[f"p_{judge}"], marker="o", color=colour, label=expression)
        axes[1].plot(rows["strength"], rows[f"hit_{judge}"], marker="o", color=colour)
        if fitted:
            axes[0].plot(rows["strength"], rows[f"p_{fitted}"], ls="--", color=colour, alpha=0.5)
        axes[2].plot(rows["strength"], rows["identity_distance"], marker="o", color=colour)
    axes[0].set_title(f"mean p(intended), {judge} recogniser" + (f" (dashed: {fitted})" if fitted else ""), fontsize=9)
    axes[1].set_title(f"share labelled as intended, {judge} recogniser", fontsize=9)
    axes[2].set_title("identity: mean |change| outside eyes and mouth (0-255)", fontsize=9)
    for ax in axes:
        ax.set_xlabel("strength (standard deviations along the direction)")
    axes[0].legend(fontsize=8, ncols=2)
    return fig
