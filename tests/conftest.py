"""Fixtures shared by the test modules."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _import_file(path: Path, name: str) -> ModuleType:
    """Import the file `path` (not part of a package) as module `name`, once per session.

    The module is in `sys.modules` before its code runs: dataclasses and pydantic resolve the
    module's annotations through it.
    """
    if name in sys.modules:
        module = sys.modules[name]
        assert module.__file__ == str(path), f"module {name!r} is already {module.__file__}, not {path}"
        return module
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@pytest.fixture(scope="session")
def import_file() -> Callable[[Path, str], ModuleType]:
    """`import_file(path, name)`: a file that is not in a package (`data/generate.py`, an example) as a module."""
    return _import_file


@pytest.fixture(scope="session")
def weather_module() -> ModuleType:
    """`examples/weather/app.py`, imported as a module (examples are files, not a package)."""
    return _import_file(EXAMPLES / "weather" / "app.py", "gymhall_example_weather")


@pytest.fixture
def isolated_imports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Modules a test imports from temporary files or `examples/port` are forgotten after it, so names can repeat."""
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    roots = (str(tmp_path_factory.getbasetemp()), str(EXAMPLES / "port"))
    for name in set(sys.modules) - modules:
        if str(getattr(sys.modules[name], "__file__", None) or "").startswith(roots):
            del sys.modules[name]
