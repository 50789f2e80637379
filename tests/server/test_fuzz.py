"""Property-based fuzzing of every route of every bundled environment: never a 5xx, always JSON, still healthy.

Each bundled environment's app is built in process from its config; Hypothesis sends it bodies shaped by
the route's OpenAPI schema, random JSON and raw bytes, laced with hostile values (integers beyond 64 bits,
NaN and infinities, deep nesting, long strings, wrong types, lone surrogates), under varied content types,
with no handle, a forged or non-ASCII one, or a live session's. CI runs a bounded, derandomized pass;
`GYMHALL_FUZZ_EXAMPLES=2000 python -m pytest tests/server/test_fuzz.py` is the release check (bench/README.md).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gymhall.config.loading import load_config
from gymhall.config.registry import list_envs
from gymhall.server.app import GymApp, tool_schemas
from gymhall.server.entrypoints import build_server_app
from gymhall.testing import OFFLINE_OVERRIDES, make_response
from gymhall.wire.contract import SESSION_HEADER

EXAMPLES = int(os.environ.get("GYMHALL_FUZZ_EXAMPLES", "50"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),
    derandomize="GYMHALL_FUZZ_EXAMPLES" not in os.environ,  # CI: the same examples every run, no flakes
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
ENV_IDS = [spec.id for spec in list_envs()]

# Values that broke or strained a server before (issue 11): integers beyond 64 bits, non-finite floats,
# long strings, lone surrogates, NUL and non-ASCII text.
HOSTILE_SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**64, -(2**64) - 1, 2**63, 10**400, -1, 0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["x" * 200_000, "\x00", "\ud800", "é" * 1000, "\u202e", "{}", "null", "../../etc/passwd"]),
)
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    HOSTILE_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=16,
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
        None,
    ]
)
HANDLES = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.sampled_from(["é.é", "a.b.c", "x" * 5000, "..", "\u00ff" * 40]),
)


def schema_values(schema: Mapping[str, Any], defs: Mapping[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped by the JSON schema `schema`, with a hostile value in place of any node now and then."""
    if depth > 6:
        return HOSTILE_SCALARS
    shaped = _shaped(schema, defs, depth)
    if depth == 0:
        return shaped
    # One node in ten is hostile, so that most bodies get past validation into the handler.
    return st.integers(0, 9).flatmap(lambda roll: HOSTILE_SCALARS if roll == 0 else shaped)


def _shaped(schema: Mapping[str, Any], defs: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if "$ref" in schema:
        target = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
        return st.deferred(lambda: schema_values(target, defs, depth + 1))
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return st.one_of([schema_values(option, defs, depth + 1) for option in schema[key]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        fields = {name: schema_values(sub, defs, depth + 1) for name, sub in properties.items()}
        return st.fixed_dictionaries(
            {name: value for name, value in fields.items() if name in required},
            optional={name: value for name, value in fields.items() if name not in required},
        )
    if kind == "array":
        return st.lists(schema_values(schema.get("items", {}), defs, depth + 1), max_size=3)
    simple = {
        "string": st.text(max_size=20),
        "integer": st.integers(min_value=-(2**70), max_value=2**70),
        "number": st.floats(allow_nan=True, allow_infinity=True),
        "boolean": st.booleans(),
        "null": st.none(),
    }
    if isinstance(kind, str) and kind in simple:
        return simple[kind]
    return JSON_VALUES


def encode(value: Any) -> bytes:
    """JSON text of `value`, big integers and NaN included (what a hostile client can send)."""
    return json.dumps(value, allow_nan=True).encode()


@dataclass
class Target:
    """One bundled environment's app, a row of its dataset, and its POST routes' body schemas."""

    env_id: str
    app: GymApp
    row: dict[str, Any]
    bodies: dict[str, st.SearchStrategy[Any]]
    tools: dict[str, st.SearchStrategy[Any]]


def _target(env_id: str) -> Target:
    spec = next(spec for spec in list_envs() if spec.id == env_id)
    app = build_server_app(load_config([str(spec.config)], OFFLINE_OVERRIDES.get(env_id, [])).resources_server())
    row = orjson.loads(spec.dataset.read_bytes().splitlines()[0])
    schema = app.openapi()
    defs = schema.get("components", {}).get("schemas", {})
    bodies: dict[str, st.SearchStrategy[Any]] = {}
    for path, operations in schema["paths"].items():
        post = operations.get("post")
        if post is None:
            continue
        body = post.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        bodies[path] = schema_values(body, {**defs, **body.get("$defs", {})})
    tools = {
        "/" + tool["name"]: schema_values(tool["parameters"], tool["parameters"].get("$defs", {}))
        for tool in tool_schemas(app)
    }
    return Target(env_id, app, row, bodies, tools)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


@pytest.fixture(scope="module")
def targets() -> dict[str, Target]:
    return {env_id: _target(env_id) for env_id in ENV_IDS}


def _client(app: GymApp) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://fuzz")


def _held(response: httpx.Response, what: str) -> Any:
    """The JSON body of `response`, after asserting it is not a 5xx."""
    assert response.status_code < 500, f"{what}: {response.status_code} {response.content[:500]!r}"
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise AssertionError(f"{what}: {response.status_code}, not JSON: {response.content[:500]!r}") from None


async def _still_healthy(client: httpx.AsyncClient) -> None:
    health = await client.get("/")
    assert health.status_code == 200 and health.json() == {"status": "ok"}


async def _seed(client: httpx.AsyncClient, target: Target) -> str:
    seeded = await client.post("/seed_session", json=target.row)
    assert seeded.status_code == 200, seeded.text[:500]
    return seeded.headers[SESSION_HEADER]


def _raw_body(data: st.DataObject, target: Target, path: str) -> bytes:
    kind = data.draw(st.sampled_from(["schema", "json", "bytes", "deep"]), label="body kind")
    if kind == "schema":
        return encode(data.draw(target.bodies.get(path, JSON_VALUES), label="schema-shaped body"))
    if kind == "json":
        return encode(data.draw(JSON_VALUES, label="json body"))
    if kind == "bytes":
        return data.draw(st.binary(max_size=200), label="raw body")
    depth = data.draw(st.integers(min_value=1, max_value=1_000_000), label="nesting depth")
    opener, closer = data.draw(st.sampled_from([("[", "]"), ('{"a":', "}")]), label="brackets")
    return (opener * depth + "1" + closer * depth).encode()


@pytest.mark.parametrize("env_id", ENV_IDS)
@FUZZ
@given(data=st.data())
def test_any_body_on_any_route_gets_a_json_answer_below_500(
    env_id: str, data: st.DataObject, targets: dict[str, Target], loop: asyncio.AbstractEventLoop
) -> None:
    target = targets[env_id]
    path = data.draw(st.sampled_from(sorted(target.bodies)), label="route")
    body = _raw_body(data, target, path)
    content_type = data.draw(CONTENT_TYPES, label="content type")
    handle_kind = data.draw(st.sampled_from(["none", "live", "forged"]), label="handle")
    forged = data.draw(HANDLES, label="forged handle")

    async def attack() -> None:
        async with _client(target.app) as client:
            headers: dict[str, Any] = {} if content_type is None else {"content-type": content_type}
            if handle_kind == "live":
                headers[SESSION_HEADER] = await _seed(client, target)
            elif handle_kind == "forged" and forged is not None:
                headers[SESSION_HEADER] = forged.encode("utf-8", "surrogatepass")
            response = await client.post(path, content=body, headers=headers)
            _held(response, f"{env_id} POST {path}")
            if handle_kind == "live":
                _held(await client.post("/close_session", headers=headers), f"{env_id} close")
            await _still_healthy(client)

    loop.run_until_complete(attack())


@pytest.mark.parametrize("env_id", ENV_IDS)
@FUZZ
@given(data=st.data())
def test_a_session_of_fuzzed_tool_calls_then_verify_and_close_stays_below_500(
    env_id: str, data: st.DataObject, targets: dict[str, Target], loop: asyncio.AbstractEventLoop
) -> None:
    target = targets[env_id]
    tools = sorted(target.tools)
    calls = data.draw(st.lists(st.sampled_from(tools), max_size=4), label="tool calls") if tools else []
    arguments = [data.draw(target.tools[name], label=f"{name} arguments") for name in calls]
    text = data.draw(st.text(max_size=200) | st.sampled_from(["x" * 100_000, "\ud800", "NaN"]), label="answer")

    async def session() -> None:
        async with _client(target.app) as client:
            headers = {SESSION_HEADER: await _seed(client, target)}
            for name, value in zip(calls, arguments, strict=True):
                _held(await client.post(name, content=encode(value), headers=headers), f"{env_id} {name}")
            verify = {**target.row, "response": make_response(text)}
            _held(await client.post("/verify", content=encode(verify), headers=headers), f"{env_id} verify")
            _held(await client.post("/close_session", headers=headers), f"{env_id} close")
            for name in calls[:1]:  # a tool call on the closed session: a 4xx, not a crash
                after = await client.post(name, content=encode(arguments[0]), headers=headers)
                _held(after, f"{env_id} {name} after close")
                assert 400 <= after.status_code < 500
            await _still_healthy(client)

    loop.run_until_complete(session())
