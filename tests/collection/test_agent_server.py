"""The agent server: NeMo Gym's /run and /v1/responses, in-process and over loopback HTTP."""

from typing import Any

import httpx
import pytest

from gymhall import AsyncResourcesClient
from gymhall.bench.counters import short_style_app
from gymhall.collection.agent import Agent, RemoteAgent
from gymhall.collection.agent_server import build_agent_app
from gymhall.models.fake import FakeModel
from gymhall.models.replay import ReplayModel
from gymhall.testing import counter_policy, serve_in_thread

ROW = {"responses_create_params": {"input": "count"}, "initial_count": 2, "_ng_task_index": 5, "_ng_rollout_index": 0}


def agent_app(model: Any = None) -> Any:
    resources = AsyncResourcesClient.for_app(short_style_app())
    return build_agent_app(Agent(resources, model or FakeModel(counter_policy())))


async def test_run_answers_the_verify_response_of_one_rollout() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(agent_app()), base_url="http://t") as client:
        reply = await client.post("/run", json=ROW)
    line = reply.json()
    assert reply.status_code == 200 and line["status"] == "ok" and line["reward"] == 1.0
    assert line["_ng_task_index"] == 5 and line["initial_count"] == 2
    kinds = [item["type"] for item in line["response"]["output"]]
    assert kinds == ["function_call", "function_call_output", "message"]


async def test_a_failed_rollout_is_a_200_with_a_typed_failure() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(agent_app(ReplayModel())), base_url="http://t") as c:
        reply = await c.post("/run", json=ROW)  # the row has no reference solution: a model failure
    line = reply.json()
    assert reply.status_code == 200 and line["status"] == "failed" and "reward" not in line
    assert line["_ng_failure_class"] == "model_failed" and line["failure"]["stage"] == "model"


@pytest.mark.parametrize(("body", "status"), [(b"{not json", 422), (b"[1]", 422), (b'{"x": 1}', 422)])
async def test_bad_rows_are_refused(body: bytes, status: int) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(agent_app()), base_url="http://t") as client:
        reply = await client.post("/run", content=body)
    assert reply.status_code == status and "detail" in reply.json()


async def test_v1_responses_runs_the_loop_on_the_callers_session() -> None:
    app = short_style_app()
    resources = AsyncResourcesClient.for_app(app)
    agent = Agent(resources, FakeModel(counter_policy()))
    session = await resources.seed_session(ROW)
    headers = {"x-gymhall-session": session.handle or ""}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(build_agent_app(agent)), base_url="http://t") as c:
        reply = await c.post("/v1/responses", json=ROW["responses_create_params"], headers=headers)
    episode = reply.json()
    assert reply.status_code == 200 and episode["output"][-1]["content"][0]["text"] == "3"
    assert (await session.verify(episode))["reward"] == 1.0  # the state lives in the caller's session


@pytest.mark.slow
async def test_remote_agent_collects_over_loopback_http() -> None:
    with serve_in_thread(agent_app()) as url:
        remote = RemoteAgent(url)
        ok = await remote.run(ROW)
        failed = await RemoteAgent("http://127.0.0.1:1").run(ROW)
        await remote.aclose()
    assert ok["status"] == "ok" and ok["reward"] == 1.0 and ok["_ng_task_index"] == 5
    assert failed["status"] == "failed" and failed["failure"]["stage"] == "agent"
    assert failed["failure"]["retryable"] is True


async def test_remote_agent_keeps_a_gymhall_agents_failure_stage() -> None:
    with serve_in_thread(agent_app(ReplayModel())) as url:
        remote = RemoteAgent(url)
        line = await remote.run(ROW)
        await remote.aclose()
    assert line["status"] == "failed" and line["failure"]["stage"] == "model"
