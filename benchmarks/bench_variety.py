"""How varied the synthetic cartoons are, beside real FER2013 faces.

    python benchmarks/bench_variety.py [--n 1000] [--size 64] [--fer2013 PATH] [--baseline FILE]

Prints the mean pairwise distance (`quality.generators.mean_pairwise_distance`) of `--n`
drawn cartoons (seeds 0..n-1, the expressions cycling) and of `--n` FER2013 PublicTest
faces resized to the same size, under every feature of `VARIETY_FEATURES`; the cartoons
in both framings (`draw_cartoon_face`'s "portrait" and "fer", the one the 64x64 cartoon
model is fine-tuned on).  A cartoon
set far less varied than the real faces gives a StyleGAN2 fine-tuned on it little
reason to draw different faces for different latents.

`--baseline` names a Python file with another `draw_cartoon_face` (an older drawing, e.g.
``git show REV:toonemo_lib/datasets/synthetic.py`` saved outside the repository with its
``..config`` import made absolute) to measure beside the current one.  FER2013 is skipped,
with a message, when its file is absent.
"""

import argparse
import functools
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

from toonemo_lib.config import EMOTIONS
from toonemo_lib.datasets.synthetic import draw_cartoon_face
from toonemo_lib.quality.generators import VARIETY_FEATURES, mean_pairwise_distance
from toonemo_lib.cpu import describe_cpu

DEFAULT_FER2013 = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013" / "fer2013_train_val.npz"


def drawn_faces(draw, n: int, size: int) -> np.ndarray:
    """Seeds 0..n-1, the seven expressions cycling."""
    return np.stack([draw(EMOTIONS[i % len(EMOTIONS)], size, seed=i) for i in range(n)])


def fer2013_faces(path: Path, n: int, size: int) -> np.ndarray | None:
    """The first `n` PublicTest faces as RGB at `size`, or None (with a message) when the file is absent."""
    from toonemo_lib.datasets.fer2013 import generator_faces, load_fer2013

    if not path.exists():
        print(f"FER2013 skipped: no file at {path} (give --fer2013 PATH)")
        return None
    splits = load_fer2013(path)
    images, labels = splits["val"]  # "val" is FER2013's PublicTest split
    return generator_faces({"val": (images[:n], labels[:n])}, size, use=("val",))


def load_drawing(path: Path):
    spec = importlib.util.spec_from_file_location("baseline_drawing", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.draw_cartoon_face


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="faces per set")
    parser.add_argument("--size", type=int, default=64, help="side of every face, in pixels")
    parser.add_argument("--fer2013", type=Path, default=DEFAULT_FER2013, help="FER2013 .npz, .csv or folder")
    parser.add_argument("--baseline", type=Path, help="a .py file with another draw_cartoon_face to compare")
    args = parser.parse_args()
    print(describe_cpu(), flush=True)

    sets = {}
    start = time.perf_counter()
    sets["cartoons (current drawing)"] = drawn_faces(draw_cartoon_face, args.n, args.size)
    sets["cartoons, FER2013 framing"] = drawn_faces(functools.partial(draw_cartoon_face, framing="fer"),
                                                    args.n, args.size)
    print(f"drew {args.n} cartoons at {args.size} px in {time.perf_counter() - start:.1f} s")
    if args.baseline:
        sets[f"cartoons ({args.baseline.name})"] = drawn_faces(load_drawing(args.baseline), args.n, args.size)
    real = fer2013_faces(args.fer2013, args.n, args.size)
    if real is not None:
        sets["FER2013 PublicTest"] = real

    print(f"\nmean pairwise distance, {args.n} faces per set, {args.size}x{args.size}:")
    print(f"{'set':<36}" + "".join(f"{feature:>16}" for feature in VARIETY_FEATURES))
    for name, faces in sets.items():
        row = "".join(f"{mean_pairwise_distance(faces, feature):>16.4f}" for feature in VARIETY_FEATURES)
        print(f"{name:<36}{row}")


if __name__ == "__main__":
    main()
