"""The package's promises to a new user: dependencies, the two commands, the notebook table."""

import re

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

import yaml

from conftest import PROJECT_ROOT
from toonemo_lib.course import NOTEBOOKS


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0].lower()


def test_environment_yml_installs_the_same_packages_as_pyproject():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    wanted = {r.replace(" ", "") for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {r.replace(" ", "") for r in pip_section if not r.startswith("-e")}
    assert listed == wanted, f"only in environment.yml: {listed - wanted}; only in pyproject: {wanted - listed}"
    assert "opencv-python>=4.10,<5" in wanted  # OpenCV 5 wheels dropped the Haar cascades


def _quick_start_commands() -> list[str]:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_readme_quick_start_has_exactly_two_commands_and_ci_runs_the_second():
    commands = _quick_start_commands()
    assert len(commands) == 2
    course, tests = commands
    assert "toonemo run --profile cpu --out reports" in course and "-m venv .venv" in course
    assert "pytest" in tests and '".[dev]"' in tests
    ci = (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci, ".ci/run must run the README's test command verbatim"


def test_readme_notebook_table_matches_the_course_runner():
    readme = (PROJECT_ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (\d\d) \| ([^|]+) \|", readme, flags=re.M)
    assert [(n.number, n.title) for n in NOTEBOOKS] == [(num, title.strip()) for num, title in rows]


def test_console_script_is_declared():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["toonemo"] == "toonemo_lib.cli:main"
