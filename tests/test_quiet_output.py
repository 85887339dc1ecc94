"""Quiet, honest output: TensorFlow's start-up noise stays out of notebooks and the runner's terminal.

On a CPU machine TensorFlow's CUDA build logs "Could not find cuda drivers" and "failed call to
cuInit" before Abseil is initialised (so TF_CPP_MIN_LOG_LEVEL does not reach them), LiteRT logs
"Created TensorFlow Lite XNNPACK delegate", a TFLite conversion logs "Assets written to", and
ipykernel warns that it talks over unencrypted TCP.  `environment.quiet_tensorflow` (called by
every notebook's `start`) and the runner's IPC transport remove these; real warnings must stay.
"""

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from toonemo_lib import course
from toonemo_lib.environment import is_noise

# No line of a notebook's outputs or of the runner's terminal may contain these (CPU machine).
NOISE = ("cuInit", "CUDA error", "cuda drivers", "absl::", "XNNPACK", "Assets written")
TCP_WARNING = "without encryption"

# Lines exactly as TensorFlow 2.21 / LiteRT print them on a machine without a GPU.
CUDA_INFO = b"I0000 00:00:1796087074.524767    6063 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.\n"
ABSL_NOTICE = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
CUINIT = (b"E0000 00:00:1796087077.448557    6063 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
          b"CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n")
XNNPACK = b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
ONEDNN = (b"I0000 00:00:1796087093.900119    6369 port.cc:153] oneDNN custom operations are on. You may see "
          b"slightly different numerical results due to floating-point round-off errors.\n")
REAL_ERROR = b"E0000 00:00:1796087077.5    6063 op_kernel.cc:1840] OP_REQUIRES failed at conv_ops.cc:1: INVALID_ARGUMENT\n"
REAL_WARNING = b"W0000 00:00:1796087077.5    6063 loader.cc:9] something a user should read\n"


def noisy_lines(notebook) -> list[str]:
    """The lines of a notebook's stream and error outputs that contain a NOISE string."""
    nb = nbformat.read(str(notebook), as_version=4)
    lines = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text = out.get("text", "")
            elif out.get("output_type") == "error":
                text = "\n".join([out.get("ename", ""), out.get("evalue", ""), *out.get("traceback", [])])
            else:
                text = str(out.get("data", {}).get("text/plain", ""))
            lines += [line for line in text.splitlines() if any(n in line for n in NOISE)]
    return lines


def test_quieting_imports_no_tensorflow():
    code = ("import sys\nfrom toonemo_lib.environment import quiet_tensorflow\nquiet_tensorflow()\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported TensorFlow'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()


@pytest.mark.parametrize("line", [CUDA_INFO, ABSL_NOTICE, XNNPACK, ONEDNN])
def test_startup_lines_are_noise_at_the_default_level(line):
    assert is_noise(line, level=2, driver=False) and is_noise(line, level=2, driver=True)


def test_cuinit_error_is_noise_only_without_an_nvidia_driver():
    assert is_noise(CUINIT, level=2, driver=False)
    assert not is_noise(CUINIT, level=2, driver=True)  # a GPU machine whose driver fails: the user must see it


def test_real_errors_and_ordinary_output_are_kept():
    for line in (REAL_ERROR, b"Traceback (most recent call last):\n", b"INFO: my own program's line\n",
                 b"WARNING: something else\n", b"Epoch 1/3\n", b"\n"):
        assert not is_noise(line, level=2, driver=False), line
    assert is_noise(REAL_WARNING, level=2) and not is_noise(REAL_WARNING, level=1)  # TF_CPP_MIN_LOG_LEVEL's meaning


def test_level_zero_keeps_everything():
    for line in (CUDA_INFO, ABSL_NOTICE, CUINIT, XNNPACK):
        assert not is_noise(line, level=0, driver=False)


posix_only = pytest.mark.skipif(os.name != "posix", reason="the native stderr filter is POSIX only")


def _stderr_of(code: str, **env) -> str:
    environment = {**os.environ, **env}
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)
    environment.update(env)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, timeout=60, env=environment)
    assert done.returncode == 0, done.stderr.decode()
    return done.stderr.decode()


@posix_only
def test_the_native_filter_drops_noise_and_passes_the_rest_in_order():
    lines = [CUDA_INFO, ABSL_NOTICE, REAL_ERROR, XNNPACK, b"plain line\n", ONEDNN]
    code = f"""
        import os, sys
        from toonemo_lib.environment import quiet_tensorflow
        quiet_tensorflow()
        for line in {lines!r}:
            os.write(2, line)
        os.write(2, b"INFO: ")                      # LiteRT writes a message in pieces
        os.write(2, b"Created TensorFlow Lite XNNPACK delegate for CPU.")
        os.write(2, b"\\n")
        print("from Python", file=sys.stderr)
        os.write(2, b"\\rprogress 50%")              # a progress bar: no newline, must not be held back
        os.write(2, b"\\rprogress 100%")
        os.write(2, b"Exit without a newline")
    """
    out = _stderr_of(code)
    assert out == (REAL_ERROR.decode() + "plain line\nfrom Python\n\rprogress 50%\rprogress 100%Exit without a newline")


def test_an_unhandled_exception_still_reaches_the_terminal():
    out = subprocess.run([sys.executable, "-c", "from toonemo_lib.environment import quiet_tensorflow\n"
                          "quiet_tensorflow()\nraise SystemError('the real problem')"],
                         capture_output=True, timeout=60).stderr.decode()
    assert "SystemError: the real problem" in out and "Traceback" in out


@posix_only
def test_a_user_level_of_zero_turns_the_filter_off():
    out = _stderr_of(f"""
        import os
        from toonemo_lib.environment import quiet_tensorflow
        quiet_tensorflow()
        os.write(2, {CUDA_INFO!r})
    """, TF_CPP_MIN_LOG_LEVEL="0")
    assert "cuda drivers" in out


def test_tensorflow_python_info_is_dropped_and_warnings_kept():
    out = _stderr_of("""
        import sys
        sys.ps1 = ">>> "                            # what Jupyter looks like to TensorFlow's logger
        from toonemo_lib.environment import quiet_tensorflow
        quiet_tensorflow()
        import tensorflow as tf
        tf.get_logger().handlers[0].stream = sys.stderr
        tf.get_logger().info("Assets written to: /tmp/x/assets")
        tf.get_logger().warning("a warning to act on")
    """)
    assert "Assets written" not in out and "a warning to act on" in out


NOTEBOOK_CELLS = [
    'PROFILE = "cpu"\nOUTPUT_DIR = "out"',
    'from toonemo_lib.course import start\nsettings, out_dir = start("01", PROFILE, OUTPUT_DIR)',
    # TensorFlow's devices, a SavedModel export inside a TFLite conversion, and LiteRT with XNNPACK
    textwrap.dedent("""\
        import numpy as np
        import keras
        import tensorflow as tf
        from ai_edge_litert.interpreter import Interpreter

        print(tf.config.list_physical_devices())
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
        interpreter = Interpreter(model_content=flatbuffer)
        interpreter.allocate_tensors()
        interpreter.invoke()
        print("LiteRT output", interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).shape)"""),
    # what must still show: TensorFlow's warnings and real native errors
    textwrap.dedent("""\
        import os, time
        tf.get_logger().warning("a TensorFlow warning to act on")
        os.write(2, b"E0000 00:00:1.5 1 op_kernel.cc:1] a native error to act on\\n")
        time.sleep(0.5)"""),
]


def test_a_notebook_run_is_quiet_in_its_outputs_and_in_the_terminal(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path / "cache"))
    # ipykernel leaves the file descriptors alone when it sees pytest's variable; without it the
    # kernel sends what native code writes to stderr into the notebook, as in a real run.
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    runtime = Path(tempfile.mkdtemp(prefix="rt"))  # short: a socket's path must fit in ~100 bytes
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.chdir(tmp_path)
    cells = [new_code_cell(NOTEBOOK_CELLS[0], metadata={"tags": ["parameters"]})]
    cells += [new_code_cell(source) for source in NOTEBOOK_CELLS[1:]]
    path = tmp_path / "01_quiet.ipynb"
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": kernelspec}), str(path))
    executed = course.run_notebook(path, "smoke", tmp_path / "reports", timeout=300, html=False)
    terminal = capfd.readouterr()
    printed = terminal.out + terminal.err  # the kernel's own stderr is the runner's
    nb = nbformat.read(str(executed), as_version=4)
    streams = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")
    assert "LiteRT output (1, 2)" in streams  # the cells did run
    assert noisy_lines(executed) == []
    assert [line for line in printed.splitlines() if any(n in line for n in NOISE)] == []
    assert TCP_WARNING not in printed
    # honest: what a user must act on still shows
    assert "a TensorFlow warning to act on" in streams
    assert "a native error to act on" in streams
    # the kernel's IPC sockets lived in Jupyter's runtime folder and went with the kernel
    assert list(runtime.iterdir()) == [] and not list(tmp_path.glob("kernel-ipc*"))
    runtime.rmdir()


@pytest.mark.skipif(os.name != "posix", reason="ZeroMQ has IPC sockets on POSIX only")
def test_kernels_talk_over_ipc_sockets_in_the_private_runtime_folder(tmp_path, monkeypatch):
    runtime = Path(tempfile.mkdtemp(prefix="rt")) / "runtime"
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    settings = course.kernel_engine_kwargs()["config"]["KernelManager"]
    assert settings["transport"] == "ipc" and Path(settings["ip"]).parent == runtime
    assert runtime.stat().st_mode & 0o077 == 0  # only the user can reach the sockets
    runtime.rmdir()
    runtime.parent.rmdir()
    assert course.kernel_engine_kwargs()["config"]["KernelManager"]["ip"] != settings["ip"]  # one name per kernel
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / ("x" * 100)))
    assert course.kernel_engine_kwargs() == {}  # too long for a socket name: TCP


def test_every_command_keeps_tensorflows_start_up_chatter_off_stderr(tmp_path):
    """A command that loads TensorFlow and fails says one line on stderr, nothing else."""
    import numpy as np

    from toonemo_lib.images import write_image

    blank = write_image(tmp_path / "blank.png", np.full((120, 120, 3), 200, np.uint8))
    done = subprocess.run([sys.executable, "-m", "toonemo_lib.cli", "toonify", str(blank), str(tmp_path / "o.png"),
                           "--profile", "smoke", "--steps", "1"], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [line for line in done.stderr.strip().splitlines()
                                                if line.startswith("toonemo toonify: error")], done.stderr
