"""Load YAML config files, ``env.yaml`` and command-line overrides into one `GymConfig`.

Precedence, lowest to highest (mappings merge key by key; any other value, lists included, replaces):

1. ``base``: a mapping passed by library callers.
2. YAML files: the positional ``paths`` in order, then the files of the ``config_paths`` list (taken
   from the overrides, else ``env.yaml``, else ``base``; a list replaces, it does not append). A file
   may list ``config_paths`` of its own; they load just before it, so a file overrides what it includes
   and later files override earlier ones. Relative includes resolve against the including file's
   directory, then the cwd. A file reached twice is loaded once; an include cycle is an error.
3. ``env.yaml``: ``./env.yaml`` if it exists when ``env_file="auto"`` (or the file named by a
   ``dotenv_path=...`` override), an explicit path, or none with ``env_file=None``.
4. Command-line overrides: ``key=value``, ``a.b.c=value``, ``+key=value``, ``++key=value`` (all set;
   ``++`` also skips the typo check) and ``~key`` (delete). Values are YAML scalars or flow collections.

Then every ``???`` value is reported at once, ``${...}`` interpolations are resolved over the merged
config (``${policy_base_url}``, ``${oc.env:VAR,default}``) and server instances are detected and
validated (one kind, one implementation, ``domain`` for resources servers, server refs).
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from gymhall.config.env_file import find_env_file, read_env_file
from gymhall.config.settings import GymConfig, config_error, did_you_mean
from gymhall.config.yaml_file import YamlLoader, read_yaml_file
from gymhall.exceptions import ConfigError

__all__ = ["Override", "did_you_mean", "load_config", "parse_overrides"]

Origin = Path | str  # the file a value came from, or _BASE / _CLI
KeyPath = tuple[Any, ...]

_BASE = "base mapping"
_CLI = "command line"


@dataclass(frozen=True)
class Override:
    """One parsed command-line override (``key=value``, ``+key=value``, ``++key=value`` or ``~key``)."""

    text: str
    path: tuple[str, ...]
    value: Any = None
    delete: bool = False
    force: bool = False  # ``++``: add the key even when it looks like a typo of an existing one
    has_value: bool = True

    @property
    def key(self) -> str:
        """The dotted key, e.g. ``policy_model.responses_api_models.openai_model.port``."""
        return ".".join(self.path)


_KEY_RE = re.compile(r"^[^\s=.~+-]+(?:\.[^\s=.]+)*$")


def parse_overrides(items: Sequence[str]) -> list[Override]:
    """Parse override strings; `ConfigError` names the malformed one and shows the accepted forms."""
    parsed: list[Override] = []
    for text in items:
        delete = text.startswith("~")
        body = text[1:] if delete else text
        plus = len(body) - len(body.lstrip("+"))
        key, sep, raw = body[plus:].partition("=")
        if plus > 2 or (delete and plus) or not _KEY_RE.match(key) or not (sep or delete):
            problem = f"malformed override {text!r}; expected key=value, +key=value, ++key=value or ~key"
            example = f"{key}=<value>" if _KEY_RE.match(key) else "key=value"
            raise config_error(problem, f"write it as {example}", source=_CLI)
        value = _parse_value(raw, text) if sep else None
        parsed.append(Override(text, tuple(key.split(".")), value, delete, plus == 2, bool(sep)))
    return parsed


def _parse_value(raw: str, text: str) -> Any:
    if not raw.strip():
        return raw
    try:
        value = yaml.load(raw, Loader=YamlLoader)
    except yaml.YAMLError:
        if raw.lstrip()[:1] in ("[", "{"):
            problem = f"override {text!r}: {raw!r} is not a valid YAML list or mapping"
            raise config_error(problem, "quote items with special characters: x=['a b',c]", source=_CLI) from None
        return raw
    # "note: hi" or "#fff" are strings to a user, not a mapping or a comment.
    if (isinstance(value, dict) and not raw.lstrip().startswith("{")) or (
        value is None and raw.strip() not in ("null", "Null", "NULL", "~")
    ):
        return raw
    return value


def load_config(
    paths: Sequence[str | Path] = (),
    overrides: Sequence[str] = (),
    *,
    env_file: str | Path | None | Literal["auto"] = "auto",
    base: Mapping[str, Any] | None = None,
) -> GymConfig:
    """Load, merge, resolve and validate a config; raise `ConfigError` naming file, key and fix.

    Precedence, lowest to highest: `base` < YAML files (`paths` in order, then ``config_paths``,
    each file after the files it includes) < ``env.yaml`` (`env_file`: "auto" = ``./env.yaml`` if
    present, a path, or None) < `overrides`. Mappings merge deeply; lists and scalars replace.
    Afterwards ``???`` values fail, ``${...}`` interpolations resolve, and servers are validated.
    """
    paths = [paths] if isinstance(paths, str | Path) else paths  # a lone path, not its characters
    parsed = parse_overrides([overrides] if isinstance(overrides, str) else overrides)
    dotenv_paths = [o.value for o in parsed if o.path == ("dotenv_path",) and not o.delete]
    env_path = find_env_file(env_file, dotenv_path=str(dotenv_paths[-1]) if dotenv_paths else None)
    base_data: dict[Any, Any] = _plain(dict(base or {}))
    env_data = read_env_file(env_path) if env_path else {}

    list_origin: Origin = _BASE
    raw_list = base_data.pop("config_paths", None)
    if env_path and "config_paths" in env_data:
        list_origin, raw_list = env_path, env_data.pop("config_paths")
    for override in parsed:
        if override.path == ("config_paths",):
            list_origin, raw_list = _CLI, override.value

    state = _State(context={**base_data, **env_data})
    state.merge(base_data, _BASE)
    requested = [_find_file(p, None, source=None, key=None) for p in paths]
    list_parent = list_origin.parent if isinstance(list_origin, Path) else None
    requested += [
        _find_file(p, list_parent, source=list_origin, key="config_paths")
        for p in state.path_list(raw_list, list_origin)
    ]
    for path in requested:
        state.load_file(path)
    if env_path:
        state.merge(env_data, env_path)
    for override in parsed:
        if override.path != ("config_paths",):
            _apply(state, override)
    values = state.values
    if requested:
        values["config_paths"] = [str(p) for p in requested]

    _check_missing(values, state.origins)
    if any("${" in text for _, text in _strings(values, ())):
        values = _interpolate(values, state.origins)
    sources = [*state.sources, *([env_path] if env_path else [])]
    return GymConfig.from_values(values, sources=sources, origin_of=lambda path: _origin_of(state.origins, path))


def _find_file(raw: object, parent: Path | None, *, source: Origin | None, key: str | None) -> Path:
    if not isinstance(raw, str | Path) or not str(raw):
        raise config_error(f"config path {raw!r} is not a file path", "list paths as strings", source=source, key=key)
    path = Path(raw).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path]
    if parent is not None and not path.is_absolute() and parent != Path.cwd():
        candidates.insert(0, parent / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    hint = ""
    for candidate in candidates:
        if candidate.parent.is_dir():
            # Compare stems: a shared ".yaml" makes any two names look alike.
            siblings = {p.stem: p.name for p in candidate.parent.iterdir() if p.suffix in (".yaml", ".yml")}
            close = difflib.get_close_matches(candidate.stem, list(siblings), n=1)
            hint = f" Did you mean {siblings[close[0]]!r}?" if close else ""
            break
    problem = f"config file {str(raw)!r} not found; looked in: {', '.join(map(str, candidates))}.{hint}"
    fix = "correct the path; relative paths resolve against the including file's directory, then the cwd"
    raise config_error(problem, fix, source=source, key=key)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return copy.deepcopy(value)


def _mark(value: Any, origin: Origin, origins: dict[KeyPath, Origin], path: KeyPath) -> None:
    origins[path] = origin
    if isinstance(value, Mapping):
        for key, item in value.items():
            _mark(item, origin, origins, (*path, key))


def _origin_of(origins: Mapping[KeyPath, Origin], path: KeyPath) -> Origin | None:
    for end in range(len(path), 0, -1):
        if path[:end] in origins:
            return origins[path[:end]]
    return None


@dataclass
class _State:
    """The merge in progress: values, where each key came from, and the files read."""

    context: dict[Any, Any]  # base + env.yaml, to resolve ${...} inside config_paths
    values: dict[Any, Any] = field(default_factory=dict)
    # A mapping keeps the origin of whoever created it; a leaf, of whoever set it last.
    origins: dict[KeyPath, Origin] = field(default_factory=dict)
    sources: list[Path] = field(default_factory=list)
    stack: list[Path] = field(default_factory=list)

    def merge(self, data: Mapping[Any, Any], origin: Origin, into: dict[Any, Any] | None = None) -> None:
        self._merge(data, origin, self.values if into is None else into, ())

    def _merge(self, data: Mapping[Any, Any], origin: Origin, target: dict[Any, Any], prefix: KeyPath) -> None:
        for key, value in data.items():
            path = (*prefix, key)
            if isinstance(value, Mapping) and isinstance(target.get(key), dict):
                self._merge(value, origin, target[key], path)
            else:
                target[key] = _plain(value)
                _mark(value, origin, self.origins, path)

    def load_file(self, path: Path) -> None:
        if path in self.stack:
            chain = " -> ".join(str(p) for p in [*self.stack[self.stack.index(path) :], path])
            fix = "remove one of these config_paths entries"
            raise config_error(f"include cycle: {chain}", fix, source=self.stack[-1], key="config_paths")
        if path in self.sources:
            return
        self.stack.append(path)
        data = read_yaml_file(path)
        for include in self.path_list(data.pop("config_paths", None), path):
            self.load_file(_find_file(include, path.parent, source=path, key="config_paths"))
        self.sources.append(path)
        self.merge(data, path)
        self.stack.pop()

    def path_list(self, raw: Any, origin: Origin) -> list[Any]:
        if raw is None:
            return []
        if any("${" in text for _, text in _strings(raw, ())):
            raw = _interpolate({**self.context, "config_paths": raw}, {})["config_paths"]
        if isinstance(raw, str):
            return [part.strip() for part in raw.split(",") if part.strip()]
        if isinstance(raw, list):
            return raw
        problem = f"config_paths must be a list of file paths, not a {type(raw).__name__}"
        raise config_error(problem, "write config_paths: [a.yaml, b.yaml]", source=origin, key="config_paths")


def _apply(state: _State, override: Override) -> None:
    parent = state.values
    for depth, part in enumerate(override.path):
        key = ".".join(override.path[: depth + 1])
        last = depth == len(override.path) - 1
        if part not in parent:
            if override.delete:
                problem = f"override {override.text!r} deletes a key that does not exist."
                hint = did_you_mean(part, map(str, parent))
                raise config_error(problem + hint, "check the key's spelling", source=_CLI, key=key)
            hint = "" if override.force else did_you_mean(part, map(str, parent), cutoff=0.8)
            if hint:
                problem = f"override {override.text!r} adds a new key.{hint}"
                fix = f"correct the spelling, or write ++{override.key}=... to add it anyway"
                raise config_error(problem, fix, source=_CLI, key=key)
            if not last:
                parent[part] = {}
                state.origins[override.path[: depth + 1]] = _CLI
        if last:
            break
        child = parent[part]
        if not isinstance(child, dict):
            problem = f"override {override.text!r} goes through {key!r}, a {type(child).__name__}, not a mapping"
            raise config_error(problem, f"override {key} itself, or ~{key} first", source=_CLI, key=key)
        parent = child
    leaf = override.path[-1]
    if not override.delete:
        parent[leaf] = override.value
        _mark(override.value, _CLI, state.origins, override.path)
    elif override.has_value and parent[leaf] != override.value:
        problem = f"override {override.text!r} deletes only if the value matches, and it does not"
        raise config_error(problem, f"write ~{override.key} to delete any value", source=_CLI, key=override.key)
    else:
        del parent[leaf]


def _strings(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _check_missing(values: dict[Any, Any], origins: dict[KeyPath, Origin]) -> None:
    missing = [path for path, text in _strings(values, ()) if text == "???"]
    if not missing:
        return
    lines = []
    for path in missing:
        origin = _origin_of(origins, path)
        lines.append(f"  {'.'.join(map(str, path))}" + (f" (in {origin})" if origin else ""))
    hints = " ".join(f"{'.'.join(map(str, path))}=<value>" for path in missing)
    raise ConfigError(
        f"{len(missing)} required value(s) are missing (???):\n"
        + "\n".join(lines)
        + f"\n  Fix: set them in env.yaml or on the command line: {hints}"
    )


def _interpolate(values: dict[Any, Any], origins: Mapping[KeyPath, Origin]) -> dict[Any, Any]:
    # Imported lazily: omegaconf costs ~80 ms to import and most configs have no ${...}.
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        resolved = OmegaConf.to_container(OmegaConf.create(values), resolve=True)
    except OmegaConfBaseException as exc:
        raise _interpolation_error(exc, origins) from exc
    return cast(dict[Any, Any], resolved)


def _interpolation_error(exc: Exception, origins: Mapping[KeyPath, Origin]) -> ConfigError:
    key = str(getattr(exc, "full_key", "") or "")
    message = (str(getattr(exc, "msg", "") or exc).splitlines() or [""])[0]
    quoted = re.findall(r"'([^']*)'", message)
    name = quoted[0] if quoted else "<name>"
    if type(exc).__name__ == "InterpolationKeyError":
        problem = f"${{{name}}} refers to {name!r}, which is not defined"
        fix = f"define {name} in env.yaml or pass {name}=<value>"
    elif "Environment variable" in message:
        problem = f"environment variable {name!r} is not set"
        fix = f"export {name}=<value>, or give a default: ${{oc.env:{name},<default>}}"
    else:
        problem = f"cannot resolve interpolation: {message}"
        fix = "check the ${...} syntax, e.g. ${policy_base_url} or ${oc.env:VAR,default}"
    path = tuple(part for part in re.split(r"[.\[\]]", key) if part)
    return config_error(problem, fix, source=_origin_of(origins, path), key=key or None)
