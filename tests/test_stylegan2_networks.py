"""StyleGAN2 networks built from hyper-parameters: shapes, saving, ops, helpers.

These tests need no shared data; the networks are tiny so the file runs in seconds.
"""

import numpy as np
import pytest

from toonemo_lib.stylegan2 import (Discriminator, Generator, channel_count, generate_images,
                                   generator_to_uint8, load_network, num_ws_for, save_network, style_groups,
                                   style_mix, truncation_sweep, ws_row_layers, ws_rows_by_resolution)
from toonemo_lib.stylegan2 import ops
from toonemo_lib.stylegan2.layers import ModulatedConv2D

import tensorflow as tf

tf.config.experimental.enable_tensor_float_32_execution(False)

SMALL = dict(latent_size=16, dlatent_size=16, mapping_layers=2, mapping_fmaps=16,
             fmap_base=64, fmap_max=16)
SMALL_D = dict(fmap_base=64, fmap_max=16)


def small_generator(resolution=16, seed=0, **kwargs):
    return Generator(resolution=resolution, seed=seed, **dict(SMALL, **kwargs))


def latents(n, size=16, seed=1):
    return np.random.RandomState(seed).randn(n, size).astype(np.float32)


@pytest.mark.parametrize("resolution", [4, 8, 32, 128])
def test_any_resolution_builds_with_the_official_shapes(resolution):
    G = small_generator(resolution)
    D = Discriminator(resolution=resolution, seed=0, **SMALL_D)
    r = int(np.log2(resolution))
    assert G.num_ws == num_ws_for(resolution) == 2 * r - 2
    ws = G.mapping(latents(2))
    assert tuple(ws.shape) == (2, G.num_ws, 16)
    img = G.synthesis(ws, noise_mode="const")
    assert tuple(img.shape) == (2, resolution, resolution, 3) and img.dtype == tf.float32
    assert tuple(D(img).shape) == (2, 1)
    names = G.tf1_variables()
    assert len([n for n in names if n.startswith("synthesis/noise")]) == G.num_ws - 1
    assert tuple(names[f"synthesis/noise{G.num_ws - 2}"].shape) == (1, 1, resolution, resolution)
    const_shape = (1, channel_count(1, fmap_base=64, fmap_max=16), 4, 4)
    assert tuple(names["synthesis/4x4/Const/const"].shape) == const_shape


@pytest.mark.parametrize("resolution", [2, 48, 2048])
def test_unsupported_resolution_is_refused(resolution):
    with pytest.raises(ValueError, match="power of two"):
        small_generator(resolution)


def test_channel_formula_matches_tf1():
    # config-f: 512 channels up to 32 px, then 256, 128, 64, 32 at 1024 px.
    assert [channel_count(r - 1) for r in range(2, 11)] == [512] * 4 + [512, 256, 128, 64, 32]
    assert channel_count(3, fmap_base=64, fmap_min=4, fmap_max=16) == 8
    assert channel_count(5, fmap_base=64, fmap_min=4, fmap_max=16) == 4


# Keras' own .keras writer trips a numpy-2 DeprecationWarning inside Keras (not ours).
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
@pytest.mark.parametrize("name", ["g", "g.keras"])
def test_generator_save_load_round_trip(tmp_path, name):
    G = small_generator(16)
    G.mapping.w_avg.assign(np.full(16, 0.25, np.float32))  # non-trainable state travels too
    path = save_network(G, tmp_path / name)
    assert path.suffix == (".keras" if name.endswith(".keras") else ".npz")
    G2 = load_network(path)
    assert type(G2) is Generator and G2.get_config() == G.get_config()
    z = latents(3)
    np.testing.assert_array_equal(G2(z, truncation_psi=0.6), G(z, truncation_psi=0.6))
    for name, var in G.tf1_variables().items():
        np.testing.assert_array_equal(G2.tf1_variables()[name].numpy(), var.numpy(), err_msg=name)


def test_discriminator_save_load_round_trip(tmp_path):
    D = Discriminator(resolution=16, seed=3, **SMALL_D)
    D2 = load_network(save_network(D, tmp_path / "d.npz"))
    img = np.random.RandomState(0).uniform(-1, 1, (4, 16, 16, 3)).astype(np.float32)
    np.testing.assert_array_equal(D2(img), D(img))


def test_seed_makes_initialization_reproducible():
    z = latents(2)
    np.testing.assert_array_equal(small_generator(8, seed=5)(z), small_generator(8, seed=5)(z))
    assert not np.array_equal(small_generator(8, seed=5)(z), small_generator(8, seed=6)(z))


def test_noise_modes():
    G = small_generator(16)
    for var in G.tf1_variables().values():  # make noise visible: strengths are 0 at init
        if var.path.endswith("noise_strength"):
            var.assign(0.5)
    ws = G.mapping(latents(2))
    const = G.synthesis(ws, noise_mode="const")
    np.testing.assert_array_equal(const, G.synthesis(ws, noise_mode="const"))
    random_a = G.synthesis(ws, noise_mode="random")
    assert not np.allclose(random_a, G.synthesis(ws, noise_mode="random"))
    assert not np.allclose(G.synthesis(ws, noise_mode="none"), const)
    with pytest.raises(ValueError, match="noise_mode"):
        G.synthesis(ws, noise_mode="fresh")


def test_truncation_and_cutoff():
    G = small_generator(16)
    G.mapping.w_avg.assign(np.linspace(-1, 1, 16).astype(np.float32))
    z = latents(2)
    ws = np.asarray(G.mapping(z))
    w_avg = G.mapping.w_avg.numpy()
    half = G.mapping(z, truncation_psi=0.5)
    np.testing.assert_allclose(half, w_avg + 0.5 * (ws - w_avg), atol=1e-6)
    cut = np.asarray(G.mapping(z, truncation_psi=0.0, truncation_cutoff=3))
    np.testing.assert_allclose(cut[:, :3], np.broadcast_to(w_avg, cut[:, :3].shape), atol=1e-6)
    np.testing.assert_allclose(cut[:, 3:], ws[:, 3:], atol=1e-6)  # avg + (w - avg) * 1


def test_w_avg_tracking_in_training_mode():
    G = small_generator(8)
    z = latents(4)
    w = np.asarray(G.mapping(z))[:, 0]
    G.mapping(z, training=True)
    np.testing.assert_allclose(G.mapping.w_avg, (1 - 0.995) * w.mean(axis=0), atol=1e-6)


def test_conditional_networks():
    G = small_generator(8, label_size=3)
    D = Discriminator(resolution=8, label_size=3, seed=0, **SMALL_D)
    c = np.eye(3, dtype=np.float32)[[0, 2]]
    img = G(latents(2), c)
    assert tuple(D(img, c).shape) == (2, 1)
    assert "mapping/LabelConcat/weight" in G.tf1_variables()
    assert tuple(D.tf1_variables()["Output/weight"].shape) == (16, 3)
    with pytest.raises(ValueError, match="conditional"):
        G(latents(2))


def test_mixed_precision_option_runs():
    G = small_generator(16, dtype="mixed_float16")
    img = np.asarray(G(latents(2)))
    assert img.dtype == np.float32 and np.isfinite(img).all()


def test_float16_in_the_highest_resolutions_stays_close_to_float32():
    G32 = small_generator(32)
    G16 = small_generator(32, num_fp16_res=2, conv_clamp=256)
    ws = G32.mapping(latents(2))
    img32 = G32.synthesis(ws).numpy()
    img16, features = G16.synthesis(ws, return_features=True)
    assert features["8x8_x"].dtype == tf.float32
    assert features["16x16_x"].dtype == features["32x32_x"].dtype == tf.float16
    assert img16.dtype == tf.float32  # the image is summed in float32, as stylegan2-ada does
    assert 0 < np.abs(img16.numpy() - img32).max() < 0.02 * np.abs(img32).max()
    assert Generator.from_config(G16.get_config()).synthesis.blocks[-1].compute_dtype == "float16"


def test_conv_clamp_clips_every_layer_output():
    G = small_generator(8, conv_clamp=0.05)
    img, features = G.synthesis(G.mapping(latents(2)), return_features=True)
    assert np.abs(features["8x8_x"].numpy()).max() <= 0.05 + 1e-7
    assert 0 < np.abs(img.numpy()).max() <= 2 * 0.05 + 1e-6  # two clipped ToRGB outputs summed


# --------------------------------------------------------------------------- ops


def test_demodulated_conv_keeps_unit_variance():
    rng = np.random.default_rng(0)
    layer = ModulatedConv2D(32, 32, 3, w_dim=8, demodulate=True, rng=rng)
    x = rng.standard_normal((4, 24, 24, 32)).astype(np.float32)
    # Styles far from 1: without demodulation the variance would follow them.
    w = 3.0 * rng.standard_normal((4, 8)).astype(np.float32)
    y = np.asarray(layer(x, w))[:, 1:-1, 1:-1]  # border pixels see zero padding
    per_channel = y.std(axis=(1, 2))
    assert abs(y.std() - 1) < 0.05 and abs(per_channel.mean() - 1) < 0.05
    plain = ModulatedConv2D(32, 32, 3, w_dim=8, demodulate=False, rng=np.random.default_rng(0))
    assert abs(np.asarray(plain(x, w)).std() - 1) > 0.5


def test_non_fused_modulated_conv_equals_per_sample_kernels():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 6, 4)).astype(np.float32)
    w = rng.standard_normal((3, 3, 4, 5)).astype(np.float32) / 6
    s = rng.uniform(0.5, 2, (2, 4)).astype(np.float32)
    for up in (False, True):
        ours = np.asarray(ops.modulated_conv_2d(x, w, s, demodulate=True, up=up))
        for n in range(2):
            wn = w * s[n][None, None, :, None]
            wn /= np.sqrt((wn**2).sum(axis=(0, 1, 2), keepdims=True) + 1e-8)
            if up:
                one = ops.upsample_conv_2d(x[n:n + 1], wn, (1, 3, 3, 1))
            else:
                one = ops.conv_2d(x[n:n + 1], wn)
            np.testing.assert_allclose(ours[n:n + 1], one, atol=1e-5)


def test_upsample_conv_matches_zero_insert_formulation():
    # README 9.8: zero-insert, pad 3/2, 4x FIR, then correlate with the unflipped kernel.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 5, 5, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 3)).astype(np.float32)
    k = ops.fir_kernel_2d([1, 3, 3, 1]) * 4
    ref = ops.upfirdn_2d(x, k, up=2, pad0=3, pad1=2)
    ref = tf.nn.conv2d(ref, w, strides=1, padding="VALID")
    np.testing.assert_allclose(ops.upsample_conv_2d(x, w, (1, 3, 3, 1)), ref, atol=1e-5)


def test_fir_resampling_keeps_a_constant_image():
    x = tf.ones([1, 8, 8, 2])
    up = np.asarray(ops.upsample_2d(x, [1, 3, 3, 1]))
    assert up.shape == (1, 16, 16, 2)
    np.testing.assert_allclose(up[:, 2:-2, 2:-2], 1, atol=1e-6)
    assert ops.downsample_2d(x, [1, 3, 3, 1]).shape == (1, 4, 4, 2)


def test_minibatch_stddev_groups_are_strided():
    # With 4 samples in groups of 2, TF1 groups samples {0, 2} and {1, 3}.
    x = np.zeros((4, 2, 2, 2), np.float32)
    x[0], x[2] = 1.0, -1.0  # group {0, 2}: std 1; group {1, 3}: all zero, std 0
    y = np.asarray(ops.minibatch_stddev(x, group_size=2, num_features=1))
    assert y.shape == (4, 2, 2, 3)
    np.testing.assert_allclose(y[[0, 2], ..., 2], 1, atol=1e-4)
    np.testing.assert_allclose(y[[1, 3], ..., 2], 0, atol=1e-3)


# --------------------------------------------------------------------------- helpers


def test_generate_images_returns_uint8_and_is_deterministic():
    G = small_generator(8)
    a = generate_images(G, [1, 2, 3], truncation_psi=0.7, batch_size=2)
    assert a.shape == (3, 8, 8, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, generate_images(G, [1, 2, 3], truncation_psi=0.7))
    np.testing.assert_array_equal(a[1:2], generate_images(G, [2], truncation_psi=0.7))


def test_generator_to_uint8_uses_nvidia_mapping():
    np.testing.assert_array_equal(generator_to_uint8([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]),
                                  [0, 0, 128, 191, 255, 255])


def test_truncation_sweep_grid():
    G = small_generator(8)
    grid = truncation_sweep(G, seeds=[0, 1, 2], psis=[0.0, 0.5, 1.0])
    assert grid.shape == (3, 3, 8, 8, 3) and grid.dtype == np.uint8
    # psi = 0 sends every seed to w_avg: one image for all seeds (const noise).
    assert (grid[:, 0] == grid[0, 0]).all()
    np.testing.assert_array_equal(grid[:, 2], generate_images(G, [0, 1, 2], truncation_psi=1.0))


def test_style_mix_crossover_ends():
    G = small_generator(16)
    za, zb = latents(2, seed=3), latents(2, seed=4)
    np.testing.assert_array_equal(style_mix(G, za, zb, G.num_ws), generator_to_uint8(G(za)))
    np.testing.assert_array_equal(style_mix(G, za, zb, 0), generator_to_uint8(G(zb)))
    assert style_mix(G, 7, 8, 2).shape == (1, 16, 16, 3)  # seeds work too
    with pytest.raises(ValueError, match="crossover"):
        style_mix(G, za, zb, G.num_ws + 1)


def test_w_rows_per_layer_and_resolution():
    assert ws_row_layers(16) == [["4x4/Conv"], ["4x4/ToRGB", "8x8/Conv0_up"], ["8x8/Conv1"],
                                 ["8x8/ToRGB", "16x16/Conv0_up"], ["16x16/Conv1"], ["16x16/ToRGB"]]
    assert ws_rows_by_resolution(32) == {4: [0, 1], 8: [1, 2, 3], 16: [3, 4, 5], 32: [5, 6, 7]}
    groups = style_groups(1024)
    assert groups["coarse"] == [0, 1, 2, 3] and groups["middle"] == [4, 5, 6, 7]
    assert groups["fine"] == list(range(8, 18))
    assert style_groups(8) == {"coarse": [0, 1, 2, 3], "middle": [], "fine": []}
