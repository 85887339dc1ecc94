"""The gpu profile's dry run (`dry_run`, `course.run_course(dry_run=True)`, `toonemo run --dry-run`).

The quick tests check the pieces: the cuts against the gpu settings, the light stand-ins,
the peak memory a kernel writes, how notebooks pass results on, and the command's usage.
The dry run itself (every notebook at 1024 on stand-ins) runs with TOONEMO_SLOW_TESTS=1.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from toonemo_lib.config import (DRY_RUN_CUTS, DRY_RUN_ENV, DRY_RUN_FACES, NOTEBOOKS_DIR, dry_run_settings,
                                get_profile)
from toonemo_lib.datasets.fer2013 import load_fer2013
from toonemo_lib.dry_run import (PEAK_MEMORY_FILE, _adain_decoder, _adain_encoder, _faces, _fer2013_npz, _lpips_lin,
                                 chained_parameters, fell_back, largest_drawing, peak_memory)
from toonemo_lib.images import read_image
from toonemo_lib.torch_weights import read_torch_state_dict

slow = pytest.mark.skipif(not os.environ.get("TOONEMO_SLOW_TESTS"),
                          reason="slow (every notebook at 1024 on a CPU); set TOONEMO_SLOW_TESTS=1 to run it")


@pytest.mark.parametrize("notebook", sorted(DRY_RUN_CUTS))
def test_the_cuts_name_only_gpu_settings_and_keep_the_resolutions(notebook, tmp_path, monkeypatch):
    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path))
    gpu = get_profile("gpu").settings(notebook)
    monkeypatch.setenv(DRY_RUN_ENV, "1")
    cut = get_profile("gpu").settings(notebook)
    assert set(cut) == set(gpu) and cut != gpu
    assert get_profile("smoke").settings(notebook) == get_profile("smoke").notebooks[notebook]  # gpu only
    for key in ("resolution", "image_size", "use_ffhq", "blend_resolution", "resume", "cfg", "batch"):
        assert cut.get(key) == gpu.get(key)  # the dry run is of the real sizes
    if notebook == "02":
        assert cut["source"] == f"{tmp_path}/{DRY_RUN_FACES}"
    if notebook == "07":  # the strength sweep must hold 0 and the emoji's strength (the notebook checks)
        assert {0, cut["strength"]} <= set(cut["strengths"])
    if notebook == "06":  # two keyframes with a face for the warm-start table
        assert cut["clip_seconds"] * cut["clip_fps"] > 3 * cut["every"]
    with pytest.raises(KeyError, match="do not have"):
        dry_run_settings(notebook, {})


def test_the_typed_settings_of_the_commands_get_the_cuts_too(monkeypatch):
    steps = get_profile("gpu").video.projection_steps
    monkeypatch.setenv(DRY_RUN_ENV, "1")
    assert get_profile("gpu").video.projection_steps == DRY_RUN_CUTS["06"]["projection_steps"] < steps
    assert get_profile("gpu").emoji.samples == DRY_RUN_CUTS["07"]["samples"]


def test_the_light_stand_ins_have_the_downloads_formats(tmp_path):
    from toonemo_lib.lessons.adain_network import AdaINNetwork

    _adain_encoder(tmp_path / "vgg_normalised.pth", 0)
    _adain_decoder(tmp_path / "decoder.pth", 1)
    network = AdaINNetwork(read_torch_state_dict(tmp_path / "vgg_normalised.pth"),
                           read_torch_state_dict(tmp_path / "decoder.pth"))
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert network.stylise(image, image).shape == (32, 32, 3)
    _lpips_lin(tmp_path / "vgg.pth", 2)
    assert sorted(read_torch_state_dict(tmp_path / "vgg.pth")) == [f"lin{i}.model.1.weight" for i in range(5)]
    _fer2013_npz(tmp_path / "fer2013" / "fer2013_train_val.npz")
    splits = load_fer2013(tmp_path / "fer2013" / "fer2013_train_val.npz")
    assert splits["train"][0].shape[1:] == (48, 48) and sorted(set(splits["val"][1])) == list(range(7))
    _faces(tmp_path / "faces")
    faces = sorted((tmp_path / "faces").iterdir())
    assert faces and all(read_image(f).shape == (1024, 1024, 3) for f in faces)


def test_a_kernel_writes_its_peak_memory_when_it_exits(tmp_path):
    subprocess.run([sys.executable, "-c", "import numpy as np; from toonemo_lib.dry_run import record_peak_memory; "
                    f"record_peak_memory({str(tmp_path)!r}); x = np.ones(2**25)"], check=True)  # 256 MiB
    assert json.loads((tmp_path / PEAK_MEMORY_FILE).read_text())["peak_rss_mib"] > 256
    assert peak_memory(tmp_path) > 256
    assert np.isnan(peak_memory(tmp_path / "none"))


def test_results_pass_from_notebook_to_notebook_and_the_largest_drawing_is_read(tmp_path):
    assert chained_parameters("03", tmp_path) == {}
    data = tmp_path / "02_dataset_building" / "data" / "cartoons-tfrecords"
    data.mkdir(parents=True)
    assert chained_parameters("03", tmp_path) == {"DATA": str(data)}
    (tmp_path / "03_finetuning").mkdir()
    (tmp_path / "03_finetuning" / "cartoon-0.008kimg.pkl").write_bytes(b"")
    assert chained_parameters("04", tmp_path)["TOON_PICKLE"].endswith("cartoon-0.008kimg.pkl")
    assert largest_drawing({"generated_shape": [2, 1024, 1024, 3], "generator": {"resolution": 512}}) == 1024
    assert largest_drawing({"blend_grid_shape": [2, 9, 1024, 1024, 3]}) == 1024
    assert largest_drawing({}) == 0
    assert fell_back("01_stylegan_theory", {"generated_shape": [2, 32, 32, 3]})  # the 32x32 model instead of FFHQ
    assert not fell_back("01_stylegan_theory", {"generated_shape": [2, 1024, 1024, 3]})
    assert not fell_back("05_emotion_scaling", {})


def test_a_dry_run_is_of_the_gpu_profile(tmp_path, capsys):
    from toonemo_lib.cli import main

    assert main(["run", "--profile", "cpu", "--dry-run", "--out", str(tmp_path)]) == 2
    assert "add --profile gpu" in capsys.readouterr().err


@slow
def test_every_notebook_runs_at_full_resolution_on_the_stand_ins(tmp_path):
    from toonemo_lib.course import run_course

    table = run_course("gpu", tmp_path, dry_run=True)
    print(table.to_string())
    assert (table["status"] == "ok").all(), table[table["status"] != "ok"]
    assert (table["peak memory (MiB)"] > 0).all()
    largest = dict(zip(table["notebook"].str[:2], table["largest image"]))
    assert all(largest[n] == 1024 for n in ("01", "03", "04", "07")), largest
    assert (tmp_path / "gpu-dry-run" / "dry_run.csv").exists()
    assert os.environ.get(DRY_RUN_ENV) is None  # the run leaves the environment as it found it
    assert sorted(p.name[:2] for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")) == sorted(largest)
