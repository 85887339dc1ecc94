"""The course in JupyterLab, in Chromium: every notebook runs, its widgets redraw when moved.

papermill proves a notebook executes; these tests open it the way a learner does.  For each
notebook: open it in JupyterLab, *Run All Cells* in the ``smoke`` profile with
``SHOW_WIDGETS = True``, wait for the kernel to go idle, check that no cell shows an error and
no widget renders as text, save a full-page screenshot.  For each ``interactive`` widget with a
slider, press a key on it and check that the image it draws changed (see labdriver.CHANGED_FRACTION).
Notebook 04's upload widget gets a photo through the browser's file chooser and must show it toonified.
"""

import json
import os
import time

import pytest

import labdriver
from browser_fixtures import browser, chromium_path, lab, lab_root, screenshot_dir  # noqa: F401  (fixtures)
from toonemo_lib.config import NOTEBOOKS_DIR
from toonemo_lib.datasets.samples import sample_path

pytestmark = pytest.mark.browser

ALL = [p.name for p in sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))]


def _declares_show_widgets(name: str) -> bool:
    nb = json.loads((NOTEBOOKS_DIR / name).read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    return "SHOW_WIDGETS" in source


def _selected() -> list[str]:
    """$TOONEMO_BROWSER_NOTEBOOKS ("01,04") narrows the run; default: every notebook."""
    wanted = os.environ.get("TOONEMO_BROWSER_NOTEBOOKS", "").replace(",", " ").split()
    return [n for n in ALL if not wanted or n[:2] in {w.zfill(2) for w in wanted}]


SELECTED = _selected()


@pytest.fixture(scope="module", params=SELECTED, ids=lambda n: n[:2])
def executed(request, browser, lab, screenshot_dir):
    """The notebook opened in JupyterLab and run to the end; its page stays open for the widget tests."""
    name = request.param
    context = browser.new_context(viewport=labdriver.VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        start = time.monotonic()
        labdriver.open_notebook(page, lab, name)
        opened = time.monotonic() - start
        result = labdriver.run_all(page, timeout_s=900)
        labdriver.save(page)
        screenshot = screenshot_dir / f"{name[:-6]}.png"
        start = time.monotonic()
        size = labdriver.full_page_screenshot(page, screenshot)
        print(f"\n{name}: opened in {opened:.0f} s, ran in {result.seconds:.0f} s ({result.executed_cells} cells); "
              f"screenshot {screenshot} ({size[0]}x{size[1]} px, {time.monotonic() - start:.0f} s)")
        saved = json.loads((lab.root / name).read_text(encoding="utf-8"))
        yield {"name": name, "page": page, "nb": saved, "screenshot": screenshot, "size": size, "run": result}
    finally:
        labdriver.shut_down(page)  # its kernel would otherwise live on in the server
        context.close()


def test_notebook_runs_in_jupyterlab(executed):
    nb, page = executed["nb"], executed["page"]
    errors = labdriver.error_outputs(nb)
    assert not errors, f"{executed['name']}: cells failed in JupyterLab: {errors}"
    code_cells = sum(c["cell_type"] == "code" for c in nb["cells"])
    assert executed["run"].executed_cells == code_cells, "not every code cell ran"
    assert not labdriver.page_problems(page)
    assert labdriver.interact_widgets(page).count() == labdriver.interactive_outputs(nb), \
        "an interactive widget of the notebook is not rendered as a widget"
    assert executed["size"][1] > 2000, "the screenshot does not show the whole notebook"


@pytest.mark.parametrize("executed", [n for n in SELECTED if _declares_show_widgets(n)], indirect=True, ids=lambda n: n[:2])
def test_widgets_redraw_when_moved(executed):
    """Every interactive widget with a slider of a notebook with SHOW_WIDGETS: moved far, its image changes.

    Upload widgets (notebook 04's) have no slider: test_upload_toonifies_a_photo gives them a file.
    """
    page = executed["page"]
    boxes = labdriver.interact_widgets(page)
    assert boxes.count() >= 1, f"{executed['name']} declares SHOW_WIDGETS but shows no interactive widget"
    sliders = [index for index in range(boxes.count()) if boxes.nth(index).locator(".widget-slider").count()]
    assert sliders, f"{executed['name']} shows no interactive widget with a slider"
    for index in sliders:
        move = labdriver.move_slider(page, boxes.nth(index))
        print(f"\n{executed['name']} widget {index} ({move.control}, {move.key}): {move.fraction:.2%} of the output's "
              f"pixels changed in {move.seconds:.1f} s, {move.visible_fraction:.2%} by more than "
              f"{labdriver.VISIBLE_TOLERANCE}/255 (same state twice: {move.same_state_fraction:.2%}; "
              f"threshold {labdriver.CHANGED_FRACTION:.0%})")
        assert move.same_state_fraction == 0
        labdriver.assert_redraws(move)


@pytest.mark.parametrize("executed", [n for n in SELECTED if n.startswith("04")], indirect=True, ids=lambda n: n[:2])
def test_upload_toonifies_a_photo(executed, screenshot_dir):
    """Notebook 04's "Toonify yourself": the astronaut uploaded through the file chooser comes back toonified."""
    page = executed["page"]
    boxes = labdriver.upload_widgets(page)
    assert boxes.count() == 1, "notebook 04 shows no upload widget (or several)"
    box = boxes.first
    assert "Upload a photo" in box.locator(".widget-output").inner_text()
    upload = labdriver.upload_file(page, box, sample_path("faces/astronaut.png"), "toonified astronaut.png")
    screenshot = screenshot_dir / f"{executed['name'][:-6]}_upload.png"
    box.screenshot(path=str(screenshot))
    print(f"\n{executed['name']}: astronaut.png uploaded and toonified in {upload.seconds:.1f} s, "
          f"{upload.images} images drawn; screenshot {screenshot}")
    assert "astronaut.png: 512x512 photo" in upload.text
    assert upload.images >= 2, "the toonify row and the emoji steps should both be drawn"
    assert not labdriver.page_problems(page)


BROKEN_NOTEBOOK = """\
import matplotlib.pyplot as plt
from IPython.display import display
from toonemo_lib.datasets.samples import load_sample
from toonemo_lib.lessons.style_transfer import cover_resize
from toonemo_lib.lessons.plots import style_transfer_widget
from toonemo_lib.plots import image_grid

content = cover_resize(load_sample("faces/astronaut.png"), (64, 64))
style = load_sample("styles/coffee.png")
widget = style_transfer_widget(content, style, levels=3)
first = widget.result
BREAKAGE
display(widget)
"""
BREAKAGES = {
    "intact": "pass",
    # a callback that forgets to pass alpha on: its title follows the slider, the image does not
    "ignores its control": """\
def ignores_alpha(alpha, finest_restyled, coarsest_restyled):
    image_grid([content, style, first], ["content", "style", f"alpha={alpha:.2f}, levels {finest_restyled}-{coarsest_restyled}"], size=3)
    plt.show()
    return first
widget.f = ignores_alpha""",
    "raises": """\
def broken(**controls):
    raise RuntimeError("callback broken on purpose")
widget.f = broken""",
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_the_widget_check_fails_when_a_callback_is_broken(breakage, browser, lab):
    """The widget check on notebook 01's style-transfer widget: it passes intact and fails broken."""
    import nbformat

    name = f"widget_{breakage.replace(' ', '_')}.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(BROKEN_NOTEBOOK.replace("BREAKAGE", BREAKAGES[breakage]))])
    nb.metadata["kernelspec"] = {"name": "toonemo-python", "display_name": "Python (toonemo)", "language": "python"}
    nbformat.write(nb, str(lab.root / name))
    context = browser.new_context(viewport=labdriver.VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        labdriver.open_notebook(page, lab, name)
        labdriver.run_all(page, timeout_s=300)
        box = labdriver.interact_widgets(page).first
        if breakage == "intact":
            move = labdriver.move_slider(page, box, "Home")
            print(f"\n{breakage}: {move.fraction:.2%} of the output's pixels changed "
                  f"({move.visible_fraction:.2%} by more than {labdriver.VISIBLE_TOLERANCE}/255)")
            labdriver.assert_redraws(move)
        else:
            with pytest.raises(AssertionError) as failure:
                move = labdriver.move_slider(page, box, "Home")
                print(f"\n{breakage}: {move.fraction:.2%} of the output's pixels changed "
                      f"({move.visible_fraction:.2%} by more than {labdriver.VISIBLE_TOLERANCE}/255)")
                labdriver.assert_redraws(move)
            print(f"\n{breakage}: the check failed as it should: {str(failure.value).splitlines()[0]}")
    finally:
        labdriver.shut_down(page)
        context.close()
