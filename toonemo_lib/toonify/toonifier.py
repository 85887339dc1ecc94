"""Toonify a photo: align the face, project it into the face model, draw it with the toon model.

    result = toonify(photo, base_G, toon_G, steps=1000)
    result.toon_face       # uint8 R x R x 3: the toon model's drawing of the projected latent
    result.pasted          # uint8, the photo's shape: the toon face warped back into the photo
    result.reconstruction  # uint8 R x R x 3: the base model's drawing of the same latent
    result.losses          # the projection's loss per step; result.distance_name names the distance

The recipe is Justin Pinkney's Toonify (2020):

1. align the face as FFHQ does (`faces.align.align_best`: dlib's 68 landmarks with the
   `toonemo[align]` extra, else Haar eyes; at the generator's resolution), keeping the
   crop's quad in the photo;
2. project the aligned face into the *base* model (FFHQ), by default in W+ (one w per
   layer), as Pinkney's Toonify projector does (`stylegan2.project.project`);
3. synthesise the same latent with the *toon* model: the blended network, whose mapping,
   w_avg and noise buffers are the fine-tuned model's.  Pinkney drew it with the toon
   model's constant noise (``noise="const"``, the default); ``noise="projected"`` uses the
   noise maps the projection optimised instead;
4. warp the toon face back into the photo through a feathered mask (`faces.align.paste_back`):
   every pixel outside the quad is left as it was.

This module sits above `stylegan2/` and `faces/` and composes them; neither imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..faces.align import AlignedFace, align_best, paste_back
from ..stylegan2.generate import generator_to_uint8
from ..stylegan2.networks import Generator
from ..stylegan2.project import ProjectionResult, project

NOISE_CHOICES = ("const", "projected")


@dataclass
class ToonifyResult:
    """What `toonify` made, step by step (images are RGB uint8)."""

    toon_face: np.ndarray          # R x R x 3: toon_G's image of the latent
    pasted: np.ndarray             # the photo with the toon face pasted back
    latent: np.ndarray             # [num_ws, w_dim]: the projected latent (W+ rows, or W repeated)
    losses: np.ndarray             # projection loss per step
    aligned: AlignedFace           # the aligned crop (`.image`) and its quad in the photo (`.quad`)
    reconstruction: np.ndarray     # R x R x 3: base_G's image of the latent, same noise choice
    distance_name: str             # which distance the projection minimised
    noise: str                     # "const" or "projected"
    projection: ProjectionResult   # everything `project` returned (noise maps, distances, ...)

    @property
    def aligned_face(self) -> np.ndarray:
        """The aligned photo crop the projection aimed at (R x R x 3)."""
        return self.aligned.image


def check_generators(base_G, toon_G) -> None:
    """TypeError/ValueError unless both are generators that draw the same size from the same latents."""
    for label, G in (("base_G", base_G), ("toon_G", toon_G)):
        if not isinstance(G, Generator):
            hint = " (pass the .Gs of load_official_pickle's result)" if hasattr(G, "Gs") else ""
            raise TypeError(f"{label} must be a stylegan2 Generator, got {type(G).__name__}{hint}")
    differences = [f"{key} {getattr(base_G, key)} vs {getattr(toon_G, key)}"
                   for key in ("resolution", "num_ws", "w_dim", "num_channels")
                   if getattr(base_G, key) != getattr(toon_G, key)]
    if differences:
        raise ValueError("base_G and toon_G must draw the same images from the same latents, but they differ "
                         f"(base vs toon): {'; '.join(differences)}.  Blend the toon model from the base "
                         "model (stylegan2.blend.blend_generators) or load a pair of the same resolution")
    if base_G.num_channels != 3:
        raise ValueError(f"toonify works on RGB photos; the generators draw {base_G.num_channels} channel(s)")


def check_photo(photo) -> np.ndarray:
    """`photo` as an array, or a ValueError unless it is an H x W x 3 RGB uint8 image."""
    photo = np.asarray(photo)
    if photo.dtype != np.uint8 or photo.ndim != 3 or photo.shape[2] != 3:
        raise ValueError(f"the photo must be an H x W x 3 RGB uint8 array, got shape {photo.shape} dtype {photo.dtype}")
    return photo


def synthesize(G, latent, noise="const", noise_maps=None) -> np.ndarray:
    """uint8 R x R x C image of G for a [num_ws, w_dim] latent, with G's constant noise or given maps."""
    latent = np.asarray(latent, np.float32)[None]
    if noise == "const":
        image = G.synthesis(latent, noise_mode="const")
    elif noise == "projected":
        if noise_maps is None:
            raise ValueError("noise='projected' needs the projection's noise maps")
        image = G.synthesis(latent, noise=list(noise_maps))
    else:
        raise ValueError(f"noise must be one of {NOISE_CHOICES}, got {noise!r}")
    return generator_to_uint8(np.asarray(image)[0])


class Toonifier:
    """Toonify with one pair of generators: align, project, draw, paste.

    Every Toonify of the course goes through one: stills (`toonify`, `toonemo toonify`,
    notebook 04), the emoji set (`expressions.personal_emoji_set`) and video keyframes
    (`video.keyframes.VideoToonifier` adds the keyframe schedule).

    base_G, toon_G  the face model photos are projected into, and the (blended) toon model
    steps           projection steps of a cold start
    warm_steps      projection steps of a warm start from an earlier result (the previous keyframe)
    warm_learning_rate  Adam's step size of a warm start (no ramp-up, no latent noise, and the
                    earlier noise maps kept fixed: optimising them from a standing start fills
                    them with structure and the loss jumps a hundredfold)
    space           "w+" (one w per layer, Pinkney's projector) or "w" (NVIDIA's)
    distance        the projection's `PerceptualDistance` (None: `project`'s default)
    w_stats         precomputed `w_statistics(base_G)`; None computes them once, here
    noise           "const": the toon model's constant noise, as Pinkney; "projected": the
                    noise maps the projection optimised
    feather         the paste-back mask's soft rim, as a fraction of the crop's side
    compiled        draw through a compiled synthesis (worth its tracing when many frames are drawn)
    """

    def __init__(self, base_G, toon_G, *, steps: int = 1000, warm_steps: int = 50, warm_learning_rate: float = 0.1,
                 space: str = "w+", distance=None, w_stats=None, w_avg_samples: int = 10000, noise: str = "const",
                 feather: float = 0.1, seed: int = 0, compiled: bool = False):
        from ..stylegan2.project import w_statistics

        check_generators(base_G, toon_G)
        if noise not in NOISE_CHOICES:
            raise ValueError(f"noise must be one of {NOISE_CHOICES}, got {noise!r}")
        if steps < 1 or warm_steps < 1:
            raise ValueError(f"steps and warm_steps must be >= 1, got {steps} and {warm_steps}")
        self.base_G, self.toon_G = base_G, toon_G
        self.steps, self.warm_steps, self.warm_learning_rate = int(steps), int(warm_steps), float(warm_learning_rate)
        self.space, self.distance, self.noise = space, distance, noise
        self.feather, self.seed, self.compiled = float(feather), int(seed), bool(compiled)
        self.w_stats = w_statistics(base_G, w_avg_samples) if w_stats is None else w_stats
        self._traced = {}  # generator -> its synthesis as a tf.function, made at its first drawing

    @property
    def size(self) -> int:
        """The side of the faces the generators draw (and photos are aligned to)."""
        return self.base_G.resolution

    def align(self, photo: np.ndarray, face_box=None) -> AlignedFace:
        """The largest face of an RGB uint8 photo (or the one in `face_box`), aligned as FFHQ at `size`."""
        try:
            return align_best(check_photo(photo), self.size, face_box=face_box)  # dlib-68 with the align extra, else Haar
        except ValueError as err:
            raise ValueError(f"toonify: {err}") from None

    def project(self, aligned_face: np.ndarray, warm_start=None, steps: int | None = None,
                progress: bool = False, **project_kwargs) -> ProjectionResult:
        """Project an aligned face (size x size x 3) into the face model.

        warm_start: (latent, noise) of an earlier result; the projection then runs `warm_steps`
        (or `steps`) from there with the warm settings.  Other keywords go to `stylegan2.project.project`.
        """
        if aligned_face.shape[:2] != (self.size, self.size):
            raise ValueError(f"the aligned face is {aligned_face.shape[1]}x{aligned_face.shape[0]} but the "
                             f"generators draw {self.size}x{self.size}: align at the generator's resolution")
        options = dict(space=self.space, distance=self.distance, w_stats=self.w_stats, seed=self.seed,
                       progress=progress)
        if warm_start is not None:
            options.update(warm_start=warm_start, initial_learning_rate=self.warm_learning_rate,
                           initial_noise_factor=0.0, lr_rampup_length=0.0, optimize_noise=False)
        steps = steps or (self.steps if warm_start is None else self.warm_steps)
        return project(self.base_G, aligned_face, steps=steps, **{**options, **project_kwargs})

    def draw(self, latent: np.ndarray, G=None, noise_maps=None) -> np.ndarray:
        """uint8 size x size x 3: the toon model's (or `G`'s) image of a [num_ws, w_dim] latent.

        ``noise="projected"`` draws with the given `noise_maps`.  With `compiled` (and the constant
        noise) the synthesis is traced once per generator, so a video frame costs one graph call.
        """
        import tensorflow as tf

        G = self.toon_G if G is None else G
        if self.noise == "projected" or not self.compiled:
            return synthesize(G, latent, self.noise, noise_maps)
        if id(G) not in self._traced:
            self._traced[id(G)] = tf.function(lambda ws: G.synthesis(ws, noise_mode="const"))
        ws = tf.constant(np.asarray(latent, np.float32)[None])
        return generator_to_uint8(np.asarray(self._traced[id(G)](ws))[0])

    def paste(self, photo: np.ndarray, face: np.ndarray, where) -> np.ndarray:
        """`photo` with `face` warped into `where` (an `AlignedFace` or its 4 x 2 quad) through a feathered mask."""
        return paste_back(photo, face, where, feather=self.feather)

    def toonify(self, photo: np.ndarray, *, face_box=None, aligned: AlignedFace | None = None, warm_start=None,
                progress: bool = True, **project_kwargs) -> ToonifyResult:
        """Align (unless `aligned` is given), project, draw with both models and paste back."""
        photo = check_photo(photo)
        aligned = self.align(photo, face_box) if aligned is None else aligned
        projection = self.project(aligned.image, warm_start, progress=progress, **project_kwargs)
        toon_face = self.draw(projection.latent, noise_maps=projection.noise)
        reconstruction = self.draw(projection.latent, self.base_G, noise_maps=projection.noise)
        return ToonifyResult(toon_face=toon_face, pasted=self.paste(photo, toon_face, aligned),
                             latent=projection.latent, losses=projection.losses, aligned=aligned,
                             reconstruction=reconstruction, distance_name=projection.distance_name,
                             noise=self.noise, projection=projection)


def toonify(image, base_G, toon_G, *, steps: int = 1000, space: str = "w+", noise: str = "const",
            distance=None, w_stats=None, warm_start=None, aligned: AlignedFace | None = None, face_box=None,
            feather: float = 0.1, seed: int = 0, progress: bool = True, **project_kwargs) -> ToonifyResult:
    """Toonify the largest face of `image` (RGB uint8 H x W x 3): `Toonifier(...).toonify(...)` in one call.

    base_G: the face model the photo is projected into (FFHQ).  toon_G: the model that
    draws the result (the blended cartoon model); pass base_G itself to see the plain
    reconstruction.  steps, space, distance, w_stats, noise, feather and seed are the
    `Toonifier`'s; warm_start ((latent, noise) of an earlier result), progress and other
    keyword arguments go to `project`.  aligned: an `AlignedFace` already made at the
    generator's resolution (skips detection); face_box: (x, y, w, h) of a known face.

    Raises ValueError when no face is found, when the generators do not draw the same size
    from the same latents, and for an image that is not RGB uint8.
    """
    toonifier = Toonifier(base_G, toon_G, steps=steps, space=space, noise=noise, distance=distance, w_stats=w_stats,
                          feather=feather, seed=seed)
    return toonifier.toonify(image, face_box=face_box, aligned=aligned, warm_start=warm_start, steps=steps,
                             progress=progress, **project_kwargs)


def max_abs_difference(a, b) -> float:
    """Largest |a - b| over all TF1 variables of two networks of one architecture."""
    va, vb = a.tf1_variables(), b.tf1_variables()
    if set(va) != set(vb):
        raise ValueError("the two networks do not have the same variables")
    return max(float(np.abs(va[n].numpy() - vb[n].numpy()).max()) for n in va)


def hard_switch_parents(blended, structure_G, texture_G, resolution: int, level: int = 0) -> dict[str, str]:
    """Which parent each variable of a hard-switch blend equals exactly: 'structure', 'texture' or 'neither'."""
    from ..stylegan2.blend import blend_weights

    weights = blend_weights(structure_G, resolution, level)
    vb, vs, vt = blended.tf1_variables(), structure_G.tf1_variables(), texture_G.tf1_variables()
    parents = {}
    for name, y in weights.items():
        expected, source = ("structure", vs) if y == 0 else ("texture", vt)
        parents[name] = expected if np.array_equal(vb[name].numpy(), source[name].numpy()) else "neither"
    return parents


__all__ = ["NOISE_CHOICES", "Toonifier", "ToonifyResult", "check_generators", "hard_switch_parents",
           "max_abs_difference", "synthesize", "toonify"]
