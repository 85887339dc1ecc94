"""StyleGAN2's base configurations (stylegan2-ada's `train.py` cfg_specs) and `TrainingConfig`.

Plain Python: the `toonemo` command reads the preset names without loading TensorFlow.
"""

import dataclasses


def pl_batch_size(batch, pl_batch_shrink=2):
    """Size of the path-length minibatch: batch // pl_batch_shrink, at least 1."""
    return max(int(batch) // int(pl_batch_shrink), 1)


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

# stylegan2-ada's train.py, for every --cfg: "enable mixed-precision training" and "clamp
# activations to avoid float16 overflow".
MIXED_PRECISION = dict(num_fp16_res=4, conv_clamp=256.0)

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
    num_fp16_res: int = 0
    conv_clamp: float | None = None

    def precision_kwargs(self):
        """The networks' mixed precision: float16 in the `num_fp16_res` highest resolutions."""
        return dict(num_fp16_res=self.num_fp16_res, conv_clamp=self.conv_clamp)

    def generator_kwargs(self):
        """Arguments for `Generator(**kwargs)`."""
        return dict(resolution=self.resolution, latent_size=self.latent_size,
                    dlatent_size=self.dlatent_size, mapping_layers=self.map_layers,
                    mapping_fmaps=self.mapping_fmaps, dlatent_avg_beta=self.w_avg_beta,
                    fmap_base=self.fmap_base, fmap_max=self.fmap_max, **self.precision_kwargs())

    def discriminator_kwargs(self):
        """Arguments for `Discriminator(**kwargs)`."""
        return dict(resolution=self.resolution, fmap_base=self.fmap_base,
                    fmap_max=self.fmap_max, mbstd_group_size=self.mbstd, **self.precision_kwargs())

    def g_optimizer(self):
        """Adam for G, adjusted for path-length regularisation every `pl_interval` steps."""
        from .optim import lazy_adam  # TensorFlow, loaded only when a run builds its optimizers

        interval = self.pl_interval if self.pl_weight else None
        return lazy_adam(self.lrate, *self.betas, interval=interval, epsilon=self.epsilon)

    def d_optimizer(self):
        """Adam for D, adjusted for R1 every `r1_interval` steps."""
        from .optim import lazy_adam

        interval = self.r1_interval if self.gamma else None
        return lazy_adam(self.lrate, *self.betas, interval=interval, epsilon=self.epsilon)

    def ema_beta(self, cur_nimg=None, resuming=False):
        """G_ema's beta at `cur_nimg` images; the ramp-up is off when resuming."""
        from .optim import ema_beta

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

    The base configurations train in stylegan2-ada's mixed precision (`MIXED_PRECISION`:
    float16 in the 4 highest resolutions, activations clipped to +-256), as its train.py
    sets for every --cfg; the CPU presets in float32.

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
                fmap_base=int(heur["fmaps"] * 16384), **heur, **MIXED_PRECISION)
        batch = spec["mb"] if batch is None else int(batch)
        return TrainingConfig(
            name=name, resolution=resolution, batch=batch, gpus=gpus, ref_gpus=spec["ref_gpus"],
            kimg=spec["kimg"], mbstd=spec["mbstd"], fmaps=spec["fmaps"], lrate=spec["lrate"],
            gamma=spec["gamma"], ema_kimg=spec["ema"], ema_rampup=spec["ramp"],
            map_layers=spec["map"], fmap_base=int(spec["fmaps"] * 16384), **MIXED_PRECISION)
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
