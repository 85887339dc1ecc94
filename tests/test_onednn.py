"""The oneDNN decision: off on x86 CPUs with AVX-512 only, and the user's own setting always wins."""

import os
from pathlib import Path
import platform
import subprocess
import sys

import pytest

from toonemo_lib import cpu

AVX512_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz
flags\t\t: fpu vme de pse sse sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl

processor\t: 1
flags\t\t: fpu vme de pse sse sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl
"""
AVX2_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
flags\t\t: fpu vme sse sse2 avx avx2 fma bmi2
"""
ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
"""


def test_cpu_flags_are_read_from_the_first_processor():
    flags = cpu.cpu_flags(AVX512_CPUINFO)
    assert {"avx2", "avx512f", "avx512bw"} <= flags and "processor" not in flags
    assert "avx512f" not in cpu.cpu_flags(AVX2_CPUINFO)
    assert cpu.cpu_flags(ARM_CPUINFO) == frozenset()  # ARM lists "Features", not "flags"
    assert cpu.cpu_flags("") == frozenset()


@pytest.mark.parametrize("cpuinfo, machine, expected", [
    (AVX512_CPUINFO, "x86_64", "0"),   # where the crash was seen
    (AVX512_CPUINFO, "AMD64", "0"),    # Windows spells x86-64 this way
    (AVX2_CPUINFO, "x86_64", None),    # oneDNN trained 1.3-2x faster there: TensorFlow's default
    (ARM_CPUINFO, "aarch64", None),
    ("", "arm64", None),               # macOS: no /proc/cpuinfo, not x86
])
def test_onednn_is_off_only_for_emotion_training_on_avx512(cpuinfo, machine, expected):
    flags = cpu.cpu_flags(cpuinfo)
    assert cpu.onednn_setting(flags, machine, environ={}, emotion_training=True) == expected
    assert cpu.onednn_setting(flags, machine, environ={}) is None  # StyleGAN2 and everything else: on


@pytest.mark.parametrize("users_choice", ["0", "1", ""])
def test_the_users_own_setting_always_wins(users_choice):
    environ = {"TF_ENABLE_ONEDNN_OPTS": users_choice}
    for flags in (cpu.cpu_flags(AVX512_CPUINFO), cpu.cpu_flags(AVX2_CPUINFO)):
        assert cpu.onednn_setting(flags, "x86_64", environ, emotion_training=True) is None


def test_apply_sets_the_variable_only_when_needed(monkeypatch, tmp_path):
    fake = tmp_path / "cpuinfo"
    fake.write_text(AVX512_CPUINFO)
    monkeypatch.setattr(cpu, "CPUINFO", fake)
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    environ = {}
    assert cpu.apply_onednn_setting(environ, emotion_training=True) == "0" and environ == {"TF_ENABLE_ONEDNN_OPTS": "0"}
    environ = {}
    assert cpu.apply_onednn_setting(environ) is None and environ == {}
    environ = {"TF_ENABLE_ONEDNN_OPTS": "1"}
    assert cpu.apply_onednn_setting(environ, emotion_training=True) is None and environ == {"TF_ENABLE_ONEDNN_OPTS": "1"}
    fake.write_text(AVX2_CPUINFO)
    environ = {}
    assert cpu.apply_onednn_setting(environ, emotion_training=True) is None and environ == {}


@pytest.mark.parametrize("value, enabled", [(None, True), ("1", True), ("0", False), ("false", False), ("True", True)])
def test_onednn_enabled_reads_the_variable_as_tensorflow_does(value, enabled):
    assert cpu.onednn_enabled({} if value is None else {"TF_ENABLE_ONEDNN_OPTS": value}) is enabled


def test_no_cpuinfo_means_no_avx512(tmp_path):
    assert cpu.read_cpu_flags(tmp_path / "absent") == frozenset()


def _onednn_in(env, code):
    """TF_ENABLE_ONEDNN_OPTS as a fresh process sees it after `code`, and TensorFlow's own oneDNN state."""
    probe = (code + "\nimport os\nfrom tensorflow.python.util import _pywrap_util_port as port\n"
             "print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'), port.IsMklEnabled())")
    return subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                          check=True).stdout.strip().splitlines()[-1]


AVX512_HERE = cpu.has_avx512(cpu.read_cpu_flags(), platform.machine())


def test_stylegan2_runs_with_onednn_on_and_emotion_training_with_it_off_on_avx512():
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    # The StyleGAN2 path (and everything but emotion training) keeps TensorFlow's default.
    assert _onednn_in(env, "import toonemo_lib.stylegan2") == "None True"
    # `python -m toonemo_lib.emotion.train`'s guard, run before TensorFlow loads:
    guarded = "from toonemo_lib.cpu import apply_onednn_setting\napply_onednn_setting(emotion_training=True)"
    assert _onednn_in(env, guarded) == ("0 False" if AVX512_HERE else "None True")
    assert _onednn_in({**env, "TF_ENABLE_ONEDNN_OPTS": "1"}, guarded) == "1 True"  # the user's choice wins


def test_the_emotion_trainer_warns_when_tensorflow_loaded_with_onednn_on(monkeypatch):
    from toonemo_lib.emotion import train as emotion_train

    monkeypatch.setattr(emotion_train, "emotion_training_at_risk", lambda: True)
    with pytest.warns(RuntimeWarning, match="TF_ENABLE_ONEDNN_OPTS=0"):
        emotion_train.warn_if_onednn_may_crash()


def test_the_grid_tuners_processes_apply_the_guard_before_tensorflow():
    text = (Path(cpu.__file__).parent / "emotion" / "grid_tuner.py").read_text()
    guard = text.index("apply_onednn_setting(emotion_training=True)")
    assert guard < text.index("\nfrom toonemo_lib.emotion.")


def test_toonemo_emotion_train_applies_the_guard_before_anything_else(monkeypatch, tmp_path, capsys):
    from toonemo_lib.cli import emotion as emotion_cli

    calls = []
    monkeypatch.setattr(cpu, "apply_onednn_setting", lambda **kwargs: calls.append(kwargs))
    assert emotion_cli.train_main(["--data", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "run")]) == 1
    assert calls == [{"emotion_training": True}]  # before the data is even read
    assert "absent.csv" in capsys.readouterr().err


def test_importing_the_package_keeps_large_tensors_in_tensorflows_caching_allocator():
    code = "import os, toonemo_lib; print(os.environ.get('TF_CPU_ALLOCATOR_USE_BFC'))"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
    for given, expected in [(None, "true"), ("false", "false")]:
        run_env = env if given is None else {**env, "TF_CPU_ALLOCATOR_USE_BFC": given}
        out = subprocess.run([sys.executable, "-c", code], env=run_env, capture_output=True,
                             text=True, check=True).stdout.strip()
        assert out == expected
