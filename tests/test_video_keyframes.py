"""Keyframe Toonify: quads from keypoints, their smoothing in time, interpolated latents, warm starts."""

import numpy as np
import pytest

from toonemo_lib.faces.blazeface import Face
from toonemo_lib.video.keyframes import Keyframes, face_quad, smooth_quads


def square(centre, half, angle=0.0):
    """A quad (TL, BL, BR, TR) of half side ``half`` turned by ``angle`` radians."""
    x = half * np.array([np.cos(angle), np.sin(angle)])
    y = np.array([-x[1], x[0]])
    c = np.asarray(centre, float)
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


def test_face_quad_from_keypoints_is_level_for_level_eyes_and_names_sides_by_image_position():
    # BlazeFace's "right_eye" is the person's right: on the left of the image
    keypoints = [(100, 100), (140, 100), (120, 120), (120, 140), (80, 105), (160, 105)]
    quad = face_quad(Face((80, 80, 80, 80), 0.9, np.array(keypoints, float)))
    top = quad[3] - quad[0]
    assert top[0] > 0 and abs(top[1]) < 1e-9                  # level, left to right
    assert np.allclose(quad.mean(axis=0)[0], 120)             # centred between the eyes
    swapped = [keypoints[1], keypoints[0], *keypoints[2:]]
    np.testing.assert_allclose(face_quad(Face((80, 80, 80, 80), 0.9, np.array(swapped, float))), quad)


def test_face_quad_from_a_haar_box_is_an_upright_square_around_the_box():
    quad = face_quad(Face((100, 50, 80, 80), None, None))
    sides = np.linalg.norm(np.diff(np.vstack([quad, quad[:1]]), axis=0), axis=1)
    np.testing.assert_allclose(sides, sides[0])
    assert quad[:, 0].min() < 100 and quad[:, 0].max() > 180   # wider than the box: FFHQ's framing


def test_smoothing_removes_jitter_keeps_squares_and_respects_gaps():
    rng = np.random.default_rng(0)
    frames = list(range(30)) + list(range(40, 50))
    quads = {f: square((200 + f + rng.normal(0, 3), 150 + rng.normal(0, 3)), 60 + rng.normal(0, 4),
                       rng.normal(0, 0.05)) for f in frames}
    smoothed = smooth_quads(quads)
    assert sorted(smoothed) == frames
    jitter = lambda qs: np.std(np.diff([q.mean(0)[1] for q in qs]))   # noqa: E731
    assert jitter([smoothed[f] for f in range(30)]) < 0.6 * jitter([quads[f] for f in range(30)])
    for q in smoothed.values():                                # still squares
        x, y = q[3] - q[0], q[1] - q[0]
        assert abs(x @ y) < 1e-6 * (x @ x) and np.isclose(x @ x, y @ y)
    constant = {f: square((10, 10), 5) for f in range(5)}
    for f, q in smooth_quads(constant).items():
        np.testing.assert_allclose(q, constant[f])
    # the stretch after the gap is smoothed on its own: its first quad is not pulled back to frame 29
    assert smoothed[40].mean(0)[0] > quads[29].mean(0)[0] + 5


def test_latents_are_interpolated_between_keyframes_and_absent_after_a_gap():
    keys = Keyframes(every=10, latents={0: np.zeros((4, 2)), 10: np.ones((4, 2)), 30: np.full((4, 2), 5.0)})
    np.testing.assert_allclose(keys.latent_at(5), 0.5)
    np.testing.assert_allclose(keys.latent_at(5, interpolate=False), 0.0)
    np.testing.assert_allclose(keys.latent_at(10), 1.0)
    np.testing.assert_allclose(keys.latent_at(15), 1.0)   # no keyframe at 20: the last one, not a jump to 30
    assert keys.latent_at(25) is None                     # more than `every` frames after a keyframe
    np.testing.assert_allclose(keys.latent_at(33), 5.0)


@pytest.fixture(scope="module")
def toonifier():
    from toonemo_lib.stylegan2.blend import blend_generators
    from toonemo_lib.stylegan2.perceptual import perceptual_distance
    from toonemo_lib.toonify.models import small_models
    from toonemo_lib.video.keyframes import VideoToonifier

    models = small_models(32)
    toon_G = blend_generators(models.structure, models.texture, 8)
    return VideoToonifier(models.texture, toon_G, every=5, steps=12, warm_steps=4, w_avg_samples=500,
                          distance=perceptual_distance("stand-in"))


def test_keyframes_warm_start_from_the_previous_one_and_are_cached(tmp_path, toonifier):
    from toonemo_lib.video.clips import face_clip
    from toonemo_lib.video.keyframes import latent_cache, toonify_keyframes

    clip = tmp_path / "clip.mp4"
    face_clip(clip, seconds=1.0, fps=20, faceless=((0.5, 0.75),), audio=False)
    quads = {f: square((320, 240), 100) for f in list(range(10)) + list(range(15, 20))}
    cache = latent_cache(tmp_path / "cache", clip, toonifier)
    keys = toonify_keyframes(clip, quads, toonifier, cache=cache, progress=False)
    assert sorted(keys.latents) == [0, 5, 15]
    assert keys.warm == {0: False, 5: True, 15: False}   # frame 10 had no face: 15 starts cold
    assert all(latent.shape == (toonifier.base_G.num_ws, toonifier.base_G.w_dim) for latent in keys.latents.values())
    again = toonify_keyframes(clip, quads, toonifier, cache=cache, progress=False)
    assert again.from_cache and not keys.from_cache
    for f in keys.latents:
        np.testing.assert_array_equal(again.latents[f], keys.latents[f])
    assert list(keys.table().columns) == ["frame", "warm start", "seconds", "loss"]
    frame = np.full((480, 640, 3), 128, np.uint8)
    drawn = toonifier.render(frame, keys.latents[0], quads[0])
    assert drawn.shape == frame.shape and not np.array_equal(drawn, frame)
    np.testing.assert_array_equal(drawn[:100], frame[:100])   # nothing outside the quad


def test_warm_start_table_compares_a_cold_start_with_short_warm_ones(toonifier):
    rng = np.random.default_rng(0)
    previous = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    face = np.clip(previous + rng.integers(-20, 21, previous.shape), 0, 255).astype(np.uint8)  # the next keyframe
    table = toonifier.warm_start_table(previous, face, warm_steps=(2, 8))
    assert table["start"].tolist() == ["cold", "warm", "warm"] and table["steps"].tolist() == [12, 2, 8]
    assert (table["seconds"] > 0).all() and np.isfinite(table["loss"]).all()
    # starting from the previous keyframe's latent, 8 steps do what 12 cold ones do
    assert table["distance"].iloc[2] <= 1.02 * table["distance"].iloc[0]


def test_ring_colour_matching_moves_the_rim_to_the_reference():
    from toonemo_lib.video.keyframes import match_ring_colours

    rng = np.random.default_rng(1)
    face = rng.integers(0, 120, (32, 32, 3)).astype(np.uint8)          # a dark toon
    reference = rng.integers(100, 255, (32, 32, 3)).astype(np.uint8)   # a bright frame
    matched = match_ring_colours(face, reference, ring=0.2)
    rim = np.ones((32, 32), bool)
    rim[6:26, 6:26] = False
    np.testing.assert_allclose(matched[rim].mean(axis=0), reference[rim].mean(axis=0), atol=1.5)
    np.testing.assert_allclose(matched[rim].std(axis=0), reference[rim].std(axis=0), rtol=0.05)
    assert matched.dtype == np.uint8 and matched.shape == face.shape
