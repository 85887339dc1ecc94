"""NVIDIA's own StyleGAN2 training step (stylegan2-ada-pytorch), timed like bench_train.py.

    PEER_PYTHON peer_train_official.py '{"checkout": ..., "resolution": 32, "batch": 8, ...}'

Run by bench_train.py in a Python that has torch; `checkout` is a work tree of
NVlabs/stylegan2-ada-pytorch.  Builds its Generator and Discriminator at the given
channel plan (PyTorch's channel_base is twice this project's fmap_base), full precision
(num_fp16_res 0, no conv clamp: a CPU has no fast float16), and runs its training loop's
phases -- Gmain, Greg every 4, Dmain, Dreg every 16, with the lazy Adam and G_ema -- on
random reals.  Prints one JSON line: images/s and sec/kimg (median of the runs).
"""

import copy
import json
import statistics
import sys
import time

spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["checkout"])

import torch  # noqa: E402

from training.loss import StyleGAN2Loss  # noqa: E402
from training.networks import Discriminator, Generator  # noqa: E402

torch.manual_seed(0)
res, batch = spec["resolution"], spec["batch"]
channels = dict(channel_base=2 * spec["fmap_base"], channel_max=spec["fmap_max"], num_fp16_res=0, conv_clamp=None)
G = Generator(z_dim=spec["latent"], c_dim=0, w_dim=spec["latent"], img_resolution=res, img_channels=3,
              mapping_kwargs=dict(num_layers=spec["map_layers"]), synthesis_kwargs=channels).train().requires_grad_(False)
D = Discriminator(c_dim=0, img_resolution=res, img_channels=3, epilogue_kwargs=dict(mbstd_group_size=spec["mbstd"]),
                  **channels).train().requires_grad_(False)
G_ema = copy.deepcopy(G).eval()
loss = StyleGAN2Loss(torch.device("cpu"), G_mapping=G.mapping, G_synthesis=G.synthesis, D=D,
                     r1_gamma=spec["gamma"], style_mixing_prob=0.9, pl_weight=2)

phases = []
for name, module, interval in (("G", G, 4), ("D", D, 16)):
    ratio = interval / (interval + 1)
    opt = torch.optim.Adam(module.parameters(), lr=spec["lrate"] * ratio, betas=(0.0, 0.99**ratio), eps=1e-8)
    phases += [(name + "main", module, opt, 1), (name + "reg", module, opt, interval)]


def minibatch(batch_idx):
    reals = torch.rand([batch, 3, res, res]) * 2 - 1
    labels = torch.zeros([batch, 0])
    for name, module, opt, interval in phases:
        if batch_idx % interval:
            continue
        opt.zero_grad(set_to_none=True)
        module.requires_grad_(True)
        loss.accumulate_gradients(phase=name, real_img=reals, real_c=labels, gen_z=torch.randn([batch, G.z_dim]),
                                  gen_c=labels, sync=True, gain=interval)
        module.requires_grad_(False)
        opt.step()
    with torch.no_grad():
        for p_ema, p in zip(G_ema.parameters(), G.parameters()):
            p_ema.copy_(p.lerp(p_ema, 0.99))


def run(count):
    start = time.perf_counter()
    for i in range(count):
        minibatch(i)
    return time.perf_counter() - start


run(spec["minibatches"])  # warm-up
seconds = statistics.median(run(spec["minibatches"]) for _ in range(spec["runs"]))
img_s = spec["minibatches"] * batch / seconds
print(json.dumps(dict(impl="official-pytorch", resolution=res, batch=batch, img_s=round(img_s, 2),
                      sec_per_kimg=round(1000 / img_s, 1), torch=torch.__version__,
                      torch_threads=torch.get_num_threads())))
