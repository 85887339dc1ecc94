"""Values a notebook records for its tests and reports.

``record(name, value)`` displays the value under a custom JSON MIME type.  It
lands in the executed notebook's outputs, invisible in JupyterLab, and
:func:`read_records` reads it back.  (scrapbook did this once; it is
unmaintained and no longer imports on a fresh install.)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

MIME_TYPE = "application/x.toonemo.record+json"


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays to JSON-friendly Python values; NaN and infinities to None.

    JSON has no NaN: Jupyter's message layer would send it anyway, but with a red
    "Message serialization failed" warning in the notebook (a recall of 0 faces of 0, say).
    """
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def record(name: str, value: Any) -> None:
    """Record ``value`` under ``name`` in the running notebook."""
    from IPython.display import display

    payload = {"name": name, "value": _plain(value)}
    json.dumps(payload, allow_nan=False)  # fail here, in the notebook, if the value cannot be stored
    display({MIME_TYPE: payload}, raw=True)


def read_records(notebook: str | Path | dict) -> dict[str, Any]:
    """All values recorded in an executed notebook (a path or a loaded nbformat dict)."""
    nb = notebook if isinstance(notebook, dict) else json.loads(Path(notebook).read_text())
    found = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(MIME_TYPE)
            if payload is not None:
                found[payload["name"]] = payload["value"]
    return found
