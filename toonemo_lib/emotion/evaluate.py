"""Evaluating an emotion model: probabilities, accuracy / loss, confusion matrix, speed.

Everything goes through ``preprocess_faces``, the same resizing and scaling that
training and the recogniser use, so an evaluation measures the model a user runs.
The per-class metrics are computed with numpy (no scikit-learn dependency).
"""

from __future__ import annotations

import time
from typing import Mapping, Sequence

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from toonemo_lib.config import EMOTIONS
from toonemo_lib.emotion.models import TrainConfig, build_for
from toonemo_lib.emotion.pipeline import predict_with_flip, preprocess_faces

EPSILON = 1e-7  # probabilities are clipped to [EPSILON, 1] before the log, like Keras


def _input_geometry(model: keras.Model) -> tuple[int, int, int]:
    """(height, width, channels) of the model's input."""
    shape = model.input_shape
    if isinstance(shape, list):  # a model with several inputs: use the first
        shape = shape[0]
    _, height, width, channels = shape
    return int(height), int(width), int(channels)


def _class_names(num_classes: int) -> list[str]:
    if num_classes <= len(EMOTIONS):
        return list(EMOTIONS[:num_classes])
    return [str(i) for i in range(num_classes)]


def predict_probs(model: keras.Model, images, batch_size: int = 256, flip_tta: bool = False,
                  progress: bool | None = None) -> np.ndarray:
    """Class probabilities (N, num_classes) of uint8 faces (N, H, W) of any size.

    Faces are resized to the model's input resolution by ``preprocess_faces``.
    ``flip_tta`` averages the predictions of each face and its mirror image.
    ``progress`` shows a tqdm bar (default: only when there are more than 20 batches).
    """
    height, _, channels = _input_geometry(model)
    num_classes = int(model.output_shape[-1])
    n = len(images)
    out = np.empty((n, num_classes), np.float32)
    starts = range(0, n, batch_size)
    if progress is None:
        progress = len(starts) > 20

    def predict(batch):
        return keras.ops.convert_to_numpy(model(batch, training=False))

    for start in tqdm(starts, desc="predicting", leave=False, disable=not progress):
        x = preprocess_faces(images[start:start + batch_size], height)
        if channels == 3:
            x = np.repeat(x, 3, axis=-1)
        out[start:start + len(x)] = predict_with_flip(predict, x) if flip_tta else predict(x)
    return out


def cross_entropy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean categorical cross-entropy of integer ``labels`` under ``probs`` (clipped)."""
    labels = np.asarray(labels, np.int64)
    if len(labels) == 0:
        return float("nan")
    picked = np.clip(probs[np.arange(len(labels)), labels], EPSILON, 1.0)
    return float(-np.mean(np.log(picked)))


def evaluate(model: keras.Model, images, labels, flip_tta: bool = False, batch_size: int = 256) -> dict:
    """``{"accuracy", "loss", "n"}`` of ``model`` on labelled faces.

    ``loss`` is the plain cross-entropy of the predicted probabilities: unlike the
    ``val_loss`` Keras logs, it has no L2 regularisation term and no label smoothing.
    """
    labels = np.asarray(labels, np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    probs = predict_probs(model, images, batch_size=batch_size, flip_tta=flip_tta)
    accuracy = float(np.mean(probs.argmax(axis=1) == labels)) if len(labels) else float("nan")
    return {"accuracy": accuracy, "loss": cross_entropy(probs, labels), "n": int(len(labels))}


def confusion_matrix(labels, preds, num_classes: int = 7, normalize: bool = False) -> pd.DataFrame:
    """Counts of (true, predicted) pairs: rows are the true class, columns the prediction.

    With ``normalize`` each row is divided by its total (rows sum to 1; an empty row stays 0),
    so the diagonal is each class's recall.
    """
    labels = np.asarray(labels, np.int64).ravel()
    preds = np.asarray(preds, np.int64).ravel()
    if labels.shape != preds.shape:
        raise ValueError(f"{len(labels)} labels but {len(preds)} predictions")
    for name, values in (("labels", labels), ("preds", preds)):
        if len(values) and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} must be in 0..{num_classes - 1}")
    counts = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(counts, (labels, preds), 1)
    names = _class_names(num_classes)
    values = counts
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    return pd.DataFrame(values, index=pd.Index(names, name="true"), columns=pd.Index(names, name="predicted"))


def _safe_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b > 0)


def per_class_report(labels, preds, num_classes: int = 7, macro: bool = True) -> pd.DataFrame:
    """Precision, recall, F1 and support per class (a zero division gives 0).

    With ``macro`` a ``"macro avg"`` row averages P/R/F1 over the classes that occur in
    ``labels`` or ``preds`` (scikit-learn's default), its support is the total.
    """
    counts = confusion_matrix(labels, preds, num_classes).to_numpy()
    true_positives = np.diag(counts)
    support = counts.sum(axis=1)
    predicted = counts.sum(axis=0)
    precision = _safe_divide(true_positives, predicted)
    recall = _safe_divide(true_positives, support)
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    report = pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "support": support},
                          index=pd.Index(_class_names(num_classes), name="class"))
    if macro:
        present = (support + predicted) > 0
        means = report.loc[present, ["precision", "recall", "f1"]].mean() if present.any() else \
            pd.Series(0.0, index=["precision", "recall", "f1"])
        report.loc["macro avg"] = [means["precision"], means["recall"], means["f1"], support.sum()]
    report["support"] = report["support"].astype(np.int64)
    return report


def _figure_axes(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    return fig, ax


def plot_confusion_matrix(cm: pd.DataFrame, ax=None, title: str | None = None, cmap: str = "Blues"):
    """A heatmap of a ``confusion_matrix``; returns the figure.

    Counts are annotated with the row percentage underneath; a normalised matrix is
    annotated in percent.  Colours always follow the row fractions so that rare classes
    are as readable as common ones.
    """
    is_counts = all(np.issubdtype(d, np.integer) for d in cm.dtypes) or bool((cm.to_numpy() > 1).any())
    values = cm.to_numpy(dtype=np.float64)
    totals = values.sum(axis=1, keepdims=True)
    fractions = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0) if is_counts else values
    fig, ax = _figure_axes(ax, (1.0 * len(cm.columns) + 2, 0.9 * len(cm.index) + 1.5))
    image = ax.imshow(fractions, cmap=cmap, vmin=0, vmax=1)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            text = f"{int(values[i, j])}\n{fractions[i, j]:.0%}" if is_counts else f"{values[i, j]:.0%}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if fractions[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(cm.columns)), [str(c) for c in cm.columns], rotation=45, ha="right")
    ax.set_yticks(range(len(cm.index)), [str(c) for c in cm.index])
    ax.set_xlabel(cm.columns.name or "predicted")
    ax.set_ylabel(cm.index.name or "true")
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    fig.tight_layout()
    return fig


def plot_per_class(report: pd.DataFrame, ax=None, title: str | None = None):
    """Grouped bars of precision, recall and F1 per class; the macro F1 as a dashed line."""
    classes = report.drop(index=[i for i in report.index if str(i).endswith("avg")])
    fig, ax = _figure_axes(ax, (1.1 * len(classes) + 2, 3.8))
    x = np.arange(len(classes))
    width = 0.27
    for k, metric in enumerate(("precision", "recall", "f1")):
        ax.bar(x + (k - 1) * width, classes[metric], width, label=metric)
    if "macro avg" in report.index:
        ax.axhline(report.loc["macro avg", "f1"], color="black", ls="--", lw=1,
                   label=f"macro F1 {report.loc['macro avg', 'f1']:.2f}")
    labels = [f"{name}\n(n={int(n)})" for name, n in zip(classes.index, classes["support"])] \
        if "support" in classes else [str(i) for i in classes.index]
    ax.set_xticks(x, labels, fontsize=8)
    ax.set(ylim=(0, 1.05), ylabel="score", title=title or "Per-class precision, recall and F1")
    ax.legend(fontsize=8, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    fig.tight_layout()
    return fig


def ms_per_face(model: keras.Model, batch_size: int = 32, repeats: int = 5, warmup: int = 1,
                seed: int = 0, backend: str = "tensorflow") -> float:
    """Median milliseconds per face of one batched forward pass (inference mode).

    The forward pass runs on random input of the model's shape, as a traced
    ``tf.function`` (``backend="tensorflow"``) or converted to TFLite on the LiteRT
    interpreter (``backend="lite"``, the recogniser's default); the ``warmup`` calls
    (which include tracing) are not timed.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    height, width, channels = _input_geometry(model)
    x = np.random.default_rng(seed).uniform(-1, 1, (batch_size, height, width, channels)).astype(np.float32)
    if backend == "lite":
        from toonemo_lib.emotion.lite import LiteClassifier, to_tflite
        forward = LiteClassifier(to_tflite(model))
    elif backend == "tensorflow":
        import tensorflow as tf
        compiled = tf.function(lambda batch: model(batch, training=False))

        def forward(batch):
            return compiled(batch).numpy()
    else:
        raise ValueError(f"unknown backend {backend!r}; use 'tensorflow' or 'lite'")
    for _ in range(max(1, warmup)):
        forward(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times) / batch_size * 1000.0)


def architecture_table(models: Mapping[str, object] | Sequence[object], batch_size: int = 32,
                       repeats: int = 3, num_classes: int = 7) -> pd.DataFrame:
    """Parameters and inference speed of a few architectures side by side.

    ``models`` maps a name to a built Keras model or a ``TrainConfig`` (built here), or
    is a list of them (named after the model).  Returns one row per model with the
    input size, parameter count and ``ms_per_face``.
    """
    items = models.items() if isinstance(models, Mapping) else [(None, m) for m in models]
    rows = []
    for name, item in items:
        model = build_for(item, num_classes) if isinstance(item, TrainConfig) else item
        height, width, channels = _input_geometry(model)
        rows.append({"Model": name or model.name, "Input": f"{height}x{width}x{channels}",
                     "Parameters": int(model.count_params()),
                     "ms/face": ms_per_face(model, batch_size=batch_size, repeats=repeats)})
    return pd.DataFrame(rows).set_index("Model")


def majority_rate(labels) -> float:
    """Accuracy of always answering the commonest class of ``labels``: the floor a model must beat.

    A network whose BatchNorm statistics have not settled often predicts one class for every
    face and scores about this (or less, when its one class is not the commonest).
    """
    labels = np.asarray(labels, np.int64).ravel()
    if labels.size == 0:
        raise ValueError("majority_rate needs at least one label")
    if labels.min() < 0:
        raise ValueError("labels must be class indices >= 0")
    return float(np.bincount(labels).max() / labels.size)


def confusion_summary(cm: pd.DataFrame) -> pd.DataFrame:
    """Per class, from a count ``confusion_matrix``: precision, recall, F1, support, and the
    wrong answer it is most often taken for with that answer's share of the class.

    Rows in the matrix's order; a class without mistakes has no most common one (missing, share 0).
    """
    counts = cm.to_numpy(dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {counts.shape}")
    true_positives = np.diag(counts)
    support, predicted = counts.sum(axis=1), counts.sum(axis=0)
    precision, recall = _safe_divide(true_positives, predicted), _safe_divide(true_positives, support)
    mistakes = np.where(np.eye(len(counts), dtype=bool), -1.0, counts)  # off-diagonal: the errors only
    worst = mistakes.argmax(axis=1)
    taken_for = [cm.columns[j] if support[i] > 0 and mistakes[i, j] > 0 else None for i, j in enumerate(worst)]
    share = _safe_divide(np.where([t is not None for t in taken_for], mistakes[np.arange(len(counts)), worst], 0),
                         support)
    return pd.DataFrame({"precision": precision, "recall": recall,
                         "f1": _safe_divide(2 * precision * recall, precision + recall),
                         "support": support.astype(np.int64), "most often taken for": taken_for,
                         "share of the class": share}, index=pd.Index(list(cm.index), name="class"))


def confusion_markdown(cm: pd.DataFrame, weakest: int = 3, best: int = 2) -> str:
    """Markdown naming the ``weakest`` and ``best`` classes of a count confusion matrix, with the
    figures behind them (F1, faces, most common wrong answer and its share), all computed from it."""
    summary = confusion_summary(cm)
    present = summary[summary["support"] > 0].sort_values("f1")
    if present.empty:
        return "The confusion matrix holds no faces."
    parts = []
    for name, row in present.head(weakest).iterrows():
        text = f"**{name}** (F1 {row['f1']:.2f}, {row['support']:,} faces, recall {row['recall']:.0%}"
        if pd.notna(row["most often taken for"]):
            text += (f"; most often taken for {row['most often taken for']}: "
                     f"{row['share of the class']:.0%} of its faces")
        parts.append(text + ")")
    strongest = [f"**{name}** (F1 {row['f1']:.2f})" for name, row in present.tail(best).iloc[::-1].iterrows()]
    return (f"The weakest classes by F1: {'; '.join(parts)}. "
            f"Recognised best: {' and '.join(strongest)}.")


def _step_names(batch: int) -> tuple[str, str, str]:
    return "classify 1 face", f"classify {batch} faces", "detect + classify a photo"


def call_times(recognizers: Mapping[str, object], photo, crops, repeats: int = 15, batch: int = 32) -> pd.DataFrame:
    """Median milliseconds of three calls of each recogniser (columns), as a user makes them.

    Rows: ``classify`` of one crop, ``classify`` of ``batch`` crops (``crops`` repeated), and
    ``detect_and_classify`` of ``photo``.  A recogniser is anything with those two methods (an
    ``EmotionRecognizer``); the images go in as they are.  Each call runs once untimed (warm-up),
    then ``repeats`` times under ``timeit``; the median is reported.
    """
    import statistics
    import timeit

    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    crops = list(crops)
    if not crops:
        raise ValueError("call_times needs at least one face crop")
    many = (crops * -(-batch // len(crops)))[:batch]
    names = _step_names(batch)
    table = {}
    for backend, recognizer in recognizers.items():
        steps = {names[0]: lambda r=recognizer: r.classify(crops[:1]),
                 names[1]: lambda r=recognizer: r.classify(many),
                 names[2]: lambda r=recognizer: r.detect_and_classify(photo)}
        times = {}
        for step, call in steps.items():
            call()
            times[step] = 1e3 * statistics.median(timeit.repeat(call, number=1, repeat=repeats))
        table[backend] = times
    return pd.DataFrame(table)


def probability_gap(recognizers: Mapping[str, object], crops) -> float:
    """Largest absolute difference between the probabilities any two recognisers give ``crops``."""
    probs = [np.asarray(r.classify(list(crops))) for r in recognizers.values()]
    return float(max((np.abs(a - b).max() for i, a in enumerate(probs) for b in probs[i + 1:]), default=0.0))


def call_times_markdown(call_ms: pd.DataFrame, batch: int = 32, card: Mapping | None = None,
                        frame_ms: float = 40.0) -> str:
    """Markdown quoting ``call_times``' measurements (and, given a model card, the card's).

    Every number comes from ``call_ms`` or ``card``: nothing is claimed about a machine it
    was not measured on.  ``frame_ms`` is a frame's budget (40 ms: 25 frames a second).
    """
    one_name, many_name, photo_name = _step_names(batch)
    one, many, photo = call_ms.loc[one_name], call_ms.loc[many_name], call_ms.loc[photo_name]
    fast, slow = one.idxmin(), one.idxmax()
    text = [f"Measured here (medians; flip test-time augmentation on, so every face goes through the "
            f"network twice): one face costs **{one[fast]:.2f} ms** a call on {fast}"]
    if slow != fast:
        text[-1] += f" and **{one[slow]:.2f} ms** on {slow} ({one[slow] / one[fast]:.1f} times as much)"
    per_face = ", ".join(f"{many[b] / batch:.3f} ms a face on {b}" for b in call_ms.columns)
    text[-1] += f"; in a batch of {batch} it is {per_face}."
    best_photo = photo.idxmin()
    share = one[best_photo] / photo[best_photo] if photo[best_photo] > 0 else float("nan")
    text.append(f"Finding and classifying the faces of the photo takes {photo[best_photo]:.1f} ms on {best_photo}, "
                f"{photo[best_photo] / frame_ms:.0%} of the {frame_ms:.0f} ms a frame has at "
                f"{1000 / frame_ms:.0f} frames a second; classifying one face is {share:.0%} of that.")
    if card:
        text.append(f"The model card timed the bare forward pass (no flip, no pre-processing) on "
                    f"{card.get('timed_on', 'its machine')}: {card['ms_per_face_batch1']:.2f} ms for one face on "
                    f"LiteRT and {card['ms_per_face_tensorflow_batch1']:.2f} ms on TensorFlow; "
                    f"{card['ms_per_face_batch32']:.3f} and {card['ms_per_face_tensorflow_batch32']:.3f} ms a face "
                    f"in batches of 32.")
    return " ".join(text)
