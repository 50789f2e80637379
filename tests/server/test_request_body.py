"""Request bodies on the short path: the size limit and validation failures that name the field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from gymhall import BaseSeedSessionRequest, BaseVerifyRequest, Environment
from gymhall.exceptions import BodyTooLarge, InvalidBody, RequestError, UnsupportedMediaType
from gymhall.server.app import GymApp
from gymhall.server.request_body import read_body


@pytest.mark.parametrize(
    ("body", "field"),
    [(b'{"txt": "a"}', "text"), (b'{"text": 5}', "text"), (b"{not json", "(the body)"), (b"[1, 2]", "(the body)")],
)
async def test_malformed_bodies_get_422_naming_the_field(
    body: bytes,
    field: str,
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        await seeded(c)
        r = await c.post("/note", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422
        data = r.json()
        assert data["error"] == "validation_error"
        assert f"field {field!r}" in data["message"]
        assert data["detail"][0]["loc"][0] == "body"


async def test_oversized_body_gets_413(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app(max_body_bytes=100)) as c:
        await seeded(c)
        r = await c.post("/note", json={"text": "x" * 200})
        assert r.status_code == 413
        assert "max_body_bytes" in r.json()["detail"]


class Padded(BaseSeedSessionRequest):
    pad: str = ""


class Small(Environment):
    async def seed_session(self, row: Padded) -> int:
        return 0

    async def verify(self, state: int, body: BaseVerifyRequest) -> float:
        return 1.0


def _chunked_post(url: str, path: str, chunks: list[bytes]) -> bytes:
    """POST `chunks` with Transfer-Encoding: chunked (no Content-Length) over a real socket; the raw answer."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head + body)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    return answer


def test_a_chunked_body_over_the_limit_is_refused_over_real_http() -> None:
    """A chunked body declares no size: the limit is counted as the chunks arrive."""
    from gymhall import BaseResourcesServerConfig
    from gymhall.testing import serve_in_thread

    env = Small(BaseResourcesServerConfig(name="small", max_body_bytes=1024))
    with serve_in_thread(env) as url:
        under = _chunked_post(url, "/seed_session", [b'{"pad": "', b"x" * 400, b'"}'])
        over = _chunked_post(url, "/seed_session", [b'{"pad": "', b"x" * 600, b"x" * 600, b'"}'])
    assert under.startswith(b"HTTP/1.1 200"), under[:200]
    assert over.startswith(b"HTTP/1.1 413"), over[:300]
    assert b"1024" in over


async def _healthy(c: httpx.AsyncClient) -> None:
    """The server still answers: health, a seed and a tool call."""
    assert (await c.get("/")).json() == {"status": "ok"}
    assert (await c.post("/seed_session", json={})).status_code == 200
    assert (await c.post("/note", json={"text": "still here"})).json()["text"] == "still here"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/aggregate_metrics", b'{"verify_responses": 18446744073709551616}'),
        ("/aggregate_metrics", b'{"verify_responses": [1, -18446744073709551617]}'),
        ("/note", b'{"text": 18446744073709551616}'),
        ("/note", b'{"text": [' + b"1" * 400 + b"]}"),
        ("/verify", b'{"responses_create_params": {"input": 18446744073709551616}}'),
    ],
)
async def test_an_integer_past_64_bits_gets_a_json_422(
    path: str,
    body: bytes,
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    # The fuzzed attack: the error serializer crashed on the echoed input (plain-text 500, a traceback each).
    async with client(make_app()) as c:
        await seeded(c)
        r = await c.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/json"
        assert r.json()["error"] == "validation_error"
        await _healthy(c)


_HUGE = 2 * 1024 * 1024
_AMPLIFIERS = {
    "a huge string in the wrong field": b'{"responses_create_params": "' + b"a" * _HUGE + b'"}',
    "a huge list of wrong items": b'{"responses_create_params": {"input": [' + b"1," * 50_000 + b"1]}}",
    "huge keys in the error's location": b'{"responses_create_params": {"' + b"k" * _HUGE + b'": 1}, "response": 1}',
    "invalid JSON": b'{"responses_create_params": "' + b"\xff" * _HUGE,
    "many invalid fields": b"[" + b"{}," * (_HUGE // 3) + b"{}]",
}


@pytest.mark.parametrize("body", list(_AMPLIFIERS.values()), ids=list(_AMPLIFIERS))
async def test_a_422_is_a_few_kib_whatever_the_body(
    body: bytes,
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
) -> None:
    # The amplification attack: a 422 echoed the whole invalid body (15 MiB in, 78.6 MB out).
    async with client(make_app()) as c:
        r = await c.post("/verify", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422
        assert len(r.content) < 8 * 1024, len(r.content)
        data = r.json()
        assert data["error"] == "validation_error" and data["detail"][0]["loc"][0] == "body"
        assert data["message"].startswith("Invalid body for POST /verify: field ")
        await _healthy(c)


async def test_a_422_lists_the_first_errors_and_counts_the_rest(
    make_app: Callable[..., GymApp], client: Callable[[GymApp], httpx.AsyncClient]
) -> None:
    async with client(make_app()) as c:
        rows = [{"reward": "x"} for _ in range(12)]
        r = await c.post("/aggregate_metrics", json={"verify_responses": [1] * 12, "rows": rows})
        assert r.status_code == 422
        data = r.json()
        assert len(data["detail"]) == 5 and data["detail"][-1]["more_errors"] == 7
        assert "(and 9 more)" in data["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
async def test_a_json_body_sent_as_another_type_gets_415(
    content_type: str,
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    # A browser may send these types cross-site without asking first; parsed as JSON they were a CSRF path.
    async with client(make_app()) as c:
        await seeded(c)
        for path, body in [("/note", b'{"text": "a"}'), ("/aggregate_metrics", b'{"verify_responses": []}')]:
            r = await c.post(path, content=body, headers={"content-type": content_type})
            assert r.status_code == 415
            data = r.json()
            assert data["error"] == "unsupported_media_type"
            assert content_type in data["detail"] and "Content-Type: application/json" in data["detail"]
        await _healthy(c)


@pytest.mark.parametrize("content_type", [None, "application/json", "application/json; charset=utf-8", "a/b+json"])
async def test_json_types_and_no_type_are_read_as_json(
    content_type: str | None,
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        await seeded(c)
        headers = {} if content_type is None else {"content-type": content_type}
        r = await c.post("/note", content=b'{"text": "a"}', headers=headers)
        assert r.status_code == 200 and r.json()["text"] == "a"


async def test_a_422_of_a_route_fastapi_resolves_is_bounded_too(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        await seeded(c)
        r = await c.post("/query_tool", params={"limit": "9" * 60_000 + "x"})
        assert r.status_code == 422
        assert len(r.content) < 8 * 1024, len(r.content)
        data = r.json()
        assert data["error"] == "validation_error" and data["detail"][0]["loc"] == ["query", "limit"]
        assert data["message"].startswith("Invalid query for POST /query_tool: field 'limit': ")
        assert (await c.post("/query_tool", params={"limit": "5"})).json()["limit"] == 5


def test_the_fuzzed_attacks_get_json_4xx_over_real_http() -> None:
    """Items 7, 8, 9 and 13 of the attack report, over a real socket: JSON 4xx answers, and the server serves on."""
    from gymhall import BaseResourcesServerConfig
    from gymhall.testing import serve_in_thread

    with serve_in_thread(Small(BaseResourcesServerConfig(name="small"))) as url, httpx.Client(base_url=url) as c:
        json_type = {"content-type": "application/json"}
        big_int = c.post("/aggregate_metrics", content=b'{"verify_responses": 18446744073709551616}', headers=json_type)
        forged = c.post("/verify", json={}, headers={"x-gymhall-session": b"abc.\xe9\xe9"})
        echoed = c.post(
            "/verify", content=b'{"responses_create_params": "' + b"a" * 4_000_000 + b'"}', headers=json_type
        )
        plain = c.post(
            "/aggregate_metrics", content=b'{"verify_responses": []}', headers={"content-type": "text/plain"}
        )
        nan = c.post("/aggregate_metrics", content=b'{"verify_responses": [{"reward": NaN}]}', headers=json_type)
        assert [r.status_code for r in (big_int, forged, echoed, plain, nan)] == [422, 403, 422, 415, 422]
        assert all(r.headers["content-type"] == "application/json" and "error" in r.json() for r in (big_int, forged))
        assert len(echoed.content) < 8 * 1024
        assert c.get("/").json() == {"status": "ok"}
        assert c.post("/seed_session", json={}).status_code == 200


# Boundaries found by the mutation run (bench/README.md, "Mutation testing"): `read_body` driven with the
# ASGI messages a server hands it, so the chunking, the declared length and a disconnect are exact.


def _receive(*messages: dict[str, object]) -> Callable[[], Awaitable[dict[str, object]]]:
    pending = list(messages)

    async def receive() -> dict[str, object]:
        assert pending, "read_body asked for a message after the body ended"
        return pending.pop(0)

    return receive


def _scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
    return {"type": "http", "method": "POST", "path": "/verify", "headers": list(headers)}


async def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read() -> None:
    with pytest.raises(BodyTooLarge) as refused:
        await read_body(_scope((b"content-length", b"11")), _receive(), 10)
    assert "(11 bytes) is over this server's limit of 10 bytes" in str(refused.value)


async def test_a_body_of_exactly_the_limit_in_chunks_is_read_whole() -> None:
    messages = [
        {"type": "http.request", "body": b"abcd", "more_body": True},
        {"type": "http.request", "body": b"efg", "more_body": True},
        {"type": "http.request", "more_body": True},  # a message may carry no body at all
        {"type": "http.request", "body": b"hij"},
    ]
    body = await read_body(_scope((b"content-length", b"10")), _receive(*messages), 10)
    assert body == b"abcdefghij"


async def test_chunks_each_under_the_limit_are_refused_once_their_sum_passes_it() -> None:
    messages = [
        {"type": "http.request", "body": b"x" * 6, "more_body": True},
        {"type": "http.request", "body": b"x" * 6, "more_body": True},
    ]
    with pytest.raises(BodyTooLarge) as refused:
        await read_body(_scope(), _receive(*messages), 10)
    assert "(12 bytes) is over this server's limit of 10 bytes" in str(refused.value)


async def test_a_disconnect_before_the_body_ends_is_a_request_error() -> None:
    messages = [{"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}]
    with pytest.raises(RequestError, match="disconnected before sending the whole body"):
        await read_body(_scope(), _receive(*messages), 10)


async def test_a_content_length_that_is_not_a_number_is_an_invalid_body() -> None:
    with pytest.raises(InvalidBody, match="Content-Length header is not a number"):
        await read_body(_scope((b"content-length", b"ten")), _receive(), 10)


async def test_a_body_not_read_as_json_takes_any_content_type() -> None:
    messages = [{"type": "http.request", "body": b"plain"}]
    body = await read_body(_scope((b"content-type", b"text/plain")), _receive(*messages), 10)
    assert body == b"plain"
    with pytest.raises(UnsupportedMediaType):
        await read_body(_scope((b"content-type", b"text/plain")), _receive(*messages), 10, json=True)
