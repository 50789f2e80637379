"""The JSON the page fetches, over ASGI in process: summary, task table, trajectories, two runs; errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gymhall.view.app import ViewState, create_view_app


@pytest.fixture
async def client(runs: Any) -> AsyncIterator[httpx.AsyncClient]:
    state = ViewState([runs.mixed, runs.after, runs.nemo])
    assert state.wait_ready(30)
    transport = httpx.ASGITransport(app=create_view_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://view") as http:
        yield http
    state.stop()


async def get(client: httpx.AsyncClient, path: str, status: int = 200) -> Any:
    answer = await client.get(path)
    assert answer.status_code == status, answer.text
    return answer.json()


async def test_runs_and_the_page_itself(client: httpx.AsyncClient) -> None:
    body = await get(client, "/api/runs")
    assert [run["name"] for run in body["runs"]] == ["mixed.jsonl", "after.jsonl", "nemo.jsonl"]
    assert all(run["ready"] and run["bytes_read"] == run["size"] for run in body["runs"])
    page = await client.get("/")
    assert page.headers["content-type"].startswith("text/html") and "/static/view.js" in page.text
    script = await client.get("/static/view.js")
    assert script.status_code == 200 and "textContent" in script.text
    assert (await client.get("/static/../app.py")).status_code == 404


async def test_task_table_filters_sorts_and_pages(client: httpx.AsyncClient) -> None:
    table = await get(client, "/api/tasks?run=0")
    assert table["total"] == 12 and [row["task"] for row in table["rows"]] == list(range(12))
    assert [cell["rollout"] for cell in table["rows"][0]["rollouts"]] == [0, 1, 2]
    failed = await get(client, "/api/tasks?run=0&failed=1")
    assert [row["task"] for row in failed["rows"]] == [9, 10, 11] and failed["rows"][0]["failed"] == 3
    zero = await get(client, "/api/tasks?run=1&zero=1")
    assert zero["total"] == 12  # the echo model never scores
    assert (await get(client, "/api/tasks?run=0&zero=1"))["total"] == 0
    search = await get(client, "/api/tasks?run=0&q=unreachable")
    assert [row["task"] for row in search["rows"]] == [9, 10, 11]
    city = table["rows"][3]["prompt"].split(" in ")[1].split()[0].strip("?.,")  # "... in Hoi An today?"
    by_city = await get(client, f"/api/tasks?run=0&q={city.upper()}")
    assert 3 in [row["task"] for row in by_city["rows"]] and all(city in row["prompt"] for row in by_city["rows"])
    by_reward = await get(client, "/api/tasks?run=0&sort=reward&desc=1")
    assert [row["mean_reward"] for row in by_reward["rows"]][-3:] == [None, None, None]
    by_failed = await get(client, "/api/tasks?run=0&sort=failed&desc=1&limit=3")
    assert [row["task"] for row in by_failed["rows"]] == [11, 10, 9] and by_failed["total"] == 12
    page = await get(client, "/api/tasks?run=0&offset=10&limit=5")
    assert [row["task"] for row in page["rows"]] == [10, 11]


async def test_a_failed_trajectory_has_its_failure_and_timings(client: httpx.AsyncClient) -> None:
    table = await get(client, "/api/tasks?run=0&failed=1")
    rollout_id = table["rows"][0]["rollouts"][0]["id"]
    view = await get(client, f"/api/rollout?run=0&id={rollout_id}")
    assert view["status"] == "failed" and view["failure"]["stage"] == "seed" and view["failure"]["attempts"] == 1
    assert view["steps"] == [] and view["reward"] is None and "total_s" in view["timings"]
    assert view["input"][0]["role"] == "user"


async def test_an_ok_trajectory_has_turns_tools_and_verify(client: httpx.AsyncClient) -> None:
    view = await get(client, "/api/rollout?run=0&id=0")
    assert view["status"] == "ok" and view["reward"] == 1.0 and view["failure"] is None
    assert [step["kind"] for step in view["steps"]] == ["model", "tool", "model"]
    call = view["steps"][0]["items"][0]
    assert call["kind"] == "function_call" and call["name"] == "get_weather" and "city" in call["arguments"]
    assert view["steps"][1]["name"] == "get_weather" and "conditions" in view["steps"][1]["items"][0]["text"]
    assert view["verify"]["answer_correct"] is True and view["verify"]["reward"] == 1.0


async def test_nemo_gym_lines_show_reasoning_token_ids_and_usage(client: httpx.AsyncClient) -> None:
    view = await get(client, "/api/rollout?run=2&id=0")
    assert view["task"] == "line 1" and view["timings"] is None and view["usage"]["input_tokens"] == 100
    assert [item["role"] for item in view["input"]] == ["developer", "user"]
    reasoning, call = view["steps"][0]["items"][:2]
    assert reasoning == {"kind": "reasoning", "text": "Check the weather."}
    assert call["tokens"]["generation_log_probs"] == [-0.25, -1.5]


async def test_two_runs_worse_first(client: httpx.AsyncClient) -> None:
    body = await get(client, "/api/compare?a=0&b=1")
    assert body["counts"] == {"worse": 9, "better": 0, "same": 0, "unpaired": 3}
    assert [row["delta"] for row in body["rows"][:9]] == [-1.0] * 9
    assert [row["task"] for row in body["rows"][9:]] == [9, 10, 11]
    pair = body["rows"][0]["pairs"][0]
    assert pair["before"]["reward"] == 1.0 and pair["after"]["reward"] == 0.0
    reverse = await get(client, "/api/compare?a=1&b=0")
    assert reverse["counts"] == {"worse": 0, "better": 9, "same": 0, "unpaired": 3}
    assert (await get(client, f"/api/compare?a=1&b=0&q={body['rows'][0]['prompt'][:30]}"))["total"] >= 1


async def test_bad_requests_are_named(client: httpx.AsyncClient) -> None:
    assert "no run 7" in (await get(client, "/api/summary?run=7", 400))["error"]
    assert "'id' is missing" in (await get(client, "/api/rollout?run=0", 400))["error"]
    assert "No rollout 999" in (await get(client, "/api/rollout?run=0&id=999", 404))["error"]
    assert "sort='size'" in (await get(client, "/api/tasks?run=0&sort=size", 400))["error"]
    assert "is not an integer" in (await get(client, "/api/tasks?run=x", 400))["error"]
