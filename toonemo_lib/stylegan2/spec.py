"""`RunSpec`: everything one StyleGAN2 training run is, as the CLI and the notebooks give it.

Plain Python, like `presets`: the `toonemo` command builds a spec before TensorFlow loads.
A run folder's `config.json` is the spec (plus the data's fingerprint and resolution), and
every snapshot's loop state carries it too, so a run continues from its folder alone.
"""

from __future__ import annotations

import dataclasses
import json

from .presets import config_preset

# What makes two runs the same run; kimg, ticks, snapshots, metrics and the folders around
# it may change on a rerun.  `config.json` has recorded these keys since the first runs.
IDENTITY = ("data_fingerprint", "resolution", "cfg", "batch", "gamma", "aug", "p", "mirror",
            "freezed", "seed", "resume", "warm_start")


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One training run: its data and settings (`toonemo train`'s options, by the same names).

    `batch`, `gamma` and `kimg` None take the preset's values; `resume` and `warm_start`
    name the weights a new run starts from (they are part of the run's identity).
    """

    data: str
    cfg: str = "auto"
    batch: int | None = None
    gamma: float | None = None
    kimg: float | None = None
    tick_kimg: float = 4.0
    snap: int = 1
    mirror: bool = False
    aug: str = "ada"
    p: float | None = None
    freezed: int = 0
    seed: int = 0
    resume: str | None = None
    warm_start: str | None = None
    metrics: tuple = ()
    strategy: str = "auto"
    keep_last: int | None = None
    keep: tuple = ()
    carry: str | None = None

    def __post_init__(self):
        # Paths become strings and lists tuples: the spec is hashable and writes as JSON.
        def text(value):
            return None if value is None else str(value)

        for name, value in (("data", str(self.data)), ("resume", text(self.resume)),
                            ("warm_start", text(self.warm_start)), ("carry", text(self.carry)),
                            ("metrics", tuple(self.metrics)), ("keep", tuple(float(k) for k in self.keep)),
                            ("mirror", bool(self.mirror)), ("freezed", int(self.freezed)), ("seed", int(self.seed))):
            object.__setattr__(self, name, value)
        if self.resume is not None and self.warm_start is not None:
            raise ValueError("give --resume (same resolution) or --warm-start (a smaller pair), not both")

    def replace(self, **changes) -> RunSpec:
        return dataclasses.replace(self, **changes)

    def config(self, resolution: int):
        """The run's `TrainingConfig` at the data's resolution: the preset, with gamma and kimg set."""
        config = config_preset(self.cfg, resolution, batch=self.batch)
        if self.gamma is not None:
            config.gamma = float(self.gamma)
        if self.kimg is not None:
            config.kimg = self.kimg
        return config

    def identity(self, data_fingerprint: str, resolution: int) -> dict:
        """The settings that make two runs the same run, batch and gamma as the preset resolves them."""
        config = self.config(resolution)
        return dict(data_fingerprint=data_fingerprint, resolution=int(resolution), cfg=self.cfg,
                    batch=config.batch, gamma=config.gamma, aug=self.aug, p=self.p, mirror=self.mirror,
                    freezed=self.freezed, seed=self.seed, resume=self.resume, warm_start=self.warm_start)

    def to_dict(self) -> dict:
        return {field.name: (list(value) if isinstance(value, tuple) else value)
                for field in dataclasses.fields(self) for value in [getattr(self, field.name)]}

    @classmethod
    def from_dict(cls, values: dict) -> RunSpec:
        """The spec in `values` (a `config.json`); other keys (the identity's fingerprint,
        resolution) are left out, and keys an older `config.json` lacks take the defaults."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        return cls.from_dict(json.loads(text))
