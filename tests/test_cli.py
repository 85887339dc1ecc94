"""One exit-status rule for every `toonemo` sub-command: 0 success, 1 a failure, 2 a usage error."""

import socket
import subprocess
import sys

import pytest

from toonemo_lib import cli


def closed_port_url():
    """An http URL on 127.0.0.1 where nothing listens: the connection is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/gallery.html"


@pytest.mark.parametrize("argv", [
    [], ["nosuch"], ["list", "--bogus"], ["run", "--only"],
    ["dataset", "src"], ["dataset", "src", "out", "--resolution", "100"], ["dataset", "src", "out", "--format", "lmdb"],
    ["crawl", "--out", "raw"], ["crawl", "--urls", "u.txt"], ["crawl", "--video", "v.mp4", "--every", "0", "--out", "o"],
    ["crawl", "--page", "http://x", "--max-pages", "-1", "--out", "o"], ["emotion"],
])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_dataset_into_its_own_source_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["dataset", str(tmp_path), str(tmp_path)]) == 2
    assert "must differ" in capsys.readouterr().err


@pytest.mark.parametrize("make_argv, message", [
    (lambda tmp: ["dataset", str(tmp / "absent"), str(tmp / "out")], "absent"),
    (lambda tmp: ["crawl", "--urls", str(tmp / "absent.txt"), "--out", str(tmp / "raw")], "absent.txt"),
    (lambda tmp: ["crawl", "--video", str(tmp / "absent.mp4"), "--out", str(tmp / "raw")], "absent.mp4"),
    (lambda tmp: ["emotion", str(tmp / "absent.png")], "absent.png"),
    (lambda tmp: ["run", "--notebooks", str(tmp / "absent")], "absent"),
])
def test_a_missing_input_is_a_failure(make_argv, message, tmp_path, capsys):
    assert cli.main(make_argv(tmp_path)) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_an_unreachable_page_is_a_failure_named_in_the_error_log(tmp_path, capsys):
    url = closed_port_url()
    out = tmp_path / "raw"
    assert cli.main(["crawl", "--page", url, "--out", str(out), "--retries", "0", "--delay", "0"]) == 1
    assert "download.error.log" in capsys.readouterr().out
    log = (out / "download.error.log").read_text().splitlines()
    assert log[0] == "url,reason,kind" and log[1].startswith(url) and log[1].endswith(",page")


def test_help_names_the_exit_statuses():
    done = subprocess.run([sys.executable, "-m", "toonemo_lib.cli", "--help"], capture_output=True, text=True,
                          check=True)
    assert "2 a usage error" in done.stdout


def test_the_toonemo_command_starts_without_the_heavy_libraries():
    """Every command is registered at start: none may load TensorFlow, pandas or OpenCV for it."""
    import subprocess
    import sys

    code = "import sys, toonemo_lib.cli; print(sorted({'tensorflow', 'pandas', 'cv2', 'scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_ctrl_c_ends_a_command_with_one_line_and_status_130(monkeypatch, capsys):
    from toonemo_lib import cli

    def interrupted(args):
        raise KeyboardInterrupt

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["list"].set_defaults(func=interrupted)
    assert cli.main(["list"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "toonemo list: interrupted" and "Traceback" not in err
