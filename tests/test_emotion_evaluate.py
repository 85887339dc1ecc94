"""Evaluation helpers: probabilities, confusion matrix, per-class report, plots, speed."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from toonemo_lib.config import EMOTIONS  # noqa: E402
from toonemo_lib.emotion.evaluate import (  # noqa: E402
    architecture_table,
    confusion_matrix,
    evaluate,
    ms_per_face,
    per_class_report,
    plot_confusion_matrix,
    plot_per_class,
    predict_probs,
)
from toonemo_lib.emotion.models import mini_xception  # noqa: E402
from toonemo_lib.emotion.models import TrainConfig  # noqa: E402

# (true, predicted): (0,0) (0,1) (1,1) (2,2) (2,2) (2,0) (3,6)
LABELS = np.array([0, 0, 1, 2, 2, 2, 3])
PREDS = np.array([0, 1, 1, 2, 2, 0, 6])


@pytest.fixture(scope="module")
def tiny_model():
    return mini_xception((48, 48, 1), 7, blocks=1)


def test_confusion_matrix_counts_and_names():
    cm = confusion_matrix(LABELS, PREDS)
    assert list(cm.index) == list(EMOTIONS) and list(cm.columns) == list(EMOTIONS)
    assert cm.index.name == "true" and cm.columns.name == "predicted"
    expected = np.zeros((7, 7), int)
    for t, p in zip(LABELS, PREDS):
        expected[t, p] += 1
    np.testing.assert_array_equal(cm.to_numpy(), expected)
    assert cm.loc["Fear", "Angry"] == 1 and cm.loc["Happy", "Neutral"] == 1 and cm.loc["Fear", "Fear"] == 2
    assert cm.loc["Sad"].sum() == 0
    assert cm.to_numpy().sum() == len(LABELS)


def test_confusion_matrix_normalized_rows_sum_to_one():
    cm = confusion_matrix(LABELS, PREDS, normalize=True)
    np.testing.assert_allclose(cm.loc["Angry", ["Angry", "Disgust"]], [0.5, 0.5])
    np.testing.assert_allclose(cm.loc["Fear", ["Angry", "Fear"]], [1 / 3, 2 / 3])
    sums = cm.sum(axis=1)
    np.testing.assert_allclose(sums[sums > 0], 1.0)
    assert sums["Sad"] == 0  # no true Sad faces: the row stays 0, no division by zero
    with pytest.raises(ValueError):
        confusion_matrix([0, 7], [0, 1])


def test_per_class_report_matches_hand_computation():
    report = per_class_report(LABELS, PREDS)
    assert list(report.index) == list(EMOTIONS) + ["macro avg"]
    np.testing.assert_allclose(report.loc["Angry", ["precision", "recall", "f1"]], [0.5, 0.5, 0.5])
    np.testing.assert_allclose(report.loc["Disgust", ["precision", "recall", "f1"]], [0.5, 1.0, 2 / 3])
    np.testing.assert_allclose(report.loc["Fear", ["precision", "recall", "f1"]], [1.0, 2 / 3, 0.8])
    np.testing.assert_allclose(report.loc["Happy", ["precision", "recall", "f1"]], [0, 0, 0])  # never predicted
    np.testing.assert_allclose(report.loc["Neutral", ["precision", "recall", "f1"]], [0, 0, 0])  # no support
    assert report["support"].tolist() == [2, 1, 3, 1, 0, 0, 0, 7]
    # the macro average runs over the classes that occur (Angry, Disgust, Fear, Happy, Neutral)
    np.testing.assert_allclose(report.loc["macro avg", ["precision", "recall", "f1"]],
                               [2 / 5, (0.5 + 1 + 2 / 3) / 5, (0.5 + 2 / 3 + 0.8) / 5])
    assert "macro avg" not in per_class_report(LABELS, PREDS, macro=False).index


def test_plots_return_figures():
    figures = [plot_confusion_matrix(confusion_matrix(LABELS, PREDS)),
               plot_confusion_matrix(confusion_matrix(LABELS, PREDS, normalize=True), title="normalised"),
               plot_per_class(per_class_report(LABELS, PREDS))]
    _, ax = plt.subplots()
    figures.append(plot_per_class(per_class_report(LABELS, PREDS), ax=ax))
    assert figures[-1] is ax.figure
    texts = [t.get_text() for t in figures[0].axes[0].texts]
    assert "2\n67%" in texts  # Fear -> Fear: count and row percentage
    for fig in figures:
        assert isinstance(fig, matplotlib.figure.Figure)
        plt.close(fig)


def test_predict_probs_resizes_batches_and_flips(tiny_model):
    images = np.random.default_rng(0).integers(0, 256, (5, 64, 64), dtype=np.uint8)
    probs = predict_probs(tiny_model, images)
    assert probs.shape == (5, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(predict_probs(tiny_model, images, batch_size=2), probs, atol=1e-5)
    flipped = predict_probs(tiny_model, images, flip_tta=True)
    mirrored = predict_probs(tiny_model, images[:, :, ::-1])
    np.testing.assert_allclose(flipped, (probs + mirrored) / 2, atol=1e-5)


def test_evaluate_reports_accuracy_and_cross_entropy(tiny_model):
    images = np.random.default_rng(1).integers(0, 256, (6, 48, 48), dtype=np.uint8)
    labels = np.array([0, 1, 2, 3, 4, 5])
    probs = predict_probs(tiny_model, images)
    result = evaluate(tiny_model, images, labels)
    assert result["n"] == 6
    assert result["accuracy"] == pytest.approx(np.mean(probs.argmax(1) == labels))
    assert result["loss"] == pytest.approx(-np.mean(np.log(probs[np.arange(6), labels])), rel=1e-5)


def test_ms_per_face_and_architecture_table(tiny_model):
    assert ms_per_face(tiny_model, batch_size=4, repeats=2) > 0
    assert ms_per_face(tiny_model, batch_size=4, repeats=2, backend="lite") > 0
    with pytest.raises(ValueError, match="unknown backend"):
        ms_per_face(tiny_model, backend="onnx")
    table = architecture_table({"one block": tiny_model,
                                "two blocks": TrainConfig(blocks=2, resolution=32)}, batch_size=4, repeats=1)
    assert list(table.index) == ["one block", "two blocks"]
    assert list(table.columns) == ["Input", "Parameters", "ms/face"]
    assert table.loc["two blocks", "Input"] == "32x32x1"
    assert table.loc["one block", "Parameters"] == tiny_model.count_params()
    assert (table["ms/face"] > 0).all()
