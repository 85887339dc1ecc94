"""Training runs: a finished run is not repeated, more epochs continue it, every schedule works."""

import json

import keras
import pytest

from toonemo_lib.datasets.synthetic import synthetic_faces
from toonemo_lib.emotion.models import TrainConfig
from toonemo_lib.emotion.train import train
from toonemo_lib.runs import read_log


@pytest.fixture(scope="module")
def data():
    faces, labels = synthetic_faces(56, size=48, grayscale=True, seed=3)
    return {"train": (faces[:42], labels[:42]), "val": (faces[42:], labels[42:])}


def tiny(**kwargs):
    return TrainConfig(**{"blocks": 1, "batch_size": 16, "epochs": 1, **kwargs})


def test_finished_run_is_not_repeated_and_more_epochs_continue_it(data, tmp_path):
    log = train(tiny(), data, tmp_path, verbose=0)
    assert list(log["epoch"]) == [0]
    assert {"best.keras", "last.keras", "log.csv", "config.json", "state.json"} <= {p.name for p in tmp_path.iterdir()}
    stamp = (tmp_path / "last.keras").stat().st_mtime_ns
    assert list(train(tiny(), data, tmp_path, verbose=0)["epoch"]) == [0]
    assert (tmp_path / "last.keras").stat().st_mtime_ns == stamp  # nothing was trained
    log = train(tiny(epochs=2), data, tmp_path, verbose=0)
    assert list(log["epoch"]) == [0, 1]
    assert json.loads((tmp_path / "state.json").read_text()) == {"epochs_done": 2, "done": True, "epochs": 2}


def test_killed_run_resumes_from_its_last_epoch(data, tmp_path):
    train(tiny(), data, tmp_path, verbose=0)
    (tmp_path / "state.json").write_text(json.dumps({"epochs_done": 1, "done": False}))  # as if killed
    log = train(tiny(epochs=2), data, tmp_path, verbose=0)
    assert list(log["epoch"]) == [0, 1]


def test_a_resumed_run_keeps_the_best_model_of_the_earlier_epochs(data, tmp_path):
    train(tiny(), data, tmp_path, verbose=0)
    log = (tmp_path / "log.csv").read_text().splitlines()
    header, row = log[0].split(","), log[1].split(",")
    row[header.index("val_accuracy")] = "1.5"  # an earlier best that no later epoch can beat
    (tmp_path / "log.csv").write_text("\n".join([log[0], ",".join(row)]) + "\n")
    best = (tmp_path / "best.keras").read_bytes()
    log = train(tiny(epochs=3), data, tmp_path, verbose=0)
    assert list(log["epoch"]) == [0, 1, 2]
    assert (tmp_path / "best.keras").read_bytes() == best  # a restart's first epoch is not "best" by default


def test_cosine_schedule_label_smoothing_and_class_weights(data, tmp_path):
    config = tiny(schedule="cosine", label_smoothing=0.1, class_weighted=True, online_augment=True,
                  augmentation=20, learning_rate=1e-3)
    log = train(config, data, tmp_path, verbose=0)
    assert len(log) == 1 and 0 <= log["val_accuracy"].iloc[0] <= 1
    model = keras.saving.load_model(tmp_path / "best.keras")
    assert model.output_shape == (None, 7)


def test_unknown_schedule_is_refused(data, tmp_path):
    with pytest.raises(ValueError, match="unknown schedule"):
        train(tiny(schedule="linear"), data, tmp_path, verbose=0)
