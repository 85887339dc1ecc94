"""`toonemo emotion` as a user runs it: defaults, many images, errors, exit codes, a quiet start.

The recogniser itself is tested in test_emotion_recognize.py.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from toonemo_lib import cli
from toonemo_lib.datasets.samples import sample_path
from toonemo_lib.cli import emotion as emotion_cli
from toonemo_lib.emotion import classifier, recognize

ASTRONAUT_FACE = (177, 67, 93, 93)  # where OpenCV's cascades put the astronaut's face
NOISE = ("cuInit", "CUDA error", "cuda drivers", "absl::", "XNNPACK", "Assets written")


def on_the_astronauts_face(rect):
    x, y, w, h = rect
    tx, ty, tw, th = ASTRONAUT_FACE
    return abs(x + w / 2 - (tx + tw / 2)) < 15 and abs(y + h / 2 - (ty + th / 2)) < 15 and 0.75 < w / tw < 1.33


def run_toonemo(*args, home):
    env = {**os.environ, "TOONEMO_HOME": str(home)}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as in a fresh shell: the package sets it
    return subprocess.run([sys.executable, "-m", "toonemo_lib.cli", *args], env=env, capture_output=True,
                          text=True, timeout=600)


def test_a_photo_gives_its_face_without_any_flag_and_no_runtime_noise(tmp_path):
    photo = str(sample_path("faces/astronaut.png"))
    for run in ("converts the model", "uses the cached conversion"):
        done = run_toonemo("emotion", photo, "--json", home=tmp_path / "cache")
        assert done.returncode == 0, done.stderr
        noise = [line for line in (done.stderr + done.stdout).splitlines() if any(n in line for n in NOISE)]
        assert not noise, f"{run}: {noise}"
        (entry,) = json.loads(done.stdout)
        (face,) = entry["faces"]
        assert on_the_astronauts_face(face["rect"]), face["rect"]
    assert list((tmp_path / "cache" / "emotion").glob("*.tflite"))


def test_with_the_conversion_cached_the_lite_recogniser_loads_neither_keras_nor_tensorflow(tmp_path):
    env = {**os.environ, "TOONEMO_HOME": str(tmp_path)}
    make = "from toonemo_lib.emotion.recognize import EmotionRecognizer; EmotionRecognizer(backend='lite')"
    check = make + "; import sys; print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))"
    subprocess.run([sys.executable, "-c", make], env=env, check=True, capture_output=True, timeout=600)
    done = subprocess.run([sys.executable, "-c", check], env=env, check=True, capture_output=True, text=True,
                          timeout=600)
    assert done.stdout.strip() == "[]"


@pytest.fixture
def counted_models(monkeypatch):
    """Counts the recognisers the command builds (the model must load once per call)."""
    made = []

    class Counted(recognize.EmotionRecognizer):
        def __init__(self, *args, **kwargs):
            made.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(recognize, "EmotionRecognizer", Counted)
    return made


def bad_images(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(np.random.default_rng(0).bytes(1000))
    return {str(tmp_path / "missing.jpg"): "no such file", str(tmp_path): "is a directory",
            str(junk): "not an image"}


def test_bad_images_get_error_entries_and_the_good_ones_still_their_faces(tmp_path, counted_models, capsys):
    photo = str(sample_path("faces/astronaut.png"))
    bad = bad_images(tmp_path)
    assert cli.main(["emotion", photo, *bad, photo, "--json"]) == 1
    captured = capsys.readouterr()
    results = json.loads(captured.out)
    assert [entry["image"] for entry in results] == [photo, *bad, photo]
    assert results[0] == results[-1] and on_the_astronauts_face(results[0]["faces"][0]["rect"])
    for entry, reason in zip(results[1:-1], bad.values()):
        assert set(entry) == {"image", "error"} and reason in entry["error"]
    messages = captured.err.splitlines()
    assert len(messages) == len(bad) and all(m.startswith("toonemo emotion: ") for m in messages)
    assert all(path in m for path, m in zip(bad, messages)) and "Traceback" not in captured.err
    assert len(counted_models) == 1

    assert cli.main(["emotion", *bad, photo]) == 1  # the table has a line per bad image
    table = capsys.readouterr().out.splitlines()
    assert sum(" error: " in line for line in table) == len(bad) and " error: " not in table[-1]


def test_whole_image_mode_and_the_old_flag(capsys):
    photo = str(sample_path("faces/astronaut.png"))
    assert cli.main(["emotion", photo, "--whole-image", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["faces"][0]["rect"] == [0, 0, 512, 512]
    assert cli.main(["emotion", photo, "--detect-face", "--json"]) == 0  # the default, still accepted
    assert on_the_astronauts_face(json.loads(capsys.readouterr().out)[0]["faces"][0]["rect"])


@pytest.mark.parametrize("argv", [["emotion"], ["emotion", "a.png", "--whole-image", "--detect-face"],
                                  ["emotion", "a.png", "--bogus"], []])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2 and "usage:" in capsys.readouterr().err


def test_a_model_that_cannot_load_is_a_failure(tmp_path, capsys):
    photo = str(sample_path("faces/lfw_00.png"))
    assert cli.main(["emotion", photo, "--model", str(tmp_path / "none.keras")]) == 1
    assert "no emotion model" in capsys.readouterr().err
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    assert cli.main(["emotion", photo, "--model", str(text)]) == 1
    captured = capsys.readouterr()
    assert "notes.keras" in captured.err and captured.out == "" and "Traceback" not in captured.err


def test_a_long_model_error_is_cut_between_words(tmp_path, monkeypatch):
    import keras

    words = " ".join(f"word{i:03d}" for i in range(100))

    def fail(*args, **kwargs):
        raise ValueError(words)

    monkeypatch.setattr(keras.saving, "load_model", fail)
    path = tmp_path / "long.keras"
    path.write_bytes(b"x")
    with pytest.raises(ValueError) as error:
        classifier._load_model(path)
    reason = str(error.value).split("(ValueError: ", 1)[1].rstrip(")")
    assert len(reason) <= 200 and reason.endswith(" ...")
    assert all(word in words.split() for word in reason[:-4].split())


def test_training_on_missing_data_is_a_one_line_error(tmp_path, capsys):
    assert emotion_cli.train_main(["--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "missing.csv" in err and "Traceback" not in err
    bad = tmp_path / "fer.txt"
    bad.write_text("nothing")
    assert emotion_cli.train_main(["--data", str(bad), "--out", str(tmp_path / "run")]) == 1
    assert "cannot read FER2013" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        emotion_cli.train_main(["--data", "x.csv"])  # --out is required
    assert exit_.value.code == 2


def test_emotion_train_is_a_toonemo_command_and_resumes_from_a_folder_alone(tmp_path, capsys):
    import argparse
    import dataclasses
    import json

    from toonemo_lib.cli import main
    from toonemo_lib.emotion.models import RECIPES

    with pytest.raises(SystemExit) as exit_:
        main(["emotion-train", "--help"])
    assert exit_.value.code == 0 and "--resume" in capsys.readouterr().out
    run = tmp_path / "run"
    run.mkdir()
    recorded = dataclasses.replace(RECIPES["second"], epochs=16)
    (run / "config.json").write_text(json.dumps(dataclasses.asdict(recorded)))
    args = argparse.Namespace(resume=str(run), out=None, recipe="shipped", epochs=30, learning_rate=None)
    run_dir, config = emotion_cli.run_config(args, "toonemo emotion-train")
    assert run_dir == str(run) and config == dataclasses.replace(recorded, epochs=30)  # its recipe, not --recipe's
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["emotion-train", "--resume", str(empty), "--data", str(tmp_path / "absent.csv")]) == 1
    with pytest.raises(SystemExit) as exit_:
        main(["emotion-train", "--out", str(run), "--resume", str(run)])  # one or the other
    assert exit_.value.code == 2
