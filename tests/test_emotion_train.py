"""Training runs: a finished run is not repeated, more epochs continue it, every schedule works."""

import dataclasses
import json

import keras
import numpy as np
import pytest

from toonemo_lib.datasets.synthetic import synthetic_faces
from toonemo_lib.emotion.models import TrainConfig
from toonemo_lib.emotion.train import train


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


def test_recalibrate_batchnorm_averages_batch_statistics_and_touches_no_weight(data):
    from toonemo_lib.emotion.models import mini_xception
    from toonemo_lib.emotion.pipeline import preprocess_faces
    from toonemo_lib.emotion.train import batchnorm_layers, recalibrate_batchnorm

    images = data["train"][0]
    model = mini_xception((48, 48, 1), 7, blocks=1)
    layers = batchnorm_layers(model)
    assert len(layers) == 5  # 2 stem + 3 in the block (two separable, one shortcut)
    frozen = layers[-1]
    frozen.trainable = False
    frozen_mean = frozen.moving_mean.numpy().copy()
    assert frozen not in batchnorm_layers(model)
    weights = [v.numpy().copy() for v in model.trainable_variables]
    assert recalibrate_batchnorm(model, images, batch_size=8, batches=3, seed=5) == 24
    for before, variable in zip(weights, model.trainable_variables):
        np.testing.assert_array_equal(before, variable.numpy())
    np.testing.assert_array_equal(frozen.moving_mean.numpy(), frozen_mean)
    assert all(layer.momentum == 0.99 for layer in layers)  # restored
    # the first layer's statistics are the plain mean over the three batches it saw
    order = np.random.default_rng(5).permutation(len(images))
    below = keras.Model(model.input, layers[0].input)
    seen = [keras.ops.convert_to_numpy(below(preprocess_faces(images[np.sort(order[k * 8:(k + 1) * 8])]),
                                             training=True)) for k in range(3)]
    np.testing.assert_allclose(layers[0].moving_mean.numpy(), np.mean([a.mean((0, 1, 2)) for a in seen], 0),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layers[0].moving_variance.numpy(), np.mean([a.var((0, 1, 2)) for a in seen], 0),
                               rtol=1e-4, atol=1e-5)
    # fewer faces than a batch: one partial batch; bad arguments are refused
    assert recalibrate_batchnorm(model, images[:5], batch_size=8, batches=3) == 5
    with pytest.raises(ValueError, match="at least 1"):
        recalibrate_batchnorm(model, images, batches=0)
    with pytest.raises(ValueError, match="at least one"):
        recalibrate_batchnorm(model, images[:0])


def test_bn_recalibration_is_in_the_checkpoint_and_the_logged_accuracy(data, tmp_path):
    from toonemo_lib.emotion.evaluate import evaluate
    from toonemo_lib.emotion.train import batchnorm_layers, recalibrate_batchnorm

    config = tiny(bn_recalibration=2, batch_size=8)
    log = train(config, data, tmp_path, verbose=0)
    model = keras.saving.load_model(tmp_path / "best.keras")
    # the same batches again give the same statistics: the checkpoint holds recalibrated ones
    saved = [layer.moving_mean.numpy().copy() for layer in batchnorm_layers(model)]
    recalibrate_batchnorm(model, data["train"][0], config.batch_size, config.bn_recalibration, config.seed + 0)
    for before, layer in zip(saved, batchnorm_layers(model)):
        np.testing.assert_allclose(layer.moving_mean.numpy(), before, rtol=1e-4, atol=1e-5)
    model = keras.saving.load_model(tmp_path / "best.keras")
    n_val = len(data["val"][1])  # at most one face apart (a near-tie may fall the other way)
    assert evaluate(model, *data["val"])["accuracy"] == pytest.approx(log["val_accuracy"].iloc[0], abs=1.01 / n_val)
    assert all(layer.momentum == 0.99 for layer in batchnorm_layers(model))  # the saved model keeps Keras' default


def test_the_shipped_recipe_is_unchanged():
    from toonemo_lib.emotion.card import load_card
    from toonemo_lib.emotion.models import SHIPPED_RECIPE

    recipe = load_card()["recipe"]
    assert SHIPPED_RECIPE.bn_recalibration == 0 and TrainConfig(**recipe).bn_recalibration == 0
    shipped = dataclasses.asdict(SHIPPED_RECIPE)
    assert {k: shipped[k] for k in recipe if k != "epochs"} == {k: v for k, v in recipe.items() if k != "epochs"}


def test_resnet_recipe_with_sgd_weight_decay_erasing_and_mixup(data, tmp_path):
    config = tiny(architecture="resnet", blocks=2, width=4, optimizer="sgd", weight_decay=5e-4, learning_rate=0.05,
                  schedule="cosine", random_erasing=0.5, mixup=0.2, label_smoothing=0.1, online_augment=True)
    log = train(config, data, tmp_path, verbose=0)
    assert len(log) == 1 and np.isfinite(log["loss"].iloc[0]) and 0 <= log["val_accuracy"].iloc[0] <= 1
    model = keras.saving.load_model(tmp_path / "last.keras")
    assert model.name == "resnet_2x2_w4" and model.output_shape == (None, 7)
    assert type(model.optimizer).__name__ == "SGD" and model.optimizer.nesterov
    with pytest.raises(ValueError, match="unknown optimizer"):
        train(tiny(optimizer="rmsprop"), data, tmp_path / "other", verbose=0)


def test_targets_are_smoothed_once():
    """make_dataset smooths the targets; the loss must not smooth them a second time."""
    from toonemo_lib.emotion.train import compile_model

    model = compile_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(7, activation="softmax")]),
                          tiny(label_smoothing=0.1))
    assert getattr(model.loss, "label_smoothing", 0.0) == 0.0


def test_random_erasing_and_mixup_keep_images_and_targets_valid():
    import tensorflow as tf

    from toonemo_lib.emotion.pipeline import erase_rectangles, make_dataset, mix_up

    tf.random.set_seed(0)
    x = tf.fill([64, 48, 48, 1], 0.5)
    erased = erase_rectangles(x, probability=1.0).numpy()
    changed = (erased != 0.5).reshape(64, -1).mean(axis=1)
    assert np.all(changed > 0) and np.all(changed < 0.4) and erased.min() >= -1 and erased.max() <= 1
    assert np.array_equal(erase_rectangles(x, probability=0.0).numpy(), x.numpy())
    labels = np.arange(64) % 7
    mixed_x, mixed_y = mix_up(tf.random.uniform([64, 48, 48, 1], -1, 1), tf.one_hot(labels, 7), alpha=0.4)
    np.testing.assert_allclose(mixed_y.numpy().sum(axis=1), 1.0, atol=1e-6)
    assert mixed_x.shape == (64, 48, 48, 1) and (mixed_y.numpy().max(axis=1) < 1).any()
    faces = np.full((10, 48, 48), 128, np.uint8)
    (xb, yb), = make_dataset(faces, np.arange(10) % 7, batch_size=10, training=True, mixup=0.2).take(1)
    assert yb.shape == (10, 7)  # mixup needs distributions as targets
