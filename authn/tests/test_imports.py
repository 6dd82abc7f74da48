"""The import rules of STYLE.md for authn's own modules: no import circle, jwks.py free of DRF, nothing of tasks."""

from __future__ import annotations

import ast
from pathlib import Path

AUTHN = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = path.relative_to(AUTHN.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str) -> set[str]:
    """Every module `source` imports, at the top or inside a function (a deferred import still closes a circle)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # `from authn import conf`
    return names


def authn_modules() -> dict[str, set[str]]:
    """authn's code (not its tests or migrations), each with the modules it imports."""
    return {
        module_name(path): imports_of(path.read_text())
        for path in AUTHN.rglob("*.py")
        if not {"tests", "migrations"} & set(path.relative_to(AUTHN).parts)
    }


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """The first import circle among the graph's own modules, as a path that ends where it starts."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for target in sorted(graph[module] & graph.keys()):
            if target != module and (circle := visit(target, [*path, module])):
                return circle
        done.add(module)
        return None

    for module in sorted(graph):
        if circle := visit(module, []):
            return circle
    return None


def test_authn_modules_import_no_circle() -> None:
    graph = authn_modules()
    assert {"authn.conf", "authn.tokens", "authn.diagnostics"} <= graph.keys()
    assert find_circle(graph) is None


def test_the_circle_finder_sees_a_deferred_import() -> None:
    # The control: conf.py as it was, importing tokens.py inside its setting_changed receiver.
    old_conf = "def _reload(**kwargs):\n    from authn.tokens import verified_tokens\n"
    graph = {"authn.conf": imports_of(old_conf), "authn.tokens": imports_of("from authn.conf import auth_settings\n")}
    assert find_circle(graph) == ["authn.conf", "authn.tokens", "authn.conf"]


def test_conf_imports_nothing_of_authn() -> None:
    assert not {name for name in imports_of((AUTHN / "conf.py").read_text()) if name.split(".")[0] == "authn"}


def test_jwks_never_imports_rest_framework() -> None:
    assert not {name for name in authn_modules()["authn.jwks"] if name.split(".")[0] == "rest_framework"}


def test_authn_never_imports_tasks() -> None:
    offenders = {
        module: sorted(name for name in imported if name.split(".")[0] == "tasks")
        for module, imported in authn_modules().items()
    }
    assert {module: names for module, names in offenders.items() if names} == {}
