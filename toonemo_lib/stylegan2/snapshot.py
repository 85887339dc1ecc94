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

from ..unreadable import UnreadableFile, read_or_report
from .networks import Discriminator, Generator

FORMAT = "toonemo-stylegan2-snapshot/1"
WHAT = ".npz snapshot"  # UnreadableFile's "PATH is not a readable .npz snapshot (...)"
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
            raise UnreadableFile(self.path, f"no network {key!r}; it has {sorted(self.configs)}", WHAT)
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
    """Read a snapshot written by the trainer; `UnreadableFile` (a ValueError naming the file)
    for a truncated, empty or damaged one, or another kind of file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no snapshot at {path}")

    def read(path):
        with _open(path) as data:
            header = _header(path, data)
            arrays = {name: data[name] for name in data.files if name != "__header__"}
        _check_weights(path, header, arrays)
        return Snapshot(path, header["state"], header["configs"], arrays)

    return read_or_report(path, read, WHAT)


def snapshot_problem(path) -> str | None:
    """Why the snapshot at `path` cannot be read, or None when it looks whole.

    Reads the zip's directory, the header and the entries' names, not the weights: a
    truncated, empty or foreign file shows here; a damaged weight only when it is loaded.
    """
    def peek(path):
        with _open(path) as data:
            _check_weights(path, _header(path, data), data.files)

    try:
        read_or_report(path, peek, WHAT)
    except UnreadableFile as err:
        return err.reason
    return None


def _open(path):
    """np.load of an .npz.  Anything else is refused before numpy guesses at it: it would take
    a plain .npy for an array, and other bytes for a pickle it refuses to load."""
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":
            raise ValueError("not an .npz (zip) archive")
    return np.load(path, allow_pickle=False)


def _header(path, data) -> dict:
    """The checked JSON header of an open snapshot."""
    if "__header__" not in data.files:
        raise UnreadableFile(path, "no __header__ entry",
                             message=f"{path} is not a training snapshot (no __header__ entry)")
    header = json.loads(str(data["__header__"]))
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else None
        raise UnreadableFile(path, f"format {found!r}", message=f"{path}: unsupported snapshot format {found!r}")
    missing = [key for key in ("state", "configs") if not isinstance(header.get(key), dict)]
    if missing:
        raise UnreadableFile(path, f"its header has no {' or '.join(missing)}", WHAT)
    return header


def _check_weights(path, header, names) -> None:
    """Each network the header names must have weights in the file."""
    for key in header["configs"]:
        if key not in NETWORKS:
            raise UnreadableFile(path, f"unknown network {key!r} in its header", WHAT)
        if not any(name.startswith(key + "/") for name in names):
            raise UnreadableFile(path, f"no weights for its network {key!r}", WHAT)


def readable_snapshots(run_dir) -> pd.DataFrame:
    """`list_snapshots` less those that `snapshot_problem` finds damaged; the table's
    attrs["unreadable"] lists (path, reason) of the ones left out."""
    table = list_snapshots(run_dir)
    problems = {path: snapshot_problem(path) for path in table["path"]}
    kept = table[[problems[path] is None for path in table["path"]]].reset_index(drop=True)
    kept.attrs["unreadable"] = [(path, why) for path, why in problems.items() if why is not None]
    return kept


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
        generate_images(load_snapshot(row.path).Gs, seeds), reals)) for row in snapshots.itertuples()]
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
