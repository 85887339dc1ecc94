"""The `toonemo train` command: StyleGAN2 training or fine-tuning into a run folder.

    toonemo train --data DATASET --out RUN_DIR [--cfg auto] [--resume PKL|SNAPSHOT|NAME]
                  [--kimg N] [--tick-kimg 4] [--snap 1] [--batch B] [--gamma G] [--mirror]
                  [--aug ada] [--p P] [--freezed K] [--metrics fed_emotion]
                  [--strategy auto|one|mirrored|tpu] [--seed 0] [--keep-last K] [--keep KIMG,...]
    toonemo train --resume RUN_DIR [--out NEW_RUN_DIR] [--kimg N] [--data DATASET]

The options make a `RunSpec`, written as the run folder's config.json.  Running the same
command again continues the run from its newest snapshot; a larger --kimg trains on.
--resume RUN_DIR continues the run in that folder (a run folder or a carried one) from its
config.json alone, into --out when given; --data then points at the same data elsewhere.
Exit status: 0 done, 1 a failure (missing or empty data set, resolution mismatch, another
run in the folder, non-finite losses), 2 a usage error.
"""

from __future__ import annotations

from pathlib import Path

from .options import check_usage, finite_float, output_error, range_error
from ..stylegan2.presets import PRESET_NAMES  # plain Python: TensorFlow loads when training starts

SEED_MAX = 2**32 - 1  # NumPy's seeds are 0 .. 2**32 - 1


def add_commands(subparsers) -> None:
    """Register `toonemo train` on an argparse sub-parsers object."""
    train = subparsers.add_parser(
        "train", help="train or fine-tune StyleGAN2 (NVIDIA's losses, ADA, a snapshot every tick)",
        description="Train StyleGAN2 on a data set built by `toonemo dataset`, or fine-tune a "
                    "network (--resume) on it.  Running the same command again continues the "
                    "run from its newest snapshot; a larger --kimg trains on.",
        epilog="exit status: 0 done, 1 a failure while training, 2 a usage error")
    # Defaults are None: "as RunSpec has it", or, continuing a run folder, as its config.json has it.
    train.add_argument("--data", default=None,
                       help="TFRecords folder, stylegan2-ada .zip, or fer2013:R (FER2013's faces at R x R)")
    train.add_argument("--out", default=None, help="run folder (snapshots, grids, log.csv)")
    train.add_argument("--cfg", default=None, choices=PRESET_NAMES,
                       help="base configuration (stylegan2-ada's, plus tiny/small for CPU; default auto)")
    train.add_argument("--resume", default=None,
                       help="official TF1 pickle, snapshot .npz, a manifest name (ffhq1024), or shipped-faces "
                            "(the course's face model with the discriminator fitted for it); or a run folder "
                            "(with config.json) to continue that run with its own settings")
    train.add_argument("--warm-start", default=None,
                       help="start a new run at a higher resolution from a smaller trained pair: shipped-faces "
                            "or a snapshot .npz (the weights whose names and shapes match are copied)")
    train.add_argument("--kimg", type=finite_float, default=None, help="train until this many kimg")
    train.add_argument("--tick-kimg", type=finite_float, default=None, help="kimg per tick (default 4)")
    train.add_argument("--snap", type=int, default=None, help="snapshot every N ticks (default 1)")
    train.add_argument("--batch", type=int, default=None, help="global minibatch")
    train.add_argument("--gamma", type=finite_float, default=None, help="R1 weight (default: the cfg's)")
    train.add_argument("--mirror", action="store_const", const=True, default=None,
                       help="x-flips double the data set")
    train.add_argument("--aug", default=None, choices=("noaug", "ada", "fixed"), help="default ada")
    train.add_argument("--p", type=finite_float, default=None, help="augmentation probability (--aug fixed)")
    train.add_argument("--freezed", type=int, default=None, help="freeze the first K layers of D")
    train.add_argument("--metrics", default=None,
                       help="comma list of fid, kid, fed_emotion, ked_emotion (or none)")
    train.add_argument("--strategy", default=None, choices=("auto", "one", "mirrored", "tpu"), help="default auto")
    train.add_argument("--seed", type=int, default=None, help=f"random seed, 0 to {SEED_MAX} (default 0)")
    train.add_argument("--keep-last", type=int, default=None,
                       help="keep only the newest K snapshots (plus --keep)")
    train.add_argument("--carry", default=None,
                       help="a folder that keeps the run between sessions (e.g. data/checkpoints/faces64): the "
                            "run continues from it when it is ahead, and its newest snapshot is copied there")
    train.add_argument("--keep", default=None, help="kimg of snapshots never to delete, e.g. 12,16")
    train.set_defaults(func=run_train)


def _usage_errors(args) -> list[str]:
    from ..stylegan2.metrics import parse_metrics

    errors = [range_error(f"--{name.replace('_', '-')}", getattr(args, name), above=0)
              for name in ("kimg", "tick_kimg", "snap", "batch")]
    errors += [range_error("--gamma", args.gamma, minimum=0), range_error("--p", args.p, minimum=0, maximum=1),
               range_error("--freezed", args.freezed, minimum=0), range_error("--keep-last", args.keep_last, minimum=0),
               range_error("--seed", args.seed, minimum=0, maximum=SEED_MAX)]
    try:
        args.metrics = None if args.metrics is None else parse_metrics(args.metrics)
    except ValueError as err:
        errors.append(str(err))
    try:
        args.keep = None if args.keep is None else [float(k) for k in args.keep.split(",") if k.strip()]
    except ValueError:
        errors.append(f"--keep must be a comma list of kimg, e.g. 12,16, got {args.keep!r}")
    else:
        errors += [range_error("--keep", k, minimum=0) for k in args.keep or ()]
    if args.out is not None:
        errors.append(output_error("--out", args.out, folder=True))
    if not _continues_a_run_folder(args):
        errors += [f"the following arguments are required: {name} (or --resume RUN_DIR)"
                   for name in ("--data", "--out") if getattr(args, name[2:]) is None]
    return [error for error in errors if error]


def _continues_a_run_folder(args) -> bool:
    """--resume names a folder: the run in it continues (a pickle or snapshot starts a new run)."""
    return args.resume is not None and Path(args.resume).is_dir()


def spec_changes(args) -> dict:
    """The RunSpec fields the command line gives (the options left out keep their defaults);
    every option of `toonemo train` but --out is a field of the same name."""
    import dataclasses

    from ..stylegan2.spec import RunSpec

    names = (field.name for field in dataclasses.fields(RunSpec))
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def run_train(args) -> int:
    check_usage(*_usage_errors(args))
    from ..quality.emotion_features import metric_extractors
    from ..stylegan2.spec import RunSpec
    from ..stylegan2.train import continue_run, read_run_spec, train

    changes = spec_changes(args)
    if _continues_a_run_folder(args):
        run_dir = changes.pop("resume")
        spec = read_run_spec(run_dir).replace(**changes)
        continue_run(run_dir, args.out, extractors=metric_extractors(spec.metrics), **changes)
    else:
        spec = RunSpec(**changes)
        train(spec, args.out, extractors=metric_extractors(spec.metrics))
    print(f"run folder: {args.out or args.resume}")
    return 0
