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

from .faces.align import AlignedFace, align_best, paste_back
from .stylegan2.generate import generator_to_uint8
from .stylegan2.networks import Generator
from .stylegan2.project import ProjectionResult, project

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


def toonify(image, base_G, toon_G, *, steps: int = 1000, space: str = "w+", noise: str = "const",
            distance=None, w_stats=None, warm_start=None, aligned: AlignedFace | None = None, face_box=None,
            feather: float = 0.1, seed: int = 0, progress: bool = True, **project_kwargs) -> ToonifyResult:
    """Toonify the largest face of `image` (RGB uint8 H x W x 3); see the module docstring.

    base_G: the face model the photo is projected into (FFHQ).  toon_G: the model that
    draws the result (the blended cartoon model); pass base_G itself to see the plain
    reconstruction.  steps, space ("w+" by default, as Pinkney's projector; "w" is NVIDIA's),
    distance, w_stats (precomputed `w_statistics(base_G)`), warm_start ((latent, noise) of an
    earlier result, e.g. the previous video frame), seed and progress go to `project`, as do
    other keyword arguments.  noise: "const" (the toon model's constant noise, as Pinkney)
    or "projected" (the optimised noise maps).  aligned: an `AlignedFace` already made at
    the generator's resolution (skips detection); face_box: (x, y, w, h) of a known face.
    feather: the paste-back mask's soft rim, as a fraction of the crop's side.

    Raises ValueError when no face is found, when the generators do not draw the same size
    from the same latents, and for an image that is not RGB uint8.
    """
    check_generators(base_G, toon_G)
    if noise not in NOISE_CHOICES:
        raise ValueError(f"noise must be one of {NOISE_CHOICES}, got {noise!r}")
    photo = np.asarray(image)
    if photo.dtype != np.uint8 or photo.ndim != 3 or photo.shape[2] != 3:
        raise ValueError(f"image must be an H x W x 3 RGB uint8 array, got shape {photo.shape} dtype {photo.dtype}")
    size = base_G.resolution
    if aligned is None:
        try:
            aligned = align_best(photo, size, face_box=face_box)  # dlib-68 with the align extra, else Haar
        except ValueError as err:
            raise ValueError(f"toonify: {err}") from None
    elif aligned.image.shape[:2] != (size, size):
        raise ValueError(f"the aligned face is {aligned.image.shape[1]}x{aligned.image.shape[0]} but the "
                         f"generators draw {size}x{size}: align at the generator's resolution")
    projection = project(base_G, aligned.image, steps=steps, space=space, distance=distance, w_stats=w_stats,
                         warm_start=warm_start, seed=seed, progress=progress, **project_kwargs)
    toon_face = synthesize(toon_G, projection.latent, noise, projection.noise)
    reconstruction = synthesize(base_G, projection.latent, noise, projection.noise)
    pasted = paste_back(photo, toon_face, aligned, feather=feather)
    return ToonifyResult(toon_face=toon_face, pasted=pasted, latent=projection.latent, losses=projection.losses,
                         aligned=aligned, reconstruction=reconstruction, distance_name=projection.distance_name,
                         noise=noise, projection=projection)


@dataclass
class ToonifyModels:
    """The two parents of a Toonify blend and where they came from.

    structure: the cartoon (fine-tuned) model, which gives the blend its low-resolution layers;
    texture: the face (FFHQ) model, which gives the high ones and is what photos are projected
    into; structure_D: a discriminator to export with the blend (Pinkney writes
    (structure G, structure D, blended Gs)); real: False for the small stand-ins; names: what
    figures call the structure and the texture model.
    """

    structure: Generator
    texture: Generator
    structure_D: object
    description: str
    real: bool
    names: tuple = ("cartoon", "FFHQ")


def small_models(resolution: int = 32, structure_seed: int = 1, texture_seed: int = 0) -> ToonifyModels:
    """Two small untrained generators (and a discriminator) standing in for the cartoon and FFHQ models."""
    from .stylegan2.demo import tiny_generator
    from .stylegan2.networks import Discriminator

    structure = tiny_generator(resolution, seed=structure_seed)
    texture = tiny_generator(resolution, seed=texture_seed)
    D = Discriminator(resolution=resolution, fmap_base=1024, fmap_max=64, seed=structure_seed)
    description = (f"two small **untrained** StyleGAN2 generators ({resolution}x{resolution}, seed "
                   f"{structure_seed} standing in for the cartoon \"structure\" model and seed {texture_seed} for "
                   "the FFHQ \"texture\" model). Untrained generators draw colour blobs, not faces: the figures "
                   "below show the *mechanics* of blending, projecting and pasting, not what Toonify looks like.")
    return ToonifyModels(structure, texture, D, description, real=False,
                         names=(f"structure (seed {structure_seed})", f"texture (seed {texture_seed})"))


def shipped_models() -> ToonifyModels:
    """The course's own small pair (`stylegan2.shipped`): the cartoon model fine-tuned from the
    face model trained on FER2013, 32x32.  Only their G_ema ships, so the discriminator
    exported with a blend is a fresh one of the same architecture."""
    from .stylegan2.networks import Discriminator
    from .stylegan2.shipped import load_shipped_generator

    cartoon, faces = load_shipped_generator("cartoons"), load_shipped_generator("faces")
    config = cartoon.get_config()
    D = Discriminator(**{key: config[key] for key in ("resolution", "num_channels", "fmap_base", "fmap_max")})
    description = (f"the course's own small pair ({faces.resolution}x{faces.resolution}): a face model trained "
                   "from scratch on FER2013's faces (texture, in place of FFHQ) and a cartoon model fine-tuned "
                   "from it on synthetic cartoon faces (structure); their cards are in data/models/. Small and "
                   "grey-faced, but real: the same ancestry story as FFHQ and Toonify.")
    return ToonifyModels(cartoon, faces, D, description, real=True, names=("cartoon", "FER2013 faces"))


def toonify_models(use_ffhq: bool = False, toon_pickle: str = "", resolution: int = 32) -> ToonifyModels:
    """The cartoon and FFHQ models of notebook 04, or the small stand-ins.

    With ``use_ffhq``: NVIDIA's FFHQ config-f (``download.fetch_artefact``, a download the first
    time) and the cartoon model from ``toon_pickle`` (e.g. notebook 03's snapshot) or, when that
    is "", the Toonify pickle placed in the cache (manifest entry ``toonify-cartoon-blended``;
    never downloaded).  Without ``use_ffhq``: the course's shipped pair (`shipped_models`).
    Anything missing or unreadable is reported in one printed line and the next choice taken
    (FFHQ -> the shipped pair -> ``small_models(resolution)``), so the notebook always runs through.
    """
    if use_ffhq:
        from pathlib import Path

        from .download import DownloadError, fetch_artefact
        from .stylegan2.blend import check_same_architecture
        from .stylegan2.official import OfficialPickleError, load_official_pickle

        try:
            if toon_pickle:
                toon_path = Path(toon_pickle).expanduser()
                if not toon_path.is_file():
                    raise FileNotFoundError(f"TOON_PICKLE {toon_pickle!r} is not a file")
            else:
                toon_path = fetch_artefact("toonify-cartoon-blended", download=False)
            cartoon = load_official_pickle(toon_path)
            ffhq = load_official_pickle(fetch_artefact("stylegan2-ffhq-config-f"))
            check_same_architecture(cartoon.Gs, ffhq.Gs)
            return ToonifyModels(cartoon.Gs, ffhq.Gs, cartoon.D,
                                 f"the cartoon model {toon_path.name} (structure) and NVIDIA's StyleGAN2 FFHQ "
                                 f"config-f (texture), {ffhq.Gs.resolution}x{ffhq.Gs.resolution}", real=True)
        except (DownloadError, FileNotFoundError, OfficialPickleError, TypeError, ValueError) as err:
            print(f"The real models are unavailable ({err}); using the course's small pair instead.")
    try:
        return shipped_models()
    except FileNotFoundError as err:
        print(f"{err}; using small untrained generators instead.")
    return small_models(resolution)


@dataclass
class ToonPair:
    """The face model a photo is projected into, the toon model that draws the latent, and where
    they came from: source is "pickles", "ffhq", "shipped" or "untrained"."""

    base_G: Generator
    toon_G: Generator
    description: str
    real: bool
    source: str


def toon_pair(use_ffhq: bool, blend_resolution: int, generator_resolution: int = 32, base_pickle=None,
              toon_pickle=None) -> ToonPair:
    """Two official pickles (the face model and the toon model blended from it) as they are, or
    `toonify_models`' pair (FFHQ, the course's shipped pair or untrained stand-ins) blended at
    `blend_resolution` (at most the models' resolution)."""
    from pathlib import Path

    from .stylegan2.blend import blend_generators

    if (base_pickle is None) != (toon_pickle is None):
        raise ValueError("the base and toon pickles go together: the face model and the toon model blended from it")
    if base_pickle is not None:
        from .stylegan2.official import load_official_pickle

        return ToonPair(load_official_pickle(base_pickle).Gs, load_official_pickle(toon_pickle).Gs,
                        f"{Path(base_pickle).name} (face) and {Path(toon_pickle).name} (toon)", True, "pickles")
    models = toonify_models(use_ffhq, resolution=generator_resolution)
    level = min(blend_resolution, models.texture.resolution)
    # The untrained stand-ins are unrelated by construction, and their description says so.
    toon_G = blend_generators(models.structure, models.texture, level, check_parents=models.real)
    if not models.real:
        size = f"{models.texture.resolution}x{models.texture.resolution}"
        return ToonPair(models.texture, toon_G, f"small untrained stand-ins ({size}, blended at {level}x{level}): "
                        "they draw colour blobs, not faces; give real pickles for real toons", False, "untrained")
    return ToonPair(models.texture, toon_G, f"{models.description.rstrip('.')}; blended at {level}x{level}", True,
                    "ffhq" if models.names[1] == "FFHQ" else "shipped")


def max_abs_difference(a, b) -> float:
    """Largest |a - b| over all TF1 variables of two networks of one architecture."""
    va, vb = a.tf1_variables(), b.tf1_variables()
    if set(va) != set(vb):
        raise ValueError("the two networks do not have the same variables")
    return max(float(np.abs(va[n].numpy() - vb[n].numpy()).max()) for n in va)


def hard_switch_parents(blended, structure_G, texture_G, resolution: int, level: int = 0) -> dict[str, str]:
    """Which parent each variable of a hard-switch blend equals exactly: 'structure', 'texture' or 'neither'."""
    from .stylegan2.blend import blend_weights

    weights = blend_weights(structure_G, resolution, level)
    vb, vs, vt = blended.tf1_variables(), structure_G.tf1_variables(), texture_G.tf1_variables()
    parents = {}
    for name, y in weights.items():
        expected, source = ("structure", vs) if y == 0 else ("texture", vt)
        parents[name] = expected if np.array_equal(vb[name].numpy(), source[name].numpy()) else "neither"
    return parents


__all__ = ["NOISE_CHOICES", "ToonifyModels", "ToonifyResult", "check_generators", "hard_switch_parents",
           "max_abs_difference", "small_models", "synthesize", "toonify", "toonify_models"]
