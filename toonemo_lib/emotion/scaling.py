"""Seed 000's scaling study (table 1), re-run: one training run per table row.

``load_seed_table`` reads the seed's 17 rows (``data/emotion/seed_table1.csv``),
``seed_configs`` turns them into ``TrainConfig``s, ``run_grid`` trains and evaluates
each in its own resumable folder, and ``side_by_side`` / ``plot_grid`` compare the
measured numbers with the seed's.

How the table's columns become a configuration (``config_for_row``):

* ``Resolution`` "96x96" -> ``resolution=96``; ``Batch Size`` as is.
* ``Augmentation`` "X" -> no extra samples, "O(10,000)" -> 10,000 extra augmented
  samples, times ``augmentation_scale`` (small profiles add fewer).
* ``Architecture`` "mini" -> mini-Xception with the table's ``# of Conv Blocks``.
  "Big" -> big-Xception: the seed's Big is Arriaga et al.'s reference big_XCEPTION,
  which has two residual blocks (128 and 256 channels) after its two stem convolutions;
  the table's "4" counts the convolution blocks of that reference (2 stem + 2 residual),
  so it maps to ``big_xception``'s default ``blocks=2``.  "origin" -> Chollet's Xception
  with its default three entry-flow blocks (the table's 4 is not a knob of that network).

Short rows need settled BatchNorm statistics to mean anything: pass ``bn_recalibration=20``
(any ``TrainConfig`` field) to ``seed_configs`` and every validation of the row re-estimates
them first (``train.recalibrate_batchnorm``; the module docstring of ``train`` says why).
Compare each row with ``evaluate.majority_rate``: the accuracy of always answering the commonest class.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from pathlib import Path
from typing import Iterable, Sequence

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from toonemo_lib import runs
from toonemo_lib.config import DATA_DIR, SEED
from toonemo_lib.emotion.evaluate import evaluate, ms_per_face
from toonemo_lib.emotion.models import TrainConfig, big_xception, xception
from toonemo_lib.emotion.train import train

SEED_TABLE = DATA_DIR / "emotion" / "seed_table1.csv"
SEED_COLUMNS = ("Model", "Batch Size", "Resolution", "Augmentation", "# of Conv Blocks", "Architecture",
                "Val Acc", "Val Loss")
GRID_COLUMNS = SEED_COLUMNS + ("Extra samples", "Parameters", "ms/face", "Epochs", "Best epoch")

# ``build_model``'s architecture names -> the table's (which are the same, lower-cased).
TABLE_NAMES = {"mini": "mini", "big": "Big", "origin": "origin"}
# Blocks of the reference networks (see the module docstring): read from the builders.
BIG_BLOCKS = inspect.signature(big_xception).parameters["blocks"].default
XCEPTION_BLOCKS = inspect.signature(xception).parameters["blocks"].default
TIMING_BATCH = 32  # faces per timed forward pass, the same for every row


def load_seed_table(path=SEED_TABLE) -> pd.DataFrame:
    """Seed 000's table 1: 17 rows with the seed's columns; ``Model`` is a string id."""
    table = pd.read_csv(path, dtype={"Model": str, "Augmentation": str, "Resolution": str})
    missing = set(SEED_COLUMNS) - set(table.columns)
    if missing:
        raise ValueError(f"{path} lacks the columns {sorted(missing)}")
    return table[list(SEED_COLUMNS)]


def parse_resolution(text: str) -> int:
    """ "96x96" -> 96 (square inputs only)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", str(text))
    if not match or match.group(1) != match.group(2):
        raise ValueError(f"resolution must look like '96x96' (square), got {text!r}")
    return int(match.group(1))


def parse_augmentation(text: str) -> int:
    """ "X" -> 0, "O(10,000)" -> 10000: the table's extra augmented samples."""
    text = str(text).strip()
    if text.upper() == "X":
        return 0
    match = re.fullmatch(r"O\(\s*([\d,]+)\s*\)", text, flags=re.I)
    if not match:
        raise ValueError(f"augmentation must be 'X' or like 'O(10,000)', got {text!r}")
    return int(match.group(1).replace(",", ""))


def format_resolution(resolution: int) -> str:
    return f"{resolution}x{resolution}"


def format_augmentation(amount: int) -> str:
    return "X" if amount <= 0 else f"O({amount:,})"


def config_for_row(row, epochs: int = 100, augmentation_scale: float = 1.0, **overrides) -> TrainConfig:
    """The ``TrainConfig`` of one table row (a Series or dict with the seed's columns).

    ``overrides`` replace any field afterwards (e.g. ``patience=5``).
    """
    architecture = str(row["Architecture"]).strip().lower()
    if architecture not in TABLE_NAMES:
        raise ValueError(f"unknown architecture {row['Architecture']!r}; the table uses mini, Big and origin")
    if architecture == "mini":
        blocks = int(row["# of Conv Blocks"])
    elif architecture == "big":
        blocks = BIG_BLOCKS  # the reference big_XCEPTION's 2 residual blocks (see module docstring)
    else:
        blocks = XCEPTION_BLOCKS  # Xception's entry flow
    if augmentation_scale < 0:
        raise ValueError(f"augmentation_scale must be >= 0, got {augmentation_scale}")
    config = TrainConfig(
        architecture=architecture,
        blocks=blocks,
        resolution=parse_resolution(row["Resolution"]),
        batch_size=int(row["Batch Size"]),
        augmentation=int(round(parse_augmentation(row["Augmentation"]) * augmentation_scale)),
        epochs=int(epochs),
    )
    return dataclasses.replace(config, **overrides)


def seed_configs(rows: str | Iterable = "all", epochs: int = 100, augmentation_scale: float = 1.0,
                 table: pd.DataFrame | None = None, **overrides) -> list[tuple[str, TrainConfig]]:
    """``[(model_id, TrainConfig), ...]`` for ``rows`` ("all" or table ids like ("origin", "11"))."""
    table = load_seed_table() if table is None else table
    by_id = {str(r["Model"]): r for _, r in table.iterrows()}
    if isinstance(rows, str) and rows == "all":
        ids = list(by_id)
    else:
        ids = [str(rows)] if isinstance(rows, (str, int)) else [str(r) for r in rows]
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise ValueError(f"rows {unknown} are not in the seed table (its ids: {', '.join(by_id)})")
    return [(i, config_for_row(by_id[i], epochs, augmentation_scale, **overrides)) for i in ids]


def _limit_split(x, y, limit: int, seed: int = SEED):
    """The first ``limit`` samples of a seeded permutation (kept in their original order)."""
    if not limit or limit >= len(y):
        return x, y
    keep = np.sort(np.random.default_rng(seed).permutation(len(y))[:limit])
    return x[keep], y[keep]


def _json_roundtrip(value):
    return json.loads(json.dumps(value))


def _check_row_folder(row_dir: Path, key: dict) -> None:
    """Refuse to resume a folder that was trained with other settings or data."""
    path = row_dir / "grid.json"
    if path.exists():
        old = json.loads(path.read_text())
        if old != key:
            changed = sorted(k for k in set(old) | set(key) if old.get(k) != key.get(k))
            raise ValueError(f"{row_dir} holds a run with other settings ({', '.join(changed)} differ); "
                             "use another out_dir or delete that folder")
    else:
        row_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(key, indent=1))


def _nominal_augmentation(model_id: str, config: TrainConfig, seed_table: pd.DataFrame) -> str:
    match = seed_table.loc[seed_table["Model"] == model_id, "Augmentation"]
    return str(match.iloc[0]) if len(match) else format_augmentation(config.augmentation)


def run_grid(configs: Sequence[tuple[str, TrainConfig]], data: dict, out_dir, *, train_limit: int = 0,
             timing_repeats: int = 3, verbose: int = 0, seed_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Train and evaluate each ``(model_id, config)``; one table row per run.

    ``data`` maps "train" and "val" to (uint8 images N x H x W, int labels).
    ``train_limit`` is the number of training images per row (0 = all; a seeded subsample),
    ``timing_repeats`` the number of timed forward passes behind ``ms/face`` (the median).
    Row ``id`` lives in ``out_dir/row_<id>``: training resumes there from its last finished
    epoch, a finished row is not retrained, and its result is cached in ``result.json`` so
    a re-run returns at once.  ``emotion.grid_tuner`` runs the same rows as a KerasTuner
    grid search spread over several processes or machines.

    Val Acc / Val Loss are measured on ``data["val"]`` with the best checkpoint
    (``best.keras``, highest validation accuracy); Val Loss is the plain cross-entropy.
    A row with ``bn_recalibration`` (see the module docstring) was validated, checkpointed
    and is evaluated with BatchNorm statistics re-estimated on its training faces.
    """
    runner = GridRunner(data, out_dir, train_limit=train_limit, timing_repeats=timing_repeats, verbose=verbose,
                        seed_table=seed_table)
    rows = [runner.run_row(model_id, config) for model_id, config in tqdm(list(configs), desc="scaling grid",
                                                                          leave=False)]
    return pd.DataFrame(rows, columns=list(GRID_COLUMNS))


class GridRunner:
    """Trains and evaluates single rows of a grid into ``out_dir/row_<id>`` (see `run_grid`)."""

    def __init__(self, data: dict, out_dir, *, train_limit: int = 0, timing_repeats: int = 3, verbose: int = 0,
                 seed_table: pd.DataFrame | None = None):
        if out_dir is None:
            raise ValueError("run_grid needs an out_dir for its resumable run folders")
        if isinstance(train_limit, str) or isinstance(timing_repeats, str):
            raise TypeError("run_grid takes values (train_limit=..., timing_repeats=...), not a profile name")
        self.train_limit = int(train_limit or 0)
        self.repeats = int(timing_repeats)
        if self.train_limit < 0 or self.repeats < 1:
            raise ValueError(f"train_limit must be >= 0 and timing_repeats >= 1, got {train_limit} and "
                             f"{timing_repeats}")
        self.seed_table = load_seed_table() if seed_table is None else seed_table
        self.out_dir = Path(out_dir)
        self.verbose = verbose
        x_train, y_train = _limit_split(*data["train"], self.train_limit)
        self.subset = {"train": (x_train, y_train), "val": data["val"]}
        self.data_key = {"train_limit": self.train_limit, "n_train": int(len(y_train)),
                         "n_val": int(len(data["val"][1]))}

    def cached_row(self, model_id: str, config: TrainConfig) -> dict | None:
        """The row's table entry when it was finished with this config and data, else None."""
        result_path = self.out_dir / f"row_{model_id}" / "result.json"
        if result_path.exists():
            cached = json.loads(result_path.read_text())
            if cached.get("config") == _json_roundtrip(dataclasses.asdict(config)) and cached.get("data") == self.data_key:
                return cached["row"]
        return None

    def run_row(self, model_id, config: TrainConfig) -> dict:
        """Train (or resume, or read back) one row; its table entry."""
        model_id = str(model_id)
        cached = self.cached_row(model_id, config)
        if cached is not None:
            return cached
        row_dir = self.out_dir / f"row_{model_id}"
        settings_key = _json_roundtrip({k: v for k, v in dataclasses.asdict(config).items() if k != "epochs"})
        _check_row_folder(row_dir, {"config": settings_key, "data": self.data_key})
        log = train(config, self.subset, row_dir, verbose=self.verbose)
        model = keras.saving.load_model(row_dir / "best.keras")
        x_val, y_val = self.subset["val"]
        scores = evaluate(model, x_val, y_val)
        best_epoch = int(log.loc[log["val_accuracy"].idxmax(), "epoch"]) + 1 if len(log) else 0
        row = {
            "Model": model_id,
            "Batch Size": config.batch_size,
            "Resolution": format_resolution(config.resolution),
            "Augmentation": _nominal_augmentation(model_id, config, self.seed_table),
            "# of Conv Blocks": config.blocks,
            "Architecture": TABLE_NAMES[config.architecture],
            "Val Acc": scores["accuracy"],
            "Val Loss": scores["loss"],
            "Extra samples": config.augmentation,
            "Parameters": int(model.count_params()),
            "ms/face": ms_per_face(model, batch_size=TIMING_BATCH, repeats=self.repeats),
            "Epochs": int(len(log)),
            "Best epoch": best_epoch,
        }
        runs.atomic_write_json(row_dir / "result.json",
                               {"config": dataclasses.asdict(config), "data": self.data_key, "row": row})
        keras.backend.clear_session()
        return row


def side_by_side(seed_table: pd.DataFrame, measured: pd.DataFrame) -> pd.DataFrame:
    """The measured rows next to the seed's: Val Acc / Val Loss (seed), (measured), diff.

    Joined on ``Model``; rows that are not in the seed table keep NaN for the seed.
    ``diff`` is measured minus seed.
    """
    seed = seed_table[["Model", "Architecture", "Resolution", "Augmentation", "Val Acc", "Val Loss"]].copy()
    seed["Model"] = seed["Model"].astype(str)
    mine = measured.copy()
    mine["Model"] = mine["Model"].astype(str)
    keep = ["Model", "Val Acc", "Val Loss"] + [c for c in ("Parameters", "ms/face") if c in mine]
    table = mine[keep].merge(seed, on="Model", how="left", suffixes=(" (measured)", " (seed)"))
    for column in ("Architecture", "Resolution", "Augmentation"):
        if column in mine:  # rows that are not in the seed table: describe them by the measured run
            table[column] = table[column].fillna(pd.Series(mine[column].values, index=table.index))
    for metric in ("Val Acc", "Val Loss"):
        table[f"{metric} diff"] = table[f"{metric} (measured)"] - table[f"{metric} (seed)"]
    order = ["Model", "Architecture", "Resolution", "Augmentation",
             "Val Acc (seed)", "Val Acc (measured)", "Val Acc diff",
             "Val Loss (seed)", "Val Loss (measured)", "Val Loss diff"]
    return table[order + [c for c in ("Parameters", "ms/face") if c in table]].set_index("Model")


def plot_grid(table: pd.DataFrame, ax=None, seed_table: pd.DataFrame | None = None, metric: str = "Val Acc",
              majority: float | None = None):
    """Bars of ``metric`` per row, seed vs measured; returns the figure.

    ``table`` is ``run_grid``'s output (compared with ``seed_table``, by default the
    shipped one) or ``side_by_side``'s.  ``majority`` (``evaluate.majority_rate`` of the
    validation labels) draws the accuracy of always answering the commonest class.
    """
    if f"{metric} (seed)" not in table.columns:
        table = side_by_side(load_seed_table() if seed_table is None else seed_table, table)
    if "Model" in table.columns:
        table = table.set_index("Model")
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(6.5, 0.9 * len(table) + 2), 3.8))
    else:
        fig = ax.figure
    x = np.arange(len(table))
    width = 0.38
    seed_bars = ax.bar(x - width / 2, table[f"{metric} (seed)"], width, label="seed 000", color="tab:gray")
    mine_bars = ax.bar(x + width / 2, table[f"{metric} (measured)"], width, label="measured", color="tab:blue")
    for bars in (seed_bars, mine_bars):
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=1)
    labels = [f"{model}\n{row['Architecture']} {row['Resolution']}" for model, row in table.iterrows()]
    ax.set_xticks(x, labels, fontsize=8)
    values = pd.concat([table[f"{metric} (seed)"], table[f"{metric} (measured)"]]).dropna()
    top = float(values.max()) if len(values) else 1.0
    if majority is not None:
        ax.axhline(majority, color="tab:red", ls="--", lw=1, label=f"always the commonest class ({majority:.3f})")
        top = max(top, majority)
    ax.set(ylabel=metric, ylim=(0, top * 1.3 if top > 0 else 1.0),
           title=f"Table 1 of seed 000: {metric}, seed vs measured")
    ax.legend(fontsize=8, ncols=2, loc="upper left")
    fig.tight_layout()
    return fig


def shipped_vs_seed_markdown(card: dict, seed_table: pd.DataFrame | None = None) -> str:
    """Markdown comparing the shipped model's card with the seed's best row, figures from both."""
    seed_table = load_seed_table() if seed_table is None else seed_table
    best = seed_table.loc[seed_table["Val Acc"].idxmax()]
    accuracy = card["publictest"]["accuracy_flip_tta"]
    relation = "below" if accuracy < best["Val Acc"] else "above"
    return (f"The shipped model was trained for {card['epochs_trained']} epochs (best: epoch {card['best_epoch']}) "
            f"on {card['trained_on']}; with flip test-time augmentation it reaches **{accuracy:.4f}** on PublicTest "
            f"({card['publictest']['accuracy']:.4f} without), {abs(accuracy - best['Val Acc']):.4f} {relation} the "
            f"seed's best row (model {best['Model']}: {best['Architecture']}, {best['Resolution']}, "
            f"{best['# of Conv Blocks']} blocks, {best['Val Acc']:.4f}).")


def grid_markdown(grid: pd.DataFrame, majority: float) -> str:
    """Markdown reading ``run_grid``'s Val Acc against ``majority`` (``evaluate.majority_rate``)."""
    rows = [f"row {row['Model']} {row['Val Acc']:.3f} ({row['Val Acc'] - majority:+.3f})" for _, row in grid.iterrows()]
    beaten = int((grid["Val Acc"] > majority).sum())
    verdict = ("every row learned something" if beaten == len(grid) else
               f"{len(grid) - beaten} of {len(grid)} rows did not beat it: they learned nothing usable")
    return (f"Always answering the commonest validation class would score **{majority:.3f}**. "
            f"Measured: {', '.join(rows)}; {verdict}.")
