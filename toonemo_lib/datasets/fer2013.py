"""FER2013 from whichever copy a user has: the Kaggle CSV, the Kaggle image folders or an npz.

Every loader returns the same thing: ``{split: (images, labels)}`` with uint8 images
``(N, 48, 48)`` and int64 labels 0..6 in FER2013's canonical order (``config.EMOTIONS``).
Split names: ``"train"`` (Kaggle ``Usage`` "Training"), ``"val"`` ("PublicTest") and
``"test"`` ("PrivateTest", only when the user's copy has it).

The data set is not bundled (its licence is unclear): ``require_fer2013`` finds a copy
in ``cache_dir()/"fer2013"`` or ``$TOONEMO_FER2013`` and otherwise says where to get one.
``expression_data`` is what a notebook calls: FER2013 when asked for and found, synthetic
cartoon faces otherwise, with a ``DataInfo`` that says (as Markdown) which data it is and why.
"""

from __future__ import annotations

import math
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from toonemo_lib.config import EMOTIONS, SEED, cache_dir
from toonemo_lib.datasets.synthetic import SOURCE_TEXT, synthetic_splits

SPLITS = ("train", "val", "test")
USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
SPLIT_TO_USAGE = {split: usage for usage, split in USAGE_TO_SPLIT.items()}
# Folder names of the image-folder layout (lower case, "_" and "-" removed).  Kaggle's
# msambare/fer2013 calls the PublicTest rows "test", so "test" means our "val" here.
FOLDER_TO_SPLIT = {"train": "train", "training": "train", "test": "val", "val": "val",
                   "validation": "val", "publictest": "val", "privatetest": "test"}
SPLIT_TO_FOLDER = {"train": "train", "val": "val", "test": "PrivateTest"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".tif", ".tiff")
FACE_SIZE = 48
KAGGLE_CSV_URL = ("https://www.kaggle.com/c/"
                  "challenges-in-representation-learning-facial-expression-recognition-challenge/data")
KAGGLE_FOLDERS_URL = "https://www.kaggle.com/datasets/msambare/fer2013"

Splits = dict[str, tuple[np.ndarray, np.ndarray]]


def fer2013_home() -> Path:
    """The default place for a user's FER2013 copy: ``cache_dir()/"fer2013"``."""
    return cache_dir() / "fer2013"


def download_instructions() -> str:
    """What to download and where to put it."""
    return (
        "FER2013 is not bundled (its licence is unclear); get your own copy, either\n"
        f"  - fer2013.csv from Kaggle's 'Challenges in Representation Learning: Facial Expression "
        f"Recognition Challenge' ({KAGGLE_CSV_URL}), or\n"
        f"  - the image folders train/ and test/ of the Kaggle data set msambare/fer2013 ({KAGGLE_FOLDERS_URL}),\n"
        f"and put it in {fer2013_home()} (or set TOONEMO_FER2013 to its path)."
    )


def load_fer2013(path) -> Splits:
    """``{split: (uint8 images, int64 labels)}`` from a .csv, an .npz or an image-folder root."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"no FER2013 copy at {path}.\n{download_instructions()}")
    if path.is_dir():
        return load_image_folders(path)
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".csv.zip")):
        return load_fer2013_csv(path)
    if name.endswith(".npz"):
        return load_fer2013_npz(path)
    raise ValueError(f"cannot read FER2013 from {path}: give the Kaggle fer2013.csv, an .npz "
                     "(x_train, y_train, x_val, y_val) or a folder with train/<emotion>/ images")


# ----------------------------------------------------------------------------- checks


def validate_split(images, labels, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Checked ``(uint8 (N, H, W) square images, int64 labels 0..6)``; a ``ValueError`` otherwise."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(f"images of split {name!r} must be (N, H, W) grayscale; got shape {images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"images of split {name!r} must be uint8 (0..255); got {images.dtype}")
    if len(images) == 0:
        raise ValueError(f"split {name!r} is empty")
    if images.shape[1] != images.shape[2]:
        raise ValueError(f"images of split {name!r} must be square; got {images.shape[1]}x{images.shape[2]}")
    if labels.ndim != 1:
        hint = " (one-hot? use labels.argmax(1))" if labels.ndim == 2 else ""
        raise ValueError(f"labels of split {name!r} must be 1-D class indices; got shape {labels.shape}{hint}")
    if len(labels) != len(images):
        raise ValueError(f"split {name!r} has {len(images)} images but {len(labels)} labels")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels of split {name!r} must be integers; got {labels.dtype}")
    bad = (labels < 0) | (labels >= len(EMOTIONS))
    if bad.any():
        raise ValueError(f"labels of split {name!r} must be 0..{len(EMOTIONS) - 1}; "
                         f"found {sorted(set(labels[bad].tolist()))[:5]}")
    return images, labels.astype(np.int64)


def _check_splits(splits: Splits) -> Splits:
    """Every split validated, in the order train, val, test; unknown split names refused."""
    unknown = [name for name in splits if name not in SPLITS]
    if unknown:
        raise ValueError(f"unknown split names {unknown}: use {', '.join(SPLITS)}")
    return {name: validate_split(*splits[name], name) for name in SPLITS if name in splits}


# ----------------------------------------------------------------------------- the Kaggle CSV


def load_fer2013_csv(path) -> Splits:
    """The Kaggle ``fer2013.csv`` (columns emotion, pixels and optionally Usage)."""
    table = pd.read_csv(path, dtype={"pixels": str, "Usage": str})
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in ("emotion", "pixels") if c not in table.columns]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {missing}: FER2013's CSV has emotion, pixels, Usage; "
                         f"found {list(table.columns)}")
    if table.empty:
        raise ValueError(f"{path} has no rows")
    images = _parse_pixels(table["pixels"], path)
    labels = _parse_labels(table["emotion"], path)
    usage = table["Usage"].fillna("").str.strip() if "Usage" in table else pd.Series("Training", index=table.index)
    unknown = sorted(set(usage) - set(USAGE_TO_SPLIT))
    if unknown:
        raise ValueError(f"{path} has unknown Usage values {unknown[:5]}: expected {', '.join(USAGE_TO_SPLIT)}")
    splits = {USAGE_TO_SPLIT[u]: (images[(usage == u).to_numpy()], labels[(usage == u).to_numpy()])
              for u in USAGE_TO_SPLIT if (usage == u).any()}
    return _check_splits(splits)


def _row(i: int) -> str:
    """How a data row is named in messages (the header is line 1)."""
    return f"row {i} (line {i + 2} of the file)"


def _parse_pixels(pixels: pd.Series, path) -> np.ndarray:
    """uint8 (N, S, S) from strings of S*S whitespace-separated integers (parsed in C, row by row)."""
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # older NumPy only warns on a bad token
        for i, text in enumerate(pixels.fillna("")):
            try:
                row = np.fromstring(text.strip(), dtype=np.int64, sep=" ")
            except (ValueError, DeprecationWarning):
                raise ValueError(f"{path}: {_row(i)} has pixel values that are not integers") from None
            if row.size == 0 or math.isqrt(row.size) ** 2 != row.size:
                raise ValueError(f"{path}: {_row(i)} has {row.size} pixels, which is not a square image")
            if rows and row.size != rows[0].size:
                raise ValueError(f"{path}: {_row(i)} has {row.size} pixels but row 0 has {rows[0].size}")
            if row.min() < 0 or row.max() > 255:
                raise ValueError(f"{path}: {_row(i)} has pixel values outside 0..255")
            rows.append(row.astype(np.uint8))
    size = math.isqrt(rows[0].size)
    return np.stack(rows).reshape(len(rows), size, size)


def _parse_labels(emotion: pd.Series, path) -> np.ndarray:
    """int64 labels 0..6 from the emotion column; names the first bad row otherwise."""
    numbers = pd.to_numeric(emotion, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(numbers) | (numbers != np.round(numbers)) | (numbers < 0) | (numbers >= len(EMOTIONS))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{path}: {_row(i)} has emotion {str(emotion.iloc[i])!r}; "
                         f"labels are 0..{len(EMOTIONS) - 1} ({', '.join(EMOTIONS)})")
    return numbers.astype(np.int64)


def write_fer2013_csv(path, splits: Splits) -> Path:
    """Write splits as a Kaggle-style CSV (emotion, pixels, Usage)."""
    splits = _check_splits(splits)
    rows = []
    for name, (images, labels) in splits.items():
        pixels = [" ".join(map(str, face.ravel().tolist())) for face in images]
        rows.append(pd.DataFrame({"emotion": labels, "pixels": pixels, "Usage": SPLIT_TO_USAGE[name]}))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(rows, ignore_index=True).to_csv(path, index=False)
    return path


# ----------------------------------------------------------------------------- image folders


def _folder_key(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _class_index(folder: Path) -> int:
    """The canonical index of a class folder, matched case-insensitively to ``EMOTIONS``."""
    names = [e.lower() for e in EMOTIONS]
    if folder.name.lower() not in names:
        raise ValueError(f"unknown class folder {folder}: class folders must be named "
                         f"{', '.join(EMOTIONS)} (any case)")
    return names.index(folder.name.lower())


def load_image_folders(root) -> Splits:
    """Kaggle's image-folder layout ``root/train/<emotion>/*.png`` (and ``root/test/...`` as "val")."""
    root = Path(root)
    split_dirs: dict[str, Path] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        split = FOLDER_TO_SPLIT.get(_folder_key(folder.name))
        if split is None:
            continue
        if split in split_dirs:
            raise ValueError(f"both {split_dirs[split].name}/ and {folder.name}/ in {root} "
                             f"would be the {split!r} split")
        split_dirs[split] = folder
    if not split_dirs:
        raise ValueError(f"{root} has no split folder: expected train/ (and test/ or val/) "
                         "each holding one folder per emotion")
    files = {split: _list_images(split_dirs[split]) for split in SPLITS if split in split_dirs}
    faces = _read_images([path for listing in files.values() for path, _ in listing])
    splits, start = {}, 0
    for split, listing in files.items():
        images = np.stack(faces[start:start + len(listing)])
        splits[split] = (images, np.array([label for _, label in listing], np.int64))
        start += len(listing)
    return _check_splits(splits)


def _list_images(split_dir: Path) -> list[tuple[Path, int]]:
    """(image path, canonical label) of one split folder, sorted by file name."""
    # Keras' image_dataset_from_directory / flow_from_directory number the class folders
    # alphabetically (angry, disgust, fear, happy, neutral, sad, surprise), which silently
    # swaps Neutral/Sad/Surprise against FER2013's order: we map names, never positions.
    listing = []
    for folder in sorted(p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        label = _class_index(folder)
        listing += [(f, label) for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
    if not listing:
        raise ValueError(f"{split_dir} has no images: expected {split_dir}/<emotion>/*.png or *.jpg "
                         f"with <emotion> one of {', '.join(e.lower() for e in EMOTIONS)}")
    return sorted(listing, key=lambda item: (item[0].name, item[1]))


def _read_images(paths: list[Path]) -> list[np.ndarray]:
    """Grayscale uint8 images; all resized to 48x48 (area) when their sizes differ."""
    faces = []
    for path in tqdm(paths, desc="reading FER2013 images", leave=False):
        data = np.fromfile(path, np.uint8)  # imdecode also copes with non-ASCII paths on Windows
        face = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None
        if face is None:
            raise ValueError(f"cannot read the image {path} (corrupt or not an image)")
        faces.append(face)
    if len({face.shape for face in faces}) > 1:
        faces = [face if face.shape == (FACE_SIZE, FACE_SIZE)
                 else cv2.resize(face, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA) for face in faces]
    return faces


def write_image_folders(root, splits: Splits) -> Path:
    """Write splits as ``root/<split>/<emotion>/<index>.png`` (lower-case emotions, like Kaggle)."""
    splits = _check_splits(splits)
    root = Path(root)
    for name, (images, labels) in splits.items():
        split_dir = root / SPLIT_TO_FOLDER[name]
        for emotion in EMOTIONS:
            (split_dir / emotion.lower()).mkdir(parents=True, exist_ok=True)
        width = len(str(len(images)))
        for i, (face, label) in enumerate(zip(images, labels)):
            path = split_dir / EMOTIONS[label].lower() / f"{i:0{width}d}.png"
            if not cv2.imwrite(str(path), face):
                raise OSError(f"could not write {path}")
    return root


# ----------------------------------------------------------------------------- npz


def load_fer2013_npz(path) -> Splits:
    """An npz with x_train, y_train, x_val, y_val (and optionally x_test, y_test)."""
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not an npz file (expected numpy.savez output with x_train, y_train, ...)")
    with np.load(path, allow_pickle=False) as data:
        keys = set(data.files)
        required = ["x_train", "y_train", "x_val", "y_val"]
        missing = [k for k in required if k not in keys]
        if "x_test" in keys or "y_test" in keys:
            missing += [k for k in ("x_test", "y_test") if k not in keys]
        if missing:
            raise ValueError(f"{path} lacks the key(s) {missing}; found {sorted(keys)}")
        splits = {name: (data[f"x_{name}"], data[f"y_{name}"]) for name in SPLITS if f"x_{name}" in keys}
    return _check_splits(splits)


def write_fer2013_npz(path, splits: Splits) -> Path:
    """Write splits as a compressed npz (x_<split>, y_<split>)."""
    splits = _check_splits(splits)
    arrays = {}
    for name, (images, labels) in splits.items():
        arrays[f"x_{name}"], arrays[f"y_{name}"] = images, labels
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:  # a file object keeps numpy from appending ".npz"
        np.savez_compressed(f, **arrays)
    return path


# ----------------------------------------------------------------------------- finding a copy


def find_fer2013() -> Path | None:
    """``$TOONEMO_FER2013``, else the first FER2013 copy in ``cache_dir()/"fer2013"``, else None."""
    env = os.environ.get("TOONEMO_FER2013")
    if env:
        path = Path(env).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"TOONEMO_FER2013 is set to {path}, which does not exist.\n"
                                    f"{download_instructions()}")
        return path
    home = fer2013_home()
    if not home.is_dir():
        return None
    for candidate in (home / "fer2013.csv", home / "fer2013_train_val.npz", *sorted(home.glob("*.npz"))):
        if candidate.is_file():
            return candidate
    for folder in (home, *sorted(p for p in home.iterdir() if p.is_dir())):
        if (folder / "train").is_dir():
            return folder
    return None


def require_fer2013(path=None) -> Path:
    """``path`` (when given) or ``find_fer2013()``; a ``FileNotFoundError`` saying what to download otherwise."""
    if path is not None:
        path = Path(path).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"no FER2013 copy at {path}.\n{download_instructions()}")
        return path
    found = find_fer2013()
    if found is None:
        raise FileNotFoundError(f"no FER2013 copy found.\n{download_instructions()}")
    return found


def class_distribution(labels_by_split: dict) -> pd.DataFrame:
    """Images per emotion (rows) and split (columns), plus each emotion's share of train in %.

    ``labels_by_split`` maps split names to label arrays (or to ``(images, labels)`` pairs).
    """
    counts = {}
    for name, labels in labels_by_split.items():
        labels = labels[1] if isinstance(labels, tuple) else labels  # also accepts {split: (images, labels)}
        counts[name] = np.bincount(np.asarray(labels, np.int64), minlength=len(EMOTIONS))[:len(EMOTIONS)]
    table = pd.DataFrame(counts, index=pd.Index(EMOTIONS, name="emotion"))
    if len(table.columns):
        reference = "train" if "train" in table else table.columns[0]
        total = max(int(table[reference].sum()), 1)
        table[f"{reference} %"] = (100.0 * table[reference] / total).round(1)
    return table


def class_balance_markdown(distribution: pd.DataFrame, split: str = "train") -> str:
    """Markdown about the class balance of ``split`` in a ``class_distribution`` table.

    Every figure is computed from the table: the rarest and the commonest class, their counts
    and shares, and whether imbalance matters (the commonest at least 3 times the rarest).
    """
    if split not in distribution.columns:
        have = ", ".join(map(str, distribution.columns))
        raise ValueError(f"the distribution has no split {split!r} (it has {have})")
    counts = distribution[split].astype(int)
    total = int(counts.sum())
    if total == 0:
        return f"The {split} split is empty."
    rare, common = counts.idxmin(), counts.idxmax()
    n_rare, n_common = int(counts[rare]), int(counts[common])
    text = (f"In the {split} split used here the rarest class is **{rare}**: {n_rare:,} of {total:,} faces "
            f"({100 * n_rare / total:.1f} %); the commonest is **{common}** with {n_common:,} "
            f"({100 * n_common / total:.1f} %)")
    if n_rare == 0:
        return text + f". There is no {rare} face at all: a model trained here can never learn it."
    ratio = n_common / n_rare
    if ratio >= 3:
        return (text + f", {ratio:.1f} times as many. A model can ignore {rare} almost for free; class weights "
                "(`class_weights`) are one counter-measure, at some cost in overall accuracy.")
    return (text + f": nearly balanced ({ratio:.1f} to 1), so always answering one class scores little, and "
            "these faces cannot show what imbalance does to a model.")


@dataclass
class DataInfo:
    """Which faces a notebook uses, where they come from and why: shown as Markdown.

    ``source`` is "FER2013" or "synthetic"; ``split_sizes`` counts the faces that are used
    (``train`` and ``val``), ``held_back`` those that are not (FER2013's PrivateTest).
    """

    source: str
    location: str
    split_sizes: dict
    held_back: dict = field(default_factory=dict)
    reason: str = ""

    def markdown(self) -> str:
        sizes = self.split_sizes
        if self.source == "FER2013":
            text = (f"**Data used here: FER2013** from `{self.location}`: {sizes.get('train', 0):,} faces "
                    f"(`Training`) train the models, {sizes.get('val', 0):,} (`PublicTest`) validate them.")
            if self.held_back:
                text += " Held back, never used for a decision: " + ", ".join(
                    f"{n:,} `{SPLIT_TO_USAGE.get(name, name)}` faces" for name, n in self.held_back.items()) + "."
        else:
            total = sum(sizes.values())
            text = (f"**Data used here: {total:,} {self.location}**, split "
                    f"{sizes.get('train', 0):,} for training and {sizes.get('val', 0):,} for validation "
                    f"(a seeded {100 * sizes.get('train', 0) / max(total, 1):.0f}/"
                    f"{100 * sizes.get('val', 0) / max(total, 1):.0f} split). Every figure about the data and the "
                    "trained models is measured on these cartoons, not on FER2013; only the shipped model's card "
                    "quotes FER2013.")
        if self.reason:
            text += f"\n\n{self.reason}"
        return text

    def _repr_markdown_(self) -> str:
        return self.markdown()


def expression_data(source: str = "fer2013", path=None, synthetic_faces: int = 280,
                    val_fraction: float = 0.2, seed: int = SEED) -> tuple[Splits, DataInfo]:
    """The faces to train and validate on, and a ``DataInfo`` that says which they are.

    ``source="fer2013"``: the copy at ``path`` (a missing ``path`` is an error), else the one
    ``find_fer2013`` finds; without any, ``synthetic_faces`` synthetic cartoon faces, and the
    info says what to download.  ``source="synthetic"``: the cartoon faces in any case.
    Synthetic faces are split ``1 - val_fraction`` / ``val_fraction`` (``synthetic_splits``).
    FER2013's PrivateTest split, when the copy has it, is dropped and counted as held back.
    Returns ``({"train": (images, labels), "val": (images, labels)}, info)``.
    """
    if source not in ("fer2013", "synthetic"):
        raise ValueError(f"unknown data source {source!r}; use 'fer2013' or 'synthetic'")
    if source == "fer2013":
        found = require_fer2013(path) if path else find_fer2013()
        if found is not None:
            splits = load_fer2013(found)
            missing = [name for name in ("train", "val") if name not in splits]
            if missing:
                raise ValueError(f"the FER2013 copy at {found} has no {' or '.join(missing)} split: "
                                 "it needs Training and PublicTest faces")
            held_back = {name: int(len(y)) for name, (_, y) in splits.items() if name not in ("train", "val")}
            used = {name: splits[name] for name in ("train", "val")}
            return used, DataInfo("FER2013", str(found), {k: int(len(y)) for k, (_, y) in used.items()}, held_back)
        reason = "FER2013 was not found, so synthetic faces stand in for it. " + download_instructions()
    else:
        reason = "This profile asks for synthetic faces (it must run in seconds without downloads)."
    splits = synthetic_splits(synthetic_faces, val_fraction=val_fraction, seed=seed)
    return splits, DataInfo("synthetic", SOURCE_TEXT, {k: int(len(y)) for k, (_, y) in splits.items()},
                            reason=reason)


def generator_faces(splits: Splits, resolution: int = 32, use=("train", "val")) -> np.ndarray:
    """FER2013 faces as a StyleGAN2 training set: uint8 RGB ``(N, R, R, 3)``, grey copied to 3 channels.

    Downscaling uses area averaging (no aliasing); upscaling uses bicubic interpolation.
    The labels are dropped: the generator is unconditional.
    """
    splits = _check_splits({name: splits[name] for name in use if name in splits})
    if not splits:
        raise ValueError(f"none of the splits {list(use)} is in the data")
    interpolation = cv2.INTER_AREA if resolution <= FACE_SIZE else cv2.INTER_CUBIC
    faces = np.concatenate([images for images, _ in splits.values()])
    if faces.shape[1] != resolution:
        faces = np.stack([cv2.resize(face, (resolution, resolution), interpolation=interpolation)
                          for face in faces])
    return np.repeat(faces[..., None], 3, axis=-1)
