"""The course's own small StyleGAN2 pair, shipped in `data/models/`: the offline twin of
"FFHQ -> a cartoon model fine-tuned from it".

- ``faces``: trained from scratch by `toonemo train` on the faces of FER2013 (Training and
  PublicTest, 48x48 grey, resized and stored as RGB, mirrored);
- ``cartoons``: fine-tuned from it (`toonemo train --resume`) on the synthetic cartoon
  faces of `datasets/synthetic.py`, so it keeps the face model's ancestry and the two blend.

Only G_ema ("Gs") is shipped, in the project's `.npz` format (`saving.save_network`),
with a model card (``.md``) and the training log (``.csv``) beside each file.
"""

from __future__ import annotations

from pathlib import Path

from ..config import DATA_DIR

MODELS_DIR = DATA_DIR / "models"
SHIPPED_RESOLUTION = 32
SHIPPED = {
    "faces": f"stylegan2-faces-fer2013-{SHIPPED_RESOLUTION}.npz",
    "cartoons": f"stylegan2-cartoons-{SHIPPED_RESOLUTION}.npz",
}
MAX_SHIPPED_BYTES = 8 * 2**20


def shipped_path(kind: str) -> Path:
    """Where the shipped generator `kind` ("faces" or "cartoons") lives."""
    if kind not in SHIPPED:
        raise ValueError(f"no shipped generator {kind!r}: choose one of {', '.join(SHIPPED)}")
    return MODELS_DIR / SHIPPED[kind]


def load_shipped_generator(kind: str):
    """The shipped Gs of `kind`, ready to call as ``G(z, truncation_psi=0.7, noise_mode="const")``."""
    from .saving import load_network

    path = shipped_path(kind)
    if not path.exists():
        raise FileNotFoundError(
            f"the shipped {kind} generator {path.name} is missing from {path.parent}: it comes with the "
            "repository (git checkout -- data/models), or export one from a run with "
            "toonemo_lib.stylegan2.shipped.export_generator")
    return load_network(path)


def discriminator_path(kind: str) -> Path:
    """Where the discriminator fitted for the shipped generator `kind` lives (``<model>.D.npz``)."""
    path = shipped_path(kind)
    return path.with_name(path.stem + ".D.npz")


def load_shipped_discriminator(kind: str):
    """The discriminator fitted for the shipped `kind` generator (`train.fit_discriminator`):
    what a fine-tune resumed from the shipped model (``resume="shipped-faces"``) starts D from."""
    from .saving import load_network

    path = discriminator_path(kind)
    if not path.exists():
        raise FileNotFoundError(
            f"the discriminator {path.name} of the shipped {kind} generator is missing from {path.parent}: it comes "
            "with the repository (git checkout -- data/models), or fit one with "
            "toonemo_lib.stylegan2.train.fit_discriminator and save it with stylegan2.save_network")
    return load_network(path)


def export_generator(snapshot, path) -> Path:
    """Write a snapshot's G_ema alone (what sampling needs) to `path`; refuses files over 8 MiB."""
    from .saving import save_network
    from .snapshot import load_snapshot

    snap = load_snapshot(snapshot) if isinstance(snapshot, (str, Path)) else snapshot
    path = save_network(snap.Gs, path)
    size = path.stat().st_size
    if size > MAX_SHIPPED_BYTES:
        path.unlink()
        raise ValueError(f"{path.name} would be {size / 2**20:.1f} MiB: a shipped generator is at most 8 MiB")
    return path
