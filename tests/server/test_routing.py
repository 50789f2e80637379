"""The route class and app: sessions, limits, validation and errors, on the short and the FastAPI path."""

import asyncio
import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

from gymhall import (
    SESSION_HEADER,
    SESSION_ID_KEY,
    BaseResourcesServerConfig,
    BaseVerifyRequest,
    BaseVerifyResponse,
    SimpleResourcesServer,
    ToolError,
)
from gymhall.exceptions import JudgeError
from gymhall.server.routing import GymApp

RESPONSE = {
    "id": "resp_1",
    "created_at": 0,
    "model": "m",
    "object": "response",
    "output": [
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "done", "annotations": []}],
        }
    ],
    "parallel_tool_calls": False,
    "tool_choice": "auto",
    "tools": [],
}
ROW = {"responses_create_params": {"input": [{"role": "user", "content": "hi"}]}}


class Note(BaseModel):
    text: str


class Probe(SimpleResourcesServer):
    log: list[str] = []

    def setup_webserver(self) -> FastAPI:
        app = super().setup_webserver()
        app.post("/note")(self.note)
        app.post("/slow_note")(self.slow_note)
        app.post("/boom")(self.boom)
        app.post("/refuse")(self.refuse)
        app.post("/http_error")(self.http_error)
        app.post("/sync_note")(self.sync_note)
        app.post("/query_tool")(self.query_tool)
        return app

    async def note(self, request: Request, body: Note) -> dict[str, Any]:
        return {"session": request.session[SESSION_ID_KEY], "text": body.text}

    async def slow_note(self, request: Request, body: Note) -> dict[str, Any]:
        self.log.append(f"start {body.text}")
        await asyncio.sleep(0.02)
        self.log.append(f"end {body.text}")
        return {"text": body.text}

    async def boom(self, body: Note) -> None:
        raise ValueError(f"cannot handle {body.text}")

    async def refuse(self, body: Note) -> None:
        raise ToolError(f"{body.text!r} is not a word; guess a 5-letter word")

    async def http_error(self, body: Note) -> None:
        raise HTTPException(status_code=409, detail="conflict here")

    def sync_note(self, body: Note) -> dict[str, str]:
        return {"text": body.text.upper()}

    async def query_tool(self, request: Request, limit: int = 3) -> dict[str, Any]:
        return {"limit": limit, "session": request.session.get(SESSION_ID_KEY)}

    async def verify(self, body: BaseVerifyRequest) -> BaseVerifyResponse:
        if body.response.output_text == "crash":
            raise RuntimeError("verifier broke")
        if body.response.output_text == "judge":
            raise JudgeError("the judge answered HTTP 503")
        return BaseVerifyResponse(**body.model_dump(), reward=1.0)


def make_app(**settings: Any) -> GymApp:
    app = Probe(config=BaseResourcesServerConfig(name="probe", **settings), log=[]).setup_webserver()
    assert isinstance(app, GymApp)
    return app


def client(app: GymApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test")


async def seeded(c: httpx.AsyncClient) -> str:
    r = await c.post("/seed_session", json=ROW)
    assert r.status_code == 200
    return str(r.json()["session"])


async def test_seed_returns_handle_in_cookie_header_and_body() -> None:
    async with client(make_app()) as c:
        r = await c.post("/seed_session", json=ROW)
        handle = r.json()["session"]
        assert r.headers[SESSION_HEADER] == handle
        assert r.cookies["gymhall-session-probe"] == handle
        assert "HttpOnly" in r.headers["set-cookie"]


async def test_seed_accepts_an_empty_body() -> None:
    async with client(make_app()) as c:
        r = await c.post("/seed_session")
        assert r.status_code == 200 and "session" in r.json()


async def test_every_session_response_sets_the_cookie_again() -> None:
    async with client(make_app()) as c:
        handle = await seeded(c)
        c.cookies.clear()
        r = await c.post("/note", json={"text": "a"}, headers={SESSION_HEADER: handle})
        assert r.cookies["gymhall-session-probe"] == handle
        r = await c.post("/verify", json={**ROW, "response": RESPONSE}, headers={SESSION_HEADER: handle})
        assert r.cookies["gymhall-session-probe"] == handle


async def test_sessions_are_isolated_and_reseeding_starts_a_new_session() -> None:
    async with client(make_app()) as c:
        first = await seeded(c)
        second = await seeded(c)  # same cookie jar: seeding always starts fresh
        assert first != second
        b = await c.post("/note", json={"text": "x"})  # cookie: the second session
        a = await c.post("/note", json={"text": "x"}, headers={SESSION_HEADER: first})  # header wins
        assert a.json()["session"] == first.split(".")[0]
        assert b.json()["session"] == second.split(".")[0]


async def test_tool_without_session_is_refused() -> None:
    async with client(make_app()) as c:
        r = await c.post("/note", json={"text": "a"})
        assert r.status_code == 400
        assert r.json()["error"] == "session_required"
        assert "seed_session" in r.json()["detail"]


@pytest.mark.parametrize("edit", [lambda h: h[:-2] + "zz", lambda h: "Z" + h[1:], lambda h: "garbage"])
async def test_forged_or_tampered_handles_get_403(edit: Any) -> None:
    async with client(make_app()) as c:
        handle = await seeded(c)
        c.cookies.clear()
        r = await c.post("/note", json={"text": "a"}, headers={SESSION_HEADER: edit(handle)})
        assert r.status_code == 403
        assert r.json()["error"] == "invalid_session_handle"


async def test_handle_of_another_server_is_refused() -> None:
    async with client(make_app()) as c1, client(make_app()) as c2:
        handle = await seeded(c1)
        r = await c2.post("/note", json={"text": "a"}, headers={SESSION_HEADER: handle})
        assert r.status_code == 403


async def test_closed_session_is_not_found_and_close_is_idempotent() -> None:
    async with client(make_app()) as c:
        handle = await seeded(c)
        assert (await c.post("/close_session")).json() == {"closed": True}
        assert (await c.post("/close_session")).json() == {"closed": False}
        r = await c.post("/note", json={"text": "a"}, headers={SESSION_HEADER: handle})
        assert r.status_code == 404
        assert handle.split(".")[0] in r.json()["detail"]


async def test_expired_session_is_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(session_ttl_seconds=0.05)
    async with client(app) as c:
        await seeded(c)
        await asyncio.sleep(0.08)
        r = await c.post("/note", json={"text": "a"})
        assert r.status_code == 404
        assert "expire" in r.json()["detail"]


async def test_full_store_answers_503_with_retry_after() -> None:
    async with client(make_app(max_sessions=2)) as c:
        await seeded(c)
        await seeded(c)
        r = await c.post("/seed_session", json=ROW)
        assert r.status_code == 503
        assert int(r.headers["retry-after"]) >= 1
        assert "max_sessions" in r.json()["detail"]


async def test_tool_calls_of_one_session_are_serialized() -> None:
    app = make_app()
    async with client(app) as c:
        handle = await seeded(c)
        other = await seeded(c)
        calls = [c.post("/slow_note", json={"text": str(i)}, headers={SESSION_HEADER: handle}) for i in range(3)]
        await asyncio.gather(*calls)
        probe_log = app.router.routes[-1].endpoint.__self__.log  # type: ignore[attr-defined]
        assert [e.split()[0] for e in probe_log] == ["start", "end"] * 3
        # different sessions do run concurrently
        probe_log.clear()
        await asyncio.gather(
            c.post("/slow_note", json={"text": "a"}, headers={SESSION_HEADER: handle}),
            c.post("/slow_note", json={"text": "b"}, headers={SESSION_HEADER: other}),
        )
        assert [e.split()[0] for e in probe_log] == ["start", "start", "end", "end"]


@pytest.mark.parametrize(
    ("body", "field"),
    [(b'{"txt": "a"}', "text"), (b'{"text": 5}', "text"), (b"{not json", "(the body)"), (b"[1, 2]", "(the body)")],
)
async def test_malformed_bodies_get_422_naming_the_field(body: bytes, field: str) -> None:
    async with client(make_app()) as c:
        await seeded(c)
        r = await c.post("/note", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422
        data = r.json()
        assert data["error"] == "validation_error"
        assert f"field {field!r}" in data["message"]
        assert data["detail"][0]["loc"][0] == "body"


async def test_oversized_body_gets_413() -> None:
    async with client(make_app(max_body_bytes=100)) as c:
        await seeded(c)
        r = await c.post("/note", json={"text": "x" * 200})
        assert r.status_code == 413
        assert "max_body_bytes" in r.json()["detail"]


async def test_exception_in_tool_is_logged_and_answered_as_json(caplog: pytest.LogCaptureFixture) -> None:
    async with client(make_app()) as c:
        await seeded(c)
        with caplog.at_level(logging.ERROR, logger="gymhall.server"):
            r = await c.post("/boom", json={"text": "zebra"})
        assert r.status_code == 500
        assert r.json() == {"detail": "ValueError: cannot handle zebra", "error": "internal_error"}
        assert "Traceback" in caplog.text and "cannot handle zebra" in caplog.text
        # the server keeps serving
        assert (await c.post("/note", json={"text": "ok"})).status_code == 200


async def test_exception_in_verify_is_a_json_500() -> None:
    async with client(make_app()) as c:
        await seeded(c)
        crash = {
            **RESPONSE,
            "output": [
                {**RESPONSE["output"][0], "content": [{"type": "output_text", "text": "crash", "annotations": []}]}
            ],
        }  # type: ignore[index]
        r = await c.post("/verify", json={**ROW, "response": crash})
        assert r.status_code == 500
        assert "verifier broke" in r.json()["detail"]


async def test_a_judge_error_in_a_seed_style_verify_is_the_judge_failed_contract() -> None:
    async with client(make_app()) as c:
        await seeded(c)
        judged = {
            **RESPONSE,
            "output": [
                {**RESPONSE["output"][0], "content": [{"type": "output_text", "text": "judge", "annotations": []}]}
            ],
        }  # type: ignore[index]
        r = await c.post("/verify", json={**ROW, "response": judged})
        assert r.status_code == 200
        assert r.json()["_ng_failure_class"] == "judge_failed"
        assert "HTTP 503" in r.json()["_ng_failure_judge_error"]


async def test_tool_error_is_a_readable_400() -> None:
    async with client(make_app()) as c:
        await seeded(c)
        r = await c.post("/refuse", json={"text": "zz"})
        assert r.status_code == 400
        assert r.json() == {"detail": "'zz' is not a word; guess a 5-letter word", "error": "tool_error"}


async def test_http_exception_keeps_its_status() -> None:
    async with client(make_app()) as c:
        await seeded(c)
        r = await c.post("/http_error", json={"text": "a"})
        assert r.status_code == 409 and r.json()["detail"] == "conflict here"


async def test_sync_tools_run_in_a_thread() -> None:
    async with client(make_app()) as c:
        await seeded(c)
        assert (await c.post("/sync_note", json={"text": "a"})).json() == {"text": "A"}


async def test_endpoints_fastapi_resolves_still_get_sessions() -> None:
    async with client(make_app()) as c:
        handle = await seeded(c)
        r = await c.post("/query_tool?limit=7")
        assert r.json() == {"limit": 7, "session": handle.split(".")[0]}
        assert r.cookies["gymhall-session-probe"] == handle
        c.cookies.clear()
        assert (await c.post("/query_tool")).status_code == 400


async def test_verify_without_session_is_stateless() -> None:
    async with client(make_app()) as c:
        r = await c.post("/verify", json={**ROW, "response": RESPONSE, "expected_answer": "42"})
        assert r.status_code == 200
        data = r.json()
        assert data["reward"] == 1.0 and data["expected_answer"] == "42"
        assert "set-cookie" not in r.headers


async def test_user_middleware_takes_the_fastapi_path_with_same_semantics() -> None:
    app = make_app()
    seen: list[str] = []

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        seen.append(request.url.path)
        return await call_next(request)

    async with client(app) as c:
        await seeded(c)
        assert (await c.post("/note", json={"text": "a"})).status_code == 200
        c.cookies.clear()
        assert (await c.post("/note", json={"text": "a"})).status_code == 400
    assert seen == ["/seed_session", "/note", "/note"]


async def test_nemo_gym_rollout_prefix_is_stripped() -> None:
    async with client(make_app()) as c:
        await seeded(c)
        r = await c.post("/ng-rollout/0-1/note", json={"text": "a"})
        assert r.status_code == 200 and r.json()["text"] == "a"


async def test_unknown_route_is_404_and_health_ok() -> None:
    async with client(make_app()) as c:
        assert (await c.get("/")).json() == {"status": "ok"}
        assert (await c.post("/nope", json={})).status_code == 404


async def test_tools_lists_strict_schemas_of_tool_routes() -> None:
    async with client(make_app()) as c:
        tools = {t["name"]: t for t in (await c.get("/tools")).json()}
        assert {"note", "slow_note", "boom", "refuse", "http_error", "sync_note"} <= set(tools)
        assert "query_tool" not in tools  # no body model to describe
        note = tools["note"]
        assert note["strict"] is True
        assert note["parameters"] == {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
            "additionalProperties": False,
        }


async def test_aggregate_metrics_route() -> None:
    async with client(make_app()) as c:
        rows = [{"reward": 1.0, "_ng_task_index": 0}, {"reward": 0.0, "_ng_task_index": 0}]
        r = await c.post("/aggregate_metrics", json={"verify_responses": rows})
        assert r.json()["agent_metrics"]["mean/reward"] == 0.5
