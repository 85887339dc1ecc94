"""Quality numbers for StyleGAN2 snapshots: FID and KID, and an offline emotion-feature stand-in.

    suite = MetricSuite(["fid", "kid"], real_images, num_gen=5000)   # fails now if weights are missing
    suite(generate)        # {"fid": 23.1, "kid": 0.012}; generate(n) -> uint8 NHWC images

Both metrics compare the features a fixed network sees in real and generated images.
FID (Heusel et al. 2017) fits a Gaussian to each set of features and takes the Fréchet
distance ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2)); KID (Binkowski et al. 2018) is
an unbiased MMD^2 with the cubic kernel (x.y / n + 1)^3, averaged over random subsets,
so it has no bias from the sample size (FID on 5,000 images is larger than on 50,000).
Both follow NVIDIA's stylegan2-ada-pytorch (`metrics/frechet_inception_distance.py`,
`metrics/kernel_inception_distance.py`).  The features here come from Keras'
InceptionV3 (ImageNet, pool3, 2048-d; cached manifest artefact ``inception-v3-notop``),
not from the 2015 TF graph NVIDIA and the papers use: compare runs of this code with each
other, not with published figures.

Offline (no InceptionV3 weights) the stand-in takes the 256-d features of the shipped
emotion classifier (``data/models/emotion_mini_xception.keras``).  That network saw 48x48
grey faces and was trained for expressions, not ImageNet: it is blind to colour and
fine texture, so its distances ("fed_emotion", "ked_emotion") only rank snapshots of
one run and are never called FID or KID.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.linalg

# Keras / TensorFlow are imported where used: the CLI parses --metrics without loading them.

INCEPTION_ARTEFACT = "inception-v3-notop"
INCEPTION_SIDE = 299

METRICS = {
    "fid": "FID: Fréchet distance of InceptionV3 (ImageNet) features",
    "kid": "KID: kernel (MMD^2) distance of InceptionV3 (ImageNet) features",
    "fed_emotion": "Fréchet distance of emotion-classifier features (offline stand-in, not FID)",
    "ked_emotion": "kernel distance of emotion-classifier features (offline stand-in, not KID)",
}
# metric id -> (feature extractor, distance)
_PARTS = {"fid": ("inception", "frechet"), "kid": ("inception", "kernel"),
          "fed_emotion": ("emotion", "frechet"), "ked_emotion": ("emotion", "kernel")}


# --------------------------------------------------------------------------- distances

def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of [N, D] features, N >= 2."""
    x = np.asarray(features, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"features must be [N, D] with N >= 2; got shape {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2)), real part (as NVIDIA's FID)."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    s = scipy.linalg.sqrtm(sigma1 @ sigma2)  # complex when S1 S2 is singular: keep the real part
    return float(np.real(np.square(mu1 - mu2).sum() + np.trace(sigma1 + sigma2 - 2 * s)))


def kernel_distance(real_features, gen_features, num_subsets=100, max_subset_size=1000, seed=0) -> float:
    """Unbiased MMD^2 with the kernel (x.y/n + 1)^3 over random subsets (NVIDIA's KID)."""
    real, gen = np.asarray(real_features, np.float64), np.asarray(gen_features, np.float64)
    n = real.shape[1]
    m = min(len(real), len(gen), max_subset_size)
    if m < 2:
        raise ValueError(f"KID needs at least 2 real and 2 generated samples; got {len(real)} and {len(gen)}")
    rng = np.random.default_rng(seed)
    t = 0.0
    for _ in range(num_subsets):
        x = gen[rng.choice(len(gen), m, replace=False)]
        y = real[rng.choice(len(real), m, replace=False)]
        a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
        b = (x @ y.T / n + 1) ** 3
        t += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    return float(t / num_subsets / m)


# --------------------------------------------------------------------------- feature extractors

def as_rgb_uint8(images) -> np.ndarray:
    """uint8 [N, H, W, 3] from uint8 NHWC (1 or 3 channels) or NHW grey images."""
    x = np.asarray(images)
    if x.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (0..255); got {x.dtype}")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3) or len(x) == 0:
        raise ValueError(f"images must be a non-empty [N, H, W, 1 or 3] batch; got shape {x.shape}")
    return np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x


def colour_histogram(images, bins: int = 8) -> np.ndarray:
    """The joint RGB histogram of all pixels of a batch, `bins` per channel, summing to 1."""
    x = as_rgb_uint8(images).reshape(-1, 3).astype(np.int64) * bins // 256
    counts = np.bincount((x[:, 0] * bins + x[:, 1]) * bins + x[:, 2], minlength=bins**3)
    return counts / counts.sum()


def colour_histogram_distance(images_a, images_b, bins: int = 8) -> float:
    """Total-variation distance (0 = same colours, 1 = disjoint) of two batches' colour histograms.

    A feature-free statistic for small data sets: a fresh generator's grey noise and
    coloured discs on a dark background are far apart, so training shows as it falls.
    """
    return 0.5 * float(np.abs(colour_histogram(images_a, bins) - colour_histogram(images_b, bins)).sum())


class FeatureExtractor:
    """Base: `__call__(images)` -> [N, D] float64 features of uint8 NHWC images, in batches."""

    name = short = kernel_name = kernel_short = ""
    is_stand_in = False

    def __init__(self, batch_size: int = 32):
        self.batch_size = int(batch_size)
        self._model = None  # built on first use: construction only checks that the files exist
        self._forward = None

    @property
    def model(self):
        if self._model is None:
            self._model = self._build()
        return self._model

    def _predict(self, x) -> np.ndarray:
        """The model on a float32 batch, as one tf.function traced once for every batch size."""
        if self._forward is None:
            import tensorflow as tf

            model = self.model
            spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
            self._forward = tf.function(lambda t: model(t, training=False), input_signature=[spec], autograph=False)
        return self._forward(np.asarray(x, np.float32)).numpy()

    def __call__(self, images) -> np.ndarray:
        x = as_rgb_uint8(images)
        parts = [self._features(x[i:i + self.batch_size]) for i in range(0, len(x), self.batch_size)]
        return np.concatenate(parts).astype(np.float64)

    def __repr__(self):
        return f"<{type(self).__name__}: {self.name}>"


class InceptionFeatures(FeatureExtractor):
    """2048-d pool3 features of Keras' ImageNet InceptionV3, images resized (bilinear) to its 299x299 input.

    ``weights_path=None`` takes the cached ``inception-v3-notop`` artefact and raises a
    FileNotFoundError saying what to fetch and where when it is absent (``allow_download``
    fetches it instead).  ``model=`` uses a ready Keras model (tests: random weights).
    """

    name, short = "FID (InceptionV3, ImageNet)", "fid"
    kernel_name, kernel_short = "KID (InceptionV3, ImageNet)", "kid"

    def __init__(self, weights_path=None, *, model=None, allow_download=False, batch_size=32):
        super().__init__(batch_size)
        self._model = model
        if model is None and weights_path is None:
            from ..download import fetch_artefact

            weights_path = fetch_artefact(INCEPTION_ARTEFACT, download=allow_download)
        if model is None and not Path(weights_path).is_file():
            raise FileNotFoundError(f"no InceptionV3 weights at {weights_path}")
        self.weights_path = None if model is not None else Path(weights_path)

    def _build(self):
        import keras

        return keras.applications.InceptionV3(include_top=False, pooling="avg", weights=str(self.weights_path),
                                              input_shape=(INCEPTION_SIDE, INCEPTION_SIDE, 3))

    def _features(self, batch):
        import keras
        import tensorflow as tf

        side = self.model.input_shape[1] or INCEPTION_SIDE  # 299 unless a test passes a smaller model
        x = tf.image.resize(batch.astype(np.float32), (side, side), method="bilinear")
        return self._predict(keras.applications.inception_v3.preprocess_input(x.numpy()))  # 0..255 -> [-1, 1]


# --------------------------------------------------------------------------- the trainer's API

def parse_metrics(text) -> list[str]:
    """"fid,kid" -> ["fid", "kid"]; "", "none" -> []; a ValueError naming the valid ids otherwise."""
    ids = [t.strip().lower() for t in str(text or "").split(",") if t.strip()]
    if ids == ["none"]:
        return []
    unknown = [t for t in ids if t not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric {', '.join(map(repr, unknown))}: valid metrics are "
                         f"{', '.join(METRICS)} (or 'none')")
    return list(dict.fromkeys(ids))  # drop repeats, keep the order


class MetricSuite:
    """Built once before training, called at each snapshot: ``suite(generate) -> {id: value}``.

    Missing files (InceptionV3 weights for "fid"/"kid", the emotion model) raise at
    construction.  Real features are computed once, on first call; ``num_real`` keeps a
    seeded random subset of the real images.  ``generate(n)`` is called in batches.
    """

    def __init__(self, metric_ids, real_images, num_gen, *, batch_size=32, num_real=None, seed=0,
                 inception_weights=None, extractors=None):
        self.metric_ids = parse_metrics(metric_ids if isinstance(metric_ids, str) else ",".join(metric_ids))
        real = as_rgb_uint8(real_images)
        if num_real is not None and num_real < len(real):
            real = real[np.sort(np.random.default_rng(seed).choice(len(real), int(num_real), replace=False))]
        if int(num_gen) < 2 or len(real) < 2:  # a covariance, and KID's m - 1, need two of each
            raise ValueError(f"metrics need at least 2 real and 2 generated images; got {len(real)} and {num_gen}")
        self.real_images, self.num_gen, self.batch_size, self.seed = real, int(num_gen), int(batch_size), seed
        self.extractors = dict(extractors or {})  # tests may pass ready ones
        for kind in dict.fromkeys(_PARTS[m][0] for m in self.metric_ids):
            if kind == "inception" and kind not in self.extractors:
                self.extractors[kind] = InceptionFeatures(inception_weights, batch_size=batch_size)
            elif kind not in self.extractors:
                # The emotion model sits beside this package, not below it (ARCHITECTURE.md, "Floors").
                raise ValueError(f"{self.metric_ids} needs the emotion stand-in: pass extractors="
                                 "{'emotion': toonemo_lib.quality.emotion_features.EmotionFeatures()}")
        self._real = {}  # kind -> (features, mu, sigma), computed on first call

    @property
    def names(self) -> dict[str, str]:
        """Human names of the metrics, e.g. {"fed_emotion": "Fréchet emotion-feature distance (stand-in, not FID)"}."""
        out = {}
        for m in self.metric_ids:
            kind, dist = _PARTS[m]
            ex = self.extractors[kind]
            out[m] = ex.name if dist == "frechet" else ex.kernel_name
        return out

    def real_features(self, kind):
        if kind not in self._real:
            f = self.extractors[kind](self.real_images)
            self._real[kind] = (f, *feature_statistics(f))
        return self._real[kind]

    def __call__(self, generate) -> dict[str, float]:
        if not self.metric_ids:
            return {}
        gen = {kind: [] for kind in dict.fromkeys(_PARTS[m][0] for m in self.metric_ids)}
        for start in range(0, self.num_gen, self.batch_size):  # one batch in memory at a time
            images = as_rgb_uint8(generate(min(self.batch_size, self.num_gen - start)))
            for kind in gen:
                gen[kind].append(self.extractors[kind](images))
        out = {}
        for m in self.metric_ids:
            kind, dist = _PARTS[m]
            g = np.concatenate(gen[kind])
            real, mu, sigma = self.real_features(kind)
            out[m] = (frechet_distance(mu, sigma, *feature_statistics(g)) if dist == "frechet"
                      else kernel_distance(real, g, seed=self.seed))
        return out


def compute_metrics(metric_ids, real_images, generate, num_gen, batch_size=32,
                    extractors=None) -> dict[str, float]:
    """One-off `MetricSuite(metric_ids, real_images, num_gen)(generate)`."""
    return MetricSuite(metric_ids, real_images, num_gen, batch_size=batch_size,
                       extractors=extractors)(generate)
