"""Damaged inputs and caches: a cache is made again, a damaged snapshot is skipped for the one
before it, and every other damaged input ends a command with one line naming the file.

Each file is damaged three ways: cut to half its length (a copy or download cut short), emptied
(a full disk), or overwritten with random bytes of the same length.
"""

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from toonemo_lib.cli import main
from toonemo_lib.datasets.synthetic import coloured_discs
from toonemo_lib.datasets.tfrecords import write_tfrecords, write_zip
from toonemo_lib.stylegan2.snapshot import list_snapshots, load_snapshot, snapshot_problem
from toonemo_lib.unreadable import UnreadableFile, UnreadableFileWarning

DAMAGE = {
    "half": lambda data: data[:len(data) // 2 + 1],  # + 1: inside a record, not between two
    "empty": lambda data: b"",
    "garbage": lambda data: np.random.default_rng(0).bytes(len(data)),
}


def damage(path, how) -> Path:
    """Damage the file at `path` in place, one of the `DAMAGE` ways."""
    path = Path(path)
    path.write_bytes(DAMAGE[how](path.read_bytes()))
    return path


def command_lines(err: str, command: str) -> list[str]:
    """The lines a command wrote about itself (``toonemo CMD: ...``), less progress bars."""
    return [line for line in err.splitlines() if line.startswith(f"toonemo {command}:")]


def the_one_line(capsys, command: str) -> str:
    """The one line the command said on stderr (no traceback); fails on anything else."""
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = command_lines(err, command)
    assert len(lines) == 1, err
    return lines[0]


# --------------------------------------------------------------------------- training snapshots


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A three-snapshot run of the tiny preset on 8x8 discs (0, 0.012 and 0.020 kimg) and the
    command line that continues it."""
    root = tmp_path_factory.mktemp("tiny_run")
    data = write_zip(coloured_discs(16, 8, seed=4), root / "discs.zip")
    args = ["train", "--data", str(data), "--cfg", "tiny", "--batch", "4", "--tick-kimg", "0.008",
            "--aug", "noaug", "--out", str(root / "run")]
    assert main(args + ["--kimg", "0.02"]) == 0
    assert list(list_snapshots(root / "run")["kimg"]) == [0.0, 0.012, 0.020]
    return SimpleNamespace(data=data, run=root / "run", args=args)


@pytest.fixture
def run(tiny_run, tmp_path):
    """A copy of the tiny run to damage, and the command line that continues the copy."""
    copy = shutil.copytree(tiny_run.run, tmp_path / "run")
    args = tiny_run.args[:-1] + [str(copy)]
    return SimpleNamespace(dir=copy, args=args, data=tiny_run.data,
                           snapshots=list(list_snapshots(copy)["path"]))


def without_entries(path, prefix):
    """Rewrite the .npz at `path` without the entries whose names start with `prefix`."""
    with np.load(path) as data:
        kept = {name: data[name] for name in data.files if not name.startswith(prefix)}
    with open(path, "wb") as f:
        np.savez(f, **kept)
    return path


@pytest.mark.parametrize("how", [*DAMAGE, "no G weights", "no header"])
def test_a_damaged_snapshot_is_refused_with_its_name(run, how):
    path = run.snapshots[-1]
    if how in DAMAGE:
        damage(path, how)
    else:
        without_entries(path, "G/" if how == "no G weights" else "__header__")
    with pytest.raises(UnreadableFile) as err:
        load_snapshot(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert snapshot_problem(path) is not None
    assert snapshot_problem(run.snapshots[0]) is None


def test_train_resumes_from_the_snapshot_before_a_damaged_one(run, capsys):
    newest = damage(run.snapshots[-1], "half")
    before = pd.read_csv(run.dir / "log.csv")
    assert main(run.args + ["--kimg", "0.028"]) == 0
    line = the_one_line(capsys, "train")
    assert f"skipping {newest}" in line and "resuming from network-snapshot-000000.012.npz" in line
    log = pd.read_csv(run.dir / "log.csv")
    # ticks 2 and 3 trained from the 0.012 snapshot: tick 2 again, the same minibatches
    assert log["kimg"].tolist() == pytest.approx([0.004, 0.012, 0.020, 0.028])
    assert log["loss_G"].iloc[2] == pytest.approx(before["loss_G"].iloc[2], rel=1e-3)
    assert load_snapshot(newest).state["cur_nimg"] == 20  # written again, whole
    assert load_snapshot(list_snapshots(run.dir)["path"].iloc[-1]).state["cur_nimg"] == 28
    assert newest.with_name(newest.name + ".unreadable").is_file()  # kept to look at


def test_a_snapshot_missing_an_optimiser_slot_is_skipped_too(run, capsys):
    """A snapshot whose zip is whole but lacks what the trainer restores shows only at the restore."""
    without_entries(run.snapshots[-1], "opt_G/0001")
    assert main(run.args + ["--kimg", "0.012"]) == 0  # nothing left to train past 0.012: restore only
    assert "resuming from network-snapshot-000000.012.npz" in the_one_line(capsys, "train")
    assert [p.name for p in run.dir.glob("*.unreadable")] == [run.snapshots[-1].name + ".unreadable"]


def test_train_fails_in_one_line_when_no_snapshot_reads(run, capsys):
    for path, how in zip(run.snapshots, DAMAGE):
        damage(path, how)
    assert main(run.args + ["--kimg", "0.028"]) == 1
    line = the_one_line(capsys, "train")
    assert line.startswith("toonemo train: error: no readable snapshot in") and str(run.dir) in line
    assert not list(run.dir.glob("*.unreadable"))  # nothing renamed: the run did not go on


def test_a_damaged_carried_snapshot_is_named_and_no_run_folder_is_made(run, tmp_path, capsys):
    carry = tmp_path / "carry"
    carry.mkdir()
    for name in ("config.json", "log.csv", run.snapshots[-1].name):
        shutil.copy(run.dir / name, carry / name)
    damage(carry / run.snapshots[-1].name, "garbage")
    out = tmp_path / "session2"
    assert main(["train", "--resume", str(carry), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    lines = command_lines(err, "train")
    assert "Traceback" not in err and lines[-1].startswith("toonemo train: error: no readable snapshot in")
    assert all(str(carry) in line for line in lines)
    assert not out.exists()


@pytest.mark.parametrize("option", ["--resume", "--warm-start"])
def test_a_damaged_snapshot_given_by_name_is_named(run, tmp_path, option, capsys):
    bad = damage(shutil.copy(run.snapshots[-1], tmp_path / "given.npz"), "half")
    out = tmp_path / "new_run"
    assert main(["train", "--data", str(run.data), "--out", str(out), "--cfg", "tiny", option, str(bad)]) == 1
    line = the_one_line(capsys, "train")
    assert line.startswith("toonemo train: error:") and str(bad) in line
    assert not out.exists()


def test_a_damaged_config_json_is_named(run, capsys):
    (run.dir / "config.json").write_text('{"data": ')
    assert main(["train", "--resume", str(run.dir)]) == 1
    assert str(run.dir / "config.json") in the_one_line(capsys, "train")


# --------------------------------------------------------------------------- training data


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """A zip and a TFRecords folder of the same 8x8 discs, to copy and damage."""
    root = tmp_path_factory.mktemp("datasets")
    images = coloured_discs(8, 8, seed=1)
    return SimpleNamespace(zip=write_zip(images, root / "discs.zip"),
                           tfrecords=write_tfrecords(images, root / "tf")[0])  # the 8x8 level


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("kind", ["zip", "tfrecords file", "tfrecords folder"])
def test_damaged_training_data_is_named_in_one_line(datasets, tmp_path, kind, how, capsys):
    if kind == "zip":
        given = damaged = damage(shutil.copy(datasets.zip, tmp_path / "data.zip"), how)
    else:
        (tmp_path / "tf").mkdir()
        damaged = damage(shutil.copy(datasets.tfrecords, tmp_path / "tf" / datasets.tfrecords.name), how)
        given = damaged if kind == "tfrecords file" else damaged.parent
    out = tmp_path / "run"
    assert main(["train", "--data", str(given), "--out", str(out), "--cfg", "tiny", "--kimg", "0.004"]) == 1
    line = the_one_line(capsys, "train")
    assert line.startswith("toonemo train: error:") and str(damaged) in line
    assert not out.exists()


# --------------------------------------------------------------------------- the keyframe cache


@pytest.fixture(scope="module")
def toonifier():
    """A small VideoToonifier whose projection is a stand-in: this tests the cache, not projection."""
    from toonemo_lib.stylegan2.perceptual import perceptual_distance
    from toonemo_lib.toonify.models import small_models
    from toonemo_lib.video.keyframes import VideoToonifier

    G = small_models(32).texture
    toonifier = VideoToonifier(G, G, every=5, steps=1, warm_steps=1, w_avg_samples=16,
                               distance=perceptual_distance("stand-in"))
    toonifier.projected = 0

    def project(aligned, previous=None):
        toonifier.projected += 1
        latent = np.full((G.num_ws, G.w_dim), aligned.mean(), np.float32)
        return SimpleNamespace(latent=latent, losses=[0.5], noise=[])

    toonifier.project = project
    return toonifier


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_keyframe_cache_is_made_again(toonifier, tmp_path, how):
    from test_video_keyframes import square
    from toonemo_lib.video.clips import face_clip
    from toonemo_lib.video.keyframes import latent_cache, toonify_keyframes

    clip = tmp_path / "clip.mp4"
    face_clip(clip, seconds=0.5, fps=20, audio=False)
    quads = {f: square((320, 240), 100) for f in range(10)}
    cache = latent_cache(tmp_path / "cache", clip, toonifier)
    first = toonify_keyframes(clip, quads, toonifier, cache=cache, progress=False)
    damage(cache, how)
    toonifier.projected = 0
    with pytest.warns(UnreadableFileWarning, match="keyframe cache") as caught:
        again = toonify_keyframes(clip, quads, toonifier, cache=cache, progress=False)
    assert str(cache) in str(caught[0].message)
    assert toonifier.projected == 2 and not again.from_cache  # projected again
    assert sorted(p.name for p in cache.parent.iterdir()) == [cache.name]  # no temporary file left
    third = toonify_keyframes(clip, quads, toonifier, cache=cache, progress=False)
    assert third.from_cache and toonifier.projected == 2  # the rewritten cache reads
    for frame in first.latents:
        np.testing.assert_array_equal(third.latents[frame], first.latents[frame])


# --------------------------------------------------------------------------- the TFLite cache


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def tiny_emotion_model(tmp_path_factory):
    """A Keras model with the recogniser's contract (48x48 gray in, 7 softmax out) that converts in a second."""
    import keras

    inputs = keras.Input((48, 48, 1))
    outputs = keras.layers.Dense(7, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs))
    path = tmp_path_factory.mktemp("emotion") / "tiny.keras"
    keras.Model(inputs, outputs).save(path)
    return path


def lite_or_skip():
    from toonemo_lib.emotion.lite import lite_available

    if not lite_available():
        pytest.skip("no LiteRT interpreter installed")


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_tflite_cache_is_converted_again(home, tiny_emotion_model, how):
    lite_or_skip()
    from toonemo_lib.emotion.lite import LiteClassifier, tflite_path
    from toonemo_lib.emotion.recognize import EmotionRecognizer

    EmotionRecognizer(tiny_emotion_model, backend="lite", detector="haar")
    cached = tflite_path(tiny_emotion_model)
    whole = cached.read_bytes()
    damage(cached, how)
    with pytest.warns(UnreadableFileWarning, match="TFLite cache") as caught:
        recognizer = EmotionRecognizer(tiny_emotion_model, backend="lite", detector="haar")
    assert str(cached) in str(caught[0].message)
    assert cached.read_bytes() == whole and LiteClassifier(cached).output_shape == (-1, 7)
    assert recognizer.classify(np.zeros((48, 48), np.uint8)).shape == (1, 7)


def test_a_tflite_cache_that_stays_broken_names_its_path(home, tiny_emotion_model, monkeypatch, capsys):
    lite_or_skip()
    from toonemo_lib.datasets.samples import sample_path
    from toonemo_lib.emotion import lite

    monkeypatch.setattr(lite, "to_tflite", lambda model: b"not a flatbuffer")  # every conversion fails
    cached = lite.tflite_path(tiny_emotion_model)
    assert main(["emotion", str(sample_path("faces/astronaut.png")), "--model", str(tiny_emotion_model),
                 "--detector", "haar"]) == 1
    line = the_one_line(capsys, "emotion")
    assert line.startswith("toonemo emotion: error:") and str(cached) in line


def test_a_damaged_tflite_file_is_named(tmp_path):
    """BlazeFace's model files go through the same interpreter maker."""
    lite_or_skip()
    from toonemo_lib.emotion.lite import make_interpreter

    for how in DAMAGE:
        bad = tmp_path / f"{how}.tflite"
        bad.write_bytes(DAMAGE[how](b"TFL3" * 100))
        with pytest.raises(ValueError, match="not a TFLite model") as err:
            make_interpreter(bad)
        assert str(bad) in str(err.value)


# --------------------------------------------------------------------------- other cached files


def test_a_cached_download_that_fails_its_checksum_is_fetched_again(home, tmp_path, monkeypatch):
    import hashlib

    from toonemo_lib import download

    payload = b"the artefact's bytes" * 100
    source = tmp_path / "server" / "toy.bin"
    source.parent.mkdir()
    source.write_bytes(payload)
    manifest = tmp_path / "artefacts.json"
    manifest.write_text(json.dumps([{"name": "toy", "filename": "toy.bin", "url": source.as_uri(),
                                     "sha256": hashlib.sha256(payload).hexdigest(), "licence": "CC0",
                                     "subdir": "toys"}]))
    monkeypatch.setattr(download, "MANIFEST", manifest)
    cached = home / "toys" / "toy.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(DAMAGE["half"](payload))
    with pytest.raises(download.DownloadError, match=str(cached)):
        download.fetch_artefact("toy", download=False)  # not allowed to fetch: named
    assert download.fetch_artefact("toy") == cached and cached.read_bytes() == payload


def test_damaged_perceptual_weights_are_named_and_fall_back_with_a_warning(home):
    from toonemo_lib.download import artefact
    from toonemo_lib.stylegan2.perceptual import (LPIPS_CHANNELS, LPIPSDistance, StandInDistance,
                                                 lpips_distance, perceptual_distance)

    vgg, lin = artefact("vgg16-notop").path, artefact("lpips-vgg-lin").path
    for path in (vgg, lin):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(DAMAGE["garbage"](b"x" * 4096))
    with pytest.raises(UnreadableFile) as err:
        lpips_distance()
    assert str(lin) in str(err.value)
    with pytest.warns(UnreadableFileWarning, match=str(lin)):
        assert isinstance(perceptual_distance("lpips"), StandInDistance)
    with pytest.raises(UnreadableFile, match="VGG16 weights") as err:
        LPIPSDistance(vgg, [np.ones(c, np.float32) for c in LPIPS_CHANNELS])
    assert str(vgg) in str(err.value)


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_expression_directions_are_fitted_again(tmp_path, how):
    from toonemo_lib.config import EMOTIONS
    from toonemo_lib.toonify.expressions import ExpressionDirections, kept_directions

    n = len(EMOTIONS)
    path = ExpressionDirections(np.eye(n, 8), np.ones(n), (0, 4), np.ones(n), {}).save(tmp_path / "m.expressions.npz")
    damage(path, how)
    with pytest.raises(ValueError, match=str(path)):
        ExpressionDirections.load(path)
    with pytest.warns(UnreadableFileWarning, match="expression-directions"):
        assert kept_directions(None, path) is None  # no generator is looked at: the file is gone
    assert not path.exists()  # load_or_fit_directions fits and saves them again


def test_a_damaged_member_of_a_directions_file_is_named(tmp_path):
    """A whole zip whose entry is damaged fails deep in zipfile (a bad CRC), not at the open."""
    from toonemo_lib.config import EMOTIONS
    from toonemo_lib.toonify.expressions import ExpressionDirections

    n = len(EMOTIONS)
    path = ExpressionDirections(np.eye(n, 8), np.ones(n), (0, 4), np.ones(n), {}).save(tmp_path / "m.expressions.npz")
    data = bytearray(path.read_bytes())
    data[100:140] = bytes(40)  # inside the first entry's array
    path.write_bytes(bytes(data))
    with pytest.raises(UnreadableFile) as err:
        ExpressionDirections.load(path)
    assert str(path) in str(err.value)


def test_a_damaged_landmark_predictor_is_named(tmp_path, monkeypatch):
    pytest.importorskip("dlib")
    from toonemo_lib.faces import landmarks

    bad = tmp_path / "predictor.dat"
    if landmarks.landmarks_available():  # a copy cut short (the real one is 100 MB: its first 3)
        with open(landmarks.predictor_path(), "rb") as f:
            bad.write_bytes(f.read(3 * 2**20))
    else:
        bad.write_bytes(DAMAGE["garbage"](b"x" * 5000))
    monkeypatch.setenv(landmarks.MODEL_ENV, str(bad))
    landmarks._models.cache_clear()
    try:
        with pytest.raises(UnreadableFile, match="68-point predictor") as err:
            landmarks._models()
        assert str(bad) in str(err.value)
    finally:
        landmarks._models.cache_clear()  # the next user loads the real one
