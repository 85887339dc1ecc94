"""Time projection steps (NVIDIA's projector, `toonemo_lib.stylegan2.project`) on the current device.

    python benchmarks/bench_project.py [--runs 5] [--steps 10] [--space w] [--skip-256]

For the tiny course generator (32x32) and a randomly initialised 256x256 generator
with config-f's channel plan (fmap_base 16384, fmap_max 512, 512-d latents, 8 mapping
layers), prints projection steps/s (median over runs of `--steps` compiled steps,
after warm-up) and the share of a step spent in the generator's forward pass, in
the loss (distance + noise regularisation) and in the backward pass + Adam update.
The shares come from timing forward, forward+loss and the full step separately and
taking differences.  The distance is whatever `perceptual_distance()` finds (the
stand-in when the VGG16/LPIPS files are not cached); its name is printed.
No network access.
"""

import argparse
import statistics
import time

import numpy as np
import tensorflow as tf

from toonemo_lib.stylegan2 import Generator
from toonemo_lib.stylegan2.demo import tiny_generator
from toonemo_lib.stylegan2.perceptual import perceptual_distance
from toonemo_lib.stylegan2.project import _Projector, w_statistics
from toonemo_lib.cpu import describe_cpu

CONFIG_F_256 = dict(resolution=256, fmap_base=16 << 10, fmap_max=512)  # other args: defaults


def median_s(fn, runs, repeat):
    """Median over `runs` of the mean seconds per call of `repeat` calls of fn (after warm-up)."""
    for _ in range(2):
        np.asarray(fn())
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(repeat):
            out = fn()
        np.asarray(out)
        times.append((time.perf_counter() - start) / repeat)
    return statistics.median(times)


def bench(label, G, space, distance, runs, steps):
    w_avg, w_std = w_statistics(G, samples=1000)
    rng = np.random.default_rng(0)
    noise = [rng.standard_normal(s).astype(np.float32) for s in G.synthesis.noise_shapes()]
    latent = w_avg[None, None] if space == "w" else np.tile(w_avg[None, None], [1, G.num_ws, 1])
    target = np.asarray(G.synthesis(np.tile(w_avg[None, None], [1, G.num_ws, 1])))
    proj = _Projector(G, target, space, distance, latent, noise, 1e5, seed=0)
    scale = tf.constant(w_std * 0.05)
    forward = tf.function(lambda: proj.forward(scale))
    with_loss = tf.function(lambda: proj.loss(proj.forward(scale))[0])
    lr = tf.constant(0.01)
    t_fwd = median_s(forward, runs, steps)
    t_loss = median_s(with_loss, runs, steps)
    t_step = median_s(lambda: proj.step(lr, scale)[0], runs, steps)
    share = dict(forward=t_fwd / t_step, loss=max(t_loss - t_fwd, 0) / t_step,
                 backward=max(t_step - t_loss, 0) / t_step)
    print(f"{label:<34} space {space:<3} {1 / t_step:8.2f} steps/s  ({t_step * 1e3:8.1f} ms/step)  "
          f"G forward {share['forward']:5.1%}  loss {share['loss']:5.1%}  "
          f"backward+update {share['backward']:5.1%}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="steps per timed run")
    parser.add_argument("--space", choices=["w", "w+"], default="w")
    parser.add_argument("--skip-256", action="store_true")
    args = parser.parse_args()
    print(describe_cpu(), flush=True)
    distance = perceptual_distance()
    print(f"device: {'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'}; "
          f"distance: {distance.name}")
    bench("tiny generator 32x32", tiny_generator(32, seed=0), args.space, distance,
          args.runs, args.steps)
    if not args.skip_256:
        G = Generator(seed=0, **CONFIG_F_256)
        bench("config-f channels, 256x256, random", G, args.space, distance,
              max(3, args.runs // 2), max(2, args.steps // 4))


if __name__ == "__main__":
    main()
