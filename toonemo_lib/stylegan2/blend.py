"""Network blending ("layer swapping") of two StyleGAN2 generators, as Toonify does it.

The rule is Justin Pinkney's `blend_models.py` (justinpinkney/stylegan2), which made
Toonify: every synthesis layer gets a position, counted from the coarsest layer,

    level 0: `RxR/Const` (R = 4) or `RxR/Conv0_up`     level 1: `RxR/Conv1`, `RxR/ToRGB`

one position per (resolution, level): 4x4 level 0 = 0, 4x4 level 1 = 1, 8x8 level 0 = 2, ...
Every variable of those layers (weight, bias, mod_weight, mod_bias, noise_strength) is
mixed as y * texture + (1 - y) * structure, with x = position - position(resolution, level):

* hard switch (`blend_width` None or 0): y = 1 if x > 1 else 0.  At level 0 the whole block
  at `resolution` and everything below comes from the structure model, every block above
  from the texture model; level 1 also keeps the next block's Conv0_up on the structure side.
* smooth: y = 1 / (1 + exp(-x / blend_width)), which is 0.5 at (resolution, level) itself.
  That centre is not the hard switch's boundary, which lies between x = 1 and x = 2: the
  smooth blend's midpoint is 1.5 positions coarser, so it lets more of the texture model
  into the coarse layers, and a width going to 0 does not give back the hard switch
  (y -> 0.5 at x = 0 and 1 at x = 1, where the hard switch has 0).  Pinkney's code does the same.

The mapping network, `dlatent_avg` (w_avg), the constant noise buffers and `4x4/Conv`
always come from the structure model: Pinkney's code only visits the names above (its
`G_synthesis/4x4/Conv` prefix search matches neither "Conv0_up" nor "Conv1"), and starts from
a clone of the structure model.  So a smooth blend mixes `4x4/Const` but never the
`4x4/Conv` that reads it; with a hard switch both always come from the structure model.

Toonify convention: structure = the fine-tuned (cartoon) model, texture = the original FFHQ
model.  "The fine-tuned model provides the low-resolution layers, the structure; the
original faces model the high-resolution layers, the texture."  Blending at the model's
full resolution returns the structure model; at 4 or 8 only the coarsest shape is kept.
"""

import math
import warnings
from collections import OrderedDict

import numpy as np

from .generate import generate_images
from .networks import Generator, resolution_log2

# Hyper-parameters two generators must share beyond their variable shapes.
_ARCHITECTURE_KEYS = ("resolution", "num_channels", "label_size", "latent_size", "dlatent_size",
                      "mapping_layers", "mapping_fmaps", "mapping_lrmul", "mapping_nonlinearity",
                      "normalize_latents", "architecture", "nonlinearity", "resample_kernel")


def blend_position(resolution, level):
    """Pinkney's position of (resolution, level): 2 * (log2(resolution) - 2) + level."""
    return 2 * (resolution_log2(resolution) - 2) + level


def blend_positions(model_resolution):
    """{'4x4/Const': 0, '4x4/ToRGB': 1, '8x8/Conv0_up': 2, '8x8/Conv1': 3, '8x8/ToRGB': 3, ...}

    The blended layers of a generator of `model_resolution`; any other layer is not blended.
    """
    positions = OrderedDict()
    for r in range(2, resolution_log2(model_resolution) + 1):
        res = 2**r
        # blend_models.py's level 0 is "Conv0_up" or "Const", level 1 "Conv1" and "ToRGB".
        levels = (("Const",), ("ToRGB",)) if res == 4 else (("Conv0_up",), ("Conv1", "ToRGB"))
        for level, layers in enumerate(levels):
            for layer in layers:
                positions[f"{res}x{res}/{layer}"] = blend_position(res, level)
    return positions


def check_blend_point(model_resolution, resolution, level):
    """ValueError unless resolution is a power of two in 4..model_resolution and level 0 or 1."""
    valid = [2**r for r in range(2, resolution_log2(model_resolution) + 1)]
    if isinstance(resolution, bool) or resolution not in valid:
        raise ValueError(f"resolution must be a power of two from 4 to the model's resolution "
                         f"{model_resolution} ({', '.join(map(str, valid))}), got {resolution!r}")
    if isinstance(level, bool) or level not in (0, 1):
        raise ValueError(f"level must be 0 (Conv0_up / Const side of the block) or 1 "
                         f"(Conv1 / ToRGB side), got {level!r}")


def blend_factor(x, blend_width=None):
    """y for a layer x positions above the blend point: a hard step, or Pinkney's logistic."""
    if blend_width is None or blend_width == 0:
        return 1.0 if x > 1 else 0.0
    if not (isinstance(blend_width, (int, float, np.number)) and 0 < blend_width < math.inf):
        raise ValueError(f"blend_width must be None/0 (hard switch) or a positive number, "
                         f"got {blend_width!r}")
    exponent = -x / blend_width
    # exp overflows past ~709; the true y there is far below float32's smallest number.
    return 0.0 if exponent > 700 else 1.0 / (1.0 + math.exp(exponent))


def layer_of(name):
    """'synthesis/8x8/Conv1/weight' -> '8x8/Conv1'; None outside the synthesis blocks."""
    parts = name.split("/")
    if len(parts) == 4 and parts[0] == "synthesis":
        return f"{parts[1]}/{parts[2]}"
    return None


def blend_weights(G, resolution, level=0, blend_width=None):
    """OrderedDict TF1 variable name -> y (the texture model's share) for every variable of G.

    Variables that are never blended (mapping, dlatent_avg, noise buffers, 4x4/Conv) get 0.0.
    """
    check_blend_point(G.resolution, resolution, level)
    positions = blend_positions(G.resolution)
    centre = blend_position(resolution, level)
    weights = OrderedDict()
    for name in G.tf1_variables():
        position = positions.get(layer_of(name))
        weights[name] = 0.0 if position is None else blend_factor(position - centre, blend_width)
    return weights


def architecture_differences(a, b):
    """Human-readable list of what differs between two generators' architectures."""
    config_a, config_b = a.get_config(), b.get_config()
    diffs = [f"{key}: {config_a[key]!r} vs {config_b[key]!r}" for key in _ARCHITECTURE_KEYS
             if config_a[key] != config_b[key]]
    if diffs:
        return diffs
    channels_a, channels_b = block_channels(a), block_channels(b)
    if channels_a != channels_b:  # fmap_base / fmap_max / ... give other widths
        return ["channels per block: " + ", ".join(
            f"{k} {channels_a[k]} vs {channels_b[k]}" for k in channels_a
            if channels_a[k] != channels_b[k])]
    vars_a, vars_b = a.tf1_variables(), b.tf1_variables()
    for name in vars_a.keys() | vars_b.keys():
        shape_a = list(vars_a[name].shape) if name in vars_a else "absent"
        shape_b = list(vars_b[name].shape) if name in vars_b else "absent"
        if shape_a != shape_b:
            diffs.append(f"{name}: shape {shape_a} vs {shape_b}")
    return sorted(diffs)


def block_channels(G):
    """{'4x4': 512, '8x8': 512, ...}: the feature maps of each synthesis block (ToRGB's input)."""
    variables = G.tf1_variables()
    return {res: int(variables[f"synthesis/{res}/ToRGB/weight"].shape[2])
            for res in (f"{2**r}x{2**r}" for r in range(2, resolution_log2(G.resolution) + 1))}


def check_same_architecture(structure_G, texture_G):
    for label, G in (("structure_G", structure_G), ("texture_G", texture_G)):
        if not isinstance(G, Generator):
            hint = " (pass the .Gs of load_official_pickle's result)" \
                if hasattr(G, "Gs") else ""
            raise TypeError(f"{label} must be a stylegan2 Generator, got "
                            f"{type(G).__name__}{hint}")
    diffs = architecture_differences(structure_G, texture_G)
    if diffs:
        more = f"; ... ({len(diffs)} differences)" if len(diffs) > 6 else ""
        shown = "; ".join(diffs[:6]) + more
        raise ValueError(f"the two generators do not share an architecture (structure vs "
                         f"texture): {shown}")


def mix(structure, texture, y):
    """float32 y * texture + (1 - y) * structure; the parent itself at y = 0 or 1.

    Computed in float64 and rounded once, so blending a model with itself is exact.
    (Pinkney's TF1 code computes in float32: its values differ by float32 rounding,
    at most 4.8e-7 on the reference fixture's weights.)
    """
    if y == 0:
        return structure
    if y == 1:
        return texture
    return (y * texture.astype(np.float64) + (1 - y) * structure.astype(np.float64)
            ).astype(np.float32)


# --------------------------------------------------------------------------- relatedness

# Mean relative distance ||toon - base|| / ||base|| of the conv kernels up to 16x16 above which
# two generators are taken for independent trainings.  Measured (see parent_distance): the
# course's shipped cartoon model vs the face model it was fine-tuned from 0.12 (at most 0.18
# per layer); two independently initialised tiny generators 1.38 (about sqrt(2), as for any
# two independent random weights of equal norm: cosine ~0).  0.5 is a cosine of about 0.88.
RELATED_THRESHOLD = 0.5
RELATED_MAX_RESOLUTION = 16


def compared_kernels(G, max_resolution=RELATED_MAX_RESOLUTION):
    """TF1 names of the synthesis conv kernels (Conv, Conv0_up, Conv1, ToRGB `weight`) of the
    blocks up to `max_resolution`: the layers a fine-tune changes least."""
    names = []
    for name in G.tf1_variables():
        parts = name.split("/")
        if len(parts) == 4 and parts[0] == "synthesis" and parts[3] == "weight" \
                and int(parts[1].split("x")[0]) <= max_resolution:
            names.append(name)
    return names


def layer_distances(base_G, toon_G, max_resolution=RELATED_MAX_RESOLUTION):
    """OrderedDict layer kernel name -> ||toon - base|| / ||base|| (float64)."""
    check_same_architecture(toon_G, base_G)
    base, toon = base_G.tf1_variables(), toon_G.tf1_variables()
    out = OrderedDict()
    for name in compared_kernels(base_G, max_resolution):
        b = base[name].numpy().astype(np.float64).ravel()
        t = toon[name].numpy().astype(np.float64).ravel()
        norm = np.linalg.norm(b)
        out[name] = float(np.linalg.norm(t - b) / norm) if norm > 0 else \
            (0.0 if not t.any() else math.inf)
    return out


def parent_distance(base_G, toon_G, max_resolution=RELATED_MAX_RESOLUTION):
    """Mean over the conv kernels up to `max_resolution` (16x16) of ||toon - base|| / ||base||.

    A fine-tune stays close to its parent in these low-resolution layers (the course's shipped
    cartoon model is 0.12 from its face model); two independent trainings are about sqrt(2)
    apart (independent random weights of equal norm).  0 for a model and itself.
    """
    distances = layer_distances(base_G, toon_G, max_resolution)
    return float(np.mean(list(distances.values())))


def check_related(base_G, toon_G, threshold=RELATED_THRESHOLD, stacklevel=2):
    """Warn (UserWarning) when toon_G does not look like a fine-tune of base_G; returns the
    `parent_distance`.  Toonify blends a model with its own fine-tune: the layers swapped
    between independently trained models do not speak the same feature language."""
    distance = parent_distance(base_G, toon_G)
    if not distance <= threshold:
        warnings.warn(
            f"the two generators look unrelated: their conv weights up to "
            f"{RELATED_MAX_RESOLUTION}x{RELATED_MAX_RESOLUTION} are {distance:.2f} apart "
            f"(mean relative L2 distance; a fine-tune stays below {threshold}, independent "
            f"trainings are about {math.sqrt(2):.2f}).  Toonify blends a model with its own "
            "fine-tune (e.g. FFHQ and a cartoon model trained from it); a blend of unrelated "
            "models mixes layers that never worked together.", UserWarning,
            stacklevel=stacklevel + 1)
    return distance


def blend_generators(structure_G, texture_G, resolution, level=0, blend_width=None,
                     check_parents=True):
    """A NEW Generator: structure_G's low-resolution layers with texture_G's high ones.

    Pinkney's rule (see the module docstring): hard switch for `blend_width` None or 0,
    else a logistic of that width (in positions) centred on (resolution, level).  The inputs
    are left untouched; mapping, w_avg, noise buffers and 4x4/Conv come from structure_G.
    Toonify: structure_G = the fine-tuned cartoon model, texture_G = FFHQ.
    `check_parents`: warn (UserWarning, `check_related`) when structure_G does not look like
    a fine-tune of texture_G (or the other way round); False skips the check.
    """
    check_same_architecture(structure_G, texture_G)
    if check_parents:
        check_related(texture_G, structure_G, stacklevel=2)
    weights = blend_weights(structure_G, resolution, level, blend_width)
    out = Generator.from_config(structure_G.get_config())
    structure, texture = structure_G.tf1_variables(), texture_G.tf1_variables()
    for name, var in out.tf1_variables().items():
        var.assign(mix(structure[name].numpy(), texture[name].numpy(), weights[name]))
    return out


def blend_grid(structure_G, texture_G, resolutions, seeds, truncation_psi=1.0, level=0,
               blend_width=None, noise_mode="const"):
    """uint8 RGB images [len(seeds), len(resolutions) + 2, H, W, C] for a blend figure.

    Rows: one seed each (the same latent in every column).  Columns: structure model, the
    blends at each of `resolutions` (in the order given), texture model.  Each column is
    what that generator makes of the seed, with its own mapping and w_avg (a blend's are
    the structure model's).
    """
    check_same_architecture(structure_G, texture_G)
    check_related(texture_G, structure_G, stacklevel=2)  # once, not once per blend
    models = [structure_G]
    models += [blend_generators(structure_G, texture_G, r, level, blend_width, check_parents=False)
               for r in resolutions]
    models.append(texture_G)
    columns = [generate_images(G, seeds, truncation_psi=truncation_psi, noise_mode=noise_mode)
               for G in models]
    return np.stack(columns, axis=1)

