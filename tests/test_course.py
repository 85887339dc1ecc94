"""The course runner and the `toonemo` command, on tiny notebooks made here."""

import json
import os
import platform

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from toonemo_lib import cli, course, cpu
from toonemo_lib.records import read_records

PARAMETERS = 'PROFILE = "cpu"\nOUTPUT_DIR = "out"'


def _write_notebook(path, body, parameters=PARAMETERS):
    cells = [new_code_cell(parameters, metadata={"tags": ["parameters"]})] if parameters else []
    cells.append(new_code_cell(body))
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def tiny_course(tmp_path, monkeypatch):
    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _write_notebook(folder / "01_ok.ipynb", (
        "from pathlib import Path\nfrom toonemo_lib.records import record\n"
        "Path(OUTPUT_DIR).mkdir(parents=True, exist_ok=True)\n(Path(OUTPUT_DIR) / 'made.txt').write_text(PROFILE)\n"
        "record('profile', PROFILE)\nimport os\nrecord('onednn', os.environ.get('TF_ENABLE_ONEDNN_OPTS'))"))
    _write_notebook(folder / "02_fails.ipynb", "raise ValueError('the data folder is empty')")
    return folder


def test_run_course_executes_in_order_and_reports_failures(tiny_course, tmp_path, monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    summary = course.run_course("smoke", tmp_path / "reports", folder=tiny_course)
    assert summary["notebook"].tolist() == ["01_ok.ipynb", "02_fails.ipynb"]
    assert summary["status"].tolist() == ["ok", "failed"]
    assert "ValueError: the data folder is empty" in summary.loc[1, "error"]
    out = tmp_path / "reports" / "smoke"
    records = read_records(out / "01_ok.ipynb")
    assert records == {"profile": "smoke", "onednn": None}  # parameters injected; oneDNN as TensorFlow has it
    assert (out / "01_ok" / "made.txt").read_text() == "smoke"
    assert (out / "01_ok.html").stat().st_size > 1000 and (out / "02_fails.html").exists()
    assert "x.toonemo.record" not in (out / "01_ok.html").read_text()


def test_html_reports_render_equations_without_a_network(tmp_path):
    notebook = tmp_path / "eq.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("AdaIN: $$\\sigma(y)\\frac{x-\\mu(x)}{\\sigma(x)}+\\mu(y)$$")]),
                   str(notebook))
    html = course.export_html(notebook).read_text()
    assert 'src="mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"' in html
    assert "libs/mathjax" not in html  # no CDN copy of MathJax
    assert (tmp_path / "mathjax" / "MathJax.js").stat().st_size > 10_000
    assert (tmp_path / "mathjax" / "config" / "TeX-AMS-MML_HTMLorMML-full.js").exists()


def test_cli_exit_codes_and_only(tiny_course, tmp_path, capsys):
    assert cli.main(["run", "--profile", "smoke", "--only", "1", "--notebooks", str(tiny_course),
                        "--out", str(tmp_path / "r")]) == 0
    printed = capsys.readouterr().out
    assert "01_ok.ipynb" in printed and "02_fails" not in printed
    assert cli.main(["run", "--profile", "smoke", "--notebooks", str(tiny_course), "--out", str(tmp_path / "r")]) == 1
    assert "failed" in capsys.readouterr().out


def test_cli_refuses_unknown_profile_and_notebook(tiny_course, tmp_path, capsys):
    assert cli.main(["run", "--profile", "nosuch", "--notebooks", str(tiny_course)]) == 2  # usage errors
    assert "valid profiles are smoke, cpu, gpu" in capsys.readouterr().err
    assert cli.main(["run", "--profile", "smoke", "--only", "07", "--notebooks", str(tiny_course)]) == 2
    assert "no notebook numbered 07" in capsys.readouterr().err
    assert cli.main(["run", "--profile", "smoke", "--notebooks", str(tmp_path / "none")]) == 1  # a failure
    assert "does not exist" in capsys.readouterr().err


def test_the_users_onednn_choice_reaches_the_kernels(tiny_course, tmp_path, monkeypatch):
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    course.run_notebook(tiny_course / "01_ok.ipynb", "smoke", tmp_path, html=False)
    assert read_records(tmp_path / "01_ok.ipynb")["onednn"] == "1"


def test_only_the_notebook_that_trains_emotion_networks_switches_onednn_off(monkeypatch, tmp_path):
    monkeypatch.setattr(cpu, "read_cpu_flags", lambda path=None: frozenset({"avx2", "avx512f"}))
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    for notebook, expected in (("01", None), ("03", None), ("05", "0")):
        monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
        course.start(notebook, "smoke", tmp_path / notebook)
        assert os.environ.get("TF_ENABLE_ONEDNN_OPTS") == expected, notebook
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    course.start("05", "smoke", tmp_path / "05")
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1"


def test_a_long_notebook_reports_its_elapsed_time_and_section(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path / "cache"))
    nb = new_notebook(cells=[new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
                             new_markdown_cell("# Notebook title\n\n## Waiting on purpose\n\ntext"),
                             new_code_cell("import time\ntime.sleep(3)")],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, str(tmp_path / "01_slow.ipynb"))
    course.run_notebook(tmp_path / "01_slow.ipynb", "smoke", tmp_path / "out", html=False, heartbeat=0.5)
    beats = [line for line in capsys.readouterr().err.splitlines() if line.startswith("01_slow: ")]
    assert beats and all(" elapsed, " in line for line in beats)
    assert any(line.endswith("running: Waiting on purpose") for line in beats), beats


def test_running_section_is_the_heading_above_the_running_cell():
    def cell(kind, source="", status=None):
        metadata = {"papermill": {"status": status}} if status else {}
        return {"cell_type": kind, "source": source, "metadata": metadata}

    nb = {"cells": [cell("code", status="completed"), cell("markdown", ["# Title\n", "## Part A\n", "text"]),
                    cell("code", status="completed"), cell("markdown", "## Part B"), cell("code", status="running"),
                    cell("code", status="pending")]}
    assert course.running_section(nb) == "Part B"
    nb["cells"][4]["metadata"]["papermill"]["status"] = "completed"
    assert course.running_section(nb) is None  # nothing running (finished, or not started)
    assert course.running_section({"cells": [cell("code", status="running")]}) == "cell 1"


def test_notebook_without_parameters_cell_is_refused(tmp_path):
    bare = _write_notebook(tmp_path / "01_bare.ipynb", "print(1)", parameters=None)
    with pytest.raises(ValueError, match="no cell tagged 'parameters'"):
        course.check_parameters(bare, ["PROFILE"])
    partial = _write_notebook(tmp_path / "02_partial.ipynb", "print(1)", parameters='PROFILE = "cpu"')
    with pytest.raises(ValueError, match="OUTPUT_DIR"):
        course.check_parameters(partial, ["PROFILE", "OUTPUT_DIR"])


def test_list_prints_every_notebook_within_100_columns(capsys):
    assert cli.main(["list"]) == 0
    printed = capsys.readouterr().out
    for info in course.NOTEBOOKS:
        assert info.title[:30] in printed and ", ".join(info.profiles) in printed
    assert " ".join(printed.split()).count("teaches: ") == len(course.NOTEBOOKS)
    assert max(len(line) for line in printed.splitlines()) <= 100


def test_dataset_and_crawl_commands_are_wired_into_toonemo():
    parser = cli.build_parser()
    args = parser.parse_args(["dataset", "src", "out", "--resolution", "64", "--format", "zip"])
    assert args.command == "dataset" and args.resolution == 64 and callable(args.func)
    assert parser.parse_args(["crawl", "--urls", "list.txt", "--out", "raw"]).command == "crawl"


def test_recorded_values_are_strict_json():
    """NaN and infinities are recorded as None: Jupyter's messages are JSON, which has no NaN."""
    import numpy as np

    from toonemo_lib.records import _plain

    value = {"recall": float("nan"), "rows": np.array([1.0, np.inf]), "n": np.int64(3), "ok": np.float32(0.5)}
    assert _plain(value) == {"recall": None, "rows": [1.0, None], "n": 3, "ok": 0.5}
    json.dumps(_plain(value), allow_nan=False)
