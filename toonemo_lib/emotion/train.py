"""Training an emotion model: the references' Keras schedule, resumable from its last epoch.

A run folder (``toonemo_lib.runs``) holds ``last.keras`` (model + optimizer after the latest
epoch, for resuming), ``best.keras`` (the best validation accuracy so far), ``log.csv`` (one
row per epoch) and ``config.json``.  Calling ``train`` again on the same folder continues where it stopped;
a finished run (``done`` in ``state.json``) is not trained again unless asked for more epochs.

BatchNorm and short runs.  In inference mode a ``BatchNormalization`` layer normalises with
its *moving* mean and variance, which Keras updates once a training step with momentum 0.99:
after ``n`` steps the initial values (mean 0, variance 1) still weigh ``0.99 ** n`` - 58 % after
54 steps, 8 % after 250.  A short run (a grid row of a few epochs on a few hundred faces) then
validates with statistics that belong to no network: every face lands in one class although
the same weights classify well with batch statistics.  ``recalibrate_batchnorm`` re-estimates the
statistics of the *current* weights as a plain average over a few training batches; with
``TrainConfig.bn_recalibration > 0`` it runs before every validation, so the logged accuracy,
the best checkpoint and everything measured on it use settled statistics.  We prefer this to a
lower momentum: one that settles within 7 steps an epoch (about 0.5) averages only the last
couple of batches, noisily, would have to be re-tuned for every run length, and still lags
behind weights that change fast; recalibration is exact for the weights being validated,
whatever the run's length, and never touches a trained weight.  Its default 0 leaves long runs
(``SHIPPED_RECIPE``) exactly as they were.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path
from typing import Optional

import keras
import numpy as np
import pandas as pd

from toonemo_lib import runs
from toonemo_lib.config import EMOTIONS, SEED
from toonemo_lib.cpu import emotion_training_at_risk
from toonemo_lib.emotion.models import TrainConfig, build_for
from toonemo_lib.emotion.pipeline import augmented_copies, class_weights, make_dataset, preprocess_faces


def batchnorm_layers(model: keras.Model) -> list:
    """The trainable ``BatchNormalization`` layers of ``model``, nested models included."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            if layer.trainable:  # a frozen layer keeps its statistics (Keras runs it in inference mode)
                found.append(layer)
        elif isinstance(layer, keras.Model):
            found += batchnorm_layers(layer)
    return found


def recalibrate_batchnorm(model: keras.Model, images, batch_size: int = 32, batches: int = 20,
                          seed: int = SEED) -> int:
    """Re-estimate every BatchNorm layer's moving mean and variance on training faces.

    ``images`` are uint8 faces (N, H, W[, 1]) of any size (``preprocess_faces`` resizes them to
    the model's input).  ``batches`` batches of ``batch_size`` faces, drawn without replacement
    with ``seed`` (fewer when there are fewer faces), go through the model in training mode;
    Keras 3 updates a layer's moving statistics on every training-mode call
    (``moving = momentum * moving + (1 - momentum) * batch``), and setting ``momentum`` to
    ``k / (k + 1)`` before the ``k``-th call (0 first, which forgets the old values) makes them
    the plain average over the batches.  Each layer sees the batch statistics of the layers
    below it, as in training.  Only the moving statistics change: no kernel, gamma or beta, no
    optimizer state (a Dropout layer does draw its masks).  Returns the number of faces used.
    """
    layers = batchnorm_layers(model)
    images = np.asarray(images)
    if batches < 1 or batch_size < 1:
        raise ValueError(f"batches and batch_size must be at least 1, got {batches} and {batch_size}")
    if len(images) == 0:
        raise ValueError("recalibrating BatchNorm needs at least one training face")
    if not layers:
        return 0
    shape = model.input_shape[0] if isinstance(model.input_shape, list) else model.input_shape
    resolution, channels = int(shape[1]), int(shape[-1])
    order = np.random.default_rng(seed).permutation(len(images))
    count = max(1, min(batches, len(images) // batch_size))  # full batches only, unless there is less than one
    momenta = [layer.momentum for layer in layers]
    used = 0
    try:
        for k in range(count):
            picks = np.sort(order[k * batch_size:(k + 1) * batch_size])
            x = preprocess_faces(images[picks], resolution)
            if channels == 3:
                x = np.repeat(x, 3, axis=-1)
            for layer in layers:
                layer.momentum = k / (k + 1)
            model(x, training=True)
            used += len(picks)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    return used


class _RecalibrateBatchNorm(keras.callbacks.Callback):
    """``recalibrate_batchnorm`` before every validation of ``fit`` (so before each checkpoint)."""

    def __init__(self, images, batch_size: int, batches: int, seed: int):
        super().__init__()
        self.images, self.batch_size, self.batches, self.seed = images, batch_size, batches, seed
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_test_begin(self, logs=None):  # fit validates through evaluate, after the epoch's last step
        recalibrate_batchnorm(self.model, self.images, self.batch_size, self.batches, self.seed + self.epoch)


def one_hot_targets(config: TrainConfig) -> bool:
    """Whether the recipe's targets are distributions (smoothed or mixed) rather than class ids."""
    return bool(config.label_smoothing or config.mixup)


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    decay = config.weight_decay or None
    if config.optimizer == "adam":
        return keras.optimizers.Adam(config.learning_rate, weight_decay=decay)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(config.learning_rate, momentum=0.9, nesterov=True, weight_decay=decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r}; use 'adam' or 'sgd'")


def compile_model(model: keras.Model, config: TrainConfig) -> keras.Model:
    # make_dataset already smooths (and mixes) the targets: the loss must not smooth them again.
    loss = (keras.losses.CategoricalCrossentropy() if one_hot_targets(config)
            else keras.losses.SparseCategoricalCrossentropy())
    model.compile(make_optimizer(config), loss=loss, metrics=["accuracy"])
    return model


def _cosine(config: TrainConfig):
    def rate(epoch, _lr):
        return 0.5 * config.learning_rate * (1 + math.cos(math.pi * min(epoch, config.epochs) / config.epochs))
    return keras.callbacks.LearningRateScheduler(rate)


def _callbacks(config: TrainConfig, run_dir: Path, best_so_far: Optional[float] = None) -> list:
    callbacks = [
        # a resumed run must beat the best epoch before the restart, not only its own first epoch
        keras.callbacks.ModelCheckpoint(run_dir / runs.BEST, monitor="val_accuracy", save_best_only=True,
                                        initial_value_threshold=best_so_far),
        keras.callbacks.ModelCheckpoint(run_dir / runs.LAST),
        keras.callbacks.CSVLogger(run_dir / runs.LOG, append=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience),
    ]
    if config.schedule == "cosine":
        callbacks.append(_cosine(config))
    elif config.schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1,
                                                           patience=max(1, config.patience // 4)))
    else:
        raise ValueError(f"unknown schedule {config.schedule!r}; use 'plateau' or 'cosine'")
    return callbacks


class _StateWriter(keras.callbacks.Callback):
    """Records the finished epoch count after every epoch, so a killed run resumes there."""

    def __init__(self, run_dir: Path):
        super().__init__()
        self.run_dir = run_dir

    def on_epoch_end(self, epoch, logs=None):
        runs.write_state(self.run_dir, epochs_done=epoch + 1, done=False)


def warn_if_onednn_may_crash() -> None:
    """Warn when TensorFlow was loaded with oneDNN on, on an AVX-512 CPU (see `toonemo_lib.cpu`)."""
    if emotion_training_at_risk():
        warnings.warn("TensorFlow was loaded with oneDNN on and this CPU has AVX-512, where oneDNN's convolution "
                      "gradient crashed training emotion networks (double free). If this process dies, start it "
                      "with TF_ENABLE_ONEDNN_OPTS=0 (or train with toonemo emotion-train)",
                      RuntimeWarning, stacklevel=3)


def train(config: TrainConfig, data: dict, run_dir, verbose: int = 1) -> pd.DataFrame:
    """Train ``config`` on ``data["train"]``, validating on ``data["val"]``; returns the log.

    ``data`` maps split names to (uint8 images N x H x W, int labels).
    """
    warn_if_onednn_may_crash()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = runs.read_state(run_dir)
    if state["done"] and state.get("epochs", 0) >= config.epochs:
        return runs.read_log(run_dir)
    runs.atomic_write_json(run_dir / runs.CONFIG, dataclasses.asdict(config))
    keras.utils.set_random_seed(config.seed + state["epochs_done"])

    x_train, y_train = data["train"]
    x_val, y_val = data["val"]
    num_classes = len(EMOTIONS)
    plain_train = x_train  # BatchNorm is recalibrated on the faces themselves, not on augmented copies
    extra_x, extra_y = augmented_copies(x_train, y_train, config.augmentation, seed=config.seed)
    x_train, y_train = np.concatenate([x_train, extra_x]), np.concatenate([y_train, extra_y])

    common = dict(resolution=config.resolution, batch_size=config.batch_size, num_classes=num_classes,
                  one_hot=one_hot_targets(config), label_smoothing=config.label_smoothing, seed=config.seed)
    train_ds = make_dataset(x_train, y_train, training=True, augment=config.online_augment,
                            random_erasing=config.random_erasing, mixup=config.mixup, **common)
    val_ds = make_dataset(x_val, y_val, **common)

    last, best_so_far = run_dir / runs.LAST, None
    if state["epochs_done"] and last.exists():
        model = keras.saving.load_model(last)
        best_so_far = runs.best_so_far(run_dir, "val_accuracy")
    else:
        model = compile_model(build_for(config, num_classes), config)
    callbacks = _callbacks(config, run_dir, best_so_far) + [_StateWriter(run_dir)]
    if config.bn_recalibration:  # first in the list, although it acts in on_test_begin
        callbacks.insert(0, _RecalibrateBatchNorm(plain_train, config.batch_size, config.bn_recalibration,
                                                  config.seed))
    # shuffle=False: the dataset reshuffles itself every epoch (Keras would only warn).
    model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, initial_epoch=state["epochs_done"], shuffle=False,
              class_weight=class_weights(y_train, num_classes) if config.class_weighted else None,
              callbacks=callbacks, verbose=verbose)
    log = runs.read_log(run_dir)
    runs.write_state(run_dir, epochs_done=len(log), done=True, epochs=config.epochs)
    return log
