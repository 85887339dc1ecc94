"""Training an emotion model: the references' Keras schedule, resumable from its last epoch.

A run folder holds ``last.keras`` (model + optimizer after the latest epoch, for resuming),
``best.keras`` (the best validation accuracy so far), ``log.csv`` (one row per epoch) and
``config.json``.  Calling ``train`` again on the same folder continues where it stopped;
a finished run (``done`` in ``state.json``) is not trained again unless asked for more epochs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from pathlib import Path
from typing import Optional

import keras
import numpy as np
import pandas as pd

from toonemo_lib.config import EMOTIONS, SEED
from toonemo_lib.emotion.datasets.pipeline import augmented_copies, class_weights, make_dataset
from toonemo_lib.emotion.models import build_model


@dataclasses.dataclass
class TrainConfig:
    """One row of the scaling table, plus the knobs of the schedule."""

    architecture: str = "mini"  # "mini", "big" or "origin" (seed 000's names)
    blocks: int = 4
    width: int = 1  # channel multiplier (mini only)
    resolution: int = 48
    batch_size: int = 32
    augmentation: int = 0  # extra augmented samples added once (the table's column)
    online_augment: bool = False  # also augment every batch on the fly
    epochs: int = 100
    learning_rate: float = 1e-3
    schedule: str = "plateau"  # "plateau" (the references) or "cosine"
    patience: int = 50  # early stopping; reduce-on-plateau waits patience // 4
    label_smoothing: float = 0.0
    class_weighted: bool = False
    l2: float = 0.01
    dropout: float = 0.0
    seed: int = SEED

    def model_kwargs(self) -> dict:
        if self.architecture == "mini":
            return {"blocks": self.blocks, "width": self.width, "l2": self.l2, "dropout": self.dropout}
        return {"blocks": self.blocks}


def build_for(config: TrainConfig, num_classes: int = 7) -> keras.Model:
    return build_model(config.architecture, (config.resolution, config.resolution, 1), num_classes,
                       **config.model_kwargs())


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
        keras.callbacks.ModelCheckpoint(run_dir / "best.keras", monitor="val_accuracy", save_best_only=True,
                                        initial_value_threshold=best_so_far),
        keras.callbacks.ModelCheckpoint(run_dir / "last.keras"),
        keras.callbacks.CSVLogger(run_dir / "log.csv", append=True),
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


def _read_state(run_dir: Path) -> dict:
    path = run_dir / "state.json"
    return json.loads(path.read_text()) if path.exists() else {"epochs_done": 0, "done": False}


class _StateWriter(keras.callbacks.Callback):
    """Records the finished epoch count after every epoch, so a killed run resumes there."""

    def __init__(self, run_dir: Path):
        super().__init__()
        self.path = run_dir / "state.json"

    def on_epoch_end(self, epoch, logs=None):
        self.path.write_text(json.dumps({"epochs_done": epoch + 1, "done": False}))


def read_log(run_dir) -> pd.DataFrame:
    """The per-epoch log of a run (empty if it has not finished an epoch)."""
    path = Path(run_dir) / "log.csv"
    if not path.exists() or path.stat().st_size == 0:
        return pd.DataFrame()
    log = pd.read_csv(path)
    # A run killed mid-epoch and resumed may have logged an epoch twice: keep the last.
    return log.drop_duplicates("epoch", keep="last").reset_index(drop=True)


def train(config: TrainConfig, data: dict, run_dir, verbose: int = 1) -> pd.DataFrame:
    """Train ``config`` on ``data["train"]``, validating on ``data["val"]``; returns the log.

    ``data`` maps split names to (uint8 images N x H x W, int labels).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = _read_state(run_dir)
    if state["done"] and state.get("epochs", 0) >= config.epochs:
        return read_log(run_dir)
    (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1))
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

    last, best_so_far = run_dir / "last.keras", None
    if state["epochs_done"] and last.exists():
        model = keras.saving.load_model(last)
        earlier = read_log(run_dir)
        if len(earlier) and (run_dir / "best.keras").exists():
            best_so_far = float(earlier["val_accuracy"].max())
    else:
        model = compile_model(build_for(config, num_classes), config)
    # shuffle=False: the dataset reshuffles itself every epoch (Keras would only warn).
    model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, initial_epoch=state["epochs_done"], shuffle=False,
              class_weight=class_weights(y_train, num_classes) if config.class_weighted else None,
              callbacks=_callbacks(config, run_dir, best_so_far) + [_StateWriter(run_dir)], verbose=verbose)
    log = read_log(run_dir)
    (run_dir / "state.json").write_text(json.dumps({"epochs_done": len(log), "done": True, "epochs": config.epochs}))
    return log


# The recipe of the shipped model (see data/models/README.md for what it reached).
SHIPPED_RECIPE = TrainConfig(architecture="mini", blocks=4, width=2, resolution=48, batch_size=64,
                             online_augment=True, epochs=20, learning_rate=2e-3, schedule="cosine",
                             patience=30, label_smoothing=0.1, l2=1e-4, dropout=0.2)


def main(argv: Optional[list] = None) -> int:
    """``python -m toonemo_lib.emotion.train --data FER2013 --out runs/shipped [--export MODEL.keras]``."""
    from toonemo_lib.emotion.card import export_run
    from toonemo_lib.emotion.datasets.fer2013 import load_fer2013

    parser = argparse.ArgumentParser(description="Train the shipped emotion model's recipe on FER2013 "
                                                 "(Training split; best epoch chosen on PublicTest).")
    parser.add_argument("--data", required=True, help="fer2013.csv, an image-folder root or the npz")
    parser.add_argument("--out", required=True, help="run folder (run again to resume)")
    parser.add_argument("--epochs", type=int, default=SHIPPED_RECIPE.epochs)
    parser.add_argument("--learning-rate", type=float, default=SHIPPED_RECIPE.learning_rate,
                        help="peak of the cosine schedule (a continued run restarts the cosine from here)")
    parser.add_argument("--export", default=None, help="write the best model and its card here (.keras)")
    args = parser.parse_args(argv)
    data = load_fer2013(args.data)
    config = dataclasses.replace(SHIPPED_RECIPE, epochs=args.epochs, learning_rate=args.learning_rate)
    log = train(config, data, args.out, verbose=2)
    print(log.tail())
    if args.export:
        card = export_run(args.out, data, args.export)
        print(f"exported {args.export}: PublicTest accuracy {card['publictest']['accuracy_flip_tta']:.4f} "
              f"(flip TTA), {card['ms_per_face_batch32']:.3f} ms/face")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
