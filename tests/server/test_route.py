"""The route class: the session rule of each route kind, errors as JSON, on the short and the FastAPI path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from gymhall import SESSION_HEADER
from gymhall.server.app import GymApp

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


async def test_seed_returns_handle_in_cookie_header_and_body(
    make_app: Callable[..., GymApp], client: Callable[[GymApp], httpx.AsyncClient]
) -> None:
    async with client(make_app()) as c:
        r = await c.post("/seed_session", json=ROW)
        handle = r.json()["session"]
        assert r.headers[SESSION_HEADER] == handle
        assert r.cookies["gymhall-session-probe"] == handle
        assert "HttpOnly" in r.headers["set-cookie"]


async def test_seed_accepts_an_empty_body(
    make_app: Callable[..., GymApp], client: Callable[[GymApp], httpx.AsyncClient]
) -> None:
    async with client(make_app()) as c:
        r = await c.post("/seed_session")
        assert r.status_code == 200 and "session" in r.json()


async def test_every_session_response_sets_the_cookie_again(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        handle = await seeded(c)
        c.cookies.clear()
        r = await c.post("/note", json={"text": "a"}, headers={SESSION_HEADER: handle})
        assert r.cookies["gymhall-session-probe"] == handle
        r = await c.post("/verify", json={**ROW, "response": RESPONSE}, headers={SESSION_HEADER: handle})
        assert r.cookies["gymhall-session-probe"] == handle


async def test_sessions_are_isolated_and_reseeding_starts_a_new_session(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        first = await seeded(c)
        second = await seeded(c)  # same cookie jar: seeding always starts fresh
        assert first != second
        b = await c.post("/note", json={"text": "x"})  # cookie: the second session
        a = await c.post("/note", json={"text": "x"}, headers={SESSION_HEADER: first})  # header wins
        assert a.json()["session"] == first.split(".")[0]
        assert b.json()["session"] == second.split(".")[0]


async def test_tool_without_session_is_refused(
    make_app: Callable[..., GymApp], client: Callable[[GymApp], httpx.AsyncClient]
) -> None:
    async with client(make_app()) as c:
        r = await c.post("/note", json={"text": "a"})
        assert r.status_code == 400
        assert r.json()["error"] == "session_required"
        assert "seed_session" in r.json()["detail"]


@pytest.mark.parametrize("edit", [lambda h: h[:-2] + "zz", lambda h: "Z" + h[1:], lambda h: "garbage"])
async def test_forged_or_tampered_handles_get_403(
    edit: Any,
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        handle = await seeded(c)
        c.cookies.clear()
        r = await c.post("/note", json={"text": "a"}, headers={SESSION_HEADER: edit(handle)})
        assert r.status_code == 403
        assert r.json()["error"] == "invalid_session_handle"


async def test_handle_of_another_server_is_refused(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c1, client(make_app()) as c2:
        handle = await seeded(c1)
        r = await c2.post("/note", json={"text": "a"}, headers={SESSION_HEADER: handle})
        assert r.status_code == 403


async def test_closed_session_is_not_found_and_close_is_idempotent(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        handle = await seeded(c)
        assert (await c.post("/close_session")).json() == {"closed": True}
        assert (await c.post("/close_session")).json() == {"closed": False}
        r = await c.post("/note", json={"text": "a"}, headers={SESSION_HEADER: handle})
        assert r.status_code == 404
        assert handle.split(".")[0] in r.json()["detail"]


async def test_expired_session_is_not_found(
    monkeypatch: pytest.MonkeyPatch,
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    app = make_app(session_ttl_seconds=0.05)
    async with client(app) as c:
        await seeded(c)
        await asyncio.sleep(0.08)
        r = await c.post("/note", json={"text": "a"})
        assert r.status_code == 404
        assert "expire" in r.json()["detail"]


async def test_full_store_answers_503_with_retry_after(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app(max_sessions=2)) as c:
        await seeded(c)
        await seeded(c)
        r = await c.post("/seed_session", json=ROW)
        assert r.status_code == 503
        assert int(r.headers["retry-after"]) >= 1
        assert "max_sessions" in r.json()["detail"]


async def test_tool_calls_of_one_session_are_serialized(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
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


async def test_exception_in_tool_is_logged_and_answered_as_json(
    caplog: pytest.LogCaptureFixture,
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        await seeded(c)
        with caplog.at_level(logging.ERROR, logger="gymhall.server"):
            r = await c.post("/boom", json={"text": "zebra"})
        assert r.status_code == 500
        assert r.json() == {"detail": "ValueError: cannot handle zebra", "error": "internal_error"}
        assert "Traceback" in caplog.text and "cannot handle zebra" in caplog.text
        # the server keeps serving
        assert (await c.post("/note", json={"text": "ok"})).status_code == 200


async def test_exception_in_verify_is_a_json_500(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
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


async def test_a_judge_error_in_a_seed_style_verify_is_the_judge_failed_contract(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
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


async def test_tool_error_is_a_readable_400(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        await seeded(c)
        r = await c.post("/refuse", json={"text": "zz"})
        assert r.status_code == 400
        assert r.json() == {"detail": "'zz' is not a word; guess a 5-letter word", "error": "tool_error"}


async def test_http_exception_keeps_its_status(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        await seeded(c)
        r = await c.post("/http_error", json={"text": "a"})
        assert r.status_code == 409 and r.json()["detail"] == "conflict here"


async def test_sync_tools_run_in_a_thread(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        await seeded(c)
        assert (await c.post("/sync_note", json={"text": "a"})).json() == {"text": "A"}


async def test_endpoints_fastapi_resolves_still_get_sessions(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        handle = await seeded(c)
        r = await c.post("/query_tool?limit=7")
        assert r.json() == {"limit": 7, "session": handle.split(".")[0]}
        assert r.cookies["gymhall-session-probe"] == handle
        c.cookies.clear()
        assert (await c.post("/query_tool")).status_code == 400


async def test_verify_without_session_is_stateless(
    make_app: Callable[..., GymApp], client: Callable[[GymApp], httpx.AsyncClient]
) -> None:
    async with client(make_app()) as c:
        r = await c.post("/verify", json={**ROW, "response": RESPONSE, "expected_answer": "42"})
        assert r.status_code == 200
        data = r.json()
        assert data["reward"] == 1.0 and data["expected_answer"] == "42"
        assert "set-cookie" not in r.headers


async def test_tools_lists_strict_schemas_of_tool_routes(
    make_app: Callable[..., GymApp], client: Callable[[GymApp], httpx.AsyncClient]
) -> None:
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


async def test_aggregate_metrics_route(
    make_app: Callable[..., GymApp], client: Callable[[GymApp], httpx.AsyncClient]
) -> None:
    async with client(make_app()) as c:
        rows = [{"reward": 1.0, "_ng_task_index": 0}, {"reward": 0.0, "_ng_task_index": 0}]
        r = await c.post("/aggregate_metrics", json={"verify_responses": rows})
        assert r.json()["agent_metrics"]["mean/reward"] == 0.5


@pytest.mark.parametrize("signature", ["\u00e9" * 22, "abc\u00ff", "\u00a0"])
async def test_a_non_ascii_signature_gets_403_like_any_forged_handle(
    signature: str,
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    # The attack: a non-ASCII byte in the signature crashed `hmac.compare_digest` into a 500.
    async with client(make_app()) as c:
        handle = await seeded(c)
        forged = f"{handle.partition('.')[0]}.{signature}".encode("latin-1")
        r = await c.post("/note", json={"text": "a"}, headers={SESSION_HEADER: forged})
        assert r.status_code == 403
        assert r.json()["error"] == "invalid_session_handle"
        c.cookies.clear()
        r = await c.post("/note", json={"text": "a"}, headers={SESSION_HEADER: handle})
        assert r.json()["text"] == "a"


async def test_a_tool_answer_over_max_answer_bytes_is_refused_for_the_model_to_read(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    # The attack: one lookup answered 300 MiB. A tool's answer is bounded; verify's echo is not a tool answer.
    async with client(make_app(max_answer_bytes=1000)) as c:
        await seeded(c)
        r = await c.post("/note", json={"text": "x" * 2000})
        assert r.status_code == 400
        data = r.json()
        assert data["error"] == "answer_too_large"
        assert "'note'" in data["detail"] and "max_answer_bytes" in data["detail"] and "Ask for less" in data["detail"]
        assert (await c.post("/note", json={"text": "short"})).json()["text"] == "short"
        verified = await c.post("/verify", json={**ROW, "response": {**RESPONSE, "id": "r" * 2000}})
        assert verified.status_code == 200


async def test_a_tool_body_is_bounded_by_max_tool_body_bytes(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    # The attack: 40 calls with 15 MiB names grew one session's state by 1.3 GiB. Seed and verify keep
    # max_body_bytes (a row, a whole episode).
    async with client(make_app(max_tool_body_bytes=1000)) as c:
        await seeded(c)
        r = await c.post("/note", json={"text": "x" * 2000})
        assert r.status_code == 413
        assert "max_tool_body_bytes" in r.json()["detail"]
        assert (await c.post("/verify", json={**ROW, "response": {**RESPONSE, "id": "r" * 2000}})).status_code == 200
        assert (await c.post("/note", json={"text": "short"})).json()["text"] == "short"


@pytest.mark.parametrize(
    ("value", "shown"), [(b"NaN", "nan"), (b"Infinity", "inf"), (b"-Infinity", "-inf"), (b"1e400", "inf")]
)
async def test_aggregate_metrics_refuses_a_non_finite_number_naming_the_field(
    value: bytes,
    shown: str,
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
) -> None:
    # Such a number was dropped from the metrics silently; strict JSON has none of them.
    async with client(make_app()) as c:
        body = b'{"verify_responses": [{"reward": 1.0}, {"reward": 0.5, "reward_components": {"style": %s}}]}' % value
        r = await c.post("/aggregate_metrics", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422
        data = r.json()
        assert data["error"] == "validation_error"
        assert f"verify_responses[1]['reward_components']['style'] is {shown}" in data["message"]
        ok = await c.post("/aggregate_metrics", json={"verify_responses": [{"reward": 1.0}]})
        assert ok.json()["agent_metrics"]["mean/reward"] == 1.0


# NeMo Gym 0.7's close body, found untested by the mutation run (bench/README.md, "Mutation testing").


async def test_a_nemo_gym_07_close_body_is_echoed_with_or_without_a_session(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    app = make_app()
    close = {"resources_session_id": "rs-7", "episode_id": {"task": 1}}
    async with client(app) as c:  # a session this server never saw: closing it succeeds, closed nothing
        r = await c.post("/close_session", json=close)
        assert (r.status_code, r.json()) == (200, {"closed": False, "resources_session_id": "rs-7"})
        r = await c.post("/close_session", json={"episode_id": {"task": 1}})
        assert r.status_code == 400 and "needs a session" in r.json()["detail"]
        r = await c.post("/close_session", content=b"{}", headers={"content-type": "text/plain"})
        assert r.status_code == 415
        r = await c.post("/close_session", json={"resources_session_id": ["not", "an", "id"]})
        assert r.status_code == 422 and "resources_session_id" in str(r.json()["detail"])
    async with client(app) as c:
        await seeded(c)
        r = await c.post("/close_session", json=close)
        assert (r.status_code, r.json()) == (200, {"closed": True, "resources_session_id": "rs-7"})
        assert len(app.store) == 0
