"""Projection (NVIDIA's projector, W and W+) on a tiny generator, and the perceptual distances."""

import math

import numpy as np
import pytest

from toonemo_lib.stylegan2.demo import tiny_generator
from toonemo_lib.stylegan2.perceptual import STAND_IN_NAME, StandInDistance, perceptual_distance
from toonemo_lib.stylegan2.project import (latent_noise_scale, learning_rate, noise_regularization,
                                           normalize_noise, prepare_target, project, render,
                                           w_statistics)
from toonemo_lib.torch_weights import write_torch_tensors

STEPS = 150


@pytest.fixture(scope="module")
def G():
    return tiny_generator(16, seed=0, w_avg_samples=500)


@pytest.fixture(scope="module")
def stats(G):
    return w_statistics(G, samples=2000)


@pytest.fixture(scope="module")
def target(G):
    """An image G itself draws: a random w and random noise maps."""
    z = np.random.RandomState(5).randn(1, G.latent_size).astype(np.float32)
    rng = np.random.default_rng(1)
    noise = [rng.standard_normal(s).astype(np.float32) for s in G.synthesis.noise_shapes()]
    return np.asarray(G.synthesis(np.asarray(G.mapping(z)), noise=noise))[0]


@pytest.fixture(scope="module")
def results(G, stats, target):
    return {space: project(G, target, steps=STEPS, space=space, w_stats=stats, progress=False,
                           image_steps=(0, STEPS))
            for space in ("w", "w+")}


def mse(a, b):
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


# --------------------------------------------------------------------------- projection


@pytest.mark.parametrize("space", ["w", "w+"])
def test_projection_recovers_the_image(G, target, results, space):
    r = results[space]
    start = mse(render(G, r.initial_latent, r.initial_noise), target)
    end = mse(r.synthesize(G), target)
    print(f"{space}: image MSE {start:.4f} -> {end:.4f}, distance {r.distances[0]:.4f} -> "
          f"{r.distances[-1]:.4f}")
    assert end < 0.05 * start
    assert r.distances[-10:].mean() < 0.1 * r.distances[:10].mean()
    assert r.latent.shape == (G.num_ws, G.w_dim)
    assert r.losses.shape == r.distances.shape == (STEPS,)
    assert set(r.images) == {0, STEPS} and r.images[STEPS].dtype == np.uint8


def test_w_space_uses_one_w_and_w_plus_one_per_layer(results):
    w, wp = results["w"], results["w+"]
    assert np.array_equal(w.latent, np.tile(w.w[None], [len(w.latent), 1]))
    assert wp.w is None and not np.allclose(wp.latent, wp.latent[:1])


def test_stand_in_distance_is_named_and_never_lpips(results):
    for r in results.values():
        assert r.distance_name == STAND_IN_NAME
        # it may say which weights are missing, but never presents itself as LPIPS
        assert r.distance_name.startswith("stand-in") and not r.distance_name.startswith("LPIPS")
    assert not StandInDistance.is_lpips


def test_noise_maps_are_renormalised(G, results):
    for r in results.values():
        assert [n.shape for n in r.noise] == [tuple(s) for s in G.synthesis.noise_shapes()]
        for n in r.noise:
            assert abs(n.mean()) < 1e-4 and abs(n.std() - 1) < 1e-3


def test_generator_weights_do_not_change(stats, target):
    G = tiny_generator(16, seed=0, w_avg_samples=500)
    before = [v.numpy().copy() for v in G.weights]
    project(G, target, steps=5, space="w+", w_stats=stats, progress=False)
    after = [v.numpy().copy() for v in G.weights]
    assert len(before) == len(after) and all(np.array_equal(a, b) for a, b in zip(before, after))


def test_warm_start_continues_from_the_given_latent(G, stats, target, results):
    r = results["w+"]
    again = project(G, target, steps=20, space="w+", w_stats=stats, progress=False,
                    warm_start=(r.latent, r.noise))
    np.testing.assert_array_equal(again.initial_latent, r.latent)
    # the first step has lr 0 (ramp-up) and only latent noise: it starts where r ended
    assert again.distances[0] < 0.2 * r.distances[0]
    cold = project(G, target, steps=1, space="w+", w_stats=stats, progress=False)
    np.testing.assert_allclose(cold.latent, np.tile(stats[0][None], [G.num_ws, 1]), atol=1e-6)


def test_warm_start_shapes_are_checked(G, stats, target, results):
    r = results["w+"]
    with pytest.raises(ValueError, match="space='w\\+'"):
        project(G, target, steps=1, space="w", w_stats=stats, progress=False,
                warm_start=(r.latent, None))
    with pytest.raises(ValueError, match="warm-start latent"):
        project(G, target, steps=1, w_stats=stats, progress=False,
                warm_start=(np.zeros(3), None))
    with pytest.raises(ValueError, match="warm-start noise"):
        project(G, target, steps=1, w_stats=stats, progress=False,
                warm_start=(None, r.noise[:-1]))


def test_bad_targets_give_clear_errors(G, target):
    with pytest.raises(ValueError, match="channels"):
        prepare_target(G, target[..., :1])
    with pytest.raises(ValueError, match="32x32 but the generator draws 16x16"):
        prepare_target(G, np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="one image at a time"):
        prepare_target(G, np.zeros((2, 16, 16, 3), np.uint8))
    with pytest.raises(ValueError, match=r"\[H, W, C\]"):
        prepare_target(G, np.zeros(16))
    with pytest.raises(ValueError, match="uint8"):
        prepare_target(G, np.full((16, 16, 3), 200.0))
    with pytest.raises(ValueError, match="space"):
        project(G, target, space="z", progress=False)
    img = prepare_target(G, np.full((16, 16, 3), 255, np.uint8))
    assert img.shape == (1, 16, 16, 3) and np.allclose(img, 1.0)


def test_explicit_noise_equals_the_const_noise_mode(G):
    ws = np.asarray(G.mapping(np.random.RandomState(0).randn(1, G.latent_size)))
    const = [np.transpose(layer.noise_const.numpy(), [0, 2, 3, 1])
             for layer in G.synthesis.synthesis_layers()]
    np.testing.assert_allclose(np.asarray(G.synthesis(ws, noise=const)),
                               np.asarray(G.synthesis(ws, noise_mode="const")), atol=1e-6)
    with pytest.raises(ValueError, match="noise maps"):
        G.synthesis(ws, noise=const[:-1])


# --------------------------------------------------------------------------- schedules


def test_learning_rate_follows_nvidias_schedule():
    assert learning_rate(0.0) == 0.0                       # linear ramp-up over 5%
    assert learning_rate(0.025) == pytest.approx(0.05)
    assert learning_rate(0.05) == pytest.approx(0.1)
    assert learning_rate(0.5) == pytest.approx(0.1)
    assert learning_rate(0.75) == pytest.approx(0.1)        # cosine ramp-down over the last 25%
    assert learning_rate(0.875) == pytest.approx(0.05)
    t = 0.9
    assert learning_rate(t) == pytest.approx(0.1 * (0.5 - 0.5 * math.cos(math.pi * (1 - t) / 0.25)))
    assert learning_rate(1.0) == pytest.approx(0.0)
    assert learning_rate(0.5, initial_learning_rate=0.3) == pytest.approx(0.3)


def test_latent_noise_ramp_follows_nvidias_formula():
    assert latent_noise_scale(0.0, 2.0) == pytest.approx(0.1)
    assert latent_noise_scale(0.375, 2.0) == pytest.approx(0.1 * 0.25)
    assert latent_noise_scale(0.75, 2.0) == 0.0
    assert latent_noise_scale(0.9, 2.0) == 0.0


def test_w_statistics_are_the_mean_and_scalar_rms_distance(G):
    w_avg, w_std = w_statistics(G, samples=300, seed=123)
    z = np.random.RandomState(123).randn(300, G.latent_size).astype(np.float32)
    ws = np.asarray(G.mapping(z))[:, 0].astype(np.float64)
    np.testing.assert_allclose(w_avg, ws.mean(0), rtol=1e-5, atol=1e-6)
    assert w_std == pytest.approx(np.sqrt(((ws - ws.mean(0)) ** 2).sum() / 300), rel=1e-5)


def test_noise_regularization_matches_the_formula():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    n = rng.standard_normal((1, 32, 32, 1)).astype(np.float32)
    expected, m = 0.0, n[0, :, :, 0].astype(np.float64)
    while m.shape[0] > 8:
        expected += np.mean(m * np.roll(m, 1, axis=1)) ** 2 + np.mean(m * np.roll(m, 1, axis=0)) ** 2
        m = m.reshape(m.shape[0] // 2, 2, m.shape[1] // 2, 2).mean(axis=(1, 3))
    assert float(noise_regularization([tf.constant(n)])) == pytest.approx(expected, rel=1e-4)
    assert float(noise_regularization([tf.ones((1, 8, 8, 1))])) == 0.0  # too small: no term
    smooth = np.tile(np.linspace(-1, 1, 32, dtype=np.float32)[None, :, None, None], [1, 1, 32, 1])
    assert float(noise_regularization([tf.constant(smooth)])) > 100 * expected


def test_normalize_noise():
    import tensorflow as tf

    v = tf.Variable(np.random.default_rng(0).normal(3.0, 5.0, (1, 16, 16, 1)).astype(np.float32))
    normalize_noise([v])
    assert abs(float(tf.reduce_mean(v))) < 1e-5 and abs(float(tf.math.reduce_std(v)) - 1) < 1e-5


# --------------------------------------------------------------------------- distances


def test_stand_in_distance_is_zero_for_equal_images_and_grows():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    d = StandInDistance()
    assert np.allclose(d(a, a), 0)
    near, far = d(a, a + 0.05), d(a, a + rng.normal(0, 0.5, a.shape).astype(np.float32))
    assert near.shape == (2,) and np.all(np.asarray(far) > np.asarray(near))


def test_perceptual_distance_falls_back_and_says_what_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path))
    assert perceptual_distance().name == STAND_IN_NAME
    assert perceptual_distance(prefer="stand-in").name == STAND_IN_NAME
    with pytest.raises(FileNotFoundError) as err:
        perceptual_distance(prefer="lpips!")
    message = str(err.value)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert str(tmp_path / "keras") in message and "https://" in message
    with pytest.raises(ValueError, match="prefer"):
        perceptual_distance(prefer="l2")


def test_lpips_is_used_when_its_files_are_cached(tmp_path, monkeypatch, G, stats, target):
    """The LPIPS path end to end, offline: a VGG16 of random weights written in the layout of
    Keras' own notop file (legacy h5), and lin weights in torch's legacy format, as LPIPS ships them."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    from toonemo_lib.download import artefact

    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path))
    vgg_path, lin_path = artefact("vgg16-notop").path, artefact("lpips-vgg-lin").path
    vgg_path.parent.mkdir(parents=True)
    lin_path.parent.mkdir(parents=True)
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    with h5py.File(vgg_path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, vgg)
    lin = {f"lin{i}.model.1.weight": (np.full(c, 0.05, np.float32), 0, (1, c, 1, 1), (c, 1, 1, 1))
           for i, c in enumerate((64, 128, 256, 512, 512))}
    write_torch_tensors(lin_path, lin, legacy=True)

    distance = perceptual_distance()
    assert distance.is_lpips and distance.name.startswith("LPIPS")
    a = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)
    assert float(distance(a, a)[0]) == 0.0 and float(distance(a, np.clip(a + 0.3, -1, 1))[0]) > 0
    result = project(G, target, steps=3, w_stats=stats, distance=distance, progress=False)
    assert result.distance_name == distance.name and np.isfinite(result.losses).all()


def test_a_reused_projector_starts_afresh(G, stats, target):
    """`project` keeps its traced step between calls; a reused one must give what a new one gives."""
    import importlib

    project_module = importlib.import_module("toonemo_lib.stylegan2.project")  # the package's `project` is the function

    distance = StandInDistance()
    other = np.ascontiguousarray(target[::-1])
    first = project(G, target, steps=6, space="w+", distance=distance, w_stats=stats, progress=False)
    reused = project(G, other, steps=6, space="w+", distance=distance, w_stats=stats, seed=3, progress=False)
    project_module._PROJECTORS.clear()
    fresh = project(G, other, steps=6, space="w+", distance=distance, w_stats=stats, seed=3, progress=False)
    np.testing.assert_allclose(reused.losses, fresh.losses, rtol=1e-5)
    np.testing.assert_allclose(reused.latent, fresh.latent, rtol=1e-5, atol=1e-6)
    assert not np.allclose(first.losses, fresh.losses)


def test_frozen_noise_stays_as_given_while_the_latent_moves(G, stats, target, results):
    start = results["w+"]
    frozen = project(G, target, steps=4, space="w+", distance=StandInDistance(), w_stats=stats, progress=False,
                     warm_start=(start.latent, start.noise), optimize_noise=False)
    for got, given in zip(frozen.noise, start.noise):
        np.testing.assert_allclose(got, given, atol=1e-5)   # only renormalised, and it was already
    assert not np.allclose(frozen.latent, start.latent)
