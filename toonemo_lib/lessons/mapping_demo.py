"""A small numeric experiment: why StyleGAN's mapping network disentangles.

Take two factors of variation of faces, say hair length and masculinity, each in
[0, 1].  Suppose the training set never shows one combination (long-haired
men: the corner [0.5, 1] x [0.5, 1] is empty).  PGGAN feeds z ~ N(0, I)
straight into the generator, so the generator must map the whole Gaussian onto
the L-shaped set of faces that exist; no linear map can do that, so the factors
become *curved*, entangled functions of z (StyleGAN paper, figure 6).

StyleGAN first maps z to w with a learned network f and draws the image from w.
Because nobody fixes the distribution of w, f can absorb all the warping and
leave the factors *linear* in w.  We measure it with a linear probe: the R^2
of the best affine map from the latent to the factors is 1 for a disentangled
code and lower for an entangled one.

The map from z to the factors is the measure-preserving map a generator would
have to learn; we compute it exactly as an optimal-transport assignment between
Gaussian samples and factor samples.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import griddata
from scipy.optimize import linear_sum_assignment


def sample_factors(n: int, seed: int = 0, hole: tuple[float, float] = (0.5, 0.5)) -> np.ndarray:
    """``n`` points uniform on the unit square minus the corner beyond ``hole`` (the missing combination)."""
    rng = np.random.default_rng(seed)
    points = np.empty((0, 2))
    while len(points) < n:
        candidates = rng.uniform(size=(2 * n, 2))
        keep = ~((candidates[:, 0] > hole[0]) & (candidates[:, 1] > hole[1]))
        points = np.concatenate([points, candidates[keep]])
    return points[:n]


def transport_gaussian(factors: np.ndarray, seed: int = 0) -> np.ndarray:
    """Gaussian latents ``z`` paired with ``factors``: ``z[i]`` is the point the generator sends to ``factors[i]``.

    The pairing minimises the total squared distance (discrete optimal transport),
    the most regular way to push N(0, I) onto the factor distribution.
    """
    rng = np.random.default_rng(seed + 1)
    z = rng.standard_normal(factors.shape)
    # centre and scale z like the factors so the squared-distance cost compares like with like
    z_scaled = (z - z.mean(0)) / z.std(0) * factors.std(0) + factors.mean(0)
    cost = ((z_scaled[:, None, :] - factors[None, :, :]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    paired = np.empty_like(z)
    paired[cols] = z[rows]
    return paired


def linear_probe_r2(latent: np.ndarray, factors: np.ndarray) -> float:
    """R^2 of the least-squares affine map latent -> factors (1 = the factors are linear in the latent)."""
    design = np.concatenate([latent, np.ones((len(latent), 1))], axis=1)
    coef, *_ = np.linalg.lstsq(design, factors, rcond=None)
    residual = ((factors - design @ coef) ** 2).sum()
    total = ((factors - factors.mean(0)) ** 2).sum()
    return float(1.0 - residual / total)


def grid_lines_through_map(
    latent: np.ndarray, factors: np.ndarray, values=(-1.0, -0.5, 0.0, 0.5, 1.0), steps: int = 60
) -> list[np.ndarray]:
    """Images in factor space of the latent grid lines ``latent_k = v``: straight lines if disentangled."""
    lines = []
    t = np.linspace(-1.6, 1.6, steps)
    for axis in (0, 1):
        for v in values:
            line = np.empty((steps, 2))
            line[:, axis], line[:, 1 - axis] = v, t
            mapped = griddata(latent, factors, line, method="linear")
            lines.append(mapped[~np.isnan(mapped).any(1)])
    return lines


def run_experiment(n: int = 1000, seed: int = 0) -> dict:
    """The whole experiment: factors, the Gaussian z that produce them, and both linear-probe scores.

    ``w`` is what a mapping network can learn: any affine image of the factors; we
    take the standardised factors themselves.
    """
    factors = sample_factors(n, seed)
    z = transport_gaussian(factors, seed)
    w = (factors - factors.mean(0)) / factors.std(0)
    return {
        "factors": factors,
        "z": z,
        "w": w,
        "r2_z": linear_probe_r2(z, factors),
        "r2_w": linear_probe_r2(w, factors),
    }
