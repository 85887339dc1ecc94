"""Time StyleGAN2 training (NVIDIA's four phases per minibatch) on the current device.

    python benchmarks/bench_train.py [--configs tiny small] [--resolutions 32 64 128]
                                     [--batch 8] [--runs 3] [--minibatches 16]

For each configuration and resolution, builds a `Trainer` (random networks, ADA off),
compiles the four phases on a warm-up of `--minibatches` minibatches, then times `--runs`
runs of `--minibatches` minibatches each and prints the median images/s and sec/kimg.
16 minibatches hold NVIDIA's lazy schedule once: the main phases every minibatch, path
length on 4 of them, R1 on 1, so the figures include the regularisers' share.  The
compile time of the first minibatches is printed separately (it is what a short CPU
run mostly pays).  No network access.

A peer: when TOONEMO_PEER_PYTHON names a Python with torch and TOONEMO_STYLEGAN2_ADA a
checkout of NVlabs/stylegan2-ada-pytorch, the same configurations are timed with
NVIDIA's own training loss (`training/loss.py` StyleGAN2Loss, its networks at the same
channel counts) by `peer_train_official.py` in that Python, and the ratio is printed.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from toonemo_lib.cpu import describe_cpu  # (the package's TensorFlow settings before TensorFlow loads)
from toonemo_lib.datasets.synthetic import coloured_discs
from toonemo_lib.stylegan2.presets import config_preset
from toonemo_lib.stylegan2.trainer import Trainer

PEER_SCRIPT = Path(__file__).with_name("peer_train_official.py")


def time_minibatches(trainer, images, count):
    """Seconds for `count` minibatches (statistics read back, so the work is done)."""
    batch = trainer.config.batch
    start = time.perf_counter()
    for i in range(count):
        stats = trainer.step(images[(i * batch) % len(images):][:batch])
    float(stats["loss_D"])
    return time.perf_counter() - start


def bench(cfg, resolution, batch, runs, minibatches):
    config = config_preset(cfg, resolution, batch=batch)
    trainer = Trainer(config, aug="noaug")
    images = coloured_discs(max(64, batch), resolution)
    compile_s = time_minibatches(trainer, images, minibatches)
    seconds = statistics.median(time_minibatches(trainer, images, minibatches) for _ in range(runs))
    img_s = minibatches * batch / seconds
    params = [sum(int(np.prod(v.shape)) for v in net.trainable_variables) for net in (trainer.G, trainer.D)]
    return dict(impl="toonemo", cfg=cfg, resolution=resolution, batch=batch, G_params=params[0],
                D_params=params[1], img_s=round(img_s, 2), sec_per_kimg=round(1000 / img_s, 1),
                first_minibatches_s=round(compile_s, 1))


def peer(cfg, resolution, batch, runs, minibatches):
    """NVIDIA's PyTorch trainer on the same configuration, or None when it is not given."""
    python, checkout = os.environ.get("TOONEMO_PEER_PYTHON"), os.environ.get("TOONEMO_STYLEGAN2_ADA")
    if not (python and checkout):
        return None
    config = config_preset(cfg, resolution, batch=batch)
    spec = dict(checkout=checkout, resolution=resolution, batch=batch, runs=runs, minibatches=minibatches,
                latent=config.latent_size, map_layers=config.map_layers, fmap_base=config.fmap_base,
                fmap_max=config.fmap_max, mbstd=config.mbstd, gamma=config.gamma, lrate=config.lrate)
    done = subprocess.run([python, str(PEER_SCRIPT), json.dumps(spec)], capture_output=True, text=True)
    if done.returncode:
        print(f"peer failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["tiny", "small"])
    parser.add_argument("--resolutions", nargs="+", type=int, default=[32, 64, 128])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--minibatches", type=int, default=16)
    args = parser.parse_args()
    import tensorflow as tf

    print(json.dumps(dict(cpu=describe_cpu(), tensorflow=tf.__version__)), flush=True)
    for cfg in args.configs:
        for resolution in args.resolutions:
            ours = bench(cfg, resolution, args.batch, args.runs, args.minibatches)
            print(json.dumps(ours), flush=True)
            theirs = peer(cfg, resolution, args.batch, args.runs, args.minibatches)
            if theirs is not None:
                print(json.dumps(dict(theirs, ratio_ours_over_peer=round(ours["img_s"] / theirs["img_s"], 2))),
                      flush=True)


if __name__ == "__main__":
    main()
