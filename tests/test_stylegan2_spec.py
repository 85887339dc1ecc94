"""RunSpec: one run's data and settings, its identity, config.json, and a TensorFlow-free CLI."""

import json
import subprocess
import sys

import pytest

from conftest import PROJECT_ROOT
from toonemo_lib.stylegan2.spec import IDENTITY, RunSpec

# data/checkpoints/faces64/config.json as the code before RunSpec wrote it (a literal: tests do
# not read data/checkpoints).  Written by
#   toonemo train --data fer2013:64 --cfg tiny --batch 32 --mirror --warm-start shipped-faces --seed 0
FACES64_CONFIG = """{
 "data_fingerprint": "4b6d5bf672f36991",
 "resolution": 64,
 "cfg": "tiny",
 "batch": 32,
 "gamma": 0.0256,
 "aug": "ada",
 "p": null,
 "mirror": true,
 "freezed": 0,
 "seed": 0,
 "resume": null,
 "warm_start": "shipped-faces",
 "data": "fer2013:64"
}"""


def test_a_spec_with_the_same_settings_is_the_run_an_old_config_json_records():
    recorded = json.loads(FACES64_CONFIG)
    spec = RunSpec(data="fer2013:64", cfg="tiny", batch=32, mirror=True, warm_start="shipped-faces", seed=0)
    assert spec.identity(recorded["data_fingerprint"], 64) == {k: recorded[k] for k in IDENTITY}
    assert spec.config(64).gamma == 0.0256  # gamma from the preset: 0.0002 * 64**2 / 32
    # The old file reads back as the spec (the keys it lacks take the defaults).
    assert RunSpec.from_json(FACES64_CONFIG) == spec.replace(gamma=0.0256)
    assert spec.identity("other", 64)["data_fingerprint"] == "other"
    assert spec.replace(seed=1).identity("x", 64) != spec.identity("x", 64)
    assert spec.replace(kimg=500, tick_kimg=1, keep_last=2).identity("x", 64) == spec.identity("x", 64)


def test_the_spec_writes_and_reads_back_as_json():
    spec = RunSpec(data="discs.zip", cfg="small", kimg=12.5, metrics=["fid"], keep=[12, 16], carry="checkpoints/x")
    assert spec.keep == (12.0, 16.0) and spec.metrics == ("fid",)
    assert RunSpec.from_json(spec.to_json()) == spec
    assert json.loads(spec.to_json())["keep"] == [12.0, 16.0]
    with pytest.raises(ValueError, match="not both"):
        RunSpec(data="d.zip", resume="a.pkl", warm_start="shipped-faces")
    with pytest.raises(dataclasses_error()):
        spec.seed = 3  # frozen: a changed run is a new spec (spec.replace)


def dataclasses_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_the_cli_reads_the_presets_without_loading_tensorflow():
    code = ("import sys; import toonemo_lib.cli.train as c; from toonemo_lib.stylegan2 import spec; "
            "print(c.PRESET_NAMES, 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("False"), done.stdout
    assert "'tiny'" in done.stdout
