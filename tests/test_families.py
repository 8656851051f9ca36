"""Every model family follows one protocol, and the layers import only downwards."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from vtonpipe.models import families

PACKAGE = Path(__file__).parent.parent / "vtonpipe"


@pytest.mark.parametrize("name", families.installed_families())
def test_family_follows_the_protocol(name):
    assert families.protocol_problems(name) == []


def test_tiny_options_are_keyword_parameters():
    assert families.tiny_options("schp") == {"dataset": "lip", "input_size": 80, "width": 8, "layers": (1, 1, 2, 1)}


def _imports(path: Path) -> set[str]:
    """vtonpipe modules a file imports (at any depth of the file, lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vtonpipe"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("vtonpipe"))
    return found


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


GRAPH = {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}
# What each layer may import from vtonpipe, besides itself (the architecture's layering).
ALLOWED = {
    "vtonpipe.labels": ("vtonpipe.labels",),
    "vtonpipe.models": ("vtonpipe.labels", "vtonpipe.errors", "vtonpipe.atomic", "vtonpipe"),
    "vtonpipe.manifests": ("vtonpipe.errors", "vtonpipe.atomic"),
}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer):
    bad = {
        module: sorted(i for i in imports if not i.startswith(layer) and i not in ALLOWED[layer]
                       and not any(i.startswith(a + ".") for a in ALLOWED[layer] if a != "vtonpipe"))
        for module, imports in GRAPH.items() if module.startswith(layer)
    }
    assert {m: v for m, v in bad.items() if v} == {}


def test_no_import_cycles():
    modules = set(GRAPH)

    def targets(module: str) -> set[str]:
        # "from vtonpipe.x import y" depends on vtonpipe.x (and on vtonpipe.x.y when that is a module).
        return {t for t in GRAPH[module] if t in modules and t != module}

    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in targets(module):
            if state.get(target) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(target):] + [target]))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module)
