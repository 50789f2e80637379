"""Type stub of the public API: each name once. At run time `gymhall/__init__.py` reads this file and
imports each name on first use (lazy_loader), so `import gymhall` loads no web stack."""

__version__: str

from .checks.conformance import CheckResult as CheckResult
from .checks.conformance import check_environment as check_environment
from .checks.probe import Probe as Probe
from .client.resources import (
    AsyncResourcesClient as AsyncResourcesClient,
)
from .client.resources import (
    AsyncResourcesSession as AsyncResourcesSession,
)
from .client.resources import (
    ResourcesClient as ResourcesClient,
)
from .client.resources import (
    ResourcesSession as ResourcesSession,
)
from .collection.agent import Agent as Agent
from .collection.agent import RemoteAgent as RemoteAgent
from .collection.agent_server import build_agent_app as build_agent_app
from .collection.curriculum import Curriculum as Curriculum
from .collection.datasets import expand_rows as expand_rows
from .collection.datasets import read_rows as read_rows
from .collection.metrics import (
    pass_at_k as pass_at_k,
)
from .collection.metrics import (
    read_rollouts as read_rollouts,
)
from .collection.metrics import (
    rollout_metrics as rollout_metrics,
)
from .collection.pool import rollouts as rollouts
from .collection.runs import resources_client as resources_client
from .config.loading import load_config as load_config
from .config.registry import EnvSpec as EnvSpec
from .config.registry import get_env as get_env
from .config.registry import list_envs as list_envs
from .config.settings import (
    BaseResourcesServerConfig as BaseResourcesServerConfig,
)
from .config.settings import (
    BaseServerConfig as BaseServerConfig,
)
from .config.settings import (
    Domain as Domain,
)
from .config.settings import (
    GymConfig as GymConfig,
)
from .config.settings import (
    ServerInstance as ServerInstance,
)
from .exceptions import (
    BodyTooLarge as BodyTooLarge,
)
from .exceptions import (
    ConfigError as ConfigError,
)
from .exceptions import (
    DatasetError as DatasetError,
)
from .exceptions import (
    GymhallError as GymhallError,
)
from .exceptions import (
    InvalidBody as InvalidBody,
)
from .exceptions import (
    InvalidSessionHandle as InvalidSessionHandle,
)
from .exceptions import (
    JudgeError as JudgeError,
)
from .exceptions import (
    ModelError as ModelError,
)
from .exceptions import (
    PortError as PortError,
)
from .exceptions import (
    RequestError as RequestError,
)
from .exceptions import (
    ServerBusy as ServerBusy,
)
from .exceptions import (
    ServerError as ServerError,
)
from .exceptions import (
    ServerStartError as ServerStartError,
)
from .exceptions import ServerUnreachable as ServerUnreachable
from .exceptions import (
    SessionError as SessionError,
)
from .exceptions import (
    SessionNotFound as SessionNotFound,
)
from .exceptions import (
    SessionRequired as SessionRequired,
)
from .exceptions import (
    ToolError as ToolError,
)
from .grading.judge import (
    JUDGE_EQUAL as JUDGE_EQUAL,
)
from .grading.judge import (
    JUDGE_EQUIVALENCE_PROMPT as JUDGE_EQUIVALENCE_PROMPT,
)
from .grading.judge import (
    JUDGE_EQUIVALENCE_SYSTEM as JUDGE_EQUIVALENCE_SYSTEM,
)
from .grading.judge import (
    JUDGE_NOT_EQUAL as JUDGE_NOT_EQUAL,
)
from .grading.judge import (
    Judge as Judge,
)
from .grading.judge import (
    JudgeSettings as JudgeSettings,
)
from .grading.judge import (
    judge_equivalence as judge_equivalence,
)
from .grading.judge import (
    judge_failed as judge_failed,
)
from .grading.judge import (
    last_user_text as last_user_text,
)
from .grading.sandbox import Sandbox as Sandbox
from .grading.sandbox import SandboxLimits as SandboxLimits
from .grading.sandbox import SandboxResult as SandboxResult
from .models.base import Model as Model
from .models.base import ModelRequest as ModelRequest
from .models.chat_completions import ChatCompletionsModel as ChatCompletionsModel
from .models.fake import FakeModel as FakeModel
from .models.openai_responses import OpenAIResponsesModel as OpenAIResponsesModel
from .models.replay import ReplayModel as ReplayModel
from .models.server import build_model_app as build_model_app
from .models.spec_strings import model_from_spec as model_from_spec
from .server.app import GymApp as GymApp
from .server.environment import Environment as Environment
from .server.environment import build_app as build_app
from .server.sessions import Session as Session
from .server.simple import SimpleResourcesServer as SimpleResourcesServer
from .server.tools import ToolSpec as ToolSpec
from .server.tools import tool as tool
from .stack.instances import AgentServer as AgentServer
from .stack.instances import ModelServer as ModelServer
from .training.batches import TrainingBatch as TrainingBatch
from .training.batches import pad_batch as pad_batch
from .training.samples import TrainingSample as TrainingSample
from .training.samples import rollout_sample as rollout_sample
from .training.samples import rollout_samples as rollout_samples
from .training.trajectories import TokenProblem as TokenProblem
from .training.trajectories import TokenTrajectory as TokenTrajectory
from .training.trajectories import token_trajectory as token_trajectory
from .wire.aggregation import aggregate_metrics as aggregate_metrics
from .wire.contract import SESSION_HEADER as SESSION_HEADER
from .wire.contract import SESSION_ID_KEY as SESSION_ID_KEY
from .wire.responses import Response as Response
from .wire.responses import ResponseCreateParams as ResponseCreateParams
from .wire.schemas import (
    BaseMultiRewardVerifyResponse as BaseMultiRewardVerifyResponse,
)
from .wire.schemas import (
    BaseRunRequest as BaseRunRequest,
)
from .wire.schemas import (
    BaseSeedSessionRequest as BaseSeedSessionRequest,
)
from .wire.schemas import (
    BaseSeedSessionResponse as BaseSeedSessionResponse,
)
from .wire.schemas import (
    BaseVerifyRequest as BaseVerifyRequest,
)
from .wire.schemas import (
    BaseVerifyResponse as BaseVerifyResponse,
)
