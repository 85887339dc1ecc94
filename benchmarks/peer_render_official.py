"""Images from a TF1 network pickle as NVIDIA's own code renders them (stylegan2-ada-pytorch).

    PEER_PYTHON peer_render_official.py '{"checkout": ..., "pickle": ..., "latents": in.npz, "out": out.npz}'

Run in a Python that has torch (never the project's environment); `checkout` is a work tree
of NVlabs/stylegan2-ada-pytorch.  G_ema via `legacy.load_network_pkl` (which converts both
NVlabs/stylegan2 and TensorFlow NVlabs/stylegan2-ada pickles), truncation 1, noise_mode
const, float32 (`force_fp32`, as on any CPU).  Writes the NCHW images of the latents `z`
of `latents` as `images` in `out`.
"""

import json
import sys

import numpy as np

spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["checkout"])

import torch  # noqa: E402

import legacy  # noqa: E402

with open(spec["pickle"], "rb") as f:
    G = legacy.load_network_pkl(f)["G_ema"].eval().requires_grad_(False)
z = torch.from_numpy(np.load(spec["latents"])["z"])
with torch.no_grad():
    images = G(z, torch.zeros([len(z), G.c_dim]), truncation_psi=1, noise_mode="const", force_fp32=True)
np.savez(spec["out"], images=images.numpy())
