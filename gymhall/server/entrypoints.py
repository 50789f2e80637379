"""Loading a resources server named by a config into this process, so rollouts need no ports.

An entrypoint is a file (`app.py`, run by `gymhall serve` as a script) or `module:Class`. In-process,
the file is imported with its directory on `sys.path` (the seeds' servers import their siblings),
and the one `SimpleResourcesServer` or `Environment` subclass it defines is built with the
instance's config.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType

from gymhall.config.settings import ServerInstance
from gymhall.exceptions import ConfigError
from gymhall.server.app import GymApp
from gymhall.server.environment import Environment, build_app
from gymhall.server.simple import SimpleResourcesServer, _config_class

__all__ = ["build_server_app", "load_server_class"]

ServerClass = type[SimpleResourcesServer] | type[Environment]


def _import_file(path: Path, name: str) -> ModuleType:
    module_name = "gymhall_entry_" + re.sub(r"\W", "_", name)
    if module_name in sys.modules:
        return sys.modules[module_name]
    directory = str(path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"Cannot import {path}: it is not a Python file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _is_server_class(value: object) -> bool:
    return (
        inspect.isclass(value)
        and issubclass(value, SimpleResourcesServer | Environment)
        and value not in (SimpleResourcesServer, Environment)
        and not inspect.isabstract(value)
    )


def load_server_class(instance: ServerInstance) -> ServerClass:
    """The server class an instance's entrypoint names or defines."""
    entry = str(instance.settings.get("entrypoint") or "")
    path = instance.entrypoint_path()
    if path is None and ":" in entry:
        module_name, _, attr = entry.partition(":")
        target: object = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
        if not _is_server_class(target):
            raise ConfigError(f"{instance.name}: {entry} is not a SimpleResourcesServer or Environment subclass.")
        return target  # type: ignore[return-value]
    if path is None or not path.is_file():
        raise ConfigError(
            f"{instance.name}: entrypoint {entry!r} was not found (looked for {path}). "
            "Fix the entrypoint in the config: a file next to the config, or module:Class."
        )
    module = _import_file(path, instance.name)
    found: list[ServerClass] = [
        v for v in vars(module).values() if _is_server_class(v) and v.__module__ == module.__name__
    ]
    if len(found) != 1:
        names = ", ".join(cls.__name__ for cls in found) or "none"
        raise ConfigError(
            f"{instance.name}: {path} must define exactly one resources server class to run in-process; "
            f"it defines {names}. Name one in the config's entrypoint as module:Class."
        )
    return found[0]


def build_server_app(instance: ServerInstance) -> GymApp:
    """The app of the resources server `instance`, built in this process with its config."""
    cls = load_server_class(instance)
    if issubclass(cls, Environment):
        return build_app(cls(instance.config_model(cls.config_class)))
    app = cls(config=instance.config_model(_config_class(cls))).setup_webserver()
    if not isinstance(app, GymApp):
        raise ConfigError(f"{instance.name}: {cls.__name__}.setup_webserver() must return super().setup_webserver().")
    return app
