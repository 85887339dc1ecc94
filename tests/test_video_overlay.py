"""Overlays: straight-alpha compositing in RGB (a red emoji stays red), the built-in emoji, personal sets."""

import numpy as np
import pytest

from toonemo_lib.config import EMOTIONS
from toonemo_lib.video.overlay import (alpha_composite, builtin_emoji, draw_face_overlay, draw_overlays, emoji_set,
                                       emoji_sheet, load_emoji_set, write_emoji_set)

RECORD = {"rect": [100, 60, 80, 80], "label": "Happy",
          "probs": {"Angry": 0.02, "Disgust": 0.01, "Fear": 0.03, "Happy": 0.8, "Sad": 0.04, "Surprise": 0.05,
                    "Neutral": 0.05}}


def test_alpha_composite_is_straight_alpha_in_rgb():
    background = np.zeros((4, 4, 3), np.uint8)
    background[:] = (0, 0, 100)
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (200, 0, 0, 128)
    rgba[0, 1] = (255, 0, 0, 255)     # pure red, opaque: must stay red (the seed's emoji came out blue)
    rgba[0, 2] = (9, 9, 9, 0)         # transparent: the background shows
    out = alpha_composite(background, rgba, 1, 1)
    assert tuple(out[1, 1]) == (round(200 * 128 / 255), 0, round(100 * 127 / 255))
    assert tuple(out[1, 2]) == (255, 0, 0)
    assert tuple(out[1, 3]) == (0, 0, 100)
    assert tuple(background[1, 1]) == (0, 0, 100)          # the input is untouched


def test_alpha_composite_clips_at_every_edge():
    background = np.zeros((5, 5, 3), np.uint8)
    red = np.zeros((3, 3, 4), np.uint8)
    red[:] = (255, 0, 0, 255)
    out = alpha_composite(background, red, -2, -1)
    assert out[:, :, 0].sum() == 255 * 2 and tuple(out[1, 0]) == (255, 0, 0)   # only the 1 x 2 overlap
    assert (out[:, :, 0] > 0).sum() == 2
    np.testing.assert_array_equal(alpha_composite(background, red, 9, 9), background)
    assert (alpha_composite(background, red, 3, 3)[3:, 3:, 0] == 255).all()
    with pytest.raises(ValueError, match="RGBA"):
        alpha_composite(background, red[..., :3], 0, 0)
    with pytest.raises(ValueError, match="RGB uint8"):
        alpha_composite(background.astype(float), red, 0, 0)


def test_builtin_emoji_are_seven_distinct_round_faces():
    emoji = builtin_emoji(64)
    assert list(emoji) == list(EMOTIONS)
    for face in emoji.values():
        assert face.shape == (64, 64, 4) and face.dtype == np.uint8
        assert face[0, 0, 3] == 0 and face[-1, -1, 3] == 0 and face[32, 32, 3] == 255
    faces = list(emoji.values())
    assert all(not np.array_equal(a, b) for i, a in enumerate(faces) for b in faces[i + 1:])
    r, g, b = emoji["Happy"][20, 12, :3].astype(int)         # the fill, left of the eyes: yellow
    assert r > 200 and g > 150 and b < 100
    emoji["Happy"][:] = 0                                   # callers get copies, not the cache
    assert builtin_emoji(64)["Happy"][32, 32, 3] == 255


def test_emoji_sets_round_trip_and_missing_files_are_named(tmp_path):
    emoji = builtin_emoji(48)
    write_emoji_set(emoji, tmp_path / "set")
    loaded = load_emoji_set(tmp_path / "set")
    for name in EMOTIONS:
        np.testing.assert_array_equal(loaded[name], emoji[name])
    assert load_emoji_set(tmp_path / "set", size=32)["Sad"].shape == (32, 32, 4)
    (tmp_path / "set" / "sad.png").unlink()
    with pytest.raises(FileNotFoundError, match="sad.png"):
        load_emoji_set(tmp_path / "set")
    with pytest.raises(FileNotFoundError, match="no emoji folder"):
        emoji_set(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="Neutral"):
        emoji_set({name: emoji[name] for name in EMOTIONS[:-1]})
    sheet = emoji_sheet(emoji, cell=48)
    assert sheet.shape[1] == 7 * 48 and sheet.shape[2] == 3


def test_face_overlay_draws_box_bars_and_emoji_in_true_colours():
    frame = np.full((240, 320, 3), 90, np.uint8)
    red = {name: np.dstack([np.full((32, 32), 255, np.uint8), np.zeros((32, 32, 2), np.uint8),
                            np.full((32, 32), 255, np.uint8)]) for name in EMOTIONS}
    out = draw_face_overlay(frame, RECORD, red)
    assert out.shape == frame.shape and (frame == 90).all()
    assert ((out == (255, 0, 0)).all(axis=2)).sum() >= 0.9 * 48 * 48   # the red emoji, 0.6 of the box side
    no_emoji = draw_face_overlay(frame, RECORD)
    assert not np.array_equal(no_emoji, frame) and not ((no_emoji == (255, 0, 0)).all(axis=2)).any()
    near_edge = dict(RECORD, rect=[270, 150, 48, 48])
    assert draw_face_overlay(frame, near_edge, builtin_emoji()).shape == frame.shape
    np.testing.assert_array_equal(draw_overlays(frame, []), frame)
    with pytest.raises(ValueError, match="RGB uint8"):
        draw_overlays(frame[..., 0], [RECORD])
