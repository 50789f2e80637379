"""gymhall: build, serve and run reinforcement-learning environments for LLM agents.

Names are imported on first use, so `import gymhall` stays fast and a command that needs no web
server never loads one.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Agent": "gymhall.rollouts.agent",
    "AgentServer": "gymhall.stack.instances",
    "AsyncResourcesClient": "gymhall.client.resources",
    "AsyncResourcesSession": "gymhall.client.resources",
    "BaseMultiRewardVerifyResponse": "gymhall.wire.schemas",
    "BaseResourcesServerConfig": "gymhall.config.settings",
    "BaseRunRequest": "gymhall.wire.schemas",
    "BaseSeedSessionRequest": "gymhall.wire.schemas",
    "BaseSeedSessionResponse": "gymhall.wire.schemas",
    "BaseServerConfig": "gymhall.config.settings",
    "BaseVerifyRequest": "gymhall.wire.schemas",
    "BaseVerifyResponse": "gymhall.wire.schemas",
    "BodyTooLarge": "gymhall.exceptions",
    "ChatCompletionsModel": "gymhall.models.chat",
    "CheckResult": "gymhall.checks.conformance",
    "ConfigError": "gymhall.exceptions",
    "DatasetError": "gymhall.exceptions",
    "Domain": "gymhall.config.settings",
    "EnvSpec": "gymhall.config.registry",
    "Environment": "gymhall.server.environment",
    "FakeModel": "gymhall.models.fake",
    "GymApp": "gymhall.server.routing",
    "GymConfig": "gymhall.config.settings",
    "GymhallError": "gymhall.exceptions",
    "InvalidBody": "gymhall.exceptions",
    "InvalidSessionHandle": "gymhall.exceptions",
    "Judge": "gymhall.grading.judge",
    "JudgeError": "gymhall.exceptions",
    "Model": "gymhall.models.base",
    "ModelError": "gymhall.exceptions",
    "ModelRequest": "gymhall.models.base",
    "ModelServer": "gymhall.stack.instances",
    "OpenAIResponsesModel": "gymhall.models.responses",
    "PortError": "gymhall.exceptions",
    "RemoteAgent": "gymhall.rollouts.agent",
    "ReplayModel": "gymhall.models.replay",
    "RequestError": "gymhall.exceptions",
    "ResourcesClient": "gymhall.client.resources",
    "ResourcesSession": "gymhall.client.resources",
    "Response": "gymhall.wire.responses",
    "ResponseCreateParams": "gymhall.wire.responses",
    "SESSION_HEADER": "gymhall.wire.contract",
    "SESSION_ID_KEY": "gymhall.wire.contract",
    "Sandbox": "gymhall.grading.sandbox",
    "SandboxLimits": "gymhall.grading.sandbox",
    "SandboxResult": "gymhall.grading.sandbox",
    "ServerBusy": "gymhall.exceptions",
    "ServerError": "gymhall.exceptions",
    "ServerInstance": "gymhall.config.settings",
    "ServerStartError": "gymhall.exceptions",
    "Session": "gymhall.server.sessions",
    "SessionError": "gymhall.exceptions",
    "SessionNotFound": "gymhall.exceptions",
    "SessionRequired": "gymhall.exceptions",
    "SimpleResourcesServer": "gymhall.server.simple",
    "ToolError": "gymhall.exceptions",
    "ToolSpec": "gymhall.server.tools",
    "aggregate_metrics": "gymhall.rollouts.metrics",
    "build_agent_app": "gymhall.rollouts.agent_server",
    "build_app": "gymhall.server.environment",
    "build_model_app": "gymhall.models.server",
    "check_environment": "gymhall.checks.conformance",
    "expand_rows": "gymhall.rollouts.datasets",
    "get_env": "gymhall.config.registry",
    "list_envs": "gymhall.config.registry",
    "load_config": "gymhall.config.loading",
    "model_from_spec": "gymhall.models.registry",
    "pass_at_k": "gymhall.rollouts.metrics",
    "read_rollouts": "gymhall.rollouts.metrics",
    "read_rows": "gymhall.rollouts.datasets",
    "resources_client": "gymhall.rollouts.collection",
    "rollout_metrics": "gymhall.rollouts.metrics",
    "rollouts": "gymhall.rollouts.pool",
    "tool": "gymhall.server.tools",
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
    from gymhall.checks.conformance import (
        CheckResult as CheckResult,
    )
    from gymhall.checks.conformance import (
        check_environment as check_environment,
    )
    from gymhall.client.resources import (
        AsyncResourcesClient as AsyncResourcesClient,
    )
    from gymhall.client.resources import (
        AsyncResourcesSession as AsyncResourcesSession,
    )
    from gymhall.client.resources import (
        ResourcesClient as ResourcesClient,
    )
    from gymhall.client.resources import (
        ResourcesSession as ResourcesSession,
    )
    from gymhall.config.loading import (
        load_config as load_config,
    )
    from gymhall.config.registry import (
        EnvSpec as EnvSpec,
    )
    from gymhall.config.registry import (
        get_env as get_env,
    )
    from gymhall.config.registry import (
        list_envs as list_envs,
    )
    from gymhall.config.settings import (
        BaseResourcesServerConfig as BaseResourcesServerConfig,
    )
    from gymhall.config.settings import (
        BaseServerConfig as BaseServerConfig,
    )
    from gymhall.config.settings import (
        Domain as Domain,
    )
    from gymhall.config.settings import (
        GymConfig as GymConfig,
    )
    from gymhall.config.settings import (
        ServerInstance as ServerInstance,
    )
    from gymhall.exceptions import (
        BodyTooLarge as BodyTooLarge,
    )
    from gymhall.exceptions import (
        ConfigError as ConfigError,
    )
    from gymhall.exceptions import (
        DatasetError as DatasetError,
    )
    from gymhall.exceptions import (
        GymhallError as GymhallError,
    )
    from gymhall.exceptions import (
        InvalidBody as InvalidBody,
    )
    from gymhall.exceptions import (
        InvalidSessionHandle as InvalidSessionHandle,
    )
    from gymhall.exceptions import (
        JudgeError as JudgeError,
    )
    from gymhall.exceptions import (
        ModelError as ModelError,
    )
    from gymhall.exceptions import (
        PortError as PortError,
    )
    from gymhall.exceptions import (
        RequestError as RequestError,
    )
    from gymhall.exceptions import (
        ServerBusy as ServerBusy,
    )
    from gymhall.exceptions import (
        ServerError as ServerError,
    )
    from gymhall.exceptions import (
        ServerStartError as ServerStartError,
    )
    from gymhall.exceptions import (
        SessionError as SessionError,
    )
    from gymhall.exceptions import (
        SessionNotFound as SessionNotFound,
    )
    from gymhall.exceptions import (
        SessionRequired as SessionRequired,
    )
    from gymhall.exceptions import (
        ToolError as ToolError,
    )
    from gymhall.grading.judge import (
        Judge as Judge,
    )
    from gymhall.grading.sandbox import (
        Sandbox as Sandbox,
    )
    from gymhall.grading.sandbox import (
        SandboxLimits as SandboxLimits,
    )
    from gymhall.grading.sandbox import (
        SandboxResult as SandboxResult,
    )
    from gymhall.models.base import (
        Model as Model,
    )
    from gymhall.models.base import (
        ModelRequest as ModelRequest,
    )
    from gymhall.models.chat import (
        ChatCompletionsModel as ChatCompletionsModel,
    )
    from gymhall.models.fake import (
        FakeModel as FakeModel,
    )
    from gymhall.models.registry import (
        model_from_spec as model_from_spec,
    )
    from gymhall.models.replay import (
        ReplayModel as ReplayModel,
    )
    from gymhall.models.responses import (
        OpenAIResponsesModel as OpenAIResponsesModel,
    )
    from gymhall.models.server import (
        build_model_app as build_model_app,
    )
    from gymhall.rollouts.agent import (
        Agent as Agent,
    )
    from gymhall.rollouts.agent import (
        RemoteAgent as RemoteAgent,
    )
    from gymhall.rollouts.agent_server import (
        build_agent_app as build_agent_app,
    )
    from gymhall.rollouts.collection import (
        resources_client as resources_client,
    )
    from gymhall.rollouts.datasets import (
        expand_rows as expand_rows,
    )
    from gymhall.rollouts.datasets import (
        read_rows as read_rows,
    )
    from gymhall.rollouts.metrics import (
        aggregate_metrics as aggregate_metrics,
    )
    from gymhall.rollouts.metrics import (
        pass_at_k as pass_at_k,
    )
    from gymhall.rollouts.metrics import (
        read_rollouts as read_rollouts,
    )
    from gymhall.rollouts.metrics import (
        rollout_metrics as rollout_metrics,
    )
    from gymhall.rollouts.pool import (
        rollouts as rollouts,
    )
    from gymhall.server.environment import (
        Environment as Environment,
    )
    from gymhall.server.environment import (
        build_app as build_app,
    )
    from gymhall.server.routing import (
        GymApp as GymApp,
    )
    from gymhall.server.sessions import (
        Session as Session,
    )
    from gymhall.server.simple import (
        SimpleResourcesServer as SimpleResourcesServer,
    )
    from gymhall.server.tools import (
        ToolSpec as ToolSpec,
    )
    from gymhall.server.tools import (
        tool as tool,
    )
    from gymhall.stack.instances import (
        AgentServer as AgentServer,
    )
    from gymhall.stack.instances import (
        ModelServer as ModelServer,
    )
    from gymhall.wire.contract import (
        SESSION_HEADER as SESSION_HEADER,
    )
    from gymhall.wire.contract import (
        SESSION_ID_KEY as SESSION_ID_KEY,
    )
    from gymhall.wire.responses import (
        Response as Response,
    )
    from gymhall.wire.responses import (
        ResponseCreateParams as ResponseCreateParams,
    )
    from gymhall.wire.schemas import (
        BaseMultiRewardVerifyResponse as BaseMultiRewardVerifyResponse,
    )
    from gymhall.wire.schemas import (
        BaseRunRequest as BaseRunRequest,
    )
    from gymhall.wire.schemas import (
        BaseSeedSessionRequest as BaseSeedSessionRequest,
    )
    from gymhall.wire.schemas import (
        BaseSeedSessionResponse as BaseSeedSessionResponse,
    )
    from gymhall.wire.schemas import (
        BaseVerifyRequest as BaseVerifyRequest,
    )
    from gymhall.wire.schemas import (
        BaseVerifyResponse as BaseVerifyResponse,
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
