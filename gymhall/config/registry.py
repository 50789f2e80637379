"""The environments by registry id, bundled and installed: `gymhall envs`, `gymhall serve ID`, `--env ID`.

Each YAML file `gymhall/envs/<dir>/configs/<id>.yaml` is one environment: its resources server block
is named `<id>`, and its dataset is the block's `dataset` setting (relative to `gymhall/envs/<dir>/`)
or `data/<id>.jsonl`. A directory may hold variants (several configs sharing one server and dataset).

Installed distributions add theirs through the entry-point group `gymhall.environments`, whose
entries name a package: `[project.entry-points."gymhall.environments"] my_env = "my_env"`. The package's
folder is laid out as a bundled environment's directory (`configs/<id>.yaml`, `data/<id>.jsonl`), so a
package needs nothing but those files and the server module its config names. The folder is found with
`importlib.util.find_spec`, which never runs the package's code: listing environments imports nothing
heavy. A broken entry (missing package, no configs, a bad config, an id already taken) is skipped and
reported by name in `registry_problems()`; it never hides the other environments.
"""

from __future__ import annotations

import functools
import glob
import importlib.metadata
import importlib.util
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gymhall.config.settings import did_you_mean
from gymhall.exceptions import ConfigError

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENVS_DIR",
    "EnvSpec",
    "get_env",
    "list_envs",
    "registry_problems",
    "resolve_config_arguments",
]

ENVS_DIR = Path(__file__).resolve().parents[1] / "envs"
ENTRY_POINT_GROUP = "gymhall.environments"
BUNDLED = "bundled"


@dataclass(frozen=True)
class EnvSpec:
    """One environment: its id, its files, what its config says of it, and where it comes from."""

    id: str
    directory: Path
    config: Path
    settings: Mapping[str, Any]
    source: str = BUNDLED
    """`bundled`, or the distribution and entry point that installed it."""

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

    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read this environment's config ({exc}). Fix the YAML file.") from None
    for block in values.values() if isinstance(values, dict) else ():
        servers = block.get("resources_servers") if isinstance(block, dict) else None
        if isinstance(servers, dict):
            for name, settings in servers.items():
                if name == env_id and isinstance(settings, dict):
                    return settings
    raise ConfigError(
        f"{path}: an environment's config must define the resources server {env_id!r} "
        f"(<{env_id}_resources_server>: resources_servers: {env_id}: ...), named as its file."
    )


@functools.cache
def _bundled_spec(config: Path) -> EnvSpec:
    return EnvSpec(config.stem, config.parent.parent, config, _resources_settings(config, config.stem))


@functools.cache
def _registry(root: Path) -> dict[str, EnvSpec]:
    specs: dict[str, EnvSpec] = {}
    for config in sorted(root.glob("*/configs/*.yaml")):
        env_id = config.stem
        if env_id in specs:
            raise ConfigError(f"Two bundled environments are named {env_id!r}: {specs[env_id].config} and {config}.")
        specs[env_id] = _bundled_spec(config)
    return specs


@dataclass(frozen=True)
class _Installed:
    specs: dict[str, EnvSpec]
    problems: tuple[str, ...]


def _entry_label(entry: importlib.metadata.EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    owner = f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"
    return f"entry point {entry.name!r} = {entry.value!r} of {owner} ({ENTRY_POINT_GROUP})"


def _package_configs(entry: importlib.metadata.EntryPoint) -> tuple[Path, list[Path]]:
    """The package folder an entry names and its `configs/*.yaml`, found without importing the package."""
    name = entry.value.strip()
    if ":" in name or not name:
        raise ConfigError(f'it must name a package, not an attribute: write `{entry.name} = "{name.split(":")[0]}"`.')
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:
        found = None
        reason = f" ({exc})"
    else:
        reason = ""
    if found is None:
        raise ConfigError(
            f"the package {name!r} is not importable{reason}. Reinstall the distribution, or fix its entry point."
        )
    folders = [Path(folder) for folder in found.submodule_search_locations or ()]
    if not folders:
        raise ConfigError(
            f"{name!r} is a module, not a package: the configs live in a package's folder (configs/<id>.yaml)."
        )
    for folder in folders:
        configs = sorted((folder / "configs").glob("*.yaml"))
        if configs:
            return folder, configs
    raise ConfigError(
        f"the package {name!r} has no configs/*.yaml in {', '.join(map(str, folders))}. "
        "Ship each environment's config as package data (configs/<id>.yaml)."
    )


@functools.cache
def _installed(search_path: tuple[str, ...], bundled: frozenset[str]) -> _Installed:
    # Keyed on sys.path: a path added at run time (a test's `*.dist-info`) is seen on the next call.
    del search_path
    specs: dict[str, EnvSpec] = {}
    problems: list[str] = []
    entries = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value))
    for entry in entries:
        label = _entry_label(entry)
        try:
            directory, configs = _package_configs(entry)
        except ConfigError as exc:
            problems.append(f"{label}: skipped: {exc}")
            continue
        for config in configs:
            env_id = config.stem
            if env_id in bundled:
                problems.append(
                    f"{label}: environment {env_id!r} skipped: a bundled environment has that id. "
                    f"Rename {config.name} and its resources server block."
                )
            elif env_id in specs:
                problems.append(
                    f"{label}: environment {env_id!r} skipped: {specs[env_id].source} installed it first. "
                    f"Rename {config.name} and its resources server block, or uninstall one of them."
                )
            else:
                try:
                    settings = _resources_settings(config, env_id)
                except ConfigError as exc:
                    problems.append(f"{label}: environment {env_id!r} skipped: {exc}")
                    continue
                specs[env_id] = EnvSpec(env_id, directory, config, settings, source=label.removeprefix("entry point "))
    return _Installed(specs, tuple(problems))


def _all() -> tuple[dict[str, EnvSpec], _Installed]:
    bundled = _registry(ENVS_DIR)
    return bundled, _installed(tuple(sys.path), frozenset(bundled))


def list_envs() -> list[EnvSpec]:
    """Every environment by id: the bundled ones, then the installed ones."""
    bundled, installed = _all()
    return [*bundled.values(), *installed.specs.values()]


def registry_problems() -> list[str]:
    """Why each broken `gymhall.environments` entry point, or environment of one, was skipped."""
    return list(_all()[1].problems)


def get_env(env_id: str) -> EnvSpec:
    """The environment `env_id`; a `ConfigError` naming the known ids when there is none."""
    configs = list(ENVS_DIR.glob(f"*/configs/{glob.escape(env_id)}.yaml")) if Path(env_id).name == env_id else []
    if len(configs) == 1:  # a bundled id wins over installed ones: no need to read every config and entry point
        return _bundled_spec(configs[0])
    bundled, installed = _all()
    registry = {**bundled, **installed.specs}
    try:
        return registry[env_id]
    except KeyError:
        known = ", ".join(registry) or "none"
        skipped = " Some installed entry points were skipped (see `gymhall envs`)." if installed.problems else ""
        raise ConfigError(
            f"There is no bundled environment {env_id!r}, nor an installed one.{did_you_mean(env_id, registry)} "
            f"Known: {known} (see `gymhall envs`).{skipped}"
        ) from None


def resolve_config_arguments(arguments: list[str]) -> list[str]:
    """Config arguments with each bundled environment id replaced by its config file's path.

    An argument that names an existing file, or looks like an override (`key=value`), is kept as is. A
    folder is never a config: `gymhall init NAME` writes the project `NAME/`, and `gymhall serve NAME` run
    beside it means the environment.
    """
    resolved = []
    for argument in arguments:
        if "=" in argument or argument.startswith(("+", "~")) or Path(argument).is_file():
            resolved.append(argument)
        elif argument.endswith((".yaml", ".yml")) or "/" in argument:
            resolved.append(argument)  # a missing file: the config loader says so
        else:
            resolved.append(str(get_env(argument).config))
    return resolved
