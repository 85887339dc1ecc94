"""JupyterLab in a real browser: start a server, open a notebook, run it, move its widgets.

Used by the browser tests (``tests/browser``).  JupyterLab listens on 127.0.0.1 only, on a
free port, with a random token, in a temporary copy of the notebooks whose parameters are
set the way papermill sets them (an ``injected-parameters`` cell after the ``parameters``
cell: ``PROFILE = "smoke"``, ``SHOW_WIDGETS = True``).  The kernel is the course's own
(``course.ensure_kernel``), so the notebooks run in the project's environment.

The page is driven through JupyterLab's own commands (the ``window.jupyterapp`` object that
``--LabApp.expose_app_in_browser`` exposes, as JupyterLab's Galata test tool does), and the
widgets through the page itself: keyboard presses on a slider's handle, as a learner would.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VIEWPORT = {"width": 1280, "height": 900}  # a laptop screen's width: tables wider than this overflow
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

# A pixel of an output-area screenshot counts as changed when one of its channels moved by more
# than PIXEL_TOLERANCE (of 255), and a widget's output changed when more than CHANGED_FRACTION of
# the pixels changed.  Matplotlib's inline PNGs and the browser's drawing of them are
# deterministic: the same state shot twice gives exactly 0 changed pixels (the tests assert it),
# so no tolerance is needed and any changed pixel is a change.  What a broken callback still
# changes is text: a redraw whose title follows the slider but whose image does not changes
# 0.02 % of the area (measured, the broken-callback test); real redraws change 6 % (notebooks 03
# and 04) to 21 % (notebook 01).  1 % sits between them with room on both sides.
# VISIBLE_TOLERANCE (16 of 255) is printed beside it: the share of pixels whose change a learner
# can see (in smoke, notebook 03's snapshots differ by at most 4/255: 0.18 %, titles only).
PIXEL_TOLERANCE = 0
VISIBLE_TOLERANCE = 16
CHANGED_FRACTION = 0.01
# A callback that fails outside the widget's output (ipywidgets prints its traceback elsewhere)
# leaves the old image: the kernel goes idle and nothing new is drawn.
IDLE_WITHOUT_OUTPUT_S = 10.0


def chromium_executable() -> str | None:
    """The system Chromium: $TOONEMO_CHROMIUM, else ``chromium`` or ``chromium-browser`` on PATH."""
    named = os.environ.get("TOONEMO_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_notebook(source: Path, target: Path, parameters: dict, kernel_name: str) -> Path:
    """Copy ``source`` to ``target`` with ``parameters`` injected after its parameters cell.

    Only parameters the notebook declares are set; the kernelspec is the course's kernel.
    """
    import papermill

    declared = set(papermill.inspect_notebook(str(source)))
    values = {k: v for k, v in parameters.items() if k in declared}
    nb = json.loads(source.read_text(encoding="utf-8"))
    index = next(i for i, c in enumerate(nb["cells"]) if "parameters" in c.get("metadata", {}).get("tags", []))
    lines = ["# Injected by the browser tests"] + [f"{k} = {v!r}" for k, v in values.items()]
    nb["cells"].insert(index + 1, {"cell_type": "code", "id": "injected-parameters", "metadata": {"tags": ["injected-parameters"]},
                                   "execution_count": None, "outputs": [], "source": "\n".join(lines)})
    nb["metadata"]["kernelspec"] = {"name": kernel_name, "display_name": "Python (toonemo)", "language": "python"}
    target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 serving ``root``; ``stop()`` ends it and its kernels."""

    def __init__(self, root: Path, home: Path, env: dict):
        self.root, self.home = Path(root), Path(home)
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        settings = self.home / "lab-settings"
        # every cell in the DOM (the default virtual scrolling leaves cells out of view unrendered),
        # no blank screen after the last cell (it would grow with the viewport of a full-page shot),
        # and no news or update checks: the page must not try the internet
        _write_json(settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings", {"windowingMode": "none", "scrollPastEnd": False})
        _write_json(settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
                    {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True})
        self.log_path = self.home / "jupyterlab.log"
        env = {**env, "JUPYTER_CONFIG_DIR": str(self.home / "config"), "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
               "IPYTHONDIR": str(self.home / "ipython")}
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={self.home / 'workspaces'}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",  # the default one asks PyPI about extensions
            "--ServerApp.terminals_enabled=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
            command.append("--allow-root")
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready(timeout=120)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def url(self, notebook: str) -> str:
        return f"{self.base}/lab/tree/{notebook}?reset&token={self.token}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # the server shuts its kernels down on SIGTERM
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


# --- the page ---------------------------------------------------------------------------------

_CURRENT = "window.jupyterapp && window.jupyterapp.shell.currentWidget"

_STATE_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')].map(p => p.textContent.trim());
  return {kernel: kernel ? kernel.status : 'none', running: prompts.filter(p => p.includes('*')).length,
          executed: prompts.filter(p => /\\[\\d+\\]/.test(p)).length};
}"""


@dataclass
class RunResult:
    seconds: float
    executed_cells: int


def open_notebook(page, lab: JupyterLab, name: str, timeout_s: float = 180) -> None:
    """Open ``name`` in a one-document layout and wait until its kernel is idle."""
    page.goto(lab.url(name))
    page.wait_for_function(f"() => {_CURRENT} && {_CURRENT}.sessionContext", timeout=timeout_s * 1000)
    page.evaluate("""async () => {
      const app = window.jupyterapp;
      app.shell.mode = 'single-document';
      app.shell.collapseLeft(); app.shell.collapseRight();
      const panel = app.shell.currentWidget;
      await panel.context.ready; await panel.sessionContext.ready;
    }""")
    page.wait_for_function("() => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel;"
                           " return k && k.status === 'idle'; }", timeout=timeout_s * 1000)


def run_all(page, timeout_s: float) -> RunResult:
    """Run every cell (JupyterLab's *Run > Run All Cells*) and wait until nothing runs any more.

    Done means: the kernel is idle and no prompt shows ``[*]``, three polls in a row.
    """
    start = time.monotonic()
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    calm, state = 0, {}
    while calm < 3:
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"the notebook still runs after {timeout_s:.0f} s: {state}")
        time.sleep(1.0)
        state = page.evaluate(_STATE_JS)
        calm = calm + 1 if state["kernel"] == "idle" and state["running"] == 0 and state["executed"] > 0 else 0
    page.wait_for_timeout(1500)  # let late outputs (images, widget views) render
    return RunResult(time.monotonic() - start, state["executed"])


def save(page) -> None:
    page.evaluate("async () => { await window.jupyterapp.commands.execute('docmanager:save'); }")


def shut_down(page) -> None:
    """Shut the notebook's kernel down (closing the page would leave it running in the server)."""
    try:
        page.evaluate("async () => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                      " if (w && w.sessionContext) await w.sessionContext.shutdown(); }")
    except Exception:  # the page may be gone already; the server's stop ends what is left
        pass


def error_outputs(nb: dict) -> list[str]:
    """``ename: evalue`` of every error output in a saved notebook."""
    return [f"cell {i}: {o.get('ename')}: {o.get('evalue')}" for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def interactive_outputs(nb: dict) -> int:
    """How many ``ipywidgets.interactive`` boxes a saved notebook displays (tqdm's bars are widgets too)."""
    def text(o):
        plain = o.get("data", {}).get("text/plain", "")
        return "".join(plain) if isinstance(plain, list) else plain

    return sum(WIDGET_VIEW in o.get("data", {}) and text(o).startswith("interactive(")
               for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))


def page_problems(page) -> list[str]:
    """What a learner would see as broken on the page: tracebacks, widgets shown as text or not found."""
    return page.evaluate("""() => {
      const problems = [];
      document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').forEach(o => {
        if (/Traceback|Error:/.test(o.textContent)) problems.push('traceback: ' + o.textContent.slice(0, 300));
      });
      document.querySelectorAll('.jp-OutputArea-output').forEach(o => {
        const text = o.textContent;
        if (/^\\s*(interactive|VBox|HBox|IntSlider|FloatSlider)\\(/.test(text)) problems.push('widget shown as text: ' + text.slice(0, 120));
        if (text.includes('Error displaying widget')) problems.push('widget not displayed: ' + text.slice(0, 120));
      });
      return problems;
    }""")


def full_page_screenshot(page, path: Path) -> tuple[int, int]:
    """The whole notebook in one PNG: the viewport grows to the notebook's height first.

    JupyterLab scrolls the notebook inside its own panel, so a page screenshot shows one
    screen; with a viewport as tall as the notebook, nothing scrolls and all of it is drawn.
    Returns (width, height) in pixels.
    """
    from PIL import Image

    for _ in range(4):
        extra = page.evaluate("""() => {
          const outer = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')
                     || document.querySelector('.jp-NotebookPanel-notebook');
          outer.scrollTop = 0;
          return outer.scrollHeight - outer.clientHeight;
        }""")
        if extra <= 1:
            break
        size = page.viewport_size
        page.set_viewport_size({"width": size["width"], "height": size["height"] + extra + 40})
        page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(VIEWPORT)
    page.wait_for_timeout(300)
    with Image.open(path) as image:
        return image.size


# --- widgets ----------------------------------------------------------------------------------

def interact_widgets(page):
    """The rendered ``ipywidgets.interactive`` boxes of the page, in notebook order."""
    return page.locator(".jp-Notebook .widget-interact")


def _mark_images(box) -> int:
    """Mark the images the output shows now; a redraw replaces them with unmarked ones."""
    return box.evaluate("b => { const imgs = b.querySelectorAll('.widget-output img');"
                        " imgs.forEach(i => i.dataset.before = '1'); return imgs.length; }")


def _output_state(box) -> dict:
    return box.evaluate("""b => {
      const imgs = [...b.querySelectorAll('.widget-output img')];
      const errors = [...b.querySelectorAll('.widget-output [data-mime-type="application/vnd.jupyter.stderr"]')]
        .map(e => e.textContent).filter(t => /Traceback|Error/.test(t));
      return {images: imgs.length, fresh: imgs.length > 0 && imgs.every(i => !i.dataset.before && i.complete),
              sources: imgs.map(i => i.src.length + ':' + i.src.slice(-64)).join('|'), errors};
    }""")


def _screenshot_array(locator) -> np.ndarray:
    from PIL import Image

    locator.scroll_into_view_if_needed()
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB")).astype(np.int16)


def changed_fraction(before: np.ndarray, after: np.ndarray, tolerance: int = PIXEL_TOLERANCE) -> float:
    """Share of pixels that changed between two screenshots (padded with white to a common size)."""
    height, width = max(before.shape[0], after.shape[0]), max(before.shape[1], after.shape[1])

    def pad(a):
        out = np.full((height, width, 3), 255, np.int16)
        out[:a.shape[0], :a.shape[1]] = a
        return out

    return float((np.abs(pad(before) - pad(after)).max(axis=-1) > tolerance).mean())


@dataclass
class WidgetMove:
    control: str
    key: str
    fraction: float  # share of the output's pixels that changed at all (PIXEL_TOLERANCE)
    visible_fraction: float  # ... by more than VISIBLE_TOLERANCE
    same_state_fraction: float  # the same state shot twice, at PIXEL_TOLERANCE
    seconds: float


def move_slider(page, box, key: str | None = None, timeout_s: float = 120) -> WidgetMove:
    """Press ``key`` on the first slider of ``box`` and measure how its output changed.

    Without ``key``: Home (the slider's minimum), or End when the slider already sits there.

    Waits for the output's image to be replaced (the callback ran and drew), for the kernel
    to be idle and for the image to stay the same for a second.  Raises AssertionError when
    the output shows a traceback or never changes.
    """
    output = box.locator(".widget-output").first
    handle = box.locator(".widget-slider .noUi-handle").first
    label = box.locator(".widget-slider").first.locator(".widget-label").first.inner_text().strip() or "slider"
    if key is None:
        now, low = (float(handle.get_attribute(a) or "nan") for a in ("aria-valuenow", "aria-valuemin"))
        key = "End" if now <= low else "Home"
    assert _mark_images(box), f"the widget {label!r} shows no image before it is moved"
    before = _screenshot_array(output)
    same_state = changed_fraction(before, _screenshot_array(output))  # the same state shot twice
    start = time.monotonic()
    handle.focus()
    handle.press(key)
    stable, last, idle_since = 0, None, None
    while stable < 2:
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"the output of {label!r} was not redrawn within {timeout_s:.0f} s of pressing {key}")
        page.wait_for_timeout(500)
        state = _output_state(box)
        assert not state["errors"], f"moving {label!r} made the callback fail:\n{state['errors'][0][:1500]}"
        kernel = page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status")
        idle_since = (idle_since or time.monotonic()) if kernel == "idle" else None
        if state["fresh"] and kernel == "idle":
            stable = stable + 1 if state["sources"] == last else 0
        elif idle_since and time.monotonic() - idle_since > IDLE_WITHOUT_OUTPUT_S:
            raise AssertionError(f"pressing {key} on {label!r} drew nothing new: the kernel has been idle for "
                                 f"{IDLE_WITHOUT_OUTPUT_S:.0f} s and the output still shows the old image (did the callback fail?)")
        last = state["sources"]
    seconds = time.monotonic() - start
    page.wait_for_timeout(300)
    after = _screenshot_array(output)
    return WidgetMove(label, key, changed_fraction(before, after), changed_fraction(before, after, VISIBLE_TOLERANCE),
                      same_state, seconds)


def assert_redraws(move: WidgetMove) -> None:
    """The output changed visibly: more than CHANGED_FRACTION of its pixels."""
    assert move.fraction > CHANGED_FRACTION, (
        f"pressing {move.key} on {move.control!r} redrew the output, but only {move.fraction:.2%} of its pixels "
        f"changed (threshold {CHANGED_FRACTION:.0%}): the callback ignores the control")


@dataclass
class Upload:
    seconds: float
    images: int  # images the widget's output shows after the upload
    text: str  # the output's text


def upload_widgets(page):
    """The rendered ``interactive`` boxes that hold a ``FileUpload`` (its button is ``.widget-upload``)."""
    return interact_widgets(page).filter(has=page.locator(".widget-upload"))


def upload_file(page, box, path: Path, done_text: str, timeout_s: float = 300) -> Upload:
    """Upload ``path`` through the FileUpload of ``box`` as a learner does: click, pick the file.

    Playwright answers the browser's file chooser; the widget sends the file to the kernel, whose
    callback draws into the box's output.  Waits until the output shows ``done_text`` and its
    images are loaded, with the kernel idle.  Raises AssertionError on a traceback in the output
    or when ``done_text`` does not appear within ``timeout_s``.
    """
    button = box.locator(".widget-upload").first
    button.scroll_into_view_if_needed()
    start = time.monotonic()
    with page.expect_file_chooser() as chooser:
        button.click()
    chooser.value.set_files(str(path))
    while True:
        page.wait_for_timeout(500)
        state = box.evaluate("""b => {
          const out = b.querySelector('.widget-output');
          const imgs = [...out.querySelectorAll('img')];
          const errors = [...out.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')]
            .map(e => e.textContent).filter(t => /Traceback|Error/.test(t));
          return {text: out.textContent, images: imgs.length, loaded: imgs.every(i => i.complete), errors};
        }""")
        assert not state["errors"], f"the upload made the callback fail:\n{state['errors'][0][:1500]}"
        kernel = page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status")
        if done_text in state["text"] and state["loaded"] and kernel == "idle":
            return Upload(time.monotonic() - start, state["images"], state["text"])
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"{done_text!r} did not appear within {timeout_s:.0f} s of uploading {path.name}; "
                                 f"the output shows: {state['text'][-500:]!r}")
