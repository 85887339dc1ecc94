"""The course: the notebook table, and executing the notebooks in order with papermill."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import pandas as pd

from .config import NOTEBOOKS_DIR, cache_dir, dry_run_active, get_profile
from .dry_run import (chained_parameters, fell_back, largest_drawing, peak_memory, record_peak_memory,
                      stand_in_environment, write_stand_ins)
from .records import read_records

KERNEL_NAME = "toonemo-python"
INJECTED_PARAMETERS = ("PROFILE", "OUTPUT_DIR")


@dataclass(frozen=True)
class NotebookInfo:
    number: str
    title: str
    teaches: str
    profiles: tuple[str, ...]
    gpu: str


NOTEBOOKS = (
    NotebookInfo("01", "From PGGAN to StyleGAN2: mapping network, AdaIN, style mixing, demodulation",
                 "why a mapping network disentangles; AdaIN eq. (1)-(2) and modulation/demodulation eq. (3)-(4) "
                 "checked; style transfer; droplets; truncation and style mixing; separable-conv arithmetic",
                 ("smoke", "cpu", "gpu"), "no"),
    NotebookInfo("02", "Building a StyleGAN2 dataset",
                 "crawl, curate, square-resize, align faces, write StyleGAN2 TFRecords", ("smoke", "cpu", "gpu"), "no"),
    NotebookInfo("03", "Fine-tuning StyleGAN2 on a cartoon data set",
                 "transfer learning from FFHQ with NVIDIA's losses and ADA, a snapshot every tick, "
                 "picking a snapshot by eye, resuming after a disconnect", ("smoke", "cpu", "gpu"),
                 "yes (gpu profile)"),
    NotebookInfo("04", "Network blending: Toonify yourself",
                 "layer swapping FFHQ x cartoon at 8..1024, projection of a photo, personal emoji", ("smoke", "cpu", "gpu"),
                 "recommended"),
    NotebookInfo("05", "Scaling mini-Xception on FER2013",
                 "depthwise separable convolutions, the scaling table, confusion matrix", ("smoke", "cpu", "gpu"), "optional"),
    NotebookInfo("06", "Toonify + emotion on video",
                 "every N-th frame toonified, faces found, expressions recognised, timeline", ("smoke", "cpu", "gpu"),
                 "recommended"),
    NotebookInfo("07", "Your toon in seven expressions",
                 "expression directions in W (InterFaceGAN) found with the recogniser, the layers they live on, "
                 "edits judged by a second recogniser, a personal emoji set", ("smoke", "cpu", "gpu"),
                 "gpu profile (FFHQ)"),
)


# Notebooks that train emotion networks: their kernels run with oneDNN off on AVX-512 CPUs.
EMOTION_TRAINING_NOTEBOOKS = ("05",)


def start(notebook: str, profile: str, output_dir) -> tuple[dict, Path]:
    """The first call of every notebook: ``settings, out_dir = start("05", PROFILE, OUTPUT_DIR)``.

    Silences TensorFlow's start-up noise (before TensorFlow is imported), seeds Python,
    NumPy and Keras with ``SEED``, shows the environment (versions, GPU; on Colab without a
    GPU it says what to click) and the profile's settings for this notebook, and creates
    the output folder.  Returns the settings and the folder.
    """
    import random

    import numpy as np
    from IPython.display import display

    from .config import SEED
    from .cpu import apply_onednn_setting
    from .environment import check_environment, quiet_tensorflow

    settings = get_profile(profile).settings(notebook)  # a wrong profile fails first, naming the valid ones
    dry_run = profile == "gpu" and dry_run_active()  # the settings have the dry run's cuts already
    if notebook[:2] in EMOTION_TRAINING_NOTEBOOKS:  # before TensorFlow loads: see cpu.py
        apply_onednn_setting(emotion_training=True)
    quiet_tensorflow()
    import keras

    random.seed(SEED)
    np.random.seed(SEED)
    keras.utils.set_random_seed(SEED)
    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if dry_run:
        record_peak_memory(out_dir)
    display(check_environment(profile))
    title = f"{profile} profile{' (dry run: stand-ins, counts cut)' if dry_run else ''}, notebook {notebook[:2]}"
    display(pd.DataFrame([settings], index=[title]).T.rename(columns=str))
    return settings, out_dir


def find_notebooks(folder: Path = NOTEBOOKS_DIR, only: Optional[Iterable[str]] = None) -> list[Path]:
    """The ``NN_*.ipynb`` notebooks of ``folder`` in course order, optionally only some numbers."""
    if not folder.is_dir():
        raise FileNotFoundError(f"notebook folder {folder} does not exist")
    notebooks = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if only is not None:
        wanted = {n.strip().zfill(2) for n in only if n.strip()}
        unknown = wanted - {p.name[:2] for p in notebooks}
        if unknown:
            have = ", ".join(p.name[:2] for p in notebooks)
            raise ValueError(f"no notebook numbered {', '.join(sorted(unknown))} in {folder} (have: {have})")
        notebooks = [p for p in notebooks if p.name[:2] in wanted]
    return notebooks


def ensure_kernel() -> str:
    """Register a Jupyter kernel that runs *this* Python and put it first on Jupyter's path.

    The stock ``python3`` kernel may point at another interpreter (a user-wide
    kernelspec wins over the one of a virtual environment); a notebook run from
    the course must use the environment the package is installed in.
    """
    root = cache_dir() / "jupyter"
    spec_dir = root / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (toonemo)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    paths = os.environ.get("JUPYTER_PATH", "").split(os.pathsep)
    if str(root) not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([str(root)] + [p for p in paths if p])
    return KERNEL_NAME


def kernel_environment() -> None:
    """Environment the notebook kernels inherit."""
    from .environment import quiet_tensorflow

    quiet_tensorflow(native=False)  # TF_CPP_MIN_LOG_LEVEL for the kernels; each notebook's start() filters the rest

    # An exported Agg backend makes figures vanish from executed notebooks; the
    # kernel's inline backend works headless.
    if os.environ.get("MPLBACKEND", "").lower() == "agg":
        del os.environ["MPLBACKEND"]


def kernel_engine_kwargs() -> dict:
    """Keyword arguments papermill passes on to nbclient: talk to the kernel over IPC sockets.

    Over TCP, ipykernel warns on every start that the traffic is unencrypted.  IPC sockets
    are files: they go to Jupyter's private runtime folder under a name of their own (by
    default they would land in the current folder), and the kernel manager removes them
    when the kernel stops.  ZeroMQ has no IPC transport on Windows, which keeps TCP (and
    the warning); so does a runtime folder whose path is too long for a socket name.
    """
    if os.name != "posix":
        return {}
    import uuid

    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets.config import Config

    runtime = Path(jupyter_runtime_dir())
    prefix = runtime / f"toonemo-kernel-{uuid.uuid4().hex[:12]}"
    if len(str(prefix)) > 96:  # a socket path holds 103 (macOS) to 107 (Linux) bytes; jupyter adds "-<port>"
        return {}
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    return {"config": Config({"KernelManager": {"transport": "ipc", "ip": str(prefix)}})}


def check_parameters(notebook: Path, names: Iterable[str]) -> None:
    """Fail early when the notebook has no ``parameters`` cell or lacks a parameter we inject."""
    import papermill

    nb = json.loads(notebook.read_text())
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb["cells"]):
        raise ValueError(f"{notebook.name} has no cell tagged 'parameters'")
    declared = set(papermill.inspect_notebook(str(notebook)))
    missing = [n for n in names if n not in declared]
    if missing:
        raise ValueError(f"{notebook.name} does not declare the parameter(s) {', '.join(missing)} in its parameters cell")


def running_section(nb: dict) -> Optional[str]:
    """The heading of the section papermill is running in ``nb`` (the notebook it saves), or None.

    Papermill marks the cell it runs ``metadata.papermill.status == "running"`` and saves the
    output notebook when a cell starts; the section is the last markdown heading above that
    cell ("cell N" when there is none).
    """
    heading = None
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            heading = next((line.lstrip("#").strip() for line in reversed(source.splitlines())
                            if line.startswith("#") and line.lstrip("#").strip()), heading)
        elif cell.get("metadata", {}).get("papermill", {}).get("status") == "running":
            return heading or f"cell {index + 1}"
    return None


class Heartbeat:
    """While a notebook runs, one line every ``every`` seconds: elapsed time and running section.

    ``executed`` is the output notebook papermill saves as it goes; the line is written
    with ``tqdm.write`` so that it does not break the course's progress bar.
    """

    def __init__(self, name: str, executed: Path, every: float = 60.0):
        self.name, self.executed, self.every = name, Path(executed), every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat {name}", daemon=True)
        self._start = time.monotonic()

    def __enter__(self) -> "Heartbeat":
        self._start = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def line(self) -> str:
        minutes, seconds = divmod(int(time.monotonic() - self._start), 60)
        try:  # papermill may be writing the file right now: then the section is unknown this time
            section = running_section(json.loads(self.executed.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            section = None
        where = f"running: {section}" if section else "starting the kernel"
        return f"{self.name}: {minutes}:{seconds:02d} elapsed, {where}"

    def _beat(self) -> None:
        from tqdm.auto import tqdm

        while not self._stop.wait(self.every):
            tqdm.write(self.line(), file=sys.stderr)


def run_notebook(
    notebook: Path, profile: str, out_dir: Path, timeout: int = 3600, html: bool = True, parameters: dict | None = None,
    heartbeat: Optional[float] = 60.0,
) -> Path:
    """Execute one notebook in ``profile``; the executed copy (and its HTML) go to ``out_dir``.

    The notebook writes its own files (figures, tables) under ``out_dir/<notebook name>/``.
    Every ``heartbeat`` seconds (None: never) a line on stderr says how long the notebook
    has been running and in which section.
    """
    import papermill

    get_profile(profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / notebook.name
    params = {"PROFILE": profile, "OUTPUT_DIR": str((out_dir / notebook.stem).resolve()), **(parameters or {})}
    check_parameters(notebook, params)
    kernel_environment()
    try:
        with Heartbeat(notebook.stem, executed, heartbeat) if heartbeat else contextlib.nullcontext():
            papermill.execute_notebook(
                str(notebook),
                str(executed),
                parameters=params,
                kernel_name=ensure_kernel(),
                cwd=str(notebook.parent),
                execution_timeout=timeout,
                progress_bar=False,
                log_output=False,
                **kernel_engine_kwargs(),
            )
    finally:
        if html and executed.exists():
            export_html(executed)
    return executed


MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # nbconvert's own choice, served from its CDN by default


def offline_mathjax(folder: Path) -> str:
    """Copy MathJax beside the HTML reports in ``folder`` once; the URL a report there loads it from.

    nbconvert's HTML loads MathJax from a CDN, so a report opened offline (a workshop
    room, a train) shows raw TeX.  The ``jupyter-server-mathjax`` package ships MathJax 2.7,
    the version nbconvert's template is written for; a relative URL keeps a reports folder
    movable as a whole.
    """
    import shutil

    import jupyter_server_mathjax

    target = Path(folder) / "mathjax"
    if not (target / "MathJax.js").exists():
        source = Path(jupyter_server_mathjax.__file__).parent / "static"
        shutil.copytree(source, target, dirs_exist_ok=True)
    return f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"


def export_html(notebook: Path) -> Path:
    """The executed notebook as HTML beside it, with its equations rendered without a network."""
    import nbconvert
    import nbformat

    from .records import MIME_TYPE

    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:  # recorded values are for tests; HTML cannot show them
        if cell.get("outputs"):
            cell.outputs = [o for o in cell.outputs if MIME_TYPE not in o.get("data", {})]
    exporter = nbconvert.HTMLExporter(mathjax_url=offline_mathjax(notebook.parent))
    body, _ = exporter.from_notebook_node(nb)
    from .runs import atomic_write_text  # a report killed mid-write keeps its previous version

    return atomic_write_text(notebook.with_suffix(".html"), body)


def run_course(profile: str, out: Path, only: Optional[Iterable[str]] = None, folder: Path = NOTEBOOKS_DIR,
               heartbeat: Optional[float] = 60.0, dry_run: bool = False) -> pd.DataFrame:
    """Execute the notebooks in order into ``out/<profile>/``; returns the summary (notebook, status, seconds, error).

    The progress bar names the notebook running; one that runs longer than ``heartbeat``
    seconds also prints its elapsed time and section (see ``run_notebook``).  ``dry_run``
    (the `gpu` profile only) runs them on the stand-ins of `dry_run` into ``out/gpu-dry-run/``,
    adds each kernel's peak memory and the largest image drawn, and writes the table there.
    """
    from unittest import mock

    from tqdm.auto import tqdm

    get_profile(profile)
    if dry_run and profile != "gpu":
        raise ValueError(f"a dry run is of the gpu profile, not {profile!r}")
    notebooks = find_notebooks(folder, only)
    if not notebooks:
        raise FileNotFoundError(f"no NN_*.ipynb notebooks in {folder}")
    target = (out / ("gpu-dry-run" if dry_run else profile)).resolve()
    cache = (out / "dry-run-cache").resolve()  # absolute: the kernels run in the notebook folder
    rows = []
    # the dry run's environment reaches the kernels, and is gone again when the run ends
    with mock.patch.dict(os.environ, stand_in_environment(cache) if dry_run else {}):
        if dry_run:
            print(f"dry run: the stand-ins are in {cache} (written once)", flush=True)
            write_stand_ins(cache)
        bar = tqdm(notebooks, desc=f"course [{profile}{' dry run' if dry_run else ''}]", unit="notebook")
        for notebook in bar:
            bar.set_postfix_str(notebook.stem)
            start = time.perf_counter()
            try:
                executed = run_notebook(notebook, profile, target, heartbeat=heartbeat,
                                        parameters=chained_parameters(notebook.name[:2], target) if dry_run else None)
                status, error = "ok", ""
            except Exception as err:  # one failing notebook must not hide the others' results
                executed, status, error = None, "failed", _first_line(err)
            row = {"notebook": notebook.name, "status": status, "seconds": round(time.perf_counter() - start, 1),
                   "error": error}
            if dry_run:
                records = read_records(executed) if executed is not None else {}
                row.update({"peak memory (MiB)": peak_memory(target / notebook.stem),
                            "largest image": largest_drawing(records)})
                if status == "ok" and fell_back(notebook.name, records):
                    row.update(status="fell back", error="drew smaller images than the real models: a model was "
                                                         "missing (see the notebook's output)")
            rows.append(row)
    table = pd.DataFrame(rows)[["notebook", "status", "seconds", *(["peak memory (MiB)", "largest image"] if dry_run
                                                                    else []), "error"]]
    if dry_run:
        table.to_csv(target / "dry_run.csv", index=False)
    return table


def _first_line(err: Exception) -> str:
    """The informative line of an error: for a failed cell, its exception name and message."""
    ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)  # papermill's execution error
    if ename:
        text = f"{ename}: {evalue}"
    else:
        text = next((ln.strip() for ln in str(err).splitlines() if ln.strip()), type(err).__name__)
    return text.splitlines()[0][:200] if text else type(err).__name__


def _present() -> set[str]:
    """Numbers of the notebooks that exist in NOTEBOOKS_DIR."""
    return {p.name[:2] for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")} if NOTEBOOKS_DIR.is_dir() else set()


def notebook_table() -> pd.DataFrame:
    present = _present()
    return pd.DataFrame(
        [{"#": n.number, "title": n.title, "teaches": n.teaches, "profiles": ", ".join(n.profiles), "GPU": n.gpu,
          "available": "yes" if n.number in present else "not yet"} for n in NOTEBOOKS]
    )


def notebook_listing(width: int = 100) -> str:
    """The notebook table as text no wider than ``width`` (``toonemo list``).

    One block per notebook: number and title, then what it teaches and its profiles,
    wrapped under a four-space indent.
    """
    present, blocks = _present(), []
    for info in NOTEBOOKS:
        status = "available" if info.number in present else "not yet available"
        facts = f"profiles: {', '.join(info.profiles)} | GPU: {info.gpu} | {status}"
        blocks.append("\n".join([
            textwrap.fill(info.title, width, initial_indent=f"{info.number}  ", subsequent_indent="    "),
            textwrap.fill(info.teaches, width, initial_indent="    teaches: ", subsequent_indent="    " + " " * 9),
            textwrap.fill(facts, width, initial_indent="    ", subsequent_indent="    "),
        ]))
    return "\n\n".join(blocks)
