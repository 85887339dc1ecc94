"""StyleGAN2 losses and regularisers against independent formulas (NVIDIA's semantics).

Numbers come from NVlabs/stylegan2 (training/loss.py, training/training_loop.py) and
NVlabs/stylegan2-ada-pytorch (training/loss.py, training/training_loop.py, train.py).
Networks are tiny, so the file runs in seconds on a CPU.
"""

import numpy as np
import pytest
import tensorflow as tf

from toonemo_lib.stylegan2 import Discriminator, Generator
from toonemo_lib.stylegan2.loss import (d_logistic_loss, g_nonsaturating_loss, path_length_penalty,
                                        path_lengths, pl_noise_like, r1_grad_norms, r1_penalty,
                                        style_mixing_ws, update_w_avg)
from toonemo_lib.stylegan2.optim import ema_beta, lazy_adam, update_ema
from toonemo_lib.stylegan2.presets import TrainingConfig, auto_batch, config_preset, pl_batch_size

tf.config.experimental.enable_tensor_float_32_execution(False)

SMALL = dict(latent_size=16, dlatent_size=16, mapping_layers=2, mapping_fmaps=16,
             fmap_base=64, fmap_max=16)


def small_generator(resolution=16, seed=0):
    return Generator(resolution=resolution, seed=seed, **SMALL)


def small_discriminator(resolution=8, seed=0):
    return Discriminator(resolution=resolution, seed=seed, fmap_base=64, fmap_max=16,
                         mbstd_group_size=2)


def softplus(x):
    return np.logaddexp(0.0, np.asarray(x, np.float64))


# --------------------------------------------------------------------------- losses


def test_logistic_losses_match_the_softplus_formulas():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(6, 1)) * 3, rng.normal(size=(6, 1)) * 3
    d = float(d_logistic_loss(real.astype(np.float32), fake.astype(np.float32)))
    g = float(g_nonsaturating_loss(fake.astype(np.float32)))
    assert d == pytest.approx(np.mean(softplus(fake) + softplus(-real)), rel=1e-5)
    assert g == pytest.approx(np.mean(-np.log(1 / (1 + np.exp(-fake)))), rel=1e-5)
    # a perfect D: huge real logits, very negative fake logits -> D loss ~ 0, G loss ~ 100
    assert float(d_logistic_loss([[100.0]], [[-100.0]])) == pytest.approx(0.0, abs=1e-6)
    assert float(g_nonsaturating_loss([[-100.0]])) == pytest.approx(100.0, rel=1e-6)


# --------------------------------------------------------------------------- R1


class QuadraticD:
    """D(x) = sum(a*x + b*x^2/2) per sample: dD/dx = a + b*x, known exactly."""

    def __init__(self, shape, seed=0):
        rng = np.random.default_rng(seed)
        self.a = rng.normal(size=shape).astype(np.float32)
        self.b = rng.normal(size=shape).astype(np.float32)

    def __call__(self, x):
        return tf.reduce_sum(self.a * x + 0.5 * self.b * x * x, axis=[1, 2, 3])[:, None]


def test_r1_is_the_squared_input_gradient_scaled_by_gamma_over_two_and_the_interval():
    x = np.random.default_rng(1).normal(size=(3, 4, 4, 3)).astype(np.float32)
    D = QuadraticD(x.shape[1:])
    expected = ((D.a + D.b * x).astype(np.float64) ** 2).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(r1_grad_norms(D, x).numpy(), expected, rtol=1e-5)
    assert float(r1_penalty(D, x, gamma=10.0)) == pytest.approx(expected.mean() * 5.0, rel=1e-5)
    assert float(r1_penalty(D, x, gamma=10.0, interval=16)) == \
        pytest.approx(expected.mean() * 5.0 * 16, rel=1e-5)


def test_r1_on_a_discriminator_matches_finite_differences_and_reaches_the_weights():
    D = small_discriminator()
    x = np.random.default_rng(2).normal(size=(2, 8, 8, 3)).astype(np.float32)
    reals = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(reals)
        total = tf.reduce_sum(D(reals))
    grads = tape.gradient(total, reals).numpy()
    np.testing.assert_allclose(r1_grad_norms(D, x).numpy(), (grads**2).sum(axis=(1, 2, 3)),
                               rtol=1e-5)
    # central differences on a few pixels, in float64 arithmetic on float32 outputs
    eps = 1e-2
    for n, i, j, ch in [(0, 3, 4, 0), (1, 0, 7, 2), (0, 6, 1, 1)]:
        plus, minus = x.copy(), x.copy()
        plus[n, i, j, ch] += eps
        minus[n, i, j, ch] -= eps
        numeric = (float(tf.reduce_sum(D(plus))) - float(tf.reduce_sum(D(minus)))) / (2 * eps)
        assert numeric == pytest.approx(grads[n, i, j, ch], rel=2e-2, abs=2e-3)
    with tf.GradientTape() as tape:
        penalty = r1_penalty(D, x, gamma=1.0, interval=16)
    weight_grads = tape.gradient(penalty, D.trainable_weights)
    missing = [v.path for v, g in zip(D.trainable_weights, weight_grads) if g is None]
    assert missing == ["Output/bias"]  # a constant shift of the logit has no input gradient


# --------------------------------------------------------------------------- path length


class LinearSynthesis:
    """images = einsum(ws, A): d sum(images * y) / d ws = einsum(y, A), known exactly."""

    def __init__(self, num_ws=4, w_dim=5, res=4, seed=0):
        self.A = np.random.default_rng(seed).normal(size=(num_ws, w_dim, res, res, 3)
                                                    ).astype(np.float32)

    def __call__(self, ws, noise_mode="random"):
        return tf.einsum("nrw,rwhxc->nhxc", ws, self.A)


class LinearG:
    def __init__(self, **kwargs):
        self.synthesis = LinearSynthesis(**kwargs)


def test_pl_noise_is_scaled_by_one_over_sqrt_of_the_pixel_count():
    images = tf.zeros([8, 16, 16, 3])
    noise = pl_noise_like(images, seed=3).numpy()
    raw = tf.random.stateless_normal([8, 16, 16, 3], seed=[3, 0]).numpy()
    np.testing.assert_allclose(noise, raw / 16.0, rtol=1e-6)
    assert noise.std() == pytest.approx(1 / 16, rel=0.05)
    assert pl_noise_like(tf.zeros([64, 4, 8, 3])).numpy().std() == \
        pytest.approx(1 / np.sqrt(32), rel=0.05)


def test_path_lengths_penalty_and_pl_mean_ema_follow_nvidia_formulas():
    G = LinearG()
    rng = np.random.default_rng(4)
    A = G.synthesis.A.astype(np.float64)
    pl_mean, history = 0.0, []
    for step in range(5):
        ws = rng.normal(size=(3, 4, 5)).astype(np.float32)
        noise = rng.normal(size=(3, 4, 4, 3)).astype(np.float32) / 4.0
        grads = np.einsum("nhxc,rwhxc->nrw", noise.astype(np.float64), A)
        lengths = np.sqrt((grads**2).sum(axis=2).mean(axis=1))
        expected_mean = pl_mean + 0.01 * (lengths.mean() - pl_mean)
        expected_penalty = ((lengths - expected_mean) ** 2).mean() * 2.0 * 4
        penalty, new_mean, got = path_length_penalty(G, ws, pl_mean, pl_noise=noise, interval=4)
        np.testing.assert_allclose(got.numpy(), lengths, rtol=1e-5)
        assert float(new_mean) == pytest.approx(expected_mean, rel=1e-5)
        assert float(penalty) == pytest.approx(expected_penalty, rel=1e-4)
        if step == 0:  # starts at 0: the first mean is 1% of the batch's mean length
            assert float(new_mean) == pytest.approx(0.01 * lengths.mean(), rel=1e-5)
        pl_mean = float(new_mean)
        history.append(pl_mean)
    assert all(b > a for a, b in zip(history, history[1:]))  # slowly climbing from 0


def test_path_length_penalty_backpropagates_into_mapping_and_synthesis():
    G = small_generator()
    z = np.random.default_rng(5).normal(size=(pl_batch_size(4), 16)).astype(np.float32)
    assert pl_batch_size(4) == 2 and pl_batch_size(1) == 1
    with tf.GradientTape() as tape:
        ws = G.mapping(z)
        penalty, new_mean, lengths = path_length_penalty(G, ws, tf.Variable(0.0), seed=1)
    grads = tape.gradient(penalty, G.trainable_weights)
    missing = {v.path for v, g in zip(G.trainable_weights, grads) if g is None}
    assert missing == {"ToRGB/bias"}  # ToRGB biases add constants, independent of ws
    mapping_ids = {id(v) for v in G.mapping.trainable_weights}
    mapping_grads = [g for v, g in zip(G.trainable_weights, grads) if id(v) in mapping_ids]
    assert len(mapping_grads) == 4 and all(np.abs(g.numpy()).sum() > 0 for g in mapping_grads)
    assert tuple(lengths.shape) == (2,) and np.all(lengths.numpy() > 0)
    again, _, _ = path_lengths(G, ws, seed=1, noise_mode="const")
    assert tuple(again.shape) == (2,)


# --------------------------------------------------------------------------- optimizers


@pytest.mark.parametrize("interval", [16, 4])
def test_lazy_adam_scales_lr_and_betas_by_the_minibatch_ratio(interval):
    opt = lazy_adam(0.002, 0.0, 0.99, interval=interval)
    ratio = interval / (interval + 1)
    assert float(opt.learning_rate) == pytest.approx(0.002 * ratio, rel=1e-6)
    assert opt.beta_1 == 0.0
    assert opt.beta_2 == pytest.approx(0.99**ratio, rel=1e-12)
    assert opt.epsilon == 1e-8
    plain = lazy_adam(0.002, 0.5, 0.99)
    assert float(plain.learning_rate) == pytest.approx(0.002) and plain.beta_1 == 0.5


def test_presets_build_lazy_optimizers_with_nvidia_numbers():
    cfg = config_preset("paper1024", 1024)
    assert float(cfg.d_optimizer().learning_rate) == pytest.approx(0.002 * 16 / 17, rel=1e-6)
    assert cfg.d_optimizer().beta_2 == pytest.approx(0.99 ** (16 / 17))
    assert float(cfg.g_optimizer().learning_rate) == pytest.approx(0.002 * 4 / 5, rel=1e-6)
    assert cfg.g_optimizer().beta_2 == pytest.approx(0.99 ** (4 / 5))


def test_fused_adam_takes_keras_adams_steps():
    """One ResourceApplyAdam per variable computes what Keras' Adam (TF1's epsilon placement) does."""
    import keras

    rng = np.random.default_rng(3)
    start = rng.normal(size=(3, 4)).astype(np.float32)
    ours, theirs = tf.Variable(start), tf.Variable(start)
    fused = lazy_adam(0.01, 0.0, 0.99, interval=16)
    reference = keras.optimizers.Adam(learning_rate=fused.learning_rate, beta_1=fused.beta_1,
                                      beta_2=fused.beta_2, epsilon=fused.epsilon)
    for _ in range(5):
        grad = tf.constant(rng.normal(size=(3, 4)).astype(np.float32))
        fused.apply_gradients([(grad, ours)])
        reference.apply_gradients([(grad, theirs)])
    assert int(fused.iterations) == 5 and len(fused.variables) == 3
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)


def test_main_and_regularisation_steps_share_one_adam_state():
    v = tf.Variable([1.0, 2.0])
    opt = lazy_adam(0.1, 0.0, 0.99, interval=4)
    opt.apply_gradients([(tf.constant([1.0, 1.0]), v)])  # main step
    opt.apply_gradients([(tf.constant([2.0, 0.0]), v)])  # regularisation step
    assert int(opt.iterations) == 2
    beta2 = 0.99 ** 0.8
    second_moment = (1 - beta2) * (beta2 * np.array([1.0, 1.0]) + np.array([4.0, 0.0]))
    np.testing.assert_allclose(opt.velocities[0].numpy(), second_moment, rtol=1e-5)


# --------------------------------------------------------------------------- style mixing, w_avg


def test_style_mixing_with_probability_zero_keeps_all_rows_equal():
    G = small_generator()
    z = np.random.default_rng(6).normal(size=(3, 16)).astype(np.float32)
    ws, cutoff = style_mixing_ws(G, z, prob=0.0, rng=np.random.default_rng(0), return_cutoff=True)
    assert int(cutoff) == G.num_ws
    np.testing.assert_array_equal(ws.numpy(), np.repeat(ws.numpy()[:, :1], G.num_ws, axis=1))


@pytest.mark.parametrize("use_tf_rng", [False, True])
def test_style_mixing_with_probability_one_switches_latents_at_a_cutoff(use_tf_rng):
    G = small_generator()
    rng = tf.random.Generator.from_seed(0) if use_tf_rng else np.random.default_rng(0)
    z = np.random.default_rng(7).normal(size=(2, 16)).astype(np.float32)
    w_avg = G.mapping.w_avg.numpy().copy()
    ws_a = G.mapping(z).numpy()
    cutoffs = set()
    for _ in range(30):
        z2 = np.random.default_rng(len(cutoffs)).normal(size=(2, 16)).astype(np.float32)
        ws, cutoff = style_mixing_ws(G, z, prob=1.0, rng=rng, z2=z2, return_cutoff=True)
        cutoff, ws = int(cutoff), ws.numpy()
        assert 1 <= cutoff < G.num_ws
        np.testing.assert_allclose(ws[:, :cutoff], ws_a[:, :cutoff], rtol=1e-6)
        np.testing.assert_allclose(ws[:, cutoff:], G.mapping(z2).numpy()[:, cutoff:], rtol=1e-6)
        cutoffs.add(cutoff)
    assert cutoffs == set(range(1, G.num_ws))  # every cutoff in [1, num_ws) is drawn
    np.testing.assert_array_equal(G.mapping.w_avg.numpy(), w_avg)  # left alone
    mixed = style_mixing_ws(G, z, prob=1.0, rng=np.random.default_rng(1)).numpy()
    assert not np.allclose(mixed[:, -1], mixed[:, 0])  # drawn z2 differs from z


def test_update_w_avg_is_the_ema_toward_the_batch_mean():
    G = small_generator()
    G.mapping.w_avg.assign(np.full(16, 0.5, np.float32))
    ws = G.mapping(np.random.default_rng(8).normal(size=(5, 16)).astype(np.float32))
    batch_mean = ws.numpy()[:, 0].mean(axis=0)
    out = update_w_avg(G, ws)
    expected = batch_mean + (0.5 - batch_mean) * 0.995
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(G.mapping.w_avg.numpy(), expected, rtol=1e-6)
    update_w_avg(G, ws[:, 0], beta=0.0)
    np.testing.assert_allclose(G.mapping.w_avg.numpy(), batch_mean, rtol=1e-6)


# --------------------------------------------------------------------------- generator EMA


def test_ema_beta_for_the_presets_and_the_rampup():
    assert ema_beta(32, 10) == 0.5 ** (32 / 10000)  # paper1024 / stylegan2, batch 32
    assert config_preset("paper1024", 1024).ema_beta() == pytest.approx(0.5 ** (32 / 10000))
    assert config_preset("paper256", 256).ema_beta() == pytest.approx(0.5 ** (64 / 20000))
    assert config_preset("paper512", 512).ema_beta() == pytest.approx(0.5 ** (64 / 20000))
    auto = config_preset("auto", 256)  # batch 16, ema_kimg 5, ramp-up 0.05
    assert auto.ema_beta(cur_nimg=10**6) == pytest.approx(0.5 ** (16 / 5000))
    assert auto.ema_beta(cur_nimg=1000) == pytest.approx(0.5 ** (16 / 50))  # min(5000, 1000*0.05)
    assert auto.ema_beta(cur_nimg=1000, resuming=True) == pytest.approx(0.5 ** (16 / 5000))
    assert ema_beta(16, 5, cur_nimg=0, rampup=0.05) == 0.0  # first step: G_ema = G
    with pytest.raises(ValueError, match="cur_nimg"):
        ema_beta(16, 5, rampup=0.05)


def test_update_ema_lerps_trainables_and_copies_non_trainable_state():
    G, G_ema = small_generator(seed=0), small_generator(seed=1)
    G.mapping.w_avg.assign(np.arange(16, dtype=np.float32))
    before = [v.numpy().copy() for v in G_ema.trainable_weights]
    update_ema(G_ema, G, 0.9)
    for old, ema_var, var in zip(before, G_ema.trainable_weights, G.trainable_weights):
        np.testing.assert_allclose(ema_var.numpy(), var.numpy() + (old - var.numpy()) * 0.9,
                                   rtol=1e-5, atol=1e-7)
    for ema_var, var in zip(G_ema.non_trainable_weights, G.non_trainable_weights):
        np.testing.assert_array_equal(ema_var.numpy(), var.numpy())
    np.testing.assert_array_equal(G_ema.mapping.w_avg.numpy(), np.arange(16))
    update_ema(G_ema, G, 0.0)
    for ema_var, var in zip(G_ema.weights, G.weights):
        np.testing.assert_array_equal(ema_var.numpy(), var.numpy())
    with pytest.raises(ValueError):
        update_ema(small_generator(resolution=8), G, 0.5)


# --------------------------------------------------------------------------- configurations

# stylegan2-ada-pytorch train.py, cfg_specs
NVIDIA_TABLE = {
    "stylegan2": dict(ref_gpus=8, kimg=25000, mb=32, mbstd=4, fmaps=1, lrate=0.002, gamma=10,
                      ema=10, ramp=None, map=8),
    "paper256": dict(ref_gpus=8, kimg=25000, mb=64, mbstd=8, fmaps=0.5, lrate=0.0025, gamma=1,
                     ema=20, ramp=None, map=8),
    "paper512": dict(ref_gpus=8, kimg=25000, mb=64, mbstd=8, fmaps=1, lrate=0.0025, gamma=0.5,
                     ema=20, ramp=None, map=8),
    "paper1024": dict(ref_gpus=8, kimg=25000, mb=32, mbstd=4, fmaps=1, lrate=0.002, gamma=2,
                      ema=10, ramp=None, map=8),
}


@pytest.mark.parametrize("name", sorted(NVIDIA_TABLE))
def test_named_presets_match_stylegan2_ada(name):
    spec, res = NVIDIA_TABLE[name], 1024
    cfg = config_preset(name, res)
    got = dict(ref_gpus=cfg.ref_gpus, kimg=cfg.kimg, mb=cfg.batch, mbstd=cfg.mbstd,
               fmaps=cfg.fmaps, lrate=cfg.lrate, gamma=cfg.gamma, ema=cfg.ema_kimg,
               ramp=cfg.ema_rampup, map=cfg.map_layers)
    assert got == spec
    # channel_base = fmaps * 32768 in stylegan2-ada is fmap_base = fmaps * 16384 in TF1 units
    assert cfg.fmap_base == int(spec["fmaps"] * 16384) and cfg.fmap_max == 512
    assert (cfg.betas, cfg.epsilon, cfg.style_mixing_prob) == ((0.0, 0.99), 1e-8, 0.9)
    assert (cfg.pl_weight, cfg.pl_decay, cfg.pl_batch_shrink) == (2.0, 0.01, 2)
    assert (cfg.r1_interval, cfg.pl_interval, cfg.w_avg_beta) == (16, 4, 0.995)
    assert config_preset(name, res, batch=8).batch == 8
    assert config_preset(name, res, batch=8).gamma == spec["gamma"]


@pytest.mark.parametrize("res,gpus,mb,mbstd,fmaps,lrate", [
    (256, 1, 16, 4, 0.5, 0.0025), (512, 2, 16, 4, 1, 0.0025), (1024, 8, 32, 4, 1, 0.002),
    (32, 1, 32, 4, 0.5, 0.0025), (128, 8, 64, 4, 0.5, 0.0025), (1024, 1, 4, 4, 1, 0.002)])
def test_auto_preset_formulas(res, gpus, mb, mbstd, fmaps, lrate):
    cfg = config_preset("auto", res, gpus=gpus)
    assert auto_batch(res, gpus) == cfg.batch == mb
    assert (cfg.mbstd, cfg.fmaps, cfg.lrate, cfg.map_layers) == (mbstd, fmaps, lrate, 2)
    assert cfg.gamma == pytest.approx(0.0002 * res**2 / mb)
    assert cfg.ema_kimg == pytest.approx(mb * 10 / 32) and cfg.ema_rampup == 0.05
    assert cfg.ref_gpus == gpus and cfg.kimg == 25000
    custom = config_preset("auto", res, batch=2, gpus=1)
    assert (custom.batch, custom.mbstd) == (2, 2)
    assert custom.gamma == pytest.approx(0.0002 * res**2 / 2)
    assert custom.ema_kimg == pytest.approx(2 * 10 / 32)


@pytest.mark.parametrize("name,low,high", [("tiny", 0.2e6, 0.45e6), ("small", 0.6e6, 1.0e6)])
def test_cpu_presets_build_small_networks(name, low, high):
    cfg = config_preset(name, 32)
    assert isinstance(cfg, TrainingConfig) and cfg.ema_rampup == 0.05
    assert cfg.gamma == pytest.approx(0.0002 * 32**2 / cfg.batch)
    G = Generator(seed=0, **cfg.generator_kwargs())
    D = Discriminator(seed=0, **cfg.discriminator_kwargs())
    count = sum(int(np.prod(v.shape)) for v in G.trainable_weights)
    assert low < count < high
    z = np.random.default_rng(0).normal(size=(cfg.batch, G.latent_size)).astype(np.float32)
    assert tuple(D(G(z)).shape) == (cfg.batch, 1)
    assert cfg.pl_batch == cfg.batch // 2


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="unknown training configuration"):
        config_preset("cifar", 32)
