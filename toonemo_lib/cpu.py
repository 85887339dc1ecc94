"""Whether to switch TensorFlow's oneDNN kernels off on this CPU.

TensorFlow's oneDNN kernels crashed (segfault, or glibc's "double free") while training
small SeparableConv2D networks on x86 CPUs with AVX-512; on AVX2 CPUs the same kernels
trained the shipped recipe 1.3-2x faster than without them.  So oneDNN is switched off
only where the crash was seen, and a ``TF_ENABLE_ONEDNN_OPTS`` the user exported always
wins.  TensorFlow reads the variable once, when it is first imported, which is why
``toonemo_lib/__init__.py`` applies the decision before any module imports TensorFlow.

This module imports nothing of the package: the package's ``__init__`` uses it.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Iterable, MutableMapping, Optional

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
X86_MACHINES = frozenset({"x86_64", "amd64", "i386", "i686", "x86"})
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo_text: str) -> frozenset[str]:
    """The feature flags of the first processor in a Linux ``/proc/cpuinfo`` text."""
    for line in cpuinfo_text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def read_cpu_flags(path: Optional[Path] = None) -> frozenset[str]:
    """This machine's CPU flags (from ``CPUINFO``); empty where that does not exist (macOS, Windows)."""
    try:
        with open(CPUINFO if path is None else path, encoding="utf-8", errors="replace") as f:
            for line in f:  # the first processor's flags come early: no need to read every core
                if line.startswith("flags"):
                    return cpu_flags(line)
    except OSError:
        pass
    return frozenset()


def onednn_setting(flags: Iterable[str], machine: str, environ) -> Optional[str]:
    """``"0"`` when oneDNN must be switched off, None to leave TensorFlow's default.

    Off only on x86 CPUs with AVX-512 (flag ``avx512f``), and never when ``environ``
    already holds the user's own ``TF_ENABLE_ONEDNN_OPTS``.
    """
    if ONEDNN_VARIABLE in environ:
        return None
    if machine.lower() in X86_MACHINES and "avx512f" in set(flags):
        return "0"
    return None


def apply_onednn_setting(environ: Optional[MutableMapping[str, str]] = None) -> Optional[str]:
    """Set ``TF_ENABLE_ONEDNN_OPTS`` in ``environ`` (default ``os.environ``) when this CPU needs it.

    Returns the value set, or None when nothing was set.
    """
    environ = os.environ if environ is None else environ
    value = onednn_setting(read_cpu_flags(), platform.machine(), environ)
    if value is not None:
        environ[ONEDNN_VARIABLE] = value
    return value
