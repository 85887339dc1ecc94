"""StyleGAN2 training losses, regularisers, optimizers, EMA and the base configurations.

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
`tf.GradientTape` so the penalty's gradient reaches the network's weights.
"""

import dataclasses

import numpy as np
import tensorflow as tf

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


def r1_grad_norms(D, reals, c=None):
    """Per-sample sum over pixels and channels of (d sum(D(reals)) / d reals)^2, shape [N].

    The gradient is taken with a tape of its own; if the caller records an outer tape
    the result stays differentiable wrt D's weights (double backprop, as NVIDIA's
    `create_graph=True`).
    """
    reals = tf.convert_to_tensor(reals, tf.float32)
    with tf.GradientTape() as tape:
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


def pl_batch_size(batch, pl_batch_shrink=2):
    """Size of the path-length minibatch: batch // pl_batch_shrink, at least 1."""
    return max(int(batch) // int(pl_batch_shrink), 1)


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
    with tf.GradientTape() as tape:
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


# --------------------------------------------------------------------------- optimizers


def lazy_ratio(interval):
    """mb_ratio = k / (k + 1) for a lazy-regularisation interval k; 1 when k is None or 0."""
    if not interval:
        return 1.0
    return float(interval) / (float(interval) + 1.0)


class Adam(tf.Module):
    """TF1's AdamOptimizer, as NVIDIA trains with: one fused `ResourceApplyAdam` per variable.

    lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t); m += (g - m)(1 - beta1);
    v += (g^2 - v)(1 - beta2); var -= lr_t * m / (sqrt(v) + eps) -- epsilon outside the
    bias correction of sqrt(v), as in TF1 and Keras.  Keras' Adam computes the same thing in
    about forty graph ops per variable; on a CPU, where a small StyleGAN2's step is bound by
    the number of ops rather than by arithmetic, that alone doubled the step's time.

    Under a `tf.distribute` strategy it is called in replica context: the gradients are
    summed across replicas and every replica applies the same update to its own copy.
    """

    def __init__(self, learning_rate, beta_1, beta_2, epsilon=1e-8, name="adam"):
        super().__init__(name=name)
        self.learning_rate, self.beta_1 = float(learning_rate), float(beta_1)
        self.beta_2, self.epsilon = float(beta_2), float(epsilon)
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="iterations",
                                      aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.momenta, self.velocities, self._slots = [], [], {}

    def build(self, var_list) -> None:
        """Create the moments of `var_list` (zeros); call it in the strategy's scope."""
        for var in var_list:
            if id(var) not in self._slots:
                name = var.path.replace("/", "_") if hasattr(var, "path") else var.name.split(":")[0]
                m = tf.Variable(tf.zeros(var.shape, var.dtype), trainable=False, name=f"m_{name}")
                v = tf.Variable(tf.zeros(var.shape, var.dtype), trainable=False, name=f"v_{name}")
                self._slots[id(var)] = (m, v)
                self.momenta.append(m)
                self.velocities.append(v)

    @property
    def variables(self) -> list:
        """The step counter and every moment, in a fixed order (what a snapshot stores)."""
        return [self.iterations, *self.momenta, *self.velocities]

    def apply_gradients(self, grads_and_vars) -> None:
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        self.build([v for _, v in pairs])
        grads = [g for g, _ in pairs]
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            grads = context.all_reduce("sum", grads)
        t = tf.cast(self.iterations + 1, tf.float32)
        lr, beta1, beta2, eps = (tf.constant(x, tf.float32) for x in (
            self.learning_rate, self.beta_1, self.beta_2, self.epsilon))
        beta1_power, beta2_power = tf.pow(beta1, t), tf.pow(beta2, t)
        for grad, (_, var) in zip(grads, pairs):
            m, v = self._slots[id(var)]
            tf.raw_ops.ResourceApplyAdam(var=var.handle, m=m.handle, v=v.handle,
                                         beta1_power=beta1_power, beta2_power=beta2_power,
                                         lr=lr, beta1=beta1, beta2=beta2, epsilon=eps, grad=grad)
        self.iterations.assign_add(1)


def lazy_adam(lr=0.002, beta1=0.0, beta2=0.99, interval=None, epsilon=1e-8, name="adam"):
    """Adam with NVIDIA's lazy-regularisation adjustment.

    lr * mb_ratio, beta1 ** mb_ratio, beta2 ** mb_ratio with mb_ratio = k/(k+1) (k = 16 for
    D, 4 for G).  Use the same optimizer for the main and the regularisation step so they
    share Adam's moments, as NVIDIA does.
    """
    ratio = lazy_ratio(interval)
    return Adam(float(lr) * ratio, float(beta1) ** ratio, float(beta2) ** ratio,
                epsilon=float(epsilon), name=name)


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


# --------------------------------------------------------------------------- generator EMA


def ema_beta(batch, ema_kimg, cur_nimg=None, rampup=None):
    """0.5 ** (batch / ema_nimg) with ema_nimg = ema_kimg * 1000.

    With `rampup` (0.05 in cfg 'auto'; None for the paper configs and when resuming)
    ema_nimg = min(ema_nimg, cur_nimg * rampup): G_ema follows G closely early on.
    """
    ema_nimg = float(ema_kimg) * 1000.0
    if rampup is not None:
        if cur_nimg is None:
            raise ValueError("ema_beta: the ramp-up needs cur_nimg (images shown so far)")
        ema_nimg = min(ema_nimg, float(cur_nimg) * float(rampup))
    return 0.5 ** (float(batch) / max(ema_nimg, 1e-8))


def update_ema(G_ema, G, beta):
    """G_ema's trainable weights <- lerp(G, G_ema, beta); non-trainable state (w_avg,
    noise constants) copied from G.  Both networks must have the same configuration."""
    pairs = [(G_ema.trainable_weights, G.trainable_weights),
             (G_ema.non_trainable_weights, G.non_trainable_weights)]
    for ema_vars, vars_ in pairs:
        if len(ema_vars) != len(vars_):
            raise ValueError("update_ema: G_ema and G do not have the same weights")
        for ema_var, var in zip(ema_vars, vars_):
            if tuple(ema_var.shape) != tuple(var.shape):
                raise ValueError(f"update_ema: shape mismatch {ema_var.path} {ema_var.shape} "
                                 f"vs {var.path} {var.shape}")
    beta = tf.cast(beta, tf.float32)  # a float, or a tensor inside a tf.function
    for ema_var, var in zip(*pairs[0]):
        value = tf.convert_to_tensor(var)
        ema_var.assign(value + (tf.convert_to_tensor(ema_var) - value) * beta)
    for ema_var, var in zip(*pairs[1]):
        ema_var.assign(tf.convert_to_tensor(var))


# --------------------------------------------------------------------------- configurations

# stylegan2-ada's train.py `cfg_specs` (fmaps is a fraction of its channel_base 32768),
# plus two CPU-sized configurations of this project.
CFG_SPECS = {
    "auto": dict(ref_gpus=-1, kimg=25000, mb=-1, mbstd=-1, fmaps=-1, lrate=-1, gamma=-1, ema=-1,
                 ramp=0.05, map=2),
    "stylegan2": dict(ref_gpus=8, kimg=25000, mb=32, mbstd=4, fmaps=1, lrate=0.002, gamma=10,
                      ema=10, ramp=None, map=8),
    "paper256": dict(ref_gpus=8, kimg=25000, mb=64, mbstd=8, fmaps=0.5, lrate=0.0025, gamma=1,
                     ema=20, ramp=None, map=8),
    "paper512": dict(ref_gpus=8, kimg=25000, mb=64, mbstd=8, fmaps=1, lrate=0.0025, gamma=0.5,
                     ema=20, ramp=None, map=8),
    "paper1024": dict(ref_gpus=8, kimg=25000, mb=32, mbstd=4, fmaps=1, lrate=0.002, gamma=2,
                      ema=10, ramp=None, map=8),
}

# CPU configurations: auto's heuristics with small channel plans and latents.
CPU_SPECS = {
    "tiny": dict(kimg=200, mb=8, fmap_base=1024, fmap_max=64, latent=64, map=2,
                 mapping_fmaps=64),
    "small": dict(kimg=1000, mb=8, fmap_base=2048, fmap_max=96, latent=128, map=2,
                  mapping_fmaps=128),
}

PRESET_NAMES = tuple(CFG_SPECS) + tuple(CPU_SPECS)


@dataclasses.dataclass
class TrainingConfig:
    """Hyper-parameters of one StyleGAN2 training run (stylegan2-ada's `train.py` names).

    `fmap_base` is in TF1 / this project's units: nf(stage) = fmap_base / 2**stage, i.e.
    half of stylegan2-ada's channel_base (= fmaps * 32768).
    """

    name: str
    resolution: int
    batch: int
    gpus: int = 1
    ref_gpus: int = 1
    kimg: int = 25000
    mbstd: int = 4
    fmaps: float = 1.0
    lrate: float = 0.002
    gamma: float = 10.0
    ema_kimg: float = 10.0
    ema_rampup: float | None = None
    map_layers: int = 8
    fmap_base: int = 16384
    fmap_max: int = 512
    latent_size: int = 512
    dlatent_size: int = 512
    mapping_fmaps: int = 512
    betas: tuple = (0.0, 0.99)
    epsilon: float = 1e-8
    style_mixing_prob: float = 0.9
    w_avg_beta: float = 0.995
    pl_weight: float = 2.0
    pl_decay: float = 0.01
    pl_batch_shrink: int = 2
    r1_interval: int = 16
    pl_interval: int = 4

    def generator_kwargs(self):
        """Arguments for `Generator(**kwargs)`."""
        return dict(resolution=self.resolution, latent_size=self.latent_size,
                    dlatent_size=self.dlatent_size, mapping_layers=self.map_layers,
                    mapping_fmaps=self.mapping_fmaps, dlatent_avg_beta=self.w_avg_beta,
                    fmap_base=self.fmap_base, fmap_max=self.fmap_max)

    def discriminator_kwargs(self):
        """Arguments for `Discriminator(**kwargs)`."""
        return dict(resolution=self.resolution, fmap_base=self.fmap_base,
                    fmap_max=self.fmap_max, mbstd_group_size=self.mbstd)

    def g_optimizer(self):
        """Adam for G, adjusted for path-length regularisation every `pl_interval` steps."""
        interval = self.pl_interval if self.pl_weight else None
        return lazy_adam(self.lrate, *self.betas, interval=interval, epsilon=self.epsilon)

    def d_optimizer(self):
        """Adam for D, adjusted for R1 every `r1_interval` steps."""
        interval = self.r1_interval if self.gamma else None
        return lazy_adam(self.lrate, *self.betas, interval=interval, epsilon=self.epsilon)

    def ema_beta(self, cur_nimg=None, resuming=False):
        """G_ema's beta at `cur_nimg` images; the ramp-up is off when resuming."""
        rampup = None if resuming else self.ema_rampup
        return ema_beta(self.batch, self.ema_kimg, cur_nimg=cur_nimg, rampup=rampup)

    @property
    def pl_batch(self):
        return pl_batch_size(self.batch, self.pl_batch_shrink)


def auto_batch(resolution, gpus=1):
    """stylegan2-ada's auto minibatch: max(min(gpus * min(4096 // res, 32), 64), gpus)."""
    return max(min(gpus * min(4096 // int(resolution), 32), 64), gpus)


def _auto_heuristics(resolution, batch, gpus):
    return dict(mbstd=min(batch // gpus, 4), fmaps=1 if resolution >= 512 else 0.5,
                lrate=0.002 if resolution >= 1024 else 0.0025,
                gamma=0.0002 * resolution**2 / batch, ema_kimg=batch * 10 / 32)


def config_preset(name, resolution, batch=None, gpus=1):
    """TrainingConfig for a base configuration of stylegan2-ada's train.py, or 'tiny'/'small'.

    batch=None takes the preset's minibatch (auto: `auto_batch`).  For 'auto' (and the CPU
    presets) the heuristics use the effective batch: gamma = 0.0002 * res^2 / batch,
    mbstd = min(batch // gpus, 4), ema_kimg = batch * 10 / 32, ramp-up 0.05, fmaps 1 if
    res >= 512 else 0.5, lrate 0.002 if res >= 1024 else 0.0025, 2 mapping layers.  The
    named paper configs keep their table values whatever the batch.
    """
    resolution, gpus = int(resolution), int(gpus)
    if name in CFG_SPECS:
        spec = CFG_SPECS[name]
        if name == "auto":
            batch = auto_batch(resolution, gpus) if batch is None else int(batch)
            heur = _auto_heuristics(resolution, batch, gpus)
            return TrainingConfig(
                name=name, resolution=resolution, batch=batch, gpus=gpus, ref_gpus=gpus,
                kimg=spec["kimg"], ema_rampup=spec["ramp"], map_layers=spec["map"],
                fmap_base=int(heur["fmaps"] * 16384), **heur)
        batch = spec["mb"] if batch is None else int(batch)
        return TrainingConfig(
            name=name, resolution=resolution, batch=batch, gpus=gpus, ref_gpus=spec["ref_gpus"],
            kimg=spec["kimg"], mbstd=spec["mbstd"], fmaps=spec["fmaps"], lrate=spec["lrate"],
            gamma=spec["gamma"], ema_kimg=spec["ema"], ema_rampup=spec["ramp"],
            map_layers=spec["map"], fmap_base=int(spec["fmaps"] * 16384))
    if name in CPU_SPECS:
        spec = CPU_SPECS[name]
        batch = spec["mb"] if batch is None else int(batch)
        heur = _auto_heuristics(resolution, batch, gpus)
        heur.pop("fmaps")
        return TrainingConfig(
            name=name, resolution=resolution, batch=batch, gpus=gpus, ref_gpus=gpus,
            kimg=spec["kimg"], fmaps=spec["fmap_base"] / 16384, ema_rampup=0.05,
            map_layers=spec["map"], fmap_base=spec["fmap_base"], fmap_max=spec["fmap_max"],
            latent_size=spec["latent"], dlatent_size=spec["latent"],
            mapping_fmaps=spec["mapping_fmaps"], **heur)
    raise ValueError(f"unknown training configuration {name!r}; choose from {PRESET_NAMES}")
