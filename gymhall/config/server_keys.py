"""The keys a server's settings block may hold: those its config class declares, and NeMo Gym's own.

Any other key is a mistake (``sesion_ttl_seconds``, ``entrypont``) and an error, as pip and uv refuse
an unknown option rather than ignore it. A server that needs more settings declares them as fields
of its config class.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["COMMON_SERVER_KEYS", "known_keys", "unknown_keys"]

COMMON_SERVER_KEYS = frozenset(
    {
        # Every server (NeMo Gym's BaseRunServerInstanceConfig and its launcher).
        "entrypoint",
        "host",
        "port",
        "num_workers",
        "description",
        # Resources servers: their catalogue entry, MCP exposure and judge references.
        "domain",
        "value",
        "verified",
        "verified_url",
        "expose_tools_over_mcp",
        "judge_model_server",
        "judge_responses_create_params",
        # Agents: their servers, loop and datasets.
        "resources_server",
        "model_server",
        "max_steps",
        "datasets",
        "skip_verification",
        "skip_verification_reward",
        # gymhall's registry: a bundled environment's dataset file (`gymhall.config.registry`).
        "dataset",
        # `gymhall check`: the environment's own reward probes, `module:function` (`gymhall.checks.probe`).
        "probes",
    }
)
"""Keys a server block may carry whatever its config class: NeMo Gym's, and the registry's `dataset`."""


def known_keys(cls: type[BaseModel]) -> set[str]:
    """The keys `cls` declares (field names and their aliases), plus `COMMON_SERVER_KEYS`."""
    names = set(COMMON_SERVER_KEYS)
    for name, info in cls.model_fields.items():
        names.add(name)
        names.update(alias for alias in (info.alias, info.validation_alias) if isinstance(alias, str))
    return names


def unknown_keys(settings: Mapping[str, Any], cls: type[BaseModel], *, ignore: Iterable[str] = ()) -> list[str]:
    """The keys of `settings` that neither `cls` nor NeMo Gym knows, in their order."""
    known = known_keys(cls) | set(ignore)
    return [str(key) for key in settings if str(key) not in known]
