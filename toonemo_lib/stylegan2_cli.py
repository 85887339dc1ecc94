"""The `toonemo train` command: StyleGAN2 training or fine-tuning into a run folder.

    toonemo train --data DATASET --out RUN_DIR [--cfg auto] [--resume PKL|SNAPSHOT|NAME]
                  [--kimg N] [--tick-kimg 4] [--snap 1] [--batch B] [--gamma G] [--mirror]
                  [--aug ada] [--p P] [--freezed K] [--metrics fed_emotion]
                  [--strategy auto|one|mirrored|tpu] [--seed 0] [--keep-last K] [--keep KIMG,...]

Running the same command again continues the run from its newest snapshot; a larger
--kimg trains on.  Exit status: 0 done, 1 a failure (missing or empty data set, resolution
mismatch, another run in the folder, non-finite losses), 2 a usage error.
"""

from __future__ import annotations

import sys

from .cli_options import finite_float, range_error

SEED_MAX = 2**32 - 1  # NumPy's seeds are 0 .. 2**32 - 1

# The names of stylegan2/loss.py's presets: that module imports TensorFlow, which the
# `toonemo` command must not load before a sub-command runs (tests check the two agree).
PRESET_NAMES = ("auto", "stylegan2", "paper256", "paper512", "paper1024", "tiny", "small")


def add_commands(subparsers) -> None:
    """Register `toonemo train` on an argparse sub-parsers object."""
    train = subparsers.add_parser(
        "train", help="train or fine-tune StyleGAN2 (NVIDIA's losses, ADA, a snapshot every tick)",
        description="Train StyleGAN2 on a data set built by `toonemo dataset`, or fine-tune a "
                    "network (--resume) on it.  Running the same command again continues the "
                    "run from its newest snapshot; a larger --kimg trains on.",
        epilog="exit status: 0 done, 1 a failure while training, 2 a usage error")
    train.add_argument("--data", required=True,
                       help="TFRecords folder, stylegan2-ada .zip, or fer2013:R (FER2013's faces at R x R)")
    train.add_argument("--out", required=True, help="run folder (snapshots, grids, log.csv)")
    train.add_argument("--cfg", default="auto", choices=PRESET_NAMES,
                       help="base configuration (stylegan2-ada's, plus tiny/small for CPU)")
    train.add_argument("--resume", default=None,
                       help="official TF1 pickle, snapshot .npz, a manifest name (ffhq1024), or shipped-faces "
                            "(the course's face model with the discriminator fitted for it)")
    train.add_argument("--warm-start", default=None,
                       help="start a new run at a higher resolution from a smaller trained pair: shipped-faces "
                            "or a snapshot .npz (the weights whose names and shapes match are copied)")
    train.add_argument("--kimg", type=finite_float, default=None, help="train until this many kimg")
    train.add_argument("--tick-kimg", type=finite_float, default=4.0, help="kimg per tick (default 4)")
    train.add_argument("--snap", type=int, default=1, help="snapshot every N ticks (default 1)")
    train.add_argument("--batch", type=int, default=None, help="global minibatch")
    train.add_argument("--gamma", type=finite_float, default=None, help="R1 weight (default: the cfg's)")
    train.add_argument("--mirror", action="store_true", help="x-flips double the data set")
    train.add_argument("--aug", default="ada", choices=("noaug", "ada", "fixed"))
    train.add_argument("--p", type=finite_float, default=None, help="augmentation probability (--aug fixed)")
    train.add_argument("--freezed", type=int, default=0, help="freeze the first K layers of D")
    train.add_argument("--metrics", default="none",
                       help="comma list of fid, kid, fed_emotion, ked_emotion (or none)")
    train.add_argument("--strategy", default="auto", choices=("auto", "one", "mirrored", "tpu"))
    train.add_argument("--seed", type=int, default=0, help=f"random seed, 0 to {SEED_MAX} (default 0)")
    train.add_argument("--keep-last", type=int, default=None,
                       help="keep only the newest K snapshots (plus --keep)")
    train.add_argument("--carry", default=None,
                       help="a folder that keeps the run between sessions (e.g. data/checkpoints/faces64): the "
                            "run continues from it when it is ahead, and its newest snapshot is copied there")
    train.add_argument("--keep", default="", help="kimg of snapshots never to delete, e.g. 12,16")
    train.set_defaults(func=run_train)


def _usage_errors(args) -> list[str]:
    from .stylegan2.metrics import parse_metrics

    errors = [range_error(f"--{name.replace('_', '-')}", getattr(args, name), above=0)
              for name in ("kimg", "tick_kimg", "snap", "batch")]
    errors += [range_error("--gamma", args.gamma, minimum=0), range_error("--p", args.p, minimum=0, maximum=1),
               range_error("--freezed", args.freezed, minimum=0), range_error("--keep-last", args.keep_last, minimum=0),
               range_error("--seed", args.seed, minimum=0, maximum=SEED_MAX)]
    try:
        args.metrics = parse_metrics(args.metrics)
    except ValueError as err:
        errors.append(str(err))
    try:
        args.keep = [float(k) for k in args.keep.split(",") if k.strip()]
    except ValueError:
        errors.append(f"--keep must be a comma list of kimg, e.g. 12,16, got {args.keep!r}")
    else:
        errors += [range_error("--keep", k, minimum=0) for k in args.keep]
    return [error for error in errors if error]


def run_train(args) -> int:
    errors = _usage_errors(args)
    if errors:
        for error in errors:
            print(f"toonemo train: error: {error}", file=sys.stderr)
        return 2
    from .emotion_features import metric_extractors
    from .stylegan2.train import train

    try:
        train(args.data, args.out, cfg=args.cfg, resume=args.resume,
              warm_start=args.warm_start, kimg=args.kimg,
              tick_kimg=args.tick_kimg, snap=args.snap, batch=args.batch, gamma=args.gamma,
              mirror=args.mirror, aug=args.aug, p=args.p, freezed=args.freezed,
              metrics=args.metrics, extractors=metric_extractors(args.metrics),
              strategy=args.strategy, seed=args.seed,
              keep_last=args.keep_last, keep=args.keep, carry=args.carry)
    except (OSError, ValueError, RuntimeError) as err:
        print(f"toonemo train: error: {err}", file=sys.stderr)
        return 1
    print(f"run folder: {args.out}")
    return 0
