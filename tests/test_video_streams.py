"""Video in and out: frame count, fps, size, sound, atomic writes and clear errors."""

import numpy as np
import pytest

from toonemo_lib.video.clips import face_clip, write_tone
from toonemo_lib.video.streams import VideoError, VideoWriter, has_audio, read_frames, video_info


def colour_frames(count=10, size=(64, 48)):
    """Frames of known flat colours: red, green, blue, ... so RGB order can be checked after H.264."""
    colours = [(220, 30, 30), (30, 200, 40), (30, 40, 210)]
    return [np.full((size[1], size[0], 3), colours[i % 3], np.uint8) for i in range(count)]


def test_roundtrip_keeps_count_fps_size_and_colours(tmp_path):
    path = tmp_path / "colours.mp4"
    with VideoWriter(path, 12.5) as writer:
        for frame in colour_frames():
            writer.write(frame)
    info = video_info(path)
    assert (info.fps, info.width, info.height, info.frame_count, info.has_audio) == (12.5, 64, 48, 10, False)
    frames = list(read_frames(path))
    assert [i for i, _ in frames] == list(range(10))
    for (_, got), want in zip(frames, colour_frames()):
        assert np.abs(got.reshape(-1, 3).mean(0) - want[0, 0]).max() < 8  # RGB in, RGB out (H.264 is lossy)


def test_odd_sizes_gain_one_pixel_for_yuv420(tmp_path):
    path = tmp_path / "odd.mp4"
    with VideoWriter(path, 10) as writer:
        for frame in colour_frames(3, size=(33, 21)):
            writer.write(frame)
    info = video_info(path)
    assert (info.width, info.height, info.frame_count) == (34, 22, 3)


def test_sound_is_copied_from_the_source(tmp_path):
    tone = write_tone(tmp_path / "tone.wav", 1.0)
    assert has_audio(tone)
    with_sound, without = tmp_path / "sound.mp4", tmp_path / "silent.mp4"
    for path, audio in ((with_sound, tone), (without, None)):
        with VideoWriter(path, 10, audio_from=audio) as writer:
            for frame in colour_frames():
                writer.write(frame)
    assert has_audio(with_sound) and not has_audio(without)
    copy = tmp_path / "copy.mp4"
    with VideoWriter(copy, 10, audio_from=with_sound) as writer:  # a video as the sound's source
        for _, frame in read_frames(with_sound):
            writer.write(frame)
    assert has_audio(copy) and video_info(copy).frame_count == 10


def test_a_failed_write_leaves_the_previous_output(tmp_path):
    path = tmp_path / "out.mp4"
    with VideoWriter(path, 10) as writer:
        for frame in colour_frames(4):
            writer.write(frame)
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(path, 10) as writer:
            writer.write(colour_frames(1)[0])
            raise RuntimeError("boom")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]  # no partial file left behind


def test_bad_frames_are_refused_clearly(tmp_path):
    writer = VideoWriter(tmp_path / "x.mp4", 10)
    with pytest.raises(VideoError, match="RGB uint8"):
        writer.write(np.zeros((8, 8), np.uint8))
    writer.write(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(VideoError, match="8x8"):
        writer.write(np.zeros((10, 8, 3), np.uint8))
    writer.abort()
    with pytest.raises(VideoError, match=".mp4"):
        VideoWriter(tmp_path / "x.avi", 10)
    with pytest.raises(VideoError, match="no frame"):
        VideoWriter(tmp_path / "empty.mp4", 10).close()


def test_missing_corrupt_and_absent_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="no video file"):
        video_info(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(VideoError, match="cannot read|no frame"):
        list(read_frames(junk))
    with pytest.raises(VideoError, match="no camera at index 9"):
        video_info(9)


def test_face_clip_knows_where_the_face_is(tmp_path):
    truth = face_clip(tmp_path / "clip.mp4", seconds=1.0, fps=20, faceless=((0.5, 0.75),))
    info = video_info(tmp_path / "clip.mp4")
    assert (info.frame_count, info.fps, info.width, info.height, info.has_audio) == (20, 20.0, 640, 480, True)
    assert len(truth) == 20 and list(truth["frame"]) == list(range(20))
    assert (~truth["face"]).sum() == 5 and truth.loc[~truth["face"], "frame"].tolist() == [10, 11, 12, 13, 14]
    assert truth.loc[truth["face"], "w"].between(50, 90).all()  # the astronaut's face, 640x480 frames
