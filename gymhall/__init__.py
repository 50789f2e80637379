"""gymhall: build, serve and run reinforcement-learning environments for LLM agents.

Names are imported on first use, so `import gymhall` stays fast and a command that needs no web
server never loads one.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Agent": "gymhall._agent",
    "AgentServer": "gymhall._instances",
    "AsyncResourcesClient": "gymhall._client",
    "AsyncResourcesSession": "gymhall._client",
    "BaseMultiRewardVerifyResponse": "gymhall._schemas",
    "BaseResourcesServerConfig": "gymhall._config",
    "BaseRunRequest": "gymhall._schemas",
    "BaseSeedSessionRequest": "gymhall._schemas",
    "BaseSeedSessionResponse": "gymhall._schemas",
    "BaseServerConfig": "gymhall._config",
    "BaseVerifyRequest": "gymhall._schemas",
    "BaseVerifyResponse": "gymhall._schemas",
    "BodyTooLarge": "gymhall._exceptions",
    "ChatCompletionsModel": "gymhall._models.chat",
    "CheckResult": "gymhall._conformance",
    "ConfigError": "gymhall._exceptions",
    "DatasetError": "gymhall._exceptions",
    "Domain": "gymhall._config",
    "EnvSpec": "gymhall._registry",
    "Environment": "gymhall._environment",
    "FakeModel": "gymhall._models.fake",
    "GymApp": "gymhall._routing",
    "GymConfig": "gymhall._config",
    "GymhallError": "gymhall._exceptions",
    "InvalidBody": "gymhall._exceptions",
    "InvalidSessionHandle": "gymhall._exceptions",
    "Judge": "gymhall._judge",
    "JudgeError": "gymhall._exceptions",
    "Model": "gymhall._models.base",
    "ModelError": "gymhall._exceptions",
    "ModelRequest": "gymhall._models.base",
    "ModelServer": "gymhall._instances",
    "OpenAIResponsesModel": "gymhall._models.responses",
    "PortError": "gymhall._exceptions",
    "RemoteAgent": "gymhall._agent",
    "ReplayModel": "gymhall._models.replay",
    "RequestError": "gymhall._exceptions",
    "ResourcesClient": "gymhall._client",
    "ResourcesSession": "gymhall._client",
    "Response": "gymhall._responses",
    "ResponseCreateParams": "gymhall._responses",
    "SESSION_HEADER": "gymhall._routing",
    "SESSION_ID_KEY": "gymhall._routing",
    "Sandbox": "gymhall._sandbox",
    "SandboxLimits": "gymhall._sandbox",
    "SandboxResult": "gymhall._sandbox",
    "ServerBusy": "gymhall._exceptions",
    "ServerError": "gymhall._exceptions",
    "ServerInstance": "gymhall._config",
    "ServerStartError": "gymhall._exceptions",
    "Session": "gymhall._sessions",
    "SessionError": "gymhall._exceptions",
    "SessionNotFound": "gymhall._exceptions",
    "SessionRequired": "gymhall._exceptions",
    "SimpleResourcesServer": "gymhall._resources_server",
    "ToolError": "gymhall._exceptions",
    "ToolSpec": "gymhall._tools",
    "aggregate_metrics": "gymhall._metrics",
    "build_agent_app": "gymhall._agent_server",
    "build_app": "gymhall._environment",
    "build_model_app": "gymhall._model_server",
    "check_environment": "gymhall._conformance",
    "expand_rows": "gymhall._datasets",
    "get_env": "gymhall._registry",
    "list_envs": "gymhall._registry",
    "load_config": "gymhall._config_loading",
    "model_from_spec": "gymhall._models.registry",
    "pass_at_k": "gymhall._metrics",
    "read_rollouts": "gymhall._metrics",
    "read_rows": "gymhall._datasets",
    "resources_client": "gymhall._collection",
    "rollout_metrics": "gymhall._metrics",
    "rollouts": "gymhall._collector",
    "tool": "gymhall._tools",
}

__all__ = [
    "Agent",
    "AgentServer",
    "AsyncResourcesClient",
    "AsyncResourcesSession",
    "BaseMultiRewardVerifyResponse",
    "BaseResourcesServerConfig",
    "BaseRunRequest",
    "BaseSeedSessionRequest",
    "BaseSeedSessionResponse",
    "BaseServerConfig",
    "BaseVerifyRequest",
    "BaseVerifyResponse",
    "BodyTooLarge",
    "ChatCompletionsModel",
    "CheckResult",
    "ConfigError",
    "DatasetError",
    "Domain",
    "EnvSpec",
    "Environment",
    "FakeModel",
    "GymApp",
    "GymConfig",
    "GymhallError",
    "InvalidBody",
    "InvalidSessionHandle",
    "Judge",
    "JudgeError",
    "Model",
    "ModelError",
    "ModelRequest",
    "ModelServer",
    "OpenAIResponsesModel",
    "PortError",
    "RemoteAgent",
    "ReplayModel",
    "RequestError",
    "ResourcesClient",
    "ResourcesSession",
    "Response",
    "ResponseCreateParams",
    "SESSION_HEADER",
    "SESSION_ID_KEY",
    "Sandbox",
    "SandboxLimits",
    "SandboxResult",
    "ServerBusy",
    "ServerError",
    "ServerInstance",
    "ServerStartError",
    "Session",
    "SessionError",
    "SessionNotFound",
    "SessionRequired",
    "SimpleResourcesServer",
    "ToolError",
    "ToolSpec",
    "aggregate_metrics",
    "build_agent_app",
    "build_app",
    "build_model_app",
    "check_environment",
    "expand_rows",
    "get_env",
    "list_envs",
    "load_config",
    "model_from_spec",
    "pass_at_k",
    "read_rollouts",
    "read_rows",
    "resources_client",
    "rollout_metrics",
    "rollouts",
    "tool",
]

if TYPE_CHECKING:
    from gymhall._agent import (
        Agent as Agent,
    )
    from gymhall._agent import (
        RemoteAgent as RemoteAgent,
    )
    from gymhall._agent_server import (
        build_agent_app as build_agent_app,
    )
    from gymhall._client import (
        AsyncResourcesClient as AsyncResourcesClient,
    )
    from gymhall._client import (
        AsyncResourcesSession as AsyncResourcesSession,
    )
    from gymhall._client import (
        ResourcesClient as ResourcesClient,
    )
    from gymhall._client import (
        ResourcesSession as ResourcesSession,
    )
    from gymhall._collection import (
        resources_client as resources_client,
    )
    from gymhall._collector import (
        rollouts as rollouts,
    )
    from gymhall._config import (
        BaseResourcesServerConfig as BaseResourcesServerConfig,
    )
    from gymhall._config import (
        BaseServerConfig as BaseServerConfig,
    )
    from gymhall._config import (
        Domain as Domain,
    )
    from gymhall._config import (
        GymConfig as GymConfig,
    )
    from gymhall._config import (
        ServerInstance as ServerInstance,
    )
    from gymhall._config_loading import (
        load_config as load_config,
    )
    from gymhall._conformance import (
        CheckResult as CheckResult,
    )
    from gymhall._conformance import (
        check_environment as check_environment,
    )
    from gymhall._datasets import (
        expand_rows as expand_rows,
    )
    from gymhall._datasets import (
        read_rows as read_rows,
    )
    from gymhall._environment import (
        Environment as Environment,
    )
    from gymhall._environment import (
        build_app as build_app,
    )
    from gymhall._exceptions import (
        BodyTooLarge as BodyTooLarge,
    )
    from gymhall._exceptions import (
        ConfigError as ConfigError,
    )
    from gymhall._exceptions import (
        DatasetError as DatasetError,
    )
    from gymhall._exceptions import (
        GymhallError as GymhallError,
    )
    from gymhall._exceptions import (
        InvalidBody as InvalidBody,
    )
    from gymhall._exceptions import (
        InvalidSessionHandle as InvalidSessionHandle,
    )
    from gymhall._exceptions import (
        JudgeError as JudgeError,
    )
    from gymhall._exceptions import (
        ModelError as ModelError,
    )
    from gymhall._exceptions import (
        PortError as PortError,
    )
    from gymhall._exceptions import (
        RequestError as RequestError,
    )
    from gymhall._exceptions import (
        ServerBusy as ServerBusy,
    )
    from gymhall._exceptions import (
        ServerError as ServerError,
    )
    from gymhall._exceptions import (
        ServerStartError as ServerStartError,
    )
    from gymhall._exceptions import (
        SessionError as SessionError,
    )
    from gymhall._exceptions import (
        SessionNotFound as SessionNotFound,
    )
    from gymhall._exceptions import (
        SessionRequired as SessionRequired,
    )
    from gymhall._exceptions import (
        ToolError as ToolError,
    )
    from gymhall._instances import (
        AgentServer as AgentServer,
    )
    from gymhall._instances import (
        ModelServer as ModelServer,
    )
    from gymhall._judge import (
        Judge as Judge,
    )
    from gymhall._metrics import (
        aggregate_metrics as aggregate_metrics,
    )
    from gymhall._metrics import (
        pass_at_k as pass_at_k,
    )
    from gymhall._metrics import (
        read_rollouts as read_rollouts,
    )
    from gymhall._metrics import (
        rollout_metrics as rollout_metrics,
    )
    from gymhall._model_server import (
        build_model_app as build_model_app,
    )
    from gymhall._models.base import (
        Model as Model,
    )
    from gymhall._models.base import (
        ModelRequest as ModelRequest,
    )
    from gymhall._models.chat import (
        ChatCompletionsModel as ChatCompletionsModel,
    )
    from gymhall._models.fake import (
        FakeModel as FakeModel,
    )
    from gymhall._models.registry import (
        model_from_spec as model_from_spec,
    )
    from gymhall._models.replay import (
        ReplayModel as ReplayModel,
    )
    from gymhall._models.responses import (
        OpenAIResponsesModel as OpenAIResponsesModel,
    )
    from gymhall._registry import (
        EnvSpec as EnvSpec,
    )
    from gymhall._registry import (
        get_env as get_env,
    )
    from gymhall._registry import (
        list_envs as list_envs,
    )
    from gymhall._resources_server import (
        SimpleResourcesServer as SimpleResourcesServer,
    )
    from gymhall._responses import (
        Response as Response,
    )
    from gymhall._responses import (
        ResponseCreateParams as ResponseCreateParams,
    )
    from gymhall._routing import (
        SESSION_HEADER as SESSION_HEADER,
    )
    from gymhall._routing import (
        SESSION_ID_KEY as SESSION_ID_KEY,
    )
    from gymhall._routing import (
        GymApp as GymApp,
    )
    from gymhall._sandbox import (
        Sandbox as Sandbox,
    )
    from gymhall._sandbox import (
        SandboxLimits as SandboxLimits,
    )
    from gymhall._sandbox import (
        SandboxResult as SandboxResult,
    )
    from gymhall._schemas import (
        BaseMultiRewardVerifyResponse as BaseMultiRewardVerifyResponse,
    )
    from gymhall._schemas import (
        BaseRunRequest as BaseRunRequest,
    )
    from gymhall._schemas import (
        BaseSeedSessionRequest as BaseSeedSessionRequest,
    )
    from gymhall._schemas import (
        BaseSeedSessionResponse as BaseSeedSessionResponse,
    )
    from gymhall._schemas import (
        BaseVerifyRequest as BaseVerifyRequest,
    )
    from gymhall._schemas import (
        BaseVerifyResponse as BaseVerifyResponse,
    )
    from gymhall._sessions import (
        Session as Session,
    )
    from gymhall._tools import (
        ToolSpec as ToolSpec,
    )
    from gymhall._tools import (
        tool as tool,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gymhall' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return [*globals(), *__all__]
