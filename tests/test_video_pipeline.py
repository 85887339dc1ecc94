"""The video pipeline end to end on clips the project makes: known faces, face-less stretches, sound."""

import numpy as np
import pandas as pd
import pytest

from toonemo_lib.config import EMOTIONS
from toonemo_lib.faces.quality import matches
from toonemo_lib.video.clips import face_clip
from toonemo_lib.video.pipeline import process_video, stage_table, toon_agreement
from toonemo_lib.video.streams import has_audio, read_frames, video_info


@pytest.fixture(scope="module")
def recognizer():
    from toonemo_lib.emotion.recognize import EmotionRecognizer

    return EmotionRecognizer()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 2-second 640 x 480 clip at 20 fps: the astronaut moving, absent from 0.8 s to 1.2 s, with a tone."""
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    truth = face_clip(path, seconds=2.0, fps=20, faceless=((0.4, 0.6),))
    return path, truth


@pytest.fixture(scope="module")
def toonifier():
    from toonemo_lib.stylegan2.blend import blend_generators
    from toonemo_lib.stylegan2.perceptual import perceptual_distance
    from toonemo_lib.toonify.models import small_models
    from toonemo_lib.video.keyframes import VideoToonifier

    models = small_models(32)
    return VideoToonifier(models.texture, blend_generators(models.structure, models.texture, 8), every=10,
                          steps=10, warm_steps=3, w_avg_samples=500, distance=perceptual_distance("stand-in"))


def test_every_frame_has_a_row_and_the_faces_are_where_the_clip_put_them(tmp_path, clip, recognizer):
    path, truth = clip
    out = tmp_path / "out.mp4"
    table = process_video(path, out, recognizer=recognizer, emoji="builtin", progress=False)
    assert sorted(table["frame"].unique()) == list(range(40))
    info = video_info(out)
    assert (info.frame_count, info.fps, info.width, info.height, info.has_audio) == (40, 20.0, 640, 480, True)
    faceless = truth.loc[~truth["face"], "frame"]
    assert (table[table["frame"].isin(faceless)]["face"] == -1).all()
    found = table[table["face"] == 0].set_index("frame")
    hits = [matches(found.loc[f, ["x", "y", "w", "h"]].to_numpy(float), truth.loc[f, ["x", "y", "w", "h"]])
            for f in truth.loc[truth["face"], "frame"] if f in found.index]
    assert sum(hits) >= 0.9 * truth["face"].sum()
    faces = table[table["face"] >= 0]
    np.testing.assert_allclose(faces[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-6)
    assert set(faces["emotion"]) <= set(EMOTIONS) and not table["toonified"].any()
    assert {"detect", "recognise", "overlay", "write"} <= set(stage_table(table).index)
    # the overlay is drawn: frame 0 of the output differs from the input around the face
    (_, first_in), (_, first_out) = next(read_frames(path, 1)), next(read_frames(out, 1))
    x, y, w, h = (int(v) for v in truth.loc[0, ["x", "y", "w", "h"]])
    assert np.abs(first_out[y:y + h, x:x + w].astype(int) - first_in[y:y + h, x:x + w]).mean() > 5


def test_faces_come_from_the_detector_given_else_the_recognisers(clip, recognizer):
    from toonemo_lib.faces.detector import FaceDetector
    from toonemo_lib.video.pipeline import detect_faces

    path, _ = clip
    _, frame = next(read_frames(path, 1))
    boxes = [face.box for face in detect_faces(frame, recognizer.detector)]
    assert boxes and [face.box for face in detect_faces(frame, recognizer)] == boxes  # a recogniser: its detector
    table = process_video(path, recognizer=recognizer, detector=FaceDetector("haar"), max_frames=5, progress=False)
    faces = table[table["face"] >= 0]
    assert len(faces) and faces["score"].isna().all()  # the cascade's faces: no BlazeFace score


def test_a_clip_without_faces_gives_face_less_rows_not_an_error(tmp_path, recognizer):
    path = tmp_path / "empty.mp4"
    face_clip(path, seconds=0.5, fps=20, faceless=((0.0, 1.0),), audio=False)
    table = process_video(path, tmp_path / "out.mp4", recognizer=recognizer, progress=False)
    assert len(table) == 10 and (table["face"] == -1).all() and table["emotion"].isna().all()
    assert video_info(tmp_path / "out.mp4").frame_count == 10 and not has_audio(tmp_path / "out.mp4")


def test_unreadable_inputs_and_bad_options_are_reported(tmp_path, recognizer):
    with pytest.raises(FileNotFoundError):
        process_video(tmp_path / "nothing.mp4", recognizer=recognizer)
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    with pytest.raises(ValueError, match="cannot read|no frame"):
        process_video(junk, recognizer=recognizer)
    with pytest.raises(ValueError, match="recognise_on"):
        process_video(junk, recognizer=recognizer, recognise_on="cartoon")


def test_toonified_run_pastes_toons_compares_expressions_and_reuses_latents(tmp_path, clip, recognizer, toonifier):
    path, truth = clip
    plain = process_video(path, tmp_path / "plain.mp4", recognizer=recognizer, overlay=False, progress=False)
    table = process_video(path, tmp_path / "toon.mp4", recognizer=recognizer, toonifier=toonifier,
                          recognise_on="both", overlay=False, cache_dir=tmp_path / "cache", progress=False)
    keys = table.attrs["keyframes"]
    assert plain.attrs["keyframes"] is None and not plain["toonified"].any()
    assert sorted(keys.latents) == [0, 10, 30] and keys.warm[10] and not keys.warm[30]
    toonified = table.loc[table["toonified"], "frame"].tolist()
    assert 0 in toonified and 15 in toonified and 20 not in toonified   # 20: no face (and no keyframe)
    assert {"emotion_original", "same_on_toon"} <= set(table.columns)
    assert 0.0 <= toon_agreement(table) <= 1.0
    frames_plain, frames_toon = dict(read_frames(tmp_path / "plain.mp4")), dict(read_frames(tmp_path / "toon.mp4"))
    x, y, w, h = (int(v) for v in truth.loc[15, ["x", "y", "w", "h"]])
    assert np.abs(frames_toon[15][y:y + h, x:x + w].astype(int) - frames_plain[15][y:y + h, x:x + w]).mean() > 10
    # a frame without a face is left alone (up to H.264, which codes frames from their neighbours)
    assert np.abs(frames_toon[20].astype(int) - frames_plain[20]).mean() < 2
    again = process_video(path, tmp_path / "again.mp4", recognizer=recognizer, toonifier=toonifier,
                          cache_dir=tmp_path / "cache", progress=False)
    assert again.attrs["keyframes"].from_cache
    pd.testing.assert_series_equal(again["toonified"], table["toonified"])


def test_cli_video_keeps_75_frames_at_25_fps(tmp_path, capsys):
    from toonemo_lib.cli import main

    source, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    face_clip(source, seconds=3.0, fps=25)
    assert main(["video", str(source), str(out), "--every", "10", "--profile", "smoke",
                 "--table", str(tmp_path / "table.csv")]) == 0
    info = video_info(out)
    assert (info.frame_count, info.fps, info.width, info.height, info.has_audio) == (75, 25.0, 640, 480, True)
    printed = capsys.readouterr().out
    assert "FER2013" in printed and "75 frames" in printed   # the shipped pair, said so
    assert pd.read_csv(tmp_path / "table.csv")["frame"].nunique() == 75
    assert main(["video", str(tmp_path / "missing.mp4"), str(out), "--no-toonify"]) == 1
    assert main(["video", str(source), str(tmp_path / "out.avi")]) == 2


def test_webcam_runs_headless_on_a_file_and_says_when_there_is_no_camera(tmp_path, clip, recognizer):
    from toonemo_lib.video.streams import VideoError
    from toonemo_lib.video.webcam import run_webcam

    path, _ = clip
    table = run_webcam(path, recognizer=recognizer, headless=True, max_frames=12, output=tmp_path / "cam.mp4")
    assert table.attrs["frames"] == 12 and table.attrs["fps"] > 0
    assert video_info(tmp_path / "cam.mp4").frame_count == 12
    with pytest.raises(VideoError, match="no camera"):
        run_webcam(9, recognizer=recognizer, headless=True)


def test_cli_video_usage_errors_come_before_any_frame_is_read(tmp_path, capsys):
    from toonemo_lib.cli import main

    source = tmp_path / "in.mp4"
    source.write_bytes(b"never read")  # a usage error must not get as far as opening it
    folder_file = tmp_path / "cache.txt"
    folder_file.write_text("a file, not a folder")
    cases = [([str(source), str(source)], "OUT must differ from IN"),
             ([str(source), str(tmp_path / "o.mp4"), "--base", "f.pkl"], "go together"),
             ([str(source), str(tmp_path / "o.mp4"), "--table", str(tmp_path / "t.txt")], "--table"),
             ([str(source), str(tmp_path / "o.mp4"), "--cache", str(folder_file)], "--cache")]
    for argv, message in cases:
        assert main(["video", *argv]) == 2
        assert message in capsys.readouterr().err
    assert source.read_bytes() == b"never read" and not (tmp_path / "o.mp4").exists()
