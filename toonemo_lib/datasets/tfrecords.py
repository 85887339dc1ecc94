"""Write and read StyleGAN2 training sets: NVIDIA's TFRecords and the stylegan2-ada zip.

TFRecords (the layout of NVIDIA's original StyleGAN2 `dataset_tool.py`)
    One file per resolution, `NAME-rXX.tfrecords` with XX = log2(resolution) on two
    digits, from the full size down to 4x4 (`-r10` ... `-r02` for 1024).  Each record
    is a `tf.train.Example` with `shape` = [C, H, W] (int64) and `data` = the raw uint8
    pixels in C, H, W order.  Labels, if any, go to `NAME-rxx.labels`: a .npy file of
    one-hot float32 rows, the 2-D array NVIDIA's training code loads.

    Each lower level is the 2x2 box average of the level above, computed as NVIDIA
    does: the average is carried in float32 from level to level and every stored
    level is rounded once with `np.rint` (round half to even), so level k is the
    rounded mean of each 2^k x 2^k block of the full image.  The integer recipe
    `(a + b + c + d + 2) // 4` applied to the *stored* level above is not the same:
    it rounds halves up and rounds again at every level.  On uniform random 256x256
    images it differs from NVIDIA's in 12.5% of the 128x128 pixels (the ties) and in
    77% of the 4x4 pixels, by at most 1 grey level (at most 2 from 1024x1024); on
    smooth images almost only at the first level.  `integer_box_average` keeps that
    recipe for comparison.  Float32 holds the running averages exactly up to
    1024 x 1024 (8 + 2 * 8 = 24 mantissa bits).

stylegan2-ada zip
    PNG files `00000/img00000000.png`, `00000/img00000001.png`, ... (a folder per
    thousand images) inside a zip, plus `dataset.json` = {"labels": [[name, label],
    ...]} or {"labels": null}.

Writers stream: one image is in memory at a time, whatever the number of images.
NVIDIA's tool wrote its images in a shuffled order; these writers keep the order they
are given (`build_dataset` shuffles the file list first), and the readers shuffle too.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import cv2
import numpy as np
import tensorflow as tf  # toonemo_lib/__init__ has already set TensorFlow's environment

from .images import check_resolution

if TYPE_CHECKING:
    import pandas as pd

_LEVEL_FILE = re.compile(r"^(?P<name>.+)-r(?P<log2>\d\d)\.tfrecords$")


# ----------------------------------------------------------------------------
# Pixels.


def as_hwc(img: np.ndarray) -> np.ndarray:
    """An H x W x C uint8 image (C = 1 or 3) from an H x W or H x W x C array."""
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {img.dtype}")
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3):
        raise ValueError(f"images must be H x W, H x W x 1 or H x W x 3, got shape {img.shape}")
    if img.shape[0] != img.shape[1]:
        raise ValueError(f"images must be square, got {img.shape[1]}x{img.shape[0]}")
    check_resolution(img.shape[0])
    return img


def box_average(img: np.ndarray) -> np.ndarray:
    """Average each 2x2 block of an H x W x C array (float32 out, like NVIDIA's tool)."""
    img = img.astype(np.float32)
    return (img[0::2, 0::2] + img[0::2, 1::2] + img[1::2, 0::2] + img[1::2, 1::2]) * 0.25


def pyramid(img: np.ndarray):
    """Yield the uint8 H x W x C levels of an image from full size down to 4 x 4."""
    level = img
    yield img
    while level.shape[0] > 4:
        level = box_average(level)
        yield np.rint(level).clip(0, 255).astype(np.uint8)


def integer_box_average(img: np.ndarray) -> np.ndarray:
    """(a + b + c + d + 2) // 4 of each 2x2 block, in a wide type: round half up."""
    a = img.astype(np.uint16)
    return ((a[0::2, 0::2] + a[0::2, 1::2] + a[1::2, 0::2] + a[1::2, 1::2] + 2) // 4).astype(np.uint8)


def one_hot(labels) -> np.ndarray:
    """Integer class labels as one-hot float32 rows; 2-D labels are returned as float32."""
    labels = np.asarray(labels)
    if labels.ndim == 2:
        return labels.astype(np.float32)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or labels.min(initial=0) < 0:
        raise ValueError("labels must be non-negative integers (one per image) or a 2-D array")
    out = np.zeros((len(labels), int(labels.max(initial=-1)) + 1), np.float32)
    out[np.arange(len(labels)), labels] = 1.0
    return out


# ----------------------------------------------------------------------------
# NVIDIA TFRecords.


def _example(chw: np.ndarray) -> bytes:
    feature = {
        "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=list(chw.shape))),
        "data": tf.train.Feature(bytes_list=tf.train.BytesList(value=[chw.tobytes()])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def tfrecord_path(out_dir, name: str, resolution: int) -> Path:
    return Path(out_dir) / f"{name}-r{int(math.log2(resolution)):02d}.tfrecords"


def write_tfrecords(images: Iterable[np.ndarray], out_dir, name: str | None = None, labels=None) -> list[Path]:
    """Write square power-of-two uint8 images (HWC, RGB or gray) as NVIDIA's TFRecords.

    `images` may be any iterable (a generator keeps memory flat).  `name` defaults to
    the folder name, as in NVIDIA's tool.  `labels`: one integer per image, or a 2-D
    array, saved one-hot as NAME-rxx.labels.  Returns the files, largest level first.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = name or out_dir.resolve().name
    writers, paths, shape, count = [], [], None, 0
    try:
        for img in images:
            img = as_hwc(img)
            if shape is None:
                shape = img.shape
                levels = int(math.log2(shape[0])) - 1  # full size .. 4x4
                paths = [tfrecord_path(out_dir, name, shape[0] >> k) for k in range(levels)]
                writers = [tf.io.TFRecordWriter(str(p)) for p in paths]
            elif img.shape != shape:
                raise ValueError(f"image {count} has shape {img.shape}, the first one had {shape}")
            for writer, level in zip(writers, pyramid(img)):
                writer.write(_example(level.transpose(2, 0, 1)))
            count += 1
    finally:
        for writer in writers:
            writer.close()
    if count == 0:
        raise ValueError("no images to write")
    if labels is not None:
        labels = one_hot(labels)
        if len(labels) != count:
            raise ValueError(f"{len(labels)} labels for {count} images")
        # Saved through a file object: np.save would add ".npy" to a bare file name.
        with open(out_dir / f"{name}-rxx.labels", "wb") as f:
            np.save(f, labels, allow_pickle=False)
    return paths


def tfrecord_levels(directory) -> dict[int, Path]:
    """{resolution: file} for the NAME-rXX.tfrecords files of a folder."""
    levels = {}
    for path in sorted(Path(directory).glob("*.tfrecords")):
        match = _LEVEL_FILE.match(path.name)
        if match:
            resolution = 2 ** int(match["log2"])
            if resolution in levels:
                raise ValueError(f"two data sets in {directory}: {levels[resolution].name} and {path.name}")
            levels[resolution] = path
    return levels


def _find_tfrecord(path_or_dir, resolution):
    path = Path(path_or_dir)
    if path.is_file():
        return path
    levels = tfrecord_levels(path)
    if not levels:
        raise FileNotFoundError(f"no NAME-rXX.tfrecords files in {path}")
    resolution = resolution or max(levels)
    if resolution not in levels:
        raise ValueError(f"no {resolution}x{resolution} level in {path}; there are {sorted(levels)}")
    return levels[resolution]


def _record_shape(path: Path) -> tuple[int, int, int]:
    """The [C, H, W] shape of the first record, so the reader's tensors have a static shape."""
    for raw in tf.data.TFRecordDataset(str(path)).take(1):
        example = tf.train.Example.FromString(raw.numpy())
        return tuple(example.features.feature["shape"].int64_list.value)
    raise ValueError(f"{path} holds no records")


def read_tfrecords(
    path_or_dir,
    resolution: int | None = None,
    *,
    shuffle: bool = False,
    mirror: bool = False,
    repeat: bool = False,
    batch_size: int | None = None,
    with_labels: bool = False,
    seed: int | None = None,
    shuffle_mb: int = 256,
) -> tf.data.Dataset:
    """A tf.data.Dataset of uint8 H x W x C images (N x H x W x C when batched).

    `path_or_dir` is one .tfrecords file or a folder holding the levels; `resolution`
    picks a level (default: the largest).  `mirror` flips each image left-right with
    probability 1/2.  `with_labels` yields (image, one-hot label) pairs from NAME-rxx.labels.
    `shuffle_mb` bounds the shuffle buffer in megabytes of images.
    """
    path = _find_tfrecord(path_or_dir, resolution)
    channels, height, width = _record_shape(path)
    spec = {"shape": tf.io.FixedLenFeature([3], tf.int64), "data": tf.io.FixedLenFeature([], tf.string)}

    def parse(record):
        data = tf.io.decode_raw(tf.io.parse_single_example(record, spec)["data"], tf.uint8)
        return tf.transpose(tf.reshape(data, [channels, height, width]), [1, 2, 0])

    ds = tf.data.TFRecordDataset(str(path)).map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    if with_labels:
        ds = tf.data.Dataset.zip((ds, tf.data.Dataset.from_tensor_slices(_tfrecord_labels(path))))
    if shuffle:
        buffer = max(1, shuffle_mb * 2**20 // (channels * height * width))
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    return _finish(ds, mirror, repeat, batch_size, seed)


def _tfrecord_labels(path: Path) -> np.ndarray:
    match = _LEVEL_FILE.match(path.name)
    label_file = path.with_name(f"{match['name'] if match else path.stem}-rxx.labels")
    if not label_file.is_file():
        raise FileNotFoundError(f"with_labels=True but there is no {label_file}")
    return np.load(label_file, allow_pickle=False)


def _finish(ds, mirror, repeat, batch_size, seed):
    """The steps both readers share: mirror augment, repeat, batch, prefetch."""
    if mirror:
        def flip(img, *label):
            flipped = tf.image.random_flip_left_right(img, seed=seed)
            return (flipped, *label) if label else flipped

        ds = ds.map(flip, num_parallel_calls=tf.data.AUTOTUNE)
    if repeat:
        ds = ds.repeat()
    if batch_size:
        ds = ds.batch(batch_size, drop_remainder=repeat)
    return ds.prefetch(tf.data.AUTOTUNE)


# ----------------------------------------------------------------------------
# stylegan2-ada zip.


def zip_member_name(index: int) -> str:
    """`00000/img00000000.png` style: a folder for each thousand images."""
    number = f"{index:08d}"
    return f"{number[:5]}/img{number}.png"


def encode_png(img: np.ndarray, compression: int = 1) -> bytes:
    """PNG bytes of an H x W x C uint8 RGB (or gray) image."""
    pixels = img[:, :, 0] if img.shape[2] == 1 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise ValueError("PNG encoding failed")
    return data.tobytes()


def write_zip(images: Iterable[np.ndarray], out_path, labels=None, *, png_compression: int = 1) -> Path:
    """Write square uint8 images as a stylegan2-ada zip with dataset.json; returns the path.

    PNG compression 1 (of 0..9) is fast and near the smallest for photos; the zip
    stores the PNGs as they are, since deflating them again gains nothing.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    label_list = None if labels is None else list(np.asarray(labels).tolist())
    count, shape = 0, None
    # The zip format keeps its index (the central directory, ~0.5 KB per image) until
    # the file is closed; the images themselves are written and dropped one by one.
    with zipfile.ZipFile(out_path, "w", compression=zipfile.ZIP_STORED) as zf:
        for img in images:
            img = as_hwc(img)
            if shape is None:
                shape = img.shape
            elif img.shape != shape:
                raise ValueError(f"image {count} has shape {img.shape}, the first one had {shape}")
            zf.writestr(zip_member_name(count), encode_png(img, png_compression))
            count += 1
        if count == 0:
            raise ValueError("no images to write")
        if label_list is not None and len(label_list) != count:
            raise ValueError(f"{len(label_list)} labels for {count} images")
        meta = {"labels": None if label_list is None else
                [[zip_member_name(i), label] for i, label in enumerate(label_list)]}
        zf.writestr("dataset.json", json.dumps(meta))
    return out_path


def zip_contents(path) -> tuple[list[str], list | None]:
    """The image names of a stylegan2-ada zip, sorted, and their labels (or None)."""
    with zipfile.ZipFile(path) as zf:
        names = sorted(n for n in zf.namelist() if n.lower().endswith(".png"))
        meta = json.loads(zf.read("dataset.json")) if "dataset.json" in zf.namelist() else {}
    labels = meta.get("labels")
    if labels is not None:
        by_name = dict((n, l) for n, l in labels)
        labels = [by_name[n] for n in names]
    return names, labels


def read_zip(
    path,
    *,
    shuffle: bool = False,
    mirror: bool = False,
    repeat: bool = False,
    batch_size: int | None = None,
    with_labels: bool = False,
    seed: int | None = None,
) -> tf.data.Dataset:
    """A tf.data.Dataset of uint8 H x W x C images from a stylegan2-ada zip.

    Only the list of names is held in memory; each epoch reads the PNGs from the zip
    in turn (in a fresh random order when `shuffle`).  `with_labels` yields (image, label).
    """
    path = str(path)
    names, labels = zip_contents(path)
    if not names:
        raise ValueError(f"{path} holds no PNG images")
    if with_labels and labels is None:
        raise ValueError(f"with_labels=True but {path} has no labels in dataset.json")
    with zipfile.ZipFile(path) as zf:
        first = tf.io.decode_png(zf.read(names[0]))
    shape = first.shape
    rng = np.random.default_rng(seed)

    def members():
        order = rng.permutation(len(names)) if shuffle else range(len(names))
        with zipfile.ZipFile(path) as zf:
            for i in order:
                yield zf.read(names[i]), i

    ds = tf.data.Dataset.from_generator(
        members, output_signature=(tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.int64))
    )
    label_table = tf.constant(np.asarray(labels)) if with_labels else None

    def decode(data, index):
        img = tf.ensure_shape(tf.io.decode_png(data, channels=shape[2]), shape)
        return (img, tf.gather(label_table, index)) if with_labels else img

    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(ds, mirror, repeat, batch_size, seed)


# ----------------------------------------------------------------------------
# Proof by reading back.


def roundtrip_report(path, expected) -> pd.DataFrame:
    """Read a written data set back and compare every image with what should be in it.

    ``path``: a folder of NAME-rXX.tfrecords (or one such file), or a stylegan2-ada zip.
    ``expected``: the full-size uint8 H x W x C images in data-set order, any iterable (a
    generator keeps one image in memory at a time).  A TFRecords set is compared at every
    level with the 2x2 box-average :func:`pyramid` of the expected images, a zip at full size.

    Returns one row per resolution, largest first: ``format``, ``images read``,
    ``images expected`` and ``max |read - expected|``: 0 when the set round-trips exactly,
    -1 when the counts or the shapes differ.
    """
    import pandas as pd

    path = Path(path)
    if path.suffix.lower() == ".zip":
        fmt, readers = "zip", {None: read_zip(path)}
    else:
        fmt = "tfrecords"
        readers = {None: read_tfrecords(path)} if path.is_file() else {
            size: read_tfrecords(level) for size, level in tfrecord_levels(path).items()}
        if not readers:
            raise FileNotFoundError(f"no NAME-rXX.tfrecords files in {path}")
    iterators = {key: reader.as_numpy_iterator() for key, reader in readers.items()}
    stats = {key: {"resolution": key, "read": 0, "diff": 0} for key in readers}
    n_expected = 0
    for image in expected:
        n_expected += 1
        levels = {level.shape[0]: level for level in pyramid(as_hwc(image))}
        for key, iterator in iterators.items():
            got = next(iterator, None)
            if got is None:
                continue
            stat = stats[key]
            stat["read"] += 1
            stat["resolution"] = stat["resolution"] or got.shape[0]
            want = levels.get(got.shape[0])
            if want is None or want.shape != got.shape:
                stat["diff"] = -1
            elif stat["diff"] >= 0:
                stat["diff"] = max(stat["diff"], int(np.abs(got.astype(np.int16) - want).max()))
    for key, iterator in iterators.items():
        stats[key]["read"] += sum(1 for _ in iterator)  # records beyond the expected images
    rows = [{"format": fmt, "resolution": s["resolution"] or 0, "images read": s["read"], "images expected": n_expected,
             "max |read - expected|": s["diff"] if s["read"] == n_expected else -1} for s in stats.values()]
    return pd.DataFrame(rows).sort_values("resolution", ascending=False).set_index("resolution")
