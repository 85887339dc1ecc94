"""The scaling grid on KerasTuner: a chief and two workers on 127.0.0.1 give the local runner's table."""

import os
import socket
import subprocess
import sys

import pandas as pd
import pytest

pytest.importorskip("keras_tuner", reason="the distributed grid needs keras-tuner (in the project's dependencies)")

from toonemo_lib.datasets.fer2013 import expression_data  # noqa: E402
from toonemo_lib.emotion.grid_tuner import role, run_grid_tuner  # noqa: E402
from toonemo_lib.emotion.scaling import run_grid, seed_configs  # noqa: E402

# The smoke grid's rows, made tiny: one epoch on 64 synthetic faces each.
ROWS, EPOCHS, FACES, LIMIT, RECALIBRATION = ("origin", "11"), 1, 140, 64, 2
CLI = ["--rows", ",".join(ROWS), "--epochs", str(EPOCHS), "--data", "synthetic", "--synthetic-faces", str(FACES),
       "--train-limit", str(LIMIT), "--augmentation-scale", "0", "--bn-recalibration", str(RECALIBRATION),
       "--timing-repeats", "1"]
COMPARED = ["Model", "Batch Size", "Resolution", "Augmentation", "# of Conv Blocks", "Architecture", "Val Acc",
            "Val Loss", "Extra samples", "Parameters", "Epochs", "Best epoch"]  # all but the timing


def tiny_grid():
    configs = seed_configs(ROWS, epochs=EPOCHS, augmentation_scale=0.0, bn_recalibration=RECALIBRATION)
    data, _ = expression_data("synthetic", synthetic_faces=FACES)
    return configs, data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_role_follows_keras_tuners_variables(monkeypatch):
    for name in ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        monkeypatch.delenv(name, raising=False)
    assert role() == "local"
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    with pytest.raises(ValueError, match="KERASTUNER_ORACLE_PORT and KERASTUNER_TUNER_ID"):
        role()
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert role() == "chief"
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner1")
    assert role() == "worker"


def test_chief_and_two_workers_give_the_local_table(tmp_path, monkeypatch):
    for name in ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        monkeypatch.delenv(name, raising=False)
    configs, data = tiny_grid()
    local = run_grid(configs, data, tmp_path / "local", train_limit=LIMIT, timing_repeats=1)

    out = tmp_path / "distributed"
    port = str(free_port())
    processes = {}
    for tuner_id in ("chief", "tuner0", "tuner1"):
        env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": "127.0.0.1",
               "KERASTUNER_ORACLE_PORT": port}
        processes[tuner_id] = subprocess.Popen(
            [sys.executable, "-m", "toonemo_lib.emotion.grid_tuner", "--out", str(out), *CLI],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outputs = {}
    try:
        for tuner_id, process in processes.items():
            outputs[tuner_id] = process.communicate(timeout=600)[0]
    finally:
        for process in processes.values():
            process.kill()
    for tuner_id, process in processes.items():
        assert process.returncode == 0, f"{tuner_id} failed:\n{outputs[tuner_id][-3000:]}"

    table = pd.read_csv(out / "grid.csv", dtype={"Model": str})
    assert list(table.columns) == list(local.columns) and list(table["Model"]) == list(ROWS)
    pd.testing.assert_frame_equal(table[COMPARED], local[COMPARED], check_dtype=False, rtol=1e-5)
    for model_id in ROWS:  # every row trained once, in its resumable folder, by one of the workers
        assert (out / f"row_{model_id}" / "best.keras").exists()

    # Run again, in one process: KerasTuner remembers the finished trials and no row is trained again.
    before = {m: (out / f"row_{m}" / "best.keras").stat().st_mtime_ns for m in ROWS}
    again = run_grid_tuner(configs, data, out, train_limit=LIMIT, timing_repeats=1)
    pd.testing.assert_frame_equal(again[COMPARED], local[COMPARED], check_dtype=False, rtol=1e-5)
    assert {m: (out / f"row_{m}" / "best.keras").stat().st_mtime_ns for m in ROWS} == before
