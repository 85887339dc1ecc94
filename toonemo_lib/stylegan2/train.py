"""A StyleGAN2 training run: a `RunSpec` trained into a run folder, tick by tick.

The loop of NVIDIA's `training_loop.py`: a tick of `tick_kimg` (tick 0 is one minibatch),
a row of `log.csv` per tick, a snapshot, a fakes grid and the metrics every `snap` ticks.
The pieces live beside it: `trainer` (one minibatch), `dataset` (the images and their
order), `run_folder` (the same-run check, pruning, carrying), `spec` and `presets`.

    spec = RunSpec(data="discs.zip", cfg="tiny", kimg=10, aug="noaug")
    log = train(spec, "runs/discs")            # again with a larger kimg: trains on
    log = continue_run("runs/discs", kimg=20)  # the same, from the folder alone
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import runs
from ..images import write_image
from ..unreadable import read_or_report
from .dataset import data_fingerprint, load_training_images, minibatch
from .generate import generator_to_uint8, tile_images, z_from_seeds
from .presets import config_preset
from .run_folder import (carry_run, check_same_run, continue_carried_run, prune_snapshots, read_config,
                         restore_newest)
from .snapshot import list_snapshots, load_snapshot, snapshot_name
from .spec import RunSpec
from .trainer import Trainer, make_strategy


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the run stops and keeps its last good snapshot."""


class TrainingSession:
    """The trainer of the last run trained in this Python session (a notebook keeps one).

    Continuing that run reuses its compiled phases (a CPU spends most of a short run
    compiling them); the snapshot it continues from still sets every state.
    """

    def __init__(self):
        self.key, self.trainer = None, None

    def trainer_for(self, key: str, build, reuse: bool) -> Trainer:
        """The kept trainer when `key` is its run's and `reuse` allows, else a new one from `build()`."""
        if not (reuse and key == self.key and self.trainer is not None):
            self.key, self.trainer = key, build()
        return self.trainer

    def train(self, spec: RunSpec, out, **kwargs) -> pd.DataFrame:
        return train(spec, out, session=self, **kwargs)


def train(spec: RunSpec, out, *, session: TrainingSession | None = None, extractors=None,
          progress: bool = True, continue_from=None) -> pd.DataFrame:
    """Train (or continue training) the run `spec` into the run folder `out`; returns its `log.csv`.

    Running it again continues from the newest readable snapshot (a larger `spec.kimg` trains
    on; a damaged newer one is renamed ``*.unreadable`` with an `UnreadableFileWarning`); a
    folder that holds another run (other data or settings, `RunSpec.identity`) is refused.
    `continue_from` is another run folder to continue when it is ahead of `out` (`continue_run`).
    `spec.resume` starts a new run from an official pickle, a snapshot or a manifest name
    (weights only: optimizer state, pl_mean, p and the counters start afresh, as NVIDIA's
    code does); `spec.warm_start` from a smaller trained pair (`Trainer.warm_start`).
    `spec.metrics` are ids of `metrics.METRICS`, computed at each snapshot into `log.csv`; the
    emotion stand-ins need `extractors` (`toonemo_lib.quality.emotion_features.metric_extractors`).
    `spec.carry` is a folder that keeps the run between sessions (`carry_run`): the run
    continues from it when it is ahead of `out`, and it is refreshed at every snapshot.
    `session` keeps the compiled trainer for the next call (`TrainingSession`).
    """
    from tqdm.auto import tqdm

    if not isinstance(spec, RunSpec):
        raise TypeError(f"train(spec, out) takes a RunSpec, got {type(spec).__name__}: "
                        "build one with RunSpec(data=..., cfg=..., ...)")
    out = Path(out)
    images = load_training_images(spec.data)
    resolution = images.shape[1]
    resume, warm_start = spec.resume, spec.warm_start
    base = resume_networks(resume) if resume is not None else None
    if base is not None and base[0].resolution != resolution:
        raise ValueError(f"the data set is {resolution}x{resolution} but {resume} is a "
                         f"{base[0].resolution}x{base[0].resolution} network: build the data "
                         f"set at {base[0].resolution} (toonemo dataset --resolution)")
    if base is not None and base[0].num_channels != images.shape[3]:
        raise ValueError(f"the data set has {images.shape[3]} channels, {resume} makes "
                         f"{base[0].num_channels}")
    config = spec.config(resolution)
    # The spec as this run resolves it (the preset's batch, gamma and kimg filled in): what
    # config.json and the snapshots record, so that the folder alone continues the run.
    spec = spec.replace(batch=config.batch, gamma=config.gamma, kimg=config.kimg)
    if base is None:  # from scratch: the preset's channel plan, the data's channels
        G_config = dict(config.generator_kwargs(), num_channels=images.shape[3])
        D_config = dict(config.discriminator_kwargs(), num_channels=images.shape[3])
    else:  # transfer: the pickle's architecture, the preset's hyper-parameters and precision
        G_config = dict(base[0].get_config(), **config.precision_kwargs())
        D_config = dict(base[1].get_config(), **config.precision_kwargs())
    identity = spec.identity(data_fingerprint(images), resolution)
    # Only now, with the data read: a run that cannot start leaves no new folder behind.
    sources = {Path(s).resolve(): s for s in (continue_from, spec.carry) if s is not None}  # once each
    for resolved, source in sources.items():
        if resolved != out.resolve():
            continue_carried_run(source, out)
    check_same_run(out, identity)
    suite = None
    if spec.metrics:
        from .metrics import MetricSuite

        suite = MetricSuite(list(spec.metrics), images, num_gen=min(max(len(images), 256), 5000),
                            extractors=extractors)

    snapshots = list_snapshots(out)
    key = json.dumps([identity, G_config, D_config, spec.strategy], sort_keys=True, default=str)
    session = session if session is not None else TrainingSession()
    trainer = session.trainer_for(key, lambda: Trainer(
        config, G_config=G_config, D_config=D_config, aug=spec.aug, p=spec.p, resumed=resume is not None,
        freezed=spec.freezed, seed=spec.seed, strategy=make_strategy(spec.strategy)), reuse=len(snapshots) > 0)
    log = read_or_report(out / runs.LOG, lambda _: runs.read_log(out, key="tick"), "log")
    if len(snapshots):
        latest = restore_newest(trainer, out)
        snapshots = list_snapshots(out)  # less the damaged ones it renamed
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
        cols = grid_shape(resolution)[0]
        shown = np.random.default_rng(spec.seed).permutation(len(images))[:cols * 4]
        write_image(out / "reals.png", tile_images(images[shown], cols))
    # The identity's keys first (as config.json always held them), then the rest of the spec.
    runs.atomic_write_json(out / runs.CONFIG, dict(identity, **spec.to_dict()))
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
        tick_end = min(total_nimg, tick_start + (1 if tick == 0 else int(spec.tick_kimg * 1000)))
        sums = {}
        bar = tqdm(total=tick_end - tick_start, desc=f"tick {tick}", unit="img",
                   disable=not progress, leave=False)
        while trainer.cur_nimg < tick_end:
            reals = minibatch(images, trainer.batch_idx, config.batch, spec.seed, spec.mirror)
            stats = trainer.step(reals)
            for name, value in stats.items():
                sums.setdefault(name, []).append(float(value))
            bar.update(config.batch)
        bar.close()
        row = tick_row(tick, trainer, sums, time.perf_counter() - tick_time,
                       time.perf_counter() - start, tick_start)
        if not trainer.is_finite(sums):
            good = snapshots["name"].iloc[-1] if len(snapshots) else "none yet"
            raise TrainingDiverged(f"the losses became non-finite at kimg {row['kimg']:.3f} "
                                   f"(tick {tick}); the last good snapshot is {good}")
        if tick % spec.snap == 0 or trainer.cur_nimg >= total_nimg:
            name = snapshot_name(trainer.cur_nimg, taken)
            taken.add(name)
            if suite is not None:
                row.update(suite(lambda n: generate_for_metrics(trainer.G_ema, n, spec.seed)))
            write_fakes(trainer.G_ema, out / f"fakes{name[len('network-snapshot-'):]}.png", latents)
            trainer.save(out / f"{name}.npz", tick=tick, spec=spec.to_dict())
            row["snapshot"] = name
            snapshots = list_snapshots(out)
            prune_snapshots(out, spec.keep_last, spec.keep)
        rows.append(row)
        runs.atomic_write_text(out / runs.LOG, pd.DataFrame(rows).to_csv(index=False))
        if spec.carry is not None and row["snapshot"]:
            carry_run(out, spec.carry)
        if progress:
            tqdm.write(tick_line(row))
        tick += 1
    return pd.DataFrame(rows)


def continue_run(run_dir, out=None, *, session: TrainingSession | None = None, extractors=None,
                 progress: bool = True, **changes) -> pd.DataFrame:
    """Continue the run in `run_dir` from its `config.json` and newest snapshot, into `out`
    (default: `run_dir` itself); returns the log.

    `changes` are `RunSpec` fields: a larger `kimg` trains on, `data` points at the same data
    in a new place (its fingerprint is checked), `tick_kimg`, `snap`, `metrics`, `keep_last`,
    `keep`, `carry` may change; a change of the run's identity is refused.  A carried run
    (`carry_run`) continues this way in a new session's run folder.
    """
    run_dir = Path(run_dir)
    spec = read_run_spec(run_dir).replace(**changes)
    out = run_dir if out is None else Path(out)
    return train(spec, out, session=session, extractors=extractors, progress=progress, continue_from=run_dir)


def read_run_spec(run_dir) -> RunSpec:
    """The spec of the run in `run_dir`, from its config.json (one written before RunSpec too)."""
    recorded = read_config(run_dir)
    if recorded is None:
        raise FileNotFoundError(f"{run_dir} holds no {runs.CONFIG}: not a run folder")
    return RunSpec.from_dict(recorded)


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

