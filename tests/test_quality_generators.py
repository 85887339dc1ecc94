"""Offline generator quality: the Haar share, the expression mix and the table that joins them."""

import numpy as np
import pytest

from toonemo_lib.config import EMOTIONS
from toonemo_lib.datasets.samples import load_sample
from toonemo_lib.quality.generators import (
    VARIETY_FEATURES,
    expression_mix,
    haar_face_share,
    mean_pairwise_distance,
    quality_table,
    sample_faces,
)
from toonemo_lib.stylegan2.demo import tiny_generator


@pytest.fixture(scope="module")
def lfw_faces():
    return np.stack([load_sample(f"faces/lfw_{i:02d}.png") for i in range(8)])


def test_haar_finds_real_faces_and_no_face_in_flat_or_noise_images(lfw_faces):
    assert haar_face_share(lfw_faces) >= 0.5          # 25 px LFW crops, padded and upscaled like FER faces
    assert haar_face_share(lfw_faces[..., 0]) == haar_face_share(lfw_faces)   # grey and RGB alike
    flat = np.full((4, 32, 32, 3), 128, np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    assert haar_face_share(flat) == 0.0 and haar_face_share(noise) == 0.0


@pytest.mark.parametrize("bad", [np.zeros((0, 32, 32, 3), np.uint8), np.zeros((2, 32, 32, 3), np.float32),
                                 np.zeros((32, 3), np.uint8)])
def test_haar_share_refuses_what_is_not_a_batch_of_uint8_faces(bad):
    with pytest.raises(ValueError, match="uint8"):
        haar_face_share(bad)


def test_expression_mix_is_a_share_per_emotion(lfw_faces):
    mix = expression_mix(lfw_faces)
    assert list(mix.index) == list(EMOTIONS) and mix.sum() == pytest.approx(1.0)
    assert (mix * len(lfw_faces)).round(6).apply(float.is_integer).all()   # counts of 8 faces


def test_sampling_is_seeded_and_truncation_pulls_towards_the_mean():
    G = tiny_generator(16, seed=0)
    a, b = sample_faces(G, 5, seed=1, batch_size=2), sample_faces(G, 5, seed=1)
    assert a.shape == (5, 16, 16, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, sample_faces(G, 5, seed=1, batch_size=2))   # seeded: the same call, the same faces
    # another batch size may round a pixel the other way (the CPU's kernels depend on the batch): one grey level
    assert np.abs(a.astype(int) - b).max() <= 1
    spread = lambda x: x.astype(float).std(axis=0).mean()
    assert spread(sample_faces(G, 20, 0.0, seed=2)) < 0.01 * spread(sample_faces(G, 20, 1.0, seed=2)) + 1e-6


def test_quality_table_compares_generated_faces_with_the_real_ones(lfw_faces):
    table = quality_table(tiny_generator(16, seed=0), lfw_faces, n=8, truncations=(1.0, 0.5))
    assert list(table.index) == ["real FER2013", "generated, psi 1", "generated, psi 0.5"]
    assert table.loc["real FER2013", "haar_vs_real"] == 1.0
    assert table.loc["real FER2013", "fed_emotion"] == pytest.approx(0.0, abs=1e-3)
    assert (table.loc[table.index[1:], "fed_emotion"] > 1.0).all()      # an untrained net draws no faces
    assert table[list(EMOTIONS)].sum(axis=1).round(6).eq(1.0).all()


# ---------------------------------------------------------------------------- variety


@pytest.mark.parametrize("feature", VARIETY_FEATURES)
def test_a_repeated_face_has_no_variety_and_different_faces_have_some(feature, lfw_faces):
    repeated = np.repeat(lfw_faces[:1], 5, axis=0)
    assert mean_pairwise_distance(repeated, feature) == pytest.approx(0.0, abs=1e-6)
    assert mean_pairwise_distance(lfw_faces, feature) > 0.05
    assert mean_pairwise_distance(lfw_faces[..., 0], feature) > 0   # grey faces are accepted too


def test_thumbnail_rms_is_the_rms_difference_of_two_flat_images():
    black, white = np.zeros((32, 32, 3), np.uint8), np.full((32, 32, 3), 255, np.uint8)
    half = np.full((32, 32, 3), 51, np.uint8)   # 0.2 of the way
    assert mean_pairwise_distance(np.stack([black, white]), "thumbnail_rms") == pytest.approx(1.0)
    # three pairs: 1.0, 0.2, 0.8
    assert mean_pairwise_distance(np.stack([black, white, half]), "thumbnail_rms") == pytest.approx(2.0 / 3)


def test_variety_refuses_an_unknown_feature_and_a_lone_face(lfw_faces):
    with pytest.raises(ValueError, match="unknown feature"):
        mean_pairwise_distance(lfw_faces, "pixels")
    with pytest.raises(ValueError, match="at least two"):
        mean_pairwise_distance(lfw_faces[:1])
    with pytest.raises(ValueError, match="uint8"):
        mean_pairwise_distance(lfw_faces.astype(np.float32))


def test_laplacian_sharpness_ranks_a_blurred_set_below_the_original():
    import cv2

    from toonemo_lib.datasets.synthetic import synthetic_faces
    from toonemo_lib.quality.generators import laplacian_sharpness

    faces, _ = synthetic_faces(20, size=64, seed=2)
    blurred = np.stack([cv2.GaussianBlur(face, (0, 0), 1.5) for face in faces])
    assert laplacian_sharpness(faces) > 3 * laplacian_sharpness(blurred) > 0
    assert laplacian_sharpness(np.full((3, 64, 64, 3), 128, np.uint8)) == 0
    with pytest.raises(ValueError, match="uint8"):
        laplacian_sharpness(faces.astype(np.float32))


def test_mix_distance_is_total_variation():
    from toonemo_lib.quality.generators import mix_distance

    a = {"Happy": 0.5, "Sad": 0.5, "Angry": 0.0}
    assert mix_distance(a, a) == 0
    assert mix_distance(a, {"Angry": 1.0, "Happy": 0.0, "Sad": 0.0}) == pytest.approx(1.0)
    assert mix_distance(a, {"Happy": 0.3, "Sad": 0.5, "Angry": 0.2}) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="different classes"):
        mix_distance(a, {"Happy": 1.0})
