"""The emotion recogniser: batched classification, face detection, records and the CLI.

The shipped model is provisional until the real one is trained, so nothing here checks
what it predicts, only the contract (shapes, order, sums, symmetry, one model call).
"""

import json

import cv2
import numpy as np
import pytest

from toonemo_lib import cli
from toonemo_lib.config import EMOTIONS
from toonemo_lib.datasets.samples import load_sample, sample_path
from toonemo_lib.emotion.recognize import EMOTION_COLOURS, SHIPPED_MODEL, EmotionRecognizer, draw_emotions
from toonemo_lib.images import to_gray

ASTRONAUT_FACE = (177, 67, 93, 93)  # where OpenCV's cascades put the astronaut's face


@pytest.fixture(scope="module", params=["auto", "blazeface", "haar"])
def recognizer(request):
    return EmotionRecognizer(detector=request.param)


@pytest.fixture(scope="module")
def astronaut():
    """The astronaut photo, RGB like every image the library takes."""
    return load_sample("faces/astronaut.png")


def mixed_crops(astronaut):
    x, y, w, h = ASTRONAUT_FACE
    face = astronaut[y:y + h, x:x + w]
    lfw = to_gray(load_sample("faces/lfw_00.png"))
    return [face, to_gray(face), lfw, cv2.resize(face, (200, 160)),
            np.random.default_rng(0).integers(0, 256, (30, 41), dtype=np.uint8)]


class CountingForward:
    """Stands in for the recogniser's compiled model call and counts the calls."""

    def __init__(self, forward):
        self.forward, self.batches = forward, []

    def __call__(self, x):
        self.batches.append(len(x))
        return self.forward(x)


def test_classify_shapes_order_and_sums(recognizer, astronaut):
    probs = recognizer.classify(mixed_crops(astronaut))
    assert probs.shape == (5, len(EMOTIONS)) and np.issubdtype(probs.dtype, np.floating)
    assert np.all(probs >= 0) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    assert recognizer.classify([]).shape == (0, len(EMOTIONS))
    single = recognizer.classify(mixed_crops(astronaut)[0])  # one RGB face, not a stack of rows
    assert single.shape == (1, len(EMOTIONS))
    np.testing.assert_allclose(single[0], probs[0], atol=1e-6)
    np.testing.assert_allclose(probs[1], probs[0], atol=1e-6)  # an RGB crop is classified as its gray


def test_classify_makes_one_batched_model_call(recognizer, astronaut, monkeypatch):
    crops = mixed_crops(astronaut)
    counter = CountingForward(recognizer._forward)
    monkeypatch.setattr(recognizer, "_forward", counter)
    batched = recognizer.classify(crops)
    assert counter.batches == [2 * len(crops)]  # every face and its mirror, in one call
    monkeypatch.setattr(recognizer, "flip_tta", False)
    recognizer.classify(crops)
    assert counter.batches[1:] == [len(crops)]
    monkeypatch.setattr(recognizer, "flip_tta", True)
    one_by_one = np.concatenate([recognizer.classify([c]) for c in crops])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_flip_tta_gives_a_face_and_its_mirror_the_same_answer(recognizer, astronaut):
    x, y, w, h = ASTRONAUT_FACE
    face = astronaut[y:y + h, x:x + w]
    probs = recognizer.classify([face, face[:, ::-1]])
    np.testing.assert_allclose(probs[0], probs[1], atol=1e-6)


def test_classify_rejects_bad_crops(recognizer):
    with pytest.raises(ValueError):
        recognizer.classify([np.zeros((1, 1), np.uint8)])
    with pytest.raises(ValueError):
        recognizer.classify([np.zeros((4, 4, 4, 4), np.uint8)])


def test_detect_and_classify_finds_the_astronaut(recognizer, astronaut):
    records = recognizer.detect_and_classify(astronaut)
    assert len(records) == 1
    record = records[0]
    keys = ["rect", "label", "probs"] + (["score", "keypoints"] if "blazeface" in recognizer.detector.kind else [])
    assert list(record) == keys
    x, y, w, h = record["rect"]
    assert all(type(v) is int for v in record["rect"])
    assert 0 <= x and 0 <= y and x + w <= astronaut.shape[1] and y + h <= astronaut.shape[0]
    tx, ty, tw, th = ASTRONAUT_FACE
    assert abs(x + w / 2 - (tx + tw / 2)) < 15 and abs(y + h / 2 - (ty + th / 2)) < 15
    assert 0.75 < w / tw < 1.33
    probs = record["probs"]
    assert list(probs) == list(EMOTIONS) and all(type(p) is float for p in probs.values())
    assert abs(sum(probs.values()) - 1.0) < 1e-5
    assert record["label"] == max(probs, key=probs.get)
    gray = to_gray(astronaut)  # a gray photo works the same way
    (from_gray,) = recognizer.detect_and_classify(gray)
    assert np.allclose(from_gray["rect"], record["rect"], atol=0.08 * w)  # BlazeFace sees colour


def test_blazeface_records_carry_keypoints_in_the_face(astronaut):
    (record,) = EmotionRecognizer(detector="blazeface").detect_and_classify(astronaut)
    assert 0.5 < record["score"] <= 1.0
    points = record["keypoints"]
    assert list(points) == ["right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear"]
    x, y, w, h = record["rect"]
    for name in ("right_eye", "left_eye", "nose_tip", "mouth"):
        px, py = points[name]
        assert x <= px <= x + w and y <= py <= y + h, name
    # the subject's right eye is on the image's left; eyes above the nose, the nose above the mouth
    assert points["right_eye"][0] < points["left_eye"][0]
    assert max(points["right_eye"][1], points["left_eye"][1]) < points["nose_tip"][1] < points["mouth"][1]


def test_auto_falls_back_to_haar_where_blazeface_finds_nothing():
    recognizer = EmotionRecognizer()
    assert recognizer.detector.kind == "blazeface+haar"
    tight = load_sample("faces/lfw_01.png")  # a 25 x 25 crop: no head around the face for BlazeFace
    assert EmotionRecognizer(detector="blazeface").detect_and_classify(tight) == []
    (record,) = recognizer.detect_and_classify(tight)
    assert list(record) == ["rect", "label", "probs"]  # the cascade's record: no keypoints


def test_unknown_detector_is_refused():
    with pytest.raises(ValueError, match="unknown detector 'mtcnn'"):
        EmotionRecognizer(detector="mtcnn")


def test_the_classifier_alone_gives_the_recognisers_probabilities(recognizer, astronaut):
    from toonemo_lib.emotion.classifier import EmotionClassifier

    crops = mixed_crops(astronaut)
    classifier = EmotionClassifier()
    assert not hasattr(classifier, "detector")
    np.testing.assert_allclose(classifier.classify(crops), recognizer.classify(crops), atol=1e-6)


def test_a_face_detector_is_composed_as_it_is_given(astronaut):
    from toonemo_lib.faces.detector import FaceDetector

    haar = FaceDetector("haar", detect_side=400)
    recognizer = EmotionRecognizer(detector=haar)
    assert recognizer.detector is haar
    assert recognizer.find_faces(astronaut) == haar.find_faces(astronaut)
    (record,) = recognizer.detect_and_classify(astronaut)
    assert record["rect"] == list(haar.find_faces(astronaut)[0])


def test_detect_and_classify_returns_every_face_largest_first(recognizer, astronaut):
    head = astronaut[20:270, 100:350]  # 250 x 250 around the face
    small = cv2.resize(head, (180, 180), interpolation=cv2.INTER_AREA)
    image = np.hstack([head, np.pad(small, ((0, 70), (0, 0), (0, 0)), constant_values=128)])
    rects = [r["rect"] for r in recognizer.detect_and_classify(image)]
    assert len(rects) == 2, rects
    assert rects[0][2] * rects[0][3] > rects[1][2] * rects[1][3] and rects[1][0] >= 250


def test_a_float_frame_is_recognised_as_its_uint8_twin(recognizer, astronaut):
    (as_uint8,) = recognizer.detect_and_classify(astronaut)
    (as_float,) = recognizer.detect_and_classify(astronaut / 255.0)  # floats in [0, 1]
    assert as_float["rect"] == as_uint8["rect"]
    assert as_float["probs"] == pytest.approx(as_uint8["probs"], abs=1e-6)


def test_no_face_gives_no_records(recognizer):
    assert recognizer.detect_and_classify(np.full((480, 640, 3), 128, np.uint8)) == []
    noise = np.random.default_rng(0).integers(0, 256, (240, 320), dtype=np.uint8)
    assert recognizer.detect_and_classify(noise) == []


def test_whole_image_is_one_face_without_detection(recognizer):
    noise = np.random.default_rng(1).integers(0, 256, (60, 50, 3), dtype=np.uint8)
    (record,) = recognizer.detect_and_classify(noise, detect_face=False)
    assert record["rect"] == [0, 0, 50, 60] and list(record["probs"]) == list(EMOTIONS)
    with pytest.raises(ValueError):
        recognizer.detect_and_classify(np.zeros((8, 8, 2), np.uint8))


def test_draw_emotions_draws_each_face_in_its_colour(recognizer, astronaut):
    records = recognizer.detect_and_classify(astronaut)
    out = draw_emotions(astronaut, records)
    assert out.shape == astronaut.shape and not np.array_equal(out, astronaut)
    x, y, w, h = records[0]["rect"]
    assert tuple(out[y + h // 2, x]) == EMOTION_COLOURS[records[0]["label"]]  # RGB, not BGR
    np.testing.assert_array_equal(out[300:], astronaut[300:])               # nothing drawn far away
    np.testing.assert_array_equal(draw_emotions(astronaut, []), astronaut)


def test_cli_json(capsys):
    path = str(sample_path("faces/astronaut.png"))
    assert cli.main(["emotion", path, "--json"]) == 0  # faces are detected by default
    results = json.loads(capsys.readouterr().out)
    assert [entry["image"] for entry in results] == [path]
    (face,) = results[0]["faces"]
    assert set(face) >= {"rect", "label", "probs"} and list(face["probs"]) == list(EMOTIONS)
    assert face["label"] in EMOTIONS and abs(sum(face["probs"].values()) - 1) < 1e-5

    lfw = str(sample_path("faces/lfw_01.png"))
    assert cli.main(["emotion", lfw, path, "--whole-image"]) == 0  # a table; whole images as faces
    table = capsys.readouterr().out
    assert "(0, 0, 25, 25)" in table and "(0, 0, 512, 512)" in table


def test_cli_reports_unreadable_images(tmp_path, capsys):
    junk = tmp_path / "junk.png"
    junk.write_bytes(np.random.default_rng(0).bytes(1000))
    assert cli.main(["emotion", str(junk)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("toonemo emotion: ") and "junk.png" in err and "Traceback" not in err
    assert cli.main(["emotion", str(tmp_path / "nope.jpg"), "--json"]) == 1
    captured = capsys.readouterr()
    assert "no such file" in captured.err and "nope.jpg" in captured.err
    assert json.loads(captured.out) == [{"image": str(tmp_path / "nope.jpg"), "error": "no such file"}]
    face = str(sample_path("faces/lfw_00.png"))
    assert cli.main(["emotion", face, "--model", str(tmp_path / "none.keras")]) == 1
    assert "no emotion model" in capsys.readouterr().err


def test_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train"):
        EmotionRecognizer(tmp_path / "missing.keras")
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    with pytest.raises(ValueError, match="notes.keras"):
        EmotionRecognizer(text)
    assert SHIPPED_MODEL.is_file()


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # inside Keras' save
def test_any_conforming_model_and_its_resolution(tmp_path, astronaut):
    from toonemo_lib.emotion.models import mini_xception

    path = tmp_path / "small.keras"
    mini_xception((40, 40, 1), blocks=1).save(path)
    recognizer = EmotionRecognizer(path)
    assert recognizer.resolution == 40
    probs = recognizer.classify(mixed_crops(astronaut))
    assert probs.shape == (5, 7) and np.allclose(probs.sum(axis=1), 1)

    wrong = tmp_path / "five.keras"
    mini_xception((40, 40, 1), num_classes=5, blocks=1).save(wrong)
    with pytest.raises(ValueError, match="7 class"):
        EmotionRecognizer(wrong)


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # inside Keras' save
def test_a_model_without_softmax_is_refused(tmp_path):
    import keras

    inputs = keras.Input((48, 48, 1))
    logits = keras.layers.Dense(7)(keras.layers.Flatten()(inputs))
    path = tmp_path / "logits.keras"
    keras.Model(inputs, logits).save(path)
    with pytest.raises(ValueError, match="softmax"):
        EmotionRecognizer(path)
