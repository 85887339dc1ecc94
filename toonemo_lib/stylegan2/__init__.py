"""StyleGAN2 in Keras 3 / TensorFlow 2 that loads and reproduces NVIDIA's official TF1 pickles.

    from toonemo_lib.stylegan2 import load_official_pickle
    nets = load_official_pickle("stylegan2-ffhq-config-f.pkl")    # nets.G, nets.D, nets.Gs
    ws = nets.Gs.mapping(z, truncation_psi=0.7)                   # [N, num_ws, w_dim]
    img = nets.Gs.synthesis(ws, noise_mode="const")               # [N, H, W, C], about [-1, 1]
    logits = nets.D(img)                                          # [N, 1]

Models take numpy arrays or tensors and return `tf.Tensor`s (use `.numpy()`);
the helpers `generate_images`, `style_mix` and `truncation_sweep` return numpy uint8
(`generator_to_uint8`: NVIDIA's mapping of [-1, 1] floats).

Toonify's network blending (Pinkney's rule) and export back to NVIDIA's format:

    toon = blend_generators(cartoon_Gs, ffhq_Gs, resolution=16)  # structure, texture
    save_official_pickle(cartoon.G, cartoon.D, toon, "blended.pkl")

Projection into W / W+ (`project`, with LPIPS or a stand-in distance), StyleGAN2-ADA's
augmentation (`make_augment`, `AdaController`) and the training losses, regularisers and
lazy Adam of NVIDIA's `training/loss.py` (`loss` module) sit beside the networks.
"""

from .augment import AdaController, AugmentPipe, ada_kimg_for, ada_update, make_augment
from .blend import blend_generators, blend_grid, blend_positions, blend_weights
from .generate import generate_images, generator_to_uint8, z_from_seeds
from .loss import (TrainingConfig, config_preset, d_logistic_loss, ema_beta,
                   g_nonsaturating_loss, lazy_adam, path_length_penalty, r1_penalty,
                   style_mixing_ws, update_ema, update_w_avg)
from .mixing import (mix_styles, style_groups, style_mix, truncation_sweep, ws_row_layers,
                     ws_rows_by_resolution)
from .networks import (Discriminator, Generator, MappingNetwork, SynthesisNetwork, channel_count,
                       num_ws_for, truncate)
from .official import (ForbiddenGlobalError, OfficialNetworks, OfficialPickleError,
                       load_official_pickle, read_official_pickle, save_official_pickle,
                       write_official_pickle)
from .perceptual import LPIPSDistance, StandInDistance, perceptual_distance
from .project import ProjectionResult, project, w_statistics
from .saving import load_network, save_network

__all__ = [
    "ada_kimg_for", "ada_update", "AdaController", "AugmentPipe", "blend_generators", "blend_grid",
    "blend_positions", "blend_weights", "channel_count", "config_preset", "d_logistic_loss",
    "Discriminator", "ema_beta", "ForbiddenGlobalError", "g_nonsaturating_loss", "generate_images",
    "Generator", "generator_to_uint8", "lazy_adam", "load_network", "load_official_pickle",
    "LPIPSDistance", "make_augment", "MappingNetwork", "mix_styles", "num_ws_for",
    "OfficialNetworks", "OfficialPickleError", "path_length_penalty", "perceptual_distance",
    "project", "ProjectionResult", "r1_penalty", "read_official_pickle", "save_network",
    "save_official_pickle", "StandInDistance", "style_groups", "style_mix", "style_mixing_ws",
    "SynthesisNetwork", "TrainingConfig", "truncate", "truncation_sweep", "update_ema",
    "update_w_avg", "w_statistics", "write_official_pickle", "ws_row_layers",
    "ws_rows_by_resolution", "z_from_seeds",
]
