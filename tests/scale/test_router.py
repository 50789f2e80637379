"""`ReplicaRouter` without Ray: two real counter servers over loopback, each signing with its own secret.

The router is driven in process (httpx's ASGI transport) and passes requests to the replicas over real
HTTP, as it does under `gymhall serve --ray`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gymhall import BaseResourcesServerConfig
from gymhall.client.http import jarless_cookies
from gymhall.client.resources import AsyncResourcesClient, ResourcesClient
from gymhall.scale.router import REPLICA_HEADER, Replica, ReplicaRouter
from gymhall.server.sessions import HandleSigner
from gymhall.testing import serve_in_thread
from gymhall.wire.contract import SESSION_HEADER, session_cookie_name

_COUNTER = importlib.util.spec_from_file_location(
    "gymhall_router_test_counter", Path(__file__).resolve().parents[2] / "examples" / "counter" / "counter.py"
)
assert _COUNTER is not None and _COUNTER.loader is not None
counter = importlib.util.module_from_spec(_COUNTER)
_COUNTER.loader.exec_module(counter)
Counter = counter.Counter

NAME = "counter"
SECRETS = ("replica-zero-secret-0123456789", "replica-one-secret-0123456789")


@dataclass
class Fleet:
    urls: list[str]


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with ExitStack() as stack:
        urls = []
        for secret in SECRETS:
            config = BaseResourcesServerConfig.model_validate(
                {"name": NAME, "domain": "games", "session_secret": secret}
            )
            urls.append(stack.enter_context(serve_in_thread(Counter(config))))
        yield Fleet(urls)


def make_router(fleet: Fleet, **kwargs: object) -> ReplicaRouter:
    replicas = [
        Replica(NAME, index, url, f"node{index}", "127.0.0.1", HandleSigner(secret))
        for index, (url, secret) in enumerate(zip(fleet.urls, SECRETS, strict=True))
    ]
    return ReplicaRouter(NAME, replicas, cookie_name=session_cookie_name(NAME), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def routed(fleet: Fleet) -> AsyncIterator[tuple[ReplicaRouter, httpx.AsyncClient]]:
    router = make_router(fleet)
    transport = httpx.ASGITransport(app=router)
    async with httpx.AsyncClient(transport=transport, base_url="http://router", cookies=jarless_cookies()) as client:
        yield router, client
    await router.aclose()


async def seed(client: httpx.AsyncClient, start: int) -> tuple[str, str]:
    reply = await client.post("/seed_session", json={"initial_count": start})
    assert reply.status_code == 200, reply.text
    return reply.headers[SESSION_HEADER], reply.headers[REPLICA_HEADER]


async def test_sessions_stick_to_the_replica_that_seeded_them(
    routed: tuple[ReplicaRouter, httpx.AsyncClient],
) -> None:
    router, client = routed
    sessions = [(start, *await seed(client, start * 100)) for start in range(6)]
    assert {replica for _, _, replica in sessions} == {f"{NAME}#0", f"{NAME}#1"}  # seeds are shared out

    async def play(start: int, handle: str, replica: str) -> None:
        for step in range(1, 21):
            reply = await client.post("/increment", json={"by": 1}, headers={SESSION_HEADER: handle})
            assert reply.status_code == 200, reply.text
            assert reply.headers[REPLICA_HEADER] == replica
            assert reply.json() == {"value": start * 100 + step}

    await asyncio.gather(*(play(*session) for session in sessions))


async def test_the_cookie_routes_as_the_header_does_and_passes_unchanged(
    routed: tuple[ReplicaRouter, httpx.AsyncClient],
) -> None:
    _, client = routed
    first = await client.post("/seed_session", json={"initial_count": 7})
    replica = first.headers[REPLICA_HEADER]
    cookie = first.cookies[session_cookie_name(NAME)]
    assert cookie == first.headers[SESSION_HEADER]  # the replica's Set-Cookie, passed on unchanged
    for expected in (8, 9, 10):
        cookie_header = {"cookie": f"other=1; {session_cookie_name(NAME)}={cookie}"}
        reply = await client.post("/increment", json={"by": 1}, headers=cookie_header)
        assert (reply.headers[REPLICA_HEADER], reply.json()) == (replica, {"value": expected})


async def test_a_seed_with_an_old_cookie_is_still_shared_out(routed: tuple[ReplicaRouter, httpx.AsyncClient]) -> None:
    _, client = routed
    first = await client.post("/seed_session", json={})
    jar = {"cookie": f"{session_cookie_name(NAME)}={first.headers[SESSION_HEADER]}"}
    replicas = {(await client.post("/seed_session", json={}, headers=jar)).headers[REPLICA_HEADER] for _ in range(4)}
    assert replicas == {f"{NAME}#0", f"{NAME}#1"}


async def test_gymhalls_own_client_through_the_router(fleet: Fleet) -> None:
    router = make_router(fleet)
    env = AsyncResourcesClient("http://router", transport=httpx.ASGITransport(app=router))
    async with env:
        sessions = [await env.seed_session({"initial_count": n}) for n in range(4)]
        for _ in range(5):
            for session in sessions:
                await session.call("increment", by=2)
        values = [await session.call("increment", by=0) for session in sessions]
    assert values == [{"value": n + 10} for n in range(4)]
    await router.aclose()


async def test_gymhalls_client_follows_the_replica_named_at_the_seed_past_the_router(fleet: Fleet) -> None:
    router = make_router(fleet)
    with serve_in_thread(router) as router_url:
        probes = sum(replica.requests for replica in router.replicas)  # serve_in_thread's GET /
        async with AsyncResourcesClient(router_url) as env:
            sessions = [await env.seed_session({"initial_count": 10 * n}) for n in range(4)]
            assert sorted(session.replica_url or "" for session in sessions) == sorted(fleet.urls * 2)
            for _ in range(5):
                for session in sessions:
                    await session.call("increment", by=1)
            forks = await sessions[0].fork(2)
            assert [fork.replica_url for fork in forks] == [sessions[0].replica_url] * 2
            assert [await fork.call("increment", by=1) for fork in forks] == [{"value": 6}] * 2
            assert [await session.call("increment", by=0) for session in sessions] == [
                {"value": 10 * n + 5} for n in range(4)
            ]
            for session in sessions:
                await session.close()
    assert sum(replica.requests for replica in router.replicas) == probes + 4  # the seeds; the rest went direct


def test_the_sync_client_follows_the_replica_too(fleet: Fleet) -> None:
    router = make_router(fleet)
    with serve_in_thread(router) as router_url, ResourcesClient(router_url) as env:
        probes = sum(replica.requests for replica in router.replicas)
        session = env.seed_session({"initial_count": 3})
        assert session.replica_url in fleet.urls
        assert [session.call("increment", by=1) for _ in range(3)] == [{"value": 4}, {"value": 5}, {"value": 6}]
    assert sum(replica.requests for replica in router.replicas) == probes + 1


async def test_a_down_replicas_sessions_get_503_naming_it_and_the_others_go_on(fleet: Fleet) -> None:
    router = make_router(fleet)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=router), base_url="http://router", cookies=jarless_cookies()
    ) as client:
        sessions = [await seed(client, n) for n in range(4)]
        lost = [handle for handle, replica in sessions if replica == f"{NAME}#1"]
        kept = [handle for handle, replica in sessions if replica == f"{NAME}#0"]
        assert lost and kept
        router.mark_down(router.replicas[1], "its actor died (test)")
        for handle in lost:
            reply = await client.post("/increment", json={"by": 1}, headers={SESSION_HEADER: handle})
            assert reply.status_code == 503
            body = reply.json()
            assert body["error"] == "replica_down" and body["replica"] == f"{NAME}#1"
            assert f"replica {NAME}#1" in body["detail"] and "its actor died (test)" in body["detail"]
            assert "POST /seed_session" in body["detail"]  # the fix
        for handle in kept:
            reply = await client.post("/increment", json={"by": 1}, headers={SESSION_HEADER: handle})
            assert reply.status_code == 200 and reply.headers[REPLICA_HEADER] == f"{NAME}#0"
        assert {(await seed(client, 0))[1] for _ in range(4)} == {f"{NAME}#0"}  # new seeds avoid the down one
        router.mark_down(router.replicas[0], "node lost")
        reply = await client.post("/seed_session", json={})
        assert reply.status_code == 503 and reply.json()["error"] == "no_replica"
        assert f"{NAME}#0: node lost" in reply.json()["detail"]
    await router.aclose()


async def test_a_handle_no_replica_signed_gets_the_servers_own_refusal(
    routed: tuple[ReplicaRouter, httpx.AsyncClient],
) -> None:
    router, client = routed
    forged = HandleSigner("some-other-secret-0123456789").sign("abc")
    assert router.owner(forged) is None
    reply = await client.post("/increment", json={"by": 1}, headers={SESSION_HEADER: forged})
    assert reply.status_code in (400, 401, 403, 404) and "signature" in reply.text


async def test_a_replica_that_does_not_answer_is_named_in_a_502(fleet: Fleet) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed below: nothing listens there
    router = ReplicaRouter(NAME, [Replica(NAME, 0, f"http://127.0.0.1:{port}")])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=router), base_url="http://router", cookies=jarless_cookies()
    ) as client:
        reply = await client.get("/")
    assert reply.status_code == 502 and reply.json()["replica"] == f"{NAME}#0"
    assert f"127.0.0.1:{port}" in reply.json()["detail"]
    await router.aclose()


async def test_a_body_over_the_routers_limit_is_refused(fleet: Fleet) -> None:
    router = make_router(fleet, max_body_bytes=1000)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=router), base_url="http://router", cookies=jarless_cookies()
    ) as client:
        reply = await client.post("/seed_session", content=b"x" * 2000)
    assert reply.status_code == 413 and "1000 bytes" in reply.json()["detail"]
    await router.aclose()
