"""The agent loop, in-process: tool calls, feedback the model can read, stop conditions, typed failures."""

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from openai.types.responses import Response as SDKResponse
from pydantic import BaseModel

from gymhall import AsyncResourcesClient, BaseSeedSessionRequest, BaseVerifyRequest, Environment, build_app, tool
from gymhall.collection.agent import Agent
from gymhall.collection.datasets import read_rows
from gymhall.config.loading import load_config
from gymhall.config.registry import get_env, list_envs
from gymhall.exceptions import ModelError, ServerBusy, ToolError
from gymhall.models.base import Model, ModelRequest
from gymhall.models.replay import ReplayModel
from gymhall.server.entrypoints import build_server_app
from gymhall.testing import OFFLINE_OVERRIDES
from gymhall.wire.responses import Response


class Row(BaseSeedSessionRequest):
    start: int = 0


class Tally:
    def __init__(self, value: int) -> None:
        self.value = value


class TallyEnv(Environment):
    def __init__(self, *, verify_mode: str = "normal", tool_delay: float = 0.0) -> None:
        super().__init__()
        self.verify_mode = verify_mode
        self.tool_delay = tool_delay

    async def seed_session(self, row: Row) -> Tally:
        if row.start < 0:
            raise ValueError("start must not be negative")
        return Tally(row.start)

    @tool
    async def add(self, state: Tally, by: int) -> dict[str, int]:
        """Add `by` to the tally."""
        await asyncio.sleep(self.tool_delay)
        state.value += by
        return {"value": state.value}

    async def verify(self, state: Tally, body: BaseVerifyRequest) -> Any:
        if self.verify_mode == "crash":
            raise RuntimeError("verifier bug")
        if self.verify_mode == "judge":
            return {"reward": 0.0, "_ng_failure_class": "judge_failed", "_ng_failure_judge_error": "judge timed out"}
        if self.verify_mode == "masked":  # NeMo Gym 0.7: completed, but the reward is not a valid measurement
            return {"reward": 0.0, "mask_sample": True, "failure_kind": "tally:lost_state", "failure_reason": "gone"}
        return {"reward": float(body.response.output_text == str(state.value)), "tally": state.value}


def call(name: str, arguments: str, call_id: str) -> dict[str, Any]:
    return {"type": "function_call", "name": name, "arguments": arguments, "call_id": call_id, "id": f"fc_{call_id}"}


def message(text: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}]
    return {"type": "message", "id": "msg", "role": "assistant", "status": "completed", "content": content}


def reasoning() -> dict[str, Any]:
    return {"type": "reasoning", "id": "rs", "summary": [{"type": "summary_text", "text": "hmm"}]}


class PolicyModel(Model):
    """A model answering with `policy(turn, request)` items; records the requests it saw."""

    def __init__(self, policy: Callable[[int, ModelRequest], list[dict[str, Any]]], **response: Any) -> None:
        self.policy = policy
        self.response = response
        self.requests: list[ModelRequest] = []

    async def respond(self, request: ModelRequest) -> Response:
        self.requests.append(request)
        turn = sum(1 for item in request.params["input"] if item.get("type") == "function_call_output")
        output = self.policy(turn, request)
        body = {"id": "r", "object": "response", "created_at": 0, "model": "policy", "output": output}
        body.update(parallel_tool_calls=True, tool_choice="auto", tools=[], **self.response)
        body["usage"] = {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12}
        return Response.model_validate(body)


ROW = {"responses_create_params": {"input": "add things"}, "start": 1, "_ng_task_index": 3, "_ng_rollout_index": 1}


def agent_for(env: TallyEnv, model: Model, **kwargs: Any) -> tuple[Agent, Any]:
    app = build_app(env)
    return Agent(AsyncResourcesClient.for_app(app), model, **kwargs), app


async def test_two_calls_in_one_turn_run_and_come_back_in_order() -> None:
    def policy(turn: int, request: ModelRequest) -> list[dict[str, Any]]:
        if turn == 0:
            return [call("add", '{"by": 2}', "a"), call("add", '{"by": 3}', "b")]
        return [message("6")]

    agent, app = agent_for(TallyEnv(), PolicyModel(policy))
    line = await agent.run(ROW)
    assert line["status"] == "ok" and line["reward"] == 1.0 and line["tally"] == 6
    outputs = [item for item in line["response"]["output"] if item["type"] == "function_call_output"]
    assert [o["call_id"] for o in outputs] == ["a", "b"]
    assert line["_ng_task_index"] == 3 and line["_ng_rollout_index"] == 1
    assert line["steps"] == 2 and line["stop_reason"] == "final_message"
    assert line["response"]["usage"]["total_tokens"] == 24  # summed over both model calls
    assert len(app.store) == 0  # the session was closed


async def test_malformed_arguments_and_unknown_tools_become_readable_outputs() -> None:
    seen: list[str] = []

    def policy(turn: int, request: ModelRequest) -> list[dict[str, Any]]:
        if turn == 0:
            return [call("add", '{"by": 2', "a"), call("subtract", "{}", "b"), call("add", '{"by": "x"}', "c")]
        seen.extend(item["output"] for item in request.params["input"] if item.get("type") == "function_call_output")
        return [message("1")]

    agent, _ = agent_for(TallyEnv(), PolicyModel(policy))
    line = await agent.run(ROW)
    assert line["status"] == "ok" and line["reward"] == 1.0
    assert '"invalid_arguments"' in seen[0] and "not valid JSON" in seen[0]
    assert '"unknown_tool"' in seen[1] and "add" in seen[1]
    assert "validation_error" in seen[2]  # the server's 422 text, fed back to the model


async def test_tools_come_from_the_server_when_the_row_declares_none() -> None:
    model = PolicyModel(lambda turn, request: [message("1")])
    agent, _ = agent_for(TallyEnv(), model)
    await agent.run(ROW)
    tools = model.requests[0].params["tools"]
    assert [t["name"] for t in tools] == ["add"] and tools[0]["strict"] is True


async def test_max_steps_ends_the_episode_and_still_verifies() -> None:
    model = PolicyModel(lambda turn, request: [call("add", '{"by": 1}', f"c{turn}")])
    agent, _ = agent_for(TallyEnv(), model, max_steps=3)
    line = await agent.run(ROW)
    assert line["status"] == "ok" and line["reward"] == 0.0 and line["tally"] == 4
    assert line["steps"] == 3 and line["stop_reason"] == "max_steps"


async def test_reasoning_only_answers_are_bounded_by_max_steps() -> None:
    model = PolicyModel(lambda turn, request: [reasoning()])
    agent, _ = agent_for(TallyEnv(), model, max_steps=4)
    line = await agent.run(ROW)
    assert len(model.requests) == 4 and line["stop_reason"] == "max_steps"


async def test_incomplete_response_stops_the_loop() -> None:
    model = PolicyModel(
        lambda turn, request: [call("add", '{"by": 1}', "a")], incomplete_details={"reason": "max_output_tokens"}
    )
    agent, _ = agent_for(TallyEnv(), model)
    line = await agent.run(ROW)
    assert len(model.requests) == 1 and line["stop_reason"] == "incomplete" and line["status"] == "ok"


class FailingModel(Model):
    def __init__(self, retryable: bool) -> None:
        self.retryable = retryable

    async def respond(self, request: ModelRequest) -> Response:
        raise ModelError("backend http://127.0.0.1:1/v1 answered 503", retryable=self.retryable)


class SlowModel(Model):
    async def respond(self, request: ModelRequest) -> Response:
        await asyncio.sleep(30)
        raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("env", "model", "stage", "retryable"),
    [
        (TallyEnv(), FailingModel(True), "model", True),
        (TallyEnv(), FailingModel(False), "model", False),
        (TallyEnv(verify_mode="crash"), ReplayModel(), "verify", False),
        (TallyEnv(verify_mode="judge"), ReplayModel(), "judge", True),
    ],
)
async def test_failures_are_typed_and_never_scored(env: TallyEnv, model: Model, stage: str, retryable: bool) -> None:
    agent, app = agent_for(env, model)
    line = await agent.run({**ROW, "reference_solution": {"tool_calls": [], "answer": "1"}})
    assert line["status"] == "failed" and "reward" not in line
    assert line["failure"]["stage"] == stage and line["failure"]["retryable"] is retryable
    assert line["failure"]["error"]
    assert len(app.store) == 0


async def test_seed_failure_is_typed() -> None:
    agent, app = agent_for(TallyEnv(), ReplayModel())
    line = await agent.run({**ROW, "start": -1})
    assert line["status"] == "failed" and line["failure"]["stage"] == "seed"
    assert "start must not be negative" in line["failure"]["error"]
    bad = await agent.run({**ROW, "start": "many"})
    assert bad["failure"]["stage"] == "seed" and bad["failure"]["retryable"] is False  # a 422
    assert len(app.store) == 0


async def test_one_deadline_bounds_the_model_call() -> None:
    agent, _ = agent_for(TallyEnv(), SlowModel(), timeout_s=0.2)
    started = asyncio.get_running_loop().time()
    line = await agent.run(ROW)
    assert asyncio.get_running_loop().time() - started < 2
    assert line["failure"]["stage"] == "model" and line["failure"]["retryable"] is True
    assert "deadline" in line["failure"]["error"]


async def test_one_deadline_bounds_the_tool_calls() -> None:
    model = PolicyModel(lambda turn, request: [call("add", '{"by": 1}', "a")])
    agent, app = agent_for(TallyEnv(tool_delay=5), model, timeout_s=0.3)
    line = await agent.run(ROW)
    assert line["failure"]["stage"] == "tool" and "deadline" in line["failure"]["error"]


async def test_model_request_carries_the_rollout_context() -> None:
    model = PolicyModel(lambda turn, request: [message("1")])
    agent, _ = agent_for(TallyEnv(), model, timeout_s=50)
    await agent.run(ROW)
    request = model.requests[0]
    assert request.row["_ng_task_index"] == 3
    assert request.deadline is not None and request.session_key
    assert request.params["input"] == [{"type": "message", "role": "user", "content": "add things"}]


async def test_replay_model_plays_the_reference_solution() -> None:
    solution = {"tool_calls": [{"name": "add", "arguments": {"by": 2}}, [{"name": "add", "arguments": {"by": 3}}]]}
    agent, _ = agent_for(TallyEnv(), ReplayModel())
    line = await agent.run({**ROW, "reference_solution": {**solution, "answer": "6"}})
    assert line["reward"] == 1.0 and line["steps"] == 3


async def test_replay_without_a_solution_is_a_model_failure() -> None:
    agent, _ = agent_for(TallyEnv(), ReplayModel())
    line = await agent.run(ROW)
    assert line["failure"]["stage"] == "model" and "reference_solution" in line["failure"]["error"]


def test_max_steps_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Agent(AsyncResourcesClient("http://127.0.0.1:1"), ReplayModel(), max_steps=0)


async def test_a_refused_resources_server_is_a_retryable_seed_failure() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with AsyncResourcesClient(f"http://127.0.0.1:{port}", timeout=2) as client:
        line = await Agent(client, ReplayModel()).run({"responses_create_params": {"input": "hi"}})
    assert line["status"] == "failed"
    failure = line["failure"]
    assert failure["stage"] == "seed" and failure["retryable"] is True
    assert f"Cannot reach the resources server at http://127.0.0.1:{port}" in failure["error"]


class VerifyRecorder:
    """The resources server's ASGI app, keeping each `/verify` body it receives: what a NeMo Gym server would get."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bodies: list[dict[str, Any]] = []
        self.shutdown = app.shutdown  # the client that owns it runs the server's shutdown hooks

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/verify":
            return await self.app(scope, receive, send)
        chunks: list[bytes] = []

        async def recording_receive() -> Any:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.bodies.append(orjson.loads(b"".join(chunks)))
            return message

        await self.app(scope, recording_receive, send)


def assert_sdk_response(body: dict[str, Any]) -> None:
    """`body` is an OpenAI SDK `Response`, strictly: validated by the SDK, and no required nested field left out."""
    response = SDKResponse.model_validate(body)
    assert all(isinstance(item, BaseModel) for item in response.output)  # each item is a typed SDK item
    if body.get("usage") is not None:
        assert response.usage is not None
        usage = body["usage"]
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            assert isinstance(usage[key], int), key
        assert isinstance(usage["input_tokens_details"]["cached_tokens"], int)
        assert isinstance(usage["output_tokens_details"]["reasoning_tokens"], int)


@pytest.mark.parametrize("env_id", [spec.id for spec in list_envs()])
async def test_the_response_sent_to_verify_is_an_openai_sdk_response_for_every_bundled_env(env_id: str) -> None:
    spec = get_env(env_id)
    config = load_config([str(spec.config)], OFFLINE_OVERRIDES.get(env_id, []))
    recorder = VerifyRecorder(build_server_app(config.resources_server()))
    client = AsyncResourcesClient.for_app(recorder, owns_app=True, timeout=None)
    rows = read_rows(spec.dataset)[:2]
    async with client, ReplayModel() as model:
        lines = [await Agent(client, model).run(row) for row in rows]
    assert [line["status"] for line in lines] == ["ok", "ok"], lines
    assert len(recorder.bodies) == len(rows)
    for body in recorder.bodies:
        assert_sdk_response(body["response"])


async def test_the_summed_usage_sent_to_verify_has_every_detail_the_sdk_requires() -> None:
    # vLLM and older servers answer usage without details; NeMo Gym's typed /verify refuses such a usage (422).
    def policy(turn: int, request: ModelRequest) -> list[dict[str, Any]]:
        return [call("add", '{"by": 1}', f"c{turn}")] if turn < 2 else [message("3")]

    env = TallyEnv()
    recorder = VerifyRecorder(build_app(env))
    async with AsyncResourcesClient.for_app(recorder) as client:
        line = await Agent(client, PolicyModel(policy)).run(ROW)
    assert line["status"] == "ok", line
    response = recorder.bodies[0]["response"]
    assert_sdk_response(response)
    assert response["usage"]["input_tokens"] == 30 and response["usage"]["total_tokens"] == 36
    assert response["usage"]["input_tokens_details"]["cached_tokens"] == 0


async def test_a_masked_verify_answer_is_a_failed_line_with_its_kind() -> None:
    agent, _ = agent_for(TallyEnv(verify_mode="masked"), ReplayModel())
    line = await agent.run({**ROW, "reference_solution": {"tool_calls": [], "answer": "1"}})
    assert line["status"] == "failed" and "reward" not in line
    assert line["failure"] == {
        "stage": "verify",
        "error": "gone",
        "retryable": False,
        "attempts": 1,
        "kind": "tally:lost_state",
    }
    assert (line["mask_sample"], line["failure_kind"], line["failure_reason"]) == (True, "tally:lost_state", "gone")


async def test_outcome_fields_echoed_from_a_row_that_was_a_failed_line_are_not_a_verdict() -> None:
    # A failed line fed back as input (to retry it) carries mask_sample: true; /verify echoes it.
    agent, _ = agent_for(TallyEnv(), ReplayModel())
    retried = {**ROW, "mask_sample": True, "failure_kind": "gymhall:model_failed", "failure_reason": "401"}
    line = await agent.run({**retried, "reference_solution": {"tool_calls": [], "answer": "1"}})
    assert line["status"] == "ok" and line["reward"] == 1.0
    assert (line["mask_sample"], line["failure_kind"], line["failure_reason"]) == (False, None, None)


async def test_remote_agent_reads_nemo_gym_07_and_04_failures() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from gymhall.collection.agent import RemoteAgent
    from gymhall.testing import serve_in_thread

    answers = {
        0: {"reward": 1.0, "mask_sample": False, "failure_kind": None, "failure_reason": None},
        1: {"reward": 0.0, "mask_sample": True, "failure_kind": "verifier_error", "failure_reason": "db gone"},
        2: {"reward": 0.0, "_ng_failure_class": "judge_failed", "_ng_failure_judge_error": "judge 503"},
    }

    async def run(request: Request) -> JSONResponse:  # a NeMo Gym agent's /run: the row echoed plus the verdict
        row = await request.json()
        return JSONResponse({**row, **answers[row["_ng_task_index"]]})

    with serve_in_thread(Starlette(routes=[Route("/run", run, methods=["POST"])])) as url:
        remote = RemoteAgent(url)
        lines = [await remote.run({**ROW, "_ng_task_index": index}) for index in answers]
        await remote.aclose()
    assert [line["status"] for line in lines] == ["ok", "failed", "failed"]
    assert lines[0]["mask_sample"] is False and lines[0]["reward"] == 1.0
    assert lines[1]["failure"]["stage"] == "verify" and lines[1]["failure_kind"] == "verifier_error"
    assert lines[2]["failure"]["stage"] == "judge" and lines[2]["failure"]["retryable"] is True


class DropsTheNthRequest:
    """An ASGI app in front of `app` that drops the connection mid-answer on its `n`th HTTP request.

    Served by uvicorn on loopback: the client reads a started answer that never ends (a crashed worker, a
    proxy cut), a transport error, not a status.
    """

    def __init__(self, app: Any, n: int) -> None:
        self.app, self.n = app, n
        self.paths: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) == ("GET", "/"):  # the readiness probe
            await self.app(scope, receive, send)
            return
        self.paths.append(f"{scope['method']} {scope['path']}")
        if len(self.paths) != self.n:
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
        await send({"type": "http.response.body", "body": b'{"partial', "more_body": True})
        raise ConnectionAbortedError("dropped on purpose")  # uvicorn closes the connection mid-answer


SOLVED = {"tool_calls": [{"name": "add", "arguments": {"by": 2}}], "answer": "3"}
RESOURCE_REQUESTS = ["POST /seed_session", "GET /tools", "POST /add", "POST /verify", "POST /close_session"]


@pytest.mark.parametrize(
    ("n", "stage"), [(1, "seed"), (2, "seed"), (3, "tool"), (4, "verify"), (5, None)], ids=RESOURCE_REQUESTS
)
async def test_a_dropped_connection_at_each_resources_stage_is_a_typed_retryable_failure(n: int, stage: str) -> None:
    from gymhall.testing import serve_in_thread

    front = DropsTheNthRequest(build_app(TallyEnv()), n)
    with serve_in_thread(front) as url:
        async with AsyncResourcesClient(url, timeout=10) as client:
            line = await Agent(client, ReplayModel()).run({**ROW, "reference_solution": SOLVED})
    assert front.paths[n - 1] == RESOURCE_REQUESTS[n - 1]
    if stage is None:  # closing is best effort: the lease reaper frees the session, the reward stands
        assert line["status"] == "ok" and line["reward"] == 1.0
        return
    assert line["status"] == "failed" and "reward" not in line
    assert line["failure"]["stage"] == stage and line["failure"]["retryable"] is True
    assert line["failure"]["error"]


async def test_a_dropped_connection_to_the_model_is_a_typed_retryable_model_failure() -> None:
    from gymhall.models.fake_openai import FakeOpenAI
    from gymhall.models.openai_responses import OpenAIResponsesModel
    from gymhall.testing import serve_in_thread

    front = DropsTheNthRequest(FakeOpenAI(), 1)
    with serve_in_thread(front) as model_url:
        model = OpenAIResponsesModel("fake", base_url=f"{model_url}/v1", api_key="k", max_retries=0, timeout_s=10)
        agent, _ = agent_for(TallyEnv(), model)
        line = await agent.run(ROW)
    assert line["status"] == "failed" and "reward" not in line
    assert line["failure"]["stage"] == "model" and line["failure"]["retryable"] is True


class CrashingTool(TallyEnv):
    @tool
    async def add(self, state: Tally, by: int) -> dict[str, int]:
        """Add `by` to the tally."""
        raise RuntimeError("the tally's store is gone")


async def test_a_tool_answering_5xx_fails_the_rollout_at_tool_and_is_never_scored() -> None:
    agent, app = agent_for(CrashingTool(), ReplayModel())
    line = await agent.run({**ROW, "reference_solution": SOLVED})
    assert line["status"] == "failed" and "reward" not in line
    failure = line["failure"]
    assert failure["stage"] == "tool" and failure["retryable"] is False  # gymhall's internal_error fails again
    assert "POST /add failed with status 500" in failure["error"] and "the tally's store is gone" in failure["error"]
    assert len(app.store) == 0


class RefusingTool(TallyEnv):
    @tool
    async def add(self, state: Tally, by: int) -> dict[str, int]:
        """Add `by` to the tally."""
        raise ToolError("by must be below 2")


async def test_a_tool_refusing_with_4xx_is_text_for_the_model() -> None:
    agent, _ = agent_for(RefusingTool(), ReplayModel())
    line = await agent.run({**ROW, "reference_solution": {**SOLVED, "answer": "1"}})
    assert line["status"] == "ok" and line["reward"] == 1.0
    outputs = [item["output"] for item in line["response"]["output"] if item["type"] == "function_call_output"]
    assert len(outputs) == 1 and "by must be below 2" in outputs[0]


class RewardlessVerify(TallyEnv):
    async def verify(self, state: Tally, body: BaseVerifyRequest) -> Any:
        return {"tally": state.value}  # a verifier that forgot its reward


async def test_a_gymhall_verify_without_a_reward_is_a_500_and_a_failed_line_at_verify() -> None:
    agent, app = agent_for(RewardlessVerify(), ReplayModel())
    line = await agent.run({**ROW, "reference_solution": SOLVED})
    assert line["status"] == "failed" and "reward" not in line
    assert line["failure"]["stage"] == "verify" and line["failure"]["retryable"] is False
    assert "POST /verify failed with status 500" in line["failure"]["error"]
    assert "a mapping with a 'reward' key" in line["failure"]["error"]
    assert len(app.store) == 0  # the session is still closed


class RewritesVerify:
    """An ASGI app in front of `app` whose /verify answers `rewrite(request body, answer)`: a resources
    server gymhall did not build (NeMo Gym's echo the request), or one with a verifier bug."""

    def __init__(self, app: Any, rewrite: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]) -> None:
        self.app, self.rewrite = app, rewrite

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http" or scope["path"] != "/verify":
            await self.app(scope, receive, send)
            return
        request, started, body = bytearray(), {}, bytearray()

        async def read() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            request.extend(message.get("body", b""))
            return message

        async def rewrite(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert started["status"] == 200
            content = orjson.dumps(self.rewrite(orjson.loads(bytes(request)), orjson.loads(bytes(body))))
            headers = [(k, v) for k, v in started["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(content)).encode()))
            await send({**started, "headers": headers})
            await send({"type": "http.response.body", "body": content})

        await self.app(scope, read, rewrite)


def without_reward(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    assert answer.pop("reward") == 1.0
    return answer


async def test_a_verify_answer_without_a_reward_is_a_failed_line_at_verify_and_never_scored() -> None:
    app = build_app(TallyEnv())
    agent = Agent(AsyncResourcesClient.for_app(RewritesVerify(app, without_reward)), ReplayModel())
    line = await agent.run({**ROW, "reference_solution": SOLVED})
    assert line["status"] == "failed" and "reward" not in line
    assert line["failure"]["stage"] == "verify" and line["failure"]["retryable"] is False
    assert line["failure"]["error"] == "POST /verify answered without a 'reward'."
    assert len(app.store) == 0  # the session is still closed


async def test_outcome_fields_a_nemo_gym_verify_echoes_from_a_retried_failed_line_are_not_a_verdict() -> None:
    # NeMo Gym's verify answers its request plus the reward, so a retried failed line's mask_sample comes back.
    app = build_app(TallyEnv())
    echoing = RewritesVerify(app, lambda request, answer: {**request, "reward": answer["reward"]})
    agent = Agent(AsyncResourcesClient.for_app(echoing), ReplayModel())
    retried = {**ROW, "mask_sample": True, "failure_kind": "gymhall:model_failed", "failure_reason": "401"}
    line = await agent.run({**retried, "reference_solution": SOLVED})
    assert line["status"] == "ok" and line["reward"] == 1.0
    assert (line["mask_sample"], line["failure_kind"], line["failure_reason"]) == (False, None, None)


class BuggyModel(Model):
    async def respond(self, request: ModelRequest) -> Response:
        raise KeyError("an adapter's bug")


async def test_an_unexpected_exception_is_a_failed_line_at_agent_not_retryable_and_the_session_closed() -> None:
    agent, app = agent_for(TallyEnv(), BuggyModel())
    line = await agent.run(ROW)
    assert line["status"] == "failed" and "reward" not in line
    assert line["failure"]["stage"] == "agent" and line["failure"]["retryable"] is False
    assert line["failure"]["error"] == 'KeyError: "an adapter\'s bug"'
    assert len(app.store) == 0


class OverloadedVerify(TallyEnv):
    async def verify(self, state: Tally, body: BaseVerifyRequest) -> Any:
        raise ServerBusy("the grader's queue is full; retry later")


class OverloadedTool(TallyEnv):
    @tool
    async def add(self, state: Tally, by: int) -> dict[str, int]:
        """Add `by` to the tally."""
        raise ServerBusy("the tally's store is busy; retry later")


@pytest.mark.parametrize(("env", "stage"), [(OverloadedTool(), "tool"), (OverloadedVerify(), "verify")])
async def test_a_503_at_tool_or_verify_is_a_retryable_failed_line(env: TallyEnv, stage: str) -> None:
    agent, app = agent_for(env, ReplayModel())
    line = await agent.run({**ROW, "reference_solution": SOLVED})
    assert line["status"] == "failed" and "reward" not in line
    assert line["failure"]["stage"] == stage and line["failure"]["retryable"] is True
    assert "status 503" in line["failure"]["error"] and "retry later" in line["failure"]["error"]
    assert len(app.store) == 0


# Promises found by the mutation run (bench/README.md, "Mutation testing").


class SlowVerify(TallyEnv):
    async def verify(self, state: Tally, body: BaseVerifyRequest) -> Any:
        await asyncio.sleep(5)
        raise AssertionError("unreachable")


async def test_the_deadline_passing_during_verify_names_verify_and_is_retryable() -> None:
    agent, app = agent_for(SlowVerify(), ReplayModel(), timeout_s=0.3)
    line = await agent.run({**ROW, "reference_solution": SOLVED})
    assert line["status"] == "failed" and "reward" not in line
    assert line["failure"]["stage"] == "verify" and line["failure"]["retryable"] is True
    assert line["failure"]["error"] == "the rollout's deadline of 0.3 s passed during verify"
    assert len(app.store) == 0


async def test_only_function_tools_with_a_name_are_callable_tools() -> None:
    # A row may declare built-in tools (web search, ...) beside its functions: a call to one is the model's
    # mistake, answered as an unknown tool, never sent to the resources server.
    seen: list[str] = []

    def policy(turn: int, request: ModelRequest) -> list[dict[str, Any]]:
        if turn == 0:
            return [call("lookup", "{}", "a"), call("add", '{"by": 2}', "b")]
        seen.extend(item["output"] for item in request.params["input"] if item.get("type") == "function_call_output")
        return [message("3")]

    function = {"type": "function", "name": "add", "parameters": {"type": "object", "properties": {}}}
    tools = [{"type": "web_search_preview"}, {"type": "custom", "name": "lookup"}, function]
    agent, _ = agent_for(TallyEnv(), PolicyModel(policy))
    line = await agent.run({**ROW, "responses_create_params": {"input": "add things", "tools": tools}})
    assert line["status"] == "ok" and line["reward"] == 1.0
    assert '"unknown_tool"' in seen[0] and "lookup" in seen[0]
    assert seen[1] == '{"value":3}'
