"""The package's import graph: no cycles, and data flows one way down the floors (ARCHITECTURE.md, "Floors").

The graph is read from the source with ``ast``: every import counts, lazy ones inside functions
and those under ``if __name__ == "__main__":`` included (a cycle that only closes at call time,
or when a module runs as a script, is still a cycle).
"""

import ast
from pathlib import Path

import pytest

import toonemo_lib

PACKAGE_DIR = Path(toonemo_lib.__file__).parent
ROOT = "toonemo_lib"


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = [ROOT, *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _imports(tree):
    """Import nodes anywhere in the tree: module level, functions, ``__main__`` blocks."""
    return (node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)))


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports."""
    modules = module_names()
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import mod` imports the module pkg.mod when there is one
                candidates = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                              for alias in node.names]
            targets.update(c for c in candidates if c in modules and c != name and c != ROOT)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_relative_absolute_and_lazy_imports():
    graph = import_graph()
    assert "toonemo_lib.emotion.models" in graph["toonemo_lib.emotion.train"]  # absolute
    assert "toonemo_lib.images" in graph["toonemo_lib.faces.align"]  # relative, two dots
    assert "toonemo_lib.emotion.lite" in graph["toonemo_lib.emotion.classifier"]  # inside a method


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _reaches(graph, start, prefix):
    return sorted(t for t in graph[start] if t == prefix or t.startswith(prefix + "."))


@pytest.mark.parametrize("lower, upper", [
    ("toonemo_lib.stylegan2", "toonemo_lib.emotion"),
    ("toonemo_lib.emotion", "toonemo_lib.stylegan2"),
    ("toonemo_lib.stylegan2", "toonemo_lib.faces"),
    ("toonemo_lib.faces", "toonemo_lib.datasets"),
    ("toonemo_lib.faces", "toonemo_lib.emotion"),
    ("toonemo_lib.images", "toonemo_lib.datasets"),
])
def test_floors_do_not_import_upwards(lower, upper):
    graph = import_graph()
    offenders = {m: _reaches(graph, m, upper) for m in graph if m == lower or m.startswith(lower + ".")}
    assert not {m: t for m, t in offenders.items() if t}, f"{lower} must not import {upper}"


def test_the_bottom_floor_imports_only_config():
    graph = import_graph()
    for module in ("toonemo_lib.images", "toonemo_lib.config", "toonemo_lib.runs", "toonemo_lib.records",
                   "toonemo_lib.lite_runtime", "toonemo_lib.unreadable"):
        assert graph[module] <= {"toonemo_lib.config"}, f"{module} imports {graph[module]}"


def test_only_the_cli_package_imports_the_cli_package():
    graph = import_graph()
    outside = {m: _reaches(graph, m, "toonemo_lib.cli") for m in graph
               if m != "toonemo_lib.cli" and not m.startswith("toonemo_lib.cli.")}
    assert not {m: t for m, t in outside.items() if t}, "the commands sit on top: nothing else imports them"


# The floors of ARCHITECTURE.md, bottom up; a module sits on the floor of its package, or of
# its own name at the root.  A new root module or package must be placed here.
FLOORS = {
    "config": 0, "images": 0, "runs": 0, "records": 0, "cpu": 0, "lite_runtime": 0, "unreadable": 0,
    "download": 0, "environment": 0, "plots": 0, "uploads": 0, "torch_weights": 0, "lessons": 0,
    "faces": 1, "datasets": 1, "stylegan2": 1, "emotion": 1,
    "toonify": 2, "quality": 2,
    "video": 3, "cli": 3, "course": 3, "dry_run": 3,
}


def floor_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return -1  # the package root: its version only
    if parts[1] not in FLOORS:
        raise AssertionError(f"{module} has no floor: place `{parts[1]}` in FLOORS and in ARCHITECTURE.md")
    return FLOORS[parts[1]]


def test_every_module_imports_only_its_floor_or_below():
    graph = import_graph()
    upward = {m: sorted(t for t in targets if floor_of(t) > floor_of(m)) for m, targets in graph.items()}
    assert not {m: t for m, t in upward.items() if t}, "imports from a higher floor"
