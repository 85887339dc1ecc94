"""A Toonify blend of a stylegan2-ada pair, exported by the project, rendered by NVIDIA's own code.

The pair is MetFaces' form (`dry_run.write_stand_ins`: config-f at 1024x1024 in
stylegan2-ada's TF1 pickle, mixed precision as published) with random weights; the
"fine-tune" is its parent with every weight moved a little, as transfer learning leaves
it.  The project blends the two at 32x32, exports the blend as a stylegan2-ada pickle,
and stylegan2-ada-pytorch's `legacy.load_network_pkl` must render from that file what the
project renders from its own blend.  It needs NVIDIA's code and torch in an environment
of their own (`shared/peers/stylegan2-official/README.md`): TOONEMO_PEER_PYTHON and
TOONEMO_STYLEGAN2_ADA (a work tree of NVlabs/stylegan2-ada-pytorch).
"""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from conftest import PROJECT_ROOT
from toonemo_lib.dry_run import write_stand_ins
from toonemo_lib.stylegan2 import load_official_pickle, save_official_pickle
from toonemo_lib.stylegan2.blend import blend_generators

PEER_PYTHON, CHECKOUT = os.environ.get("TOONEMO_PEER_PYTHON"), os.environ.get("TOONEMO_STYLEGAN2_ADA")
pytestmark = pytest.mark.skipif(
    not (PEER_PYTHON and CHECKOUT),
    reason="NVIDIA's code is not here: set TOONEMO_PEER_PYTHON (a Python with torch) and "
           "TOONEMO_STYLEGAN2_ADA (a work tree of NVlabs/stylegan2-ada-pytorch)")


def test_nvidias_code_renders_the_exported_metfaces_blend_as_the_project_does(tmp_path):
    tf.config.experimental.enable_tensor_float_32_execution(False)
    cache = write_stand_ins(tmp_path / "cache", only=["stylegan2-ada-ffhq1024"])
    parent = load_official_pickle(next(cache.rglob("*.pkl")))
    toon = load_official_pickle(next(cache.rglob("*.pkl"))).Gs
    rng = np.random.default_rng(0)
    for var in toon.tf1_variables().values():  # a fine-tune: close to its parent everywhere
        value = var.numpy()
        var.assign((value + 0.05 * np.std(value) * rng.standard_normal(value.shape)).astype(np.float32))
    blend = blend_generators(toon, parent.Gs, 32)
    exported = save_official_pickle(blend, parent.D, blend, tmp_path / "toonify-metfaces.pkl")
    # what a learner gets: stylegan2-ada's file, float16 in the 4 finest resolutions, clamped
    back = load_official_pickle(exported, flavour="stylegan2-ada")
    assert (back.Gs.get_config()["num_fp16_res"], back.Gs.get_config()["conv_clamp"]) == (4, 256)

    # both sides render the file in float32, as on a CPU
    z = np.random.RandomState(7).randn(2, blend.latent_size).astype(np.float32)
    ours = load_official_pickle(exported, num_fp16_res=0).Gs(z, truncation_psi=1.0).numpy()  # NHWC
    np.savez(tmp_path / "z.npz", z=z)
    spec = dict(checkout=CHECKOUT, pickle=str(exported), latents=str(tmp_path / "z.npz"),
                out=str(tmp_path / "theirs.npz"))
    subprocess.run([PEER_PYTHON, str(Path(PROJECT_ROOT, "benchmarks", "peer_render_official.py")),
                    json.dumps(spec)], check=True, capture_output=True, timeout=900)
    theirs = np.load(tmp_path / "theirs.npz")["images"].transpose(0, 2, 3, 1)
    assert theirs.shape == ours.shape == (2, 1024, 1024, 3)
    scale = np.abs(ours).max()
    assert scale > 0.1  # a picture, not zeros
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-3 * scale)
