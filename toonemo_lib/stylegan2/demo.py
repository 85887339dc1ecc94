"""Generators and experiments for the StyleGAN2 half of notebook 01."""

import numpy as np

from .layers import ModulatedConv2D
from .networks import Generator
from .official import OfficialPickleError, load_official_pickle


def tiny_generator(resolution=32, seed=0, w_avg_samples=2000):
    """A small randomly initialised generator with its w_avg set to the mean mapped latent.

    Random weights draw no faces, but mapping, truncation and style mixing work
    exactly as in a trained network, which is what the smoke and cpu runs show.
    """
    G = Generator(resolution=resolution, latent_size=64, dlatent_size=64, mapping_layers=4,
                  mapping_fmaps=64, fmap_base=1024, fmap_max=64, seed=seed)
    z = np.random.default_rng(seed).standard_normal((w_avg_samples, G.latent_size)).astype(np.float32)
    # training tracks w_avg as a running mean; an untrained network gets the exact mean at once
    G.mapping.w_avg.assign(G.mapping(z).numpy()[:, 0].mean(axis=0))
    return G


def course_generator(use_ffhq: bool = False, resolution=32, seed=0):
    """The generator notebook 01 shows: NVIDIA's FFHQ model when ``use_ffhq`` and it can be had,
    else the course's shipped face model (32x32, trained on FER2013), else a tiny untrained one.

    Returns ``(G, description)``.  With ``use_ffhq`` the FFHQ pickle is fetched into the cache
    (a download the first time).  Whatever is missing is reported in one printed line and the
    next generator used, so the notebook always runs through; ``resolution`` and ``seed`` are
    the tiny generator's.
    """
    if use_ffhq:
        from ..download import DownloadError, fetch_artefact

        try:
            path = fetch_artefact("stylegan2-ffhq-config-f")
            return load_official_pickle(path).Gs, "NVIDIA's StyleGAN2 FFHQ config-f (1024x1024)"
        except (DownloadError, FileNotFoundError, OfficialPickleError) as err:
            print(f"FFHQ generator unavailable ({err}); using the course's small face model instead.")
    from .shipped import load_shipped_generator

    try:
        G = load_shipped_generator("faces")
        return G, (f"the course's small face model ({G.resolution}x{G.resolution}, trained on FER2013's faces "
                   "by `toonemo train`; its card is data/models/stylegan2-faces-fer2013-32.md)")
    except FileNotFoundError as err:
        print(f"{err}; using a tiny untrained generator instead.")
    G = tiny_generator(resolution, seed)
    return G, f"a tiny randomly initialised StyleGAN2 ({resolution}x{resolution}, untrained)"


def modulated_stack_stds(layers=8, channels=32, size=16, demodulate=True, batch=4, seed=0):
    """Std of the features after each of ``layers`` stacked 3x3 modulated convolutions.

    Input and every layer's w are standard normal; there is no activation, so
    only the (de)modulation decides how the signal's scale evolves.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, size, size, channels)).astype(np.float32)
    stds = []
    for _ in range(layers):
        layer = ModulatedConv2D(channels, channels, 3, w_dim=channels, demodulate=demodulate, rng=rng)
        w = rng.standard_normal((batch, channels)).astype(np.float32)
        x = np.asarray(layer(x, w))
        stds.append(float(x.std()))
    return stds


def spike_suppression_modulated(spike_heights, size=32, channels=8, seed=0):
    """The counterpart of :func:`toonemo_lib.lessons.adain.spike_suppression` for a demodulated convolution.

    Std of the output *away from* the spike (more than one pixel from it): the
    demodulation factor depends on weights and styles only, never on the data,
    so a spike cannot turn the rest of the map down.
    """
    rng = np.random.default_rng(seed)
    layer = ModulatedConv2D(channels, channels, 3, w_dim=channels, demodulate=True, rng=rng)
    base = rng.standard_normal((1, size, size, channels)).astype(np.float32)
    w = rng.standard_normal((1, channels)).astype(np.float32)
    far = np.ones((size, size), bool)
    c = size // 2
    far[c - 1:c + 2, c - 1:c + 2] = False  # a 3x3 kernel spreads the spike one pixel around
    stds = []
    for height in spike_heights:
        x = base.copy()
        x[0, c, c, :] += height
        stds.append(float(np.asarray(layer(x, w))[0][far].std()))
    return stds


def swap_style_rows(G, z_a, z_b, rows, noise_mode="const", batch_size=None):
    """Images of ``z_a`` whose W rows ``rows`` come from ``z_b`` (uint8), drawn ``batch_size`` at a time
    (default: `generate.images_per_batch`; 16 images at 1024x1024 in one call hold 11 GB)."""
    from .generate import generator_to_uint8, images_per_batch

    batch_size = batch_size or images_per_batch(G.resolution)
    ws_a = np.array(G.mapping(z_a))
    ws_b = np.array(G.mapping(z_b))
    ws_a[:, list(rows)] = ws_b[:, list(rows)]
    return np.concatenate([generator_to_uint8(G.synthesis(ws_a[i:i + batch_size], noise_mode=noise_mode))
                           for i in range(0, len(ws_a), batch_size)])
