"""StyleGAN2 training with NVIDIA's semantics, under any `tf.distribute` strategy.

One minibatch runs NVIDIA's four phases in order (stylegan2-ada-pytorch
`training_loop.py` / `loss.py`): G main (non-saturating loss), G reg (path length on a
halved batch, every 4th minibatch), D main (logistic loss on fakes and reals), D reg (R1
on reals, every 16th minibatch); then G_ema, w_avg and ADA's p are updated.

Every random number of a minibatch (latents, style-mixing cutoffs, noise maps,
augmentation matrices, the path-length noise) is drawn for the *global* batch from one
`tf.random.Generator` and then split across replicas.  So a run resumed from a snapshot
repeats exactly what the uninterrupted run would have done, and two replicas compute what
one replica computes on the same global batch; each replica's loss is its share of the
global mean, and the optimizer (`loss.Adam`) sums the replicas' gradients.

    trainer = Trainer(config_preset("tiny", 32), seed=0)
    for reals in batches:                        # uint8 NHWC, the global batch
        stats = trainer.step(reals)

`train.train()` wraps this into a run folder with ticks, snapshots, grids and `log.csv`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from .augment import apply_params, make_augment
from .fastconv import on_gpu
from .loss import (d_logistic_loss, g_nonsaturating_loss, path_lengths, r1_grad_norms,
                   style_mixing_ws)
from .networks import Discriminator, Generator
from .optim import ema_beta, update_ema
from .presets import TrainingConfig
from .snapshot import assign_weights, write_snapshot


# --------------------------------------------------------------------------- strategies


def make_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """'one' (the default device), 'mirrored' (all local GPUs), 'tpu' (Colab), or 'auto'.

    auto: mirrored when there are several GPUs, else the default single-device strategy.
    """
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "one"
    if name == "one":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"unknown strategy {name!r}; use auto, one, mirrored or tpu")


# --------------------------------------------------------------------------- the trainer


def freeze_layers(D, count: int) -> list:
    """FreezeD: the first `count` D layers from the image side (FromRGB, then each block's
    Conv0, Conv1_down, Skip, as stylegan2-ada counts them); their variables."""
    layers = [D.from_rgb] + [layer for block in D.blocks
                             for layer in (block.conv0, block.conv1_down, block.skip)]
    if not 0 <= count <= len(layers):
        raise ValueError(f"--freezed {count}: this discriminator has {len(layers)} layers "
                         "that can be frozen (FromRGB and 3 per block)")
    return [var for layer in layers[:count] for var in layer.trainable_weights]


class Trainer:
    """G, D, G_ema, their optimizers, pl_mean, ADA and the random generator of one run."""

    def __init__(self, config: TrainingConfig, *, G_config=None, D_config=None, aug="ada",
                 p=None, resumed=False, freezed=0, seed=0, strategy=None, mixed_precision=None):
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        self.replicas = self.strategy.num_replicas_in_sync
        if config.batch % self.replicas:
            raise ValueError(f"batch {config.batch} does not split across {self.replicas} replicas")
        self.resumed = bool(resumed)
        G_config = dict(G_config or config.generator_kwargs())
        D_config = dict(D_config or config.discriminator_kwargs(), mbstd_group_size=config.mbstd)
        # The config's float16 layers run where float16 is fast: on a GPU.  A CPU emulates
        # float16 (a config-f D phase at 1024 ran over 3x slower), so there G and D compute in
        # float32, as stylegan2-ada-pytorch forces off CUDA (`force_fp32`); the clamp stays.
        if not (on_gpu() if mixed_precision is None else mixed_precision):
            G_config["num_fp16_res"] = D_config["num_fp16_res"] = 0
        self.mixed_precision = bool(G_config.get("num_fp16_res") or D_config.get("num_fp16_res"))
        with self.strategy.scope():
            self.G = Generator(**dict(G_config, seed=seed))
            self.D = Discriminator(**dict(D_config, seed=seed + 1))
            self.G_ema = Generator(**dict(G_config, name="G_ema"))
            self.opt_G, self.opt_D = config.g_optimizer(), config.d_optimizer()
            self.pl_mean = tf.Variable(0.0, trainable=False, name="pl_mean")
            frozen = {id(v) for v in freeze_layers(self.D, freezed)}
            self.g_vars = list(self.G.trainable_variables)
            self.d_vars = [v for v in self.D.trainable_variables if id(v) not in frozen]
            self.opt_G.build(self.g_vars)  # the slots exist before a snapshot is restored
            self.opt_D.build(self.d_vars)
        update_ema(self.G_ema, self.G, 0.0)
        self.freezed = int(freezed)
        self.pipe, self.ada = make_augment(aug, p=p, resume=resumed, seed=seed)
        self.rng = tf.random.Generator.from_seed(seed)
        self.cur_nimg = 0
        self.batch_idx = 0
        self._steps = {}

    # -- weights ----------------------------------------------------------------------

    def load_networks(self, G, D, Gs=None):
        """Start from trained networks (an official pickle or a snapshot): weights only."""
        assign_weights(self.G, {k: v.numpy() for k, v in G.tf1_variables().items()}, "G")
        assign_weights(self.D, {k: v.numpy() for k, v in D.tf1_variables().items()}, "D")
        Gs = Gs if Gs is not None else G
        assign_weights(self.G_ema, {k: v.numpy() for k, v in Gs.tf1_variables().items()}, "Gs")

    def warm_start(self, G, D) -> dict:
        """Start from a smaller trained pair (`G` at a lower resolution, its `D`).

        Every weight of the pair must exist here with the same name and shape (the same
        channel plan and latent size); they are copied (G into G and G_ema) and the new
        resolution's layers stay as initialised, as progressive growing leaves them.  D's
        FromRGB moves to the new top resolution, so it is never copied.  Returns how many
        weights of each network were copied.
        """
        copied = {}
        for label, target, source in (("G", self.G, G), ("Gs", self.G_ema, G), ("D", self.D, D)):
            targets = target.tf1_variables()
            values = {name: var.numpy() for name, var in source.tf1_variables().items() if "FromRGB" not in name}
            for name, value in values.items():
                if name not in targets or tuple(targets[name].shape) != value.shape:
                    expected = tuple(targets[name].shape) if name in targets else "no such weight"
                    raise ValueError(f"warm start: the {label} given does not fit this network: {name} is "
                                     f"{value.shape} there, {expected} here (same preset and latent size needed)")
            for name, value in values.items():
                targets[name].assign(value)
            copied[label] = len(values)
        return copied

    def state_arrays(self) -> dict:
        """Optimizer slots and the random generator's state, by name."""
        arrays = {f"opt_G/{i:04d}": v.numpy() for i, v in enumerate(self.opt_G.variables)}
        arrays.update({f"opt_D/{i:04d}": v.numpy() for i, v in enumerate(self.opt_D.variables)})
        arrays["rng_state"] = self.rng.state.numpy()
        return arrays

    def loop_state(self) -> dict:
        return dict(cur_nimg=self.cur_nimg, batch_idx=self.batch_idx,
                    pl_mean=float(self.pl_mean.numpy()), resumed=self.resumed,
                    ada=None if self.ada is None else self.ada.state(),
                    p=None if self.pipe is None else float(self.pipe.p.numpy()))

    def save(self, path, **state) -> Path:
        """A snapshot of the run; `state` adds entries to its loop state (the tick)."""
        return write_snapshot(path, {"G": self.G, "D": self.D, "Gs": self.G_ema},
                              self.state_arrays(), dict(self.loop_state(), **state))

    def restore(self, snap) -> None:
        """Continue exactly where `snap` (a `Snapshot` of this run) stopped."""
        self.load_networks(snap.G, snap.D, snap.Gs)
        for key, opt in (("opt_G", self.opt_G), ("opt_D", self.opt_D)):
            for i, var in enumerate(opt.variables):
                var.assign(snap.arrays[f"{key}/{i:04d}"])
        self.rng.reset(snap.arrays["rng_state"])
        state = snap.state
        self.cur_nimg, self.batch_idx = int(state["cur_nimg"]), int(state["batch_idx"])
        self.resumed = bool(state["resumed"])
        self.pl_mean.assign(state["pl_mean"])
        if self.ada is not None:
            self.ada.restore(state["ada"])
        if self.pipe is not None:
            self.pipe.p.assign(state["p"])

    # -- one minibatch ----------------------------------------------------------------

    def _latents(self, n):
        """z, z2 and one style-mixing cutoff for a phase (NVIDIA: one cutoff per batch)."""
        G, rng = self.G, self.rng
        cutoff = rng.uniform([], 1, max(G.num_ws, 2), dtype=tf.int32)
        mixed = rng.uniform([]) < self.config.style_mixing_prob
        return dict(z=rng.normal([n, G.latent_size]), z2=rng.normal([n, G.latent_size]),
                    cutoff=tf.where(mixed, cutoff, G.num_ws),
                    noise=[rng.normal([n, s[1], s[2], 1]) for s in G.synthesis.noise_shapes()])

    def _aug_params(self, n):
        if self.pipe is None:
            return {}
        seed = self.rng.uniform_full_int([], tf.int64)
        res = self.config.resolution
        params = self.pipe.sample_params(n, res, res, seed=seed, channels=self.G.num_channels)
        return {k: v for k, v in params.items() if v is not None}

    def _draw(self, phase):
        """Every random number of one phase, for the global batch."""
        cfg = self.config
        if phase == "Gmain":
            return dict(lat=self._latents(cfg.batch), aug=self._aug_params(cfg.batch))
        if phase == "Greg":
            res, n = cfg.resolution, cfg.pl_batch
            return dict(lat=self._latents(n),
                        pl_noise=self.rng.normal([n, res, res, self.G.num_channels]) / res)
        if phase == "Dmain":
            return dict(lat=self._latents(cfg.batch), fake_aug=self._aug_params(cfg.batch),
                        real_aug=self._aug_params(cfg.batch))
        return dict(aug=self._aug_params(cfg.batch))  # Dreg

    def _ws(self, lat):
        return style_mixing_ws(self.G, lat["z"], z2=lat["z2"], cutoff=lat["cutoff"])

    def _apply(self, opt, tape, loss, variables):
        grads = tape.gradient(loss, variables)
        if self.mixed_precision:
            # stylegan2-ada-pytorch's nan_to_num: a float16 overflow must not reach the weights.
            grads = [None if g is None else tf.clip_by_value(tf.where(tf.math.is_nan(g), 0.0, g), -1e5, 1e5)
                     for g in grads]
        opt.apply_gradients([(g, v) for g, v in zip(grads, variables) if g is not None])

    # NVIDIA's phases on one replica's share of the global batch.  Each loss is weighed by
    # the share, so that the replicas' summed gradients are those of the global mean.

    def _Gmain(self, reals, draws):
        """softplus(-D(G(z)))."""
        share = tf.cast(tf.shape(draws["lat"]["z"])[0], tf.float32) / self.config.batch
        with tf.GradientTape() as tape:
            ws = self._ws(draws["lat"])
            fakes = self.G.synthesis(ws, noise=draws["lat"]["noise"])
            loss = g_nonsaturating_loss(self.D(apply_params(fakes, draws["aug"]))) * share
        self._apply(self.opt_G, tape, loss, self.g_vars)
        return dict(loss_G=loss, w_sum=tf.reduce_sum(ws[:, 0], axis=0))

    def _Greg(self, reals, draws):
        """Path length on the halved batch, times the interval; pl_mean over the global batch."""
        cfg = self.config
        share = tf.cast(tf.shape(draws["pl_noise"])[0], tf.float32) / cfg.pl_batch
        with tf.GradientTape() as tape:
            ws = self._ws(draws["lat"])
            lengths, _, _ = path_lengths(self.G, ws, pl_noise=draws["pl_noise"],
                                         noise=draws["lat"]["noise"])
            total = tf.distribute.get_replica_context().all_reduce("sum", tf.reduce_sum(lengths))
            pl_mean = self.pl_mean + (total / cfg.pl_batch - self.pl_mean) * cfg.pl_decay
            penalty = (tf.reduce_mean(tf.square(lengths - tf.stop_gradient(pl_mean)))
                       * cfg.pl_weight * cfg.pl_interval * share)
        self._apply(self.opt_G, tape, penalty, self.g_vars)
        return dict(pl_penalty=penalty, pl_length=tf.reduce_sum(lengths) / cfg.pl_batch,
                    pl_mean=pl_mean, w_sum=tf.reduce_sum(ws[:, 0], axis=0))

    def _Dmain(self, reals, draws):
        """softplus(D(G(z))) + softplus(-D(x))."""
        share = tf.cast(tf.shape(reals)[0], tf.float32) / self.config.batch
        ws = self._ws(draws["lat"])
        fakes = tf.stop_gradient(self.G.synthesis(ws, noise=draws["lat"]["noise"]))
        with tf.GradientTape() as tape:
            fake_logits = self.D(apply_params(fakes, draws["fake_aug"]))
            real_logits = self.D(apply_params(reals, draws["real_aug"]))
            loss = d_logistic_loss(real_logits, fake_logits) * share
        self._apply(self.opt_D, tape, loss, self.d_vars)
        return dict(loss_D=loss, w_sum=tf.reduce_sum(ws[:, 0], axis=0),
                    real_sign=tf.reduce_sum(tf.sign(real_logits)))

    def _Dreg(self, reals, draws):
        """R1: gamma/2 * |dD/dx|^2 on the reals (before augmentation), times the interval."""
        cfg = self.config
        share = tf.cast(tf.shape(reals)[0], tf.float32) / cfg.batch
        with tf.GradientTape() as tape:
            norms = r1_grad_norms(lambda x: self.D(apply_params(x, draws["aug"])), reals)
            penalty = tf.reduce_mean(norms) * (cfg.gamma / 2) * cfg.r1_interval * share
        self._apply(self.opt_D, tape, penalty, self.d_vars)
        return dict(r1_penalty=penalty)

    def _split(self, tree):
        """Per-replica shares of the global tensors (scalars are broadcast)."""
        if self.replicas == 1:
            return tree
        k = self.replicas

        def share(ctx):
            i = ctx.replica_id_in_sync_group
            return tf.nest.map_structure(
                lambda t: t if t.shape.rank == 0 else tf.split(t, k)[i], tree)

        return self.strategy.experimental_distribute_values_from_function(share)

    def _phase(self, name):
        """The compiled (draw, run) pair of a phase; run reduces its statistics across replicas."""
        if name not in self._steps:
            strategy, cfg, replica_fn = self.strategy, self.config, getattr(self, "_" + name)

            def run(reals, draws):
                stats = strategy.run(replica_fn, args=(reals, draws))
                if "pl_mean" in stats:  # every replica computed the same new pl_mean
                    self.pl_mean.assign(strategy.experimental_local_results(stats.pop("pl_mean"))[0])
                total = {k: strategy.reduce("SUM", v, axis=None) for k, v in stats.items()}
                # w_avg follows every mapping of the step (lerp to the batch mean, beta 0.995).
                n = cfg.pl_batch if name == "Greg" else cfg.batch
                mean, w_avg = total.pop("w_sum", None), self.G.mapping.w_avg
                if mean is not None:
                    mean = mean / n
                    w_avg.assign(mean + (w_avg - mean) * cfg.w_avg_beta)
                return total

            functions = (tf.function(lambda: self._draw(name), autograph=False),
                         tf.function(run, autograph=False))
            for function in functions:
                # TF counts traces by source line, so a second Trainer in one session (a
                # fine-tune after a from-scratch run) would be reported as "retracing".
                function._omit_frequent_tracing_warning = True
            self._steps[name] = functions
        return self._steps[name]

    def step(self, reals, train_G: bool = True) -> dict:
        """Train on one global minibatch of uint8 NHWC reals; returns its statistics.

        ``train_G=False`` runs only D's phases against the fixed G (`fit_discriminator`).
        """
        cfg = self.config
        phases = ["Gmain"] if train_G else []
        if train_G and cfg.pl_weight and self.batch_idx % cfg.pl_interval == 0:
            phases.append("Greg")
        phases.append("Dmain")
        if cfg.gamma and self.batch_idx % cfg.r1_interval == 0:
            phases.append("Dreg")
        reals = self._split(tf.cast(reals, tf.float32) / 127.5 - 1)
        stats = {}
        for name in phases:
            draw, run = self._phase(name)
            stats.update(run(reals, self._split(draw())))
        beta = ema_beta(cfg.batch, cfg.ema_kimg, self.cur_nimg,
                        None if self.resumed else cfg.ema_rampup)
        self._ema(tf.constant(beta, tf.float32))
        self.cur_nimg += cfg.batch
        self.batch_idx += 1
        if self.ada is not None:
            self.ada.add_signs(float(stats["real_sign"]), cfg.batch)
            self.ada.step(cfg.batch)
        return stats

    def is_finite(self, stats: dict) -> bool:
        """Whether every statistic in `stats` (name -> list of values) and every weight of G
        and D is a finite number."""
        values = [value for series in stats.values() for value in series]
        return (bool(np.isfinite(values).all())
                and all(np.isfinite(v.numpy()).all() for v in self.G.weights + self.D.weights))

    @tf.function(autograph=False)
    def _ema(self, beta):
        update_ema(self.G_ema, self.G, beta)
