"""Every notebook follows ARCHITECTURE.md's "Notebook conventions", read from the committed file.

The order of the first code cells: the Colab install cell (the same text in every notebook, at
most 6 lines), the ``parameters`` cell, then one start call ``start("NN", PROFILE, OUTPUT_DIR)``.
Nothing is committed with outputs, and a cell that only draws a figure is marked ``# extra code``
on its first line (handson-ml3's habit), so a learner can tell the lesson from the plotting.
"""

import json
import re

import pytest

from toonemo_lib.config import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))

COLAB_CELL = """\
# Colab only: install the course you name, its git address in TOONEMO_REPO or its .zip uploaded as /content/toonemo*.zip (does nothing elsewhere)
import glob, importlib.util, os, subprocess, sys, zipfile
if "google.colab" in sys.modules and not importlib.util.find_spec("toonemo_lib"):
    src = os.environ.get("TOONEMO_REPO") or max(glob.glob("/content/toonemo*.zip"), key=os.path.getmtime, default="") or sys.exit("toonemo is not installed: set os.environ['TOONEMO_REPO'] to the course's git address, or upload the course's .zip (e.g. toonemo-main.zip) to /content, then run this cell again")
    zipfile.ZipFile(src).extractall("/content/toonemo") if src.endswith(".zip") else subprocess.run(["git", "clone", "--depth=1", src, "/content/toonemo"], check=True)
    root = os.path.dirname(min(glob.glob("/content/toonemo/**/pyproject.toml", recursive=True), key=len)); subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", root], check=True); sys.path.insert(0, root)"""

# A cell that contains one of these draws a figure.
PLOT_MARKERS = ("plt.", "image_grid(", ".plot(", ".plot.", "plot_", "save_figure(")
EXTRA_CODE = "# extra code"


def _code_cells(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in cells:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
    return cells


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no NN_*.ipynb notebooks in {NOTEBOOKS_DIR}"


def test_the_colab_cell_fits_the_convention():
    assert len(COLAB_CELL.splitlines()) <= 6


def test_the_colab_cell_has_no_default_address():
    """The cell installs only what the learner names: no guessed address whose owner could run code on Colab."""
    assert "https://" not in COLAB_CELL and "http://" not in COLAB_CELL and "git@" not in COLAB_CELL
    assert "TOONEMO_REPO" in COLAB_CELL and "/content/toonemo*.zip" in COLAB_CELL


def _run_colab_cell(monkeypatch, content, colab=True, repo=None):
    """Run the cell as Colab would, with /content moved to `content` and toonemo_lib not installed."""
    import importlib.util
    import sys
    import types

    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "toonemo_lib" else real_find_spec(name, *a))
    if repo is None:
        monkeypatch.delenv("TOONEMO_REPO", raising=False)
    else:
        monkeypatch.setenv("TOONEMO_REPO", repo)
    calls = []
    monkeypatch.setattr("subprocess.run", lambda cmd, **kw: calls.append(cmd))
    exec(compile(COLAB_CELL.replace("/content", str(content)), "<colab cell>", "exec"), {})
    return calls


def test_the_colab_cell_stops_with_one_line_when_nothing_is_named(monkeypatch, tmp_path):
    with pytest.raises(SystemExit) as stopped:
        _run_colab_cell(monkeypatch, tmp_path)
    message = str(stopped.value.code)
    assert "\n" not in message and "TOONEMO_REPO" in message and ".zip" in message
    assert not (tmp_path / "toonemo").exists()


def test_the_colab_cell_does_nothing_elsewhere(monkeypatch, tmp_path):
    assert _run_colab_cell(monkeypatch, tmp_path, colab=False) == []


def test_the_colab_cell_installs_the_named_repository_or_uploaded_zip(monkeypatch, tmp_path):
    """TOONEMO_REPO is cloned; else the newest /content/toonemo*.zip is unpacked and its root installed."""
    import sys
    import zipfile

    monkeypatch.setattr(sys, "path", list(sys.path))
    cloned = tmp_path / "git"
    (cloned / "toonemo").mkdir(parents=True)
    (cloned / "toonemo" / "pyproject.toml").write_text("")  # what the (faked) clone would bring
    calls = _run_colab_cell(monkeypatch, cloned, repo="https://example.org/course.git")
    assert calls == [["git", "clone", "--depth=1", "https://example.org/course.git", str(cloned / "toonemo")],
                     [sys.executable, "-m", "pip", "install", "-q", "-e", str(cloned / "toonemo")]]

    with zipfile.ZipFile(tmp_path / "toonemo-main.zip", "w") as archive:  # GitHub's "Download ZIP" layout
        archive.writestr("toonemo-main/pyproject.toml", "[project]\nname = 'toonemo'\n")
        archive.writestr("toonemo-main/toonemo_lib/__init__.py", "")
        archive.writestr("toonemo-main/data/README.md", "")
    root = str(tmp_path / "toonemo" / "toonemo-main")
    calls = _run_colab_cell(monkeypatch, tmp_path)
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", "-e", root]]
    assert (tmp_path / "toonemo" / "toonemo-main" / "data").is_dir() and sys.path[0] == root


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_cells_install_then_parameters_then_start(path):
    cells = _code_cells(path)
    assert len(cells) >= 3, f"{path.name} has fewer than three code cells"
    install, parameters, first = cells[:3]
    assert install["source"] == COLAB_CELL, f"{path.name}: the first code cell is not the Colab install cell"
    assert "parameters" in parameters.get("metadata", {}).get("tags", []), \
        f"{path.name}: the second code cell is not tagged 'parameters'"
    number = path.name[:2]
    pattern = rf'settings, out_dir = start\(\s*"{number}"\s*,\s*PROFILE\s*,\s*OUTPUT_DIR\s*\)'
    assert re.search(pattern, first["source"]), \
        f'{path.name}: the third code cell does not call settings, out_dir = start("{number}", PROFILE, OUTPUT_DIR)'
    tensorflow = re.compile(r"^\s*(import|from)\s+(tensorflow|keras)\b", re.M)
    before = first["source"].split("start(")[0]
    assert not any(tensorflow.search(c["source"]) for c in (install, parameters)) and not tensorflow.search(before), \
        f"{path.name} imports TensorFlow before start() could quiet it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_outputs_are_committed(path):
    dirty = [i for i, c in enumerate(_code_cells(path)) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{path.name} carries outputs in code cells {dirty}: strip them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_plot_only_cells_are_marked_extra_code(path):
    """A cell that draws and records nothing for the tests is plotting only: its first line says so."""
    unmarked = []
    for i, cell in enumerate(_code_cells(path)[3:], start=3):
        source = cell["source"]
        plots = any(marker in source for marker in PLOT_MARKERS)
        if plots and "record(" not in source and not source.startswith(EXTRA_CODE):
            unmarked.append(f"code cell {i}: {source.splitlines()[0][:60]!r}")
    assert not unmarked, f"{path.name}: plotting-only cells without '# extra code' on their first line: {unmarked}"


def test_the_marker_check_sees_plotting_cells():
    """The rule above flags an unmarked plotting cell and accepts a marked one or one that records."""
    def flagged(source):
        return any(m in source for m in PLOT_MARKERS) and "record(" not in source and not source.startswith(EXTRA_CODE)

    assert flagged('fig = image_grid(faces)\nplt.show()')
    assert flagged('ax = table.plot.barh()')
    assert not flagged('# extra code – the faces\nfig = image_grid(faces)\nplt.show()')
    assert not flagged('x = compute()\nrecord("x", x)\nfig = plot_x(x)')
    assert not flagged('x = compute()\nx')
