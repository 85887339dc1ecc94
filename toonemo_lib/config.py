"""Run profiles, the cache directory and the random seed.

A *profile* says how big a run is.  Every notebook reads its sizes from here, so
"what does `cpu` mean for notebook 01?" has exactly one answer:

* ``smoke`` - seconds on a CPU, tiny models, shipped or generated data (what tests use);
* ``cpu``   - a real but small run on a laptop;
* ``gpu``   - the full run on a Colab GPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import platformdirs

SEED = 2020  # the capstone's year; one seed for every notebook so reruns agree

# FER2013's canonical label order (0..6).  Keras folder loaders sort class folders
# alphabetically, which silently breaks this order: always map through this tuple.
EMOTIONS = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / "data"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

# What each profile means for each notebook.  Keys are notebook numbers.
_SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    "smoke": {
        "01": {
            "image_size": 96,  # content/style images for AdaIN style transfer
            "pyramid_levels": 4,  # scales at which statistics are matched
            "adain_download": False,  # fetch the AdaIN network's weights (about 95 MB); else use them when cached
            "latent_samples": 300,  # points in the mapping-network experiment
            "generator_resolution": 32,  # the untrained fallback when the shipped 32x32 face model is missing
            "ffhq_generator": False,  # show NVIDIA's FFHQ generator (about 360 MB, downloaded once) instead
            "grid_seeds": 3,  # rows of the truncation and style-mixing grids
            "layout_pairs": 16,  # pairs of faces whose mixed layouts are measured
            "modconv_size": 16,  # feature-map side in the (de)modulation experiments
        },
        "02": {
            "resolution": 64,  # side of the written StyleGAN2 dataset
            "synthetic_faces": 12,  # cartoon faces drawn for the local fixture site
            "max_pages": 2,  # pagination links the crawler follows
            "source": "gallery",  # the candidates when SOURCE is None: "gallery" (the local crawl) or "met"
            "met_images": 0,  # public-domain portraits fetched from The Met when the source is "met"
        },
        "03": {
            "resume": "shipped-faces",  # the model fine-tuned: the course's face model; "" the discs network of section 3
            "resolution": 32,  # side of the generated data sets (the shipped face model's)
            "cfg": "tiny",  # --cfg preset (tiny / small for a CPU)
            "batch": 8,  # minibatch
            "scratch_images": 256,  # coloured discs for the from-scratch run
            "scratch_kimg": 0.064,  # thousands of images shown from scratch (first call; the resume demo adds more)
            "resume_kimg": 0.096,  # the same run continued after the "disconnect"
            "finetune_images": 48,  # synthetic cartoon faces of the fine-tuning set
            "finetune_kimg": 0.064,  # thousands of images of fine-tuning
            "tick_kimg": 0.016,  # a tick (and, with snap 1, a snapshot) every this many kimg
            "freezed": 1,  # discriminator layers frozen from the image side (FreezeD)
            "grid_seeds": (0, 1, 2),  # rows of the snapshot grids
            "histogram_samples": 48,  # generated images per colour-histogram distance
            "keep_last": 0,  # snapshots kept besides the picked ones (0: all)
        },
        "04": {
            "generator_resolution": 32,  # the untrained stand-ins when the shipped 32x32 pair is missing
            "use_ffhq": False,  # NVIDIA's FFHQ config-f + a cartoon pickle (1024x1024, downloads) instead
            "grid_seeds": (0, 1),  # rows of the blend grids
            "projection_steps": 40,  # Adam steps of the photo projection (NVIDIA's default: 1000)
            "blend_resolution": 16,  # `toonemo toonify`: the toon model's layers below this, the face model's from it
            "w_avg_samples": 2000,  # mapped latents for w_avg and w_std (NVIDIA: 10,000)
            "emoji_size": 96,  # side of the cut-out personal emoji
        },
        "05": {
            "data": "synthetic",  # "synthetic" cartoon faces, or "fer2013" when it is found
            "synthetic_faces": 280,  # faces drawn when the data is synthetic
            "grid_rows": ("origin", "11"),  # rows of seed 000's table that are trained
            "grid_epochs": 6,  # epochs per row (early stopping may end a row sooner); the varied cartoons need 6 to clearly beat the majority class
            "train_limit": 0,  # training images per row, 0 = all
            "augmentation_scale": 0.05,  # multiplies the table's 1k/5k/10k extra samples
            "timing_repeats": 3,  # timing runs per architecture (median reported)
            "bn_recalibration": 20,  # batches that re-estimate BatchNorm statistics before each validation
            "detection_faces": 40,  # validation faces pasted into scenes for the detector table
            "cartoon_faces": 140,  # synthetic cartoon faces the shipped model reads (20 per class)
        },
        "06": {
            "clip_seconds": 2.0,  # length of the clip the notebook makes from the shipped astronaut photo
            "clip_fps": 20,
            "every": 10,  # a keyframe (projected face) every this many frames, as the seed
            "use_ffhq": False,  # NVIDIA's FFHQ config-f + a toon pickle instead of the small stand-ins
            "generator_resolution": 32,  # as in 04: the untrained stand-ins when the shipped pair is missing
            "blend_resolution": 8,  # the toon model takes the cartoon parent's layers up to here
            "projection_steps": 30,  # Adam steps of a cold keyframe projection
            "warm_steps": 8,  # steps of a projection warm-started from the previous keyframe
            "warm_step_sweep": (2, 4, 8),  # warm steps compared with a cold start
            "w_avg_samples": 1000,
            "webcam_frames": 20,  # frames of the headless webcam run
        },
        "07": {
            "use_ffhq": False,  # NVIDIA's FFHQ config-f + a toon pickle (gpu) instead of the course's shipped pair
            "generator_resolution": 32,  # the untrained stand-ins when the shipped pair is missing
            "blend_resolution": 16,  # the toon model takes the cartoon parent's layers up to here (as notebook 04)
            "samples": 500,  # faces labelled by the recogniser to fit the directions (the shipped file: 4000)
            "layer_samples": 30,  # other faces on which the edited W+ rows are chosen
            "held_out": 60,  # faces of other seeds on which the edits are measured
            "strengths": (0, 2, 4),  # the sweep, in standard deviations along each direction
            "strength": 4,  # the strength of the emoji set and of the measured edits
            "face_seed": 7,  # the generated face of the expression grid
            "projection_steps": 20,  # Adam steps of the photo's projection
            "w_avg_samples": 1000,
            "emoji_size": 96,  # side of each cut-out emoji
            "framing": "fer",  # generated faces are framed as FER2013's: classify each whole image
        },
    },
    "cpu": {
        "01": {
            "image_size": 256,
            "pyramid_levels": 6,
            "adain_download": False,
            "latent_samples": 1200,
            "generator_resolution": 64,
            "ffhq_generator": False,
            "grid_seeds": 4,
            "layout_pairs": 16,
            "modconv_size": 32,
        },
        "02": {
            "resolution": 256,
            "synthetic_faces": 40,
            "max_pages": 3,
            "source": "gallery",
            "met_images": 0,
        },
        "03": {
            "resume": "shipped-faces",
            "resolution": 32,
            "cfg": "tiny",
            "batch": 8,
            "scratch_images": 1000,
            "scratch_kimg": 2.5,  # where the learning test sees the discs' colours half learned
            "resume_kimg": 3,
            "finetune_images": 300,
            "finetune_kimg": 1,
            "tick_kimg": 0.5,
            "freezed": 2,
            "grid_seeds": (0, 1, 2, 3),
            "histogram_samples": 256,
            "keep_last": 0,
        },
        "04": {
            "generator_resolution": 64,
            "use_ffhq": False,
            "grid_seeds": (0, 1, 2),
            "projection_steps": 300,
            "blend_resolution": 16,
            "w_avg_samples": 10000,
            "emoji_size": 128,
        },
        "05": {
            "data": "fer2013",
            "synthetic_faces": 700,
            "grid_rows": ("origin", "4", "11"),
            "grid_epochs": 3,
            "train_limit": 8000,
            "augmentation_scale": 0.2,
            "timing_repeats": 5,
            "bn_recalibration": 20,
            "detection_faces": 300,
            "cartoon_faces": 700,
        },
        "06": {
            "clip_seconds": 4.0,
            "clip_fps": 25,
            "every": 10,
            "use_ffhq": False,
            "generator_resolution": 64,
            "blend_resolution": 16,
            "projection_steps": 150,
            "warm_steps": 80,  # what the sweep shows reaching the cold start's loss with the shipped pair
            "warm_step_sweep": (10, 20, 40, 80),
            "w_avg_samples": 5000,
            "webcam_frames": 100,
        },
        "07": {
            "use_ffhq": False,
            "generator_resolution": 32,
            "blend_resolution": 16,
            "samples": 4000,  # as the shipped directions: the notebook reproduces them
            "layer_samples": 100,
            "held_out": 300,
            "strengths": (0, 1, 2, 4, 6),
            "strength": 4,
            "face_seed": 7,
            "projection_steps": 150,
            "w_avg_samples": 5000,
            "emoji_size": 128,
            "framing": "fer",
        },
    },
    "gpu": {
        "01": {
            "image_size": 512,
            "pyramid_levels": 7,
            "adain_download": True,
            "latent_samples": 2500,
            "generator_resolution": 64,
            "ffhq_generator": True,
            "grid_seeds": 5,
            "layout_pairs": 16,
            "modconv_size": 64,
        },
        "02": {
            "resolution": 1024,
            "synthetic_faces": 40,
            "max_pages": 10,
            "source": "met",  # real art faces (CC0) by default; SOURCE names your own
            "met_images": 400,
        },
        "03": {
            "resume": "ffhq1024",  # NVIDIA's FFHQ config-f (about 360 MB, downloaded once) is the base
            "resolution": 1024,  # the pickle's resolution: notebook 02's gpu data set
            "cfg": "paper1024",
            "batch": 2,  # half NVIDIA's per-GPU 4 (paper1024: 32 on 8 GPUs), so that a T4's 15 GB hold a step (README's dry run)
            "scratch_images": 0,
            "scratch_kimg": 0,
            "resume_kimg": 0,
            "finetune_images": 0,  # the data set of notebook 02 (DATA)
            "finetune_kimg": 40,  # the capstone picked its cartoon model a few hundred kimg in; resume to go on
            "tick_kimg": 4,  # NVIDIA's tick; a snapshot every tick, as the capstone did
            "freezed": 0,
            "grid_seeds": (0, 1, 2, 3),
            "histogram_samples": 256,
            "keep_last": 5,  # a 1024 snapshot with its optimizer state is about 0.8 GB: mind the Drive quota
        },
        "04": {
            "generator_resolution": 64,  # the stand-ins when a real model is missing (the real pair is 1024)
            "use_ffhq": True,
            "grid_seeds": (0, 1, 2, 3),
            "projection_steps": 1000,
            "blend_resolution": 32,  # Pinkney's Toonify swaps at 32x32
            "w_avg_samples": 10000,
            "emoji_size": 256,
        },
        "05": {
            "data": "fer2013",
            "synthetic_faces": 700,
            "grid_rows": "all",
            "grid_epochs": 30,  # 17 rows take hours even on a GPU: put OUTPUT_DIR on Drive, re-run to resume
            "train_limit": 0,
            "augmentation_scale": 1.0,
            "timing_repeats": 7,
            "bn_recalibration": 20,
            "detection_faces": 500,
            "cartoon_faces": 700,
        },
        "06": {
            "clip_seconds": 6.0,  # the made clip, when no VIDEO is given
            "clip_fps": 25,
            "every": 10,
            "use_ffhq": True,  # 1024x1024: about a second a projection step on a T4, so few warm steps matter
            "generator_resolution": 64,  # the stand-ins when a real model is missing
            "blend_resolution": 32,  # Pinkney's Toonify swaps at 32x32
            "projection_steps": 500,
            "warm_steps": 100,
            "warm_step_sweep": (25, 50, 100, 200),
            "w_avg_samples": 10000,
            "webcam_frames": 250,
        },
        "07": {
            "use_ffhq": True,  # 1024x1024: labelling 10,000 faces takes minutes on a GPU
            "generator_resolution": 32,
            "blend_resolution": 32,  # Pinkney's Toonify swaps at 32x32
            "samples": 10000,
            "layer_samples": 100,
            "held_out": 300,
            "strengths": (0, 1, 2, 3, 4),
            "strength": 3,
            "face_seed": 7,
            "projection_steps": 500,
            "w_avg_samples": 10000,
            "emoji_size": 256,
            "framing": "detect",  # FFHQ's framing is wider than FER2013's: find the face first
        },
    },
}


@dataclass(frozen=True)
class ToonifySettings:
    """Which toon pair a feature uses and how hard it projects a photo: `toonemo toonify` and notebook 04."""

    use_ffhq: bool  # NVIDIA's FFHQ config-f and a toon pickle instead of the course's shipped pair
    generator_resolution: int  # the untrained stand-ins when the shipped pair is missing
    blend_resolution: int  # the toon model's layers below this resolution, the face model's from it
    projection_steps: int  # Adam steps of a photo's projection
    w_avg_samples: int  # mapped latents for w_avg and w_std

    @classmethod
    def from_notebook(cls, settings: Mapping[str, Any]):
        """The fields of this class, read from one notebook's settings of a profile."""
        return cls(**{f.name: settings[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class VideoSettings(ToonifySettings):
    """`toonemo video` and notebook 06: the toon pair, and how often and how hard keyframes are projected."""

    every: int  # a keyframe every this many frames
    warm_steps: int  # steps of a projection warm-started from the previous keyframe


@dataclass(frozen=True)
class EmojiSettings(ToonifySettings):
    """`toonemo emoji` and notebook 07: the toon pair, the expression directions and the emoji drawn."""

    samples: int  # faces labelled by the recogniser to fit the directions
    layer_samples: int  # other faces on which the edited W+ rows are chosen
    strength: float  # standard deviations along each direction
    emoji_size: int  # side of each cut-out emoji
    framing: str  # "fer": classify each whole generated image; "detect": find the face first


# A dry run (`toonemo run --profile gpu --dry-run`, toonemo_lib/dry_run.py) runs the gpu settings on a
# CPU with stand-ins of the downloads; these are the counts it cuts to what runs each code path once.
# Resolutions, models and batch sizes stay the gpu profile's.
DRY_RUN_ENV = "TOONEMO_DRY_RUN"
DRY_RUN_FACES = "dry-run-faces"  # the folder of real photos in the stand-ins' cache, notebook 02's source
DRY_RUN_CUTS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "01": {"latent_samples": 200, "grid_seeds": 2, "layout_pairs": 2},
    "02": {"source": "{cache}/" + DRY_RUN_FACES, "met_images": 0, "synthetic_faces": 8, "max_pages": 2},
    "03": {"finetune_kimg": 0.008, "tick_kimg": 0.004, "histogram_samples": 8, "grid_seeds": (0, 1), "keep_last": 2},
    "04": {"projection_steps": 2, "w_avg_samples": 100, "grid_seeds": (0, 1)},
    "05": {"grid_rows": ("origin",), "grid_epochs": 1, "train_limit": 256, "synthetic_faces": 70, "timing_repeats": 1,
           "bn_recalibration": 2, "detection_faces": 8, "cartoon_faces": 14},
    "06": {"clip_seconds": 2.0, "every": 5, "projection_steps": 2, "warm_steps": 1, "warm_step_sweep": (1, 2),
           "w_avg_samples": 100, "webcam_frames": 3},
    "07": {"samples": 40, "layer_samples": 2, "held_out": 4, "strengths": (0, 3), "projection_steps": 2,
           "w_avg_samples": 100},
})


def dry_run_active() -> bool:
    """True in a process of a dry run (``TOONEMO_DRY_RUN=1``): the gpu profile's counts are cut."""
    return os.environ.get(DRY_RUN_ENV, "") == "1"


def dry_run_settings(notebook: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The gpu ``settings`` of ``notebook`` with `DRY_RUN_CUTS` (``{cache}`` is `cache_dir()`)."""
    cuts = {key: value.format(cache=cache_dir()) if isinstance(value, str) else value
            for key, value in DRY_RUN_CUTS.get(notebook[:2], {}).items()}
    unknown = sorted(set(cuts) - set(settings))
    if unknown:
        raise KeyError(f"the dry run cuts {unknown} of notebook {notebook[:2]}, which its gpu settings do not have")
    return {**settings, **cuts}


@dataclass(frozen=True)
class Profile:
    """The sizes of one kind of run, per notebook."""

    name: str
    description: str
    notebooks: Mapping[str, Mapping[str, Any]] = field(repr=False)

    def settings(self, notebook: str) -> dict[str, Any]:
        """Settings of notebook ``"01"`` (or ``"01_stylegan_theory"``) in this profile."""
        key = str(notebook)[:2]
        if key not in self.notebooks:
            known = ", ".join(sorted(self.notebooks)) or "none"
            raise KeyError(f"profile {self.name!r} has no settings for notebook {key!r} (it has: {known})")
        if self.name == "gpu" and dry_run_active():
            return dry_run_settings(key, self.notebooks[key])
        return dict(self.notebooks[key])

    # The typed settings of the features that are commands as well as notebooks.
    @property
    def toonify(self) -> ToonifySettings:
        return ToonifySettings.from_notebook(self.settings("04"))

    @property
    def video(self) -> VideoSettings:
        return VideoSettings.from_notebook(self.settings("06"))

    @property
    def emoji(self) -> EmojiSettings:
        return EmojiSettings.from_notebook(self.settings("07"))


PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "smoke": Profile("smoke", "seconds on a CPU: tiny models, shipped or generated data (tests)", _SETTINGS["smoke"]),
        "cpu": Profile("cpu", "a real but small run on a laptop CPU", _SETTINGS["cpu"]),
        "gpu": Profile("gpu", "the full run on a Colab GPU", _SETTINGS["gpu"]),
    }
)


def get_profile(name: str) -> Profile:
    """The profile called ``name``; a ``ValueError`` naming the valid ones otherwise."""
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        valid = ", ".join(PROFILES)
        raise ValueError(f"unknown profile {name!r}: valid profiles are {valid}") from None


def cache_dir() -> Path:
    """Where downloads and trained models live: ``$TOONEMO_HOME`` or the user's cache folder."""
    home = os.environ.get("TOONEMO_HOME")
    if home:
        path = Path(home).expanduser()
    else:
        path = Path(platformdirs.user_cache_dir("toonemo"))
    path.mkdir(parents=True, exist_ok=True)
    return path
