"""The course runner and the `toonemo` command, on tiny notebooks made here."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from toonemo_lib import cli, course
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


def test_run_course_executes_in_order_and_reports_failures(tiny_course, tmp_path):
    summary = course.run_course("smoke", tmp_path / "reports", folder=tiny_course)
    assert summary["notebook"].tolist() == ["01_ok.ipynb", "02_fails.ipynb"]
    assert summary["status"].tolist() == ["ok", "failed"]
    assert "ValueError: the data folder is empty" in summary.loc[1, "error"]
    out = tmp_path / "reports" / "smoke"
    records = read_records(out / "01_ok.ipynb")
    assert records == {"profile": "smoke", "onednn": "0"}  # parameters injected, kernel environment passed on
    assert (out / "01_ok" / "made.txt").read_text() == "smoke"
    assert (out / "01_ok.html").stat().st_size > 1000 and (out / "02_fails.html").exists()
    assert "x.toonemo.record" not in (out / "01_ok.html").read_text()


def test_cli_exit_codes_and_only(tiny_course, tmp_path, capsys):
    assert cli.main(["run", "--profile", "smoke", "--only", "1", "--notebooks", str(tiny_course),
                        "--out", str(tmp_path / "r")]) == 0
    printed = capsys.readouterr().out
    assert "01_ok.ipynb" in printed and "02_fails" not in printed
    assert cli.main(["run", "--profile", "smoke", "--notebooks", str(tiny_course), "--out", str(tmp_path / "r")]) == 1
    assert "failed" in capsys.readouterr().out


def test_cli_refuses_unknown_profile_and_notebook(tiny_course, capsys):
    assert cli.main(["run", "--profile", "nosuch", "--notebooks", str(tiny_course)]) == 2
    assert "valid profiles are smoke, cpu, gpu" in capsys.readouterr().err
    assert cli.main(["run", "--profile", "smoke", "--only", "07", "--notebooks", str(tiny_course)]) == 2
    assert "no notebook numbered 07" in capsys.readouterr().err


def test_notebook_without_parameters_cell_is_refused(tmp_path):
    bare = _write_notebook(tmp_path / "01_bare.ipynb", "print(1)", parameters=None)
    with pytest.raises(ValueError, match="no cell tagged 'parameters'"):
        course.check_parameters(bare, ["PROFILE"])
    partial = _write_notebook(tmp_path / "02_partial.ipynb", "print(1)", parameters='PROFILE = "cpu"')
    with pytest.raises(ValueError, match="OUTPUT_DIR"):
        course.check_parameters(partial, ["PROFILE", "OUTPUT_DIR"])


def test_list_prints_every_notebook(capsys):
    assert cli.main(["list"]) == 0
    printed = capsys.readouterr().out
    for info in course.NOTEBOOKS:
        assert info.title[:30] in printed


def test_dataset_and_crawl_commands_are_wired_into_toonemo():
    parser = cli.build_parser()
    args = parser.parse_args(["dataset", "src", "out", "--resolution", "64", "--format", "zip"])
    assert args.command == "dataset" and args.resolution == 64 and callable(args.func)
    assert parser.parse_args(["crawl", "--urls", "list.txt", "--out", "raw"]).command == "crawl"
