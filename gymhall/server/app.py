"""The resources server's app: `GymApp`, the standard routes every server has, and serving it.

`GymApp` is a FastAPI app, so the seeds' `app.post("/tool")(self.tool)` works unchanged; its routes are
`GymRoute`s (`gymhall.server.route`). It dispatches exact-path routes through a dict before FastAPI's
middleware stack, which is where a generic framework spends most of a small request's time. An app with
user middleware or custom exception handlers takes the ordinary FastAPI path, with the same semantics.

Both ways of writing an environment (`SimpleResourcesServer`, seed style, and `Environment`, short
style) build their app with `create_app` and serve it with `serve_app`, so sessions, limits, errors,
`GET /tools` and the command line behave the same whichever style a server uses.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import inspect
import logging
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeAlias, TypeVar

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gymhall.config.settings import BaseResourcesServerConfig, BaseServerConfig
from gymhall.exceptions import ConfigError, InvalidBody
from gymhall.server.json_response import error_json
from gymhall.server.request_body import bounded_detail, validation_message
from gymhall.server.route import GymRoute, RouteKind
from gymhall.server.sessions import HandleSigner, Session, SessionStore
from gymhall.server.tools import strict_tool_schema
from gymhall.wire.aggregation import aggregate_metrics
from gymhall.wire.contract import SESSION_COOKIE_ATTRIBUTES, session_cookie_name
from gymhall.wire.schemas import AggregateMetricsRequest, ForkSessionRequest

__all__ = ["Forker", "GymApp", "create_app", "parse_server_config", "serve_app"]

logger = logging.getLogger("gymhall.server")

Forker: TypeAlias = Callable[[Session, Session], Awaitable[None]]
"""`(parent, child)`: give the new session `child` an independent copy of `parent`'s state."""

_COOKIE_SUFFIX = f"; {SESSION_COOKIE_ATTRIBUTES}".encode()
_ROLLOUT_PREFIX = "/ng-rollout/"


class GymApp(FastAPI):
    """A FastAPI app whose exact-path gymhall routes skip the generic middleware stack.

    Holds the server's session store, handle signer and limits (`gymhall.config.resource_limits`); every
    `GymRoute` reads them here. A tool's body is bounded by the smaller of `max_body_bytes` and
    `max_tool_body_bytes`; without them, the tool body and answer limits are `max_body_bytes`.
    """

    def __init__(
        self,
        *,
        store: SessionStore,
        signer: HandleSigner,
        session_cookie: str,
        max_body_bytes: int,
        max_tool_body_bytes: int | None = None,
        max_answer_bytes: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # FastAPI's own 422 (routes it resolves) echoes whole inputs: bounded here as on the short path.
        self.add_exception_handler(RequestValidationError, _validation_error)
        self.router.route_class = GymRoute
        self.store = store
        self.signer = signer
        self.session_cookie = session_cookie
        self.max_body_bytes = max_body_bytes
        self.max_tool_body_bytes = min(max_body_bytes, max_tool_body_bytes or max_body_bytes)
        self.max_answer_bytes = max_answer_bytes if max_answer_bytes is not None else max_body_bytes
        self.forker: Forker | None = None
        """Copies a parent session's state into a new session (`POST /fork_session`); None: 501."""
        self._cookie_prefix = f"{session_cookie}=".encode()
        self._fast: dict[tuple[str, str], GymRoute] = {}
        self._fast_key: tuple[int, int, int] | None = None
        self._default_handlers = set(self.exception_handlers)
        self.shutdown_hooks: list[Callable[[], Awaitable[None]]] = []

    async def shutdown(self) -> None:
        """Run the shutdown hooks once (closing judges, stopping worker pools); later calls do nothing.

        The server's lifespan calls it when it stops; an in-process client calls it when it is closed.
        """
        hooks, self.shutdown_hooks = self.shutdown_hooks, []
        for hook in hooks:
            try:
                await hook()
            except Exception:
                logging.getLogger("gymhall.server").exception("a shutdown hook failed")

    def add_gym_route(
        self,
        path: str,
        endpoint: Callable[..., Awaitable[Any]],
        *,
        kind: RouteKind,
        methods: list[str],
        **kwargs: Any,
    ) -> GymRoute:
        """Register a route with an explicit session rule (the standard endpoints use this)."""
        route = GymRoute(path, endpoint, kind=kind, methods=methods, **kwargs)
        self.router.routes.append(route)
        return route

    def cookie_header(self, handle: str) -> bytes:
        """The Set-Cookie value carrying `handle`; sent on every session response (NeMo Gym's agent needs it)."""
        return self._cookie_prefix + handle.encode() + _COOKIE_SUFFIX

    def gym_routes(self) -> list[GymRoute]:
        """Every `GymRoute` of the app, in registration order."""
        return [route for route in self.router.routes if isinstance(route, GymRoute)]

    def openapi(self) -> dict[str, Any]:
        """FastAPI's OpenAPI document, with the request bodies of the routes gymhall serves itself."""
        if self.openapi_schema is None:
            schema = super().openapi()
            paths = schema.get("paths", {})
            for route in self.gym_routes():
                model = route.body_model
                for method in route.methods or ():
                    operation = paths.get(route.path, {}).get(method.lower())
                    if model is not None and operation is not None:
                        body = {"application/json": {"schema": model.model_json_schema()}}
                        operation["requestBody"] = {"required": True, "content": body}
        return self.openapi_schema or {}

    def _fast_table(self) -> dict[tuple[str, str], GymRoute]:
        key = (len(self.router.routes), len(self.user_middleware), len(self.exception_handlers))
        if key != self._fast_key:
            self._fast = {}
            if not self.user_middleware and set(self.exception_handlers) == self._default_handlers:
                for route in self.gym_routes():
                    if not route.short_path:  # FastAPI resolves it, inside its own middleware stack
                        continue
                    for method in route.methods or ():
                        self._fast.setdefault((method, route.path), route)
            self._fast_key = key
        return self._fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(_ROLLOUT_PREFIX):
                # NeMo Gym's rollout-correlation prefix: /ng-rollout/<id>/<route>
                rest = path[len(_ROLLOUT_PREFIX) :].partition("/")[2]
                scope = {**scope, "path": "/" + rest, "gymhall.rollout_id": path[len(_ROLLOUT_PREFIX) :].split("/")[0]}
                path = scope["path"]
            route = self._fast_table().get((scope["method"], path))
            if route is not None:
                scope["app"] = self
                await route.handle_request(self, scope, receive, send)
                return
        await super().__call__(scope, receive, send)


async def _validation_error(request: Request, exc: Exception) -> Response:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = bounded_detail(errors)
    message = validation_message(request.method, request.url.path, detail)
    return Response(error_json(InvalidBody(message, detail=detail).to_json()), 422, media_type="application/json")


C = TypeVar("C", bound=BaseResourcesServerConfig)

DEFAULT_PORT = 8000


def create_app(
    config: BaseResourcesServerConfig,
    *,
    title: str,
    on_session_close: Callable[[Session], Awaitable[None] | None] | None = None,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
) -> GymApp:
    """A `GymApp` with the standard routes: `GET /`, `GET /tools`, `POST /close_session`, `POST /aggregate_metrics`.

    `on_shutdown` runs once when the server stops (or an in-process client of it is closed).
    """
    store = SessionStore(
        ttl_seconds=config.session_ttl_seconds, max_sessions=config.max_sessions, on_close=on_session_close
    )
    secret = config.session_secret.get_secret_value() if config.session_secret is not None else None
    signer = HandleSigner(secret)

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        # Hundreds of thousands of long-lived objects (framework and SDK types) exist by now; frozen,
        # the cyclic GC's full passes skip them, which keeps its pauses out of the latency tail.
        gc.collect()
        gc.freeze()
        reaper = asyncio.create_task(store.run_reaper(config.reaper_interval_seconds), name="gymhall-reaper")
        try:
            yield
        finally:
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper
            await app.shutdown()

    app = GymApp(
        store=store,
        signer=signer,
        session_cookie=session_cookie_name(config.name or title),
        max_body_bytes=config.max_body_bytes,
        max_tool_body_bytes=config.max_tool_body_bytes,
        max_answer_bytes=config.max_answer_bytes,
        title=title,
        lifespan=lifespan,
    )
    if on_shutdown is not None:
        app.shutdown_hooks.append(on_shutdown)
    tools_cache: dict[int, bytes] = {}

    async def health() -> dict[str, str]:
        return {"status": "ok"}

    async def list_tools() -> Response:
        key = len(app.router.routes)
        if key not in tools_cache:
            tools_cache.clear()
            tools_cache[key] = orjson.dumps(tool_schemas(app))
        return Response(tools_cache[key], media_type="application/json")

    async def close_session() -> None:  # served by the route's CLOSE rule; never called
        raise AssertionError("unreachable")

    async def fork_session(body: ForkSessionRequest) -> None:  # served by the route's FORK rule; never called
        raise AssertionError("unreachable")

    async def metrics(body: AggregateMetricsRequest) -> dict[str, Any]:
        return aggregate_metrics(body.verify_responses)

    app.add_gym_route("/", health, kind=RouteKind.PLAIN, methods=["GET"])
    app.add_gym_route("/tools", list_tools, kind=RouteKind.PLAIN, methods=["GET"])
    app.add_gym_route("/close_session", close_session, kind=RouteKind.CLOSE, methods=["POST"])
    app.add_gym_route("/fork_session", fork_session, kind=RouteKind.FORK, methods=["POST"])
    app.add_gym_route("/aggregate_metrics", metrics, kind=RouteKind.PLAIN, methods=["POST"])
    return app


def tool_schemas(app: GymApp) -> list[dict[str, Any]]:
    """OpenAI function-tool schemas (strict mode) of every tool route of `app`."""
    schemas = []
    for route in app.gym_routes():
        if route.kind is RouteKind.TOOL and route.body_model is not None:
            schemas.append(_route_schema(route, route.body_model))
    return schemas


def _route_schema(route: GymRoute, model: type[BaseModel]) -> dict[str, Any]:
    description = route.description or inspect.getdoc(route.endpoint) or ""
    return strict_tool_schema(route.path.lstrip("/"), model, description)


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve this gymhall resources server over HTTP.",
        epilog="example: python app.py --port 8000    |    python app.py --config configs/my_env.yaml",
    )
    parser.add_argument("--host", help="address to bind (default 127.0.0.1, or the config's host)")
    parser.add_argument("--port", type=int, help=f"port to bind (default {DEFAULT_PORT}, or the config's port)")
    parser.add_argument("--config", action="append", default=[], metavar="FILE", help="config YAML (repeatable)")
    parser.add_argument("--name", help="instance name in the config (needed when it defines several servers)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides, e.g. max_sessions=5000")
    return parser


def parse_server_config(config_cls: type[C], argv: Sequence[str] | None, *, default_name: str, script: str) -> C:
    """Build a server's config from command-line flags, config files and overrides."""
    from gymhall.config.loading import load_config

    args = _parser(script).parse_args(argv)
    if args.config or any(o.lstrip("+").startswith("config_paths=") for o in args.overrides):
        instance = load_config(args.config, args.overrides).resources_server(args.name)
        config = instance.config_model(config_cls)
    else:
        values: dict[str, Any] = {"name": default_name}
        for item in args.overrides:
            key, eq, value = item.lstrip("+").partition("=")
            if not eq:
                raise ConfigError(f"Override {item!r} is not KEY=VALUE. Write it as e.g. max_sessions=5000.")
            values[key] = value
        try:
            config = config_cls.model_validate(values)
        except Exception as exc:
            raise ConfigError(f"Invalid server settings on the command line: {exc}") from None
    updates: dict[str, Any] = {}
    if args.host:
        updates["host"] = args.host
    if args.port is not None:
        updates["port"] = args.port
    if config.port is None and "port" not in updates:
        updates["port"] = DEFAULT_PORT
    return config.model_copy(update=updates)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(
            f"gymhall: error: cannot listen on {host}:{port} ({exc.strerror}). "
            "Choose another port with --port, or stop what is using it."
        ) from None
    return sock


def serve_app(app: ASGIApp, config: BaseServerConfig) -> None:
    """Serve `app` with uvicorn until Ctrl-C or SIGTERM.

    The socket is bound before the URL is printed, so the printed URL (with the real port, also for
    `--port 0`) is ready to take connections. Incomplete requests time out and open connections are
    capped as `config`'s connection settings say (`gymhall.server.connections`).
    """
    import uvicorn

    from gymhall.server.connections import uvicorn_options

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from gymhall.mcp.exposure import McpExposure, wants_mcp  # the `mcp` SDK (an extra) loads only when asked

    if wants_mcp(config):  # `expose_tools_over_mcp: true`: the tools over MCP at /mcp, on this port
        title = str(getattr(app, "title", "server"))
        app = McpExposure(app, server_name=config.name or title, class_name=title)
    host = config.host
    sock = _bind(host, config.port if config.port is not None else DEFAULT_PORT)
    sock.listen(config.backlog)  # connections queue from now on, so the URL printed below is ready
    port = sock.getsockname()[1]
    display_host = f"[{host}]" if ":" in host else host
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            loop="auto",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=3,
            **uvicorn_options(config),
        )
    )
    what = config.name or getattr(app, "title", "server")
    print(f"gymhall: serving {what} on http://{display_host}:{port} (Ctrl-C to stop)", flush=True)
    server.run(sockets=[sock])
