"""Loading the class `gymhall port` serves: import its module by file path or dotted name, pick the class.

    cls, root = load_domain("examples/port/sliding_puzzle/sliding_puzzle.py")

`root` is the directory the generated server must put on `sys.path` to import the module again, None
when the module comes from an installed distribution. `public_methods` is what may become a tool.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import importlib.metadata
import inspect
import os
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gymhall.exceptions import port_error

__all__ = ["load_domain", "public_attributes", "public_methods"]


def load_domain(
    target: str, *, search_path: Path | None = None, again: str = "run the same gymhall port again"
) -> tuple[type, Path | None]:
    """The class `target` names: `path/to/module.py[:Class]` or `package.module[:Class]`; and its import root.

    Without `:Class`, the module must define exactly one public class with public methods. `again` ends the
    fix of a missing dependency: what the user runs once it is installed.
    """
    module_part, class_name = target, None
    head, sep, tail = target.rpartition(":")
    if sep and tail.isidentifier() and head:
        module_part, class_name = head, tail
    base = search_path or Path.cwd()
    candidate = Path(module_part) if Path(module_part).is_absolute() else base / module_part
    root: Path | None
    if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
        module, root = _import_file(candidate, target, again)
    else:
        module, root = _import_name(module_part, base, target, again)
    return _choose_class(module, class_name, target), root


def public_attributes(cls: type) -> Iterator[tuple[str, Any]]:
    """The public names `cls` and its bases (not `object`) define, base classes first, with their values."""
    for klass in reversed(cls.__mro__[:-1]):
        for name, value in vars(klass).items():
            if not name.startswith("_"):
                yield name, value


def public_methods(cls: type) -> dict[str, Callable[..., Any]]:
    """Public instance methods of `cls` and its bases (not `object`), in definition order."""
    methods: dict[str, Callable[..., Any]] = {}
    for name, value in public_attributes(cls):
        if inspect.isfunction(value):
            methods[name] = value
        else:
            methods.pop(name, None)  # overridden by a non-method
    return methods


def _import_file(path: Path, target: str, again: str) -> tuple[types.ModuleType, Path]:
    if not path.is_file():
        raise port_error(target, f"{path} is not a file", "name an existing Python file, e.g. games/puzzle.py:Puzzle")
    if path.suffix != ".py" or not path.stem.isidentifier():
        raise port_error(target, f"{path.name} is not an importable Python module name", "rename it to name.py")
    path = path.resolve()
    root = path.parent
    if path.name == "__init__.py":
        raise port_error(
            target, "a package's __init__.py", "name the module by its dotted name instead, e.g. pkg.module"
        )
    existing = sys.modules.get(path.stem)
    if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve() != path:
        raise port_error(
            target,
            f"another module named {path.stem!r} is already imported (from {existing.__file__})",
            "rename the domain module so that its name is unique",
        )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return _import(path.stem, target, again), root


def _import_name(name: str, base: Path, target: str, again: str) -> tuple[types.ModuleType, Path | None]:
    if not all(part.isidentifier() for part in name.split(".")):
        raise port_error(
            target, f"{name!r} is neither a .py file nor a dotted module name", "e.g. puzzle.py or pkg.puzzle"
        )
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))  # like `python -m`: the current directory first
    module = _import(name, target, again)
    top = name.partition(".")[0]
    if top in importlib.metadata.packages_distributions():
        return module, None  # installed: the generated project depends on its distribution instead
    location = Path(module.__file__ or "").resolve()
    depth = name.count(".") + (1 if location.name == "__init__.py" else 0)
    root = location.parent
    for _ in range(depth):
        root = root.parent
    return module, root


# Imports whose distribution has another name (the installed ones are read from package metadata instead).
_DISTRIBUTIONS = {
    "PIL": "pillow",
    "yaml": "pyyaml",
    "cv2": "opencv-python",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "attr": "attrs",
}


def _import(name: str, target: str, again: str) -> types.ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        if missing and missing != name and not name.startswith(missing + "."):
            top = missing.partition(".")[0]
            fix = f"pip install {_DISTRIBUTIONS.get(top, top)} (it provides {top!r}), then {again}"
        else:
            fix = "run from the directory that contains the module, or name it by its file path (path/to/module.py)"
        raise port_error(target, f"cannot import module {name!r} ({type(exc).__name__}: {exc})", fix) from None
    except Exception as exc:  # the module's own code failed while importing
        raise port_error(
            target,
            f"importing module {name!r} raised {type(exc).__name__}: {exc}",
            "correct the module so that `import` succeeds",
        ) from exc


def _choose_class(module: types.ModuleType, class_name: str | None, target: str) -> type:
    defined = [
        value
        for name, value in vars(module).items()
        if inspect.isclass(value) and value.__module__ == module.__name__ and not name.startswith("_")
    ]
    if class_name is not None:
        found = getattr(module, class_name, None)
        if not inspect.isclass(found):
            names = ", ".join(cls.__name__ for cls in defined) or "none"
            raise port_error(
                target, f"module {module.__name__!r} has no class {class_name!r}", f"name one of its classes: {names}"
            )
        return found
    usable = [
        cls
        for cls in defined
        if public_methods(cls) and not issubclass(cls, BaseException | enum.Enum) and not dataclasses.is_dataclass(cls)
    ]
    if len(usable) == 1:
        return usable[0]
    if not usable:
        raise port_error(
            target,
            f"module {module.__name__!r} defines no public class with public methods",
            "add one (its public methods become the tools), or name a class: MODULE:CLASS",
        )
    names = ", ".join(cls.__name__ for cls in usable)
    raise port_error(
        target,
        f"module {module.__name__!r} defines several classes with public methods ({names})",
        f"name one: {target}:{usable[0].__name__}",
    )
