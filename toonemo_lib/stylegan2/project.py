"""Projection: find the latent (and noise maps) from which a generator draws a given image.

    result = project(G, target, steps=1000, space="w")     # NVIDIA's projector
    result = project(G, target, space="w+")                 # one w per layer (Toonify's)
    result.latent        # [num_ws, w_dim]: feed G.synthesis(result.latent[None], noise=...)
    result.noise         # the optimised noise maps, [1, R, R, 1] each
    result.losses        # the loss per step; result.distance_name says which distance

The method is the one of NVIDIA's StyleGAN2 projector (Karras et al. 2020, appendix D):
Adam (betas 0.9, 0.999) on w, starting from w_avg (the mean of 10,000 mapped latents),
with a learning rate that ramps up linearly over the first 5% of the steps and down
along a cosine over the last 25%; Gaussian noise added to w whose scale
(w_std * 0.05, where w_std is the RMS distance of mapped latents from w_avg) falls
quadratically to 0 at 75% of the steps; the per-layer noise maps are optimised too,
kept white by a multi-scale autocorrelation penalty (weight 1e5) and renormalised to
zero mean, unit variance after each step.  The loss is a perceptual distance (LPIPS
when its weights are cached, see `perceptual.py`) between the target and the
generated image, both area-downsampled to 256x256 when larger.  The generator is
only read: the latent and the noise maps are the only variables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from .generate import generator_to_uint8
from .perceptual import PerceptualDistance, perceptual_distance

LOSS_RESOLUTION = 256


# --------------------------------------------------------------------------- schedules


def learning_rate(t, initial_learning_rate=0.1, lr_rampdown_length=0.25, lr_rampup_length=0.05):
    """NVIDIA's projector schedule at progress t = step / steps in [0, 1] (no ramp-up when its length is 0)."""
    ramp = min(1.0, (1.0 - t) / lr_rampdown_length)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    if lr_rampup_length > 0:  # a warm start begins at full speed
        ramp = ramp * min(1.0, t / lr_rampup_length)
    return initial_learning_rate * ramp


def latent_noise_scale(t, w_std, initial_noise_factor=0.05, noise_ramp_length=0.75):
    """Std of the Gaussian noise added to w at progress t: w_std * 0.05 * max(0, 1 - t/0.75)^2."""
    return w_std * initial_noise_factor * max(0.0, 1.0 - t / noise_ramp_length) ** 2


def noise_regularization(noise_maps):
    """Sum over maps and scales (while size > 8) of the squared 1-pixel autocorrelations in x and y."""
    reg = 0.0
    for n in noise_maps:  # [1, R, R, 1]
        while n.shape[1] > 8:
            reg += tf.square(tf.reduce_mean(n * tf.roll(n, shift=1, axis=2))) + \
                tf.square(tf.reduce_mean(n * tf.roll(n, shift=1, axis=1)))
            n = tf.nn.avg_pool2d(n, 2, 2, "VALID")
    return reg


def normalize_noise(noise_vars):
    """Set every map to zero mean and unit standard deviation (in place)."""
    for v in noise_vars:
        centred = v - tf.reduce_mean(v)
        v.assign(centred * tf.math.rsqrt(tf.reduce_mean(tf.square(centred))))


def w_statistics(G, samples=10000, seed=123, batch_size=1000):
    """(w_avg [w_dim], w_std scalar) from `samples` mapped N(0, 1) latents (NVIDIA: 10,000, seed 123)."""
    z = np.random.RandomState(seed).randn(samples, G.latent_size).astype(np.float32)
    if G.label_size:
        raise ValueError("projection of a conditional generator is not supported")
    ws = np.concatenate([np.asarray(G.mapping(z[i:i + batch_size]))[:, 0]
                         for i in range(0, samples, batch_size)]).astype(np.float64)
    w_avg = ws.mean(axis=0)
    w_std = float(np.sqrt(np.sum((ws - w_avg) ** 2) / samples))
    return w_avg.astype(np.float32), w_std


def area_downsample(images, size=LOSS_RESOLUTION):
    """Average-pool NHWC images to `size` when they are larger (an integer factor)."""
    height = images.shape[1]
    if height is None or height <= size:
        return images
    factor = height // size
    return tf.nn.avg_pool2d(images, factor, factor, "VALID")


# --------------------------------------------------------------------------- inputs


def prepare_target(G, target):
    """The target as a float32 [1, R, R, C] array in [-1, 1]; clear errors for bad shapes.

    Accepts uint8 (0..255) or float ([-1, 1], the generator's range), [R, R, C] or [1, R, R, C].
    """
    arr = np.asarray(target)
    if arr.ndim == 4:
        if arr.shape[0] != 1:
            raise ValueError(f"project one image at a time: target has batch size {arr.shape[0]}")
        arr = arr[0]
    if arr.ndim == 2 and G.num_channels == 1:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise ValueError(f"target must be an image [H, W, C] (or [1, H, W, C]), got shape {arr.shape}")
    if arr.shape[2] != G.num_channels:
        raise ValueError(f"target has {arr.shape[2]} channels but the generator draws "
                         f"{G.num_channels}")
    if arr.shape[:2] != (G.resolution, G.resolution):
        raise ValueError(f"target is {arr.shape[0]}x{arr.shape[1]} but the generator draws "
                         f"{G.resolution}x{G.resolution}: align/crop and resize it first")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 127.5 - 1.0
    elif np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
        if not np.all(np.isfinite(arr)):
            raise ValueError("target contains NaN or infinite values")
        if arr.max() > 20:  # an untrained generator overshoots [-1, 1], but not this far
            raise ValueError(f"a float target must be in about [-1, 1] (the generator's range), "
                             f"got [{arr.min():.3g}, {arr.max():.3g}]: it looks like 0..255, "
                             "pass it as uint8")
    else:
        raise ValueError(f"target must be uint8 or float, got dtype {arr.dtype}")
    return arr[None]


def _initial_latent(G, space, w_avg, latent):
    num_ws, w_dim = G.num_ws, G.w_dim
    if latent is None:
        latent = w_avg
    latent = np.asarray(latent, np.float32)
    if latent.ndim == 3 and latent.shape[0] == 1:
        latent = latent[0]
    if latent.shape not in ((w_dim,), (num_ws, w_dim)):
        raise ValueError(f"warm-start latent must be [{w_dim}] or [{num_ws}, {w_dim}], "
                         f"got {latent.shape}")
    if space == "w":
        if latent.ndim == 2:
            if not np.allclose(latent, latent[:1], atol=1e-6):
                raise ValueError("space='w' needs one w for all layers; this warm-start latent "
                                 "has different rows (project with space='w+')")
            latent = latent[0]
        return latent[None, None, :]  # [1, 1, w_dim]
    if latent.ndim == 1:
        latent = np.tile(latent[None], [num_ws, 1])
    return latent[None]  # [1, num_ws, w_dim]


def _initial_noise(G, noise, rng):
    shapes = G.synthesis.noise_shapes()
    if noise is None:
        return [rng.standard_normal(s).astype(np.float32) for s in shapes]
    noise = [np.asarray(n, np.float32) for n in noise]
    got = [n.shape for n in noise]
    if got != [tuple(s) for s in shapes]:
        raise ValueError(f"warm-start noise must be maps of shapes {shapes}, got {got}")
    return noise


# --------------------------------------------------------------------------- result


@dataclass
class ProjectionResult:
    """What `project` found.  `latent` is [num_ws, w_dim] in both spaces (W: identical rows)."""

    latent: np.ndarray
    noise: list
    losses: np.ndarray
    distances: np.ndarray
    space: str
    distance_name: str
    steps: int
    w: np.ndarray | None = None          # the single w of space "w", else None
    images: dict = field(default_factory=dict)   # step -> uint8 [R, R, C]
    initial_latent: np.ndarray | None = None
    initial_noise: list | None = None

    def synthesize(self, G, latent=None, noise=None):
        """G's float image [R, R, C] (about [-1, 1]) for the result (or a given latent/noise)."""
        return render(G, self.latent if latent is None else latent,
                      self.noise if noise is None else noise)


def render(G, latent, noise):
    """Float image [R, R, C] of a [w_dim] or [num_ws, w_dim] latent with explicit noise maps."""
    latent = np.asarray(latent, np.float32)
    if latent.ndim == 1:
        latent = np.tile(latent[None], [G.num_ws, 1])
    return np.asarray(G.synthesis(latent[None], noise=list(noise)))[0]


# --------------------------------------------------------------------------- projection


class _Projector:
    """The optimisation state and one compiled Adam step (kept separate so it can be timed)."""

    def __init__(self, G, target, space, distance, latent0, noise0, noise_regularize_weight,
                 seed, initial_learning_rate=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, optimize_noise=True):
        self.G, self.space, self.distance = G, space, distance
        self.target = tf.Variable(area_downsample(tf.constant(target)), trainable=False, name="target")
        self.latent = tf.Variable(latent0, trainable=True, name="projected_w")
        self.noise = [tf.Variable(n, trainable=True, name=f"noise{i}") for i, n in enumerate(noise0)]
        self.variables = [self.latent] + (self.noise if optimize_noise else [])
        # Keras' Adam puts epsilon where TF1's AdamOptimizer (NVIDIA's projector) does:
        # lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps).  The rate is set every step.
        self.optimizer = keras.optimizers.Adam(learning_rate=initial_learning_rate, beta_1=beta_1,
                                               beta_2=beta_2, epsilon=epsilon)
        self.reg_weight = float(noise_regularize_weight)
        self.random = tf.random.Generator.from_seed(seed)
        self.step = tf.function(self._step)

    def reset(self, target, latent0, noise0, seed, initial_learning_rate=0.1):
        """Start a new projection with the compiled step kept: a new target, start, seed and a fresh Adam."""
        self.target.assign(area_downsample(tf.constant(target)))
        self.latent.assign(latent0)
        for variable, start in zip(self.noise, noise0):
            variable.assign(start)
        for variable in self.optimizer.variables:  # iterations and moments back to zero
            variable.assign(tf.zeros_like(variable))
        self.optimizer.learning_rate.assign(initial_learning_rate)
        self.random.reset_from_seed(seed)

    def ws(self, w_noise_scale=0.0):
        w = self.latent + self.random.normal(tf.shape(self.latent)) * w_noise_scale
        return tf.tile(w, [1, self.G.num_ws, 1]) if self.space == "w" else w

    def forward(self, w_noise_scale):
        return self.G.synthesis(self.ws(w_noise_scale), noise=self.noise)

    def loss(self, images):
        dist = tf.reduce_sum(self.distance(area_downsample(images), self.target))
        return dist + self.reg_weight * noise_regularization(self.noise), dist

    def _step(self, lr, w_noise_scale):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(self.variables)
            loss, dist = self.loss(self.forward(w_noise_scale))
        grads = tape.gradient(loss, self.variables)
        self.optimizer.learning_rate.assign(lr)
        self.optimizer.apply_gradients(zip(grads, self.variables))
        normalize_noise(self.noise)
        return loss, dist

    def latent_rows(self):
        w = self.latent.numpy()[0]
        return np.tile(w, [self.G.num_ws, 1]) if self.space == "w" else w


# Projectors kept between calls, so that a video's keyframes (or a notebook's repeated
# projections) reuse one traced step instead of tracing it again - seconds each time.
_PROJECTORS: dict = {}


def _projector(G, target, space, distance, latent0, noise0, regularize_noise_weight, seed, initial_learning_rate,
               optimize_noise):
    key = (id(G), space, id(distance), float(regularize_noise_weight), latent0.shape, bool(optimize_noise))
    cached = _PROJECTORS.get(key)
    if cached is not None and cached.G is G and cached.distance is distance:
        cached.reset(target, latent0, noise0, seed, initial_learning_rate)
        return cached
    proj = _Projector(G, target, space, distance, latent0, noise0, regularize_noise_weight, seed,
                      initial_learning_rate, optimize_noise=optimize_noise)
    if len(_PROJECTORS) >= 4:  # a few generators at most: drop the oldest
        _PROJECTORS.pop(next(iter(_PROJECTORS)))
    _PROJECTORS[key] = proj
    return proj


def project(G, target, steps=1000, space="w", distance=None, initial_learning_rate=0.1,
            initial_noise_factor=0.05, lr_rampdown_length=0.25, lr_rampup_length=0.05,
            noise_ramp_length=0.75, regularize_noise_weight=1e5, w_avg_samples=10000,
            w_stats=None, warm_start=None, image_steps=(), seed=0, progress=True, optimize_noise=True):
    """Project `target` (uint8 or [-1, 1] float, [R, R, C]) into G's latent space.

    space: "w" (one w broadcast to all layers, NVIDIA) or "w+" (one w per layer).
    distance: a `PerceptualDistance` (default: `perceptual_distance()`, LPIPS if cached).
    warm_start: (latent, noise) of an earlier result (e.g. the previous video frame);
        noise may be None.  The schedules restart over `steps`.
    w_stats: precomputed `w_statistics(G)` (w_avg, w_std), to skip the 10,000 samples.
    image_steps: step numbers (1-based, after that step) whose image to keep (uint8),
        e.g. ``range(0, steps + 1, 10)``; 0 is the starting image.
    optimize_noise: False keeps the noise maps as they start (a warm start's, e.g.): only
        the latent moves.  Adam's first steps move every noise pixel by the full step size
        in the sign of its gradient, which is smooth, so a warm start without NVIDIA's
        learning-rate ramp-up would otherwise fill the maps with structure.
    """
    if space not in ("w", "w+"):
        raise ValueError(f"space must be 'w' or 'w+', not {space!r}")
    steps = int(steps)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    target = prepare_target(G, target)
    distance = perceptual_distance() if distance is None else distance
    if not callable(distance):
        raise TypeError(f"distance must be callable (images_a, images_b) -> [N], got {distance!r}")
    name = getattr(distance, "name", type(distance).__name__)
    w_avg, w_std = w_stats if w_stats is not None else w_statistics(G, w_avg_samples)
    latent0, noise0 = (None, None) if warm_start is None else warm_start
    rng = np.random.default_rng(seed)
    proj = _projector(G, target, space, distance, _initial_latent(G, space, w_avg, latent0),
                      _initial_noise(G, noise0, rng), regularize_noise_weight, seed, initial_learning_rate,
                      optimize_noise)
    normalize_noise(proj.noise)
    image_steps = set(int(s) for s in image_steps)
    images = {}
    initial_latent = proj.latent_rows()
    initial_noise = [n.numpy() for n in proj.noise]
    if 0 in image_steps:
        images[0] = generator_to_uint8(render(G, initial_latent, initial_noise))

    from tqdm.auto import tqdm

    losses, dists = np.zeros(steps, np.float32), np.zeros(steps, np.float32)
    bar = tqdm(range(steps), desc=f"projecting ({space})", disable=not progress, leave=False)
    for step in bar:
        t = step / steps
        lr = learning_rate(t, initial_learning_rate, lr_rampdown_length, lr_rampup_length)
        w_noise = latent_noise_scale(t, w_std, initial_noise_factor, noise_ramp_length)
        loss, dist = proj.step(tf.constant(lr, tf.float32), tf.constant(w_noise, tf.float32))
        losses[step], dists[step] = float(loss), float(dist)
        if progress:
            bar.set_postfix(dist=f"{dists[step]:.4g}", loss=f"{losses[step]:.4g}")
        if step + 1 in image_steps:
            images[step + 1] = generator_to_uint8(
                render(G, proj.latent_rows(), [n.numpy() for n in proj.noise]))
    bar.close()
    latent = proj.latent_rows()
    return ProjectionResult(
        latent=latent, noise=[n.numpy() for n in proj.noise], losses=losses, distances=dists,
        space=space, distance_name=name, steps=steps,
        w=latent[0].copy() if space == "w" else None, images=images,
        initial_latent=initial_latent, initial_noise=initial_noise)


__all__ = ["ProjectionResult", "PerceptualDistance", "area_downsample", "latent_noise_scale",
           "learning_rate", "noise_regularization", "normalize_noise", "prepare_target",
           "project", "render", "w_statistics"]
