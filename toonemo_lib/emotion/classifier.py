"""Classify facial expressions on face crops: the shipped mini-Xception, or any model with its contract.

    from toonemo_lib.emotion.classifier import EmotionClassifier

    classifier = EmotionClassifier()                  # the shipped data/models/emotion_mini_xception.keras
    classifier.classify([crop1, crop2])               # (2, 7) probabilities in EMOTIONS order

Finding the faces is `faces.detector.FaceDetector`'s; `emotion.recognize.EmotionRecognizer`
puts the two together.  Design choices, each measured or checked rather than assumed:

* Preprocessing is `preprocess_faces`, the very function training used (gray, resized,
  scaled to [-1, 1]); the model's input side is read from the model, not hard-coded.
* One model call per `classify` batch.  By default (`backend="auto"`) the call goes to
  the model converted to TFLite on the LiteRT interpreter (`emotion.lite`, converted
  once and cached by the model file's sha256): about 0.4 ms for one face, where the
  `tf.function` of `backend="tensorflow"` costs about 2.5 ms a call whatever the batch,
  `model.predict` tens of milliseconds and eager `model(x)` ten times the `tf.function`
  (see benchmarks/bench_emotion.py).  Both backends give the same probabilities to
  about 1e-6.
* Test-time augmentation (`flip_tta`, on by default): each face and its mirror image go
  through the network in the same batch and their probabilities are averaged.  Training
  mirrored faces at random, so both views are in-distribution; the average is also
  exactly symmetric: a face and its mirror get the same answer.
* A crop should be framed as FER2013's faces are (`FaceDetector.fer_box`): registered so
  that the face is centred and fills most of the 48 x 48 image, which is what the model
  learnt from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import DATA_DIR, EMOTIONS
from ..lite_runtime import lite_available

# `.pipeline` (preprocess_faces) imports TensorFlow, so it is imported where it is
# used: registering the `emotion` command must stay instant.

SHIPPED_MODEL = DATA_DIR / "models" / "emotion_mini_xception.keras"
# An independent second recogniser (models.SECOND_RECIPE: a small ResNet at 32x32, another seed),
# for measurements that must not be judged by the model they were fitted with.
SECOND_MODEL = DATA_DIR / "models" / "emotion_resnet_32.keras"
BACKENDS = ("auto", "lite", "tensorflow")

TRAIN_HINT = ("train and export one with `toonemo emotion-train --data fer2013.csv "
              "--out runs/shipped --export MODEL.keras`, or pass another model's path")


def _check_model_file(path: Path) -> None:
    """Clear errors for a missing model file or a folder, before anything reads it."""
    if not path.exists():
        raise FileNotFoundError(f"no emotion model at {path}: {TRAIN_HINT}")
    if not path.is_file():
        raise ValueError(f"the emotion model {path} is not a file (expected a Keras .keras file)")


def _load_model(path: Path):
    """The Keras model at `path`, with clear errors for a missing file or a non-model."""
    import textwrap

    _check_model_file(path)  # before Keras (and TensorFlow) load: a wrong path fails at once
    import keras

    try:
        return keras.saving.load_model(str(path), compile=False)
    except Exception as err:  # Keras raises many types (ValueError, BadZipFile, OSError, ...)
        reason = next((ln.strip() for ln in str(err).splitlines() if ln.strip()), "")
        reason = textwrap.shorten(reason, 200, placeholder=" ...")  # whole words only
        raise ValueError(f"{path} is not a loadable Keras model ({type(err).__name__}: {reason})") from None


def _check_contract(model, path) -> tuple[int, int]:
    """(height, width) of a model that takes (None, H, W, 1) and outputs 7 classes.

    `model` is the Keras model or its `LiteClassifier` (both have `input_shape` and
    `output_shape`, the batch being None or -1); the softmax is checked by a probe call.
    """
    try:
        shape, out = model.input_shape, model.output_shape
    except (AttributeError, RuntimeError, ValueError):  # e.g. an unbuilt subclassed model
        raise ValueError(f"the emotion model {path} has no defined input and output shape") from None
    if not (isinstance(shape, tuple) and len(shape) == 4 and shape[-1] == 1
            and isinstance(shape[1], int) and shape[1] == shape[2]):
        raise ValueError(f"the emotion model {path} must take (None, S, S, 1) square grayscale batches; "
                         f"its input shape is {shape}")
    if not (isinstance(out, tuple) and len(out) == 2 and out[-1] == len(EMOTIONS)):
        raise ValueError(f"the emotion model {path} must output {len(EMOTIONS)} class probabilities "
                         f"({', '.join(EMOTIONS)}); its output shape is {out}")
    return shape[1], shape[2]


class EmotionClassifier:
    """Face crops -> expression probabilities, with a mini-Xception (or any conforming) model.

    model_path   a Keras model taking (None, H, W, 1) in [-1, 1] with a 7-way softmax in
                 `EMOTIONS` order (default: the shipped `SHIPPED_MODEL`)
    flip_tta     average each face's probabilities with its mirror image's
    backend      "lite" (the model converted to TFLite, on LiteRT), "tensorflow" (a
                 `tf.function` of the Keras model) or "auto": lite when a LiteRT
                 interpreter is installed

    All faces of a `classify` call go through the model in one batch; `flip_tta` may be
    changed on the instance between calls.
    """

    def __init__(self, model_path=None, flip_tta: bool = True, *, backend: str = "auto"):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
        self.backend = ("lite" if lite_available() else "tensorflow") if backend == "auto" else backend
        self.model_path = Path(model_path) if model_path is not None else SHIPPED_MODEL
        _check_model_file(self.model_path)
        self._model = None  # the Keras model, loaded only when needed (see `model`)
        self.flip_tta = bool(flip_tta)
        # The LiteRT backend checks the contract on the interpreter: with the conversion
        # cached, neither Keras nor TensorFlow is imported (a second or more saved per start).
        if self.backend == "lite":
            self._forward = self._lite_forward()
            self.input_size = _check_contract(self._forward, self.model_path)
        else:
            self.input_size = _check_contract(self.model, self.model_path)
            self._forward = self._tensorflow_forward()
        probe = self._predict(np.zeros((1, *self.input_size, 1), np.float32))  # also warms the trace up
        if not (np.all(probe >= -1e-6) and abs(float(probe.sum()) - 1.0) < 1e-3):
            raise ValueError(f"the emotion model {self.model_path} does not output probabilities "
                             f"(its last layer should be a softmax)")

    def _lite_forward(self):
        from ..unreadable import load_or_rebuild
        from .lite import LiteClassifier, cached_tflite, tflite_path

        def convert(_):  # once per model file (or damaged cache); only this needs the Keras model
            _check_contract(self.model, self.model_path)
            cached_tflite(self.model_path, self.model)

        # a cached file LiteRT cannot load (truncated, emptied) is deleted and converted again
        return load_or_rebuild(tflite_path(self.model_path), LiteClassifier, convert, "TFLite cache")

    def _tensorflow_forward(self):
        import tensorflow as tf

        model = self.model
        spec = tf.TensorSpec((None, *self.input_size, 1), tf.float32)
        # One trace serves every batch size; about 10x faster than eager at batch 1.
        return tf.function(lambda x: model(x, training=False), input_signature=[spec])

    @property
    def model(self):
        """The Keras model, loaded at first use: the LiteRT backend runs without it."""
        if self._model is None:
            self._model = _load_model(self.model_path)
        return self._model

    @property
    def resolution(self) -> int:
        return self.input_size[0]

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self._forward(batch), dtype=np.float64)

    def classify(self, faces) -> np.ndarray:
        """Face crops -> (N, 7) probabilities in `EMOTIONS` order, rows summing to 1.

        `faces` is a list of crops (each gray (H, W) or RGB (H, W, 3), any size), an
        (N, H, W) or (N, H, W, C) array, or one face (a 2-D gray or H x W x 3 RGB array).
        All faces (and, with `flip_tta`, their mirror images) go through the model in one
        call.  Invalid crops raise ValueError.
        """
        if isinstance(faces, np.ndarray) and faces.ndim == 3 and faces.shape[-1] in (3, 4):
            faces = [faces]  # one RGB(A) face, not a stack of 3-pixel-wide gray ones
        from .pipeline import predict_with_flip, preprocess_faces

        x = preprocess_faces(faces, self.resolution)
        if len(x) == 0:
            return np.zeros((0, len(EMOTIONS)))
        probs = predict_with_flip(self._predict, x) if self.flip_tta else self._predict(x)
        return probs / probs.sum(axis=1, keepdims=True)
