"""Expression directions of the shipped face model, fitted and measured: the figures of its card.

    python benchmarks/bench_expressions.py [--samples 4000] [--layer-samples 100] [--held-out 500]
                                           [--strengths 0,1,2,4,6] [--strength 4] [--write]
                                           [--snapshot PATH]

Fits InterFaceGAN directions for `data/models/stylegan2-faces-fer2013-32.npz` with the shipped
emotion recogniser (`toonemo_lib.toonify.expressions.fit_expression_directions`), prints how long it
took, each boundary's fit accuracy and the layer effects, then measures the edits on held-out
latents (seeds 20,000 and up, never used to fit) with the fitting recogniser and the
independent second one (`data/models/emotion_resnet_32.keras`): the mean probability of
the intended expression, the share labelled so, and the identity distance outside eyes
and mouth, per strength.  `--write` saves the directions beside the model
(`<model>.expressions.npz`, what the course loads); without it the fit is compared with
the shipped file.  `--snapshot PATH` fits and measures a training snapshot's G_ema instead (a run
in progress; nothing is written or compared).  No network access.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from toonemo_lib.cpu import describe_cpu  # (the package's TensorFlow settings before TensorFlow loads)
from toonemo_lib.emotion.recognize import SECOND_MODEL, EmotionRecognizer
from toonemo_lib.toonify.expressions import (ExpressionDirections, directions_path, edit_report,
                                             fit_expression_directions, mapped_latents, strength_sweep)
from toonemo_lib.stylegan2.shipped import load_shipped_generator, shipped_path
from toonemo_lib.stylegan2.snapshot import load_snapshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--layer-samples", type=int, default=100)
    parser.add_argument("--held-out", type=int, default=500)
    parser.add_argument("--strengths", default="0,1,2,4,6")
    parser.add_argument("--strength", type=float, default=4.0)
    parser.add_argument("--write", action="store_true", help="save the directions beside the shipped face model")
    parser.add_argument("--snapshot", type=Path, default=None,
                        help="a training snapshot's G_ema instead of the shipped face model")
    args = parser.parse_args()
    if args.write and args.snapshot is not None:
        parser.error("--write saves beside the shipped face model: it does not go with --snapshot")
    print(describe_cpu(), flush=True)
    pd.set_option("display.width", 200)

    G = load_shipped_generator("faces") if args.snapshot is None else load_snapshot(args.snapshot).Gs
    labeller, judge = EmotionRecognizer(), EmotionRecognizer(SECOND_MODEL)
    began = time.perf_counter()
    directions = fit_expression_directions(G, labeller, samples=args.samples, layer_samples=args.layer_samples)
    print(f"fitted on {args.samples} faces in {time.perf_counter() - began:.0f} s; edited W+ rows "
          f"{directions.layers[0]}..{directions.layers[1] - 1} of {G.num_ws}")
    print(directions.table().round(3).to_string())
    print("\nrise of p(intended) when only one resolution's rows move:")
    print(pd.DataFrame(directions.info["layer_effects"]).round(4).to_string())
    path = directions_path(shipped_path("faces"))
    if args.write:
        print(f"\nwrote {directions.save(path)}")
    elif path.exists() and args.snapshot is None:  # a snapshot's fit belongs to another model
        kept = ExpressionDirections.load(path)
        print(f"\nlargest |difference| from the shipped {path.name}: "
              f"{np.abs(kept.directions - directions.directions).max():.2e}")

    strengths = [float(s) for s in args.strengths.split(",")]
    held_out = mapped_latents(G, range(20_000, 20_000 + args.held_out))
    sweep = strength_sweep(G, directions, {"labeller": labeller, "judge": judge}, held_out, strengths)
    print(f"\n{args.held_out} held-out latents, per strength:")
    print(sweep.round(3).to_string(index=False))
    print(f"\nat strength {args.strength:g} (labeller: {labeller.model_path.name}, judge: {judge.model_path.name}):")
    print(edit_report(sweep, args.strength).round(3).to_string())


if __name__ == "__main__":
    main()
