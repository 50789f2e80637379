"""gymhall: build, serve and run reinforcement-learning environments for LLM agents.

Names are imported on first use, so `import gymhall` stays fast and a command that needs no web
server never loads one.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AsyncResourcesClient": "gymhall._client",
    "BaseMultiRewardVerifyResponse": "gymhall._schemas",
    "BaseResourcesServerConfig": "gymhall._config",
    "BaseRunRequest": "gymhall._schemas",
    "BaseSeedSessionRequest": "gymhall._schemas",
    "BaseSeedSessionResponse": "gymhall._schemas",
    "BaseServerConfig": "gymhall._config",
    "BaseVerifyRequest": "gymhall._schemas",
    "BaseVerifyResponse": "gymhall._schemas",
    "BodyTooLarge": "gymhall._exceptions",
    "ConfigError": "gymhall._exceptions",
    "Domain": "gymhall._config",
    "Environment": "gymhall._environment",
    "GymApp": "gymhall._routing",
    "GymConfig": "gymhall._config",
    "GymhallError": "gymhall._exceptions",
    "InvalidBody": "gymhall._exceptions",
    "InvalidSessionHandle": "gymhall._exceptions",
    "RequestError": "gymhall._exceptions",
    "ResourcesClient": "gymhall._client",
    "Response": "gymhall._responses",
    "ResponseCreateParams": "gymhall._responses",
    "SESSION_HEADER": "gymhall._routing",
    "SESSION_ID_KEY": "gymhall._routing",
    "ServerBusy": "gymhall._exceptions",
    "ServerError": "gymhall._exceptions",
    "ServerInstance": "gymhall._config",
    "Session": "gymhall._sessions",
    "SessionError": "gymhall._exceptions",
    "SessionNotFound": "gymhall._exceptions",
    "SessionRequired": "gymhall._exceptions",
    "SimpleResourcesServer": "gymhall._resources_server",
    "ToolError": "gymhall._exceptions",
    "ToolSpec": "gymhall._tools",
    "aggregate_metrics": "gymhall._metrics",
    "build_app": "gymhall._environment",
    "load_config": "gymhall._config_loading",
    "tool": "gymhall._tools",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from gymhall._client import AsyncResourcesClient, ResourcesClient
    from gymhall._config import (
        BaseResourcesServerConfig,
        BaseServerConfig,
        Domain,
        GymConfig,
        ServerInstance,
    )
    from gymhall._config_loading import load_config
    from gymhall._environment import Environment, build_app
    from gymhall._exceptions import (
        BodyTooLarge,
        ConfigError,
        GymhallError,
        InvalidBody,
        InvalidSessionHandle,
        RequestError,
        ServerBusy,
        ServerError,
        SessionError,
        SessionNotFound,
        SessionRequired,
        ToolError,
    )
    from gymhall._metrics import aggregate_metrics
    from gymhall._resources_server import SimpleResourcesServer
    from gymhall._responses import Response, ResponseCreateParams
    from gymhall._routing import SESSION_HEADER, SESSION_ID_KEY, GymApp
    from gymhall._schemas import (
        BaseMultiRewardVerifyResponse,
        BaseRunRequest,
        BaseSeedSessionRequest,
        BaseSeedSessionResponse,
        BaseVerifyRequest,
        BaseVerifyResponse,
    )
    from gymhall._sessions import Session
    from gymhall._tools import ToolSpec, tool


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gymhall' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return [*globals(), *__all__]
