"""AdaIN eq. (1) and (2) against NumPy written out by hand."""

import keras
import numpy as np
import pytest
from keras import ops

from toonemo_lib.lessons.adain import EPSILON, StyleAdaIN, adain, instance_norm, style_modulate


def _np_moments(a):
    return a.mean(axis=(1, 2), keepdims=True), np.sqrt(a.var(axis=(1, 2), keepdims=True) + EPSILON)


@pytest.fixture
def maps():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(3, 9, 7, 5)).astype("float32")
    y = rng.gamma(2.0, 2.0, size=(3, 4, 6, 5)).astype("float32")
    return x, y


def test_instance_norm_gives_zero_mean_unit_std_per_sample_and_channel(maps):
    x, _ = maps
    out = ops.convert_to_numpy(instance_norm(x))
    np.testing.assert_allclose(out.mean(axis=(1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2)), 1, atol=1e-3)


def test_adain_eq1_matches_numpy(maps):
    x, y = maps
    mx, sx = _np_moments(x)
    my, sy = _np_moments(y)
    expected = sy * (x - mx) / sx + my
    np.testing.assert_allclose(ops.convert_to_numpy(adain(x, y)), expected, atol=1e-5)


def test_adain_output_carries_the_style_statistics(maps):
    x, y = maps
    out = ops.convert_to_numpy(adain(x, y))
    np.testing.assert_allclose(out.mean(axis=(1, 2)), y.mean(axis=(1, 2)), atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2)), y.std(axis=(1, 2)), rtol=1e-3)


def test_style_modulate_eq2_matches_numpy(maps):
    x, _ = maps
    rng = np.random.default_rng(1)
    ys, yb = rng.normal(1, 0.3, (3, 5)).astype("float32"), rng.normal(0, 1, (3, 5)).astype("float32")
    mx, sx = _np_moments(x)
    expected = ys[:, None, None] * (x - mx) / sx + yb[:, None, None]
    np.testing.assert_allclose(ops.convert_to_numpy(style_modulate(x, ys, yb)), expected, atol=1e-5)


def test_style_adain_layer_computes_eq2_from_w_and_round_trips(maps, tmp_path):
    x, _ = maps
    w = np.random.default_rng(2).normal(size=(3, 8)).astype("float32")
    x_in, w_in = keras.Input((9, 7, 5)), keras.Input((8,))
    model = keras.Model([x_in, w_in], StyleAdaIN(name="adain")([x_in, w_in]))
    layer = model.get_layer("adain")
    a_s, b_s = layer.to_scale.get_weights()
    a_b, b_b = layer.to_bias.get_weights()
    np.testing.assert_array_equal(b_s, 1.0)  # an untrained block starts with unit scale
    mx, sx = _np_moments(x)
    expected = (w @ a_s + b_s)[:, None, None] * (x - mx) / sx + (w @ a_b + b_b)[:, None, None]
    out = model.predict([x, w], verbose=0)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    model.save(tmp_path / "adain.keras")
    again = keras.saving.load_model(tmp_path / "adain.keras")
    np.testing.assert_allclose(again.predict([x, w], verbose=0), out, atol=1e-6)


def test_bad_shapes_get_clear_errors(maps):
    x, y = maps
    with pytest.raises(ValueError, match="same channels"):
        adain(x, y[..., :3])
    with pytest.raises(ValueError, match="rank 4"):
        instance_norm(x[0])
    with pytest.raises(ValueError, match=r"y_scale must have shape \(N, 5\)"):
        style_modulate(x, np.ones((3, 4)), np.zeros((3, 5)))
