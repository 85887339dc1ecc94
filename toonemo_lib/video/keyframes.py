"""Toonify on video: FFHQ quads from BlazeFace keypoints, smoothed in time, and keyframe projection.

Projection is what makes Toonify slow (seconds to minutes a face), so, as seed 000 did,
only every N-th frame - a keyframe - is projected into the face model.  Better than the
seed:

- each keyframe's projection starts from the previous keyframe's W+ latent and noise, with
  far fewer steps and neither the latent-noise injection nor the learning-rate ramp-up of
  a cold start (the face barely changes in N frames); only the latent moves, the noise
  maps stay the previous keyframe's;
- the toon model draws with its constant noise, the same for every frame: re-randomised
  noise would make hair and skin texture flicker;
- the alignment quads are smoothed over time as STIT (Tzaban et al. 2022) does: the centre
  with a Gaussian of sigma 1 frame, the axes (size and angle) with sigma 3, so the pasted
  face does not jitter with the detector;
- the frames between two keyframes get a face drawn from the W+ latent interpolated
  between them (``interpolate=True``), so the toon face moves every frame instead of
  jumping every N-th one;
- the keyframe latents are cached per video and settings (`latent_cache`), so a re-run
  with other overlay options does not project again.

Only the largest face of a frame is toonified.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..config import VideoSettings
from ..faces.align import align_to_quad, quad_from_box, quad_from_eyes_mouth
from ..faces.blazeface import Face, KEYPOINTS
from ..toonify.toonifier import Toonifier
from .streams import read_frames

CENTRE_SIGMA, AXIS_SIGMA = 1.0, 3.0  # STIT's smoothing of the quads, in frames


def face_quad(face: Face) -> np.ndarray:
    """FFHQ's crop quad for a face: from BlazeFace's eyes and mouth, else from the box alone."""
    if face.keypoints is not None:
        points = dict(zip(KEYPOINTS, np.asarray(face.keypoints, float)))
        left, right = sorted((points["right_eye"], points["left_eye"]), key=lambda p: p[0])  # image left first
        return quad_from_eyes_mouth(left, right, points["mouth"], points["mouth"])
    return quad_from_box(face.box)  # a Haar box: level eyes where they usually sit in it


def _runs(frames: list[int]) -> list[list[int]]:
    """Consecutive stretches of frame numbers: [0, 1, 2, 5, 6] -> [[0, 1, 2], [5, 6]]."""
    runs = []
    for f in frames:
        if runs and f == runs[-1][-1] + 1:
            runs[-1].append(f)
        else:
            runs.append([f])
    return runs


def smooth_quads(quads: dict[int, np.ndarray], centre_sigma: float = CENTRE_SIGMA,
                 axis_sigma: float = AXIS_SIGMA) -> dict[int, np.ndarray]:
    """The quads (frame -> 4 x 2) smoothed in time, each stretch of consecutive frames on its own.

    A quad is its centre c and its half-axes x and y (``c -/+ x -/+ y``); c is smoothed with
    ``centre_sigma`` and x with ``axis_sigma``, and y stays x turned by 90 degrees, so a
    smoothed quad is still a square.
    """
    smoothed = {}
    for run in _runs(sorted(quads)):
        q = np.stack([quads[f] for f in run])                       # [T, 4, 2]
        centre = q.mean(axis=1)
        x_axis = (q[:, 3] - q[:, 0] + q[:, 2] - q[:, 1]) / 4        # half of the top and bottom edges
        if len(run) > 1:
            centre = gaussian_filter1d(centre, centre_sigma, axis=0, mode="nearest")
            x_axis = gaussian_filter1d(x_axis, axis_sigma, axis=0, mode="nearest")
        y_axis = np.stack([-x_axis[:, 1], x_axis[:, 0]], axis=1)
        corners = np.stack([centre - x_axis - y_axis, centre - x_axis + y_axis,
                            centre + x_axis + y_axis, centre + x_axis - y_axis], axis=1)
        smoothed.update(zip(run, corners))
    return smoothed


@dataclass
class Keyframes:
    """The projected keyframes of a clip: latents, and what each cost."""

    every: int
    latents: dict[int, np.ndarray] = field(default_factory=dict)   # frame -> [num_ws, w_dim] W+
    losses: dict[int, float] = field(default_factory=dict)         # frame -> final projection loss
    seconds: dict[int, float] = field(default_factory=dict)        # frame -> projection time
    warm: dict[int, bool] = field(default_factory=dict)            # frame -> warm-started or not
    from_cache: bool = False

    def latent_at(self, frame: int, interpolate: bool = True) -> np.ndarray | None:
        """The latent to draw ``frame`` with: interpolated between the keyframes around it, or the last one.

        None when no keyframe lies within ``every`` frames before it (the face was not
        projected there).
        """
        keys = sorted(self.latents)
        before = [k for k in keys if frame - self.every < k <= frame]
        if not before:
            return None
        a = before[-1]
        after = [k for k in keys if a < k <= a + self.every]
        if not interpolate or a == frame or not after:
            return self.latents[a]
        b = after[0]
        t = (frame - a) / (b - a)
        return (1 - t) * self.latents[a] + t * self.latents[b]

    def table(self):
        """One row per keyframe: frame, warm start, projection seconds and final loss."""
        import pandas as pd

        return pd.DataFrame({"frame": sorted(self.latents),
                             "warm start": [self.warm[f] for f in sorted(self.latents)],
                             "seconds": [self.seconds[f] for f in sorted(self.latents)],
                             "loss": [self.losses[f] for f in sorted(self.latents)]})


class VideoToonifier(Toonifier):
    """Keyframe Toonify (see the module docstring): a `toonify.toonifier.Toonifier` with a keyframe schedule.

    every           a keyframe every this many frames (the seed: 10)
    steps           projection steps of a cold start (the first keyframe, or after a gap)
    warm_steps      projection steps of a warm start from the previous keyframe
    interpolate     draw in-between frames from interpolated latents (else the last keyframe's)
    feather         the paste-back mask's soft rim, as a fraction of the quad's side: the
                    mask is the quad eroded by that much and blurred across it
    match_colours   shift the toon face's colours to the frame's in a ring along the crop's
                    rim (`match_ring_colours`), so the pasted face meets its surroundings

    The distance is fixed when the toonifier is made (its name is part of the cache key), and
    the toon model's synthesis is compiled: every frame draws a face.
    """

    def __init__(self, base_G, toon_G, *, every: int = 10, steps: int = 300, warm_steps: int = 50,
                 warm_learning_rate: float = 0.1, interpolate: bool = True, feather: float = 0.15,
                 match_colours: bool = False, distance=None, w_avg_samples: int = 2000, seed: int = 0):
        from ..stylegan2.perceptual import perceptual_distance

        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        super().__init__(base_G, toon_G, steps=steps, warm_steps=warm_steps, warm_learning_rate=warm_learning_rate,
                         distance=perceptual_distance() if distance is None else distance,
                         w_avg_samples=w_avg_samples, feather=feather, seed=seed, compiled=True)
        self.every, self.interpolate, self.match_colours = int(every), bool(interpolate), bool(match_colours)

    def settings(self) -> dict:
        """What the keyframe latents depend on (the cache key, with the video's identity)."""
        weights = hashlib.sha256()
        for G in (self.base_G, self.toon_G):
            for v in G.weights:
                weights.update(np.asarray(v).tobytes())
        return {"every": self.every, "steps": self.steps, "warm_steps": self.warm_steps, "seed": self.seed,
                "warm_learning_rate": self.warm_learning_rate,
                "distance": getattr(self.distance, "name", type(self.distance).__name__),
                "generators": weights.hexdigest()[:16]}

    def warm_start_table(self, previous_face: np.ndarray, face: np.ndarray, warm_steps=(5, 10, 20, 40)):
        """Cold start against warm starts of a few lengths, on one keyframe after another.

        ``previous_face`` is projected cold (the previous keyframe); ``face`` is then
        projected cold with `steps` and warm from that result with each of ``warm_steps``.
        One row per projection of ``face``: start, steps, final loss and distance, seconds.
        """
        import pandas as pd

        previous = self.project(previous_face)
        rows = []
        for start, steps, warm_from in [("cold", self.steps, None)] + [("warm", s, previous) for s in warm_steps]:
            began = time.perf_counter()
            result = self.project(face, None if warm_from is None else (warm_from.latent, warm_from.noise), steps)
            rows.append({"start": start, "steps": steps, "loss": float(result.losses[-1]),
                         "distance": float(result.distances[-1]), "seconds": time.perf_counter() - began})
        return pd.DataFrame(rows)

    def render(self, frame: np.ndarray, latent: np.ndarray, quad: np.ndarray) -> np.ndarray:
        """``frame`` with the toon face of ``latent`` pasted into ``quad``."""
        face = self.draw(latent)
        if self.match_colours:
            face = match_ring_colours(face, align_to_quad(frame, quad, face.shape[0]).image, self.feather)
        return self.paste(frame, face, quad)


def match_ring_colours(face: np.ndarray, reference: np.ndarray, ring: float = 0.15) -> np.ndarray:
    """``face`` with each channel's mean and spread moved to ``reference``'s, both measured on a rim ring.

    The ring is the outer ``ring`` fraction of the square crop, where the pasted face fades
    into the frame; matching its statistics (Reinhard et al.'s colour transfer, per RGB
    channel) hides the seam without touching the face's own contrast more than needed.
    """
    size = face.shape[0]
    band = max(1, int(round(ring * size)))
    mask = np.ones((size, size), bool)
    mask[band:size - band, band:size - band] = False
    f, r = face.astype(np.float32), reference.astype(np.float32)
    mean_f, std_f = f[mask].mean(axis=0), f[mask].std(axis=0) + 1e-3
    mean_r, std_r = r[mask].mean(axis=0), r[mask].std(axis=0)
    return np.clip(np.rint((f - mean_f) * (std_r / std_f) + mean_r), 0, 255).astype(np.uint8)


def profile_toonifier(settings: VideoSettings, *, base_pickle=None, toon_pickle=None, every: int | None = None,
                      distance=None) -> tuple[VideoToonifier, str]:
    """The toonifier of a profile's video settings, and a sentence saying which generators it uses.

    With ``base_pickle`` and ``toon_pickle`` (official StyleGAN2 pickles: the face model and
    the toon model blended from it) those are used as they are; otherwise
    `toonify.models.toonify_models` gives the cartoon and face models (the course's shipped 32x32
    pair unless ``settings.use_ffhq``), blended at ``settings.blend_resolution``.
    """
    from ..toonify.models import toon_pair

    pair = toon_pair(settings.use_ffhq, settings.blend_resolution, settings.generator_resolution,
                     base_pickle, toon_pickle)
    base_G, toon_G, said = pair.base_G, pair.toon_G, f"generators: {pair.description}"
    toonifier = VideoToonifier(base_G, toon_G, every=every or settings.every, steps=settings.projection_steps,
                               warm_steps=settings.warm_steps, w_avg_samples=settings.w_avg_samples,
                               distance=distance)
    return toonifier, said


def latent_cache(folder, source, toonifier: VideoToonifier) -> Path:
    """Where a video's keyframe latents are cached: named by the video's size, mtime and the settings."""
    path = Path(source)
    stat = path.stat()
    key = json.dumps({"video": [path.name, stat.st_size, stat.st_mtime_ns], **toonifier.settings()}, sort_keys=True)
    return Path(folder) / f"{path.stem}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.npz"


def _save_keyframes(path: Path, keys: Keyframes) -> None:
    """Write the cache through a temporary sibling and a rename: a run killed mid-write leaves
    no half file under the cache's name."""
    frames = sorted(keys.latents)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")  # per process: two runs may share a cache
    with open(partial, "wb") as out:  # a file object: np.savez would add ".npz" to a name
        np.savez(out, every=keys.every, frames=np.array(frames, int),
                 latents=np.stack([keys.latents[f] for f in frames]) if frames else np.zeros((0,)),
                 losses=[keys.losses[f] for f in frames], seconds=[keys.seconds[f] for f in frames],
                 warm=[keys.warm[f] for f in frames])
    os.replace(partial, path)


def _load_keyframes(path: Path) -> Keyframes:
    with np.load(path, allow_pickle=False) as data:
        frames = [int(f) for f in data["frames"]]
        return Keyframes(int(data["every"]), dict(zip(frames, data["latents"])),
                         dict(zip(frames, map(float, data["losses"]))), dict(zip(frames, map(float, data["seconds"]))),
                         dict(zip(frames, map(bool, data["warm"]))), from_cache=True)


def toonify_keyframes(source, quads: dict[int, np.ndarray], toonifier: VideoToonifier, *, cache=None,
                      progress: bool = True) -> Keyframes:
    """Project the face of every ``toonifier.every``-th frame that has a quad; warm-start from the last one.

    quads: frame -> 4 x 2 (smoothed) quad of the face to toonify.  A keyframe warm-starts
    when the previous keyframe is exactly ``every`` frames before it (no gap without a
    face between them).  cache: a file from `latent_cache`, read when present, written after;
    an unreadable one counts as absent (an `UnreadableFileWarning` names it).
    """
    from tqdm.auto import tqdm

    from ..unreadable import read_cached

    found = read_cached(cache, _load_keyframes, "keyframe cache") if cache is not None else None
    if found is not None:
        return found
    every = toonifier.every
    wanted = sorted(f for f in quads if f % every == 0)
    keys = Keyframes(every)
    previous, previous_frame = None, None
    bar = tqdm(total=len(wanted), desc="projecting keyframes", disable=not progress, leave=False)
    for index, frame in read_frames(source, max_frames=wanted[-1] + 1 if wanted else 0):
        if index not in quads or index % every:
            continue
        warm = previous is not None and index - previous_frame == every
        start = time.perf_counter()
        result = toonifier.project(align_to_quad(frame, quads[index], toonifier.size).image,
                                   previous if warm else None)
        keys.latents[index], keys.losses[index] = result.latent, float(result.losses[-1])
        keys.seconds[index], keys.warm[index] = time.perf_counter() - start, warm
        previous, previous_frame = (result.latent, result.noise), index
        bar.update()
    bar.close()
    if cache is not None:
        _save_keyframes(Path(cache), keys)
    return keys
