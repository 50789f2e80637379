"""`AsyncResourcesSession` and `ResourcesSession`: handles, cookies, isolation, closing.

Against gymhall's counter server (handle and cookie) and against a NeMo Gym style server (cookies only).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gymhall import SESSION_HEADER, Environment, ServerError
from gymhall.client.resources import AsyncResourcesClient, ResourcesClient
from gymhall.client.sessions import AsyncResourcesSession
from gymhall.testing import client_for, make_response, make_row, serve_in_thread

COOKIE = "gymhall-session-Counter"


async def test_round_trip(client: AsyncResourcesClient) -> None:
    async with await client.seed_session(make_row("count", initial_count=1)) as session:
        assert session.handle is not None
        assert session.cookies == {COOKIE: session.handle}
        assert session.seed_response == {"session": session.handle}
        assert await session.call("increment", {"by": 2}) == {"value": 3}
        assert await session.call("increment", by=3) == {"value": 6}
        assert await session.call("increment", '{"by": 4}') == {"value": 10}
        assert await session.call("increment", {"by": 1}, by=5) == {"value": 15}  # keywords win
        assert await session.call_text("increment", '{"by": 1}') == '{"value":16}'
        result = await session.verify(make_response("16"))
        assert result["reward"] == 1.0
        assert result["initial_count"] == 1
        assert result["responses_create_params"]["input"] == "count"
        assert (await session.verify(make_response("15")))["reward"] == 0.0
        assert await session.close() is True
        assert await session.close() is False  # idempotent, and nothing is sent
        assert session.closed
    assert session.closed


async def test_session_closes_on_exit(client: AsyncResourcesClient) -> None:
    async with await client.seed_session() as session:
        await session.call("increment", by=1)
    assert session.closed
    with pytest.raises(ServerError) as caught:
        await session.call("increment", by=1)
    assert caught.value.status_code == 404


async def test_call_text_returns_error_bodies(client: AsyncResourcesClient) -> None:
    async with await client.seed_session() as session:
        invalid = json.loads(await session.call_text("increment", {"by": "two"}))
        assert invalid["error"] == "validation_error"
        assert invalid["detail"][0]["loc"] == ["body", "by"]
        malformed = json.loads(await session.call_text("increment", '{"by": '))  # as a model might emit it
        assert malformed["error"] == "validation_error"
        assert json.loads(await session.call_text("no_such_tool", {})) == {"detail": "Not Found"}
        # Endpoint names and non-names never become requests: a model must not reach /verify.
        for name in ("verify", "close_session", "../verify", "a b", ""):
            refused = json.loads(await session.call_text(name, {}))
            assert refused["error"] == "unknown_tool"
        assert await session.call("increment", by=1) == {"value": 1}  # the session still works


async def test_concurrent_sessions_are_isolated(client: AsyncResourcesClient) -> None:
    sessions = [await client.seed_session(make_row(initial_count=i * 100)) for i in range(20)]
    handles = {s.handle for s in sessions}
    assert len(handles) == 20

    async def play(index: int) -> int:
        session = sessions[index]
        value = 0
        for _ in range(index % 4 + 1):
            value = (await session.call("increment", by=index))["value"]
            await asyncio.sleep(0)  # interleave the sessions' requests
        # Each session only ever holds its own handle.
        assert session.cookies == {COOKIE: session.handle}
        return value

    values = await asyncio.gather(*(play(i) for i in range(20)))
    assert values == [i * 100 + i * (i % 4 + 1) for i in range(20)]
    closed = await asyncio.gather(*(s.close() for s in sessions))
    assert all(closed)


async def test_forged_handle_is_refused(client: AsyncResourcesClient) -> None:
    async with await client.seed_session() as session:
        assert session.handle is not None
        genuine = session.handle
        forged = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")
        session.handle = forged
        session.cookies[COOKIE] = forged
        with pytest.raises(ServerError) as caught:
            await session.call("increment", by=1)
        assert caught.value.status_code == 403
        assert caught.value.body["error"] == "invalid_session_handle"
        assert "invalid signature" in str(caught.value)
        session.handle = session.cookies[COOKIE] = genuine
        assert await session.call("increment", by=1) == {"value": 1}


# A NeMo Gym style server: cookies only, no handle, no /tools, no /close_session.


def cookie_only_app() -> tuple[Starlette, list[str]]:
    """A plain Starlette server that keeps sessions in a cookie rotated on every answer, like NeMo Gym's."""
    sessions: dict[str, dict[str, int]] = {}
    paths: list[str] = []

    def current(request: Request) -> tuple[str, dict[str, int]] | JSONResponse:
        paths.append(request.url.path)
        if SESSION_HEADER in request.headers:
            return JSONResponse({"detail": "unexpected handle header"}, status_code=400)
        raw = request.cookies.get("session")
        if raw is None:
            return JSONResponse({"detail": "no session cookie"}, status_code=400)
        session_id, _, version = raw.partition(".")
        state = sessions.get(session_id)
        if state is None or str(state["version"]) != version:
            return JSONResponse({"detail": f"stale or unknown session cookie {raw!r}"}, status_code=400)
        if "stale" in request.cookies and state["version"] > 1:  # deleted by the first call's answer
            return JSONResponse({"detail": "a deleted cookie came back"}, status_code=400)
        return session_id, state

    def answer(body: dict[str, Any], session_id: str, state: dict[str, int]) -> JSONResponse:
        state["version"] += 1
        response = JSONResponse(body)
        response.set_cookie("session", f"{session_id}.{state['version']}")
        return response

    async def seed_session(request: Request) -> JSONResponse:
        paths.append(request.url.path)
        row = await request.json()
        session_id = f"s{len(sessions)}"
        state = sessions[session_id] = {"value": row.get("initial_count", 0), "version": 0}
        response = answer({}, session_id, state)
        response.set_cookie("stale", "1")
        return response

    async def increment(request: Request) -> JSONResponse:
        found = current(request)
        if isinstance(found, JSONResponse):
            return found
        session_id, state = found
        state["value"] += (await request.json())["by"]
        response = answer({"value": state["value"]}, session_id, state)
        response.delete_cookie("stale")
        return response

    async def verify(request: Request) -> JSONResponse:
        found = current(request)
        if isinstance(found, JSONResponse):
            return found
        session_id, state = found
        body = await request.json()
        text = body["response"]["output"][-1]["content"][0]["text"]
        return answer({**body, "reward": float(text == str(state["value"]))}, session_id, state)

    routes = [
        Route("/seed_session", seed_session, methods=["POST"]),
        Route("/increment", increment, methods=["POST"]),
        Route("/verify", verify, methods=["POST"]),
    ]
    return Starlette(routes=routes), paths


async def test_cookie_only_server() -> None:
    app, paths = cookie_only_app()
    async with client_for(app) as client:
        with pytest.raises(ServerError) as caught:
            await client.list_tools()
        assert caught.value.status_code == 404
        assert "no GET /tools" in str(caught.value)
        assert "responses_create_params.tools" in str(caught.value)

        async with await client.seed_session(make_row(initial_count=1)) as session:
            assert session.handle is None
            assert session.cookies == {"session": "s0.1", "stale": "1"}
            assert await session.call("increment", by=2) == {"value": 3}
            assert session.cookies == {"session": "s0.2"}  # rotated, and the deleted cookie is gone
            assert await session.call("increment", '{"by": 3}') == {"value": 6}
            assert (await session.verify(make_response("6")))["reward"] == 1.0
        assert session.closed
    assert "/close_session" not in paths  # nothing to close on such a server


async def test_cookie_only_server_concurrent_sessions() -> None:
    app, _ = cookie_only_app()
    async with client_for(app) as client:
        sessions = [await client.seed_session({"initial_count": i}) for i in range(20)]

        async def play(index: int) -> int:
            value = 0
            for _ in range(3):
                value = (await sessions[index].call("increment", by=index))["value"]
                await asyncio.sleep(0)
            return value

        values = await asyncio.gather(*(play(i) for i in range(20)))
    assert values == [i * 4 for i in range(20)]
    assert [s.cookies for s in sessions] == [{"session": f"s{i}.4"} for i in range(20)]


def test_cookie_only_server_over_loopback_with_the_sync_client() -> None:
    app, _ = cookie_only_app()
    with serve_in_thread(app) as url, ResourcesClient(url, timeout=10) as client:
        assert client.health() is False  # this server has no GET /
        with client.seed_session({"initial_count": 5}) as session:
            assert session.call("increment", by=1) == {"value": 6}
            assert session.verify(make_response("6"))["reward"] == 1.0


async def test_two_thousand_sessions_of_eight_calls_never_cross(counter_type: type[Environment]) -> None:
    # Issue 11's "what held": 2,000 live sessions, 8 interleaved calls each, no call sees another's state.
    async with client_for(counter_type()) as env:
        sessions = await asyncio.gather(*(env.seed_session(make_row(initial_count=i * 1000)) for i in range(2000)))

        async def play(index: int) -> list[int]:
            seen = []
            for _ in range(8):
                seen.append((await sessions[index].call("increment", by=1))["value"])
                await asyncio.sleep(0)
            return seen

        async with asyncio.timeout(120):
            results = await asyncio.gather(*(play(i) for i in range(2000)))
        assert all(seen == [i * 1000 + step for step in range(1, 9)] for i, seen in enumerate(results))
        assert all(await asyncio.gather(*(s.close() for s in sessions)))


async def test_close_racing_tool_calls_answers_each_call_whole_or_refuses_it(counter_type: type[Environment]) -> None:
    # Issue 11's "what held": a close that lands among a session's calls never yields a 5xx or a lost update.
    async with client_for(counter_type()) as env:
        for _ in range(20):
            session = await env.seed_session(make_row(initial_count=0))

            async def call(session: AsyncResourcesSession = session) -> int | None:
                try:
                    return int((await session.call("increment", by=1))["value"])
                except ServerError as exc:
                    assert exc.status_code == 404, exc  # closed: refused as an unknown session, never a 5xx
                    return None

            calls = [asyncio.ensure_future(call()) for _ in range(10)]
            await asyncio.sleep(0)
            closed = await session.close()
            values = [v for v in await asyncio.gather(*calls) if v is not None]
            assert closed is True
            assert sorted(values) == list(range(1, len(values) + 1))  # calls run one at a time, none lost


def test_forks_over_loopback_with_the_sync_client_carry_their_own_handle_and_cookie(
    counter_type: type[Environment],
) -> None:
    from gymhall import build_app

    with serve_in_thread(build_app(counter_type())) as url, ResourcesClient(url, timeout=10) as client:
        with client.seed_session(make_row(initial_count=10)) as parent:
            parent.call("increment", by=1)
            children = parent.fork(2)
            assert [child.call("increment", by=5) for child in children] == [{"value": 16}] * 2
            assert parent.call("increment", by=0) == {"value": 11}
            for child in children:
                assert child.handle not in (None, parent.handle) and child.row == parent.row
                # The session cookie names the child's own handle, never the parent's.
                assert parent.handle not in child.cookies.values() and child.handle in child.cookies.values()
                assert child.close() is True


async def test_forking_against_a_server_without_handles_is_refused_without_a_request() -> None:
    app, requests = cookie_only_app()
    async with client_for(app) as client, await client.seed_session({"initial_count": 1}) as session:
        sent = len(requests)
        with pytest.raises(ServerError, match="NeMo Gym server cannot fork") as refused:
            await session.fork(2)
        assert refused.value.status_code == 501 and len(requests) == sent
