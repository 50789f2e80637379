"""examples/counter: the README's short-style environment, in process and as `python counter.py`."""

from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from gymhall import ServerError, load_config
from gymhall.testing import client_for, function_call, function_call_output, make_response, make_row

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "counter"
COOKIE = "gymhall-session-Counter"
INCREMENT = {
    "type": "function",
    "name": "increment",
    "description": "Add `by` to the counter and return its new value.",
    "parameters": {
        "type": "object",
        "properties": {"by": {"type": "integer"}},
        "required": ["by"],
        "additionalProperties": False,
    },
    "strict": True,
}


@pytest.fixture
def counter(load_example: Any) -> ModuleType:
    return load_example("counter", "counter.py")


@pytest.fixture
def env(counter: ModuleType) -> Any:
    return counter.Counter()


def http_client(env: Any) -> httpx.AsyncClient:
    from gymhall import build_app

    return httpx.AsyncClient(transport=httpx.ASGITransport(build_app(env)), base_url="http://testserver")


def answer(text: str, by: int = 0, value: int = 0) -> dict[str, Any]:
    calls = [function_call("increment", {"by": by}, "c1"), function_call_output("c1", {"value": value})]
    return make_response(text, output=calls)


async def test_health_and_tool_listing(env: Any) -> None:
    async with client_for(env) as client:
        assert await client.health()
        assert await client.list_tools() == [INCREMENT]


@pytest.mark.parametrize(
    ("final", "reward"),
    [("5", 1.0), (" 5\n", 1.0), ("4", 0.0), ("The count is 5.", 0.0), ("", 0.0)],
)
async def test_verify_compares_the_final_answer_with_the_counter(env: Any, final: str, reward: float) -> None:
    async with client_for(env) as client:
        async with await client.seed_session(make_row("Add 3.", initial_count=2)) as session:
            assert await session.call("increment", by=3) == {"value": 5}
            result = await session.verify(answer(final, by=3, value=5))
    assert result["reward"] == reward
    assert result["initial_count"] == 2  # the row is echoed


async def test_initial_count_defaults_to_zero(env: Any) -> None:
    async with client_for(env) as client:
        async with await client.seed_session(make_row("Count.")) as session:
            assert await session.call("increment", by=-1) == {"value": -1}
            assert await session.call("increment", {"by": 4}) == {"value": 3}


async def test_sessions_are_independent(env: Any) -> None:
    async with client_for(env) as client:
        first = await client.seed_session(make_row(initial_count=100))
        second = await client.seed_session(make_row(initial_count=0))
        await first.call("increment", by=1)
        assert await second.call("increment", by=1) == {"value": 1}
        assert (await first.verify(make_response("101")))["reward"] == 1.0
        assert (await second.verify(make_response("1")))["reward"] == 1.0


async def test_seed_sets_the_cookie(env: Any) -> None:
    async with http_client(env) as http:
        seeded = await http.post("/seed_session", json=make_row(initial_count=1))
        assert seeded.status_code == 200
        assert COOKIE in seeded.cookies
        assert (await http.post("/increment", json={"by": 1})).json() == {"value": 2}


@pytest.mark.parametrize(
    ("cookies", "status"),
    [({}, 400), ({COOKIE: "not-a-handle"}, 403), ({COOKIE: "abc.forgedsignature"}, 403)],
    ids=["no-session", "malformed", "forged"],
)
async def test_tool_refuses_a_missing_or_unknown_session(env: Any, cookies: dict[str, str], status: int) -> None:
    async with http_client(env) as http:
        http.cookies.update(cookies)
        assert (await http.post("/increment", json={"by": 1})).status_code == status


async def test_closed_session_is_refused(env: Any) -> None:
    async with client_for(env) as client:
        session = await client.seed_session(make_row(initial_count=1))
        assert await session.close()
        with pytest.raises(ServerError, match="404"):
            await session.call("increment", by=1)


async def test_verify_needs_the_session(env: Any) -> None:
    async with http_client(env) as http:
        verified = await http.post("/verify", json={**make_row("hi"), "response": make_response("0")})
    assert verified.status_code == 400


async def test_increment_validates_its_arguments(env: Any) -> None:
    async with client_for(env) as client:
        async with await client.seed_session(make_row()) as session:
            with pytest.raises(ServerError, match="422"):
                await session.call("increment", by="three")
            with pytest.raises(ServerError, match="422"):
                await session.call("increment", by=1, extra=True)


def test_config() -> None:
    config = load_config([EXAMPLE / "configs" / "counter.yaml"], env_file=None)
    (instance,) = config.of_kind("resources_servers")
    assert instance.settings["domain"] == "games"
    assert instance.entrypoint_path() == EXAMPLE / "counter.py"


@pytest.mark.slow
def test_python_counter_py_serves_a_round_trip(example_server: Any) -> None:
    with (
        example_server("counter", "counter.py") as served,
        httpx.Client(base_url=served.url, timeout=10.0) as http,
    ):
        assert http.get("/").json() == {"status": "ok"}
        assert http.get("/tools").json() == [INCREMENT]
        row = make_row("Start at 10 and subtract 3.", tools=[INCREMENT], initial_count=10)
        http.post("/seed_session", json=row).raise_for_status()
        assert COOKIE in http.cookies
        assert http.post("/increment", json={"by": -3}).json() == {"value": 7}
        for final, reward in (("7", 1.0), ("10", 0.0)):
            verified = http.post("/verify", json={**row, "response": answer(final, by=-3, value=7)})
            assert verified.status_code == 200, verified.text
            assert verified.json()["reward"] == reward
