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
# Colab only: clone and install the course once per session (does nothing elsewhere)
import importlib.util, os, subprocess, sys
if importlib.util.find_spec("google.colab") and not importlib.util.find_spec("toonemo_lib"):
    subprocess.run(["git", "clone", "--depth=1", os.environ.get("TOONEMO_REPO", "https://github.com/toonemo/toonemo.git"), "/content/toonemo"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/toonemo"], check=True)
    sys.path.insert(0, "/content/toonemo")"""

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
