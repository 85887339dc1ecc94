"""FID / KID and the emotion-feature stand-in of StyleGAN2 training (`stylegan2.metrics`)."""

import numpy as np
import pytest

from toonemo_lib.datasets.samples import list_samples, load_sample
from toonemo_lib.datasets.synthetic import synthetic_faces
from toonemo_lib.quality.emotion_features import EmotionFeatures, metric_extractors
from toonemo_lib.stylegan2.metrics import (INCEPTION_ARTEFACT, METRICS, InceptionFeatures,
                                           MetricSuite, as_rgb_uint8, feature_statistics, frechet_distance,
                                           kernel_distance, parse_metrics)

INCEPTION_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


# --------------------------------------------------------------------------- Fréchet distance

def test_frechet_of_identical_statistics_is_zero():
    x = np.random.default_rng(0).standard_normal((200, 6))
    mu, sigma = feature_statistics(x)
    assert mu.shape == (6,) and sigma.shape == (6, 6)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-8


def test_frechet_of_shifted_identity_gaussians_is_the_squared_shift():
    d = 3.0
    mu2 = np.zeros(5)
    mu2[2] = d
    assert frechet_distance(np.zeros(5), np.eye(5), mu2, np.eye(5)) == pytest.approx(d ** 2, abs=1e-10)


def test_frechet_of_diagonal_covariances_matches_the_closed_form():
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = np.square(mu1 - mu2).sum() + np.square(np.sqrt(a) - np.sqrt(b)).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, abs=1e-10)


def test_feature_statistics_needs_two_samples():
    with pytest.raises(ValueError, match="N >= 2"):
        feature_statistics(np.ones((1, 4)))


# --------------------------------------------------------------------------- kernel distance

def reference_mmd2(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b / n + 1)^3, written out term by term."""
    n, m = x.shape[1], len(x)

    def k(a, b):
        return (a @ b / n + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kernel_distance_matches_a_reference_on_one_full_subset():
    rng = np.random.default_rng(1)
    real, gen = rng.standard_normal((12, 4)), rng.standard_normal((12, 4)) + 0.3
    # With m = all samples the only subset is a permutation, which MMD^2 does not see.
    assert kernel_distance(real, gen, num_subsets=1) == pytest.approx(reference_mmd2(gen, real), abs=1e-10)


def test_kernel_distance_is_near_zero_for_one_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((400, 16))
    same = kernel_distance(x[:200], x[200:], num_subsets=20)
    shifted = kernel_distance(x[:200], x[200:] + 1.0, num_subsets=20)
    assert abs(same) < 0.05 and shifted > 1.0
    assert kernel_distance(x[:200], x[200:], num_subsets=5, seed=3) == kernel_distance(x[:200], x[200:], num_subsets=5,
                                                                                         seed=3)


# --------------------------------------------------------------------------- feature extractors

@pytest.fixture(scope="module")
def emotion():
    return EmotionFeatures()


@pytest.fixture(scope="module")
def faces():
    return synthetic_faces(40, size=48, seed=0)[0]


def test_emotion_features_of_shipped_and_synthetic_faces(emotion):
    photos = np.stack([load_sample(name) for name in list_samples("faces") if "lfw" in name])  # 8 grey 25x25 crops
    f = emotion(photos)
    assert f.shape == (len(photos), 256) and f.dtype == np.float64 and np.isfinite(f).all()
    assert emotion.is_stand_in and "stand-in" in emotion.name and "not FID" in emotion.name
    assert emotion.short == "fed_emotion" and emotion.kernel_short == "ked_emotion"
    # one channel or three: the same grey faces give the same features
    np.testing.assert_allclose(emotion(photos[..., :1]), f, atol=1e-6)


def test_emotion_distance_separates_faces_from_noise(emotion, faces):
    f = emotion(faces)
    mu, sigma = feature_statistics(f)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-3
    noise = np.random.default_rng(0).integers(0, 256, (20, 48, 48, 3), dtype=np.uint8)
    halves = frechet_distance(*feature_statistics(f[:20]), *feature_statistics(f[20:]))
    to_noise = frechet_distance(*feature_statistics(f[:20]), *feature_statistics(emotion(noise)))
    assert to_noise > 3 * halves


def test_inception_features_with_a_random_weight_model():
    import keras

    model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None, input_shape=(299, 299, 3))
    features = InceptionFeatures(model=model, batch_size=3)
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    f = features(images)
    assert f.shape == (4, 2048) and f.dtype == np.float64 and np.isfinite(f).all()
    assert not features.is_stand_in and features.short == "fid" and features.kernel_short == "kid"


def test_missing_inception_weights_say_what_to_fetch(tmp_path, monkeypatch, faces):
    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=INCEPTION_FILE) as err:
        InceptionFeatures()
    assert "storage.googleapis.com" in str(err.value) and str(tmp_path) in str(err.value)
    for ids in (["fid"], "fed_emotion,kid"):  # before any training: at construction
        with pytest.raises(FileNotFoundError, match=INCEPTION_FILE):
            MetricSuite(ids, faces, num_gen=8, extractors=metric_extractors(["fed_emotion"]))
    with pytest.raises(ValueError, match="EmotionFeatures"):  # the stand-in must be handed in
        MetricSuite(["fed_emotion"], faces, num_gen=8)
    with pytest.raises(FileNotFoundError, match="nowhere.h5"):
        InceptionFeatures(tmp_path / "nowhere.h5")


def test_cached_inception_weights_are_found_without_building_the_model(tmp_path, monkeypatch):
    from toonemo_lib.download import artefact

    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path))
    path = artefact(INCEPTION_ARTEFACT).path
    assert path.name == INCEPTION_FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not read until the first call")
    assert InceptionFeatures().weights_path == path


def test_missing_emotion_model_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="no emotion model"):
        EmotionFeatures(tmp_path / "missing.keras")


# --------------------------------------------------------------------------- the trainer's API

def test_parse_metrics():
    assert parse_metrics("fid,kid") == ["fid", "kid"]
    assert parse_metrics(" FED_emotion , ked_emotion,fed_emotion") == ["fed_emotion", "ked_emotion"]
    assert parse_metrics("none") == parse_metrics("") == parse_metrics(None) == []
    with pytest.raises(ValueError, match="valid metrics are fid, kid, fed_emotion, ked_emotion"):
        parse_metrics("fid,fid50k")
    assert set(METRICS) == {"fid", "kid", "fed_emotion", "ked_emotion"}
    assert "not FID" in METRICS["fed_emotion"] and "not KID" in METRICS["ked_emotion"]


def test_as_rgb_uint8():
    assert as_rgb_uint8(np.zeros((2, 5, 5), np.uint8)).shape == (2, 5, 5, 3)
    with pytest.raises(ValueError, match="uint8"):
        as_rgb_uint8(np.zeros((2, 5, 5, 3), np.float32))


def test_metric_suite_computes_real_features_once(emotion, faces):
    grey = faces.mean(axis=-1).astype(np.uint8)[..., None]  # a one-channel data set
    calls = []

    def generate(n):
        calls.append(n)
        return np.random.default_rng(len(calls)).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)

    suite = MetricSuite(["fed_emotion", "ked_emotion"], grey, num_gen=20, batch_size=8,
                        extractors={"emotion": emotion})
    assert suite.names == {"fed_emotion": "Fréchet emotion-feature distance (stand-in, not FID)",
                           "ked_emotion": "KED (stand-in, not KID)"}
    first = suite(generate)
    assert calls == [8, 8, 4] and set(first) == {"fed_emotion", "ked_emotion"}
    real_before = suite._real["emotion"][0]
    second = suite(generate)
    assert suite._real["emotion"][0] is real_before  # cached, not recomputed
    assert all(np.isfinite(v) and v > 0 for v in [*first.values(), *second.values()])
    assert MetricSuite("none", grey, num_gen=4)(generate) == {}


def test_colour_histogram_distance_is_zero_for_the_same_colours_and_one_for_disjoint():
    from toonemo_lib.stylegan2.metrics import colour_histogram, colour_histogram_distance

    red = np.zeros((2, 4, 4, 3), np.uint8)
    red[..., 0] = 255
    blue = np.roll(red, 2, axis=-1)
    assert colour_histogram(red).sum() == pytest.approx(1.0)
    assert colour_histogram_distance(red, red[::-1]) == 0
    assert colour_histogram_distance(red, blue) == 1
    half = np.concatenate([red[:1], blue[:1]])
    assert colour_histogram_distance(half, red) == pytest.approx(0.5)
    grey = np.full((1, 4, 4), 128, np.uint8)   # one channel is read as grey RGB
    assert colour_histogram_distance(grey, np.repeat(grey[..., None], 3, -1)) == 0
