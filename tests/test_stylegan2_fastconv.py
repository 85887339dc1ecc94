"""The fast forms of StyleGAN2's convolutions compute the plain forms' sums and gradients."""

import os
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from toonemo_lib.stylegan2 import Discriminator, Generator, fastconv, load_official_pickle, ops

KERNEL = [1, 3, 3, 1]


def randn(*shape, seed=0, scale=1.0):
    return tf.constant((np.random.default_rng(seed + len(shape)).standard_normal(shape) * scale)
                       .astype(np.float32))


def value_and_grads(fn, inputs, target):
    """fn(*inputs), and the gradients of sum(fn * target) to every input."""
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        y = fn(*inputs)
        loss = tf.reduce_sum(y * target)
    return [y] + tape.gradient(loss, inputs)


def assert_close(fast, plain, rtol):
    for a, b in zip(fast, plain):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= rtol * np.abs(b).max(), np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("chunk_pixels", [16 * 16, 64])  # whole samples; bands of rows
def test_winograd_conv_equals_direct_conv_and_its_gradients(monkeypatch, chunk_pixels):
    monkeypatch.setattr(fastconv, "WINOGRAD_CHUNK_VALUES", chunk_pixels * 8)
    x, w = randn(3, 16, 12, 8), randn(3, 3, 8, 6, scale=0.2)
    styles, scales, target = randn(3, 8, seed=1), randn(3, 6, seed=2), randn(3, 16, 12, 6, seed=3)

    def plain(x, w, s, d):
        return tf.nn.conv2d(x * s[:, None, None, :], w, 1, "SAME") * d[:, None, None, :]

    fast = value_and_grads(fastconv.winograd_conv_3x3, [x, w, styles, scales], target)
    assert_close(fast, value_and_grads(plain, [x, w, styles, scales], target), rtol=1e-5)


def test_phases_equal_the_transposed_convolution_and_fir(monkeypatch):
    monkeypatch.setattr(fastconv, "PHASES_CHUNK_PIXELS", 2 * 6 * 5)  # two samples a piece
    x, w = randn(3, 6, 5, 8), randn(3, 3, 8, 4, scale=0.2)
    styles, scales, target = randn(3, 8, seed=1), randn(3, 4, seed=2), randn(3, 12, 10, 4, seed=3)

    def fast(x, w, s, d):
        return fastconv.upsample_conv_phases(x, w, s, d, KERNEL)

    def plain(x, w, s, d):
        return ops.upsample_conv_2d(x * s[:, None, None, :], w, KERNEL) * d[:, None, None, :]

    assert_close(value_and_grads(fast, [x, w, styles, scales], target),
                 value_and_grads(plain, [x, w, styles, scales], target), rtol=1e-5)


@pytest.mark.parametrize("up", [False, True])
def test_fused_epilogue_and_its_gradients_match_the_layer_ops(monkeypatch, up):
    monkeypatch.setattr(fastconv, "WINOGRAD_CHUNK_VALUES", 32 * 8)  # bands of four rows
    size = 16 if up else 8
    x, w = randn(2, 8, 8, 8), randn(3, 3, 8, 6, scale=0.3)
    styles, scales = randn(2, 8, seed=1), tf.abs(randn(2, 6, seed=2)) + 0.5
    noise, strength, bias = randn(1, size, size, 1, seed=5), tf.constant(0.7), randn(6, seed=6)
    target = randn(2, size, size, 6, seed=3)

    def fast(x, w, s, d, noise, strength, bias):
        e = ops.layer_epilogue(noise, strength, bias, "lrelu", clamp_limit=1.5)
        if up:
            return fastconv.upsample_conv_phases(x, w, s, d, KERNEL, e)
        return fastconv.winograd_conv_3x3(x, w, s, d, e)

    def plain(x, w, s, d, noise, strength, bias):
        xs = x * s[:, None, None, :]
        y = (ops.upsample_conv_2d(xs, w, KERNEL) if up else tf.nn.conv2d(xs, w, 1, "SAME"))
        e = ops.layer_epilogue(noise, strength, bias, "lrelu", clamp_limit=1.5)
        return fastconv.apply_epilogue(y * d[:, None, None, :], e)

    inputs = [x, w, styles, scales, noise, strength, bias]
    fast_out, plain_out = value_and_grads(fast, inputs, target), value_and_grads(plain, inputs, target)
    assert np.mean(np.abs(plain_out[0].numpy()) >= 1.5) > 0.05  # the clamp is at work
    assert_close(fast_out, plain_out, rtol=3e-5)


@pytest.mark.parametrize("stride, pad, size", [(1, (2, 2), 12), (2, (1, 1), 12), (2, (2, 1), 11)])
def test_one_pass_fir_and_its_adjoint_equal_upfirdn(stride, pad, size):
    x, taps = randn(2, size, size + 2, 3), tuple(float(t) for t in fastconv.fir_taps_1d([1, 2, 3, 1], 1))
    out_h, out_w = ((size + sum(pad) - 4) // stride + 1, (size + 2 + sum(pad) - 4) // stride + 1)
    target = randn(2, out_h, out_w, 3, seed=3)

    def plain(x):
        return ops.upfirdn_2d(x, ops.fir_kernel_2d([1, 2, 3, 1]), down=stride, pad0=pad[0], pad1=pad[1])

    fast = value_and_grads(lambda x: fastconv.fir_2d(x, taps, pad, stride), [x], target)
    assert_close(fast, value_and_grads(plain, [x], target), rtol=1e-6)


@pytest.mark.parametrize("act", ["linear", "lrelu"])
def test_discriminator_convolutions_equal_the_plain_ones_and_their_gradients(act):
    """conv_same, winograd_bias_act and conv_down (1x1 and 3x3), each with bias and activation."""
    slope = ops.ACTIVATIONS[act][0]
    x, w3, w1 = randn(2, 16, 12, 8), randn(3, 3, 8, 6, scale=0.2), randn(1, 1, 8, 6, scale=0.2)
    bias = randn(6, seed=6)

    def direct(x, w, b):
        return fastconv.bias_act(tf.nn.conv2d(x, w, 1, "SAME"), b, slope)

    def down(x, w, b):
        with fastconv.plain_convolutions():
            return ops.conv_downsample_2d(x, w, KERNEL, bias=b, slope=slope)

    def down_fast(x, w, b):
        return fastconv.conv_down(x, w, KERNEL, b, slope)

    same, half = randn(2, 16, 12, 6, seed=3), randn(2, 8, 6, 6, seed=4)
    for fast, plain, w, target in [
            (lambda x, w, b: fastconv.conv_same(x, w, b, slope), direct, w3, same),
            (lambda x, w, b: fastconv.winograd_bias_act(x, w, b, slope), direct, w3, same),
            (down_fast, down, w3, half), (down_fast, down, w1, half)]:
        assert_close(value_and_grads(fast, [x, w, bias], target),
                     value_and_grads(plain, [x, w, bias], target), rtol=1e-5)


def test_fast_forms_only_where_they_pay():
    large, w512 = tf.zeros([1, 64, 64, 128]), tf.zeros([3, 3, 128, 128])
    assert fastconv.fast_path(large, w512, up=False, kernel=KERNEL) == "winograd"
    assert fastconv.fast_path(large, w512, up=True, kernel=KERNEL) == "phases"
    assert fastconv.fast_path(tf.zeros([8, 32, 32, 128]), w512, False, KERNEL) == "winograd"
    assert fastconv.fast_path(tf.zeros([1, 32, 32, 128]), w512, False, KERNEL) is None
    assert fastconv.fast_path(large, tf.zeros([3, 3, 128, 64]), False, KERNEL) is None
    assert fastconv.fast_path(large, tf.zeros([1, 1, 128, 128]), False, KERNEL) is None
    assert fastconv.fast_path(large, w512, up=True, kernel=[1, 1]) is None
    with fastconv.plain_convolutions():
        assert fastconv.fast_path(large, w512, up=False, kernel=KERNEL) is None
    assert fastconv.fast_path(large, w512, up=False, kernel=KERNEL) == "winograd"
    # The discriminator's down-sampling convolutions, 3x3 and the 1x1 skip.
    assert fastconv.fast_path(large, w512, False, KERNEL, down=True) == "blur"
    assert fastconv.fast_path(large, tf.zeros([1, 1, 128, 256]), False, KERNEL, down=True) == "blur"
    assert fastconv.fast_path(tf.zeros([8, 16, 16, 512]), w512, False, KERNEL, down=True) is None
    assert fastconv.fast_path(tf.zeros([1, 64, 64, 64]), tf.zeros([3, 3, 64, 128]), False, KERNEL,
                             down=True) is None
    assert fastconv.fast_path(large, w512, False, [1, 1], down=True) is None
    assert fastconv.fast_path(tf.cast(large, tf.float16), w512, False, KERNEL, down=True) is None


@pytest.fixture
def everything_fast(monkeypatch):
    """Thresholds low enough that a small network takes the fast forms everywhere they apply."""
    monkeypatch.setattr(fastconv, "WINOGRAD_MIN_PIXELS", 8 * 8)
    monkeypatch.setattr(fastconv, "WINOGRAD_MIN_CHANNELS", 8)
    monkeypatch.setattr(fastconv, "WINOGRAD_CHUNK_VALUES", 16 * 16 * 16)
    monkeypatch.setattr(fastconv, "PHASES_MIN_SIZE", 8)
    monkeypatch.setattr(fastconv, "PHASES_CHUNK_PIXELS", 8 * 8)
    monkeypatch.setattr(fastconv, "BLUR_MIN_SIZE", 8)


def test_networks_with_fast_forms_match_the_plain_ones(everything_fast):
    G = Generator(resolution=32, latent_size=32, dlatent_size=32, mapping_layers=2,
                  fmap_base=256, fmap_max=16, seed=0)
    D = Discriminator(resolution=32, fmap_base=256, fmap_max=16, seed=1)
    ws = G.mapping(randn(2, 32))
    noise = [tf.Variable(layer.noise(1, "const", tf.float32))
             for layer in G.synthesis.synthesis_layers()]
    for layer in G.synthesis.synthesis_layers():
        layer.noise_strength.assign(0.3)  # zero in a new network: no gradient to the noise
    target = randn(2, 32, 32, 3, seed=4)

    def g_and_grads():
        with tf.GradientTape() as tape:
            tape.watch(ws)
            loss = tf.reduce_sum(G.synthesis(ws, noise=noise) * target)
        return tape.gradient(loss, [ws] + noise)

    def d_and_grads(img):
        """D's logits, their gradients to the image and the weights, and R1's to the weights
        (a second-order gradient, through the gradients' own gradients)."""
        with tf.GradientTape(persistent=True) as outer:
            outer.watch(img)
            with tf.GradientTape() as inner:
                inner.watch(img)
                logits = D(img)
                total = tf.reduce_sum(logits)
            r1 = tf.reduce_sum(tf.square(inner.gradient(total, img)))
            loss = tf.reduce_sum(logits)
        # R1's gradients to the kernels (to a bias it is zero: leaky ReLU is piecewise linear).
        kernels = [v for v in D.trainable_weights if len(v.shape) > 1]
        return ([logits, outer.gradient(loss, img)] + outer.gradient(loss, D.trainable_weights)
                + outer.gradient(r1, kernels))

    fast_g, fast_d = g_and_grads(), d_and_grads(target)
    with fastconv.plain_convolutions():
        plain_g, plain_d = g_and_grads(), d_and_grads(target)
    assert_close(fast_g, plain_g, rtol=1e-4)  # W+ and every noise map
    assert_close(fast_d, plain_d, rtol=1e-4)


CONFIGF256 = os.environ.get("TOONEMO_CONFIGF256")


@pytest.mark.skipif(not CONFIGF256, reason="set TOONEMO_CONFIGF256 to the config-f 256 pickle "
                    "built by shared/peers/stylegan2-official/make_configf256.py")
def test_config_f_256_matches_nvidia_with_the_fast_forms():
    pkl = Path(CONFIGF256)
    expected = np.load(pkl.with_name(pkl.stem + "_expected.npz"))
    nets = load_official_pickle(pkl)
    ws = nets.Gs.mapping(expected["z"])
    img = nets.Gs.synthesis(ws, noise_mode="const").numpy()
    reference = expected["img_psi1"].transpose(0, 2, 3, 1)
    assert np.abs(img - reference).max() < 1e-3
    logits = nets.D(reference).numpy()
    assert np.abs(logits - expected["d_logits_img_psi1"]).max() < 1e-3
