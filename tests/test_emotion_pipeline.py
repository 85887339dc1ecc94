"""From faces to batches: preprocessing, augmentation, class weights and tf.data."""

import cv2
import numpy as np
import pytest

from toonemo_lib.datasets.synthetic import synthetic_faces
from toonemo_lib.emotion.pipeline import (
    augmentation_layers,
    augmented_copies,
    class_weights,
    make_dataset,
    preprocess_faces,
)
from toonemo_lib.images import to_gray


@pytest.fixture(scope="module")
def faces():
    """14 grayscale 48x48 synthetic faces (two per emotion) and their labels."""
    return synthetic_faces(14, size=48, grayscale=True, seed=5)


def _check_batch(x, n, resolution=48):
    assert x.shape == (n, resolution, resolution, 1) and x.dtype == np.float32
    assert x.min() >= -1.0 and x.max() <= 1.0


def test_preprocess_faces_accepts_gray_rgb_single_channel_and_mixed_crops():
    rgb, _ = synthetic_faces(3, size=64, seed=1)
    face_rgb = rgb[0]
    gray = cv2.cvtColor(face_rgb, cv2.COLOR_RGB2GRAY)
    for face in (gray, face_rgb, gray[..., None], np.dstack([face_rgb, np.full(gray.shape, 255, np.uint8)])):
        out = preprocess_faces(face)
        _check_batch(out, 1)
        np.testing.assert_array_equal(out, preprocess_faces(gray))  # RGB(A) -> gray exactly as to_gray
    crops = [gray, cv2.resize(face_rgb, (30, 30)), np.zeros((100, 80), np.uint8), rgb[2]]
    _check_batch(preprocess_faces(crops, resolution=40), 4, 40)
    batch = preprocess_faces(np.stack([gray, gray]), resolution=32)
    _check_batch(batch, 2, 32)
    assert batch.min() < -0.5 and batch.max() > 0.5  # the whole [-1, 1] range is used


def test_preprocess_faces_reads_colour_as_rgb():
    red, blue = np.zeros((48, 48, 3), np.uint8), np.zeros((48, 48, 3), np.uint8)
    red[..., 0], blue[..., 2] = 255, 255
    out = preprocess_faces([red, blue])
    # gray 76 (0.299 * 255) and 29 (0.114 * 255), scaled to [-1, 1]
    np.testing.assert_allclose(out[:, 0, 0, 0], [76 / 127.5 - 1, 29 / 127.5 - 1], rtol=1e-6)


def test_preprocess_faces_scales_0_and_255_to_the_ends():
    out = preprocess_faces(np.stack([np.zeros((48, 48), np.uint8), np.full((48, 48), 255, np.uint8)]))
    assert out[0].max() == -1.0 and out[1].min() == 1.0


@pytest.mark.parametrize("bad, message", [
    (np.zeros(10, np.uint8), r"one face .* or a batch .*got shape \(10,\)"),
    (np.zeros((2, 8, 8, 3, 1), np.uint8), r"got shape \(2, 8, 8, 3, 1\)"),
    (np.zeros((2, 8, 8, 2), np.uint8), r"an image must be .*got shape \(8, 8, 2\)"),
    ([np.zeros((1, 9), np.uint8)], "at least 2x2"),
])
def test_preprocess_faces_rejects_bad_shapes_clearly(bad, message):
    with pytest.raises(ValueError, match=message):
        preprocess_faces(bad)


def test_float_faces_in_0_1_are_scaled_like_uint8_ones():
    gray = np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)
    np.testing.assert_array_equal(preprocess_faces(gray / 255.0), preprocess_faces(gray))
    np.testing.assert_array_equal(to_gray(gray / 255.0), gray)


def test_augmentation_keeps_the_value_range():
    x = np.linspace(-1, 1, 4 * 48 * 48, dtype=np.float32).reshape(4, 48, 48, 1)
    y = np.asarray(augmentation_layers(seed=3)(x, training=True))
    assert y.min() < -0.5 and y.max() > 0.5 and y.min() >= -1.0 and y.max() <= 1.0


def test_augmented_copies_are_new_deterministic_samples(faces):
    images, labels = faces
    out, out_labels = augmented_copies(images, labels, amount=20, seed=7, batch_size=8)
    assert out.shape == (20, 48, 48) and out.dtype == np.uint8 and len(out_labels) == 20
    assert set(out_labels.tolist()) <= set(labels.tolist())
    again, again_labels = augmented_copies(images, labels, amount=20, seed=7, batch_size=8)
    np.testing.assert_array_equal(out, again)
    np.testing.assert_array_equal(out_labels, again_labels)
    # no copy equals any source image
    diffs = np.abs(out[:, None].astype(int) - images[None].astype(int)).mean(axis=(2, 3))
    assert diffs.min() > 1.0
    assert out.std() > 0.5 * images.std()  # not washed out: dark pixels survive augmentation


def test_augmented_copies_keep_a_channel_axis_and_amount_0_is_empty(faces):
    images, labels = faces
    out, out_labels = augmented_copies(images[..., None], labels, amount=3, seed=1)
    assert out.shape == (3, 48, 48, 1)
    empty, empty_labels = augmented_copies(images, labels, amount=0)
    assert empty.shape == (0, 48, 48) and empty.dtype == np.uint8 and len(empty_labels) == 0


def test_class_weights_favour_rare_classes_with_mean_1():
    labels = np.array([3] * 50 + [0] * 20 + [1] * 5 + [6] * 25)
    weights = class_weights(labels)
    assert weights[1] > weights[0] > weights[6] > weights[3]
    assert np.mean([weights[y] for y in labels]) == pytest.approx(1.0)
    assert len(weights) == 7 and weights[2] == 1.0  # a missing class is never used
    with pytest.raises(ValueError, match="at least one label"):
        class_weights(np.array([], int))


def test_make_dataset_yields_scaled_batches(faces):
    images, labels = faces
    batches = list(make_dataset(images, labels, batch_size=8))
    assert [len(x) for x, _ in batches] == [8, 6]
    x, y = batches[0]
    _check_batch(x.numpy(), 8)
    np.testing.assert_allclose(x.numpy(), preprocess_faces(images[:8]), atol=1e-6)
    np.testing.assert_array_equal(y.numpy(), labels[:8])


def test_make_dataset_resizes_like_preprocess_faces(faces):
    images, labels = faces
    for resolution in (32, 64):
        x, _ = next(iter(make_dataset(images, labels, resolution=resolution, batch_size=14)))
        _check_batch(x.numpy(), 14, resolution)
        np.testing.assert_allclose(x.numpy(), preprocess_faces(images, resolution), atol=0.02)


def test_make_dataset_smooths_one_hot_labels(faces):
    images, labels = faces
    _, y = next(iter(make_dataset(images, labels, batch_size=14, label_smoothing=0.1, training=True)))
    y = y.numpy()
    assert y.shape == (14, 7)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
    assert y.max() == pytest.approx(0.9 + 0.1 / 7) and y.min() == pytest.approx(0.1 / 7)
    assert sorted(y.argmax(axis=1)) == sorted(labels)  # shuffled, but the same samples


def test_make_dataset_augment_changes_pixels(faces):
    images, labels = faces
    x, _ = next(iter(make_dataset(images, labels, batch_size=14, augment=True)))
    x = x.numpy()
    _check_batch(x, 14)
    assert np.abs(x - preprocess_faces(images)).mean() > 0.01


def test_make_dataset_rejects_mismatched_input(faces):
    images, labels = faces
    with pytest.raises(ValueError, match="14 images but 3 labels"):
        make_dataset(images, labels[:3])
    with pytest.raises(ValueError, match="grayscale"):
        make_dataset(np.zeros((2, 8, 8, 3), np.uint8), [0, 1])
