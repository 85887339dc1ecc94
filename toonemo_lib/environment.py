"""The first cell of every notebook: versions, and whether a GPU is there."""

from __future__ import annotations

import os
import platform

import pandas as pd


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ start-up log (INFO and WARNING) out of notebooks and terminals.

    Must run before TensorFlow is imported; a user's own ``TF_CPP_MIN_LOG_LEVEL`` wins.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def gpu_devices() -> list[str]:
    import tensorflow as tf

    return [d.name for d in tf.config.list_physical_devices("GPU")]


def check_environment(profile: str = "cpu") -> pd.DataFrame:
    """A table of the versions that matter; warns when the ``gpu`` profile runs without a GPU."""
    import cv2
    import keras
    import tensorflow as tf

    from . import __version__
    from .config import cache_dir, get_profile

    get_profile(profile)
    gpus = gpu_devices()
    if profile == "gpu" and not gpus:
        print("No GPU is visible. On Colab: Runtime > Change runtime type > GPU, then run the notebook again. "
              "Elsewhere, use PROFILE='cpu'.")
    return pd.DataFrame(
        {
            "python": [platform.python_version()],
            "toonemo": [__version__],
            "tensorflow": [tf.__version__],
            "keras": [keras.__version__],
            "opencv": [cv2.__version__],
            "GPU": [", ".join(gpus) or "none (CPU)"],
            "profile": [profile],
            "cache": [str(cache_dir())],
        }
    ).T.rename(columns={0: ""})
