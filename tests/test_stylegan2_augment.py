"""ADA (toonemo_lib.stylegan2.augment): NVIDIA's bgc augmentation pipeline and its p rule."""

import numpy as np
import pytest
import tensorflow as tf

from toonemo_lib.stylegan2.augment import (ADA_KIMG, ADA_KIMG_RESUME, PRESETS, AdaController,
                                           AugmentPipe, ada_kimg_for, ada_update, apply_params, make_augment,
                                           resample)


def _images(n=4, size=16, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(n, size, size, channels)).astype(np.float32)


def test_bgc_enables_exactly_the_listed_transforms():
    pipe = AugmentPipe("bgc")
    on = {t for t, m in pipe.multipliers.items() if m > 0}
    assert on == {"xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
                  "brightness", "contrast", "lumaflip", "hue", "saturation"}
    assert set(PRESETS["bg"]) == on - {"brightness", "contrast", "lumaflip", "hue", "saturation"}
    assert pipe.strengths["scale_std"] == 0.2 and pipe.strengths["contrast_std"] == 0.5
    with pytest.raises(ValueError):
        AugmentPipe("nope")
    with pytest.raises(TypeError):
        AugmentPipe(warp=1)


@pytest.mark.parametrize("p", [0.0, tf.constant(0.0)])
def test_p_zero_is_exactly_the_identity(p):
    x = _images()
    y = AugmentPipe("bgc", seed=1)(x, p=p)
    np.testing.assert_array_equal(y.numpy(), x)


def test_shape_and_dtype_are_preserved():
    x = _images(n=3, size=12)
    y = AugmentPipe("bgc", seed=1)(x, p=1.0)
    assert y.shape == x.shape and y.dtype == tf.float32
    y16 = AugmentPipe("bgc", seed=1)(tf.constant(x, tf.float16), p=1.0)
    assert y16.shape == x.shape and y16.dtype == tf.float16
    grey = AugmentPipe("bgc", seed=1)(x[..., :1], p=1.0)
    assert grey.shape == (3, 12, 12, 1)


def test_xflip_with_p_one_mirrors_or_keeps_each_image_and_half_are_flipped():
    x = _images(n=16)
    y, params = AugmentPipe(xflip=1, seed=2)(x, p=1.0, return_params=True)
    y = y.numpy()
    flipped = params["G_inv"].numpy()[:, 0, 0] == -1
    for i in range(len(x)):
        np.testing.assert_array_equal(y[i], x[i, :, ::-1] if flipped[i] else x[i])
    # NVIDIA: a fair coin, gated by p -> P(flip) = p / 2
    g = AugmentPipe(xflip=1, seed=3).sample_params(4000, 8, 8, p=0.5)["G_inv"].numpy()
    assert abs((g[:, 0, 0] == -1).mean() - 0.25) < 0.03


def test_rotate90_gives_one_of_the_four_rotations():
    x = _images(n=12)
    y = AugmentPipe(rotate90=1, seed=4)(x, p=1.0).numpy()
    seen = set()
    for i in range(len(x)):
        matches = [k for k in range(4) if np.array_equal(y[i], np.rot90(x[i], k, axes=(0, 1)))]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) >= 3


def test_integer_translation_moves_content_by_whole_pixels():
    x = _images(n=8, size=32)
    y, params = AugmentPipe(xint=1, seed=5)(x, p=1.0, return_params=True)
    y, g = y.numpy(), params["G_inv"].numpy()
    moved = 0
    for i in range(len(x)):
        tx, ty = -g[i, 0, 2], -g[i, 1, 2]  # G_inv maps output -> input, so content moves by +t
        assert tx == round(tx) and ty == round(ty) and abs(tx) <= 4 and abs(ty) <= 4
        tx, ty = int(tx), int(ty)
        moved += (tx, ty) != (0, 0)
        src = x[i, max(0, -ty):32 - max(0, ty), max(0, -tx):32 - max(0, tx)]
        dst = y[i, max(0, ty):32 - max(0, -ty), max(0, tx):32 - max(0, -tx)]
        np.testing.assert_array_equal(dst, src)  # exact inside; the margin is reflected
        if tx > 0:  # reflect padding: column tx-1-k shows input column k+1
            np.testing.assert_array_equal(y[i, max(0, ty):32 - max(0, -ty), tx - 1],
                                          x[i, max(0, -ty):32 - max(0, ty), 1])
    assert moved >= 6


def test_colour_transforms_keep_grey_without_brightness():
    # contrast, hue, saturation are linear about the grey point 0 of [-1, 1]
    zero = np.zeros((8, 4, 4, 3), np.float32)
    pipe = AugmentPipe(contrast=1, lumaflip=1, hue=1, saturation=1, seed=6)
    np.testing.assert_array_equal(pipe(zero, p=1.0).numpy(), zero)
    # hue and saturation act around the luma axis: a grey pixel (r = g = b) stays put
    grey = np.tile(np.linspace(-0.9, 0.9, 8, dtype=np.float32)[:, None, None, None], [1, 4, 4, 3])
    out = AugmentPipe(hue=1, saturation=1, seed=7)(grey, p=1.0).numpy()
    np.testing.assert_allclose(out, grey, atol=1e-5)
    # but they do change colours
    x = _images(n=8)
    assert np.abs(AugmentPipe(hue=1, saturation=1, seed=7)(x, p=1.0).numpy() - x).max() > 0.05


def test_brightness_shifts_every_channel_by_the_sampled_amount():
    x = _images(n=8)
    y, params = AugmentPipe(brightness=1, seed=8)(x, p=1.0, return_params=True)
    b = params["C"].numpy()[:, :3, 3]
    assert np.allclose(b[:, 0:1], b) and np.std(b[:, 0]) > 0.05
    np.testing.assert_allclose(y.numpy() - x, np.broadcast_to(b[:, None, None, :], x.shape), atol=1e-6)
    np.testing.assert_allclose(y.numpy().mean(axis=(1, 2, 3)) - x.mean(axis=(1, 2, 3)), b[:, 0],
                               atol=1e-6)


def test_gradients_flow_to_the_input_images():
    x = tf.constant(_images(n=4))
    pipe = AugmentPipe("bgc", seed=9)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.square(pipe(x, p=1.0)))
    grad = tape.gradient(loss, x)
    assert grad is not None
    grad = grad.numpy()
    assert np.all(np.isfinite(grad)) and np.all(np.abs(grad).sum(axis=(1, 2, 3)) > 0)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_r1s_second_order_gradient_runs_through_skipped_and_applied_transforms(p):
    """R1 differentiates D(augment(x)) twice; identity matrices take the skipping branch."""
    pipe = AugmentPipe("bgc", seed=4)
    x = tf.constant(_images(n=3))
    weights = tf.Variable(tf.constant(_images(n=1)[0]))

    @tf.function
    def penalty_gradient(p):
        params = pipe.sample_params(3, 16, 16, p=p, seed=tf.constant(8, tf.int64))
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                logits = tf.reduce_sum(tf.tanh(apply_params(x, params) * weights), axis=[1, 2, 3])
            penalty = tf.reduce_sum(tf.square(inner.gradient(logits, x)))
        return params, outer.gradient(penalty, weights)

    params, grad = penalty_gradient(tf.constant(p))
    assert np.all(np.isfinite(grad.numpy())) and np.abs(grad.numpy()).sum() > 0
    moved = apply_params(x, {"G_inv": params["G_inv"]}).numpy()
    if p == 0:  # every matrix is the identity: the images pass unchanged
        assert bool(tf.reduce_all(params["G_inv"] == tf.eye(3)))
        np.testing.assert_array_equal(moved, x.numpy())
    else:
        assert not np.allclose(moved, x.numpy())
        np.testing.assert_allclose(moved, resample(x, params["G_inv"]).numpy())


def test_the_same_seed_gives_the_same_augmentation():
    x = _images(n=4)
    pipe = AugmentPipe("bgc")
    a = pipe(x, p=1.0, seed=11).numpy()
    np.testing.assert_array_equal(a, pipe(x, p=1.0, seed=11).numpy())
    assert not np.array_equal(a, pipe(x, p=1.0, seed=12).numpy())
    # a seeded generator reproduces its sequence of calls
    first = AugmentPipe("bgc", seed=3)
    second = AugmentPipe("bgc", seed=3)
    for _ in range(2):
        np.testing.assert_array_equal(first(x, p=0.5).numpy(), second(x, p=0.5).numpy())


def test_pipe_runs_inside_tf_function_with_tensor_p():
    pipe = AugmentPipe("bgc", seed=1)
    step = tf.function(lambda images, p: pipe(images, p))
    x = _images(n=2)
    np.testing.assert_array_equal(step(x, tf.constant(0.0)).numpy(), x)
    assert step(x, tf.constant(0.7)).shape == x.shape
    pipe.p.assign(0.0)  # default p is the pipe's variable
    np.testing.assert_array_equal(pipe(x).numpy(), x)


def test_ada_update_rule():
    step = 64 * 4 / (500 * 1000)
    assert ada_update(0.1, 1.0, 64) == pytest.approx(0.1 + step)
    assert ada_update(0.1, -1.0, 64) == pytest.approx(0.1 - step)
    assert ada_update(0.1, 0.6, 64) == 0.1  # sign(0) = 0
    assert ada_update(step / 2, -1.0, 64) == 0.0  # clamped at 0
    assert ada_update(1.0, 1.0, 64) > 1.0  # NVIDIA does not clamp at 1
    assert ada_update(0.0, 1.0, 32, ada_kimg=100) == pytest.approx(32 * 4 / 100_000)
    assert ada_kimg_for(False) == ADA_KIMG == 500 and ada_kimg_for(True) == ADA_KIMG_RESUME == 100


def test_controller_updates_every_fourth_minibatch():
    pipe = AugmentPipe("bgc")
    ada = AdaController(pipe)
    batch = 16
    for i in range(8):  # a D that always says "real"
        ada.accumulate(np.full([batch, 1], 3.0))
        p = ada.step(batch)
        assert p == pytest.approx((i + 1) // 4 * batch * 4 / 500_000)
    assert float(pipe.p.numpy()) == pytest.approx(2 * batch * 4 / 500_000)
    for _ in range(12):  # a D that always says "fake": p falls and stops at 0
        ada.accumulate(np.full([batch, 1], -3.0))
        ada.step(batch)
    assert ada.p == 0.0 and float(pipe.p.numpy()) == 0.0


def test_make_augment_modes():
    assert make_augment("noaug") == (None, None)
    pipe, ada = make_augment("ada")
    assert isinstance(ada, AdaController) and ada.ada_kimg == 500 and float(pipe.p.numpy()) == 0
    assert make_augment("ada", resume=True)[1].ada_kimg == 100
    pipe, ada = make_augment("fixed", p=0.2)
    assert ada is None and float(pipe.p.numpy()) == pytest.approx(0.2)
    for bad in [dict(aug="fixed"), dict(aug="ada", p=0.3), dict(aug="sometimes")]:
        with pytest.raises(ValueError):
            make_augment(**bad)
