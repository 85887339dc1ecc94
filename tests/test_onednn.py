"""The oneDNN decision: off on x86 CPUs with AVX-512 only, and the user's own setting always wins."""

import os
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
def test_onednn_is_off_only_on_avx512(cpuinfo, machine, expected):
    assert cpu.onednn_setting(cpu.cpu_flags(cpuinfo), machine, environ={}) == expected


@pytest.mark.parametrize("users_choice", ["0", "1", ""])
def test_the_users_own_setting_always_wins(users_choice):
    environ = {"TF_ENABLE_ONEDNN_OPTS": users_choice}
    assert cpu.onednn_setting(cpu.cpu_flags(AVX512_CPUINFO), "x86_64", environ) is None
    assert cpu.onednn_setting(cpu.cpu_flags(AVX2_CPUINFO), "x86_64", environ) is None


def test_apply_sets_the_variable_only_when_needed(monkeypatch, tmp_path):
    fake = tmp_path / "cpuinfo"
    fake.write_text(AVX512_CPUINFO)
    monkeypatch.setattr(cpu, "CPUINFO", fake)
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    environ = {}
    assert cpu.apply_onednn_setting(environ) == "0" and environ == {"TF_ENABLE_ONEDNN_OPTS": "0"}
    environ = {"TF_ENABLE_ONEDNN_OPTS": "1"}
    assert cpu.apply_onednn_setting(environ) is None and environ == {"TF_ENABLE_ONEDNN_OPTS": "1"}
    fake.write_text(AVX2_CPUINFO)
    environ = {}
    assert cpu.apply_onednn_setting(environ) is None and environ == {}


def test_no_cpuinfo_means_no_avx512(tmp_path):
    assert cpu.read_cpu_flags(tmp_path / "absent") == frozenset()


def _onednn_after_import(env):
    code = "import os, toonemo_lib; print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_importing_the_package_applies_this_machines_decision():
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    expected = cpu.onednn_setting(cpu.read_cpu_flags(), platform.machine(), {})
    assert _onednn_after_import(env) == str(expected)
    assert _onednn_after_import({**env, "TF_ENABLE_ONEDNN_OPTS": "1"}) == "1"


def test_importing_the_package_keeps_large_tensors_in_tensorflows_caching_allocator():
    code = "import os, toonemo_lib; print(os.environ.get('TF_CPU_ALLOCATOR_USE_BFC'))"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
    for given, expected in [(None, "true"), ("false", "false")]:
        run_env = env if given is None else {**env, "TF_CPU_ALLOCATOR_USE_BFC": given}
        out = subprocess.run([sys.executable, "-c", code], env=run_env, capture_output=True,
                             text=True, check=True).stdout.strip()
        assert out == expected
