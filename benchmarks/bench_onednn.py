"""Training speed of the shipped emotion recipe with TensorFlow's oneDNN kernels off and on.

    python benchmarks/bench_onednn.py [--steps 60] [--rounds 3] [--batch 64]

oneDNN is read once, when TensorFlow is imported, so each measurement is a fresh
process with ``TF_ENABLE_ONEDNN_OPTS`` set to 0 or 1; the two settings alternate round
by round so that neither gets a quieter machine.  Each process builds the shipped
recipe's network (``SHIPPED_RECIPE``: mini-Xception x2 wide at 48x48), compiles it as
training does, warms up on a few steps (tracing is not timed), then times ``--steps``
training steps of batch ``--batch`` on random faces.  Prints images per second for each
round, the median per setting, and the ratio on / off.  On CPUs with AVX-512 oneDNN
crashes this training (see ``toonemo_lib.cpu``): there, time it only with ``--crash-check``.

    python benchmarks/bench_onednn.py --crash-check 5

repeats the crash instead: ``--crash-check N`` fresh processes per setting each train the
mini-Xception for two epochs of random faces with a validation pass (Keras ``fit``, as
``toonemo_lib.emotion.train`` does), and the exit status of each is printed (0 done,
-6 abort from glibc's "double free", -11 segfault).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from toonemo_lib.cpu import describe_cpu

CHILD = r"""
import json, sys, time
import numpy as np
import keras
from toonemo_lib.emotion.models import SHIPPED_RECIPE, build_for
from toonemo_lib.emotion.train import compile_model

steps, batch = int(sys.argv[1]), int(sys.argv[2])
model = compile_model(build_for(SHIPPED_RECIPE), SHIPPED_RECIPE)
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (batch, 48, 48, 1)).astype("float32")
y = keras.utils.to_categorical(rng.integers(0, 7, batch), 7).astype("float32")
for _ in range(3):
    model.train_on_batch(x, y)
start = time.perf_counter()
for _ in range(steps):
    model.train_on_batch(x, y)
print(json.dumps({"images_per_s": steps * batch / (time.perf_counter() - start)}))
"""

CRASH_CHILD = r"""
import numpy as np
import keras
from toonemo_lib.emotion.models import build_model

rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (2048, 48, 48, 1)).astype("float32")
y = keras.utils.to_categorical(rng.integers(0, 7, 2048), 7).astype("float32")
model = build_model("mini", input_shape=(48, 48, 1), blocks=4)
model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=64, epochs=2, validation_split=0.1, verbose=0)
"""


def crash_check(runs: int) -> None:
    """Exit statuses of `runs` mini-Xception trainings per oneDNN setting."""
    for setting in ("1", "0"):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": setting, "TF_CPP_MIN_LOG_LEVEL": "3"}
        codes = [subprocess.run([sys.executable, "-c", CRASH_CHILD], env=env, capture_output=True).returncode
                 for _ in range(runs)]
        crashed = sum(code != 0 for code in codes)
        print(f"oneDNN {'on ' if setting == '1' else 'off'}: exit statuses {codes}: {crashed} of {runs} crashed",
              flush=True)


def measure(onednn: str, steps: int, batch: int) -> float:
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(steps), str(batch)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["images_per_s"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--crash-check", type=int, default=0, metavar="N",
                        help="instead of timing, train N times per setting and print who crashed")
    args = parser.parse_args(argv)
    print(describe_cpu(onednn=False), flush=True)
    if args.crash_check:
        crash_check(args.crash_check)
        return 0
    results = {"0": [], "1": []}
    for round_ in range(args.rounds):
        for setting in ("0", "1") if round_ % 2 == 0 else ("1", "0"):
            speed = measure(setting, args.steps, args.batch)
            results[setting].append(speed)
            print(f"round {round_ + 1}: oneDNN {'on ' if setting == '1' else 'off'} {speed:7.1f} images/s", flush=True)
    off, on = statistics.median(results["0"]), statistics.median(results["1"])
    print(f"median: oneDNN off {off:.1f} images/s, on {on:.1f} images/s, on / off = {on / off:.2f}"
          f" ({os.cpu_count()} cores, batch {args.batch}, {args.steps} steps per round)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
