"""NVIDIA's own StyleGAN2 (stylegan2-ada-pytorch) timed as bench_stylegan2.py times the project.

    PEER_PYTHON peer_stylegan2_official.py '{"checkout": ..., "pickle": ..., "batches": [1, 8], "runs": 5}'

Run by bench_stylegan2.py in a Python that has torch; `checkout` is a work tree of
NVlabs/stylegan2-ada-pytorch and `pickle` an official TF1 network pickle (the config-f
256 fixture).  G_ema and D via `legacy.load_network_pkl`, eval mode, fp32, torch threads =
the cores this process may use.  Per part and batch size: one warm-up call, then `runs`
timed calls, each on fresh inputs drawn (seed 123) before timing.  Parts:
  G_fwd      z -> image (mapping, truncation 1, noise_mode const, force_fp32)
  G_fwd_bwd  W+ -> image -> sum(image * fixed target), gradients to W+ and the noise
             maps (what projector.py differentiates)
  D_fwd      image -> logits;  D_fwd_bwd: and the gradient to the image
Prints one JSON line: {"G_fwd": {"1": [seconds, ...], "8": [...]}, ...}.
"""

import json
import os
import sys
import time

import numpy as np

spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["checkout"])

import torch  # noqa: E402

import legacy  # noqa: E402

torch.set_num_threads(len(os.sched_getaffinity(0)))
with open(spec["pickle"], "rb") as f:
    nets = legacy.load_network_pkl(f)
G = nets["G_ema"].eval().requires_grad_(False)
D = nets["D"].eval().requires_grad_(False)
noise_maps = [buf for name, buf in G.synthesis.named_buffers() if "noise_const" in name]
rng = np.random.RandomState(123)
res = G.img_resolution


def randn(*shape):
    return torch.from_numpy(rng.randn(*shape).astype(np.float32))


def timed(make_input, run, runs):
    """Seconds of `runs` calls after one warm-up, each on an input made before timing."""
    inputs = [make_input() for _ in range(runs + 1)]
    run(inputs[0])
    times = []
    for x in inputs[1:]:
        start = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - start)
    return times


def g_fwd(z):
    with torch.no_grad():
        return G(z, torch.zeros([len(z), 0]), truncation_psi=1, noise_mode="const", force_fp32=True).numpy()


def g_fwd_bwd(inputs):
    ws, target = inputs
    ws = ws.clone().requires_grad_(True)
    for buf in noise_maps:
        buf.requires_grad_(True)
        buf.grad = None
    img = G.synthesis(ws, noise_mode="const", force_fp32=True)
    (img * target).sum().backward()
    return ws.grad.numpy(), [buf.grad.numpy() for buf in noise_maps]


def mapped(batch):
    with torch.no_grad():
        ws = G.mapping(randn(batch, G.z_dim), torch.zeros([batch, 0]))
    return ws, randn(batch, 3, res, res)


def d_fwd(img):
    with torch.no_grad():
        return D(img, torch.zeros([len(img), 0])).numpy()


def d_fwd_bwd(img):
    img = img.clone().requires_grad_(True)
    D(img, torch.zeros([len(img), 0])).sum().backward()
    return img.grad.numpy()


parts = {
    "G_fwd": (lambda b: randn(b, G.z_dim), g_fwd),
    "G_fwd_bwd": (mapped, g_fwd_bwd),
    "D_fwd": (lambda b: randn(b, 3, res, res), d_fwd),
    "D_fwd_bwd": (lambda b: randn(b, 3, res, res), d_fwd_bwd),
}
result = {"version": f"torch {torch.__version__}"}
for part in spec.get("parts", list(parts)):
    make, run = parts[part]
    result[part] = {str(b): timed(lambda b=b: make(b), run, spec["runs"]) for b in spec["batches"]}
print(json.dumps(result), flush=True)
