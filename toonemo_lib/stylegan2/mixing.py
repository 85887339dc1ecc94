"""Style mixing, truncation sweeps, and which W row drives which layer.

The synthesis network reads one W row per layer (`layer_idx` of `G_synthesis_stylegan2` in
NVlabs/stylegan2's training/networks_stylegan2.py): 4x4/Conv
row 0, 4x4/ToRGB row 1, and at R = 2**r: Conv0_up row 2r-5, Conv1 row 2r-4,
ToRGB row 2r-3 (shared with the next block's Conv0_up).
"""

import numpy as np
import tensorflow as tf

from .generate import generator_to_uint8, z_from_seeds
from .networks import num_ws_for, resolution_log2, truncate


def ws_row_layers(resolution):
    """For each W row, the names of the synthesis layers that read it."""
    rows = [["4x4/Conv"], ["4x4/ToRGB"]]
    for r in range(3, resolution_log2(resolution) + 1):
        name = f"{2**r}x{2**r}"
        rows[2 * r - 5].append(f"{name}/Conv0_up")
        rows.append([f"{name}/Conv1"])
        rows.append([f"{name}/ToRGB"])
    return rows


def ws_rows_by_resolution(resolution):
    """{R: sorted W rows read by the R x R block's layers}, e.g. {4: [0, 1], 8: [1, 2, 3]}."""
    out = {}
    for row, layers in enumerate(ws_row_layers(resolution)):
        for layer in layers:
            res = int(layer.split("x")[0])
            out.setdefault(res, []).append(row)
    return {res: sorted(rows) for res, rows in sorted(out.items())}


def style_groups(resolution):
    """Rows of the 'coarse / middle / fine' styles in the StyleGAN paper's sense.

    The paper counts two W rows per resolution (row i ~ resolution 2**(i//2 + 2)):
    coarse = 4-8 px (rows 0-3), middle = 16-32 px (rows 4-7), fine = 64 px and up.
    Groups a small network does not have are empty.
    """
    n = num_ws_for(resolution)
    return {"coarse": list(range(0, min(4, n))), "middle": list(range(min(4, n), min(8, n))),
            "fine": list(range(min(8, n), n))}


def as_latents(z, latent_size):
    """Accept a latent vector, a batch of them, or integer seeds; return [N, latent_size]."""
    if np.isscalar(z) and float(z).is_integer():
        z = [z]
    z = np.asarray(z)
    if z.dtype.kind in "iu":
        return z_from_seeds(z.ravel(), latent_size)
    return np.atleast_2d(z).astype(np.float32)


def mix_styles(ws_a, ws_b, crossover):
    """W with rows [0, crossover) from ws_a and rows [crossover, num_ws) from ws_b."""
    ws_a, ws_b = tf.convert_to_tensor(ws_a), tf.convert_to_tensor(ws_b)
    num_ws = ws_a.shape[1]
    if not 0 <= crossover <= num_ws:
        raise ValueError(f"crossover must be in 0..{num_ws}, got {crossover}")
    batch = tf.maximum(tf.shape(ws_a)[0], tf.shape(ws_b)[0])
    ws_a = tf.broadcast_to(ws_a, tf.concat([[batch], tf.shape(ws_a)[1:]], 0))
    ws_b = tf.broadcast_to(ws_b, tf.concat([[batch], tf.shape(ws_b)[1:]], 0))
    return tf.concat([ws_a[:, :crossover], ws_b[:, crossover:]], axis=1)


def style_mix(G, z_a, z_b, crossover, truncation_psi=1.0, truncation_cutoff=None,
              noise_mode="const", raw=False):
    """Images whose rows [0, crossover) come from z_a and the rest from z_b.

    z_a / z_b: latent(s) [N, latent_size] or [latent_size], or integer seed(s); a
    batch of one is broadcast against the other.  Returns uint8 [N, H, W, C]
    numpy images, or with raw=True the float images (a tensor).
    """
    ws_a = G.mapping(as_latents(z_a, G.latent_size), truncation_psi=truncation_psi,
                     truncation_cutoff=truncation_cutoff)
    ws_b = G.mapping(as_latents(z_b, G.latent_size), truncation_psi=truncation_psi,
                     truncation_cutoff=truncation_cutoff)
    images = G.synthesis(mix_styles(ws_a, ws_b, crossover), noise_mode=noise_mode)
    return images if raw else generator_to_uint8(images)


def truncation_sweep(G, seeds, psis, truncation_cutoff=None, noise_mode="const"):
    """uint8 grid [len(seeds), len(psis), H, W, C]: every seed at every truncation psi."""
    ws = G.mapping(z_from_seeds(seeds, G.latent_size))
    w_avg = tf.convert_to_tensor(G.mapping.w_avg)
    columns = [generator_to_uint8(G.synthesis(truncate(ws, w_avg, psi, truncation_cutoff),
                                              noise_mode=noise_mode)) for psi in psis]
    return np.stack(columns, axis=1)
