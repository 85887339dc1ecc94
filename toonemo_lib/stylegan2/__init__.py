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

# Each public name and the module that holds it.  They load on first use (PEP 562), so that
# `toonemo_lib.stylegan2.presets` and `.spec` -- plain Python -- import without TensorFlow.
_HOMES = {
    **dict.fromkeys(["ada_kimg_for", "ada_update", "AdaController", "AugmentPipe", "make_augment"], "augment"),
    **dict.fromkeys(["blend_generators", "blend_grid", "blend_positions", "blend_weights"], "blend"),
    **dict.fromkeys(["generate_images", "generator_to_uint8", "z_from_seeds"], "generate"),
    **dict.fromkeys(["d_logistic_loss", "g_nonsaturating_loss", "path_length_penalty", "r1_penalty",
                     "style_mixing_ws", "update_w_avg"], "loss"),
    **dict.fromkeys(["ema_beta", "lazy_adam", "update_ema"], "optim"),
    **dict.fromkeys(["mix_styles", "style_groups", "style_mix", "truncation_sweep", "ws_row_layers",
                     "ws_rows_by_resolution"], "mixing"),
    **dict.fromkeys(["channel_count", "Discriminator", "Generator", "MappingNetwork", "num_ws_for",
                     "SynthesisNetwork", "truncate"], "networks"),
    **dict.fromkeys(["ForbiddenGlobalError", "load_official_pickle", "OfficialNetworks", "OfficialPickleError",
                     "read_official_pickle", "save_official_pickle", "write_official_pickle"], "official"),
    **dict.fromkeys(["LPIPSDistance", "perceptual_distance", "StandInDistance"], "perceptual"),
    **dict.fromkeys(["config_preset", "TrainingConfig"], "presets"),
    **dict.fromkeys(["project", "ProjectionResult", "w_statistics"], "project"),
    **dict.fromkeys(["load_network", "save_network"], "saving"),
}


def __getattr__(name):
    if name in _HOMES:
        from importlib import import_module

        value = getattr(import_module(f".{_HOMES[name]}", __name__), name)
        globals()[name] = value  # once found, an ordinary attribute
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_HOMES))


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
