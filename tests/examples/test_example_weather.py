"""examples/weather: the seed's single-tool server, in process and as `python app.py`."""

from types import ModuleType
from typing import Any

import httpx
import pytest

from gymhall import BaseResourcesServerConfig
from gymhall.testing import client_for, function_call, function_call_output, make_response, make_row

COOKIE = "gymhall-session-weather"
GET_WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


@pytest.fixture
def weather(load_example: Any) -> ModuleType:
    return load_example("weather", "app.py")


@pytest.fixture
def server(weather: ModuleType) -> Any:
    return weather.WeatherResourcesServer(config=BaseResourcesServerConfig(name="weather"))


def http_client(server: Any) -> httpx.AsyncClient:
    app = server.setup_webserver()
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver")


def trajectory(city: str, answer: dict[str, Any]) -> dict[str, Any]:
    return make_response(
        f"It is cold in {city}.",
        output=[function_call("get_weather", {"city": city}, "c1"), function_call_output("c1", answer)],
    )


async def test_health_and_tool_listing(server: Any) -> None:
    async with client_for(server) as env:
        assert await env.health()
        assert await env.list_tools() == [GET_WEATHER]


async def test_seed_sets_the_cookie_and_the_tool_answers(server: Any) -> None:
    async with http_client(server) as http:
        assert (await http.get("/")).json() == {"status": "ok"}
        seeded = await http.post("/seed_session", json={})
        assert seeded.status_code == 200
        assert COOKIE in seeded.cookies
        answer = await http.post("/get_weather", json={"city": "Paris"})
    assert answer.status_code == 200
    assert answer.json() == {"city": "Paris", "weather_description": "The weather in Paris is cold."}


async def test_verify_always_rewards(server: Any) -> None:
    async with client_for(server) as env:
        async with await env.seed_session(make_row("What is the weather in Paris?")) as session:
            answer = await session.call("get_weather", city="Paris")
            result = await session.verify(trajectory("Paris", answer))
    assert result["reward"] == 1.0
    assert result["response"]["output"][1]["output"] == '{"city": "Paris", "weather_description": ' + (
        '"The weather in Paris is cold."}'
    )


async def test_verify_without_a_session_is_stateless(server: Any) -> None:
    async with http_client(server) as http:
        verified = await http.post("/verify", json={**make_row("hi"), "response": make_response("cold")})
    assert verified.status_code == 200
    assert verified.json()["reward"] == 1.0


@pytest.mark.parametrize(
    ("cookies", "status"),
    [({}, 400), ({COOKIE: "not-a-handle"}, 403), ({COOKIE: "abc.forgedsignature"}, 403)],
    ids=["no-session", "malformed", "forged"],
)
async def test_tool_refuses_a_missing_or_unknown_session(server: Any, cookies: dict[str, str], status: int) -> None:
    async with http_client(server) as http:
        http.cookies.update(cookies)
        answer = await http.post("/get_weather", json={"city": "Paris"})
    assert answer.status_code == status
    assert "detail" in answer.json()


async def test_tool_refuses_a_closed_session(server: Any) -> None:
    async with http_client(server) as http:
        (await http.post("/seed_session", json={})).raise_for_status()
        assert (await http.post("/close_session")).json() == {"closed": True}
        answer = await http.post("/get_weather", json={"city": "Paris"})
    assert answer.status_code == 404


@pytest.mark.slow
def test_python_app_py_serves_the_seed_round_trip(example_server: Any) -> None:
    # The seed's rollout flow: one cookie-keeping client (requests.Session there, httpx.Client here).
    with (
        example_server("weather", "app.py") as served,
        httpx.Client(base_url=served.url, timeout=10.0) as http,
    ):
        assert http.get("/").json() == {"status": "ok"}
        assert http.get("/tools").json() == [GET_WEATHER]
        http.post("/seed_session", json={}).raise_for_status()
        assert list(http.cookies) == ["gymhall-session-WeatherResourcesServer"]  # named for the class
        answer = http.post("/get_weather", json={"city": "Oslo"})
        assert answer.json()["weather_description"] == "The weather in Oslo is cold."
        row = make_row("What is the weather in Oslo?", tools=[GET_WEATHER])
        verified = http.post("/verify", json={**row, "response": trajectory("Oslo", answer.json())})
        assert verified.status_code == 200, verified.text
        assert verified.json()["reward"] == 1.0
