"""Typed config models: domains, server kinds, per-server settings and the loaded `GymConfig`.

The YAML shape (NeMo Gym's) is three levels deep::

    <instance name>:
      <server kind>:           # resources_servers | responses_api_agents | responses_api_models
        <implementation>:
          entrypoint: app.py
          ...settings

`gymhall.config.loading.load_config` merges files, ``env.yaml`` and overrides into one mapping;
`GymConfig.from_values` then detects and validates the server instances in it.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator

from gymhall.config.connections import ConnectionSettings
from gymhall.config.redaction import is_secret_key, redact
from gymhall.config.resource_limits import ResourceLimits
from gymhall.config.server_keys import known_keys, unknown_keys
from gymhall.exceptions import ConfigError

__all__ = [
    "BaseResourcesServerConfig",
    "BaseServerConfig",
    "Domain",
    "GymConfig",
    "ServerInstance",
    "ServerKind",
    "RESERVED_KEYS",
    "ServerRef",
    "config_error",
    "did_you_mean",
    "is_secret_key",
    "local_url",
    "redact",
]

M = TypeVar("M", bound=BaseModel)
#: Where a config key came from: a file, or a label such as "command line"; None if unknown.
OriginOf = Callable[[tuple[Any, ...]], "Path | str | None"]

#: Top-level keys that are settings, never server instances (NeMo Gym's reserved names).
RESERVED_KEYS = frozenset(
    "config_paths entrypoint default_host head_server disallowed_ports head_server_deps python_version "
    "pip_install_verbose use_absolute_ip uv_pip_set_python skip_venv_if_present hf_token "
    "ray_head_node_address port_range_low port_range_high dry_run model_endpoint_readiness_timeout_seconds "
    "allow_openai_version_skew uv_cache_dir uv_venv_dir results_dir cache_dir _inherit_from _copy "
    "nemo_gym_log_dir verbose json query observability_enabled model_call_capture_dir token_id_capture "
    "component_name skip_verification skip_verification_reward dotenv_path".split()
)


class Domain(StrEnum):
    """What a resources server trains or evaluates; required in every resources server config."""

    MATH = "math"
    CODING = "coding"
    AGENT = "agent"
    KNOWLEDGE = "knowledge"
    INSTRUCTION_FOLLOWING = "instruction_following"
    LONG_CONTEXT = "long_context"
    SAFETY = "safety"
    GAMES = "games"
    TRANSLATION = "translation"
    E2E = "e2e"
    OTHER = "other"


class ServerKind(StrEnum):
    """The three server-type keys of a config block."""

    RESOURCES_SERVERS = "resources_servers"  # environments: tools, sessions, verify
    RESPONSES_API_AGENTS = "responses_api_agents"  # agent loops calling a model and a resources server
    RESPONSES_API_MODELS = "responses_api_models"  # policy or judge model endpoints


class ServerRef(BaseModel):
    """A reference from one server block to another instance: ``{type: <kind>, name: <instance>}``."""

    model_config = ConfigDict(defer_build=True)

    type: ServerKind
    name: str


class BaseServerConfig(ConnectionSettings):
    """Settings every server accepts (its connection limits among them); other keys are kept as extras."""

    # Schemas are built on first use: building them at import would cost ~30 ms of start-up.
    model_config = ConfigDict(extra="allow", defer_build=True)

    name: str = ""
    host: str = "127.0.0.1"
    port: int | None = None  # None: pick a free port at start-up
    entrypoint: str | None = None
    description: str | None = None

    @field_validator("port")
    @classmethod
    def _check_port(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= 65535:
            raise ValueError("port must be in 0..65535 (omit it to pick a free port)")
        return value


class BaseResourcesServerConfig(BaseServerConfig, ResourceLimits):
    """Settings of a resources server (an environment); its limits are `ResourceLimits`'s fields."""

    # None only so a bare `python app.py --port 8000` works; the loader requires it in config files.
    domain: Domain | None = None
    verified: bool = False
    session_secret: SecretStr | None = None  # None: random per process


def did_you_mean(name: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest candidate to `name`, or ``""`` if none is close."""
    matches = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=cutoff)
    return f" Did you mean {matches[0]!r}?" if matches else ""


def config_error(problem: str, fix: str, *, source: Path | str | None = None, key: str | None = None) -> ConfigError:
    """Build a `ConfigError` reading ``<file>, key '<a.b.c>': <problem>`` then ``Fix: <fix>``."""
    where = ", ".join(part for part in (str(source or ""), f"key {key!r}" if key else "") if part)
    return ConfigError(f"{where + ': ' if where else ''}{problem}\n  Fix: {fix}")


def local_url(host: str, port: int | str) -> str:
    """The base URL that reaches a server bound to `host`:`port` from this machine (wildcards become loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


@dataclass(frozen=True)
class ServerInstance:
    """One server instance of a loaded config, with its settings fully merged and resolved."""

    name: str
    kind: ServerKind
    implementation: str
    settings: dict[str, Any]
    source: Path | None = None  # the YAML file that defined the instance
    base_dir: Path | None = None  # where a relative entrypoint is resolved; None: the cwd

    @property
    def key_path(self) -> str:
        """Dotted config path of the settings block, e.g. ``my_env.resources_servers.my_env``."""
        return f"{self.name}.{self.kind.value}.{self.implementation}"

    def entrypoint_path(self) -> Path | None:
        """Absolute path of a file entrypoint, or None when there is none or it is ``module:attr``."""
        entrypoint = self.settings.get("entrypoint")
        if not entrypoint:
            return None
        text = str(entrypoint)
        if ":" in text and "/" not in text and not text.endswith(".py"):
            return None
        path = Path(text).expanduser()
        return path if path.is_absolute() else (self.base_dir or Path.cwd()) / path

    def config_model(self, cls: type[M], *, check_keys: bool = True) -> M:
        """Validate this instance's settings (plus its name) into `cls`, raising `ConfigError` on failure.

        With `check_keys`, a key that neither `cls` nor NeMo Gym declares is an error (`server_keys`).
        """
        forbids = cls.model_config.get("extra") == "forbid"  # then pydantic names the unknown keys itself
        unknown = unknown_keys(self.settings, cls, ignore=["name"]) if check_keys and not forbids else []
        if unknown:
            where = f"{self.source}: " if self.source else ""
            lines = [f"{where}unknown key(s) for server {self.name!r} ({cls.__name__} does not declare them):"]
            hints = {key: did_you_mean(key, known_keys(cls)) for key in unknown}
            lines += [f"  {self.key_path}.{key}: unknown key{'.' if hint else ''}{hint}" for key, hint in hints.items()]
            lines.append(f"  Fix: correct the key, or declare it as a field of {cls.__name__}")
            raise ConfigError("\n".join(lines))
        try:
            return cls.model_validate({**self.settings, "name": self.name})
        except ValidationError as exc:
            raise ConfigError(self._describe(cls, exc)) from exc

    def _describe(self, cls: type[BaseModel], exc: ValidationError) -> str:
        where = f"{self.source}: " if self.source else ""
        lines = [f"{where}invalid settings for server {self.name!r} (checked against {cls.__name__}):"]
        keys: list[str] = []
        for err in exc.errors():
            loc = ".".join(str(part) for part in err["loc"])
            keys.append(f"{self.key_path}.{loc}" if loc else self.key_path)
            last = err["loc"][-1] if err["loc"] else ""
            problem = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                problem = "required key is missing"
            elif err["type"] == "extra_forbidden":
                problem = "unknown key" + did_you_mean(str(last), cls.model_fields)
            elif not is_secret_key(last):
                problem += f" (got {err['input']!r})"
            lines.append(f"  {keys[-1]}: {problem}")
        place = f"in {self.source}" if self.source else "in your config"
        example = keys[0] if keys else self.key_path
        lines.append(f"  Fix: correct the key {place} or override it, e.g. {example}=<value>")
        return "\n".join(lines)


@dataclass(frozen=True)
class GymConfig:
    """A loaded config: the server instances (in file order), all merged values and the files read."""

    servers: dict[str, ServerInstance] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    sources: list[Path] = field(default_factory=list)

    @classmethod
    def from_values(
        cls, values: Mapping[str, Any], *, sources: Sequence[Path] = (), origin_of: OriginOf | None = None
    ) -> GymConfig:
        """Detect and validate the server instances of a merged, fully resolved config mapping.

        `origin_of` maps a key path to the file (or label) that set it, for error messages and for
        resolving relative entrypoints; without it, entrypoints resolve against the cwd.
        """
        data = copy.deepcopy(dict(values))
        servers = _build_servers(data, origin_of or (lambda path: None))
        return cls(servers, data, list(sources))

    def server(self, name: str) -> ServerInstance:
        """The instance called `name`; `ConfigError` with a suggestion if there is none."""
        try:
            return self.servers[name]
        except KeyError:
            hint = did_you_mean(name, self.servers)
            known = ", ".join(self.servers) or "none"
            raise config_error(f"no server instance named {name!r}.{hint}", f"use one of: {known}") from None

    def resources_server(self, name: str | None = None) -> ServerInstance:
        """The instance `name`, else the only resources server; with several or none, `ConfigError` asks for --name."""
        if name:
            return self.server(name)
        candidates = self.of_kind(ServerKind.RESOURCES_SERVERS)
        if len(candidates) == 1:
            return candidates[0]
        names = ", ".join(s.name for s in candidates) or "none"
        raise ConfigError(f"The config defines {len(candidates)} resources servers ({names}); choose one with --name.")

    def of_kind(self, kind: ServerKind | str) -> list[ServerInstance]:
        """Instances of one server kind, in file order."""
        if kind not in _KINDS:
            hint = did_you_mean(str(kind), _KINDS)
            raise config_error(f"unknown server kind {kind!r}.{hint}", f"use one of: {', '.join(_KINDS)}")
        return [s for s in self.servers.values() if s.kind == kind]

    def redacted(self) -> dict[str, Any]:
        """A copy of `values` safe to print: secret-looking keys show ``"***"``."""
        result: dict[str, Any] = redact(self.values)
        return result


_KINDS = tuple(kind.value for kind in ServerKind)
_DOMAINS = tuple(domain.value for domain in Domain)


def _base_dir(path: Path) -> Path:
    # NeMo Gym layout: <kind>/<impl>/configs/x.yaml holds entrypoints relative to <kind>/<impl>.
    return path.parent.parent if path.parent.name == "configs" else path.parent


def _build_servers(values: dict[str, Any], origin_of: OriginOf) -> dict[str, ServerInstance]:
    default_host = values.get("default_host") or "127.0.0.1"
    servers: dict[str, ServerInstance] = {}
    for name, block in values.items():
        if name in RESERVED_KEYS or not isinstance(block, dict):
            continue
        shape = _server_shape(name, block, origin_of)
        if shape is None:
            continue
        kind, impl, settings = shape
        if settings.get("host") is None:
            settings["host"] = default_host
        created = origin_of((name,))
        # A relative entrypoint belongs to the file that wrote it, which may be an included file.
        ep_origin = origin_of((name, kind, impl, "entrypoint"))
        instance = ServerInstance(
            name=str(name),
            kind=ServerKind(kind),
            implementation=str(impl),
            settings=settings,
            source=created if isinstance(created, Path) else None,
            base_dir=_base_dir(ep_origin) if isinstance(ep_origin, Path) else None,
        )
        if kind == ServerKind.RESOURCES_SERVERS:
            _check_domain(instance, origin_of)
            checked: BaseServerConfig = instance.config_model(BaseResourcesServerConfig, check_keys=False)
        else:
            checked = instance.config_model(BaseServerConfig, check_keys=False)
        if settings.get("port") is not None:
            settings["port"] = checked.port  # "8000" from ${oc.env:PORT,8000} becomes 8000
        block[kind] = {impl: copy.deepcopy(settings)}
        servers[str(name)] = instance
    for instance in servers.values():
        _check_refs(instance, servers, origin_of)
    return servers


def _server_shape(name: str, block: dict[Any, Any], origin_of: OriginOf) -> tuple[str, Any, dict[Any, Any]] | None:
    kinds = [key for key in block if key in _KINDS]
    source = origin_of((name,))
    if not kinds:
        hint = did_you_mean(str(next(iter(block))), _KINDS, cutoff=0.7) if len(block) == 1 else ""
        if hint:
            problem = f"{next(iter(block))!r} is not a server type.{hint}"
            key = f"{name}.{next(iter(block))}"
            raise config_error(problem, f"rename it to one of: {', '.join(_KINDS)}", source=source, key=key)
        return None
    kind = kinds[0]
    if len(kinds) > 1:
        problem = f"instance {name!r} has {len(kinds)} server types ({', '.join(kinds)}); it must have one"
        fix = "split it into separate top-level instances, one per server type"
        raise config_error(problem, fix, source=source, key=str(name))
    extra = [str(key) for key in block if key != kind]
    if extra:
        problem = f"unexpected key(s) {', '.join(map(repr, extra))} next to {kind!r}"
        fix = f"move them under the implementation block {name}.{kind}.<implementation>"
        raise config_error(problem, fix, source=source, key=f"{name}.{extra[0]}")
    impls = block[kind]
    if not isinstance(impls, dict) or len(impls) != 1:
        got = f"{len(impls)}: {', '.join(map(str, impls))}" if isinstance(impls, dict) else repr(impls)
        problem = f"{kind!r} must hold exactly one implementation block (got {got})"
        fix = f"use one top-level instance per implementation, e.g. {name}: {{{kind}: {{<impl>: {{...}}}}}}"
        raise config_error(problem, fix, source=source, key=f"{name}.{kind}")
    ((impl, settings),) = impls.items()
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        problem = f"implementation {impl!r} must be a mapping of settings, not {type(settings).__name__}"
        fix = f"write its settings as key: value pairs, e.g. entrypoint: app.py under {name}.{kind}.{impl}"
        raise config_error(problem, fix, source=source, key=f"{name}.{kind}.{impl}")
    typo = [] if "entrypoint" in settings else difflib.get_close_matches("entrypoint", map(str, settings), 1, 0.75)
    if typo:  # without an entrypoint the server cannot be found: name the typo now
        problem = f"unknown key {typo[0]!r} and no 'entrypoint'. Did you mean 'entrypoint'?"
        where = origin_of((name, kind, impl, typo[0])) or source
        raise config_error(problem, "rename it to entrypoint", source=where, key=f"{name}.{kind}.{impl}.{typo[0]}")
    return kind, impl, copy.deepcopy(settings)


def _check_domain(instance: ServerInstance, origin_of: OriginOf) -> None:
    domain = instance.settings.get("domain")
    key = f"{instance.key_path}.domain"
    allowed = ", ".join(_DOMAINS)
    if domain is None:
        problem = f"resources server {instance.name!r} has no 'domain'"
        fix = f"add 'domain: <value>' under {instance.key_path}, one of: {allowed}"
        raise config_error(problem, fix, source=instance.source, key=key)
    if str(domain) not in _DOMAINS:
        problem = f"domain {domain!r} is not valid.{did_you_mean(str(domain), _DOMAINS)}"
        source = origin_of((instance.name, instance.kind.value, instance.implementation, "domain"))
        raise config_error(problem, f"use one of: {allowed}", source=source, key=key)


def _refs(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], dict[Any, Any]]]:
    if isinstance(value, dict):
        kind = value.get("type")
        # {name, type} also describes datasets (type: train); only kind-like types are refs.
        if "name" in value and isinstance(kind, str):
            if kind in _KINDS or (set(value) == {"type", "name"} and did_you_mean(kind, _KINDS, cutoff=0.7)):
                yield path, value
        for key, item in value.items():
            yield from _refs(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _refs(item, (*path, index))


def _check_refs(instance: ServerInstance, servers: Mapping[str, ServerInstance], origin_of: OriginOf) -> None:
    for path, ref in _refs(instance.settings, ()):
        kind, target = ref["type"], str(ref["name"])
        key = ".".join([instance.key_path, *map(str, path)])
        source = origin_of((instance.name, instance.kind.value, instance.implementation, *path))
        if kind not in _KINDS:
            problem = f"server ref type {kind!r} is not a server type.{did_you_mean(kind, _KINDS)}"
            raise config_error(problem, f"use one of: {', '.join(_KINDS)}", source=source, key=f"{key}.type")
        found = servers.get(target)
        if found is not None and found.kind == kind:
            continue
        same = [s.name for s in servers.values() if s.kind == kind]
        other = f" ({target!r} is a {found.kind.value} instance)" if found else ""
        problem = f"refers to {kind} instance {target!r}, which is not defined{other}.{did_you_mean(target, same)}"
        known = ", ".join(same) or "none loaded"
        fix = f"use one of the {kind} instances ({known}) or load the file that defines it"
        raise config_error(problem, fix, source=source, key=f"{key}.name")
