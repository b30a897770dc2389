"""The package's rooms and the one direction of their imports (docs/architecture.md): a module
imports only from its own room or a room below it, and no import chain comes back to where it began."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "ormock"
# top to bottom; a room may import its own modules and those of any room after it
ROOMS = (
    ("cli", "pytest_plugin", "__main__"),
    ("simulator", "webhooks"),
    ("servers",),
    ("web",),
    ("report",),
    ("service",),
    ("scenario",),
    ("safe", "tasks", "_asgi"),
)
LEVEL = {room: level for level, rooms in enumerate(ROOMS) for room in rooms}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every ormock module `path` imports, wherever the import stands (a lazy one counts too)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("ormock"):
                continue
            for alias in node.names:  # `from . import x` names a module when one exists
                candidate = f"{target}.{alias.name}"
                found.add(candidate if module_path(candidate) else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("ormock"))
    found.discard(name)
    return {module for module in found if module_path(module)}


def module_path(name: str) -> Path | None:
    base = PACKAGE.parent.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def graph() -> dict[str, set[str]]:
    # ormock/__init__.py is the lazy facade over every room: it imports nothing when loaded
    return {
        module_name(path): imports_of(path)
        for path in PACKAGE.rglob("*.py")
        if path.parent != PACKAGE or path.name != "__init__.py"
    }


def room(module: str) -> str:
    return module.split(".")[1] if module != "ormock" else "ormock"


def test_every_module_has_a_room():
    assert {room(module) for module in graph()} <= set(LEVEL)


def test_no_module_imports_from_a_room_above_its_own():
    upward = [
        f"{module} imports {target}"
        for module, targets in graph().items()
        for target in targets
        if room(target) in LEVEL and LEVEL[room(target)] < LEVEL[room(module)]
    ]
    assert upward == []


def test_no_import_cycle():
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if target == "ormock":
                continue
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_function_is_longer_than_80_lines():
    long = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > 80
    ]
    assert long == []
