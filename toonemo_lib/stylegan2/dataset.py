"""The training images of a run and the order in which it shows them."""

import hashlib
from pathlib import Path

import numpy as np


def load_training_images(path) -> np.ndarray:
    """All images of a data set (a TFRecords folder or file, or a stylegan2-ada zip), uint8 NHWC.

    ``fer2013:R`` (e.g. ``fer2013:64``) is FER2013's Training and PublicTest faces at R x R,
    stored as RGB (`datasets.fer2013.generator_faces`), from the copy `find_fer2013` finds
    (``TOONEMO_FER2013``): the course's face models train on it without writing a data set.

    The fine-tuning sets of this course are a few hundred images, so they are held in
    memory: the order of minibatches then depends on the minibatch counter alone, which
    is what makes a resumed run exact.
    """
    from ..datasets.tfrecords import read_tfrecords, read_zip

    name, _, size = str(path).partition(":")
    if name == "fer2013" and size:
        from ..datasets.fer2013 import generator_faces, load_fer2013, require_fer2013

        if not size.isdigit() or int(size) < 4:  # "fer2013:" alone, or a size no network has
            raise ValueError(f"--data {path}: write fer2013:R with the resolution R, e.g. fer2013:64")
        return generator_faces(load_fer2013(require_fer2013()), int(size))
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no data set at {path}: build one with `toonemo dataset` "
                                "(TFRecords folder) or give a stylegan2-ada .zip")
    if path.suffix == ".zip":
        images = _read_all(path, read_zip)
    elif path.is_dir() or path.suffix == ".tfrecords":
        images = _read_all(path, read_tfrecords)
        _check_whole_records(_data_file(path))
    else:
        raise ValueError(f"{path}: a data set is a TFRecords folder, a .tfrecords file or a .zip")
    if not images:
        raise ValueError(f"the data set {path} holds no images")
    return np.stack(images)


def _read_all(path: Path, reader) -> list:
    """Every image `reader` yields from `path`; a damaged file is an `UnreadableFile` naming it.

    A truncated zip fails in zipfile, a truncated record or a damaged PNG inside TensorFlow's
    reader (DataLossError, InvalidArgumentError, ...): all are caught here, where the file is known.
    """
    import json
    import zipfile
    import zlib

    import tensorflow as tf

    from ..unreadable import UnreadableFile, describe

    try:
        return [image.numpy() for image in reader(path)]
    except (tf.errors.OpError, zipfile.BadZipFile, zlib.error, EOFError, KeyError, json.JSONDecodeError) as err:
        # (the readers' own ValueErrors, an empty data set say, already name the file)
        damaged = _data_file(path)
        raise UnreadableFile(damaged, describe(err, damaged), "data set") from None


def _check_whole_records(path: Path) -> None:
    """A file cut inside a record's 12-byte header reads as a shorter data set, silently, in
    TensorFlow: the records (8 + 4 bytes of length, the data, 4 of checksum) must fill the file."""
    import tensorflow as tf

    from ..unreadable import UnreadableFile

    used = sum(len(raw.numpy()) + 16 for raw in tf.data.TFRecordDataset(str(path)))
    extra = path.stat().st_size - used
    if extra:
        raise UnreadableFile(path, f"truncated: {extra} bytes after its last whole record", "data set")


def _data_file(path: Path) -> Path:
    """The file a data set is read from: the largest level of a TFRecords folder, else `path`."""
    from ..datasets.tfrecords import tfrecord_levels

    levels = tfrecord_levels(path) if path.is_dir() else {}
    return levels[max(levels)] if levels else path


def data_fingerprint(images: np.ndarray) -> str:
    """sha256 of the images' shape and pixels: a run refuses to continue on other data."""
    digest = hashlib.sha256(str(images.shape).encode())
    digest.update(np.ascontiguousarray(images).data)
    return digest.hexdigest()[:16]


def minibatch_indices(num_images: int, batch_idx: int, batch: int, seed: int, mirror: bool):
    """Indices of minibatch `batch_idx` into the (x-flip doubled) data set, and flip flags.

    Epoch e is a permutation drawn from (seed, e); minibatches run through the epochs
    back to back, so any minibatch can be found again from its counter.
    """
    size = num_images * (2 if mirror else 1)
    positions = np.arange(batch_idx * batch, (batch_idx + 1) * batch)
    out = np.empty(batch, np.int64)
    for epoch in np.unique(positions // size):
        order = np.random.default_rng([seed, int(epoch)]).permutation(size)
        here = positions // size == epoch
        out[here] = order[positions[here] % size]
    return out % num_images, out >= num_images


def minibatch(images, batch_idx, batch, seed, mirror):
    index, flip = minibatch_indices(len(images), batch_idx, batch, seed, mirror)
    chosen = images[index]
    chosen[flip] = chosen[flip][:, :, ::-1]
    return chosen
