"""Saving StyleGAN2 networks: the project's `.npz` format, or Keras' own `.keras`.

The `.npz` file holds the constructor config as JSON text (key `__config__`)
and every weight under its TF1 name with its TF1 shape (`model.tf1_variables()`),
so it can be read back without this package (plain `np.load`, no pickle) and
compared with an official pickle name by name.  A path ending in `.keras` uses
`model.save` / `keras.saving.load_model` instead (the models are registered
Keras serializables).
"""

import json
from pathlib import Path

import keras
import numpy as np

from .networks import Discriminator, Generator

FORMAT = "toonemo-stylegan2/1"
_CLASSES = {"Generator": Generator, "Discriminator": Discriminator}


def save_network(model, path):
    """Write a Generator or Discriminator to `path` (.npz is appended unless it ends in .npz
    or .keras); returns the path written."""
    path = Path(path)
    if path.suffix == ".keras":
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
        return path
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    header = {"format": FORMAT, "class": type(model).__name__, "config": model.get_config()}
    arrays = {name: var.numpy() for name, var in model.tf1_variables().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, __config__=np.array(json.dumps(header)), **arrays)
    return path


def load_network(path):
    """Rebuild the model saved by `save_network` and copy its weights in."""
    if Path(path).suffix == ".keras":
        return keras.saving.load_model(path)
    with np.load(path, allow_pickle=False) as data:
        if "__config__" not in data.files:
            raise ValueError(f"{path}: not a toonemo StyleGAN2 file (no __config__ entry)")
        header = json.loads(str(data["__config__"]))
        if header.get("format") != FORMAT or header.get("class") not in _CLASSES:
            raise ValueError(f"{path}: unsupported format {header.get('format')!r} / "
                             f"class {header.get('class')!r}")
        model = _CLASSES[header["class"]].from_config(header["config"])
        targets = model.tf1_variables()
        stored = set(data.files) - {"__config__"}
        if stored != set(targets):
            raise ValueError(f"{path}: weights do not match the config; missing "
                             f"{sorted(set(targets) - stored)}, "
                             f"unexpected {sorted(stored - set(targets))}")
        for name, var in targets.items():
            if data[name].shape != tuple(var.shape):
                raise ValueError(f"{path}: weight {name!r} has shape {data[name].shape}, "
                                 f"expected {tuple(var.shape)}")
            var.assign(data[name])
    return model
