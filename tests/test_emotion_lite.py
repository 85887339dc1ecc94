"""The LiteRT path of the emotion classifier: conversion, caching, agreement with Keras."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from toonemo_lib import lite_runtime
from toonemo_lib.datasets.samples import list_samples, load_sample
from toonemo_lib.emotion import lite
from toonemo_lib.emotion.pipeline import preprocess_faces
from toonemo_lib.emotion.recognize import SHIPPED_MODEL, EmotionRecognizer

pytestmark = pytest.mark.skipif(not lite.lite_available(), reason="no LiteRT interpreter installed")


@pytest.fixture(scope="module")
def shipped():
    return keras.saving.load_model(SHIPPED_MODEL, compile=False)


@pytest.fixture(scope="module")
def faces():
    """The shipped face photos (RGB) as classifier input: 8 LFW crops and the astronaut."""
    crops = [load_sample(name) for name in list_samples("faces") if "lfw" in name]
    crops.append(load_sample("faces/astronaut.png")[67:160, 177:270])
    return preprocess_faces(crops)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path / "cache"))
    return tmp_path


def test_lite_agrees_with_keras_at_every_batch_size(shipped, faces):
    classifier = lite.LiteClassifier(lite.to_tflite(shipped))
    assert classifier.input_shape == (-1, 48, 48, 1) and classifier.output_shape == (-1, 7)
    expected = shipped(faces, training=False).numpy()
    for batch in (faces[:1], faces, faces[:3], faces[:1]):  # the buffers are re-planned each time
        np.testing.assert_allclose(classifier(batch), expected[:len(batch)], atol=1e-5)


def test_cache_is_keyed_by_the_model_files_sha256(home, shipped, monkeypatch):
    first = lite.cached_tflite(SHIPPED_MODEL, shipped)
    assert first.parent == home / "cache" / "emotion" and first.suffix == ".tflite"
    assert not list(first.parent.glob("*.part"))

    def no_conversion(model):
        raise AssertionError("converted again although the cache holds this model")

    monkeypatch.setattr(lite, "to_tflite", no_conversion)
    assert lite.cached_tflite(SHIPPED_MODEL, shipped) == first
    monkeypatch.undo()

    other = home / "other.keras"  # different weights: a different file, a new conversion
    changed = keras.models.clone_model(shipped)
    changed.set_weights([w * 0.5 for w in shipped.get_weights()])
    changed.save(other)
    second = lite.cached_tflite(other)
    assert second != first and second.name.startswith("other-")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 48, 48, 1)).astype(np.float32)
    np.testing.assert_allclose(lite.LiteClassifier(second)(x), changed(x).numpy(), atol=1e-5)


def test_bad_inputs_get_clear_errors(home, shipped):
    with pytest.raises(ValueError, match="not a TFLite model"):
        lite.LiteClassifier(b"this is not a flatbuffer" * 4)
    bad = home / "model.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="not a TFLite model"):
        lite.LiteClassifier(bad)
    classifier = lite.LiteClassifier(lite.cached_tflite(SHIPPED_MODEL, shipped))
    with pytest.raises(ValueError, match=r"\(N, 48, 48, 1\)"):
        classifier(np.zeros((2, 64, 64, 1), np.float32))
    with pytest.raises(ValueError, match="non-empty"):
        classifier(np.zeros((0, 48, 48, 1), np.float32))


def test_recogniser_backends_give_the_same_answers(home, faces):
    gray = [np.uint8((f[..., 0] + 1) * 127.5) for f in faces]
    by_lite = EmotionRecognizer(backend="lite")
    by_tf = EmotionRecognizer(backend="tensorflow")
    assert by_lite.backend == "lite" and by_tf.backend == "tensorflow"
    assert EmotionRecognizer().backend == "lite"  # "auto" picks LiteRT when it is installed
    np.testing.assert_allclose(by_lite.classify(gray), by_tf.classify(gray), atol=1e-5)
    with pytest.raises(ValueError, match="unknown backend"):
        EmotionRecognizer(backend="onnx")



def test_without_ai_edge_litert_tf_lite_serves_and_without_both_tensorflow_does(monkeypatch):
    import sys

    import tensorflow as tf

    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)  # as on Windows: no wheel
    assert lite_runtime.interpreter_class() is tf.lite.Interpreter
    monkeypatch.setattr(lite_runtime, "interpreter_class", lambda: None)
    assert EmotionRecognizer().backend == "tensorflow"
    with pytest.raises(ImportError, match="ai-edge-litert"):
        EmotionRecognizer(backend="lite")


def test_litert_info_lines_are_dropped_and_everything_else_kept(capfd):
    with lite_runtime._without_lite_info():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"ERROR: a real problem\n")
    assert capfd.readouterr().err == "ERROR: a real problem\n"


def test_a_classifier_in_a_fresh_process_prints_nothing(home, shipped):
    path = lite.cached_tflite(SHIPPED_MODEL, shipped)
    code = ("import numpy as np; from toonemo_lib.emotion.lite import LiteClassifier; "
            f"print(LiteClassifier({str(path)!r})(np.zeros((2, 48, 48, 1), np.float32)).shape)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert done.stdout.strip() == "(2, 7)" and done.stderr == ""
