"""Training an emotion model: the references' Keras schedule, resumable from its last epoch.

A run folder (``toonemo_lib.runs``) holds ``last.keras`` (model + optimizer after the latest
epoch, for resuming), ``best.keras`` (the best validation accuracy so far), ``log.csv`` (one
row per epoch) and ``config.json``.  Calling ``train`` again on the same folder continues where it stopped;
a finished run (``done`` in ``state.json``) is not trained again unless asked for more epochs.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Optional

import keras
import numpy as np
import pandas as pd

from toonemo_lib import runs
from toonemo_lib.config import EMOTIONS
from toonemo_lib.emotion.models import TrainConfig, build_for
from toonemo_lib.emotion.pipeline import augmented_copies, class_weights, make_dataset


def compile_model(model: keras.Model, config: TrainConfig) -> keras.Model:
    if config.label_smoothing:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
    model.compile(keras.optimizers.Adam(config.learning_rate), loss=loss, metrics=["accuracy"])
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


def train(config: TrainConfig, data: dict, run_dir, verbose: int = 1) -> pd.DataFrame:
    """Train ``config`` on ``data["train"]``, validating on ``data["val"]``; returns the log.

    ``data`` maps split names to (uint8 images N x H x W, int labels).
    """
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
    extra_x, extra_y = augmented_copies(x_train, y_train, config.augmentation, seed=config.seed)
    x_train, y_train = np.concatenate([x_train, extra_x]), np.concatenate([y_train, extra_y])

    common = dict(resolution=config.resolution, batch_size=config.batch_size, num_classes=num_classes,
                  label_smoothing=config.label_smoothing, seed=config.seed)
    train_ds = make_dataset(x_train, y_train, training=True, augment=config.online_augment, **common)
    val_ds = make_dataset(x_val, y_val, **common)

    last, best_so_far = run_dir / runs.LAST, None
    if state["epochs_done"] and last.exists():
        model = keras.saving.load_model(last)
        best_so_far = runs.best_so_far(run_dir, "val_accuracy")
    else:
        model = compile_model(build_for(config, num_classes), config)
    # shuffle=False: the dataset reshuffles itself every epoch (Keras would only warn).
    model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, initial_epoch=state["epochs_done"], shuffle=False,
              class_weight=class_weights(y_train, num_classes) if config.class_weighted else None,
              callbacks=_callbacks(config, run_dir, best_so_far) + [_StateWriter(run_dir)], verbose=verbose)
    log = runs.read_log(run_dir)
    runs.write_state(run_dir, epochs_done=len(log), done=True, epochs=config.epochs)
    return log


if __name__ == "__main__":  # `python -m toonemo_lib.emotion.train ...`, the command of the shipped model's card
    from toonemo_lib.emotion.cli import train_main

    raise SystemExit(train_main())
