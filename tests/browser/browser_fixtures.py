"""Fixtures of the browser tests: Chromium through Playwright, and a JupyterLab on 127.0.0.1.

(Not a conftest.py: the suite's own tests import ``conftest`` by name, and a second one on
sys.path would shadow it.  The test modules import these fixtures.)

These tests carry the ``browser`` marker and are deselected by the default run (``addopts``
in pyproject.toml); ``python -m pytest -m browser -n 0`` runs them.  They skip, saying why,
when Playwright's Python package or a system Chromium is missing (Playwright's own browser
download is not used: ``TOONEMO_CHROMIUM`` names the binary, else ``chromium`` on PATH).
Screenshots go to the test's temporary folder; the path is printed (``-s`` or ``-rA`` shows it).
"""

import os
from pathlib import Path

import pytest

from labdriver import JupyterLab, chromium_executable, prepare_notebook
from toonemo_lib import course
from toonemo_lib.config import NOTEBOOKS_DIR

BROWSER_PARAMETERS = {"PROFILE": "smoke", "SHOW_WIDGETS": True}


@pytest.fixture(scope="session")
def chromium_path():
    pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is not installed (pip install -e '.[dev]')")
    path = chromium_executable()
    if path is None:
        pytest.skip("no Chromium found: install Debian's `chromium` (apt-get install chromium) or set TOONEMO_CHROMIUM")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory, chromium_path):
    """A temporary course folder: notebooks/ with the injected parameters, the cache beside it."""
    root = tmp_path_factory.mktemp("course")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOONEMO_HOME", str(root / "cache"))
        kernel = course.ensure_kernel()  # registers the course's kernel under the cache, puts it on JUPYTER_PATH
        course.kernel_environment()
        env = dict(os.environ)
    folder = root / "notebooks"
    folder.mkdir()
    for path in sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        prepare_notebook(path, folder / path.name, BROWSER_PARAMETERS, kernel)
    return root, env


@pytest.fixture(scope="session")
def lab(lab_root):
    root, env = lab_root
    server = JupyterLab(root / "notebooks", root / "jupyter", env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory):
    """$TOONEMO_BROWSER_OUT when set (CI keeps it), else a temporary folder."""
    named = os.environ.get("TOONEMO_BROWSER_OUT")
    folder = Path(named) if named else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {folder}")
    return folder
