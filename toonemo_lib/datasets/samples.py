"""The small real images shipped in ``data/samples/`` (provenance in its README)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..config import DATA_DIR
from ..images import read_image, write_image

SAMPLES_DIR = DATA_DIR / "samples"


def sample_path(name: str) -> Path:
    """Path of a shipped sample such as ``"faces/astronaut.png"``; a clear error when absent."""
    path = SAMPLES_DIR / name
    if not path.is_file():
        known = ", ".join(list_samples()) or "none"
        raise FileNotFoundError(f"no shipped sample {name!r} in {SAMPLES_DIR} (shipped: {known})")
    return path


def list_samples(folder: str = "") -> list[str]:
    """Names of the shipped sample images, optionally only those under ``folder``."""
    root = SAMPLES_DIR / folder
    return sorted(str(p.relative_to(SAMPLES_DIR)) for p in root.rglob("*.png")) if root.is_dir() else []


def load_sample(name: str) -> np.ndarray:
    """A shipped sample as an H x W x 3 RGB ``uint8`` array (``toonemo_lib.images.read_image``)."""
    return read_image(sample_path(name))


def write_samples(dest: Path = SAMPLES_DIR, lfw_faces: int = 8) -> list[Path]:
    """(Re)create the shipped samples from scikit-image's bundled data (no network)."""
    from skimage import data

    images = {
        "faces/astronaut.png": data.astronaut(),
        "styles/hubble_deep_field.png": cv2.resize(data.hubble_deep_field(), (500, 436), interpolation=cv2.INTER_AREA),
        "styles/coffee.png": data.coffee(),
        "styles/chelsea.png": data.chelsea(),
    }
    lfw = data.lfw_subset()[:lfw_faces]  # the first 100 of the 200 are faces
    for i, face in enumerate(lfw):
        gray = np.round(face * 255).astype(np.uint8)
        images[f"faces/lfw_{i:02d}.png"] = np.stack([gray] * 3, axis=-1)
    return [write_image(Path(dest) / name, rgb) for name, rgb in images.items()]
