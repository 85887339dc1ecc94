"""Evaluation helpers: probabilities, confusion matrix, per-class report, plots, speed."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from toonemo_lib.config import EMOTIONS  # noqa: E402
from toonemo_lib.emotion.evaluate import (  # noqa: E402
    architecture_table,
    call_times,
    call_times_markdown,
    confusion_markdown,
    confusion_matrix,
    confusion_summary,
    evaluate,
    majority_rate,
    ms_per_face,
    per_class_report,
    plot_confusion_matrix,
    plot_per_class,
    predict_probs,
    probability_gap,
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


def test_majority_rate_is_the_commonest_class_share():
    assert majority_rate([3, 3, 3, 0, 1]) == pytest.approx(0.6)
    assert majority_rate(np.array([6])) == 1.0
    with pytest.raises(ValueError, match="at least one"):
        majority_rate([])


def test_confusion_summary_and_markdown_are_computed_from_the_matrix():
    cm = confusion_matrix(LABELS, PREDS)
    summary = confusion_summary(cm)
    report = per_class_report(LABELS, PREDS, macro=False)
    np.testing.assert_allclose(summary[["precision", "recall", "f1"]], report[["precision", "recall", "f1"]])
    assert summary["support"].tolist() == report["support"].tolist()
    assert summary.loc["Fear", "most often taken for"] == "Angry"
    assert summary.loc["Fear", "share of the class"] == pytest.approx(1 / 3)
    assert pd.isna(summary.loc["Sad", "most often taken for"]) and summary.loc["Sad", "share of the class"] == 0
    assert pd.isna(summary.loc["Disgust", "most often taken for"])  # its one face is right
    text = confusion_markdown(cm, weakest=2, best=1)
    assert text.startswith("The weakest classes by F1: **Happy** (F1 0.00, 1 faces, recall 0%; most often taken "
                           "for Neutral: 100% of its faces); **Angry** (F1 0.50")
    assert "Recognised best: **Fear** (F1 0.80)." in text
    with pytest.raises(ValueError, match="square"):
        confusion_summary(cm.iloc[:3])


class _FakeRecognizer:
    """Records what it was called with; ``offset`` shifts its probabilities."""

    def __init__(self, offset=0.0):
        self.offset, self.calls = offset, []

    def classify(self, faces):
        self.calls.append(("classify", len(faces)))
        return np.full((len(faces), 7), 1 / 7) + self.offset

    def detect_and_classify(self, image):
        self.calls.append(("detect", image.shape))
        return []


def test_call_times_times_three_calls_of_each_recognizer():
    a, b = _FakeRecognizer(), _FakeRecognizer(0.001)
    photo = np.zeros((20, 30, 3), np.uint8)
    crops = [np.zeros((8, 8, 3), np.uint8)] * 3
    table = call_times({"a": a, "b": b}, photo, crops, repeats=2, batch=5)
    assert list(table.columns) == ["a", "b"]
    assert list(table.index) == ["classify 1 face", "classify 5 faces", "detect + classify a photo"]
    assert (table.to_numpy() > 0).all()
    # one warm-up and two timed calls each; the batch is the crops repeated to 5 faces
    assert a.calls == [("classify", 1)] * 3 + [("classify", 5)] * 3 + [("detect", (20, 30, 3))] * 3
    assert probability_gap({"a": a, "b": b}, crops) == pytest.approx(0.001)
    with pytest.raises(ValueError):
        call_times({"a": a}, photo, [], repeats=1)
    text = call_times_markdown(pd.DataFrame({"fast": [0.5, 4.0, 10.0], "slow": [2.0, 8.0, 12.0]},
                                            index=list(table.index.str.replace("5", "32"))),
                               card={"timed_on": "x86_64, 2 cores, CPU", "ms_per_face_batch1": 0.389,
                                     "ms_per_face_tensorflow_batch1": 2.563, "ms_per_face_batch32": 0.482,
                                     "ms_per_face_tensorflow_batch32": 0.702})
    assert "**0.50 ms** a call on fast and **2.00 ms** on slow (4.0 times as much)" in text
    assert "0.125 ms a face on fast, 0.250 ms a face on slow" in text
    assert "10.0 ms on fast, 25% of the 40 ms a frame has at 25 frames a second" in text
    assert "0.39 ms for one face on LiteRT and 2.56 ms on TensorFlow" in text and "x86_64, 2 cores, CPU" in text
