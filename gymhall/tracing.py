"""OpenTelemetry traces of rollouts: off by default, and then nothing of OpenTelemetry is imported.

One switch: `tracer` is None while tracing is off, and every call site (`collection/agent.py`,
`client/resources.py`, `models/openai_compatible.py`, `server/route.py`) checks only that before taking
its ordinary path. `GYMHALL_OTEL=1` turns tracing on when this module is first imported (each process
of a stack inherits it); `enable_tracing(provider)` does in code. It needs the `otel` extra
(`pip install 'gymhall[otel]'`).

A rollout is one trace: `rl.rollout`, with a child span per stage: `rl.seed`, `rl.model` (each model
call; under it a `chat <model>` client span per HTTP attempt), `rl.tool` (each tool call), `rl.verify`,
`rl.close`. The W3C `traceparent` header carries the context to the resources server and the model
server, whose request handling continues the trace with a server span (`server/route.py`, and
`traced_app` for any other ASGI app). The attributes (`rl.*`, and OpenTelemetry's `http.*`, `url.*`,
`server.*`, `gen_ai.*` where they fit) are listed in the README's "Tracing" section.

gymhall uses its own tracer provider and does not install it as the global one: a process that set up
OpenTelemetry itself (`opentelemetry-instrument`) keeps its own, and gymhall uses that one instead.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ENV_SWITCH",
    "attempt",
    "disable_tracing",
    "enable_tracing",
    "model_attempt",
    "model_call",
    "resources_call",
    "rollout",
    "server_request",
    "traced_app",
    "tracer",
]

ENV_SWITCH = "GYMHALL_OTEL"
"""The environment variable that turns tracing on: `1`, `true`, `yes` or `on`; off when unset, empty or `0`."""

_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"", "0", "false", "no", "off"})
_SCOPE = "gymhall"

tracer: Tracer | None = None
"""gymhall's tracer while tracing is on; None while off. Module state on purpose: like OpenTelemetry's own
provider it is one per process, and a call site's whole cost when off is reading it."""

_provider: TracerProvider | None = None

attempt: contextvars.ContextVar[int] = contextvars.ContextVar("gymhall_rollout_attempt", default=1)
"""Which attempt at its row the rollout running in this context is (1 for the first); the collector's
retry loop sets it, and a rollout's span carries it as `rl.attempt`, so a retried row's traces tell apart."""


class _Reply(Protocol):
    @property
    def status_code(self) -> int: ...


_R = TypeVar("_R", bound=_Reply)
_Sender: TypeAlias = Callable[[str, str, bytes, Mapping[str, str]], Awaitable[_R]]
"""`(method, path, body, headers) -> reply`: one HTTP exchange, as the clients make it."""

# The stage of a request to a resources server, by its path (any other POST is a tool call).
_STAGE_OF_PATH = {
    "/seed_session": "seed",
    "/verify": "verify",
    "/close_session": "close",
    "/fork_session": "fork",
    "/tools": "tools",
    "/": "health",
}


def enable_tracing(provider: TracerProvider | None = None) -> None:
    """Turn tracing on with `provider`, else the process's global provider if one was set, else one from
    the environment (`OTEL_TRACES_EXPORTER`: `otlp`, the default, `console` or `none`; `OTEL_SERVICE_NAME`)."""
    global tracer, _provider
    try:
        from opentelemetry import trace
    except ImportError:
        raise ImportError(
            "gymhall's tracing needs OpenTelemetry, which is not installed. "
            "Install the extra (pip install 'gymhall[otel]') or unset GYMHALL_OTEL."
        ) from None
    if provider is None:
        provider = trace.get_tracer_provider()
        if type(provider).__name__ == "ProxyTracerProvider":  # nobody configured OpenTelemetry: gymhall does
            provider = _provider_from_environment()
    _provider = provider
    tracer = provider.get_tracer(_SCOPE)


def disable_tracing() -> None:
    """Turn tracing off: later rollouts and requests make no spans (the provider is left as it is)."""
    global tracer, _provider
    tracer = _provider = None


def _provider_from_environment() -> TracerProvider:
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    name = os.environ.get("OTEL_SERVICE_NAME") or "gymhall"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    choice = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    exporter: SpanExporter
    if choice == "none":
        return provider
    if choice == "console":
        exporter = ConsoleSpanExporter()
    elif choice == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise ImportError(
                "OTEL_TRACES_EXPORTER=otlp (the default) needs opentelemetry-exporter-otlp-proto-http. "
                "Install the extra (pip install 'gymhall[otel]'), or set OTEL_TRACES_EXPORTER=console or none."
            ) from None
        exporter = OTLPSpanExporter()  # reads OTEL_EXPORTER_OTLP_ENDPOINT and friends
    else:
        raise ValueError(
            f"OTEL_TRACES_EXPORTER={choice!r} is not an exporter gymhall sets up. "
            "Use otlp, console or none, or configure OpenTelemetry yourself before gymhall is imported."
        )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _switch_from_environment() -> None:
    value = os.environ.get(ENV_SWITCH, "").strip().lower()
    if value in _OFF:
        return
    if value not in _ON:
        raise ValueError(f"{ENV_SWITCH}={value!r} is neither on nor off. Set it to 1 to trace rollouts, or unset it.")
    enable_tracing()


def _active() -> Tracer:
    if tracer is None:  # a call site checks first; reaching here is a bug in it
        raise RuntimeError("gymhall.tracing was called while tracing is off; check gymhall.tracing.tracer first.")
    return tracer


def _fail(span: Span, description: str, kind: str | None = None) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.set_status(Status(StatusCode.ERROR, description))
    if kind:
        span.set_attribute("error.type", kind)


def _usage_attributes(span: Span, usage: Any) -> None:
    if isinstance(usage, Mapping):
        for key in ("input_tokens", "output_tokens"):
            if isinstance(usage.get(key), int):
                span.set_attribute(f"gen_ai.usage.{key}", usage[key])


async def rollout(
    run: Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]], row: Mapping[str, Any], *, resources_url: str
) -> dict[str, Any]:
    """`run(row)` inside an `rl.rollout` span, described by the line it returns (reward or failure)."""
    from opentelemetry.trace import Status, StatusCode

    attributes: dict[str, Any] = {
        "rl.task.index": int(row.get("_ng_task_index", 0)),
        "rl.rollout.index": int(row.get("_ng_rollout_index", 0)),
        "rl.attempt": attempt.get(),
        "rl.resources.url": resources_url,
    }
    agent = row.get("agent_ref")
    if isinstance(agent, Mapping) and isinstance(agent.get("name"), str):
        attributes["rl.agent.name"] = agent["name"]
    with _active().start_as_current_span("rl.rollout", attributes=attributes) as span:
        line = await run(row)
        span.set_attribute("rl.status", str(line.get("status", "ok")))
        for key in ("steps", "stop_reason"):
            if isinstance(line.get(key), int | str):
                span.set_attribute(f"rl.{key}", line[key])
        if isinstance(line.get("reward"), int | float):
            span.set_attribute("rl.reward", float(line["reward"]))
        response = line.get("response")
        if isinstance(response, Mapping):
            _usage_attributes(span, response.get("usage"))
        failure = line.get("failure")
        if isinstance(failure, Mapping):
            span.set_attribute("rl.failure.stage", str(failure.get("stage")))
            span.set_attribute("rl.failure.kind", str(line.get("failure_kind") or failure.get("kind") or ""))
            span.set_attribute("rl.failure.retryable", bool(failure.get("retryable")))
            _fail(span, str(failure.get("error", "")), str(failure.get("stage")))
        else:
            span.set_status(Status(StatusCode.OK))
        return line


async def model_call(
    respond: Callable[[Any], Awaitable[dict[str, Any]]], request: Any, *, model: str, step: int
) -> dict[str, Any]:
    """One model call of a rollout (`respond(request)`) inside an `rl.model` span with its token counts."""
    attributes: dict[str, Any] = {
        "rl.stage": "model",
        "rl.step": step,
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": model,
    }
    with _active().start_as_current_span("rl.model", attributes=attributes) as span:
        answer = await respond(request)
        if isinstance(answer.get("model"), str):
            span.set_attribute("gen_ai.response.model", answer["model"])
        if isinstance(answer.get("id"), str):
            span.set_attribute("gen_ai.response.id", answer["id"])
        _usage_attributes(span, answer.get("usage"))
        return answer


async def model_attempt(
    send: _Sender[_R],
    method: str,
    path: str,
    content: bytes,
    headers: Mapping[str, str],
    base_url: str,
    model: str,
) -> _R:
    """One HTTP attempt at a model server: a `chat <model>` client span, its context in the headers."""
    if method != "POST":  # `GET /models`, asked once for the model's name
        return await _client_call(send, method, path, content, headers, f"{method} {path}", base_url, {})
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model}
    return await _client_call(send, method, path, content, headers, f"chat {model}", base_url, attributes)


async def resources_call(
    send: _Sender[_R],
    method: str,
    path: str,
    content: bytes,
    headers: Mapping[str, str],
    base_url: str,
) -> _R:
    """One request to a resources server: an `rl.<stage>` client span (`rl.tool` for a tool call)."""
    stage = _STAGE_OF_PATH.get(path, "tool" if method == "POST" else "request")
    attributes: dict[str, Any] = {"rl.stage": stage}
    if stage == "tool":
        attributes["rl.tool.name"] = path.removeprefix("/")
    return await _client_call(send, method, path, content, headers, f"rl.{stage}", base_url, attributes)


async def _client_call(
    send: _Sender[_R],
    method: str,
    path: str,
    content: bytes,
    headers: Mapping[str, str],
    name: str,
    base_url: str,
    attributes: dict[str, Any],
) -> _R:
    from urllib.parse import urlsplit

    from opentelemetry.propagate import inject
    from opentelemetry.trace import SpanKind

    url = urlsplit(base_url)
    attributes |= {"http.request.method": method, "url.full": base_url + path}
    if url.hostname:
        attributes["server.address"] = url.hostname
    if url.port:
        attributes["server.port"] = url.port
    with _active().start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes) as span:
        carried = dict(headers)
        inject(carried)  # W3C traceparent (and tracestate, baggage) of this span
        try:
            reply = await send(method, path, content, carried)
        except Exception as exc:
            _fail(span, f"{type(exc).__name__}: {exc}", type(exc).__name__)
            raise
        span.set_attribute("http.response.status_code", reply.status_code)
        if reply.status_code >= 500:  # a 4xx is the caller's (a tool's refusal the model reads), not an error here
            _fail(span, f"status {reply.status_code}", str(reply.status_code))
        return reply


async def server_request(
    handle: Callable[[Scope, Receive, Send], Awaitable[None]],
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    server: str | None = None,
) -> None:
    """Serve one request inside a server span that continues the caller's trace (its `traceparent`)."""
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    carrier = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope.get("headers", ())}
    method, path = scope.get("method", "GET"), scope.get("path", "/")
    attributes: dict[str, Any] = {"http.request.method": method, "url.path": path, "http.route": path}
    if server:
        attributes["rl.server.name"] = server
    span_name = f"{method} {path}"
    with _active().start_as_current_span(
        span_name, context=extract(carrier), kind=SpanKind.SERVER, attributes=attributes
    ) as span:

        async def status_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                span.set_attribute("http.response.status_code", message["status"])
                if message["status"] >= 500:
                    _fail(span, f"status {message['status']}", str(message["status"]))
            await send(message)

        await handle(scope, receive, status_send)


def traced_app(app: ASGIApp, *, server: str | None = None) -> ASGIApp:
    """`app` with a server span per HTTP request while tracing is on (a model server, an agent server)."""

    async def traced(scope: Scope, receive: Receive, send: Send) -> None:
        if tracer is None or scope["type"] != "http":
            await app(scope, receive, send)
            return
        await server_request(app, scope, receive, send, server=server)

    return traced


_switch_from_environment()
