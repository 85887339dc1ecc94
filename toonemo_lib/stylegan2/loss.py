"""StyleGAN2 training losses, regularisers, style mixing and w_avg.

Everything follows NVIDIA's code (NVlabs/stylegan2 `training/loss.py`,
`training/training_loop.py`; NVlabs/stylegan2-ada-pytorch `training/loss.py`,
`training/training_loop.py`, `train.py`):

* non-saturating logistic loss: D minimises softplus(D(fake)) + softplus(-D(real)),
  G minimises softplus(-D(fake));
* R1 on reals: sum over pixels of (dD/dx)^2 * gamma/2, run lazily every 16 D minibatches
  with the penalty multiplied by that interval;
* path-length regularisation on a halved minibatch, every 4 G minibatches, times 4;
* lazy regularisation scales each optimizer: lr * k/(k+1), betas ** (k/(k+1)); the
  regularisation step uses the *same* optimizer (shared Adam state);
* style mixing with probability 0.9, a running w_avg (beta 0.995), and the
  generator's exponential moving average G_ema.

The functions are pure where they can be: the ones that compute a penalty return it (and
a new running mean) and leave variables alone; call them inside the caller's
`tf.GradientTape` so the penalty's gradient reaches the network's weights.  Adam and G_ema
live in `optim`, the base configurations in `presets`.
"""

import numpy as np
import tensorflow as tf

from .fastconv import plain_convolutions


# --------------------------------------------------------------------------- losses


def d_logistic_loss(real_logits, fake_logits):
    """Mean of softplus(D(fake)) + softplus(-D(real)) (NVIDIA's `D_logistic`, non-saturating)."""
    real_logits = tf.cast(real_logits, tf.float32)
    fake_logits = tf.cast(fake_logits, tf.float32)
    return (tf.reduce_mean(tf.nn.softplus(fake_logits))
            + tf.reduce_mean(tf.nn.softplus(-real_logits)))


def g_nonsaturating_loss(fake_logits):
    """Mean of softplus(-D(fake)) = -log(sigmoid(D(fake))) (NVIDIA's `G_logistic_ns`)."""
    return tf.reduce_mean(tf.nn.softplus(-tf.cast(fake_logits, tf.float32)))


# --------------------------------------------------------------------------- R1


def second_order():
    """The context of a gradient that is differentiated again (R1, path length): plain convolutions.

    `fastconv`'s forms pay for one backward pass, but differentiating their hand-written
    gradients once more records every transform of it: at 1024x1024 (config-f, one image)
    the path-length phase took 15.2 GB and 120 s that way against 6.5 GB and 34 s plain,
    R1 7.4 GB and 21 s against 4.7 GB and 17 s (one CPU thread).
    """
    return plain_convolutions()


def r1_grad_norms(D, reals, c=None):
    """Per-sample sum over pixels and channels of (d sum(D(reals)) / d reals)^2, shape [N].

    The gradient is taken with a tape of its own; if the caller records an outer tape
    the result stays differentiable wrt D's weights (double backprop, as NVIDIA's
    `create_graph=True`).  Both regularisers run the plain convolutions (`second_order`).
    """
    reals = tf.convert_to_tensor(reals, tf.float32)
    with second_order(), tf.GradientTape() as tape:
        tape.watch(reals)
        logits = D(reals) if c is None else D(reals, c)
        total = tf.reduce_sum(tf.cast(logits, tf.float32))
    grads = tape.gradient(total, reals)
    return tf.reduce_sum(tf.square(grads), axis=[1, 2, 3])


def r1_penalty(D, reals, gamma, c=None, interval=1):
    """R1 regulariser: mean over the batch of r1_grad_norms * gamma/2, times `interval`.

    `interval` is the lazy-regularisation interval (16 for D): NVIDIA multiplies the
    penalty by it so that, applied every 16th minibatch, it weighs as if applied always.
    """
    return tf.reduce_mean(r1_grad_norms(D, reals, c) * (float(gamma) * 0.5)) * float(interval)


# --------------------------------------------------------------------------- path length


def pl_noise_like(images, seed=None):
    """randn of the images' shape divided by sqrt(H*W) (NHWC), NVIDIA's `pl_noise`."""
    shape = tf.shape(images)
    height, width = images.shape[1], images.shape[2]
    noise = tf.random.normal(shape, dtype=tf.float32) if seed is None else \
        tf.random.stateless_normal(shape, seed=[int(seed), 0], dtype=tf.float32)
    return noise / np.sqrt(float(height) * float(width))


def path_lengths(G, ws, pl_noise=None, noise_mode="random", seed=None, noise=None):
    """Per-sample Jacobian lengths ||J_w^T y||, shape [N]; and the images and noise used.

    grad = d sum(G.synthesis(ws) * pl_noise) / d ws, length = sqrt(mean over the W rows of
    the sum over w channels of grad^2).  `noise`: explicit noise maps for the synthesis
    (see `SynthesisNetwork.call`).  Returns (lengths, images, pl_noise).
    """
    ws = tf.convert_to_tensor(ws, tf.float32)
    with second_order(), tf.GradientTape() as tape:
        tape.watch(ws)
        extra = {} if noise is None else {"noise": noise}
        images = tf.cast(G.synthesis(ws, noise_mode=noise_mode, **extra), tf.float32)
        if pl_noise is None:
            pl_noise = pl_noise_like(images, seed)
        total = tf.reduce_sum(images * pl_noise)
    grads = tape.gradient(total, ws)
    lengths = tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=2), axis=1))
    return lengths, images, pl_noise


def path_length_penalty(G, ws, pl_mean, decay=0.01, pl_weight=2.0, interval=1,
                        pl_noise=None, noise_mode="random", seed=None):
    """Path-length regulariser: returns (penalty, new_pl_mean, lengths).

    new_pl_mean = pl_mean + decay * (mean(lengths) - pl_mean) (an EMA that starts at 0;
    it is a constant for the gradient); penalty = mean((lengths - new_pl_mean)^2) *
    pl_weight * interval (interval 4 for G).  `ws` should come from the halved minibatch
    (`pl_batch_size`) and be computed inside the caller's tape so that the mapping network
    is regularised too.  `pl_mean` is not assigned: store new_pl_mean yourself.
    """
    lengths, _, _ = path_lengths(G, ws, pl_noise=pl_noise, noise_mode=noise_mode, seed=seed)
    pl_mean = tf.cast(tf.convert_to_tensor(pl_mean), tf.float32)
    new_pl_mean = tf.stop_gradient(pl_mean + (tf.reduce_mean(lengths) - pl_mean) * float(decay))
    penalty = tf.reduce_mean(tf.square(lengths - new_pl_mean)) * float(pl_weight) * float(interval)
    return penalty, new_pl_mean, lengths


# --------------------------------------------------------------------------- style mixing, w_avg


def _draw_uniform(rng):
    if isinstance(rng, tf.random.Generator):
        return rng.uniform([], dtype=tf.float32)
    return tf.constant(rng.random(), tf.float32)


def _draw_int(rng, low, high):
    if isinstance(rng, tf.random.Generator):
        return rng.uniform([], low, high, dtype=tf.int32)
    return tf.constant(int(rng.integers(low, high)), tf.int32)


def _draw_normal(rng, shape):
    if isinstance(rng, tf.random.Generator):
        return rng.normal(shape, dtype=tf.float32)
    return tf.constant(rng.standard_normal(tuple(int(s) for s in shape)), tf.float32)


def style_mixing_ws(G, z, c=None, prob=0.9, rng=None, z2=None, return_cutoff=False, cutoff=None):
    """ws for a training minibatch with style-mixing regularisation.

    ws = G.mapping(z); with probability `prob` one cutoff is drawn uniformly in
    [1, num_ws) for the whole batch and rows cutoff.. come from a second latent z2 (drawn
    from randn when not given); otherwise cutoff = num_ws and nothing is mixed.  w_avg is
    not touched (see `update_w_avg`).  `rng`: a numpy Generator (eager) or a
    tf.random.Generator (also inside tf.function); default a fresh numpy Generator.
    A given `cutoff` (with `z2`) is used as drawn elsewhere: the trainer draws every random
    number for the global batch so that replicas and resumed runs see the same ones.
    Returns ws, or (ws, cutoff) with return_cutoff=True.
    """
    rng = rng if rng is not None else np.random.default_rng()
    z = tf.convert_to_tensor(z, tf.float32)
    ws = G.mapping(z, c)
    num_ws = G.num_ws
    if cutoff is None:
        if prob <= 0 or num_ws < 2:
            return (ws, tf.constant(num_ws, tf.int32)) if return_cutoff else ws
        cutoff = _draw_int(rng, 1, num_ws)
        cutoff = tf.where(_draw_uniform(rng) < float(prob), cutoff, tf.constant(num_ws, tf.int32))
    if z2 is None:
        z2 = _draw_normal(rng, z.shape if z.shape.is_fully_defined() else tf.shape(z))
    ws2 = G.mapping(tf.convert_to_tensor(z2, tf.float32), c)
    keep = tf.range(num_ws)[None, :, None] < cutoff
    ws = tf.where(keep, ws, ws2)
    return (ws, cutoff) if return_cutoff else ws


def update_w_avg(G, ws, beta=None):
    """w_avg <- lerp(batch mean of w, w_avg, beta) (TF1 `dlatent_avg`, beta 0.995); returns it.

    `ws`: mapped latents [N, num_ws, w_dim] (row 0 is used, as TF1 does) or [N, w_dim].
    beta defaults to the mapping network's `dlatent_avg_beta` (0.995).
    """
    beta = G.mapping.dlatent_avg_beta if beta is None else float(beta)
    ws = tf.convert_to_tensor(ws, tf.float32)
    w = ws[:, 0] if ws.shape.rank == 3 else ws
    batch_avg = tf.reduce_mean(tf.stop_gradient(w), axis=0)
    w_avg = G.mapping.w_avg
    w_avg.assign(batch_avg + (tf.convert_to_tensor(w_avg) - batch_avg) * beta)
    return tf.convert_to_tensor(w_avg)
