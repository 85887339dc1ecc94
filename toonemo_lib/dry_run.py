"""The `gpu` profile run on a CPU: every notebook at its real resolution, fed by format-exact stand-ins.

    toonemo run --profile gpu --dry-run [--only 01,04] [--out reports/]

A dry run executes the notebooks in the `gpu` profile with the real architectures (FFHQ
config-f and the stylegan2-ada pair at 1024x1024, VGG16 for LPIPS, AdaIN's VGG-19 at 512 px,
the Xception family on 48 px faces) and checks that no notebook falls back to the small
models. What the profile downloads is replaced by **stand-ins**: random weights in the exact
file formats, written by the project's own writers into a cache folder (`TOONEMO_HOME`), and
a few real images (`write_stand_ins`). Counts that only make a run longer (kimg, steps,
epochs, frames, samples) are cut to what runs each code path once (`config.DRY_RUN_CUTS`,
applied by `config.Profile.settings`, so the typed settings of the commands get them too).
Each notebook's kernel writes its peak memory when it exits (`record_peak_memory`); `course.run_course`
returns a table of each notebook's status, time, peak memory and the largest image it drew.

Papermill users get the same with ``TOONEMO_DRY_RUN=1`` and ``TOONEMO_HOME`` pointing at a
folder `write_stand_ins` filled.

**What it proves**: every `gpu` code path runs at full resolution with the real
architectures and file formats, without a fallback, and how much memory and time each
notebook takes on this machine. **What it cannot**: anything that depends on the real
weights (the pictures, losses and accuracies are those of random networks), GPU memory and
speed (the README estimates them from these figures), and the downloads themselves.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from .config import DRY_RUN_ENV, DRY_RUN_FACES

PEAK_MEMORY_FILE = "peak_memory.json"

# The side of the images each notebook draws with the real models; drawing less means it fell back.
FULL_SIDE = {"01": 1024, "03": 1024, "04": 1024, "07": 1024}


def record_peak_memory(out_dir) -> None:
    """At the kernel's exit, write its peak resident memory (MiB) to ``out_dir/peak_memory.json``."""
    import atexit
    import resource  # Unix only: imported here, so that the course still imports on Windows

    def write():
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
        mib = peak / 2**20 if sys.platform == "darwin" else peak / 2**10
        Path(out_dir, PEAK_MEMORY_FILE).write_text(json.dumps({"peak_rss_mib": round(mib, 1)}))

    atexit.register(write)


# ---------------------------------------------------------------------------- the stand-ins


def write_stand_ins(cache, only=None) -> Path:
    """Format-exact stand-ins of every `gpu` download under ``cache`` (a `TOONEMO_HOME`); returns ``cache``.

    FFHQ config-f (NVlabs/stylegan2's pickle), MetFaces and its FFHQ parent (stylegan2-ada's
    pickles, mixed precision as published), Keras' VGG16 notop weights and LPIPS' lin layers,
    the AdaIN encoder and decoder (PyTorch state dicts), FER2013 (an npz of drawn faces in
    its format), and the shipped face photos enlarged to 1024 px for notebook 02.  ``only``:
    the manifest names to write (e.g. the AdaIN pair for notebook 01's smoke test), nothing else.
    """
    from .download import artefact

    cache = Path(cache)
    writers = {"stylegan2-ffhq-config-f": _ffhq_pickle, "stylegan2-ada-metfaces": _ada_pickle,
               "stylegan2-ada-ffhq1024": _ada_pickle, "vgg16-notop": _vgg16_notop, "lpips-vgg-lin": _lpips_lin,
               "adain-vgg-normalised": _adain_encoder, "adain-decoder": _adain_decoder}
    for seed, (name, write) in enumerate(writers.items()):
        path = cache / artefact(name).subdir / artefact(name).filename  # where the cache keeps it
        if (only is None or name in only) and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path, seed)
    if only is None:
        _fer2013_npz(cache / "fer2013" / "fer2013_train_val.npz")
        _faces(cache / DRY_RUN_FACES)
    return cache


def _ffhq_pickle(path, seed):
    from .stylegan2.networks import Discriminator, Generator
    from .stylegan2.official import save_official_pickle

    G = Generator(seed=seed)  # the defaults are config-f at 1024
    save_official_pickle(G, Discriminator(seed=seed + 100), G, path)


def _ada_pickle(path, seed):
    from .stylegan2.networks import Discriminator, Generator
    from .stylegan2.official import save_official_pickle

    # stylegan2-ada's paper1024 networks as metfaces.pkl has them: fp16 in the 4 finest resolutions, clamped
    G = Generator(seed=seed, num_fp16_res=4, conv_clamp=256)
    D = Discriminator(seed=seed + 100, num_fp16_res=4, conv_clamp=256)
    save_official_pickle(G, D, G, path, flavour="stylegan2-ada")


def _vgg16_notop(path, seed):
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(seed)
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    with h5py.File(path, "w") as f:  # the layout of Keras' own download (legacy h5 weights)
        legacy_h5_format.save_weights_to_hdf5_group(f, vgg)


def _lpips_lin(path, seed):
    from .stylegan2.perceptual import LPIPS_CHANNELS
    from .torch_weights import write_torch_state_dict

    rng = np.random.default_rng(seed)
    write_torch_state_dict(path, {f"lin{i}.model.1.weight": rng.uniform(0, 0.1, (1, c, 1, 1))
                                  for i, c in enumerate(LPIPS_CHANNELS)})


def random_adain_state(layers, seed: int) -> dict:
    """A state dict of the AdaIN layers' real shapes, He-scaled so that activations stay near 1."""
    rng = np.random.default_rng(seed)
    state = {}
    for spec in layers:
        if spec[0] in ("pool", "up"):
            continue
        _, index, c_in, c_out = spec
        size = 1 if spec[0] == "conv1x1" else 3
        state[f"{index}.weight"] = rng.normal(0, np.sqrt(2 / (c_in * size * size)), (c_out, c_in, size, size))
        state[f"{index}.bias"] = rng.normal(0, 0.1, c_out)
    return state


def _adain_encoder(path, seed):
    from .lessons.adain_network import ENCODER_LAYERS
    from .torch_weights import write_torch_state_dict

    write_torch_state_dict(path, random_adain_state(ENCODER_LAYERS, seed))


def _adain_decoder(path, seed):
    from .lessons.adain_network import DECODER_LAYERS
    from .torch_weights import write_torch_state_dict

    write_torch_state_dict(path, random_adain_state(DECODER_LAYERS, seed))


def _fer2013_npz(path, per_class: int = 30):
    """FER2013's npz layout (48x48 grey, labels 0-6) holding drawn faces: 70 % Training, 30 % PublicTest."""
    from .config import EMOTIONS
    from .datasets.fer2013 import write_fer2013_npz
    from .datasets.synthetic import draw_cartoon_face
    from .images import to_gray

    if path.exists():
        return
    labels = np.repeat(np.arange(len(EMOTIONS)), per_class)
    faces = np.stack([to_gray(draw_cartoon_face(EMOTIONS[k], 48, seed=i)) for i, k in enumerate(labels)])
    order = np.random.default_rng(0).permutation(len(labels))
    split = int(0.7 * len(labels))
    write_fer2013_npz(path, {"train": (faces[order[:split]], labels[order[:split]]),
                             "val": (faces[order[split:]], labels[order[split:]])})


def _faces(folder: Path):
    """The shipped photos enlarged to 1024 px: real faces for notebook 02's data set at 1024."""
    import cv2

    from .datasets.samples import list_samples, load_sample
    from .images import write_image

    folder.mkdir(parents=True, exist_ok=True)
    for name in list_samples("faces"):
        target = folder / (Path(name).stem + ".png")
        if not target.exists():
            image = load_sample(name)
            write_image(target, cv2.resize(image, (1024, 1024), interpolation=cv2.INTER_CUBIC))


# ---------------------------------------------------------------------------- the run


def chained_parameters(notebook: str, out: Path) -> dict:
    """What a notebook takes from the one before it in a run: 03 the data set of 02, 04 the model of 03."""
    if notebook == "03":
        data = out / "02_dataset_building" / "data" / "cartoons-tfrecords"
        return {"DATA": str(data)} if data.exists() else {}
    if notebook == "04":
        exported = sorted((out / "03_finetuning").glob("cartoon-*kimg.pkl"))
        return {"TOON_PICKLE": str(exported[-1])} if exported else {}
    return {}


def fell_back(notebook: str, records: dict) -> bool:
    """True when a notebook drew smaller images than its real models draw (`FULL_SIDE`)."""
    return largest_drawing(records) < FULL_SIDE.get(notebook[:2], 0)


def largest_drawing(records: dict) -> int:
    """The largest image side a notebook recorded drawing (0 when it records none)."""
    # shapes end in (H, W, C): generated_shape [seeds, ...], blend_grid_shape [rows, columns, ...], ...
    sides = [int(records[key][-2]) for key in ("generated_shape", "blend_grid_shape", "finetune_images",
                                               "expression_grid_shape") if records.get(key)]
    if isinstance(records.get("generator"), dict):
        sides.append(int(records["generator"]["resolution"]))
    return max(sides, default=0)


def stand_in_environment(cache: Path) -> dict:
    """The environment a dry run's kernels need: the flag, the stand-ins' cache, their FER2013."""
    return {DRY_RUN_ENV: "1", "TOONEMO_HOME": str(cache),
            "TOONEMO_FER2013": str(Path(cache) / "fer2013" / "fer2013_train_val.npz")}


def peak_memory(notebook_out: Path) -> float:
    """The peak memory (MiB) a dry run's kernel wrote into its output folder, NaN when it wrote none."""
    path = Path(notebook_out) / PEAK_MEMORY_FILE
    return json.loads(path.read_text())["peak_rss_mib"] if path.exists() else float("nan")
