"""Which face and toon models a Toonify uses, and what it falls back to when one is missing.

    pair = toon_pair(use_ffhq=False, blend_resolution=16)   # the course's shipped pair, blended
    pair.base_G, pair.toon_G, pair.description

The order of choice, the same for notebooks 04, 06, 07 and the `toonify`, `emoji` and `video`
commands: two official pickles given by the learner, as they are; NVIDIA's FFHQ with the Toonify
pickle of the cache (`use_ffhq`); the course's shipped 32x32 pair; small untrained stand-ins.
Each fallback is said in one printed line, and the pair's description says what was used.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..stylegan2.networks import Generator


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
    source: str = "ffhq"  # which texture model: "ffhq", "metfaces" (its parent), "shipped" or "untrained"


def small_models(resolution: int = 32, structure_seed: int = 1, texture_seed: int = 0) -> ToonifyModels:
    """Two small untrained generators (and a discriminator) standing in for the cartoon and FFHQ models."""
    from ..stylegan2.demo import tiny_generator
    from ..stylegan2.networks import Discriminator

    structure = tiny_generator(resolution, seed=structure_seed)
    texture = tiny_generator(resolution, seed=texture_seed)
    D = Discriminator(resolution=resolution, fmap_base=1024, fmap_max=64, seed=structure_seed)
    description = (f"two small **untrained** StyleGAN2 generators ({resolution}x{resolution}, seed "
                   f"{structure_seed} standing in for the cartoon \"structure\" model and seed {texture_seed} for "
                   "the FFHQ \"texture\" model). Untrained generators draw colour blobs, not faces: the figures "
                   "below show the *mechanics* of blending, projecting and pasting, not what Toonify looks like.")
    return ToonifyModels(structure, texture, D, description, real=False,
                         names=(f"structure (seed {structure_seed})", f"texture (seed {texture_seed})"),
                         source="untrained")


def shipped_models() -> ToonifyModels:
    """The course's own small pair (`stylegan2.shipped`): the cartoon model fine-tuned from the
    face model trained on FER2013, 32x32.  Only their G_ema ships, so the discriminator
    exported with a blend is a fresh one of the same architecture."""
    from ..stylegan2.networks import Discriminator
    from ..stylegan2.shipped import load_shipped_generator

    cartoon, faces = load_shipped_generator("cartoons"), load_shipped_generator("faces")
    config = cartoon.get_config()
    D = Discriminator(**{key: config[key] for key in ("resolution", "num_channels", "fmap_base", "fmap_max")})
    description = (f"the course's own small pair ({faces.resolution}x{faces.resolution}): a face model trained "
                   "from scratch on FER2013's faces (texture, in place of FFHQ) and a cartoon model fine-tuned "
                   "from it on synthetic cartoon faces (structure); their cards are in data/models/. Small and "
                   "grey-faced, but real: the same ancestry story as FFHQ and Toonify.")
    return ToonifyModels(cartoon, faces, D, description, real=True, names=("cartoon", "FER2013 faces"),
                         source="shipped")


def toonify_models(use_ffhq: bool = False, toon_pickle: str = "", resolution: int = 32,
                   download: bool = True) -> ToonifyModels:
    """The cartoon and face models of notebooks 04, 06 and 07, or the small stand-ins.

    With ``use_ffhq`` (the `gpu` profile), the first of, each said in the description:

    1. ``toon_pickle`` (the learner's notebook-03 export, fine-tuned from NVIDIA's FFHQ config-f)
       with FFHQ config-f;
    2. the Toonify pickle placed in the cache (manifest entry ``toonify-cartoon-blended``: its
       weights are not public, so it is never downloaded) with FFHQ config-f;
    3. NVIDIA's MetFaces with its own parent, the FFHQ network stylegan2-ada fine-tuned it from
       (``stylegan2-ada-metfaces`` and ``stylegan2-ada-ffhq1024``, downloaded when ``download``).

    A ``toon_pickle`` that is not a file, and no usable pair at all, raise: the learner asked for
    the real models, so a `gpu` run never falls back to the 32x32 pair in silence.  Without
    ``use_ffhq``: the course's shipped pair (`shipped_models`), else ``small_models(resolution)``.
    """
    if use_ffhq:
        return _real_models(toon_pickle, download)
    try:
        return shipped_models()
    except FileNotFoundError as err:
        print(f"{err}; using small untrained generators instead.")
    return small_models(resolution)


def _real_models(toon_pickle: str, download: bool) -> ToonifyModels:
    from pathlib import Path

    from ..download import fetch_artefact

    if toon_pickle:
        toon_path = Path(toon_pickle).expanduser()
        if not toon_path.is_file():
            raise FileNotFoundError(f"TOON_PICKLE {toon_pickle!r} is not a file: give the .pkl notebook 03 exported")
        return _pair_with_ffhq(toon_path, f"your cartoon model {toon_path.name}", download)
    try:
        toonify = fetch_artefact("toonify-cartoon-blended", download=False)
    except FileNotFoundError:
        toonify = None
    if toonify is not None:
        return _pair_with_ffhq(toonify, f"the Toonify pickle {toonify.name} placed in the cache", download)
    try:
        metfaces = fetch_artefact("stylegan2-ada-metfaces", download=download)
        parent = fetch_artefact("stylegan2-ada-ffhq1024", download=download)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"no real toon pair: no TOON_PICKLE was given, no Toonify pickle is in the cache, "
                                f"and MetFaces could not be fetched ({err})") from None
    structure, texture = _load(metfaces), _load(parent)
    return ToonifyModels(structure.Gs, texture.Gs, structure.D,
                         f"NVIDIA's MetFaces (structure, portraits from the Metropolitan Museum, fine-tuned with ADA) "
                         f"and its own parent, stylegan2-ada's FFHQ {parent.name} (texture), "
                         f"{texture.Gs.resolution}x{texture.Gs.resolution}; no TOON_PICKLE and no Toonify pickle "
                         "was found", real=True, names=("MetFaces", "FFHQ"), source="metfaces")


def _pair_with_ffhq(toon_path, said: str, download: bool) -> ToonifyModels:
    from ..download import fetch_artefact
    from ..stylegan2.blend import check_same_architecture

    cartoon, ffhq = _load(toon_path), _load(fetch_artefact("stylegan2-ffhq-config-f", download=download))
    check_same_architecture(cartoon.Gs, ffhq.Gs)
    return ToonifyModels(cartoon.Gs, ffhq.Gs, cartoon.D,
                         f"{said} (structure) and NVIDIA's StyleGAN2 FFHQ config-f (texture), "
                         f"{ffhq.Gs.resolution}x{ffhq.Gs.resolution}", real=True)


def _load(path):
    from ..stylegan2.official import load_official_pickle

    return load_official_pickle(path)


@dataclass
class ToonPair:
    """The face model a photo is projected into, the toon model that draws the latent, and where
    they came from: source is "pickles", "ffhq", "metfaces", "shipped" or "untrained"."""

    base_G: Generator
    toon_G: Generator
    description: str
    real: bool
    source: str


def toon_pair(use_ffhq: bool, blend_resolution: int, generator_resolution: int = 32, base_pickle=None,
              toon_pickle=None, download: bool = True) -> ToonPair:
    """Two official pickles (the face model and the toon model blended from it) as they are, or
    `toonify_models`' pair (FFHQ or MetFaces, the course's shipped pair or untrained stand-ins)
    blended at `blend_resolution` (at most the models' resolution)."""
    from pathlib import Path

    from ..stylegan2.blend import blend_generators

    if (base_pickle is None) != (toon_pickle is None):
        raise ValueError("the base and toon pickles go together: the face model and the toon model blended from it")
    if base_pickle is not None:
        from ..stylegan2.official import load_official_pickle

        return ToonPair(load_official_pickle(base_pickle).Gs, load_official_pickle(toon_pickle).Gs,
                        f"{Path(base_pickle).name} (face) and {Path(toon_pickle).name} (toon)", True, "pickles")
    models = toonify_models(use_ffhq, resolution=generator_resolution, download=download)
    level = min(blend_resolution, models.texture.resolution)
    # The untrained stand-ins are unrelated by construction, and their description says so.
    toon_G = blend_generators(models.structure, models.texture, level, check_parents=models.real)
    if not models.real:
        size = f"{models.texture.resolution}x{models.texture.resolution}"
        return ToonPair(models.texture, toon_G, f"small untrained stand-ins ({size}, blended at {level}x{level}): "
                        "they draw colour blobs, not faces; give real pickles for real toons", False, "untrained")
    return ToonPair(models.texture, toon_G, f"{models.description.rstrip('.')}; blended at {level}x{level}", True,
                    models.source)


__all__ = ["ToonPair", "ToonifyModels", "shipped_models", "small_models", "toon_pair", "toonify_models"]
