"""How face-like a small generator's faces are, measured offline and named for what they are.

Three measures, each beside the same measure on real FER2013 faces:

- the **Haar share**: the share of faces in which OpenCV's default frontal-face cascade
  finds a face, every face treated alike (zero-padded by a quarter of its side on each
  side, then resized to 128 px) so that generated 32 px faces and real 48 px ones meet
  the cascade at the same scale;
- the **Fréchet emotion-feature distance** to the real faces (`EmotionFeatures`: the
  shipped emotion classifier's penultimate features; a stand-in, never called FID);
- the **expression mix**: the shipped emotion recogniser's class shares;

and one measure of a set's **variety** (`mean_pairwise_distance`): how far apart its faces
are on average under a named feature, so that a set that repeats one face (a collapsed
generator, or a drawing with too little variation) shows as a small number.

It lives on the package's top floor because it joins StyleGAN2, face detection and the
emotion model, which do not import each other.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from ..config import EMOTIONS

HAAR_SIDE = 128
HAAR_PAD = 0.25
# The features `mean_pairwise_distance` knows, each named for what it compares:
#   thumbnail_rms: 32x32 RGB thumbnails scaled to [0, 1], RMS difference per value (colour and layout);
#   hog_grey64:    HOG of the grey 64x64 face (8 px cells, 9 orientations), Euclidean distance (shapes, edges).
VARIETY_FEATURES = ("thumbnail_rms", "hog_grey64")


def sample_faces(G, n: int, truncation_psi: float = 1.0, seed: int = 0, batch_size: int | None = None) -> np.ndarray:
    """`n` uint8 RGB faces of G (const noise) from the seeds ``seed .. seed + n - 1``."""
    from ..stylegan2.generate import generate_images

    return generate_images(G, range(seed, seed + n), truncation_psi, batch_size=batch_size)


def _as_haar_input(face: np.ndarray, side: int, pad: float) -> np.ndarray:
    grey = face if face.ndim == 2 else cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
    border = int(round(pad * grey.shape[0]))
    padded = cv2.copyMakeBorder(grey, border, border, border, border, cv2.BORDER_CONSTANT, value=0)
    return cv2.resize(padded, (side, side), interpolation=cv2.INTER_CUBIC)


def haar_face_share(faces, side: int = HAAR_SIDE, pad: float = HAAR_PAD) -> float:
    """Share of `faces` (uint8, (N, H, W) grey or (N, H, W, 3) RGB) in which the default
    Haar cascade, at OpenCV's default settings, finds at least one face."""
    from ..faces.detect import FACE_CASCADE, load_cascade

    faces = np.asarray(faces)
    if faces.ndim not in (3, 4) or len(faces) == 0 or faces.dtype != np.uint8:
        raise ValueError(f"faces must be a non-empty uint8 (N, H, W) or (N, H, W, 3) array, "
                         f"got {faces.dtype} {faces.shape}")
    cascade = load_cascade(FACE_CASCADE)
    found = [len(cascade.detectMultiScale(_as_haar_input(face, side, pad))) > 0 for face in faces]
    return float(np.mean(found))


def expression_mix(faces, recognizer=None) -> pd.Series:
    """The recogniser's class shares (argmax of its probabilities) over `faces`, in `EMOTIONS` order."""
    from ..emotion.recognize import EmotionRecognizer

    recognizer = recognizer or EmotionRecognizer()
    probs = np.concatenate([recognizer.classify(faces[i:i + 256]) for i in range(0, len(faces), 256)])
    counts = np.bincount(probs.argmax(axis=1), minlength=len(EMOTIONS))
    return pd.Series(counts / counts.sum(), index=list(EMOTIONS), name="share")


def laplacian_sharpness(faces, side: int = 64) -> float:
    """Mean over `faces` of the variance of the Laplacian of the grey face at `side` px: how much
    fine detail a set has (a blurred set scores low).  Compare sets at the same `side`."""
    faces = np.asarray(faces)
    if faces.ndim not in (3, 4) or len(faces) == 0 or faces.dtype != np.uint8:
        raise ValueError(f"faces must be a non-empty uint8 (N, H, W) or (N, H, W, 3) array, got {faces.dtype} {faces.shape}")
    grey = (cv2.cvtColor(_as_rgb(face), cv2.COLOR_RGB2GRAY) for face in faces)
    return float(np.mean([cv2.Laplacian(_resized(g, side), cv2.CV_64F).var() for g in grey]))


def mix_distance(mix, reference) -> float:
    """Total-variation distance between two expression mixes (class shares): half the sum of
    the absolute differences, 0 for the same mix, 1 for mixes with no class in common."""
    mix, reference = pd.Series(mix, dtype=float), pd.Series(reference, dtype=float)
    if set(mix.index) != set(reference.index):
        raise ValueError(f"the mixes name different classes: {sorted(mix.index)} vs {sorted(reference.index)}")
    return float(0.5 * (mix - reference[mix.index]).abs().sum())


def quality_table(G, real_faces, n: int = 1000, truncations=(1.0, 0.7), seed: int = 0,
                  recognizer=None, real_name: str = "real FER2013") -> pd.DataFrame:
    """One row for the real faces and one per truncation: Haar share, its ratio to the
    real share, the Fréchet emotion-feature distance, and the expression mix."""
    from ..emotion.recognize import EmotionRecognizer
    from .emotion_features import EmotionFeatures
    from ..stylegan2.metrics import feature_statistics, frechet_distance

    recognizer = recognizer or EmotionRecognizer()
    features = EmotionFeatures()
    real_stats = feature_statistics(features(real_faces))
    sets = {real_name: np.asarray(real_faces)}
    sets.update({f"generated, psi {psi:g}": sample_faces(G, n, psi, seed) for psi in truncations})
    rows = []
    for name, faces in sets.items():
        row = {"faces": name, "count": len(faces), "haar_share": haar_face_share(faces)}
        row["fed_emotion"] = frechet_distance(*feature_statistics(features(faces)), *real_stats)
        rows.append({**row, **expression_mix(faces, recognizer).to_dict()})
    table = pd.DataFrame(rows).set_index("faces")
    table.insert(2, "haar_vs_real", table["haar_share"] / table["haar_share"].iloc[0])
    return table


def _as_rgb(face: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(face, cv2.COLOR_GRAY2RGB) if face.ndim == 2 else face


def _resized(face: np.ndarray, side: int) -> np.ndarray:
    shrink = face.shape[0] >= side
    return cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def variety_features(faces, feature: str = "thumbnail_rms") -> np.ndarray:
    """One float64 row per face (uint8 (N, H, W) grey or (N, H, W, 3) RGB) under a feature
    of `VARIETY_FEATURES`, scaled so that the Euclidean distance between rows is the feature's distance."""
    faces = np.asarray(faces)
    if faces.ndim not in (3, 4) or len(faces) == 0 or faces.dtype != np.uint8:
        raise ValueError(f"faces must be a non-empty uint8 (N, H, W) or (N, H, W, 3) array, "
                         f"got {faces.dtype} {faces.shape}")
    if feature == "thumbnail_rms":
        rows = np.stack([_resized(_as_rgb(face), 32).ravel() / 255.0 for face in faces])
        return rows / np.sqrt(rows.shape[1])  # Euclidean / sqrt(values) = RMS difference
    if feature == "hog_grey64":
        hog = cv2.HOGDescriptor((64, 64), (16, 16), (8, 8), (8, 8), 9)
        grey = [cv2.cvtColor(_as_rgb(face), cv2.COLOR_RGB2GRAY) for face in faces]
        return np.stack([hog.compute(_resized(g, 64)).ravel() for g in grey]).astype(np.float64)
    raise ValueError(f"unknown feature {feature!r}: choose one of {', '.join(VARIETY_FEATURES)}")


def mean_pairwise_distance(faces, feature: str = "thumbnail_rms") -> float:
    """The mean distance between the faces of all distinct pairs, under a feature of
    `VARIETY_FEATURES`: 0 for a set of one face repeated, larger the more the faces differ."""
    rows = variety_features(faces, feature)
    if len(rows) < 2:
        raise ValueError("a pairwise distance needs at least two faces")
    squared = (rows**2).sum(1)
    gram = squared[:, None] + squared[None, :] - 2 * rows @ rows.T
    distances = np.sqrt(np.clip(gram, 0, None))  # rounding can leave tiny negatives on the diagonal
    n = len(rows)
    return float(distances[np.triu_indices(n, 1)].mean())
