"""Where to switch TensorFlow's oneDNN kernels off: only in work that trains emotion networks.

On x86 CPUs with AVX-512, TensorFlow 2.20-2.21's oneDNN kernels crash while training the
emotion networks (mini-Xception and its family: Keras ``fit`` with a validation pass).  The
crash is glibc's "double free or corruption" or a segfault, in the teardown of oneDNN's
convolution weight-gradient primitive (``MklConvBwdFilterPrimitive``, called from
``MklConvCustomBackpropFilterOp``); it ended 19 of 21 such runs on TensorFlow 2.21 and an Intel
Xeon with AVX-512 (``benchmarks/bench_onednn.py --crash-check`` repeats it).
StyleGAN2's training and inference never showed it, and there oneDNN is worth 1.5-1.8x
(``benchmarks/bench_train.py``).  So oneDNN stays on (TensorFlow's default) everywhere but
in the processes that train emotion networks, and a ``TF_ENABLE_ONEDNN_OPTS`` the user
exported always wins.

TensorFlow reads the variable once, when it is first imported, so the entry points that
train emotion networks call ``apply_onednn_setting(emotion_training=True)`` before any
import of TensorFlow: ``toonemo emotion-train``, ``python -m toonemo_lib.emotion.grid_tuner``,
notebook 05's ``course.start`` and the test suite.  `emotion_training_at_risk` tells an
emotion trainer that started too late (TensorFlow already loaded with oneDNN on).

This module imports nothing of the package and never imports TensorFlow.
"""

from __future__ import annotations

import os
import platform
import sys
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


def cpu_model(path: Optional[Path] = None) -> str:
    """The CPU's model name from ``CPUINFO``, else what `platform` knows."""
    try:
        with open(CPUINFO if path is None else path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_cpu(onednn: bool = True) -> str:
    """One line for a benchmark's figures: CPU model, cores, AVX-512 and (`onednn`) this process's oneDNN state."""
    avx512 = has_avx512(read_cpu_flags(), platform.machine())
    line = f"{cpu_model()}, {os.cpu_count()} cores, AVX-512 {'yes' if avx512 else 'no'}"
    return line + (f", oneDNN {'on' if onednn_enabled() else 'off'}" if onednn else "")


def has_avx512(flags: Iterable[str], machine: str) -> bool:
    """An x86 CPU with AVX-512 (flag ``avx512f``): where oneDNN's crash was seen."""
    return machine.lower() in X86_MACHINES and "avx512f" in set(flags)


def onednn_setting(flags: Iterable[str], machine: str, environ, emotion_training: bool = False) -> Optional[str]:
    """``"0"`` when oneDNN must be switched off, None to leave TensorFlow's default (on).

    Off only for work that trains emotion networks on an x86 CPU with AVX-512, and never
    when ``environ`` already holds the user's own ``TF_ENABLE_ONEDNN_OPTS``.
    """
    if ONEDNN_VARIABLE in environ or not emotion_training:
        return None
    return "0" if has_avx512(flags, machine) else None


def apply_onednn_setting(environ: Optional[MutableMapping[str, str]] = None,
                         emotion_training: bool = False) -> Optional[str]:
    """Set ``TF_ENABLE_ONEDNN_OPTS`` in ``environ`` (default ``os.environ``) when this work needs it.

    Returns the value set, or None when nothing was set.  Call it before TensorFlow is
    imported: a process that already loaded TensorFlow keeps the setting it loaded with.
    """
    environ = os.environ if environ is None else environ
    value = onednn_setting(read_cpu_flags(), platform.machine(), environ, emotion_training)
    if value is not None:
        environ[ONEDNN_VARIABLE] = value
    return value


def onednn_enabled(environ=None) -> bool:
    """Whether TensorFlow runs (or will run) with oneDNN, by ``TF_ENABLE_ONEDNN_OPTS`` (default on, x86)."""
    value = (os.environ if environ is None else environ).get(ONEDNN_VARIABLE, "1")
    return value.strip().lower() not in ("0", "false")


def emotion_training_at_risk() -> bool:
    """TensorFlow already loaded with oneDNN on, on an AVX-512 CPU: training an emotion network may crash."""
    return ("tensorflow" in sys.modules and onednn_enabled()
            and has_avx512(read_cpu_flags(), platform.machine()))
