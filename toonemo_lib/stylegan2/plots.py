"""Figures and widgets of StyleGAN2 (notebooks 03 and 04): blend grids and weights, the snapshots of a run."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np


def plot_blend_grid(grid: np.ndarray, resolutions: Sequence[int], seeds: Sequence[int] | None = None,
                    level: int = 0, names: tuple[str, str] = ("structure", "texture"), size: float = 1.8,
                    suptitle: str | None = None):
    """A figure of ``stylegan2.blend_grid``'s uint8 images [seeds, columns, H, W, C], titled by column.

    Columns: ``names[0]`` (the structure model), a blend at each of ``resolutions``, ``names[1]``
    (the texture model); e.g. ``names=("cartoon", "FFHQ")``.  ``seeds`` label the rows.
    """
    grid = np.asarray(grid)
    if grid.ndim != 5 or grid.shape[1] != len(resolutions) + 2:
        raise ValueError(f"expected images [rows, {len(resolutions) + 2} columns, H, W, C] for "
                         f"{len(resolutions)} blend resolutions, got shape {grid.shape}")
    if seeds is not None and len(seeds) != grid.shape[0]:
        raise ValueError(f"{grid.shape[0]} rows but {len(seeds)} seeds")
    suffix = f", level {level}" if level else ""
    titles = [names[0]] + [f"blend at {r}x{r}{suffix}" for r in resolutions] + [names[1]]
    rows, cols = grid.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows + (0.4 if suptitle else 0)),
                             squeeze=False)
    for (r, c), ax in np.ndenumerate(axes):
        ax.imshow(grid[r, c], vmin=0, vmax=255)
        ax.set_xticks([])
        ax.set_yticks([])  # not axis("off"), which would hide the row label
        if r == 0:
            ax.set_title(titles[c], fontsize=9)
        if c == 0 and seeds is not None:
            ax.set_ylabel(f"seed {seeds[r]}", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def blend_layer_weights(G, resolution: int, level: int = 0, blend_width: float | None = None) -> dict[str, float]:
    """{'4x4/Const': y, '4x4/ToRGB': y, '8x8/Conv0_up': y, ...}: the texture model's share per blended layer.

    Read from ``stylegan2.blend.blend_weights`` (every variable of a layer gets the same y), in
    the order of the synthesis network, coarse to fine.
    """
    from .blend import blend_positions, blend_weights, layer_of

    weights = blend_weights(G, resolution, level, blend_width)
    per_layer = {}
    for name, y in weights.items():
        layer = layer_of(name)
        if layer is not None:
            per_layer.setdefault(layer, y)
    return {layer: per_layer[layer] for layer in blend_positions(G.resolution) if layer in per_layer}


def plot_blend_weights(G, resolution: int, level: int = 0, widths: Sequence[float | None] = (None, 0.5, 1.0, 2.0),
                       names: tuple[str, str] = ("structure", "texture")):
    """y (the texture model's share) per synthesis layer of G for a hard switch and smooth blends.

    ``widths``: None (or 0) is the hard switch, a number a logistic of that width in positions.
    A dotted line marks (resolution, level), the smooth blends' centre (y = 0.5), a shaded band
    the hard switch's boundary (between one and two positions finer).
    """
    from .blend import blend_position, blend_positions

    positions = blend_positions(G.resolution)
    layers = list(positions)
    centre = blend_position(resolution, level)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.42 * len(layers) + 2), 3.6))
    x = np.arange(len(layers))
    for width in widths:
        ys = list(blend_layer_weights(G, resolution, level, width).values())
        hard = not width
        ax.plot(x, ys, drawstyle="steps-mid" if hard else "default", marker="o", ms=4, lw=2.5 if hard else 1.5,
                color="black" if hard else None, label="hard switch" if hard else f"smooth, width {width:g}")
    at_centre = [i for i, layer in enumerate(layers) if positions[layer] == centre]
    first_texture = [i for i, layer in enumerate(layers) if positions[layer] > centre + 1]
    if at_centre:
        ax.axvline(at_centre[0], color="tab:red", ls=":", lw=1.2)
        ax.text(at_centre[0], 1.04, f"centre: {resolution}x{resolution}, level {level}", color="tab:red",
                fontsize=8, ha="center")
    if first_texture:
        ax.axvspan(first_texture[0] - 1, first_texture[0], color="tab:gray", alpha=0.15, lw=0)
    ax.set_xticks(x)
    ax.set_xticklabels(layers, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(-0.05, 1.12)
    ax.set_ylabel(f"y = share of {names[1]}")
    ax.set_title(f"layer swapping at {resolution}x{resolution}, level {level}: "
                 f"0 = {names[0]}, 1 = {names[1]}", fontsize=10)
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    return fig


def blend_widget(structure_G, texture_G, seeds: Sequence[int], resolutions: Sequence[int] | None = None,
                 names: tuple[str, str] = ("structure", "texture"), truncation_psi: float = 1.0, size: float = 1.8):
    """Controls for the blend point (resolution, level) and width; ``widget.result`` holds the last grid.

    Each change calls ``stylegan2.blend.blend_grid`` with one blend resolution and draws
    ``plot_blend_grid``; the result is its uint8 images [seeds, 3, H, W, C] (structure, blend,
    texture).  Width 0 is Pinkney's hard switch.  Built with ``ipywidgets.interactive`` so a
    test can set a control and read the result.
    """
    import ipywidgets as widgets

    from .blend import blend_grid
    from .networks import resolution_log2

    seeds = list(seeds)
    options = list(resolutions) if resolutions is not None else \
        [2**r for r in range(2, resolution_log2(structure_G.resolution) + 1)]
    start = 8 if 8 in options else options[len(options) // 2]

    def show(resolution=start, level=0, width=0.0):
        grid = blend_grid(structure_G, texture_G, [resolution], seeds, truncation_psi=truncation_psi, level=level,
                          blend_width=width or None)
        plot_blend_grid(grid, [resolution], seeds, level=level, names=names, size=size,
                        suptitle="hard switch" if not width else f"smooth blend, width {width:g}")
        plt.show()
        return grid

    return widgets.interactive(
        show,
        resolution=widgets.Dropdown(options=options, value=start),
        level=widgets.Dropdown(options=[0, 1], value=0),
        width=widgets.FloatSlider(value=0.0, min=0.0, max=3.0, step=0.25),
    )


def plot_snapshot_grid(fakes: dict, seeds: Sequence[int], size: float = 1.5, suptitle: str | None = None):
    """One column per snapshot (``stylegan2.snapshot.snapshot_fakes``), one row per seed."""
    names = list(fakes)
    if not names:
        raise ValueError("no snapshots to show")
    fig, axes = plt.subplots(len(seeds), len(names), squeeze=False,
                             figsize=(size * len(names), size * len(seeds) + (0.4 if suptitle else 0)))
    for (r, c), ax in np.ndenumerate(axes):
        image = fakes[names[c]][r]
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=255)
        ax.set_xticks([])
        ax.set_yticks([])
        if r == 0:
            ax.set_title(_snapshot_title(names[c]), fontsize=9)
        if c == 0:
            ax.set_ylabel(f"seed {seeds[r]}", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def _snapshot_title(name: str) -> str:
    """'network-snapshot-000012.345' -> 'kimg 12.345'; other keys ('base') unchanged."""
    from .snapshot import snapshot_kimg

    kimg = snapshot_kimg(name)
    return name if kimg is None else f"kimg {kimg:g}"


def snapshot_picker(run_dir, seeds: Sequence[int], base=None, size: float = 1.8):
    """A slider over the run's snapshots: each position shows the base model beside that snapshot.

    Built with ``ipywidgets.interactive`` on ``snapshot_fakes``; ``widget.result`` holds the
    last images shown ({"base": ..., name: ...}).
    """
    import ipywidgets as widgets

    from .snapshot import list_snapshots, snapshot_fakes

    table = list_snapshots(run_dir)
    if not len(table):
        raise ValueError(f"{run_dir} holds no snapshots yet")
    base_fakes = {} if base is None else snapshot_fakes([], seeds, base=base)
    cache: dict = {}

    def show(index=len(table) - 1):
        path = table["path"].iloc[index]
        if path not in cache:
            cache[path] = snapshot_fakes([path], seeds)
        fakes = {**base_fakes, **cache[path]}
        plot_snapshot_grid(fakes, seeds, size=size, suptitle=f"kimg {table['kimg'].iloc[index]:g}")
        plt.show()
        return fakes

    return widgets.interactive(show, index=widgets.IntSlider(value=len(table) - 1, min=0,
                                                              max=len(table) - 1, description="snapshot"))
