"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest

from toonemo_lib.cpu import apply_onednn_setting

# The suite trains emotion networks in its own processes: oneDNN off there on AVX-512 CPUs,
# before TensorFlow loads (toonemo_lib/cpu.py).  test_onednn.py checks the default path.
apply_onednn_setting(emotion_training=True)

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def shared_root() -> Path:
    """The team's shared folder: $TOONEMO_SHARED, else the checkout's sibling `shared/`."""
    return Path(os.environ.get("TOONEMO_SHARED", PROJECT_ROOT.parent / "shared"))


@pytest.fixture
def shared_dir() -> Path:
    """Path of the shared folder; skips the test with a reason when it is absent."""
    root = shared_root()
    if not root.is_dir():
        pytest.skip(f"shared data folder {root} is absent (set TOONEMO_SHARED to use another place)")
    return root


@pytest.fixture
def phone_jpeg(tmp_path) -> Path:
    """A 40x20 JPEG whose left half is white, stored sideways with EXIF orientation 6, as phones do."""
    import numpy as np
    from PIL import Image

    img = np.zeros((20, 40, 3), np.uint8)
    img[:, :20] = 255                       # white left half of a landscape image
    pil = Image.fromarray(img)
    exif = pil.getexif()
    exif[0x0112] = 6                        # "rotate 90 degrees clockwise to display"
    path = tmp_path / "phone.jpg"
    pil.save(path, exif=exif, quality=95)
    return path
