"""Quality of the shipped small StyleGAN2 pair, measured offline: the figures of their cards.

    python benchmarks/bench_generators.py [--fer2013 PATH] [--samples 1000] [--real 1000]
                                          [--out data/models]

For the face model (`data/models/stylegan2-faces-fer2013-32.npz`) against FER2013
PublicTest faces, and for the cartoon model against the synthetic cartoons it was
fine-tuned on, at truncation 1.0 and 0.7 (`quality.generators.quality_table`):

- the Haar share: faces in which OpenCV's default cascade finds a face (each face
  zero-padded by a quarter of its side and resized to 128 px, real and generated alike),
  and its ratio to the real faces' share (the target: at least 0.8 at truncation 0.7);
- the Fréchet emotion-feature distance to the real faces (the shipped emotion
  classifier's penultimate features: a stand-in, not FID);
- the shipped emotion recogniser's expression mix.

With ``--snapshot PATH`` it measures a training snapshot's G_ema instead (a run in progress,
e.g. the newest file in ``data/checkpoints/faces64/``) by the face model's targets, against
FER2013 at the snapshot's resolution (bicubic from 48 px, as the model was trained):

- **sharpness**: the mean variance of the Laplacian of 1,000 generated faces (psi 1.0) over
  that of 1,000 real PublicTest faces (target: at least 0.6);
- **expression mix**: the shipped recogniser's class shares on 1,000 generated faces (psi
  1.0), and their total-variation distance to FER2013 Training's labels (target: at most 0.2);
- **variety**: the mean pairwise distance (`thumbnail_rms`) of generated and real faces.

It writes the cards' figures to --out: each model's training curve from the log shipped
beside it (`<model>.log.csv`, with the distance over training) and one grid of samples
of the pair (the same latents through both models).  No network access; FER2013 is
found as the emotion notebooks find it (or give --fer2013).
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from toonemo_lib.cpu import describe_cpu  # noqa: E402
from toonemo_lib.datasets.fer2013 import load_fer2013, require_fer2013  # noqa: E402
from toonemo_lib.datasets.synthetic import synthetic_faces  # noqa: E402
from toonemo_lib.config import EMOTIONS  # noqa: E402
from toonemo_lib.datasets.fer2013 import generator_faces  # noqa: E402
from toonemo_lib.quality.generators import (expression_mix, laplacian_sharpness,  # noqa: E402
                                            mean_pairwise_distance, mix_distance, quality_table, sample_faces)
from toonemo_lib.stylegan2.snapshot import load_snapshot  # noqa: E402
from toonemo_lib.stylegan2.shipped import load_shipped_generator, shipped_path  # noqa: E402
from toonemo_lib.plots import image_grid, plot_training_log  # noqa: E402


def curve_figure(kind: str, out: Path) -> Path | None:
    """The model's training log (losses, regularisers, p, the distance) as a PNG beside it."""
    log_path = shipped_path(kind).with_suffix(".log.csv")
    if not log_path.exists():
        print(f"{log_path.name} missing: no training curve for the {kind} model")
        return None
    fig = plot_training_log(pd.read_csv(log_path), metric="fed_emotion")
    fig.suptitle(f"{shipped_path(kind).stem}: training log", y=1.02)
    path = out / f"{shipped_path(kind).stem}.curve.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def samples_figure(faces_G, cartoons_G, real, out: Path, count: int = 10) -> Path:
    """Real faces, then face-model samples at psi 1.0 and 0.7, then the cartoon model on the
    psi-0.7 latents: one row each."""
    rows = {"real FER2013": real[:count],
            "faces, psi 1.0": sample_faces(faces_G, count, 1.0, seed=7),
            "faces, psi 0.7": sample_faces(faces_G, count, 0.7, seed=7),
            "cartoons, psi 0.7 (same latents)": sample_faces(cartoons_G, count, 0.7, seed=7)}
    images = [np.repeat(im[..., None], 3, -1) if im.ndim == 2 else im for row in rows.values() for im in row]
    titles = [name if i == 0 else "" for name in rows for i in range(count)]
    fig = image_grid(images, titles, ncols=count, size=1.1, suptitle="the shipped pair, 32x32")
    path = out / "stylegan2-pair-32.samples.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def snapshot_measures(path: Path, splits, samples: int, real_count: int) -> pd.DataFrame:
    """The face model's targets for a snapshot's G_ema: one row for real faces, one generated."""
    G = load_snapshot(path).Gs
    real = generator_faces(splits, G.resolution, use=("val",))[:real_count]
    labels = splits["train"][1]
    train_mix = pd.Series(np.bincount(labels, minlength=len(EMOTIONS)) / len(labels), index=list(EMOTIONS))
    fakes = sample_faces(G, samples, 1.0, seed=0)
    rows = {}
    for name, faces, mix in (("real FER2013 (PublicTest; Training's labels)", real, train_mix),
                             (f"{path.name}, psi 1.0", fakes, expression_mix(fakes))):
        rows[name] = {"count": len(faces), "sharpness": laplacian_sharpness(faces, G.resolution),
                      "variety_rms": mean_pairwise_distance(faces), "mix_tv": mix_distance(mix, train_mix),
                      **mix.to_dict()}
    table = pd.DataFrame(rows).T
    table.insert(2, "sharpness_vs_real", table["sharpness"] / table["sharpness"].iloc[0])
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fer2013", default=None, help="FER2013 (.npz, .csv or folders); default: found")
    parser.add_argument("--samples", type=int, default=1000, help="generated faces per truncation")
    parser.add_argument("--real", type=int, default=1000, help="real faces (PublicTest) to compare with")
    parser.add_argument("--out", type=Path, default=shipped_path("faces").parent, help="where figures go")
    parser.add_argument("--snapshot", type=Path, default=None,
                        help="measure this training snapshot's G_ema by the face model's targets instead")
    args = parser.parse_args(argv)
    print(describe_cpu(), flush=True)
    pd.set_option("display.width", 200)
    if args.snapshot is not None:
        table = snapshot_measures(args.snapshot, load_fer2013(require_fer2013(args.fer2013)), args.samples, args.real)
        print(table.round(3).to_string())
        return

    real = load_fer2013(require_fer2013(args.fer2013))["val"][0][:args.real]
    cartoons = synthetic_faces(args.real, size=32, seed=0)[0]
    models = {kind: load_shipped_generator(kind) for kind in ("faces", "cartoons")}
    tables = {"faces": quality_table(models["faces"], real, n=args.samples, real_name="real FER2013 PublicTest"),
              "cartoons": quality_table(models["cartoons"], cartoons, n=args.samples,
                                        real_name="synthetic cartoons")}
    for kind, table in tables.items():
        print(f"\n## {shipped_path(kind).name}\n")
        print(table.round(3).to_string())
    args.out.mkdir(parents=True, exist_ok=True)
    written = [curve_figure(kind, args.out) for kind in models]
    written.append(samples_figure(models["faces"], models["cartoons"], real, args.out))
    print("\nfigures:", ", ".join(str(p) for p in written if p is not None))


if __name__ == "__main__":
    main()
