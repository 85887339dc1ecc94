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

`train()` wraps this into a run folder with ticks, snapshots, grids and `log.csv`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from .. import runs
from ..images import write_image
from .augment import apply_color, make_augment, resample
from .generate import generator_to_uint8, tile_images, z_from_seeds
from .loss import (TrainingConfig, config_preset, d_logistic_loss, ema_beta,
                   g_nonsaturating_loss, path_lengths, r1_grad_norms, style_mixing_ws,
                   update_ema)
from .networks import Discriminator, Generator
from .snapshot import assign_weights, list_snapshots, load_snapshot, snapshot_name, write_snapshot


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the run stops and keeps its last good snapshot."""


class RunMismatchError(ValueError):
    """The run folder holds a run started with other data or settings."""


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
                 p=None, resumed=False, freezed=0, seed=0, strategy=None):
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        self.replicas = self.strategy.num_replicas_in_sync
        if config.batch % self.replicas:
            raise ValueError(f"batch {config.batch} does not split across {self.replicas} replicas")
        self.resumed = bool(resumed)
        G_config = G_config or config.generator_kwargs()
        D_config = dict(D_config or config.discriminator_kwargs(), mbstd_group_size=config.mbstd)
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

    def _augment(self, images, params):
        if "G_inv" in params:
            images = resample(images, params["G_inv"])
        if "C" in params:
            images = apply_color(images, params["C"])
        return images

    def _ws(self, lat):
        return style_mixing_ws(self.G, lat["z"], z2=lat["z2"], cutoff=lat["cutoff"])

    def _apply(self, opt, tape, loss, variables):
        grads = tape.gradient(loss, variables)
        opt.apply_gradients([(g, v) for g, v in zip(grads, variables) if g is not None])

    # NVIDIA's phases on one replica's share of the global batch.  Each loss is weighed by
    # the share, so that the replicas' summed gradients are those of the global mean.

    def _Gmain(self, reals, draws):
        """softplus(-D(G(z)))."""
        share = tf.cast(tf.shape(draws["lat"]["z"])[0], tf.float32) / self.config.batch
        with tf.GradientTape() as tape:
            ws = self._ws(draws["lat"])
            fakes = self.G.synthesis(ws, noise=draws["lat"]["noise"])
            loss = g_nonsaturating_loss(self.D(self._augment(fakes, draws["aug"]))) * share
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
            fake_logits = self.D(self._augment(fakes, draws["fake_aug"]))
            real_logits = self.D(self._augment(reals, draws["real_aug"]))
            loss = d_logistic_loss(real_logits, fake_logits) * share
        self._apply(self.opt_D, tape, loss, self.d_vars)
        return dict(loss_D=loss, w_sum=tf.reduce_sum(ws[:, 0], axis=0),
                    real_sign=tf.reduce_sum(tf.sign(real_logits)))

    def _Dreg(self, reals, draws):
        """R1: gamma/2 * |dD/dx|^2 on the reals (before augmentation), times the interval."""
        cfg = self.config
        share = tf.cast(tf.shape(reals)[0], tf.float32) / cfg.batch
        with tf.GradientTape() as tape:
            norms = r1_grad_norms(lambda x: self.D(self._augment(x, draws["aug"])), reals)
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


# --------------------------------------------------------------------------- data


def load_training_images(path) -> np.ndarray:
    """All images of a data set (a TFRecords folder or file, or a stylegan2-ada zip), uint8 NHWC.

    ``fer2013:R`` (e.g. ``fer2013:64``) is FER2013's Training and PublicTest faces at R x R,
    stored as RGB (`datasets.fer2013.generator_faces`), from the copy `find_fer2013` finds
    (``TOONEMO_FER2013``): the course's face models train on it without writing a data set.

    The fine-tuning sets of this course are a few hundred images, so they are held in
    memory: the order of minibatches then depends on the minibatch counter alone, which
    is what makes a resumed run exact.
    """
    from ..datasets.tfrecords import read_tfrecords, read_zip

    name, _, size = str(path).partition(":")
    if name == "fer2013" and size:
        from ..datasets.fer2013 import generator_faces, load_fer2013, require_fer2013

        if not size.isdigit() or int(size) < 4:  # "fer2013:" alone, or a size no network has
            raise ValueError(f"--data {path}: write fer2013:R with the resolution R, e.g. fer2013:64")
        return generator_faces(load_fer2013(require_fer2013()), int(size))
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no data set at {path}: build one with `toonemo dataset` "
                                "(TFRecords folder) or give a stylegan2-ada .zip")
    if path.suffix == ".zip":
        ds = read_zip(path)
    elif path.is_dir() or path.suffix == ".tfrecords":
        ds = read_tfrecords(path)
    else:
        raise ValueError(f"{path}: a data set is a TFRecords folder, a .tfrecords file or a .zip")
    images = [image.numpy() for image in ds]
    if not images:
        raise ValueError(f"the data set {path} holds no images")
    return np.stack(images)


def data_fingerprint(images: np.ndarray) -> str:
    """sha256 of the images' shape and pixels: a run refuses to continue on other data."""
    digest = hashlib.sha256(str(images.shape).encode())
    digest.update(np.ascontiguousarray(images).data)
    return digest.hexdigest()[:16]


def minibatch_indices(num_images: int, batch_idx: int, batch: int, seed: int, mirror: bool):
    """Indices of minibatch `batch_idx` into the (x-flip doubled) data set, and flip flags.

    Epoch e is a permutation drawn from (seed, e); minibatches run through the epochs
    back to back, so any minibatch can be found again from its counter.
    """
    size = num_images * (2 if mirror else 1)
    positions = np.arange(batch_idx * batch, (batch_idx + 1) * batch)
    out = np.empty(batch, np.int64)
    for epoch in np.unique(positions // size):
        order = np.random.default_rng([seed, int(epoch)]).permutation(size)
        here = positions // size == epoch
        out[here] = order[positions[here] % size]
    return out % num_images, out >= num_images


def minibatch(images, batch_idx, batch, seed, mirror):
    index, flip = minibatch_indices(len(images), batch_idx, batch, seed, mirror)
    chosen = images[index]
    chosen[flip] = chosen[flip][:, :, ::-1]
    return chosen


# --------------------------------------------------------------------------- the run folder

# What makes two runs the same run; kimg, ticks, snapshots and metrics may change on a rerun.
IDENTITY = ("data_fingerprint", "resolution", "cfg", "batch", "gamma", "aug", "p", "mirror",
            "freezed", "seed", "resume", "warm_start")


def grid_shape(resolution: int) -> tuple[int, int]:
    """Columns and rows of the fakes grid: NVIDIA's 7680x4320 screen, capped for small images."""
    return int(np.clip(7680 // resolution, 7, 8)), 4


def write_fakes(G_ema, path, latents) -> Path:
    """The grid of G_ema's images for the run's fixed latents (const noise, psi 1)."""
    images = np.concatenate([generator_to_uint8(G_ema(latents[i:i + 8], noise_mode="const"))
                             for i in range(0, len(latents), 8)])
    return write_image(path, tile_images(images, grid_shape(G_ema.resolution)[0]))


def fit_discriminator(G, data, *, kimg: float = 20.0, cfg: str = "tiny", batch: int = 32, mirror: bool = True,
                      seed: int = 0, progress: bool = True):
    """A fresh discriminator trained against the fixed generator `G` on `data` (D's phases only,
    NVIDIA's loss and R1, no augmentation), for a model shipped without its own D: a
    fine-tune resumed from (G, this D, G) starts from a D that already tells G's images from
    real ones."""
    from tqdm.auto import tqdm

    images = load_training_images(data)
    if images.shape[1] != G.resolution or images.shape[3] != G.num_channels:
        raise ValueError(f"the data are {images.shape[1]}x{images.shape[2]}x{images.shape[3]} but G draws "
                         f"{G.resolution}x{G.resolution}x{G.num_channels}")
    config = config_preset(cfg, G.resolution, batch=batch)
    D_config = dict(config.discriminator_kwargs(), num_channels=G.num_channels)  # the preset's D, as from scratch
    trainer = Trainer(config, G_config=G.get_config(), D_config=D_config, aug="noaug", resumed=True, seed=seed)
    trainer.load_networks(G, trainer.D, G)
    with tqdm(total=int(kimg * 1000), desc="fitting D", unit="img", disable=not progress, leave=False) as bar:
        while trainer.cur_nimg < kimg * 1000:
            trainer.step(minibatch(images, trainer.batch_idx, config.batch, seed, mirror), train_G=False)
            bar.update(config.batch)
    return trainer.D


def resume_networks(resume):
    """(G, D, Gs) from an official TF1 pickle, a snapshot, a shipped model (``shipped-faces``) or a
    manifest name (`ffhq1024` ...)."""
    from .official import load_official_pickle

    if str(resume) in SHIPPED_RESUME:
        from .shipped import load_shipped_discriminator, load_shipped_generator

        kind = SHIPPED_RESUME[str(resume)]
        G = load_shipped_generator(kind)
        return G, load_shipped_discriminator(kind), G
    path = Path(str(resume))
    if not path.exists() and path.suffix not in (".pkl", ".npz"):
        from ..download import fetch_artefact

        path = fetch_artefact(RESUME_NAMES.get(str(resume), str(resume)))
    if not path.exists():
        raise FileNotFoundError(f"--resume {resume}: no such file")
    if path.suffix == ".npz":
        snap = load_snapshot(path)
        return snap.G, snap.D, snap.Gs
    nets = load_official_pickle(path)
    return nets.G, nets.D, nets.Gs


RESUME_NAMES = {"ffhq1024": "stylegan2-ffhq-config-f"}
SHIPPED_RESUME = {"shipped-faces": "faces"}  # the course's face model with the D fitted for it
_last_trainer: dict = {}  # {run key: the Trainer of the last train() call}


def warm_start_networks(source):
    """(G, D) of a smaller pair to warm-start from: ``shipped-faces`` or a snapshot `.npz`."""
    if str(source) in SHIPPED_RESUME:
        G, D, _ = resume_networks(source)
        return G, D
    path = Path(str(source))
    if path.suffix != ".npz" or not path.is_file():
        raise FileNotFoundError(f"--warm-start {source}: give shipped-faces or a training snapshot .npz")
    snap = load_snapshot(path)
    return snap.Gs, snap.D


def train(data, out, *, cfg="auto", resume=None, warm_start=None, kimg=None, tick_kimg=4.0, snap=1, batch=None,
          gamma=None, mirror=False, aug="ada", p=None, freezed=0, metrics=(), extractors=None,
          strategy="auto", seed=0, keep_last=None, keep=(), carry=None, progress=True) -> pd.DataFrame:
    """Train (or continue training) into the run folder `out`; returns its `log.csv` as a table.

    Running the same call again continues from the newest snapshot; a folder that holds
    another run (other data or settings) is refused.  `resume` starts a new run from an
    official pickle, a snapshot or a manifest name (weights only: optimizer state,
    pl_mean, p and the counters start afresh, as NVIDIA's code does).  `metrics` are ids of
    `metrics.METRICS`, computed at each snapshot into `log.csv`; the emotion stand-ins need
    `extractors` (`toonemo_lib.emotion_features.metric_extractors(metrics)`).
    `warm_start` starts a new run at a higher resolution from a smaller trained pair
    (`Trainer.warm_start`): ``shipped-faces`` or a snapshot.  `carry` is a folder that keeps
    the run between sessions (`carry_run`, `continue_carried_run`): the run continues from
    it when it is ahead of `out`, and it is refreshed at every snapshot.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    images = load_training_images(data)
    resolution = images.shape[1]
    base = resume_networks(resume) if resume is not None else None
    if resume is not None and warm_start is not None:
        raise ValueError("give --resume (same resolution) or --warm-start (a smaller pair), not both")
    if base is not None and base[0].resolution != resolution:
        raise ValueError(f"the data set is {resolution}x{resolution} but {resume} is a "
                         f"{base[0].resolution}x{base[0].resolution} network: build the data "
                         f"set at {base[0].resolution} (toonemo dataset --resolution)")
    if base is not None and base[0].num_channels != images.shape[3]:
        raise ValueError(f"the data set has {images.shape[3]} channels, {resume} makes "
                         f"{base[0].num_channels}")
    config = config_preset(cfg, resolution, batch=batch)
    if gamma is not None:
        config.gamma = float(gamma)
    if kimg is not None:
        config.kimg = kimg
    if base is None:  # from scratch: the preset's channel plan, the data's channels
        G_config = dict(config.generator_kwargs(), num_channels=images.shape[3])
        D_config = dict(config.discriminator_kwargs(), num_channels=images.shape[3])
    else:  # transfer: the pickle's architecture, the preset's hyper-parameters
        G_config, D_config = base[0].get_config(), base[1].get_config()
    identity = dict(data_fingerprint=data_fingerprint(images), resolution=resolution, cfg=cfg,
                    batch=config.batch, gamma=config.gamma, aug=aug, p=p, mirror=bool(mirror),
                    freezed=int(freezed), seed=int(seed),
                    resume=None if resume is None else str(resume),
                    warm_start=None if warm_start is None else str(warm_start))
    if carry is not None:
        continue_carried_run(carry, out)
    check_same_run(out, identity)
    suite = None
    if metrics:
        from .metrics import MetricSuite

        suite = MetricSuite(list(metrics), images, num_gen=min(max(len(images), 256), 5000),
                            extractors=extractors)

    snapshots = list_snapshots(out)
    # Continuing the last run of this Python session reuses its compiled phases (a CPU
    # spends most of a short run compiling them); the snapshot still sets every state.
    key = json.dumps([identity, G_config, D_config, strategy], sort_keys=True, default=str)
    trainer = _last_trainer.get(key) if len(snapshots) else None
    if trainer is None:
        trainer = Trainer(config, G_config=G_config, D_config=D_config, aug=aug, p=p,
                          resumed=resume is not None, freezed=freezed, seed=seed,
                          strategy=make_strategy(strategy))
    _last_trainer.clear()
    _last_trainer[key] = trainer
    log = runs.read_log(out, key="tick")
    if len(snapshots):
        latest = load_snapshot(snapshots["path"].iloc[-1])
        trainer.restore(latest)
        tick = int(latest.state["tick"]) + 1
        log = log[log["tick"] < tick] if len(log) else log
    else:
        if base is not None:
            trainer.load_networks(*base)
        if warm_start is not None:
            copied = trainer.warm_start(*warm_start_networks(warm_start))
            if progress:
                tqdm.write(f"warm start from {warm_start}: copied {copied} weights")
        tick = 0
        runs.atomic_write_json(out / runs.CONFIG, dict(identity, data=str(data)))
        cols = grid_shape(resolution)[0]
        shown = np.random.default_rng(seed).permutation(len(images))[:cols * 4]
        write_image(out / "reals.png", tile_images(images[shown], cols))
    latents = z_from_seeds(range(grid_shape(resolution)[0] * 4), trainer.G.latent_size)
    if tick == 0:
        write_fakes(trainer.G_ema, out / "fakes_init.png", latents)

    total_nimg = int(round(config.kimg * 1000))
    rows = log.to_dict("records") if len(log) else []
    # Every name the run ever used, pruned or carried ones too: a later snapshot within the same
    # kimg must not take a bare name that sorts it before the earlier ones.
    taken = set(snapshots["name"]) | {row["snapshot"] for row in rows if isinstance(row.get("snapshot"), str)}
    start = time.perf_counter() - (rows[-1]["seconds"] if rows else 0.0)
    while trainer.cur_nimg < total_nimg:
        # NVIDIA's tick 0 is the first minibatch alone; then a tick every tick_kimg.
        tick_start, tick_time = trainer.cur_nimg, time.perf_counter()
        tick_end = min(total_nimg, tick_start + (1 if tick == 0 else int(tick_kimg * 1000)))
        sums = {}
        bar = tqdm(total=tick_end - tick_start, desc=f"tick {tick}", unit="img",
                   disable=not progress, leave=False)
        while trainer.cur_nimg < tick_end:
            reals = minibatch(images, trainer.batch_idx, config.batch, seed, mirror)
            stats = trainer.step(reals)
            for key, value in stats.items():
                sums.setdefault(key, []).append(float(value))
            bar.update(config.batch)
        bar.close()
        row = tick_row(tick, trainer, sums, time.perf_counter() - tick_time,
                       time.perf_counter() - start, tick_start)
        if not trainer.is_finite(sums):
            good = snapshots["name"].iloc[-1] if len(snapshots) else "none yet"
            raise TrainingDiverged(f"the losses became non-finite at kimg {row['kimg']:.3f} "
                                   f"(tick {tick}); the last good snapshot is {good}")
        if tick % snap == 0 or trainer.cur_nimg >= total_nimg:
            name = snapshot_name(trainer.cur_nimg, taken)
            taken.add(name)
            if suite is not None:
                row.update(suite(lambda n: generate_for_metrics(trainer.G_ema, n, seed)))
            write_fakes(trainer.G_ema, out / f"fakes{name[len('network-snapshot-'):]}.png", latents)
            trainer.save(out / f"{name}.npz", tick=tick)
            row["snapshot"] = name
            snapshots = list_snapshots(out)
            prune_snapshots(out, keep_last, keep)
        rows.append(row)
        runs.atomic_write_text(out / runs.LOG, pd.DataFrame(rows).to_csv(index=False))
        if carry is not None and row["snapshot"]:
            carry_run(out, carry)
        if progress:
            tqdm.write(tick_line(row))
        tick += 1
    return pd.DataFrame(rows)


def tick_row(tick, trainer, sums, tick_seconds, seconds, tick_start) -> dict:
    """One `log.csv` row: NVIDIA's tick report plus the losses and regularisers' means."""
    def mean(key):
        return float(np.mean(sums[key])) if key in sums else float("nan")

    kimg_done = (trainer.cur_nimg - tick_start) / 1000
    return dict(tick=tick, kimg=trainer.cur_nimg / 1000, seconds=round(seconds, 2),
                sec_per_tick=round(tick_seconds, 3),
                sec_per_kimg=round(tick_seconds / max(kimg_done, 1e-9), 3),
                loss_G=mean("loss_G"), loss_D=mean("loss_D"), r1=mean("r1_penalty"),
                pl=mean("pl_penalty"), pl_length=mean("pl_length"),
                pl_mean=float(trainer.pl_mean.numpy()),
                p=float(trainer.pipe.p.numpy()) if trainer.pipe is not None else 0.0,
                snapshot="")


def tick_line(row) -> str:
    return (f"tick {row['tick']:<4d} kimg {row['kimg']:<8.3f} time {row['seconds']:<8.1f} "
            f"sec/kimg {row['sec_per_kimg']:<7.2f} loss G {row['loss_G']:.3f} "
            f"D {row['loss_D']:.3f} p {row['p']:.3f}")


def generate_for_metrics(G_ema, n, seed):
    """n uint8 images from G_ema for fixed random latents (psi 1, random noise as NVIDIA)."""
    z = np.random.default_rng([seed, 1]).standard_normal((n, G_ema.latent_size)).astype(np.float32)
    return np.concatenate([generator_to_uint8(G_ema(z[i:i + 16], noise_mode="random"))
                           for i in range(0, n, 16)])


def check_same_run(out, identity) -> None:
    """Refuse a run folder whose config.json records other data or settings."""
    recorded = runs.read_json(Path(out) / runs.CONFIG)
    if recorded is None:
        if list_snapshots(out).shape[0]:
            raise RunMismatchError(f"{out} holds snapshots but no {runs.CONFIG}")
        return
    differs = {k: (recorded.get(k), identity.get(k)) for k in IDENTITY if recorded.get(k) != identity.get(k)}
    if differs:
        lines = ", ".join(f"{k}: {a!r} there, {b!r} now" for k, (a, b) in differs.items())
        raise RunMismatchError(f"{out} holds another run ({lines}); choose a new --out folder")


CARRY_MAX_BYTES = 15 * 2**20  # what one commit may add to the repository


def carry_run(out, carry) -> Path:
    """Copy what continues the run in `out` -- its newest snapshot (networks, optimiser and loop
    state), config.json and log.csv -- into `carry`, replacing the older snapshot there.

    A run longer than a session lives between sessions in such a folder (committed under
    ``data/checkpoints/<run>/``); `continue_carried_run` brings it back.  Refuses a snapshot
    over 15 MiB, what one commit may carry.
    """
    out, carry = Path(out), Path(carry)
    newest = list_snapshots(out)["path"].iloc[-1]
    size = newest.stat().st_size
    if size > CARRY_MAX_BYTES:
        raise ValueError(f"{newest.name} is {size / 2**20:.1f} MiB: a carried snapshot is at most "
                         f"{CARRY_MAX_BYTES / 2**20:.0f} MiB (use a smaller configuration)")
    carry.mkdir(parents=True, exist_ok=True)
    for name in (runs.CONFIG, runs.LOG):
        runs.atomic_write_text(carry / name, (out / name).read_text())
    part = carry / (newest.name + ".part")
    part.write_bytes(newest.read_bytes())
    os.replace(part, carry / newest.name)
    for old in list_snapshots(carry)["path"]:
        if old.name != newest.name:
            old.unlink()
    return carry / newest.name


def continue_carried_run(carry, out) -> bool:
    """Bring a carried run (`carry_run`) into the run folder `out` when it is ahead of `out`'s
    own snapshots; returns whether it did."""
    carry, out = Path(carry), Path(out)
    carried, own = list_snapshots(carry), list_snapshots(out)  # empty for a missing folder
    if not len(carried):
        return False
    if len(own) and own["kimg"].iloc[-1] >= carried["kimg"].iloc[-1]:
        return False
    for name in (runs.CONFIG, runs.LOG):
        if not (carry / name).is_file():
            raise FileNotFoundError(f"{carry} holds a snapshot but no {name}: not a carried run")
    out.mkdir(parents=True, exist_ok=True)
    for name in (runs.CONFIG, runs.LOG):
        runs.atomic_write_text(out / name, (carry / name).read_text())
    snapshot = carried["path"].iloc[-1]
    (out / snapshot.name).write_bytes(snapshot.read_bytes())
    return True


def prune_snapshots(out, keep_last, keep) -> None:
    """Delete all but the newest `keep_last` snapshots and those named in `keep` (kimg)."""
    if keep_last is None:
        return
    table = list_snapshots(out)
    picked = {float(k) for k in keep}
    old = table.iloc[:-keep_last] if keep_last else table
    for _, row in old.iterrows():
        if row["kimg"] not in picked and int(row["kimg"]) not in picked:
            Path(row["path"]).unlink()
