"""Helpers for fast tests of environments: in-process clients, a real server in a thread, test data.

    from gymhall.testing import client_for, make_response, make_row

    async def test_counter():
        async with client_for(Counter()) as env:
            async with await env.seed_session(make_row(initial_count=1)) as session:
                assert await session.call("increment", by=2) == {"value": 3}
                result = await session.verify(make_response("3"))
        assert result["reward"] == 1.0

`client_for` serves the app in this process without a port (its lifespan does not run);
`serve_in_thread` runs it under uvicorn on a loopback port, lifespan and session reaper included.
Importing this module is cheap: the web stack is loaded when a helper first needs it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from gymhall.client.resources import AsyncResourcesClient, ResourcesClient
    from gymhall.server.environment import Environment
    from gymhall.server.simple import SimpleResourcesServer

from gymhall.models.fake_anthropic import FakeAnthropic
from gymhall.models.fake_openai import FakeOpenAI
from gymhall.models.fake_policy import (
    Failure,
    FakeRequest,
    Policy,
    ToolCall,
    Turn,
    counter_policy,
    echo_policy,
    scripted,
)

__all__ = [
    "Failure",
    "FakeAnthropic",
    "FakeOpenAI",
    "FakeRequest",
    "Policy",
    "ToolCall",
    "Turn",
    "client_for",
    "counter_policy",
    "echo_policy",
    "function_call",
    "function_call_output",
    "make_response",
    "make_row",
    "scripted",
    "OFFLINE_OVERRIDES",
    "serve_in_thread",
    "sync_client_for",
]


def _as_app(target: ASGIApp | SimpleResourcesServer | Environment) -> ASGIApp:
    """The ASGI app of an app, a seed-style server instance or an `Environment` instance."""
    from gymhall.server.environment import Environment, build_app
    from gymhall.server.simple import SimpleResourcesServer

    if isinstance(target, Environment):
        return build_app(target)
    if isinstance(target, SimpleResourcesServer):
        app: ASGIApp = target.setup_webserver()
        return app
    if isinstance(target, type):
        raise TypeError(f"Pass an instance, not the class: e.g. {target.__name__}(), not {target.__name__}.")
    if callable(target):
        return target
    raise TypeError(f"Expected an ASGI app, a SimpleResourcesServer or an Environment, not {type(target).__name__}.")


def client_for(target: ASGIApp | SimpleResourcesServer | Environment, **kwargs: Any) -> AsyncResourcesClient:
    """An `AsyncResourcesClient` of `target` (app, `SimpleResourcesServer` or `Environment`), in process.

    Extra keyword arguments go to the client (e.g. `timeout`). Use it with `async with`.
    """
    from gymhall.client.resources import AsyncResourcesClient

    return AsyncResourcesClient.for_app(_as_app(target), **kwargs)


def sync_client_for(target: ASGIApp | SimpleResourcesServer | Environment, **kwargs: Any) -> ResourcesClient:
    """A `ResourcesClient` of `target`, in process; for sync tests (not inside a running event loop)."""
    from gymhall.client.resources import ResourcesClient

    return ResourcesClient.for_app(_as_app(target), **kwargs)


def _message(text: str) -> dict[str, Any]:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def make_response(text: str = "", *, output: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    """A minimal valid OpenAI Responses object, as `POST /verify` expects in `response`.

    Its output is `output` (e.g. `function_call` and `function_call_output` items) followed by a final
    assistant message saying `text`; with `output` and no `text`, the message is left out.
    `fields` set or override top-level keys (e.g. `model`, `usage`).
    """
    items = list(output) if output is not None else []
    if text or output is None:
        items.append(_message(text))
    return {
        "id": "resp_test",
        "created_at": 0,
        "model": "test",
        "object": "response",
        "output": items,
        "parallel_tool_calls": False,
        "tool_choice": "auto",
        "tools": [],
        **fields,
    }


def function_call(name: str, arguments: Mapping[str, Any] | str, call_id: str = "call_test") -> dict[str, Any]:
    """A `function_call` output item: the model calling tool `name` (arguments as a mapping or JSON text)."""
    return {
        "id": f"fc_{call_id}",
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments if isinstance(arguments, str) else json.dumps(dict(arguments)),
        "status": "completed",
    }


def function_call_output(call_id: str, output: Any) -> dict[str, Any]:
    """A `function_call_output` item: the result of call `call_id` (text, or a JSON value to encode)."""
    return {
        "type": "function_call_output",
        "call_id": call_id,
        "output": output if isinstance(output, str) else json.dumps(output),
    }


def make_row(
    input: str | list[dict[str, Any]] = "",
    *,
    tools: list[dict[str, Any]] | None = None,
    **task_fields: Any,
) -> dict[str, Any]:
    """A dataset row: `responses_create_params` with `input` (and `tools`, if given) plus the task fields."""
    params: dict[str, Any] = {"input": input}
    if tools is not None:
        params["tools"] = tools
    return {"responses_create_params": params, **task_fields}


OFFLINE_OVERRIDES: dict[str, list[str]] = {
    "judge_qa": ["judge_qa_resources_server.resources_servers.judge_qa.allow_no_judge=true"],
}
"""Config overrides that let a bundled environment run with no outside service (judge_qa without a judge:
only exact answers score, which the replay model's are), by environment id."""


@contextlib.contextmanager
def serve_in_thread(
    app: ASGIApp | SimpleResourcesServer | Environment, host: str = "127.0.0.1", *, timeout: float = 10.0
) -> Iterator[str]:
    """Serve `app` with uvicorn on a free port of `host` in a background thread; yields the base URL.

    The lifespan runs (so a gymhall server's session reaper does), the URL answers `GET /` before
    the block starts, and the server stops on exit. Each wait is bounded by `timeout` seconds.
    """
    import uvicorn

    config = uvicorn.Config(
        _as_app(app),
        lifespan="on",
        ws="none",  # resources servers have no websockets; skips importing a websockets library
        log_config=None,  # leave the process's logging configuration alone
        access_log=False,
        timeout_graceful_shutdown=max(1, int(timeout / 2)),
    )
    server = uvicorn.Server(config)
    # Bound here rather than by uvicorn, so the port is known before the thread starts and cannot be taken.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, 0))
    except OSError:
        sock.close()
        raise
    port = sock.getsockname()[1]
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # uvicorn reports a failed startup with SystemExit
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"gymhall-serve-{port}", daemon=True)
    thread.start()
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    try:
        _wait_until_up(url, thread, failure, timeout)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True  # stop waiting for open connections and tasks
            thread.join(timeout)
        sock.close()


def _wait_until_up(url: str, thread: threading.Thread, failure: list[BaseException], timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as client:
        while True:
            if not thread.is_alive():
                cause = failure[0] if failure else None
                raise RuntimeError(f"The server for {url} stopped during startup (see the log).") from cause
            try:
                client.get(url + "/")
                return  # any answer, even 404, means the server is serving
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"The server for {url} did not answer GET / within {timeout} s.")
            time.sleep(0.02)
