"""Figures the notebooks show: image grids, the mapping experiment, style levels; their widgets (photo upload too)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

# StyleGAN (Karras et al. 2019, section 3.1): what the styles of each resolution control.
STYLE_GROUPS = (
    ("coarse", 4, 8, "pose, general hair style, face shape, eyeglasses"),
    ("middle", 16, 32, "smaller facial features, hair style, eyes open/closed"),
    ("fine", 64, 1024, "colour scheme and micro-structure"),
)
GROUP_COLOURS = {"coarse": "tab:blue", "middle": "tab:orange", "fine": "tab:green"}


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
    from .images import draw_boxes

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


def plot_mapping_experiment(result: dict):
    """Three panels: the factor distribution with its hole, Z's grid warped onto it, W's straight grid."""
    from .lessons.mapping_demo import grid_lines_through_map

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    factors = result["factors"]
    axes[0].scatter(factors[:, 0], factors[:, 1], s=4, alpha=0.6)
    axes[0].add_patch(plt.Rectangle((0.5, 0.5), 0.5, 0.5, color="tab:red", alpha=0.15))
    axes[0].text(0.75, 0.75, "never in the\ntraining set", ha="center", va="center", color="tab:red")
    axes[0].set(title="(a) training distribution of two factors", xlabel="factor 1 (e.g. masculinity)",
                ylabel="factor 2 (e.g. hair length)")
    for ax, key, label in ((axes[1], "z", "Z (fixed Gaussian)"), (axes[2], "w", "W (learned mapping)")):
        for line in grid_lines_through_map(result[key], factors):
            ax.plot(line[:, 0], line[:, 1], lw=1.2)
        ax.set(title=f"({'b' if key == 'z' else 'c'}) grid of {label}\nin factor space, linear-probe $R^2$={result['r2_' + key]:.3f}",
               xlabel="factor 1", xlim=(-0.05, 1.05), ylim=(-0.05, 1.05))
    for ax in axes:
        ax.set_aspect("equal")
    fig.tight_layout()
    return fig


def plot_style_levels(resolution: int = 1024):
    """Which W rows (two per resolution) feed which layers, and what they control."""
    levels = [2**k for k in range(2, int(math.log2(resolution)) + 1)]
    fig, ax = plt.subplots(figsize=(12, 0.45 * len(levels) + 1.2))
    for i, res in enumerate(levels):
        group = next(g for g in STYLE_GROUPS if g[1] <= res <= g[2] or (g[0] == "fine" and res >= 64))
        # StyleGAN2 layout: convs at 4x4 read row 0; at 2**r they read rows 2r-5 and 2r-4,
        # and each ToRGB reads the next row (shared with the next resolution's first conv).
        convs = "W row 0" if res == 4 else f"W rows {2 * i - 1}-{2 * i}"
        ax.barh(i, 1, left=0, color=GROUP_COLOURS[group[0]], alpha=0.8)
        ax.text(0.5, i, f"{res}x{res}: convs {convs}, ToRGB {2 * i + 1}", ha="center", va="center", color="white", fontsize=9)
    for name, lo, hi, what in STYLE_GROUPS:
        ids = [i for i, r in enumerate(levels) if lo <= r <= hi]
        if ids:
            ax.text(1.05, np.mean(ids), f"{name}: {what}", va="center", fontsize=10, color=GROUP_COLOURS[name])
    ax.set(yticks=[], xticks=[], xlim=(0, 3.2),
           title=f"Style mixing: which resolutions control what ({2 * len(levels)} rows of w for {resolution}x{resolution})")
    ax.invert_yaxis()
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def style_transfer_widget(content: np.ndarray, style: np.ndarray, levels: int):
    """Sliders for AdaIN's alpha and the restyled scales; ``widget.result`` holds the last image.

    Built with ``ipywidgets.interactive`` so a test can set a control and read the result.
    """
    import ipywidgets as widgets

    from .lessons.style_transfer import pyramid_style_transfer

    def show(alpha=1.0, finest_restyled=0, coarsest_restyled=levels - 1):
        mask = [finest_restyled <= k <= coarsest_restyled for k in range(levels)]
        image = pyramid_style_transfer(content, style, levels, alpha=alpha, use_levels=mask)
        image_grid([content, style, image], ["content", "style", f"alpha={alpha:.2f}, levels {finest_restyled}-{coarsest_restyled}"], size=3)
        plt.show()
        return image

    labels = {"description_width": "120px"}  # the default width cuts "coarsest restyled" to "coarsest_r..."
    return widgets.interactive(
        show,
        alpha=widgets.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="alpha", style=labels),
        finest_restyled=widgets.IntSlider(value=0, min=0, max=levels - 1, description="finest restyled", style=labels),
        coarsest_restyled=widgets.IntSlider(value=levels - 1, min=0, max=levels - 1, description="coarsest restyled",
                                            style=labels),
    )


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


def blend_layer_weights(G, resolution: int, level: int = 0, blend_width: float | None = None) -> dict[str, float]:
    """{'4x4/Const': y, '4x4/ToRGB': y, '8x8/Conv0_up': y, ...}: the texture model's share per blended layer.

    Read from ``stylegan2.blend.blend_weights`` (every variable of a layer gets the same y), in
    the order of the synthesis network, coarse to fine.
    """
    from .stylegan2.blend import blend_positions, blend_weights, layer_of

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
    from .stylegan2.blend import blend_position, blend_positions

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

    from .stylegan2.blend import blend_grid
    from .stylegan2.networks import resolution_log2

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
    from .stylegan2.snapshot import snapshot_kimg

    kimg = snapshot_kimg(name)
    return name if kimg is None else f"kimg {kimg:g}"


def snapshot_picker(run_dir, seeds: Sequence[int], base=None, size: float = 1.8):
    """A slider over the run's snapshots: each position shows the base model beside that snapshot.

    Built with ``ipywidgets.interactive`` on ``snapshot_fakes``; ``widget.result`` holds the
    last images shown ({"base": ..., name: ...}).
    """
    import ipywidgets as widgets

    from .stylegan2.snapshot import list_snapshots, snapshot_fakes

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


# --- a photo from the learner: upload widget, Colab webcam ---------------------------------------

# Colab has no ipywidgets camera: this runs in the page (google.colab.output.eval_js waits for the
# promise), shows the webcam's picture with a button, and returns the frame as a JPEG data URL.
COLAB_SNAPSHOT_JS = """
async function takeSnapshot(quality) {
  const box = document.createElement('div');
  const button = document.createElement('button');
  button.textContent = 'Take the snapshot';
  const video = document.createElement('video');
  video.style.display = 'block';
  const stream = await navigator.mediaDevices.getUserMedia({video: true});
  document.body.appendChild(box);
  box.appendChild(video);
  box.appendChild(button);
  video.srcObject = stream;
  await video.play();
  google.colab.output.setIframeHeight(document.documentElement.scrollHeight, true);
  await new Promise((resolve) => button.onclick = resolve);
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext('2d').drawImage(video, 0, 0);
  stream.getVideoTracks()[0].stop();
  box.remove();
  return canvas.toDataURL('image/jpeg', quality);
}
"""


def image_from_bytes(data, name: str = "upload") -> np.ndarray:
    """Decode an uploaded file's bytes to RGB uint8 H x W x 3 exactly as a file on disk is read
    (`images.decode_image`); an `images.ImageError` names `name`."""
    from .images import decode_image

    return decode_image(data, name)


def upload_to_image(value) -> tuple[str, np.ndarray]:
    """(name, RGB uint8 image) of the one file in an ``ipywidgets.FileUpload`` value.

    ipywidgets 8's value is a tuple of dicts with ``name``, ``type`` and ``content`` (a
    memoryview).  Raises ``ValueError`` when it holds no file or several, and
    ``images.ImageError`` (a ValueError naming the file) when the file is not an image.
    """
    files = list(value or ())
    if len(files) != 1:
        raise ValueError(f"expected one uploaded file, got {len(files)}")
    item = files[0]
    name = item.get("name") or "upload"
    return name, image_from_bytes(item["content"], name)


def data_url_bytes(url: str) -> tuple[str, bytes]:
    """(MIME type, bytes) of a base64 ``data:`` URL such as ``canvas.toDataURL()`` returns."""
    import base64
    import binascii

    if not isinstance(url, str) or not url.startswith("data:") or "," not in url:
        raise ValueError(f"not a data URL: {str(url)[:40]!r}")
    header, payload = url[5:].split(",", 1)
    if not header.endswith(";base64"):
        raise ValueError(f"expected a base64 data URL, got 'data:{header[:40]},...'")
    try:
        return header[: -len(";base64")] or "text/plain", base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError(f"the data URL's base64 payload is corrupt: {err}") from None


def data_url_to_image(url: str, name: str = "webcam snapshot") -> np.ndarray:
    """A ``data:image/...;base64,...`` URL as an RGB uint8 image (``image_from_bytes``)."""
    kind, data = data_url_bytes(url)
    if not kind.startswith("image/"):
        raise ValueError(f"{name}: the data URL holds {kind}, not an image")
    return image_from_bytes(data, name)


def _colab_snapshot_url(quality: float) -> str:
    import sys

    if "google.colab" not in sys.modules:
        raise RuntimeError("a webcam snapshot needs Colab (google.colab); elsewhere upload a photo")
    from google.colab.output import eval_js  # only on Colab

    return eval_js(COLAB_SNAPSHOT_JS + f"takeSnapshot({float(quality)})")


def colab_webcam_snapshot(quality: float = 0.9) -> np.ndarray:
    """On Colab: show the webcam with a button, and return the frame taken as RGB uint8 H x W x 3.

    Runs ``COLAB_SNAPSHOT_JS`` through ``google.colab.output.eval_js`` (the browser asks for
    the camera first); raises RuntimeError outside Colab.
    """
    return data_url_to_image(_colab_snapshot_url(quality))


def photo_upload_widget(on_photo, verb: str = "processed", description: str = "Upload a photo"):
    """An upload button for one image; each upload calls ``on_photo(photo)`` with it as RGB uint8.

    Built with ``ipywidgets.interactive`` on a ``FileUpload`` (images only, one file), so a
    test can set the upload's value and read ``widget.result``: what ``on_photo`` returned, or
    None when nothing is uploaded or the file is not an image.  The output shows
    "<verb> <name>" after a successful call, or "cannot use <name>: <reason>" for a file that
    is not an image (and for a ValueError of ``on_photo``, e.g. no face found).  What
    ``on_photo`` draws appears in the same output.

    On Colab (``google.colab`` imported) a second button, **webcam snapshot**, takes a frame
    with ``colab_webcam_snapshot``'s JavaScript and feeds it through the same upload value;
    ``widget.snapshot()`` does the same from a cell.  Elsewhere ``widget.snapshot`` is None.
    """
    import datetime
    import sys
    import time

    import ipywidgets as widgets

    from .images import ImageError

    upload = widgets.FileUpload(accept="image/*", multiple=False, description=description,
                                layout=widgets.Layout(width="auto"))

    def show(upload=()):
        if not upload:
            print("Upload a photo with a face (PNG or JPEG)" +
                  (", or take a webcam snapshot." if "google.colab" in sys.modules else "."))
            return None
        try:
            name, photo = upload_to_image(upload)
        except ImageError as err:
            print(f"cannot use {err.source}: {err.reason}")
            return None
        except ValueError as err:
            print(f"cannot use the upload: {err}")
            return None
        print(f"{name}: {photo.shape[1]}x{photo.shape[0]} photo")
        began = time.perf_counter()
        try:
            result = on_photo(photo)
        except ValueError as err:
            print(f"cannot use {name}: {err}")
            return None
        print(f"{verb} {name} in {time.perf_counter() - began:.1f} s")
        return result

    widget = widgets.interactive(show, upload=upload)
    widget.upload = upload
    widget.snapshot = None
    if "google.colab" in sys.modules:
        def snapshot(_button=None, quality: float = 0.9):
            kind, data = data_url_bytes(_colab_snapshot_url(quality))
            upload.value = ({"name": f"webcam snapshot {time.strftime('%H:%M:%S')}.jpg", "type": kind,
                             "size": len(data), "content": memoryview(data),
                             "last_modified": datetime.datetime.now(datetime.timezone.utc)},)

        button = widgets.Button(description="webcam snapshot", icon="camera")
        button.on_click(snapshot)
        widget.snapshot = snapshot
        widget.children = (*widget.children[:-1], button, widget.children[-1])  # the output stays last
    return widget


def plot_toonified(photo: np.ndarray, result, names: tuple[str, str] = ("structure", "texture"),
                   blend_point: int | None = None):
    """Photo with the face's quad, aligned face, reconstruction, toon face and pasted back, in a row.

    ``result`` is a ``toonify.ToonifyResult`` of ``photo``; ``names`` name the two models
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

    ``toonify_photo(photo)`` returns a ``toonify.ToonifyResult``; ``make_emojis(photo,
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
