"""StyleGAN2 TFRecords and stylegan2-ada zips: layout, exact read-back, readers' options."""

import json
import tracemalloc
import zipfile

import numpy as np
import pytest

from toonemo_lib.datasets.tfrecords import (
    integer_box_average,
    one_hot,
    read_tfrecords,
    read_zip,
    tfrecord_levels,
    write_tfrecords,
    write_zip,
)

import tensorflow as tf  # noqa: E402  (after toonemo_lib, which sets TF's environment)


def random_images(n, size=32, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (size, size, channels), dtype=np.uint8) for _ in range(n)]


def block_mean(img, factor):
    """Round-half-to-even mean of each factor x factor block, in float64: NVIDIA's levels."""
    h, w, c = img.shape
    blocks = img.astype(np.float64).reshape(h // factor, factor, w // factor, factor, c)
    return np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8)


def test_tfrecords_layout_and_exact_read_back(tmp_path):
    images = random_images(3, size=32)
    paths = write_tfrecords(iter(images), tmp_path / "toons", labels=[0, 2, 1])

    assert [p.name for p in paths] == [f"toons-r{k:02d}.tfrecords" for k in (5, 4, 3, 2)]
    assert sorted(tfrecord_levels(tmp_path / "toons")) == [4, 8, 16, 32]

    # The raw records: shape [C, H, W] and CHW bytes, as NVIDIA's training code parses them.
    raw = next(iter(tf.data.TFRecordDataset(str(paths[0]))))
    example = tf.train.Example.FromString(raw.numpy())
    assert list(example.features.feature["shape"].int64_list.value) == [3, 32, 32]
    chw = np.frombuffer(example.features.feature["data"].bytes_list.value[0], np.uint8).reshape(3, 32, 32)
    assert (chw.transpose(1, 2, 0) == images[0]).all()

    full = np.stack(list(read_tfrecords(tmp_path / "toons").as_numpy_iterator()))
    assert full.dtype == np.uint8 and full.shape == (3, 32, 32, 3)
    assert (full == np.stack(images)).all()                       # pixel-identical

    above = full
    for resolution in (16, 8, 4):
        level = np.stack(list(read_tfrecords(tmp_path / "toons", resolution).as_numpy_iterator()))
        assert level.shape == (3, resolution, resolution, 3)
        for img, got in zip(images, level):
            assert (got == block_mean(img, 32 // resolution)).all()
        # Against the stored level above, NVIDIA's rounding is within one grey level of
        # the integer recipe (a + b + c + d + 2) // 4.
        step = np.stack([integer_box_average(a) for a in above])
        assert np.abs(step.astype(int) - level).max() <= 1
        above = level

    labels = np.load(tmp_path / "toons" / "toons-rxx.labels")
    assert labels.dtype == np.float32 and labels.tolist() == one_hot([0, 2, 1]).tolist()
    pairs = list(read_tfrecords(paths[-1], with_labels=True).as_numpy_iterator())
    assert [p[1].argmax() for p in pairs] == [0, 2, 1]


def test_rounding_is_nvidias_round_half_to_even():
    # Blocks averaging 0.5, 1.5 and 2.5: np.rint gives 0, 2, 2; (sum + 2) // 4 gives 1, 2, 3.
    img = np.array([[0, 1, 1, 2, 2, 3], [0, 1, 1, 2, 2, 3]], np.uint8)[:, :, None]
    img = np.concatenate([img, img[:, :2]], axis=1)  # 2 x 8
    img = np.concatenate([img] * 4, axis=0)          # 8 x 8
    from toonemo_lib.datasets.tfrecords import pyramid

    level = list(pyramid(img))[1][0, :3, 0]
    assert level.tolist() == [0, 2, 2]
    assert integer_box_average(img)[0, :3, 0].tolist() == [1, 2, 3]


def test_gray_images_and_a_custom_name(tmp_path):
    images = random_images(2, size=8, channels=1)
    paths = write_tfrecords(images, tmp_path, name="gray")
    assert [p.name for p in paths] == ["gray-r03.tfrecords", "gray-r02.tfrecords"]
    back = np.stack(list(read_tfrecords(paths[0]).as_numpy_iterator()))
    assert back.shape == (2, 8, 8, 1) and (back == np.stack(images)).all()


def test_writer_rejects_mixed_or_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        write_tfrecords([np.zeros((8, 8, 3), np.uint8), np.zeros((16, 16, 3), np.uint8)], tmp_path)
    with pytest.raises(ValueError, match="power of two"):
        write_tfrecords([np.zeros((12, 12, 3), np.uint8)], tmp_path)
    with pytest.raises(ValueError, match="no images"):
        write_tfrecords([], tmp_path)
    with pytest.raises(ValueError, match="labels"):
        write_tfrecords(random_images(2, size=4), tmp_path, labels=[1])


def test_reader_options_batch_shuffle_mirror_repeat(tmp_path):
    images = random_images(5, size=8)
    write_tfrecords(images, tmp_path / "set")
    batches = list(read_tfrecords(tmp_path / "set", batch_size=2).as_numpy_iterator())
    assert [b.shape for b in batches] == [(2, 8, 8, 3), (2, 8, 8, 3), (1, 8, 8, 3)]

    shuffled = np.stack(list(read_tfrecords(tmp_path / "set", shuffle=True, seed=1).as_numpy_iterator()))
    keys = lambda stack: sorted(a.tobytes() for a in stack)  # noqa: E731
    assert keys(shuffled) == keys(images)

    repeated = read_tfrecords(tmp_path / "set", repeat=True, batch_size=4).take(3)
    assert [b.shape[0] for b in repeated.as_numpy_iterator()] == [4, 4, 4]

    mirrored = np.stack(list(read_tfrecords(tmp_path / "set", mirror=True, repeat=True, seed=3)
                             .take(40).as_numpy_iterator()))
    originals = np.stack(images * 8)
    same = (mirrored == originals).all(axis=(1, 2, 3))
    flipped = (mirrored == originals[:, :, ::-1]).all(axis=(1, 2, 3))
    assert (same | flipped).all() and same.any() and flipped.any()


def test_zip_layout_and_exact_read_back(tmp_path):
    images = random_images(3, size=16)
    path = write_zip(iter(images), tmp_path / "toons.zip", labels=[4, 0, 7])
    with zipfile.ZipFile(path) as zf:
        names = sorted(zf.namelist())
        meta = json.loads(zf.read("dataset.json"))
    assert names == ["00000/img00000000.png", "00000/img00000001.png", "00000/img00000002.png", "dataset.json"]
    assert meta == {"labels": [["00000/img00000000.png", 4], ["00000/img00000001.png", 0],
                               ["00000/img00000002.png", 7]]}

    back = np.stack(list(read_zip(path).as_numpy_iterator()))
    assert back.dtype == np.uint8 and back.shape == (3, 16, 16, 3)
    assert (back == np.stack(images)).all()                       # pixel-identical

    pairs = list(read_zip(path, with_labels=True).as_numpy_iterator())
    assert [int(label) for _, label in pairs] == [4, 0, 7]
    batch = next(read_zip(path, shuffle=True, mirror=True, repeat=True, batch_size=4, seed=0).as_numpy_iterator())
    assert batch.shape == (4, 16, 16, 3)


def test_zip_without_labels_and_thousands_folders(tmp_path):
    path = write_zip((np.full((4, 4, 3), i % 256, np.uint8) for i in range(1001)), tmp_path / "n.zip")
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("dataset.json")) == {"labels": None}
        assert "00001/img00001000.png" in zf.namelist()
    with pytest.raises(ValueError, match="no labels"):
        read_zip(path, with_labels=True)


def test_writing_streams_without_growing_memory(tmp_path):
    def peak_while_writing(count):
        images = (np.full((16, 16, 3), i % 256, np.uint8) for i in range(count))
        tracemalloc.start()
        write_tfrecords(images, tmp_path / f"n{count}")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    small, large = peak_while_writing(50), peak_while_writing(500)
    assert large < small * 1.5 + 20_000, (small, large)
