"""Any resources server's tools over MCP: the `/mcp` endpoint beside its HTTP routes, as NeMo Gym 0.7 serves it.

`McpExposure` wraps the server's app. At `/mcp` it answers MCP's streamable HTTP transport (stateless,
plain JSON replies, as NeMo Gym's `mcp_auto_exposure`); every other request goes to the app unchanged,
except that a `POST /seed_session` answer gains the session's MCP metadata (`"mcp"`, or `resources_tools`
in an Environment Server's typed answer): `{"server_name", "url_path": "/mcp", "transport": "http",
"headers": {"X-NeMo-Gym-Session-Token": <token>}}`.

MCP calls are served by the app's own routes, in process: `tools/list` is `GET /tools` (the same strict
schemas), `tools/call` is `POST /<tool>` with the token's session handle, so session rules (unknown,
closed, expired sessions), body validation (422) and `ToolError` hold exactly as over HTTP, and each
comes back as an MCP tool error (`isError`) whose text the model reads.

A session is named by the token only (the transport is stateless). A client that comes without one, a
generic MCP client rather than NeMo Gym's, sees one more tool, `seed_session` (optional `row`): it seeds a
session and answers the metadata, whose header the client sends on its next connection.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gymhall.exceptions import InvalidSessionHandle
from gymhall.mcp.token import MCP_SESSION_HEADER, SessionToken, TokenSigner
from gymhall.wire.contract import SESSION_HEADER

__all__ = ["MCP_PATH", "SEED_TOOL", "McpExposure", "wants_mcp"]

MCP_PATH = "/mcp"
SEED_TOOL = "seed_session"
_MISSING_TOKEN = (
    f"Missing {MCP_SESSION_HEADER} for Gym MCP tool call. Seed a session first (POST /seed_session answers "
    f"the header in its `mcp` metadata, or call the `{SEED_TOOL}` tool) and send the header on each request."
)
_SEED_SUFFIX = "/seed_session"
_ROLLOUT_PREFIX = "/ng-rollout/"
_token_header: contextvars.ContextVar[str | None] = contextvars.ContextVar("gymhall_mcp_token", default=None)


def wants_mcp(config: object) -> bool:
    """Whether a server's config asks for MCP (`expose_tools_over_mcp`, a bool or its text from a command line)."""
    value = getattr(config, "expose_tools_over_mcp", None)
    if value is None:
        value = (getattr(config, "model_extra", None) or {}).get("expose_tools_over_mcp")
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _is_seed(scope: Scope) -> bool:
    path: str = scope["path"]
    if scope["method"] != "POST" or not path.endswith(_SEED_SUFFIX):
        return False
    return path == _SEED_SUFFIX or (path.startswith(_ROLLOUT_PREFIX) and path.count("/") == 3)


class McpExposure:
    """The ASGI app serving `app` and, at `/mcp`, its tools over MCP (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, server_name: str, class_name: str) -> None:
        from mcp.server.lowlevel import Server
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
        from mcp.server.transport_security import TransportSecuritySettings

        self.app = app
        self.server_name = server_name
        self.signer = TokenSigner(class_name, server_name)
        self._server: Any = Server(server_name, on_list_tools=self._list_tools, on_call_tool=self._call_tool)
        # NeMo Gym's settings: stateless, JSON replies, no DNS-rebinding check (servers sit behind a cluster's hosts).
        self._manager = StreamableHTTPSessionManager(
            self._server,
            stateless=True,
            json_response=True,
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )

    def metadata(self, handle: str) -> dict[str, Any]:
        """The MCP metadata a seed answer carries for the session `handle`."""
        token = self.signer.sign(SessionToken(handle))
        return {
            "server_name": self.server_name,
            "url_path": MCP_PATH,
            "transport": "http",
            "headers": {MCP_SESSION_HEADER: token},
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            async with self._manager.run():  # the MCP task group lives as long as the server
                await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == MCP_PATH or path.startswith(MCP_PATH + "/"):
            wanted = MCP_SESSION_HEADER.lower().encode()
            token = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == wanted), None)
            reset = _token_header.set(token)  # the SDK's request task is started from this one: it sees it
            try:
                await self._manager.handle_request(scope, receive, send)
            finally:
                _token_header.reset(reset)
            return
        if _is_seed(scope):
            await self._seed_with_metadata(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _seed_with_metadata(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        headers = list(start.get("headers", []))
        handle = next((v.decode() for k, v in headers if k.lower() == SESSION_HEADER.encode()), None)
        if start.get("status") == 200 and handle:
            with contextlib.suppress(orjson.JSONDecodeError):
                answer = orjson.loads(body) if body else {}
                if isinstance(answer, dict):
                    key = "resources_tools" if "resources_session_id" in answer else "mcp"
                    answer[key] = self.metadata(handle)
                    body = orjson.dumps(answer)
                    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                    headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start.get("status", 500), "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _request(
        self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One request to the wrapped app, in process: its status, headers and body."""
        raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": raw_headers,
            "client": ("127.0.0.1", 0),
            "server": ("127.0.0.1", 0),
            "state": {},
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        answer_headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                answer_headers.update((k.decode().lower(), v.decode("latin-1")) for k, v in message["headers"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, answer_headers, b"".join(chunks)

    async def _tool_schemas(self) -> list[dict[str, Any]]:
        status, _, body = await self._request("GET", "/tools")
        if status != 200:
            raise RuntimeError(f"GET /tools answered {status}: {body[:200]!r}")
        schemas: list[dict[str, Any]] = orjson.loads(body)
        return schemas

    async def _list_tools(self, ctx: Any, params: Any) -> Any:
        import mcp_types as types

        token = self._token()
        allowed = token.tools if isinstance(token, SessionToken) else None
        tools = [
            types.Tool(name=s["name"], description=s.get("description") or None, input_schema=s["parameters"])
            for s in await self._tool_schemas()
            if allowed is None or s["name"] in allowed
        ]
        if _token_header.get() is None:
            tools.append(
                types.Tool(
                    name=SEED_TOOL,
                    description=(
                        "Start a session of this environment, optionally from a dataset row; answers the "
                        f"{MCP_SESSION_HEADER} header to send on the requests that use it."
                    ),
                    input_schema={
                        "type": "object",
                        "properties": {"row": {"type": "object", "description": "the dataset row to seed from"}},
                    },
                )
            )
        return types.ListToolsResult(tools=tools)

    def _token(self) -> SessionToken | str | None:
        """The request's token, an error text when it is refused, or None when there is none."""
        text = _token_header.get()
        if text is None:
            return None
        try:
            return self.signer.unsign(text)
        except InvalidSessionHandle as exc:
            return str(exc)

    async def _call_tool(self, ctx: Any, params: Any) -> Any:
        name: str = params.name
        arguments: dict[str, Any] = dict(params.arguments or {})
        if name == SEED_TOOL and _token_header.get() is None:
            return await self._seed_tool(arguments)
        token = self._token()
        if token is None:
            return _error(_MISSING_TOKEN)
        if isinstance(token, str):
            return _error(token)
        names = [s["name"] for s in await self._tool_schemas()]
        if name not in names:
            return _error(f"Unknown tool: {name}. This server's tools are: {', '.join(names) or 'none'}.")
        if token.tools is not None and name not in token.tools:
            return _error(f"Tool {name} is not allowed in this session; it may call: {', '.join(token.tools)}.")
        status, _, body = await self._request("POST", f"/{name}", orjson.dumps(arguments), {SESSION_HEADER: token.sid})
        return _result(name, status, body)

    async def _seed_tool(self, arguments: dict[str, Any]) -> Any:
        row = arguments.get("row") or {}
        if not isinstance(row, dict):
            return _error(f"{SEED_TOOL}: `row` must be a JSON object (a dataset row), not {type(row).__name__}.")
        status, headers, body = await self._request("POST", _SEED_SUFFIX, orjson.dumps(row))
        if status != 200 or SESSION_HEADER not in headers:
            return _result(SEED_TOOL, status if status != 200 else 500, body)
        return _result(SEED_TOOL, 200, orjson.dumps(self.metadata(headers[SESSION_HEADER])))


def _error(text: str) -> Any:
    import mcp_types as types

    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def _result(name: str, status: int, body: bytes) -> Any:
    """An HTTP answer of tool `name` as an MCP tool result: its JSON as text (and structured), or an error."""
    import mcp_types as types

    try:
        answer: Any = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        answer = body.decode("utf-8", "replace")
    if status != 200:
        message = answer.get("message") or answer.get("detail") if isinstance(answer, dict) else answer
        if not isinstance(message, str):
            message = orjson.dumps(message).decode()
        code = answer.get("error", "error") if isinstance(answer, dict) else "error"
        return _error(f"{name} failed ({status} {code}): {message}")
    text = answer if isinstance(answer, str) else orjson.dumps(answer).decode()
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=answer if isinstance(answer, dict) else None,
        is_error=False,
    )
