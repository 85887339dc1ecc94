"""Overlays: straight-alpha compositing in RGB (a red emoji stays red), the built-in emoji, emoji sets on disk."""

import numpy as np
import pytest

from toonemo_lib.config import EMOTIONS
from toonemo_lib.images import write_image
from toonemo_lib.video.overlay import (alpha_composite, builtin_emoji, draw_face_overlay, draw_overlays, emoji_set,
                                       emoji_sheet, load_emoji_set, write_emoji_set)

PROBS = {"Angry": 0.02, "Disgust": 0.01, "Fear": 0.03, "Happy": 0.8, "Sad": 0.04, "Surprise": 0.05, "Neutral": 0.05}
RECORD = {"rect": [100, 80, 80, 80], "label": "Happy", "probs": PROBS}
RED = (255, 0, 0)


def red_set(side=32) -> dict:
    """Seven pure-red, opaque squares: whatever is drawn red in the output came from an emoji."""
    square = np.zeros((side, side, 4), np.uint8)
    square[:] = (*RED, 255)
    return {name: square.copy() for name in EMOTIONS}


def exactly_red(image) -> np.ndarray:
    return (image == RED).all(axis=2)


# ---------------------------------------------------------------------------- alpha_composite


def test_alpha_composite_blends_straight_alpha_in_rgb():
    background = np.zeros((4, 5, 3), np.uint8)
    background[:] = (0, 0, 100)
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[0] = [(200, 0, 0, 128), (255, 0, 0, 255), (9, 9, 9, 0)]
    out = alpha_composite(background, rgba, 1, 2)
    assert tuple(out[2, 1]) == (round(200 * 128 / 255), 0, round(100 * 127 / 255)) == (100, 0, 50)
    assert tuple(out[2, 2]) == RED      # opaque pure red stays pure red: no BGR/RGB swap
    assert tuple(out[2, 3]) == (0, 0, 100)    # alpha 0: the background shows
    assert exactly_red(out).sum() == 1 and (out[[0, 1, 3]] == background[[0, 1, 3]]).all()
    assert (background == (0, 0, 100)).all()  # the input is untouched


def test_alpha_composite_clips_partly_and_wholly_outside_offsets():
    background = np.zeros((5, 6, 3), np.uint8)
    red = red_set(3)["Happy"]
    top_left = alpha_composite(background, red, -2, -1)          # only a 2 x 1 corner overlaps
    assert exactly_red(top_left).sum() == 2 and exactly_red(top_left)[:2, 0].all()
    bottom_right = alpha_composite(background, red, 4, 3)        # a 2 x 2 corner overlaps
    assert exactly_red(bottom_right).sum() == 4 and exactly_red(bottom_right)[3:, 4:].all()
    for x, y in [(6, 0), (0, 5), (-3, 0), (0, -3), (-50, 90)]:
        np.testing.assert_array_equal(alpha_composite(background, red, x, y), background)


@pytest.mark.parametrize("background, rgba, match", [
    (np.zeros((4, 4), np.uint8), np.zeros((2, 2, 4), np.uint8), "background"),
    (np.zeros((4, 4, 3), float), np.zeros((2, 2, 4), np.uint8), "background"),
    (np.zeros((4, 4, 3), np.uint8), np.zeros((2, 2, 3), np.uint8), "RGBA"),
    (np.zeros((4, 4, 3), np.uint8), np.zeros((2, 2, 4), np.float32), "RGBA"),
])
def test_alpha_composite_rejects_wrong_shapes_and_types(background, rgba, match):
    with pytest.raises(ValueError, match=match):
        alpha_composite(background, rgba, 0, 0)


# ---------------------------------------------------------------------------- the built-in set


def test_builtin_emoji_are_seven_distinct_round_faces():
    emoji = builtin_emoji(64)
    assert list(emoji) == list(EMOTIONS)
    for face in emoji.values():
        assert face.shape == (64, 64, 4) and face.dtype == np.uint8
        assert (face[[0, 0, -1, -1], [0, -1, 0, -1], 3] == 0).all()   # transparent corners
        assert face[32, 32, 3] == 255                                 # an opaque face
    faces = list(emoji.values())
    assert all(not np.array_equal(a, b) for i, a in enumerate(faces) for b in faces[i + 1:])


def test_happy_is_yellow_and_the_cache_hands_out_copies():
    happy = builtin_emoji(64)["Happy"]
    opaque = happy[happy[..., 3] == 255, :3].astype(int)
    r, g, b = np.median(opaque, axis=0)               # the fill dominates the face
    assert r > 200 and g > 150 and b < 100
    happy[:] = 0
    assert builtin_emoji(64)["Happy"][32, 32, 3] == 255


def test_emoji_rims_are_not_darkened_by_the_transparent_canvas():
    face = builtin_emoji(64)["Neutral"]
    rim = (face[..., 3] > 0) & (face[..., 3] < 255)
    assert rim.any()
    # the outline is dark brown (60, 35, 25): a rim that averaged in transparent black would be darker still
    assert face[rim, :3].astype(int).sum(axis=1).min() >= 60 + 35 + 25 - 6


# ---------------------------------------------------------------------------- sets on disk


def test_emoji_sets_round_trip_through_png(tmp_path):
    emoji = builtin_emoji(48)
    paths = write_emoji_set(emoji, tmp_path / "set")
    assert sorted(p.name for p in paths) == sorted(f"{name.lower()}.png" for name in EMOTIONS)
    loaded = load_emoji_set(tmp_path / "set")
    assert list(loaded) == list(EMOTIONS)
    for name in EMOTIONS:
        np.testing.assert_array_equal(loaded[name], emoji[name])
    assert emoji_set(tmp_path / "set", size=32)["Sad"].shape == (32, 32, 4)


def test_an_rgb_png_gets_full_alpha(tmp_path):
    write_emoji_set(builtin_emoji(24), tmp_path)
    write_image(tmp_path / "happy.png", np.full((10, 10, 3), 200, np.uint8))
    happy = load_emoji_set(tmp_path)["Happy"]
    assert happy.shape == (10, 10, 4) and (happy[..., 3] == 255).all()


def test_missing_folders_and_files_are_named(tmp_path):
    write_emoji_set(builtin_emoji(24), tmp_path / "set")
    (tmp_path / "set" / "sad.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"sad\.png.*notebook 04"):
        load_emoji_set(tmp_path / "set")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_emoji_set(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        emoji_set(tmp_path / "nowhere")


def test_a_broken_png_and_an_incomplete_dict_are_clear_value_errors(tmp_path):
    write_emoji_set(builtin_emoji(24), tmp_path)
    (tmp_path / "fear.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="fear.png"):
        load_emoji_set(tmp_path)
    with pytest.raises(ValueError, match="Neutral"):
        emoji_set({name: red_set()[name] for name in EMOTIONS[:-1]})
    with pytest.raises(ValueError, match="RGBA"):
        emoji_set({name: np.zeros((8, 8, 3), np.uint8) for name in EMOTIONS})


def test_emoji_sheet_is_an_rgb_row_of_seven():
    sheet = emoji_sheet(builtin_emoji(40))
    assert sheet.dtype == np.uint8 and sheet.shape[1] == 7 * 40 and sheet.shape[0] > 40 and sheet.shape[2] == 3
    assert emoji_sheet(red_set(20), background="checker").shape[1] == 7 * 20


# ---------------------------------------------------------------------------- overlays


def test_face_overlay_draws_on_a_copy_with_the_emoji_in_true_colours():
    frame = np.full((240, 320, 3), 90, np.uint8)
    out = draw_face_overlay(frame, RECORD, red_set())
    assert out.shape == frame.shape and (frame == 90).all()
    red = exactly_red(out)
    side = round(0.6 * 80)                                   # the emoji is 0.6 of the box side
    assert red.sum() == side * side
    rows, cols = np.nonzero(red)
    region = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    assert (out[region] != frame[region]).any(axis=2).all()  # every pixel of the emoji region changed
    assert rows.min() < 80 and cols.max() >= 180             # above-right of the box's corner
    plain = draw_face_overlay(frame, RECORD)
    assert not np.array_equal(plain, frame) and not exactly_red(plain).any()


def test_face_overlay_draws_the_probability_bars_beside_the_face():
    frame = np.full((240, 320, 3), 90, np.uint8)
    with_bars, without = draw_face_overlay(frame, RECORD), draw_face_overlay(frame, RECORD, bar=False)
    changed = (with_bars != without).any(axis=2)
    assert changed[:, 181:].any() and not changed[:, :100].any()   # right of the box, not on its left
    near_right = dict(RECORD, rect=[250, 100, 60, 60])
    changed = (draw_face_overlay(frame, near_right) != draw_face_overlay(frame, near_right, bar=False)).any(axis=2)
    assert changed[:, :250].any()                                   # no room on the right: on the left


@pytest.mark.parametrize("rect", [[290, 150, 48, 48], [-10, -10, 50, 50], [0, 200, 100, 100], [300, 0, 30, 30]])
def test_faces_at_the_edges_keep_the_frame_shape_and_the_emoji_inside(rect):
    frame = np.full((240, 320, 3), 90, np.uint8)
    out = draw_face_overlay(frame, dict(RECORD, rect=rect), red_set())
    assert out.shape == frame.shape
    side = max(24, round(0.6 * max(rect[2:])))
    assert exactly_red(out).sum() == side * side                    # the whole emoji, moved inside the frame


def test_draw_overlays_draws_every_face_and_checks_its_input():
    frame = np.full((240, 320, 3), 90, np.uint8)
    np.testing.assert_array_equal(draw_overlays(frame, []), frame)
    two = draw_overlays(frame, [RECORD, dict(RECORD, rect=[10, 150, 40, 40], label="Sad")], builtin_emoji(32))
    assert (two[150:190, 10:50] != 90).any() and (two[80:160, 100:180] != 90).any()
    with pytest.raises(ValueError, match="RGB uint8"):
        draw_face_overlay(frame[..., 0], RECORD)
    with pytest.raises(ValueError, match="RGB uint8"):
        draw_overlays(frame.astype(np.float32), [RECORD])
    with pytest.raises(ValueError, match="label"):
        draw_face_overlay(frame, dict(RECORD, label="Bored"))
