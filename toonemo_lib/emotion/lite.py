"""The emotion classifier on LiteRT (TensorFlow Lite): the same weights, a fraction of the call cost.

A traced ``tf.function`` costs about 2.5 ms a call on a 2-core CPU whatever the batch,
ten times what this 200k-parameter network computes for one face; the LiteRT interpreter
with its XNNPACK kernels answers a one-face call in about 0.4 ms.  The converted model
is float32 like the Keras one (no quantisation), so both give the same probabilities to
about 1e-6.

    classifier = LiteClassifier(cached_tflite(SHIPPED_MODEL))
    probs = classifier(batch)          # float32 (N, 48, 48, 1) in [-1, 1] -> (N, 7)

The interpreter itself (``ai-edge-litert``, else ``tf.lite``) comes from
`toonemo_lib.lite_runtime`, which BlazeFace shares; this module holds the emotion
model's conversion, its cache and the classifier.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np

from toonemo_lib.config import cache_dir
from toonemo_lib.download import sha256_of
# lite_available is re-exported: callers ask this module whether its classifier can run
from toonemo_lib.lite_runtime import lite_available, make_interpreter, one_line  # noqa: F401


def to_tflite(model) -> bytes:
    """A Keras model as a float32 TFLite flatbuffer."""
    import tensorflow as tf

    try:
        # the converter exports a SavedModel first and prints where: keep that out of notebooks
        with contextlib.redirect_stdout(io.StringIO()):
            return tf.lite.TFLiteConverter.from_keras_model(model).convert()
    except Exception as err:  # the converter raises ConverterError, ValueError, ...
        raise ValueError(f"could not convert the model {model.name!r} to TFLite ({type(err).__name__}: "
                         f"{one_line(err)}); use backend='tensorflow'") from None


def tflite_path(model_path) -> Path:
    """Where the TFLite conversion of the Keras file ``model_path`` is cached.

    Named after the sha256 of the Keras file, so retraining or replacing the model gives
    a new conversion, never a stale one.
    """
    model_path = Path(model_path)
    return cache_dir() / "emotion" / f"{model_path.stem}-{sha256_of(model_path)[:16]}.tflite"


def cached_tflite(model_path, model=None) -> Path:
    """The TFLite conversion of the Keras file ``model_path``, made once and cached.

    The cache file (``tflite_path``) is written under a temporary name and renamed, so
    an interrupted conversion leaves no half file.  ``model`` is the already loaded
    Keras model (loaded from ``model_path`` if None); on a cache hit it is not needed.
    """
    model_path = Path(model_path)
    target = tflite_path(model_path)
    if not target.exists():
        if model is None:
            import keras
            model = keras.saving.load_model(model_path, compile=False)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(to_tflite(model))
        os.replace(partial, target)
    return target


class LiteClassifier:
    """A TFLite model on the LiteRT interpreter, called like a Keras model on a numpy batch.

    ``model`` is a ``.tflite`` path or its bytes.  Two threads by default: a face and
    its mirror image (flip TTA) take 0.3-0.4 ms less than on one thread, where a whole
    640 x 480 frame with BlazeFace takes about 4 ms (a 2-core Xeon with AVX-512).
    ``input_shape`` and ``output_shape`` are the model's, with -1 for the batch.
    """

    def __init__(self, model, num_threads: int = 2):
        self._interpreter = make_interpreter(model, num_threads, "use backend='tensorflow'")
        (inp,), (out,) = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        self._input, self._output = inp["index"], out["index"]
        self.input_shape = tuple(int(v) for v in inp["shape_signature"])  # -1 for the batch
        self.output_shape = tuple(int(v) for v in out["shape_signature"])
        self._allocated = tuple(int(v) for v in inp["shape"])

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[1:] != self.input_shape[1:] or len(batch) == 0:
            raise ValueError(f"expected a non-empty batch of shape (N, {', '.join(map(str, self.input_shape[1:]))}); "
                             f"got {batch.shape}")
        if batch.shape != self._allocated:  # re-plan the buffers only when the batch size changes
            self._interpreter.resize_tensor_input(self._input, batch.shape)
            self._interpreter.allocate_tensors()
            self._allocated = batch.shape
        self._interpreter.set_tensor(self._input, batch)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output).copy()
