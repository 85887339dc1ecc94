"""Resumable runs: a folder that a killed training picks up where it stopped.

Both trainers (the emotion classifier and StyleGAN2) keep in a run folder:

* ``config.json`` - the settings the run was started with;
* ``log.csv``    - one row per epoch or tick, appended as the run goes;

and the emotion trainer also

* ``state.json`` - how far the run got (``{"epochs_done": 12, "done": false, ...}``);
* ``last.keras`` / ``best.keras`` - the latest checkpoint (to resume) and the best so far.

StyleGAN2 keeps its state in its snapshots instead (``stylegan2/snapshot.py``).

Every file is written to a temporary name and renamed, so a run killed mid-write
leaves the previous version intact, never half a file.  Outputs made of several files
(a data set, an emoji folder) are written into a staging folder first and renamed into
place when all of them are complete (`staged_outputs`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

STATE = "state.json"
CONFIG = "config.json"
LOG = "log.csv"
LAST = "last.keras"
BEST = "best.keras"
FRESH_STATE = {"epochs_done": 0, "done": False}
PAUSE_ENV = "TOONEMO_PAUSE_AT"  # see pause_point


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)
    return path


def atomic_write_json(path, value: Any) -> Path:
    return atomic_write_text(path, json.dumps(value, indent=1))


def read_json(path, default: Any = None) -> Any:
    """The JSON in ``path``, or ``default`` when the file does not exist."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


def read_state(run_dir) -> dict:
    """The run's ``state.json`` (a fresh state when the run has not started)."""
    return {**FRESH_STATE, **read_json(Path(run_dir) / STATE, {})}


def write_state(run_dir, **state) -> dict:
    atomic_write_json(Path(run_dir) / STATE, state)
    return state


def read_log(run_dir, key: str = "epoch") -> pd.DataFrame:
    """The run's ``log.csv`` (empty if nothing was logged yet), one row per ``key``.

    A run killed mid-epoch and resumed may have logged an epoch twice: the last row wins.
    """
    path = Path(run_dir) / LOG
    if not path.exists() or path.stat().st_size == 0:
        return pd.DataFrame()
    log = pd.read_csv(path)
    return log.drop_duplicates(key, keep="last").reset_index(drop=True) if key in log else log


def best_so_far(run_dir, metric: str, mode: str = "max") -> float | None:
    """The best ``metric`` logged so far, when a best checkpoint exists for it; else None.

    A resumed run must beat this value, not only its own first epoch, before it may
    replace the best checkpoint.
    """
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
    log = read_log(run_dir)
    if not (Path(run_dir) / BEST).exists() or metric not in log or log[metric].isna().all():
        return None
    return float(log[metric].max() if mode == "max" else log[metric].min())


@contextmanager
def staged_outputs(folder, stale: tuple[str, ...] = (), label: str = "output") -> Iterator[Path]:
    """A staging folder whose files replace their namesakes in `folder` when the block succeeds.

    Each new file is renamed into place whole, so a run killed at any point leaves every
    old file whole (or, on a first run, no output file at all).  `stale`: glob patterns of
    old files that the new set may not replace and that must go (a rebuild at a smaller
    resolution writes fewer levels).  When the block fails or is interrupted, the staging
    folder goes, and so does `folder` itself if this run created it.  A staging folder left
    by a killed run is removed when the next run starts.
    """
    folder = Path(folder)
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    created = missing[-1] if missing else None  # the outermost folder this run will make
    stage = folder / f".{label}.partial"
    try:
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        yield stage
        new = sorted(stage.iterdir())
        for pattern in stale:
            for old in folder.glob(pattern):
                if old.is_file() and not (stage / old.name).exists():
                    old.unlink()
        for path in new:
            os.replace(path, folder / path.name)
        stage.rmdir()
    except BaseException:
        shutil.rmtree(created if created is not None else stage, ignore_errors=True)
        raise


def pause_point(label: str) -> None:
    """Wait here for good when the environment variable TOONEMO_PAUSE_AT is `label`.

    Lets a test stop a writer at a point it chooses, then kill it, without racing a clock:
    the process says ``paused at LABEL`` on stderr and sleeps until it is killed.
    """
    if os.environ.get(PAUSE_ENV) == label:
        print(f"paused at {label}", file=sys.stderr, flush=True)
        while True:
            time.sleep(60)
