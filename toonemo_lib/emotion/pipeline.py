"""From face arrays to model batches: preprocessing, augmentation, tf.data, class weights.

Training and the recogniser share ``preprocess_faces`` so that a face is resized and
scaled exactly the same way in both (a mismatch here silently costs accuracy).
Keras and TensorFlow are imported inside the functions that need them: the recogniser
uses only ``preprocess_faces`` and ``predict_with_flip``, and on its LiteRT backend a
call of ``toonemo emotion`` then never pays TensorFlow's seconds of import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np
from tqdm.auto import tqdm

from toonemo_lib.config import SEED
from toonemo_lib.images import to_gray

if TYPE_CHECKING:  # imported where used: see the module docstring
    import keras
    import tensorflow as tf


def preprocess_faces(faces, resolution: int = 48) -> np.ndarray:
    """Face crops of any size -> float32 (N, resolution, resolution, 1) scaled to [-1, 1].

    ``faces`` is a list of crops (each gray, RGB or RGBA), an (N, H, W) or (N, H, W, C)
    array, or a single face: (H, W) or (H, W, 1) gray, (H, W, 3) RGB or (H, W, 4) RGBA.
    Colour becomes gray with ``toonemo_lib.images.to_gray``; resizing uses area
    interpolation when shrinking and bilinear when enlarging.
    """
    if isinstance(faces, np.ndarray) and (faces.ndim == 2 or (faces.ndim == 3 and faces.shape[-1] in (1, 3, 4))):
        faces = faces[None]  # one face (a batch of faces 1, 3 or 4 pixels wide makes no sense)
    if isinstance(faces, np.ndarray) and faces.ndim not in (3, 4):
        raise ValueError(f"faces must be one face (H, W[, C]) or a batch (N, H, W[, C]); got shape {faces.shape}")
    batch = list(faces)
    out = np.empty((len(batch), resolution, resolution, 1), np.float32)
    for i, face in enumerate(batch):
        gray = to_gray(face)
        if gray.shape != (resolution, resolution):
            shrinking = gray.shape[0] > resolution
            gray = cv2.resize(gray, (resolution, resolution),
                              interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
        out[i, ..., 0] = gray
    return out / 127.5 - 1.0


def predict_with_flip(predict, x: np.ndarray) -> np.ndarray:
    """The average of ``predict`` on a batch and on its mirror image, in one call of ``predict``.

    Test-time augmentation: training mirrored faces at random, so both views are
    in-distribution, and a face and its mirror get exactly the same answer.
    """
    n = len(x)
    probs = np.asarray(predict(np.concatenate([x, x[:, :, ::-1]])))
    return (probs[:n] + probs[n:]) / 2.0


def augmentation_layers(seed: int = SEED, strength: float = 1.0) -> keras.Sequential:
    """Keras preprocessing layers: mirror, small rotation/shift/zoom, brightness/contrast.

    Images are expected in [-1, 1]; ``strength`` scales every range (0 turns them off).
    """
    import keras

    s = strength
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(0.04 * s, fill_mode="nearest", seed=seed + 1),  # about +-15 degrees
        keras.layers.RandomTranslation(0.1 * s, 0.1 * s, fill_mode="nearest", seed=seed + 2),
        keras.layers.RandomZoom(0.1 * s, fill_mode="nearest", seed=seed + 3),
        keras.layers.RandomBrightness(0.2 * s, value_range=(-1, 1), seed=seed + 4),
        # value_range matters: the default (0, 255) clips every negative pixel to 0
        keras.layers.RandomContrast(0.3 * s, value_range=(-1, 1), seed=seed + 5),
    ], name="augmentation")


def augmented_copies(images: np.ndarray, labels: np.ndarray, amount: int, seed: int = SEED,
                     batch_size: int = 256):
    """``amount`` extra augmented samples drawn from ``images`` (uint8, N x H x W [x 1]).

    This is the seed's "augmentation amount": a fixed number of extra samples added to
    the training set once, so the table's ``Augmentation`` column means one thing.
    Returns ``(images, labels)`` with the input's shape and dtype; the same seed gives
    the same samples.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 1):
        raise ValueError(f"images must be grayscale (N, H, W) or (N, H, W, 1); got shape {images.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if amount <= 0:
        return images[:0], labels[:0]
    if len(images) == 0:
        raise ValueError("cannot draw augmented copies from no images")
    import keras

    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(images), amount)
    augment = augmentation_layers(seed)
    out = np.empty((amount,) + images.shape[1:3], np.uint8)
    for start in tqdm(range(0, amount, batch_size), desc="augmenting", leave=False):
        idx = picks[start:start + batch_size]
        batch = images[idx].reshape(len(idx), *images.shape[1:3], 1).astype(np.float32) / 127.5 - 1.0
        batch = keras.ops.convert_to_numpy(augment(batch, training=True))[..., 0]
        out[start:start + len(idx)] = np.clip((batch + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
    return out.reshape((amount,) + images.shape[1:]), labels[picks]


def class_weights(labels: np.ndarray, num_classes: int = 7) -> dict[int, float]:
    """Inverse-frequency weights, mean 1 over samples (Keras' ``class_weight``).

    Like scikit-learn's "balanced", the normaliser counts only the classes present, so the
    mean stays 1 when a class is missing; a missing class gets weight 1.0 (it is never used).
    """
    labels = np.asarray(labels, np.int64)
    if labels.size == 0:
        raise ValueError("class weights need at least one label")
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    present = np.count_nonzero(counts)
    weights = np.where(counts > 0, len(labels) / (present * np.maximum(counts, 1)), 1.0)
    return {i: float(w) for i, w in enumerate(weights)}


def make_dataset(images: np.ndarray, labels: np.ndarray, resolution: int = 48, batch_size: int = 32,
                 training: bool = False, augment: bool = False, num_classes: int = 7, one_hot: bool = False,
                 label_smoothing: float = 0.0, random_erasing: float = 0.0, mixup: float = 0.0,
                 seed: int = SEED) -> tf.data.Dataset:
    """A batched ``tf.data`` pipeline of (image in [-1, 1], label) from uint8 (N, H, W[, 1]) faces.

    ``training`` shuffles each epoch; ``augment`` applies ``augmentation_layers`` on
    the fly, ``random_erasing`` erases a random rectangle of a face with that probability
    and ``mixup`` mixes each batch with a shuffled copy of itself (``mix_up``).  The labels
    are one-hot with ``one_hot``, ``label_smoothing`` (which smooths them) or ``mixup``.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(f"images must be grayscale (N, H, W) or (N, H, W, 1); got shape {images.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((images, np.asarray(labels, np.int32)))
    if training:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    def scale(x, y):
        x = tf.cast(x, tf.float32) / 127.5 - 1.0
        if tuple(x.shape[1:3]) != (resolution, resolution):  # as preprocess_faces: area shrinks, bilinear enlarges
            method = "area" if x.shape[1] > resolution else "bilinear"
            x = tf.image.resize(x, (resolution, resolution), method=method)
        return x, y

    ds = ds.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
    if augment:
        layers = augmentation_layers(seed)
        ds = ds.map(lambda x, y: (layers(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    if random_erasing:
        ds = ds.map(lambda x, y: (erase_rectangles(x, random_erasing), y), num_parallel_calls=tf.data.AUTOTUNE)
    if one_hot or label_smoothing or mixup:
        def smooth(x, y):
            onehot = tf.one_hot(y, num_classes)
            return x, onehot * (1.0 - label_smoothing) + label_smoothing / num_classes
        ds = ds.map(smooth)
    if mixup:
        ds = ds.map(lambda x, y: mix_up(x, y, mixup), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def erase_rectangles(x: tf.Tensor, probability: float, area=(0.02, 0.25), aspect=(0.3, 3.3)) -> tf.Tensor:
    """Random erasing (Zhong et al. 2020): with ``probability``, a face's random rectangle becomes noise.

    ``x`` is a batch (N, H, W, C) in [-1, 1]; each rectangle covers an ``area`` fraction of
    the face with an ``aspect`` ratio (both drawn log-uniformly for the aspect), centred
    anywhere and clipped at the border.  It teaches the network to use the whole face,
    not only the mouth.
    """
    import tensorflow as tf

    n, height, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    fraction = tf.random.uniform([n], *area)
    ratio = tf.exp(tf.random.uniform([n], float(np.log(aspect[0])), float(np.log(aspect[1]))))
    half_h, half_w = tf.sqrt(fraction * ratio) / 2, tf.sqrt(fraction / ratio) / 2
    centre_y, centre_x = tf.random.uniform([n]), tf.random.uniform([n])
    ys = (tf.cast(tf.range(height), tf.float32) + 0.5) / tf.cast(height, tf.float32)
    xs = (tf.cast(tf.range(width), tf.float32) + 0.5) / tf.cast(width, tf.float32)
    inside_y = tf.abs(ys[None, :] - centre_y[:, None]) < half_h[:, None]
    inside_x = tf.abs(xs[None, :] - centre_x[:, None]) < half_w[:, None]
    erased = inside_y[:, :, None] & inside_x[:, None, :] & (tf.random.uniform([n]) < probability)[:, None, None]
    return tf.where(erased[..., None], tf.random.uniform(tf.shape(x), -1.0, 1.0), x)


def mix_up(x: tf.Tensor, y: tf.Tensor, alpha: float):
    """mixup (Zhang et al. 2018): each face and target blended with another of the batch.

    lambda ~ Beta(alpha, alpha) per face; ``y`` are one-hot (or smoothed) targets, so the
    mixed targets are still distributions.
    """
    import tensorflow as tf

    n = tf.shape(x)[0]
    a, b = tf.random.gamma([n], alpha), tf.random.gamma([n], alpha)
    lam = a / (a + b)  # Beta(alpha, alpha) from two Gammas
    partner = tf.random.shuffle(tf.range(n))
    lam_x = tf.reshape(lam, [-1, 1, 1, 1])
    lam_y = tf.reshape(lam, [-1, 1])
    return (lam_x * x + (1 - lam_x) * tf.gather(x, partner),
            lam_y * y + (1 - lam_y) * tf.gather(y, partner))
