"""The shipped model: its export and card, and its PublicTest accuracy when FER2013 is at hand."""

import json

import keras
import numpy as np
import pytest

from toonemo_lib.config import EMOTIONS
from toonemo_lib.datasets.synthetic import synthetic_faces
from toonemo_lib.emotion.card import SHIPPED_MODEL, export_run, load_card
from toonemo_lib.emotion.evaluate import evaluate
from toonemo_lib.emotion.models import TrainConfig
from toonemo_lib.emotion.train import train

# The floor the shipped model must keep on PublicTest (flip TTA); the card says what it reached.
SHIPPED_MIN_ACCURACY = 0.65


def test_export_strips_the_optimizer_and_writes_a_card(tmp_path):
    faces, labels = synthetic_faces(42, size=48, grayscale=True, seed=5)
    data = {"train": (faces[:28], labels[:28]), "val": (faces[28:], labels[28:])}
    train(TrainConfig(blocks=1, batch_size=14, epochs=1), data, tmp_path / "run", verbose=0)
    out = tmp_path / "shipped" / "model.keras"
    card = export_run(tmp_path / "run", data, out, timing_repeats=2)
    assert out.stat().st_size < (tmp_path / "run" / "best.keras").stat().st_size  # no Adam moments
    model = keras.saving.load_model(out)
    assert getattr(model, "optimizer", None) is None and model.count_params() == card["parameters"]
    assert json.loads(out.with_suffix(".json").read_text()) == card == load_card(out)
    publictest = card["publictest"]
    assert publictest["n"] == 14 and np.array(publictest["confusion_matrix"]).sum() == 14
    assert list(publictest["per_class"]) == list(EMOTIONS)
    assert min(card[f"ms_per_face{backend}_batch{n}"] for backend in ("", "_tensorflow") for n in (1, 32)) > 0
    assert card["epochs_trained"] == 1 and card["best_epoch"] == 1
    text = out.with_suffix(".md").read_text()
    assert f"{publictest['accuracy_flip_tta']:.4f}" in text and "PrivateTest never used" in text


def test_shipped_card_describes_the_shipped_model():
    card = load_card()
    model = keras.saving.load_model(SHIPPED_MODEL)
    assert card["parameters"] == model.count_params() and card["input"] == [48, 48, 1]
    assert card["classes"] == list(EMOTIONS) and card["publictest"]["n"] == 3589


def test_missing_card_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="export"):
        load_card(tmp_path / "nothing.keras")


def test_shipped_model_accuracy_on_publictest(shared_dir):
    path = shared_dir / "data" / "fer2013" / "fer2013_train_val.npz"
    if not path.exists():
        pytest.skip(f"FER2013 is not at {path}")
    with np.load(path) as npz:
        x_val, y_val = npz["x_val"], npz["y_val"]
    card = load_card()
    measured = evaluate(keras.saving.load_model(SHIPPED_MODEL), x_val, y_val, flip_tta=True)
    assert measured["accuracy"] == pytest.approx(card["publictest"]["accuracy_flip_tta"], abs=1e-3)
    assert measured["accuracy"] >= SHIPPED_MIN_ACCURACY
