"""Training snapshots: one `.npz` per tick holding everything an exact resume needs.

A snapshot keeps G, D and G_ema under their TF1 variable names (as `save_network` does,
prefixed `G/`, `D/`, `Gs/`), the optimizers' slots (`opt_G/0000` ...), and a JSON header
with the networks' configurations and the loop's state (images shown, minibatch counter,
`pl_mean`, ADA's p, the random generator's state).  It is a plain `np.load`-able file, no
pickle, written to a temporary name and renamed so that a run killed mid-write keeps its
previous snapshot.

    snap = load_snapshot("runs/toon/network-snapshot-000004.npz")
    snap.Gs                       # the generator to look at (G_ema)
    snap.state["cur_nimg"]
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .networks import Discriminator, Generator

FORMAT = "toonemo-stylegan2-snapshot/1"
NETWORKS = {"G": Generator, "D": Discriminator, "Gs": Generator}
_NAME = re.compile(r"^network-snapshot-(\d{6})(?:\.(\d{3}))?$")


def snapshot_kimg(name: str) -> float | None:
    """kimg of a snapshot name or file name ('network-snapshot-000012.345[.npz]'); None otherwise."""
    match = _NAME.match(name.removesuffix(".npz"))
    return None if match is None else (int(match[1]) * 1000 + int(match[2] or 0)) / 1000


def snapshot_name(cur_nimg: int, taken=()) -> str:
    """NVIDIA's `network-snapshot-{kimg:06d}`; `.NNN` images added when that name is `taken`.

    Small CPU runs tick several times within one kimg; the suffix keeps their snapshots
    apart, while a run that ticks every few kimg gets exactly NVIDIA's names.
    """
    name = f"network-snapshot-{cur_nimg // 1000:06d}"
    if name in taken:
        name += f".{cur_nimg % 1000:03d}"
    return name


def write_snapshot(path, networks: dict, arrays: dict, state: dict) -> Path:
    """Write `networks` ({"G": G, "D": D, "Gs": G_ema}), extra `arrays` and `state` atomically."""
    path = Path(path)
    header = {"format": FORMAT, "state": state,
              "configs": {key: net.get_config() for key, net in networks.items()}}
    entries = {f"{key}/{name}": var.numpy()
               for key, net in networks.items() for name, var in net.tf1_variables().items()}
    entries.update(arrays)
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(part, "wb") as f:
        np.savez(f, __header__=np.array(json.dumps(header)), **entries)
    os.replace(part, path)
    return path


@dataclasses.dataclass
class Snapshot:
    """A snapshot read back: its state, its arrays by name, and the networks it holds."""

    path: Path
    state: dict
    configs: dict
    arrays: dict

    def network(self, key: str):
        """Rebuild "G", "D" or "Gs" from its configuration and copy its weights in."""
        if key not in self.configs:
            raise KeyError(f"{self.path} holds no network {key!r}; it has {sorted(self.configs)}")
        model = NETWORKS[key].from_config(self.configs[key])
        assign_weights(model, {name[len(key) + 1:]: value for name, value in self.arrays.items()
                               if name.startswith(key + "/")}, f"{self.path} [{key}]")
        return model

    G = property(lambda self: self.network("G"))
    D = property(lambda self: self.network("D"))
    Gs = property(lambda self: self.network("Gs"))


def assign_weights(model, arrays: dict, label: str) -> None:
    """Copy TF1-named `arrays` into `model`; every name and shape must match."""
    targets = model.tf1_variables()
    if set(arrays) != set(targets):
        raise ValueError(f"{label}: weights do not match the network; missing "
                         f"{sorted(set(targets) - set(arrays))[:5]}, unexpected "
                         f"{sorted(set(arrays) - set(targets))[:5]}")
    for name, var in targets.items():
        if tuple(arrays[name].shape) != tuple(var.shape):
            raise ValueError(f"{label}: {name} has shape {arrays[name].shape}, "
                             f"the network expects {tuple(var.shape)}")
        var.assign(arrays[name])


def load_snapshot(path) -> Snapshot:
    """Read a snapshot written by the trainer (clear errors for other files)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no snapshot at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (ValueError, OSError) as err:
        raise ValueError(f"{path} is not a readable .npz snapshot ({err})") from None
    if "__header__" not in arrays:
        raise ValueError(f"{path} is not a training snapshot (no __header__ entry)")
    header = json.loads(str(arrays.pop("__header__")))
    if header.get("format") != FORMAT:
        raise ValueError(f"{path}: unsupported snapshot format {header.get('format')!r}")
    return Snapshot(path, header["state"], header["configs"], arrays)


def list_snapshots(run_dir) -> pd.DataFrame:
    """The run's snapshots, oldest first: columns name, kimg (images shown / 1000), path."""
    rows = []
    for path in Path(run_dir).glob("network-snapshot-*.npz"):
        kimg = snapshot_kimg(path.name)
        if kimg is not None:
            rows.append(dict(name=path.stem, kimg=kimg, path=path))
    table = pd.DataFrame(rows, columns=["name", "kimg", "path"])
    return table.sort_values("kimg", kind="stable").reset_index(drop=True)


def snapshot_fakes(snapshots, seeds, base=None, truncation_psi=1.0) -> dict:
    """uint8 images [len(seeds), H, W, C] of each snapshot's G_ema, same latents and const noise.

    `snapshots`: paths (or a `list_snapshots` table); `base`: an optional generator drawn
    first under the key "base" (the network training started from).  The seed's
    "choose by eye" step compares exactly these grids.
    """
    from .generate import generate_images

    if isinstance(snapshots, pd.DataFrame):
        snapshots = list(snapshots["path"])
    out = {} if base is None else {"base": generate_images(base, seeds, truncation_psi)}
    for path in snapshots:
        out[Path(path).stem] = generate_images(load_snapshot(path).Gs, seeds, truncation_psi)
    return out


def snapshot_colour_distances(snapshots: pd.DataFrame, reals, samples: int = 256, seed: int = 0) -> pd.DataFrame:
    """Per snapshot of a `list_snapshots` table: kimg and the colour-histogram distance
    between `samples` of its G_ema's images (fixed latents) and the data set `reals`."""
    from .generate import generate_images
    from .metrics import colour_histogram_distance

    seeds = range(seed, seed + samples)
    rows = [dict(name=row.name, kimg=row.kimg, colour_distance=colour_histogram_distance(
        generate_images(load_snapshot(row.path).Gs, seeds, batch_size=64), reals)) for row in snapshots.itertuples()]
    return pd.DataFrame(rows, columns=["name", "kimg", "colour_distance"])


def layout_similarity(images_a, images_b, side: int = 8) -> float:
    """How much of one set's layout the other keeps: the mean Pearson correlation between
    paired images, each turned grey and shrunk to `side` x `side` (so texture and colour
    do not count, only where the light and dark regions of a face lie); 1 is the same layout."""
    import cv2

    def layouts(images):
        grey = np.asarray(images, np.float32).mean(axis=-1)
        small = np.stack([cv2.resize(g, (side, side), interpolation=cv2.INTER_AREA) for g in grey])
        small = small.reshape(len(small), -1)
        small -= small.mean(axis=1, keepdims=True)
        return small / (np.linalg.norm(small, axis=1, keepdims=True) + 1e-6)

    return float((layouts(images_a) * layouts(images_b)).sum(axis=1).mean())


def pick_snapshot(snapshots: pd.DataFrame, base, reals, samples: int = 256, progress: float = 0.8,
                  seed: int = 0) -> pd.DataFrame:
    """Score the snapshots of a fine-tuning run and mark the one to ship.

    Per snapshot: `colour_distance` to the fine-tuning data `reals`, `toward_data` (the share
    of the way from the base model's distance to the best distance reached), and `layout`
    (`layout_similarity` to the base model's images for the same latents).  The pick is the
    snapshot with the most layout among those at least `progress` of the way: already drawn
    in the data's colours, and keeping the most of the face it started from.
    """
    from .metrics import colour_histogram_distance

    fakes = snapshot_fakes(snapshots, range(seed, seed + samples), base=base)
    base_images = fakes.pop("base")
    rows = [dict(name="base", kimg=0.0, colour_distance=colour_histogram_distance(base_images, reals), layout=1.0)]
    rows += [dict(name=name, kimg=kimg, colour_distance=colour_histogram_distance(images, reals),
                  layout=layout_similarity(images, base_images))
             for (name, images), kimg in zip(fakes.items(), snapshots["kimg"])]
    table = pd.DataFrame(rows)
    start, best = table["colour_distance"].iloc[0], table["colour_distance"].min()
    table["toward_data"] = (start - table["colour_distance"]) / max(start - best, 1e-9)
    eligible = table.index[(table["toward_data"] >= progress) & (table["name"] != "base")]
    if not len(eligible):
        raise ValueError("no snapshot has moved toward the data's colours: train longer")
    table["picked"] = table.index == table.loc[eligible, "layout"].idxmax()
    return table
