"""Dependency discovery: a Python file's imports, as the distributions a project must declare.

    requirements, local_files = module_dependencies(Path("games/puzzle.py"), root=Path("games"))

`imported_modules` reads a file's absolute imports, `third_party` drops the standard library,
`requirement` turns a top-level import into `distribution>=major.minor` from what is installed, and
`module_dependencies` follows a domain module's sibling imports to its requirements and local files.
`gymhall port` writes the requirements into pyproject.toml; `gymhall validate` uses the same reading to
find undeclared imports (`undeclared_imports`).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import threading
import tomllib
from collections.abc import Iterable
from pathlib import Path

__all__ = ["imported_modules", "module_dependencies", "requirement", "third_party", "undeclared_imports"]


# CPython 3.11 can fail parsing in several threads at once (gh-106905: "AST constructor recursion
# depth mismatch"); the validation gates run in threads, so parses take turns.
_PARSE_LOCK = threading.Lock()


def imported_modules(path: Path) -> set[str]:
    """The top-level names of the absolute imports in a Python file."""
    source = path.read_text(encoding="utf-8")
    with _PARSE_LOCK:
        tree = ast.parse(source, filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def _is_local(name: str, directory: Path) -> bool:
    return (directory / f"{name}.py").is_file() or (directory / name / "__init__.py").is_file()


def requirement(import_name: str) -> str:
    """The requirement for a top-level import: its installed distribution, at least its installed major.minor."""
    distributions = importlib.metadata.packages_distributions().get(import_name)
    if not distributions:
        return import_name
    dist = distributions[0]
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return dist
    release = re.match(r"(\d+)(?:\.(\d+))?", version)
    if release is None:
        return dist
    return f"{dist}>={release.group(1)}.{release.group(2) or 0}"


def third_party(names: Iterable[str]) -> set[str]:
    """The names that are neither the standard library nor `__future__`."""
    return {n for n in names if n not in sys.stdlib_module_names and n != "__future__"}


def module_dependencies(path: Path, root: Path | None) -> tuple[tuple[str, ...], tuple[Path, ...]]:
    """Requirements of the domain module at `path` (following its sibling imports) and the local files it needs.

    `root` is the directory the module is imported from, None when it is installed: then the module's own
    distribution is the requirement and no local file is needed.
    """
    directory = path.parent
    seen: set[Path] = set()
    pending = [path]
    external: set[str] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for name in third_party(imported_modules(current)):
            if root is not None and _is_local(name, directory):
                sibling = directory / f"{name}.py"
                if sibling.is_file():
                    pending.append(sibling)
            else:
                external.add(name)
    if root is None:  # an installed domain package: depend on its distribution
        external.add(path.parent.name if path.name == "__init__.py" else path.stem)
    requirements = sorted({requirement(name) for name in external if name != "gymhall"})
    local = tuple(sorted(seen)) if root is not None else ()
    return tuple(requirements), local


def _normalised(distribution: str) -> str:
    """A distribution's name as PEP 503 compares it: `Foo_Bar.baz` and `foo-bar-baz` are one."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _declared(pyproject: Path) -> set[str]:
    """Normalised names of every distribution pyproject.toml declares (dependencies and extras)."""
    if not pyproject.is_file():
        return set()
    project = tomllib.loads(pyproject.read_text()).get("project", {})
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    names = set()
    for requirement in requirements:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        if match:
            names.add(_normalised(match.group(0)))
    return names


def undeclared_imports(directory: Path, entrypoint: Path | None) -> list[str]:
    """Third-party modules the code of the project in `directory` imports whose distribution its
    pyproject.toml does not declare; `entrypoint` is its server.py, which may import a domain module
    from outside the project."""
    files = [p for p in directory.rglob("*.py") if ".venv" not in p.parts]
    local = {p.stem for p in files} | {p.name for p in directory.iterdir() if p.is_dir()}
    imported: set[str] = set()
    for path in files:
        imported |= third_party(imported_modules(path))
    # The domain module and its siblings, wherever server.py puts them on the path.
    for path in _domain_files(entrypoint):
        local.add(path.stem)
        imported |= third_party(imported_modules(path))
    declared = _declared(directory / "pyproject.toml")
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for name in sorted(imported - local):
        provided = {_normalised(d) for d in distributions.get(name, [name])}
        if not provided & declared:
            missing.append(name)
    return missing


def _domain_files(entrypoint: Path | None) -> list[Path]:
    """The domain modules server.py imports from the directory it adds to sys.path (`gymhall port` layout)."""
    if entrypoint is None or not entrypoint.is_file():
        return []
    source = entrypoint.read_text()
    # This gymhall's servers, and those of earlier ones (before the packaged layout).
    match = re.search(r'(?:else \(_HERE|str\(\(Path\(__file__\)\.resolve\(\)\.parent) / "([^"]+)"\)', source)
    if match is None:
        return []
    root = (entrypoint.parent / match.group(1)).resolve()
    found: list[Path] = []
    pending = [entrypoint]
    while pending:
        for name in imported_modules(pending.pop()):
            path = root / f"{name}.py"
            if path.is_file() and path not in found and path != entrypoint.resolve():
                found.append(path)
                pending.append(path)
    return found
