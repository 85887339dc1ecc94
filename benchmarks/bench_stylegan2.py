"""Time StyleGAN2 mapping + synthesis on the current device.

    python benchmarks/bench_stylegan2.py [--runs 7]

Prints the median of several timed runs (after warm-up) in milliseconds, eager
and inside `tf.function`, for the tiny reference network of the shared fixture
(batch 1 and 8; skipped when the shared folder is absent) and for a randomly
initialised 256x256 generator with small channel counts.  No network access.
"""

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from toonemo_lib.stylegan2 import Generator, load_official_pickle

import tensorflow as tf

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path("reference") / "stylegan2" / "tiny_a.pkl"
SMALL_256 = dict(resolution=256, latent_size=128, dlatent_size=128, mapping_layers=4,
                 mapping_fmaps=128, fmap_base=2048, fmap_max=128)


def shared_root():
    return Path(os.environ.get("TOONEMO_SHARED", PROJECT_ROOT.parent / "shared"))


def median_ms(fn, runs, warmup=2):
    """Median wall time of fn() in milliseconds; the result is fetched to the host each time."""
    for _ in range(warmup):
        np.asarray(fn())
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        np.asarray(fn())
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def bench_generator(label, G, batches, runs):
    compiled = tf.function(lambda z: G.synthesis(G.mapping(z), noise_mode="const"))
    for batch in batches:
        z = tf.constant(np.random.RandomState(0).randn(batch, G.latent_size).astype(np.float32))
        eager = median_ms(lambda: G.synthesis(G.mapping(z), noise_mode="const"), runs)
        graph = median_ms(lambda: compiled(z), runs)
        print(f"{label:<34} batch {batch:>2}: eager {eager:8.1f} ms   tf.function {graph:8.1f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per measurement")
    args = parser.parse_args()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    gpus = tf.config.list_physical_devices("GPU")
    print(f"TensorFlow {tf.__version__}, device: {'GPU ' + gpus[0].name if gpus else 'CPU'}, "
          f"median of {args.runs} runs")

    fixture = shared_root() / FIXTURE
    if fixture.is_file():
        Gs = load_official_pickle(fixture).Gs
        bench_generator("tiny_a Gs (32x32, fixture)", Gs, (1, 8), args.runs)
    else:
        print(f"skipping the fixture network: {fixture} is absent (set TOONEMO_SHARED)")

    G = Generator(seed=0, name="G256", **SMALL_256)
    params = sum(int(np.prod(v.shape)) for v in G.trainable_weights)
    bench_generator(f"256x256 random G ({params / 1e6:.2f}M params)", G, (1, 8), args.runs)


if __name__ == "__main__":
    main()
