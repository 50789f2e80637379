"""`McpEnvironment`: any MCP server as a gymhall environment, its tools the environment's tools.

    notes_env:
      resources_servers:
        notes:
          entrypoint: environment.py          # class NotesEnvironment(McpEnvironment): a file, or
          command: [python, server.py]        #   entrypoint: gymhall.mcp.environment:McpEnvironment
          verify: grading:verify              # async def verify(session: McpSession, body) -> float
          domain: agent

The server is an MCP server's stdio `command` (each gymhall session starts its own process unless
`shared: true`) or a streamable HTTP `url` (each gymhall session opens its own MCP session). Its tools
are listed once when the app is built and served as `POST /<tool>` with strict schemas
(`gymhall.mcp.schemas`); a tool's MCP error comes back as a `ToolError` the model reads. A row's
`mcp_setup` (a list of `{"name", "arguments"}`) is called when its session is seeded, and `verify` is the
callable the config names, given the session (its tools) and the verify body. A relative `cwd` and the
command's paths resolve from the directory of the file defining the environment class (`python` is this
interpreter). Every stdio process ends when its session closes, when the server stops, and when the
server's process dies (`gymhall.mcp.connection`).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

from gymhall.config.settings import BaseResourcesServerConfig
from gymhall.exceptions import ConfigError, ForkUnsupported, ToolError
from gymhall.mcp.connection import McpConnection
from gymhall.mcp.schemas import from_model_arguments, strict_input_schema
from gymhall.server.environment import Environment
from gymhall.server.tools import ToolSpec
from gymhall.wire.contract import RESERVED_ROUTES, TOOL_NAME
from gymhall.wire.schemas import BaseSeedSessionRequest, BaseVerifyRequest

__all__ = ["McpEnvironment", "McpEnvironmentConfig", "McpSession", "tool_answer"]

SETUP_KEY = "mcp_setup"
"""A row's calls made when its session is seeded: `[{"name": ..., "arguments": {...}}]`."""


class McpEnvironmentConfig(BaseResourcesServerConfig):
    """Settings of an `McpEnvironment`: which MCP server, how sessions map to it, and the verify callable."""

    command: list[str] | None = None
    url: str | None = None
    env: dict[str, str] = {}
    cwd: str | None = None
    headers: dict[str, str] = {}
    shared: bool = False
    verify: str | None = None
    call_timeout_s: float = 30.0


@dataclass
class McpSession:
    """A gymhall session of an `McpEnvironment`: its MCP connection and its row. `verify` receives it."""

    connection: McpConnection
    row: dict[str, Any] = field(default_factory=dict)

    async def call(self, name: str, /, **arguments: Any) -> Any:
        """Call tool `name` on the session's MCP server: its answer, or `ToolError` with its error text."""
        return tool_answer(name, await self.connection.call_tool(name, arguments))


def tool_answer(name: str, result: Any) -> Any:
    """A `CallToolResult` as a tool answer: its structured content, else its text; an MCP error raises `ToolError`."""
    texts = [block.text for block in result.content if getattr(block, "type", None) == "text"]
    if result.is_error:
        raise ToolError(f"{name}: " + ("\n".join(texts) or "the MCP tool reported an error"))
    if result.structured_content is not None:
        return result.structured_content
    if len(texts) == 1 and len(result.content) == 1:
        return texts[0]
    return [block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in result.content]


Verify = Callable[[McpSession, BaseVerifyRequest], "float | Mapping[str, Any] | Awaitable[float | Mapping[str, Any]]"]


def _load_verify(spec: str | None, owner: str) -> Verify:
    if not spec or ":" not in spec:
        raise ConfigError(
            f"{owner}: `verify` must name a Python callable as package.module:function (got {spec!r}).\n"
            "  Fix: e.g. verify: my_env.grading:verify, where verify(session, body) returns a reward"
        )
    module_name, _, attr = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"{owner}: cannot load verify {spec!r} ({exc}).\n  Fix: name an importable callable"
        ) from None
    if not callable(target):
        raise ConfigError(f"{owner}: verify {spec!r} is not callable.\n  Fix: name a function(session, body)")
    return target  # type: ignore[no-any-return]


class _Arguments(BaseModel):
    """The body of one MCP tool's route: checked against its strict schema, passed on as is."""

    model_config = ConfigDict(extra="allow")
    gymhall_schema: ClassVar[dict[str, Any] | None] = None  # the tool's strict schema, set on each subclass

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        import jsonschema

        schema = cls.gymhall_schema
        if schema is not None:
            error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "arguments"
                raise ValueError(f"{where}: {error.message}")
        return data

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        schema: dict[str, Any] = dict(cls.gymhall_schema or {})
        return schema


def _arguments_model(name: str, schema: dict[str, Any]) -> type[BaseModel]:
    title = "".join(part.capitalize() for part in name.replace("-", "_").split("_")) + "Arguments"
    return type(title, (_Arguments,), {"__module__": __name__, "gymhall_schema": schema})


class McpEnvironment(Environment):
    """An environment whose tools are an MCP server's (see the module docstring)."""

    config_class = McpEnvironmentConfig
    config: McpEnvironmentConfig
    domain = "agent"

    def __init__(self, config: BaseResourcesServerConfig | None = None) -> None:
        super().__init__(config)
        if not isinstance(self.config, McpEnvironmentConfig):
            self.config = McpEnvironmentConfig.model_validate(self.config.model_dump())
        owner = f"{type(self).__name__} ({self.config.name})"
        if (self.config.command is None) == (self.config.url is None):
            raise ConfigError(
                f"{owner}: give exactly one of `command` (a stdio MCP server) and `url` (streamable HTTP).\n"
                "  Fix: e.g. command: [python, server.py], or url: http://127.0.0.1:8931/mcp"
            )
        self._verify = _load_verify(self.config.verify, owner)
        self._specs: list[ToolSpec] | None = None
        self._open: set[McpConnection] = set()
        self._shared: McpConnection | None = None
        self._shared_lock = asyncio.Lock()

    def _directory(self) -> Path:
        cls = type(self)
        if cls is McpEnvironment:
            return Path.cwd()
        return Path(inspect.getfile(cls)).resolve().parent

    def connection(self) -> McpConnection:
        """A new, unstarted connection to the configured server."""
        base = self._directory()
        command = None
        if self.config.command is not None:
            command = [
                str(base / part) if i > 0 and not Path(part).is_absolute() and (base / part).is_file() else part
                for i, part in enumerate(self.config.command)
            ]
        cwd = str(base / self.config.cwd) if self.config.cwd else str(base)
        return McpConnection(
            command=command,
            url=self.config.url,
            env=self.config.env,
            cwd=cwd if command is not None else None,
            headers=self.config.headers,
            timeout_s=self.config.call_timeout_s,
        )

    def tools(self) -> list[ToolSpec]:  # type: ignore[override]
        """The MCP server's tools, listed once (the server is started for it, then stopped)."""
        if self._specs is None:
            listed: list[Any] = []
            failure: list[BaseException] = []

            async def discover() -> None:
                connection = await self.connection().start()
                try:
                    listed.extend(await connection.list_tools())
                finally:
                    await connection.close()

            def run() -> None:
                try:
                    asyncio.run(discover())
                except BaseException as exc:
                    failure.append(exc)

            # Its own thread and loop: the app may be built inside a running loop (tests, an in-process client).
            thread = threading.Thread(target=run, name="gymhall-mcp-discovery")
            thread.start()
            thread.join()
            if failure:
                raise ConfigError(f"{type(self).__name__}: cannot list the MCP server's tools: {failure[0]}")
            self._specs = [self._spec(tool) for tool in listed]
        return list(self._specs)

    def _spec(self, mcp_tool: Any) -> ToolSpec:
        name = str(mcp_tool.name)
        if not TOOL_NAME.fullmatch(name) or name in RESERVED_ROUTES or name in ("tools", "mcp"):
            raise ConfigError(
                f"{type(self).__name__}: the MCP server's tool {name!r} cannot be a gymhall tool (names match "
                f"[A-Za-z0-9_-]{{1,64}} and are none of {', '.join(sorted(RESERVED_ROUTES))}, tools, mcp).\n"
                "  Fix: rename the tool in the MCP server"
            )
        original = dict(mcp_tool.input_schema or {"type": "object"})

        async def call(env: McpEnvironment, state: McpSession, args: BaseModel) -> Any:
            arguments = from_model_arguments(original, args.model_dump())
            return await state.call(name, **arguments)

        return ToolSpec(
            name=name,
            function=call,
            args_model=_arguments_model(name, strict_input_schema(original)),
            description=str(mcp_tool.description or ""),
            takes_state=True,
            session_parameter=None,
            model_parameter="args",
        )

    async def seed_session(self, row: BaseSeedSessionRequest) -> McpSession:
        """Open the session's MCP connection (or share the one) and make the row's `mcp_setup` calls."""
        if self.config.shared:
            async with self._shared_lock:
                if self._shared is None:
                    self._shared = await self.connection().start()
            connection = self._shared
        else:
            connection = await self.connection().start()
            self._open.add(connection)
        data = row.model_dump(mode="json")
        session = McpSession(connection, data)
        try:
            for step in data.get(SETUP_KEY) or []:
                await session.call(str(step["name"]), **dict(step.get("arguments") or {}))
        except BaseException:
            await self.on_session_close(session)
            raise
        return session

    async def verify(self, state: McpSession, body: BaseVerifyRequest) -> float | Mapping[str, Any]:
        """The configured `verify(session, body)`."""
        result = self._verify(state, body)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def fork(self, state: Any) -> Any:
        """MCP servers' state cannot be copied from outside: forking is refused (501)."""
        raise ForkUnsupported(f"{type(self).__name__} cannot fork a session: an MCP server's state is its own.")

    async def on_session_close(self, state: Any) -> None:
        """End the session's MCP connection (its stdio process), unless it is the shared one."""
        if isinstance(state, McpSession) and state.connection is not self._shared:
            self._open.discard(state.connection)
            await state.connection.close()

    async def on_shutdown(self) -> None:
        """End every connection still open, the shared one included."""
        connections, self._open = list(self._open), set()
        if self._shared is not None:
            connections.append(self._shared)
            self._shared = None
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)


if __name__ == "__main__":  # `python -m gymhall.mcp.environment --config FILE`
    McpEnvironment.run_webserver(sys.argv[1:])
