"""Figures every notebook uses: image grids, saving a figure, log-2 axes, heatmaps, a run's training curve."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np


def image_grid(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    size: float = 2.2,
    suptitle: str | None = None,
):
    """A matplotlib figure showing images (RGB or grayscale) in a grid, titles underneath."""
    images = list(images)
    if not images:
        raise ValueError("image_grid needs at least one image")
    ncols = ncols or min(len(images), 6)
    nrows = math.ceil(len(images) / ncols)
    # cells as high as the images' typical height/width (square cells left a blank band between rows
    # of video frames); constrained layout: tight_layout let a row's titles overlap the images above
    aspect = float(np.median([np.asarray(im).shape[0] / np.asarray(im).shape[1] for im in images]))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * aspect * nrows + 0.25 * nrows + (0.4 if suptitle else 0)),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            image = np.asarray(images[i])
            ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255 if image.dtype == np.uint8 else None)
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def save_figure(fig, out_dir: str | Path, name: str) -> Path:
    """Save ``fig`` as ``out_dir/name.png`` (folder created) and return the path."""
    path = Path(out_dir) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def log2_axis(ax, which: str = "x", lo: int = 16, hi: int = 1024) -> None:
    """Make ``ax``'s x (or y) axis logarithmic with plain-number ticks at the powers of two in [lo, hi]."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    if which not in ("x", "y"):
        raise ValueError(f"which must be 'x' or 'y', got {which!r}")
    ticks = [2**k for k in range(max(0, math.ceil(math.log2(lo))), math.floor(math.log2(hi)) + 1)]
    axis = ax.xaxis if which == "x" else ax.yaxis
    getattr(ax, f"set_{which}scale")("log")
    getattr(ax, f"set_{which}ticks")(ticks)
    axis.set_major_formatter(ScalarFormatter())
    axis.set_minor_formatter(NullFormatter())


def plot_heatmap(table, title: str, cmap: str = "RdBu_r", symmetric: bool = True, fmt: str = "{:.2f}"):
    """A pandas table as a coloured grid with each value written in its cell."""
    values = table.to_numpy(dtype=float)
    limit = float(np.nanmax(np.abs(values))) or 1.0
    fig, ax = plt.subplots(figsize=(0.9 * values.shape[1] + 2.2, 0.45 * values.shape[0] + 1.2), layout="constrained")
    image = ax.imshow(values, cmap=cmap, vmin=-limit if symmetric else None, vmax=limit if symmetric else None)
    ax.set_xticks(range(values.shape[1]), [str(c) for c in table.columns], rotation=30, ha="right", fontsize=9)
    ax.set_yticks(range(values.shape[0]), [str(i) for i in table.index], fontsize=9)
    for (row, col), value in np.ndenumerate(values):
        ax.text(col, row, fmt.format(value), ha="center", va="center", fontsize=8,
                color="white" if abs(value) > 0.6 * limit else "black")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title, fontsize=10)
    return fig


def plot_training_log(log, metric: str | None = None):
    """The run's ``log.csv``: losses, regularisers, ADA's p (and a metric) against kimg."""
    panels = [("losses", ["loss_G", "loss_D"]), ("regularisers", ["r1", "pl", "pl_mean"]),
              ("augmentation p", ["p"])]
    if metric is not None and metric in log:
        panels.append((metric, [metric]))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    for ax, (title, columns) in zip(axes[0], panels):
        for column in columns:
            if column in log and log[column].notna().any():
                known = log[column].notna()   # a metric is only computed on snapshot ticks
                ax.plot(log.loc[known, "kimg"], log.loc[known, column], marker=".", label=column)
        ax.set_xlabel("kimg")
        ax.set_title(title)
        if len(columns) > 1:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
