import ast
import subprocess
import sys
from pathlib import Path

import gymhall

STUB = Path(gymhall.__file__).with_suffix(".pyi")

# The public API as it stood before the package was split into subpackages (issue 9), plus the judge's
# names the bundled environments need: every one must keep importing from `gymhall`.
PUBLIC_NAMES = {
    "Agent", "AgentServer", "AsyncResourcesClient", "AsyncResourcesSession", "BaseMultiRewardVerifyResponse",
    "BaseResourcesServerConfig", "BaseRunRequest", "BaseSeedSessionRequest", "BaseSeedSessionResponse",
    "BaseServerConfig", "BaseVerifyRequest", "BaseVerifyResponse", "BodyTooLarge", "ChatCompletionsModel",
    "CheckResult", "ConfigError", "Curriculum", "DatasetError", "Domain", "EnvSpec", "Environment", "FakeModel",
    "GymApp", "Probe",
    "GymConfig", "GymhallError", "InvalidBody", "InvalidSessionHandle", "Judge", "JudgeError", "Model",
    "ModelError", "ModelRequest", "ModelServer", "OpenAIResponsesModel", "PortError", "RemoteAgent",
    "ReplayModel", "RequestError", "ResourcesClient", "ResourcesSession", "Response", "ResponseCreateParams",
    "SESSION_HEADER", "SESSION_ID_KEY", "Sandbox", "SandboxLimits", "SandboxResult", "ServerBusy", "ServerError",
    "ServerInstance", "ServerStartError", "ServerUnreachable", "Session", "SessionError", "SessionNotFound",
    "SessionRequired", "SimpleResourcesServer", "ToolError", "ToolSpec", "aggregate_metrics", "build_agent_app",
    "build_app", "build_model_app", "check_environment", "expand_rows", "get_env", "list_envs", "load_config",
    "model_from_spec", "pass_at_k", "read_rollouts", "read_rows", "resources_client", "rollout_metrics",
    "rollouts", "tool",
    "TokenProblem", "TokenTrajectory", "TrainingBatch", "TrainingSample", "pad_batch", "rollout_sample",
    "rollout_samples", "token_trajectory",
    "JUDGE_EQUAL", "JUDGE_EQUIVALENCE_PROMPT", "JUDGE_EQUIVALENCE_SYSTEM", "JUDGE_NOT_EQUAL", "JudgeSettings",
    "judge_equivalence", "judge_failed", "last_user_text",
}  # fmt: skip


def _stub_names() -> list[str]:
    names = []
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            assert node.level == 1, "the stub imports from gymhall's own modules only"
            names += [alias.asname or alias.name for alias in node.names]
    return names


def test_all_is_the_stub_each_name_once_and_every_name_resolves() -> None:
    names = _stub_names()
    assert len(names) == len(set(names)), "a name is listed twice"
    assert gymhall.__all__ == sorted(names)
    for name in gymhall.__all__:
        assert getattr(gymhall, name) is not None, name


def test_public_names_are_kept() -> None:
    assert set(gymhall.__all__) == PUBLIC_NAMES


def test_functions_are_not_shadowed_by_subpackages() -> None:
    # A subpackage named like a public function would replace it on `gymhall` once imported.
    code = "import gymhall.collection.pool, gymhall; import inspect; print(inspect.isfunction(gymhall.rollouts))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_seed_names_are_exported() -> None:
    seed_names = {
        "SimpleResourcesServer",
        "BaseResourcesServerConfig",
        "BaseVerifyRequest",
        "BaseVerifyResponse",
        "BaseSeedSessionRequest",
        "BaseSeedSessionResponse",
        "SESSION_ID_KEY",
    }
    assert seed_names <= set(gymhall.__all__)
    assert gymhall.SESSION_ID_KEY == "session_id"


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        gymhall.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_gymhall_loads_no_web_stack() -> None:
    heavy = "('fastapi', 'openai', 'uvicorn', 'httpx', 'ray')"
    code = f"import sys, gymhall; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_package_is_typed() -> None:
    assert (STUB.parent / "py.typed").is_file()
