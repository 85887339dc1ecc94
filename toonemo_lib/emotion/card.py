"""The shipped emotion model: export a trained run, measure it, write its model card.

The card is two files next to the weights: ``<name>.json`` (the measured figures, read by
notebook 05 and the tests) and ``<name>.md`` (the same facts for people).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from pathlib import Path

import keras
import numpy as np

from toonemo_lib.config import EMOTIONS
from toonemo_lib.emotion.evaluate import confusion_matrix, cross_entropy, ms_per_face, per_class_report, predict_probs
from toonemo_lib.emotion.recognize import SHIPPED_MODEL
from toonemo_lib.emotion.train import TrainConfig, build_for, read_log


def card_path(model_path=SHIPPED_MODEL) -> Path:
    return Path(model_path).with_suffix(".json")


def load_card(model_path=SHIPPED_MODEL) -> dict:
    """The measured figures of a shipped model (its ``.json`` card)."""
    path = card_path(model_path)
    if not path.exists():
        raise FileNotFoundError(f"no model card {path}: export the model with toonemo_lib.emotion.card.export_run")
    return json.loads(path.read_text())


def strip_optimizer(model: keras.Model, config: TrainConfig) -> keras.Model:
    """The same network without optimizer state or compile settings (a small file)."""
    clean = build_for(config, int(model.output_shape[-1]))
    clean.set_weights(model.get_weights())
    return clean


def measure(model: keras.Model, images, labels) -> dict:
    """Accuracy and loss with and without flip test-time augmentation, the confusion matrix."""
    plain = predict_probs(model, images)
    flipped = predict_probs(model, images, flip_tta=True)
    labels = np.asarray(labels)
    preds = flipped.argmax(1)
    return {
        "accuracy": float(np.mean(plain.argmax(1) == labels)),
        "loss": cross_entropy(plain, labels),
        "accuracy_flip_tta": float(np.mean(preds == labels)),
        "loss_flip_tta": cross_entropy(flipped, labels),
        "n": int(len(labels)),
        "confusion_matrix": confusion_matrix(labels, preds).to_numpy().tolist(),
        "per_class": per_class_report(labels, preds, macro=False).round(4).to_dict(orient="index"),
    }


def export_run(run_dir, data: dict, out=SHIPPED_MODEL, split: str = "val", timing_repeats: int = 15) -> dict:
    """Ship ``run_dir/best.keras``: save it without optimizer, measure it, write the card."""
    run_dir, out = Path(run_dir), Path(out)
    config = TrainConfig(**json.loads((run_dir / "config.json").read_text()))
    model = strip_optimizer(keras.saving.load_model(run_dir / "best.keras"), config)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    log = read_log(run_dir)
    best = log.loc[log["val_accuracy"].idxmax()]
    images, labels = data[split]
    card = {
        "model": out.name,
        "architecture": model.name,
        "parameters": int(model.count_params()),
        "input": list(model.input_shape[1:]),
        "classes": list(EMOTIONS),
        "recipe": dataclasses.asdict(config),
        "epochs_trained": int(len(log)),
        "best_epoch": int(best["epoch"]) + 1,
        "trained_on": f"FER2013 Training ({len(data['train'][1])} faces)",
        "selected_on": f"FER2013 PublicTest ({len(labels)} faces)",
        "publictest": measure(model, images, labels),
        "ms_per_face_batch32": ms_per_face(model, batch_size=32, repeats=timing_repeats),
        "ms_per_face_batch1": ms_per_face(model, batch_size=1, repeats=timing_repeats),
        "timed_on": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, TensorFlow CPU",
    }
    card_path(out).write_text(json.dumps(card, indent=1))
    return card
