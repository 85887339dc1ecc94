"""Network blending with Pinkney's rule (blend_models.py), and a blend exported to NVIDIA's format.

The parents are real generators whose every variable (biases, styles, noise strengths and
buffers included) differs, so a variable taken from the wrong parent cannot go unnoticed.
Expected parents and weights are re-derived here from the rule, not read from blend.py.
"""

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import tensorflow as tf

from toonemo_lib.stylegan2 import (Discriminator, Generator, blend_generators, blend_grid,
                                   blend_positions, blend_weights, generate_images, load_network,
                                   load_official_pickle, save_network, save_official_pickle)
from toonemo_lib.stylegan2.demo import tiny_generator
from toonemo_lib.stylegan2.plots import plot_blend_grid

tf.config.experimental.enable_tensor_float_32_execution(False)

RES = 32
BLEND_POINTS = [(r, level) for r in (4, 8, 16, 32) for level in (0, 1)]


def randomized(G, seed):
    """G with noise added to every variable, so no two parents share a value."""
    rng = np.random.default_rng(seed)
    for var in G.tf1_variables().values():
        var.assign((var.numpy() + rng.normal(0, 0.2, var.shape)).astype(np.float32))
    return G


@pytest.fixture(scope="module")
def structure():
    return randomized(tiny_generator(RES, seed=0), 10)


@pytest.fixture(scope="module")
def texture():
    return randomized(tiny_generator(RES, seed=1), 11)


@pytest.fixture(scope="module")
def z():
    return np.random.RandomState(5).randn(3, 64).astype(np.float32)


def values(G):
    return {name: np.asarray(var.numpy()) for name, var in G.tf1_variables().items()}


def position(name):
    """Pinkney's position of a synthesis layer, or None for a variable that is never blended."""
    parts = name.split("/")
    if parts[0] != "synthesis" or len(parts) != 4 or parts[2] == "Conv":
        return None
    level = 0 if parts[2] in ("Const", "Conv0_up") else 1
    return 2 * (int(math.log2(int(parts[1].split("x")[0]))) - 2) + level


def hard_parent(name, resolution, level):
    pos = position(name)
    centre = 2 * (int(math.log2(resolution)) - 2) + level
    return "texture" if pos is not None and pos - centre > 1 else "structure"


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# --------------------------------------------------------------------------- the rule


def test_positions_are_those_of_blend_models():
    assert dict(blend_positions(16)) == {
        "4x4/Const": 0, "4x4/ToRGB": 1, "8x8/Conv0_up": 2, "8x8/Conv1": 3, "8x8/ToRGB": 3,
        "16x16/Conv0_up": 4, "16x16/Conv1": 5, "16x16/ToRGB": 5}


@pytest.mark.parametrize("resolution, level", BLEND_POINTS)
def test_hard_switch_takes_every_variable_bit_for_bit_from_the_right_parent(
        structure, texture, resolution, level):
    before_s, before_t = values(structure), values(texture)
    out = values(blend_generators(structure, texture, resolution, level))
    parents = {name: hard_parent(name, resolution, level) for name in out}
    for name, value in out.items():
        source = before_s if parents[name] == "structure" else before_t
        assert same_bits(value, source[name]), f"{name} is not the {parents[name]} model's"
    if resolution < RES:  # the sentences of the docstring, on the next block
        nxt = f"synthesis/{2 * resolution}x{2 * resolution}"
        assert parents[f"{nxt}/Conv0_up/weight"] == ("structure" if level else "texture")
        assert parents[f"{nxt}/Conv1/weight"] == parents[f"{nxt}/ToRGB/bias"] == "texture"
    assert ("texture" in parents.values()) == (resolution < RES)
    after_s, after_t = values(structure), values(texture)  # the inputs are untouched
    assert all(same_bits(after_s[n], before_s[n]) and same_bits(after_t[n], before_t[n])
               for n in before_s)


@pytest.mark.parametrize("blend_width", [None, 0.7])
def test_mapping_w_avg_noise_and_4x4_conv_always_come_from_the_structure_model(
        structure, texture, blend_width):
    out = values(blend_generators(structure, texture, 4, 0, blend_width))
    fixed = [n for n in out if n.startswith(("mapping/", "synthesis/noise", "synthesis/4x4/Conv/"))
             or n == "dlatent_avg"]
    assert len(fixed) == 1 + 4 * 2 + (2 * 5 - 3) + 5  # w_avg, mapping, noise0-6, 4x4/Conv
    for name in fixed:
        assert same_bits(out[name], values(structure)[name]), name


@pytest.mark.parametrize("blend_width", [None, 1.3])
def test_blending_a_model_with_itself_changes_nothing(structure, z, blend_width):
    out = blend_generators(structure, structure, 16, 0, blend_width)
    for name, value in values(out).items():
        assert same_bits(value, values(structure)[name]), name
    np.testing.assert_array_equal(out(z), structure(z))


def test_smooth_weights_follow_the_logistic_centred_on_the_blend_point(structure, texture):
    width, resolution, level = 2.0, 16, 1
    weights = blend_weights(structure, resolution, level, width)
    centre = 2 * (4 - 2) + level
    for name, y in weights.items():
        pos = position(name)
        expected = 0.0 if pos is None else 1 / (1 + math.exp(-(pos - centre) / width))
        assert y == pytest.approx(expected, abs=1e-15), name
    assert weights["synthesis/16x16/Conv1/weight"] == weights["synthesis/16x16/ToRGB/bias"] == 0.5
    out, s, t = values(blend_generators(structure, texture, resolution, level, width)), \
        values(structure), values(texture)
    for name, y in weights.items():
        np.testing.assert_allclose(out[name], y * t[name] + (1 - y) * s[name], rtol=2e-7,
                                   atol=1e-7, err_msg=name)


def test_smooth_blend_is_not_centred_on_the_hard_switch(structure):
    # A vanishing width gives 0.5 at the blend point and 1 one position above it,
    # where the hard switch still takes the structure model.
    sharp, hard = blend_weights(structure, 8, 0, 1e-3), blend_weights(structure, 8, 0)
    up, conv1 = "synthesis/8x8/Conv0_up/weight", "synthesis/8x8/Conv1/weight"
    assert (sharp[up], sharp[conv1]) == (0.5, 1.0) and (hard[up], hard[conv1]) == (0, 0)
    assert sharp["synthesis/4x4/Const/const"] < 1e-300


@pytest.mark.parametrize("level", [0, 1])
def test_blend_at_full_resolution_is_the_structure_model(structure, texture, z, level):
    out = blend_generators(structure, texture, RES, level)
    for psi in (1.0, 0.7):
        np.testing.assert_array_equal(out(z, truncation_psi=psi), structure(z, truncation_psi=psi))


# --------------------------------------------------------------------------- errors


def test_mismatched_architectures_are_refused_with_what_differs(structure, texture):
    small = dict(latent_size=64, dlatent_size=64, mapping_layers=4, mapping_fmaps=64,
                 fmap_base=1024, fmap_max=64)
    cases = [(tiny_generator(16), "resolution: 32 vs 16"),
             (Generator(resolution=RES, **dict(small, fmap_max=32)),
              "channels per block: 4x4 64 vs 32, 8x8 64 vs 32"),
             (Generator(resolution=RES, **dict(small, latent_size=32)), "latent_size: 64 vs 32")]
    for other, message in cases:
        with pytest.raises(ValueError, match="do not share an architecture.*" + message):
            blend_generators(structure, other, 8)
    with pytest.raises(TypeError, match="Generator"):
        blend_generators(structure, Discriminator(resolution=RES, fmap_base=1024, fmap_max=64), 8)


@pytest.mark.parametrize("resolution, level, width, message", [
    (12, 0, None, "power of two from 4 to the model's resolution 32"),
    (64, 0, None, "power of two"), (2, 0, None, "power of two"),
    (8, 2, None, "level must be 0"), (8, 0, -1.0, "blend_width")])
def test_bad_blend_point_is_refused(structure, texture, resolution, level, width, message):
    with pytest.raises(ValueError, match=message):
        blend_generators(structure, texture, resolution, level, width)


# --------------------------------------------------------------------------- saving


def test_blend_saves_and_reloads_like_any_generator(tmp_path, structure, texture, z):
    out = blend_generators(structure, texture, 8, 1, blend_width=1.0)
    back = load_network(save_network(out, tmp_path / "blend"))
    assert back.get_config() == out.get_config()
    np.testing.assert_array_equal(back(z, truncation_psi=0.7), out(z, truncation_psi=0.7))


def test_exported_tf1_pickle_loads_back_to_identical_networks(tmp_path, structure, texture, z):
    D = Discriminator(resolution=RES, fmap_base=1024, fmap_max=64, seed=4)
    out = blend_generators(structure, texture, 16, 0, blend_width=0.8)
    # blend_models.py writes (structure G, structure D, blended Gs).
    nets = load_official_pickle(save_official_pickle(structure, D, out, tmp_path / "toon.pkl"))
    for loaded, original in ((nets.G, structure), (nets.D, D), (nets.Gs, out)):
        for name, value in values(original).items():
            assert same_bits(values(loaded)[name], value), name
    img = out(z, truncation_psi=0.7)
    np.testing.assert_array_equal(nets.Gs(z, truncation_psi=0.7), img)
    np.testing.assert_array_equal(nets.G(z), structure(z))
    np.testing.assert_array_equal(nets.D(img), D(img))


def test_blend_of_the_official_fixture(tmp_path, shared_dir):
    folder = shared_dir / "reference" / "stylegan2"
    if not (folder / "tiny_a.pkl").is_file():
        pytest.skip(f"StyleGAN2 fixture A is absent: {folder}")
    nets = load_official_pickle(folder / "tiny_a.pkl")
    with np.load(folder / "tiny_a_expected.npz") as data:
        expected = dict(data)
    # Gs as structure, the training snapshot G (every value ~10% off) as texture.
    full = blend_generators(nets.Gs, nets.G, 32)
    img = np.transpose(full.synthesis(expected["ws_psi1"]), [0, 3, 1, 2])
    np.testing.assert_allclose(img, expected["img_psi1"], atol=1e-4)
    out = blend_generators(nets.Gs, nets.G, 8, 1)
    s, t = values(nets.Gs), values(nets.G)
    for name, value in values(out).items():
        source = s if hard_parent(name, 8, 1) == "structure" else t
        assert same_bits(value, source[name]), name
    back = load_official_pickle(save_official_pickle(nets.G, nets.D, out, tmp_path / "b.pkl"))
    ws = expected["ws_random"]
    np.testing.assert_array_equal(back.Gs.synthesis(ws), out.synthesis(ws))


# --------------------------------------------------------------------------- grid


def test_blend_grid_columns_and_figure(tmp_path, structure, texture):
    seeds = [1, 2]
    grid = blend_grid(structure, texture, [8, RES], seeds, truncation_psi=0.7)
    assert grid.shape == (2, 4, RES, RES, 3) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[:, 0], generate_images(structure, seeds, truncation_psi=0.7))
    np.testing.assert_array_equal(grid[:, 1], generate_images(
        blend_generators(structure, texture, 8), seeds, truncation_psi=0.7))
    np.testing.assert_array_equal(grid[:, 2], grid[:, 0])  # full resolution = structure
    np.testing.assert_array_equal(grid[:, 3], generate_images(texture, seeds, truncation_psi=0.7))
    assert not np.array_equal(grid[:, 1], grid[:, 0]) and not np.array_equal(grid[:, 1], grid[:, 3])
    fig = plot_blend_grid(grid, [8, RES], seeds, names=("cartoon", "FFHQ"))
    titles = [ax.get_title() for ax in fig.axes[:4]]
    assert titles == ["cartoon", "blend at 8x8", "blend at 32x32", "FFHQ"]
    assert fig.axes[4].get_ylabel() == "seed 2"
    fig.savefig(tmp_path / "grid.png")
    with pytest.raises(ValueError, match="columns"):
        plot_blend_grid(grid, [8], seeds)
