"""Adaptive discriminator augmentation (ADA) of StyleGAN2-ADA, in TensorFlow, NHWC.

Karras et al., "Training Generative Adversarial Networks with Limited Data" (2020):
every image the discriminator sees, real or generated, goes through the same random,
differentiable augmentation; the probability ``p`` of each transform is tuned during
training so that the discriminator's overconfidence on reals, E[sign(D(real))],
stays near a target of 0.6.

    pipe, ada = make_augment("ada")                   # bgc pipeline, p starts at 0
    d_real = D(pipe(reals))                           # reals and fakes alike
    d_fake = D(pipe(fakes))
    ada.accumulate(d_real)                            # every minibatch
    ada.step(batch_size)                              # updates pipe.p every 4th minibatch

The transforms, their probabilities and strengths follow NVIDIA's ``AugmentPipe``
(``training/augment.py`` of stylegan2-ada-pytorch; ``augment_pipeline`` of the TF
stylegan2-ada): each enabled transform is applied with probability ``p``,
independently per image and per transform; the geometric ones are composed into one
3x3 matrix per image (mapping output pixel -> input pixel, centred coordinates) and
executed in one resampling step; the colour ones are composed into one 4x4 matrix
per image acting on RGB in [-1, 1].

What differs from NVIDIA, on purpose:

* Resampling is a plain bilinear sampler (``tf.gather`` of the four neighbours) with
  reflection of out-of-range indices ("reflect" mode, the edge pixel not repeated,
  reflected as often as needed).  NVIDIA pads by reflection too, but then upsamples 2x
  with the ``sym6`` wavelet, grid-samples bilinearly, and filters back down, which
  removes aliasing from rotations and scalings; that anti-aliasing is dropped here, and
  beyond its (at most one image-size) reflection padding NVIDIA samples zeros.
  Gradients flow to the input images through the gather (not to the sampled
  parameters, which are random constants anyway).
* Integer-valued transforms (x-flip, 90-degree rotations, integer translation) are
  built from exact integer matrix entries, so with only those enabled the output is an
  exact copy of input pixels, as NVIDIA's pixel blitting is.
* The optional parts of NVIDIA's pipeline -- image-space filtering, additive noise,
  cutout, the ``debug_percentile`` visualisation -- are not implemented.

The ``p`` rule (``ada_update``) is NVIDIA's training-loop heuristic: every
``interval`` (4) minibatches, p += sign(E[sign(D(real))] - target) * batch * interval
/ (ada_kimg * 1000), clamped below at 0 only (NVIDIA does not clamp at 1; the
probabilities simply saturate).  ``ada_kimg`` is 500, and NVIDIA's ``train.py`` uses
100 when resuming from a pickle, "to make ADA react faster at the beginning"
(``ada_kimg_for(resume=True)``).
"""

import math

import numpy as np
import tensorflow as tf

# NVIDIA's named pipelines (`augpipe_specs` in stylegan2-ada's train.py), plus one-letter aliases.
_BLIT = ("xflip", "rotate90", "xint")
_GEOM = ("scale", "rotate", "aniso", "xfrac")
_COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
PRESETS = {
    "blit": _BLIT, "b": _BLIT,
    "geom": _GEOM, "g": _GEOM,
    "color": _COLOR, "c": _COLOR,
    "bg": _BLIT + _GEOM,
    "bgc": _BLIT + _GEOM + _COLOR,
}
TRANSFORMS = _BLIT + _GEOM + _COLOR
GEOMETRIC = _BLIT + _GEOM

# NVIDIA's default strengths.
DEFAULT_STRENGTHS = {
    "xint_max": 0.125,      # integer translation range, fraction of the image size
    "scale_std": 0.2,       # log2 std of isotropic scaling
    "rotate_max": 1.0,      # arbitrary rotation range, 1 = full circle
    "aniso_std": 0.2,       # log2 std of anisotropic scaling
    "xfrac_std": 0.125,     # std of fractional translation, fraction of the image size
    "brightness_std": 0.2,  # std of the added brightness
    "contrast_std": 0.5,    # log2 std of contrast
    "hue_max": 1.0,         # hue rotation range, 1 = full circle
    "saturation_std": 1.0,  # log2 std of saturation
}

AUG_MODES = ("noaug", "ada", "fixed")
ADA_TARGET = 0.6
ADA_INTERVAL = 4
ADA_KIMG = 500
ADA_KIMG_RESUME = 100

_LUMA = np.asarray([1, 1, 1, 0], dtype=np.float64) / np.sqrt(3)  # luma axis, homogeneous


# ---------------------------------------------------------------------------------------
# Batched homogeneous matrices; every argument is a [N] tensor or a Python number.

def _matrix(rows, n):
    """Stack a nested list of scalars / [N] tensors into an [N, R, C] float32 tensor."""
    cols = [[tf.broadcast_to(tf.cast(x, tf.float32), [n]) for x in row] for row in rows]
    return tf.stack([tf.stack(row, axis=-1) for row in cols], axis=-2)


def _translate2d(tx, ty, n):
    return _matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]], n)


def _scale2d(sx, sy, n):
    return _matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], n)


def _rotate2d_cs(c, s, n):
    """Rotation by the angle whose cosine and sine are c and s."""
    return _matrix([[c, -s, 0], [s, c, 0], [0, 0, 1]], n)


def _rotate2d(theta, n):
    return _rotate2d_cs(tf.cos(theta), tf.sin(theta), n)


def _translate3d(t, n):
    return _matrix([[1, 0, 0, t], [0, 1, 0, t], [0, 0, 1, t], [0, 0, 0, 1]], n)


def _scale3d(s, n):
    return _matrix([[s, 0, 0, 0], [0, s, 0, 0], [0, 0, s, 0], [0, 0, 0, 1]], n)


def _rotate3d_luma(theta, n):
    """Rotation by theta about the luma axis (Rodrigues' formula)."""
    vx, vy, vz = (float(v) for v in _LUMA[:3])
    s, c = tf.sin(theta), tf.cos(theta)
    cc = 1 - c
    return _matrix([
        [vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s, 0],
        [vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s, 0],
        [vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c, 0],
        [0, 0, 0, 1]], n)


# ---------------------------------------------------------------------------------------
# Random numbers: a stateful generator, or stateless draws from a per-call seed.

class _Draws:
    def __init__(self, generator, seed):
        self.generator = generator
        self.seed = None if seed is None else tf.cast(seed, tf.int64)
        self.count = 0

    def _seed(self):
        self.count += 1
        return tf.stack([self.seed, tf.constant(self.count, tf.int64)])

    def uniform(self, shape):
        if self.seed is None:
            return self.generator.uniform(shape, dtype=tf.float32)
        return tf.random.stateless_uniform(shape, seed=self._seed(), dtype=tf.float32)

    def normal(self, shape):
        if self.seed is None:
            return self.generator.normal(shape, dtype=tf.float32)
        return tf.random.stateless_normal(shape, seed=self._seed(), dtype=tf.float32)


def _gate(draws, probability, value, disabled, n):
    """Per image: `value` with the given probability, else `disabled` (NVIDIA's torch.where gating)."""
    shape = [n] + [1] * (len(value.shape) - 1)
    keep = draws.uniform(shape) < probability
    return tf.where(keep, value, tf.cast(disabled, value.dtype) * tf.ones_like(value))


# ---------------------------------------------------------------------------------------
# Execution.

def _reflect(index, size):
    """Reflect integer indices into [0, size) without repeating the edge ("reflect" padding)."""
    if size == 1:
        return tf.zeros_like(index)
    period = 2 * (size - 1)
    m = tf.math.floormod(index, period)
    return tf.where(m >= size, period - m, m)


def resample(images, g_inv):
    """Bilinear resampling of NHWC images by the per-image 3x3 matrices `g_inv`.

    `g_inv` maps output pixel centres to input positions, both in coordinates centred
    on the image centre (pixel i sits at i - (size - 1) / 2).  Indices outside the
    image are reflected.  Differentiable with respect to `images`.
    """
    n = tf.shape(images)[0]
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    cx, cy = (width - 1) / 2, (height - 1) / 2
    ys, xs = np.meshgrid(np.arange(height, dtype=np.float32) - cy,
                         np.arange(width, dtype=np.float32) - cx, indexing="ij")
    grid = tf.constant(np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size, np.float32)]))  # [3, HW]
    pos = _apply_rows(g_inv, grid)  # [N, 3, HW]
    x = pos[:, 0] + cx  # [N, HW], input pixel coordinates
    y = pos[:, 1] + cy
    x0, y0 = tf.floor(x), tf.floor(y)
    wx, wy = x - x0, y - y0
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    flat = tf.reshape(images, [n, height * width, channels])

    def tap(yi, xi):
        index = _reflect(yi, height) * width + _reflect(xi, width)
        return tf.gather(flat, index, batch_dims=1)  # [N, HW, C]

    wx, wy = wx[..., None], wy[..., None]
    out = (tap(y0, x0) * ((1 - wx) * (1 - wy)) + tap(y0, x0 + 1) * (wx * (1 - wy))
           + tap(y0 + 1, x0) * ((1 - wx) * wy) + tap(y0 + 1, x0 + 1) * (wx * wy))
    return tf.reshape(out, [n, height, width, channels])


def _apply_rows(m, vectors):
    """m [N, R, K] times vectors [K, M] as explicit sums of products (exact for 0/1 entries)."""
    k = vectors.shape[0]
    rows = []
    for r in range(m.shape[1]):
        acc = m[:, r, 0:1] * vectors[0][None, :]
        for j in range(1, k):
            acc = acc + m[:, r, j:j + 1] * vectors[j][None, :]
        rows.append(acc)
    return tf.stack(rows, axis=1)


def apply_color(images, c):
    """Apply per-image 4x4 colour matrices `c` ([N, 4, 4], homogeneous RGB) to NHWC images."""
    channels = images.shape[-1]
    c = c[:, None, None]  # [N, 1, 1, 4, 4]
    if channels == 3:
        outs = []
        for i in range(3):
            acc = images[..., 0] * c[..., i, 0]
            acc = acc + images[..., 1] * c[..., i, 1]
            acc = acc + images[..., 2] * c[..., i, 2]
            outs.append(acc + c[..., i, 3])
        return tf.stack(outs, axis=-1)
    if channels == 1:
        # NVIDIA: average the three output rows, apply their summed gain and offset to L.
        rows = tf.reduce_mean(c[..., :3, :], axis=-2)  # [N, 1, 1, 4]
        return images * tf.reduce_sum(rows[..., :3], axis=-1)[..., None] + rows[..., 3:]
    raise ValueError(f"colour augmentation needs RGB (3 channels) or L (1 channel), got {channels}")


def _is_identity(matrices):
    """Whether every matrix of a batch [N, K, K] is exactly the identity."""
    return tf.reduce_all(tf.equal(matrices, tf.eye(matrices.shape[-1], dtype=matrices.dtype)))


def apply_params(images, params):
    """Apply drawn matrices (`AugmentPipe.sample_params`) to NHWC float images.

    A kind of transform whose matrices are all identities is skipped: its result would be
    exactly the input (bilinear taps at pixel centres, the identity colour matrix).  On a
    large data set ADA's p stays at or near 0 for whole runs, and then this saves
    resampling every image of D's three calls a minibatch, forwards and backwards.
    """
    g_inv, c = params.get("G_inv"), params.get("C")
    if g_inv is not None:
        images = tf.cond(_is_identity(g_inv), lambda: images, lambda: resample(images, g_inv))
    if c is not None:
        images = tf.cond(_is_identity(c), lambda: images, lambda: apply_color(images, c))
    return images


# ---------------------------------------------------------------------------------------

class AugmentPipe(tf.Module):
    """NVIDIA's ADA augmentation pipeline for NHWC float images in [-1, 1].

    AugmentPipe("bgc")                       # the paper's default pipeline
    AugmentPipe(xflip=1, rotate90=1)         # any subset; each value multiplies p
    out = pipe(images, p=0.3)                # p: float or scalar tensor; default pipe.p
    out = pipe(images, p=1.0, seed=7)        # stateless draws: same seed, same augmentation

    Each enabled transform (multiplier > 0) is applied to each image independently with
    probability ``multiplier * p``; arbitrary rotation is drawn twice (before and after
    the anisotropic scaling) with probability 1 - sqrt(1 - p) each, so that it happens
    with probability p overall.  ``pipe.p`` is a non-trainable variable for training
    loops (``AdaController`` writes it).
    """

    def __init__(self, preset=None, *, seed=None, p=0.0, name=None, **options):
        super().__init__(name=name)
        enabled = {}
        if preset is not None:
            if preset not in PRESETS:
                raise ValueError(f"unknown augmentation preset {preset!r}; use one of {sorted(PRESETS)}")
            enabled = {t: 1.0 for t in PRESETS[preset]}
        strengths = dict(DEFAULT_STRENGTHS)
        for key, value in options.items():
            if key in TRANSFORMS:
                enabled[key] = float(value)
            elif key in strengths:
                strengths[key] = float(value)
            else:
                raise TypeError(f"unknown augmentation option {key!r}")
        self.multipliers = {t: float(enabled.get(t, 0.0)) for t in TRANSFORMS}
        self.strengths = strengths
        self.generator = (tf.random.Generator.from_seed(seed) if seed is not None
                          else tf.random.Generator.from_non_deterministic_state())
        self.p = tf.Variable(float(p), trainable=False, dtype=tf.float32, name="p")

    def enabled(self, transform):
        return self.multipliers[transform] > 0

    # -- parameters -----------------------------------------------------------------

    def sample_params(self, batch_size, height, width, p=None, seed=None, channels=3):
        """Draw the per-image matrices: {"G_inv": [N, 3, 3] or None, "C": [N, 4, 4] or None}.

        None means that no transform of that kind is enabled (the step is skipped).
        """
        p = tf.cast(self.p if p is None else p, tf.float32)
        n = batch_size
        draws = _Draws(self.generator, seed)
        m, s = self.multipliers, self.strengths
        g_inv = None

        def compose(a, b):
            return b if a is None else tf.matmul(a, b)

        if m["xflip"] > 0:
            i = tf.floor(draws.uniform([n]) * 2)
            i = _gate(draws, m["xflip"] * p, i, 0.0, n)
            g_inv = compose(g_inv, _scale2d(1 - 2 * i, 1, n))
        if m["rotate90"] > 0:
            i = tf.floor(draws.uniform([n]) * 4)
            i = tf.cast(_gate(draws, m["rotate90"] * p, i, 0.0, n), tf.int32)
            # exact cosines and sines of multiples of 90 degrees
            cos = tf.gather(tf.constant([1.0, 0.0, -1.0, 0.0]), i)
            sin = tf.gather(tf.constant([0.0, 1.0, 0.0, -1.0]), i)
            g_inv = compose(g_inv, _rotate2d_cs(cos, sin, n))
        if m["xint"] > 0:
            t = (draws.uniform([n, 2]) * 2 - 1) * s["xint_max"]
            t = _gate(draws, m["xint"] * p, t, 0.0, n)
            g_inv = compose(g_inv, _translate2d(-tf.round(t[:, 0] * width),
                                                -tf.round(t[:, 1] * height), n))
        if m["scale"] > 0:
            v = tf.pow(2.0, draws.normal([n]) * s["scale_std"])
            v = _gate(draws, m["scale"] * p, v, 1.0, n)
            g_inv = compose(g_inv, _scale2d(1 / v, 1 / v, n))
        p_rot = 1 - tf.sqrt(tf.clip_by_value(1 - m["rotate"] * p, 0.0, 1.0))
        if m["rotate"] > 0:
            theta = (draws.uniform([n]) * 2 - 1) * math.pi * s["rotate_max"]
            theta = _gate(draws, p_rot, theta, 0.0, n)
            g_inv = compose(g_inv, _rotate2d(theta, n))
        if m["aniso"] > 0:
            v = tf.pow(2.0, draws.normal([n]) * s["aniso_std"])
            v = _gate(draws, m["aniso"] * p, v, 1.0, n)
            g_inv = compose(g_inv, _scale2d(1 / v, v, n))
        if m["rotate"] > 0:
            theta = (draws.uniform([n]) * 2 - 1) * math.pi * s["rotate_max"]
            theta = _gate(draws, p_rot, theta, 0.0, n)
            g_inv = compose(g_inv, _rotate2d(theta, n))
        if m["xfrac"] > 0:
            t = draws.normal([n, 2]) * s["xfrac_std"]
            t = _gate(draws, m["xfrac"] * p, t, 0.0, n)
            g_inv = compose(g_inv, _translate2d(-t[:, 0] * width, -t[:, 1] * height, n))

        c = None

        def compose_c(a, b):  # colour matrices act on the left: C <- A @ C
            return a if b is None else tf.matmul(a, b)

        vv = tf.constant(np.outer(_LUMA, _LUMA), tf.float32)
        eye4 = tf.eye(4)
        if m["brightness"] > 0:
            b = draws.normal([n]) * s["brightness_std"]
            b = _gate(draws, m["brightness"] * p, b, 0.0, n)
            c = compose_c(_translate3d(b, n), c)
        if m["contrast"] > 0:
            v = tf.pow(2.0, draws.normal([n]) * s["contrast_std"])
            v = _gate(draws, m["contrast"] * p, v, 1.0, n)
            c = compose_c(_scale3d(v, n), c)
        if m["lumaflip"] > 0:
            i = tf.floor(draws.uniform([n, 1, 1]) * 2)
            i = _gate(draws, m["lumaflip"] * p, i, 0.0, n)
            c = compose_c(eye4 - 2 * vv * i, c)  # Householder reflection of the luma axis
        if m["hue"] > 0 and channels > 1:
            theta = (draws.uniform([n]) * 2 - 1) * math.pi * s["hue_max"]
            theta = _gate(draws, m["hue"] * p, theta, 0.0, n)
            c = compose_c(_rotate3d_luma(theta, n), c)
        if m["saturation"] > 0 and channels > 1:
            v = tf.pow(2.0, draws.normal([n, 1, 1]) * s["saturation_std"])
            v = _gate(draws, m["saturation"] * p, v, 1.0, n)
            c = compose_c(vv + (eye4 - vv) * v, c)
        return {"G_inv": g_inv, "C": c}

    # -- application -----------------------------------------------------------------

    def __call__(self, images, p=None, seed=None, return_params=False):
        """Augment NHWC images; returns a tensor of the input's shape and dtype.

        ``p=0`` given as a Python number returns the input unchanged; as a tensor it
        still runs the pipeline, whose matrices are then identities, and the result is
        still exactly the input.
        """
        images = tf.convert_to_tensor(images)
        dtype = images.dtype
        if p is not None and not tf.is_tensor(p) and float(p) == 0.0:
            return (images, {"G_inv": None, "C": None}) if return_params else images
        x = tf.cast(images, tf.float32)
        height, width, channels = x.shape[1], x.shape[2], x.shape[3]
        if height is None or width is None or channels is None:
            raise ValueError("AugmentPipe needs static height, width and channels")
        params = self.sample_params(tf.shape(x)[0], height, width, p=p, seed=seed, channels=channels)
        x = tf.cast(apply_params(x, params), dtype)
        return (x, params) if return_params else x


# ---------------------------------------------------------------------------------------
# The p heuristic.

def ada_update(p, real_sign_mean, batch, interval=ADA_INTERVAL, target=ADA_TARGET, ada_kimg=ADA_KIMG):
    """One ADA step: p + sign(E[sign(D(real))] - target) * batch * interval / (ada_kimg * 1000), floored at 0.

    `batch` is the minibatch size, `interval` the number of minibatches since the last
    update (NVIDIA: 4).  As in NVIDIA's code there is no upper clamp.  `ada_kimg` is
    how many thousand images it takes p to move by 1: 500, or 100 when resuming
    (``ada_kimg_for``).
    """
    adjust = float(np.sign(float(real_sign_mean) - target)) * batch * interval / (ada_kimg * 1000)
    return max(float(p) + adjust, 0.0)


def ada_kimg_for(resume=False):
    """NVIDIA's train.py: ada_kimg 500, or 100 when resuming, to react faster at the start."""
    return ADA_KIMG_RESUME if resume else ADA_KIMG


class AdaController:
    """Accumulates sign(D(real)) and applies ``ada_update`` every `interval` minibatches.

    Call ``accumulate(real_logits)`` with the discriminator's outputs on (augmented)
    reals, then ``step(batch_size)`` once per minibatch; ``p`` is kept in sync with
    ``pipe.p`` when a pipe is given.
    """

    def __init__(self, pipe=None, p=0.0, target=ADA_TARGET, interval=ADA_INTERVAL, ada_kimg=ADA_KIMG):
        self.pipe = pipe
        self.target = float(target)
        self.interval = int(interval)
        self.ada_kimg = float(ada_kimg)
        self.batch_idx = 0
        self._sum = 0.0
        self._num = 0
        self.p = float(p)
        self._sync()

    def _sync(self):
        if self.pipe is not None:
            self.pipe.p.assign(self.p)

    def accumulate(self, real_logits):
        signs = np.sign(np.asarray(real_logits, dtype=np.float64)).ravel()
        self.add_signs(signs.sum(), signs.size)

    def add_signs(self, sign_sum, count):
        """Add a sum of sign(D(real)) over `count` reals (a trainer's cross-replica total)."""
        self._sum += float(sign_sum)
        self._num += int(count)

    def state(self):
        """Everything an exact resume needs, as JSON-friendly values."""
        return dict(p=self.p, batch_idx=self.batch_idx, sign_sum=self._sum, sign_num=self._num)

    def restore(self, state):
        self.p, self.batch_idx = float(state["p"]), int(state["batch_idx"])
        self._sum, self._num = float(state["sign_sum"]), int(state["sign_num"])
        self._sync()

    @property
    def rt(self):
        """E[sign(D(real))] since the last update (None before any accumulate)."""
        return self._sum / self._num if self._num else None

    def step(self, batch_size):
        """Count one minibatch; every `interval`-th updates and returns p."""
        self.batch_idx += 1
        if self.batch_idx % self.interval == 0 and self._num:
            self.p = ada_update(self.p, self.rt, batch_size, self.interval, self.target, self.ada_kimg)
            self._sum, self._num = 0.0, 0
            self._sync()
        return self.p


def make_augment(aug="ada", p=None, preset="bgc", resume=False, target=ADA_TARGET, seed=None,
                 ada_kimg=None):
    """The ``--aug noaug|ada|fixed --p`` choice: returns (pipe or None, controller or None).

    noaug: no augmentation.  ada: p starts at 0 and an ``AdaController`` tunes it
    (ada_kimg 500, or 100 with ``resume=True``).  fixed: the given p, constant.  As in
    NVIDIA's train.py, ``fixed`` requires p and the other modes refuse it.
    """
    if aug not in AUG_MODES:
        raise ValueError(f"--aug must be one of {AUG_MODES}, got {aug!r}")
    if aug == "fixed" and p is None:
        raise ValueError("--aug=fixed requires --p")
    if aug != "fixed" and p is not None:
        raise ValueError("--p can only be specified with --aug=fixed")
    if aug == "noaug":
        return None, None
    if aug == "fixed":
        if not 0 <= float(p) <= 1:
            raise ValueError("--p must be between 0 and 1")
        return AugmentPipe(preset, seed=seed, p=float(p)), None
    pipe = AugmentPipe(preset, seed=seed, p=0.0)
    kimg = ada_kimg_for(resume) if ada_kimg is None else ada_kimg
    return pipe, AdaController(pipe, p=0.0, target=target, ada_kimg=kimg)
