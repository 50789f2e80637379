"""The bundled environments, by registry id: `gymhall envs`, `gymhall serve ID`, `--env ID`, `gymhall check ID`.

Each YAML file `gymhall/envs/<dir>/configs/<id>.yaml` is one environment: its resources server block
is named `<id>`, and its dataset is the block's `dataset` setting (relative to `gymhall/envs/<dir>/`)
or `data/<id>.jsonl`. A directory may hold variants (several configs sharing one server and dataset).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gymhall.config.settings import did_you_mean
from gymhall.exceptions import ConfigError

__all__ = ["ENVS_DIR", "EnvSpec", "get_env", "list_envs", "resolve_config_arguments"]

ENVS_DIR = Path(__file__).resolve().parents[1] / "envs"


@dataclass(frozen=True)
class EnvSpec:
    """One bundled environment: its id, its files, and what its config says of it."""

    id: str
    directory: Path
    config: Path
    settings: Mapping[str, Any]

    @property
    def dataset(self) -> Path:
        """The environment's dataset JSONL."""
        declared = self.settings.get("dataset")
        return self.directory / str(declared) if declared else self.directory / "data" / f"{self.id}.jsonl"

    @property
    def readme(self) -> Path:
        """The environment's README."""
        return self.directory / "README.md"

    @property
    def domain(self) -> str:
        """The config's `domain`."""
        return str(self.settings.get("domain", ""))

    @property
    def description(self) -> str:
        """The config's one-sentence `description`."""
        return str(self.settings.get("description", "")).strip()


def _resources_settings(path: Path, env_id: str) -> Mapping[str, Any]:
    import yaml

    values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for block in values.values() if isinstance(values, dict) else ():
        servers = block.get("resources_servers") if isinstance(block, dict) else None
        if isinstance(servers, dict):
            for name, settings in servers.items():
                if name == env_id and isinstance(settings, dict):
                    return settings
    raise ConfigError(
        f"{path}: a bundled environment's config must define the resources server {env_id!r} "
        f"(<{env_id}_resources_server>: resources_servers: {env_id}: ...), named as its file."
    )


@functools.cache
def _registry(root: Path) -> dict[str, EnvSpec]:
    specs: dict[str, EnvSpec] = {}
    for config in sorted(root.glob("*/configs/*.yaml")):
        env_id = config.stem
        if env_id in specs:
            raise ConfigError(f"Two bundled environments are named {env_id!r}: {specs[env_id].config} and {config}.")
        directory = config.parent.parent
        specs[env_id] = EnvSpec(env_id, directory, config, _resources_settings(config, env_id))
    return specs


def list_envs() -> list[EnvSpec]:
    """Every bundled environment, by id."""
    return list(_registry(ENVS_DIR).values())


def get_env(env_id: str) -> EnvSpec:
    """The bundled environment `env_id`; a `ConfigError` naming the known ids when there is none."""
    registry = _registry(ENVS_DIR)
    try:
        return registry[env_id]
    except KeyError:
        known = ", ".join(registry) or "none"
        raise ConfigError(
            f"There is no bundled environment {env_id!r}.{did_you_mean(env_id, registry)} "
            f"Known: {known} (see `gymhall envs`)."
        ) from None


def resolve_config_arguments(arguments: list[str]) -> list[str]:
    """Config arguments with each bundled environment id replaced by its config file's path.

    An argument that names an existing file, or looks like an override (`key=value`), is kept as is.
    """
    resolved = []
    for argument in arguments:
        if "=" in argument or argument.startswith(("+", "~")) or Path(argument).exists():
            resolved.append(argument)
        elif argument.endswith((".yaml", ".yml")) or "/" in argument:
            resolved.append(argument)  # a missing file: the config loader says so
        else:
            resolved.append(str(get_env(argument).config))
    return resolved
