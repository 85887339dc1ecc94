"""The scaling grid as a KerasTuner grid search, spread over processes or machines.

``scaling.run_grid`` trains its rows one after the other.  Seed 000's 17 rows (and any
larger grid) take days on one machine, so `run_grid_tuner` hands them to KerasTuner's
grid-search oracle instead, which can run distributed: one **chief** holds the oracle and
gives out trials over gRPC, and any number of **workers** each train the rows they are
given.  Every process runs the same call; KerasTuner's environment variables say which
role it has and where the chief listens:

    KERASTUNER_TUNER_ID=chief  KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000  python -m toonemo_lib.emotion.grid_tuner ...
    KERASTUNER_TUNER_ID=tuner0 KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000  python -m toonemo_lib.emotion.grid_tuner ...
    KERASTUNER_TUNER_ID=tuner1 ...

Without those variables the search runs in one process.  A trial is one row: the search
space is one choice, the row's id, because the seed's table is 17 chosen rows, not the
product of its columns (a larger grid is more rows, e.g. made with ``itertools.product``).
Each trial calls ``scaling.GridRunner.run_row``, so a row trains, resumes and is cached in
``out_dir/row_<id>`` exactly as with the local runner, and a finished row is never
trained again.  The folder must be shared by all machines (a network or Drive folder);
the chief, after the last trial, reads the rows back and writes the table to
``out_dir/grid.csv``; workers return None.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

if __name__ == "__main__":  # this process trains emotion networks: oneDNN's crash guard, before TensorFlow loads
    from toonemo_lib.cpu import apply_onednn_setting

    apply_onednn_setting(emotion_training=True)

import pandas as pd

from toonemo_lib.emotion.models import TrainConfig
from toonemo_lib.emotion.scaling import GRID_COLUMNS, GridRunner

OBJECTIVE = "val_accuracy"


def _keras_tuner():
    try:
        import keras_tuner
    except ImportError:
        raise ImportError("the distributed grid needs KerasTuner: pip install keras-tuner") from None
    return keras_tuner


def role() -> str:
    """"chief", "worker" or "local", from KerasTuner's environment variables."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "local"
    missing = [v for v in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID") if v not in os.environ]
    if missing:
        raise ValueError(f"KERASTUNER_ORACLE_IP is set but {' and '.join(missing)} not: a distributed grid "
                         "needs the chief's port and an id per process (chief, tuner0, tuner1, ...)")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def make_tuner(configs: Sequence[tuple[str, TrainConfig]], runner: GridRunner, directory, project_name="grid"):
    """A KerasTuner tuner whose grid-search trials are the rows of ``configs``, run by ``runner``."""
    kt = _keras_tuner()
    by_id = {str(model_id): config for model_id, config in configs}
    if len(by_id) != len(configs):
        raise ValueError("the grid's row ids must be unique")
    space = kt.HyperParameters()
    space.Choice("row", list(by_id), ordered=False)

    class GridTuner(kt.engine.base_tuner.BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            model_id = trial.hyperparameters.get("row")
            row = runner.run_row(model_id, by_id[model_id])
            return {OBJECTIVE: float(row["Val Acc"])}

    oracle = kt.oracles.GridSearchOracle(objective=kt.Objective(OBJECTIVE, "max"), hyperparameters=space,
                                         max_trials=len(by_id))
    return GridTuner(oracle, directory=str(directory), project_name=project_name)


def run_grid_tuner(configs: Sequence[tuple[str, TrainConfig]], data: dict, out_dir, *, train_limit: int = 0,
                   timing_repeats: int = 3, verbose: int = 0,
                   seed_table: Optional[pd.DataFrame] = None) -> Optional[pd.DataFrame]:
    """``scaling.run_grid``'s table, its rows run as KerasTuner trials (see the module docstring).

    Returns the table in the chief (and in a single local process), None in a worker.
    """
    current = role()
    runner = GridRunner(data, out_dir, train_limit=train_limit, timing_repeats=timing_repeats, verbose=verbose,
                        seed_table=seed_table)
    tuner = make_tuner(configs, runner, Path(out_dir) / "keras_tuner")
    tuner.search()
    if current == "worker":
        return None
    rows = [runner.cached_row(str(model_id), config) for model_id, config in configs]
    unfinished = [str(model_id) for (model_id, _), row in zip(configs, rows) if row is None]
    if unfinished:
        raise RuntimeError(f"the search ended with rows {unfinished} unfinished: see the workers' output "
                           f"and run again to finish them")
    table = pd.DataFrame(rows, columns=list(GRID_COLUMNS))
    table.to_csv(Path(out_dir) / "grid.csv", index=False)
    return table


def main(argv: Optional[list] = None) -> int:
    """``python -m toonemo_lib.emotion.grid_tuner --rows origin,11 --epochs 3 --out DIR [--data ...]``."""
    parser = argparse.ArgumentParser(prog="python -m toonemo_lib.emotion.grid_tuner",
                                     description="Run seed 000's scaling grid as a KerasTuner grid search "
                                                 "(chief and workers set by KERASTUNER_* variables).")
    parser.add_argument("--out", required=True, help="the grid's folder, shared by every process")
    parser.add_argument("--rows", default="all", help="comma-separated row ids of the seed table, or all")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--data", default="fer2013", help="fer2013 (found or --fer2013) or synthetic")
    parser.add_argument("--fer2013", default=None, help="FER2013 copy (csv, folders or npz)")
    parser.add_argument("--synthetic-faces", type=int, default=280, help="faces drawn when the data is synthetic")
    parser.add_argument("--train-limit", type=int, default=0, help="training faces per row (0: all)")
    parser.add_argument("--augmentation-scale", type=float, default=1.0)
    parser.add_argument("--bn-recalibration", type=int, default=20)
    parser.add_argument("--timing-repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from toonemo_lib.datasets.fer2013 import expression_data
    from toonemo_lib.emotion.scaling import seed_configs

    rows = "all" if args.rows == "all" else args.rows.split(",")
    configs = seed_configs(rows, epochs=args.epochs, augmentation_scale=args.augmentation_scale,
                           bn_recalibration=args.bn_recalibration)
    data, info = expression_data(args.data, args.fer2013, synthetic_faces=args.synthetic_faces)
    table = run_grid_tuner(configs, data, args.out, train_limit=args.train_limit,
                           timing_repeats=args.timing_repeats)
    if table is not None:
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
