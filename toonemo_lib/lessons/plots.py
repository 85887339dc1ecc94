"""Figures and widgets of notebook 01's lessons: the mapping experiment, style levels, style transfer."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from ..plots import image_grid


# StyleGAN (Karras et al. 2019, section 3.1): what the styles of each resolution control.
STYLE_GROUPS = (
    ("coarse", 4, 8, "pose, general hair style, face shape, eyeglasses"),
    ("middle", 16, 32, "smaller facial features, hair style, eyes open/closed"),
    ("fine", 64, 1024, "colour scheme and micro-structure"),
)


GROUP_COLOURS = {"coarse": "tab:blue", "middle": "tab:orange", "fine": "tab:green"}


def plot_mapping_experiment(result: dict):
    """Three panels: the factor distribution with its hole, Z's grid warped onto it, W's straight grid."""
    from .mapping_demo import grid_lines_through_map

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

    from .style_transfer import pyramid_style_transfer

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
