"""One MCP client session (a stdio server's process, or a streamable HTTP URL), owned by one task.

The SDK's transports are async context managers whose cancel scopes must be left by the task that
entered them, while a gymhall session's tool calls arrive on many request tasks. So each connection
runs in its own task, which opens the transport and the session, waits to be closed, then leaves them
(the SDK ends a stdio server's whole process group). Calls from any task go through the session.

A stdio server must die with its parent, even a parent killed with SIGKILL, which runs no clean-up: on
Linux it is started through a tiny launcher that asks the kernel for SIGKILL when the parent dies
(`PR_SET_PDEATHSIG`, kept across `exec`) and then runs the server's command.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any

__all__ = ["McpConnection", "guarded_command"]

_GUARD = (
    "import ctypes,os,signal,sys\n"
    "ctypes.CDLL(None,use_errno=True).prctl(1,signal.SIGKILL)\n"  # PR_SET_PDEATHSIG: die with the parent
    "os.getppid()==int(sys.argv[1]) or os._exit(1)\n"  # the parent died before the line above: exit now
    "os.execvp(sys.argv[2],sys.argv[2:])\n"
)


def guarded_command(command: Sequence[str]) -> list[str]:
    """`command`, run so that it is killed when this process dies (Linux); elsewhere `command` itself."""
    argv = [sys.executable if part in ("python", "python3") and i == 0 else part for i, part in enumerate(command)]
    if not sys.platform.startswith("linux"):
        return argv
    return [sys.executable, "-S", "-c", _GUARD, str(os.getpid()), *argv]


class McpConnection:
    """An initialized MCP `ClientSession` to one server, from `start()` to `close()`."""

    def __init__(
        self,
        *,
        command: Sequence[str] | None = None,
        url: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        if (command is None) == (url is None):
            raise ValueError("An MCP connection needs exactly one of a stdio `command` and a `url`.")
        self.command = list(command) if command is not None else None
        self.url = url
        self.env = dict(env or {})
        self.cwd = cwd
        self.headers = dict(headers or {})
        self.timeout_s = timeout_s
        self._session: Any = None
        self._ready: asyncio.Future[None] | None = None
        self._closing = asyncio.Event()
        self._owner: asyncio.Task[None] | None = None

    @property
    def target(self) -> str:
        """What the connection reaches, for error messages."""
        return " ".join(self.command) if self.command is not None else str(self.url)

    async def start(self) -> McpConnection:
        """Open the transport and initialize the session; raises `ConnectionError` naming the server if it cannot."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._owner = loop.create_task(self._own(), name=f"gymhall-mcp {self.target[:60]}")
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), self.timeout_s)
        except BaseException as exc:
            await self.close()
            if isinstance(exc, asyncio.TimeoutError):
                raise ConnectionError(
                    f"The MCP server {self.target!r} did not finish initializing within {self.timeout_s} s. "
                    "Check that the command starts an MCP server on stdio (or the URL serves MCP)."
                ) from None
            raise
        return self

    async def _own(self) -> None:
        from mcp import ClientSession

        assert self._ready is not None
        try:
            async with AsyncExitStack() as stack:
                if self.command is not None:
                    from mcp.client.stdio import StdioServerParameters, stdio_client

                    argv = guarded_command(self.command)
                    params = StdioServerParameters(command=argv[0], args=argv[1:], env=self.env, cwd=self.cwd)
                    streams = await stack.enter_async_context(stdio_client(params, errlog=sys.stderr))
                else:
                    import httpx2
                    from mcp.client.streamable_http import streamable_http_client

                    http = await stack.enter_async_context(httpx2.AsyncClient(headers=self.headers, timeout=60))
                    streams = await stack.enter_async_context(streamable_http_client(str(self.url), http_client=http))
                session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
                await session.initialize()
                self._session = session
                self._ready.set_result(None)
                await self._closing.wait()
        except BaseException as exc:
            if not self._ready.done():
                problem = ConnectionError(f"Cannot start the MCP server {self.target!r}: {type(exc).__name__}: {exc}")
                self._ready.set_exception(problem)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._session = None

    async def list_tools(self) -> list[Any]:
        """Every tool the server lists (all pages)."""
        tools: list[Any] = []
        cursor: str | None = None
        while True:
            import mcp_types as types

            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await self._live().list_tools(params=params)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                return tools

    async def call_tool(self, name: str, arguments: Mapping[str, Any]) -> Any:
        """The server's `CallToolResult` for `name(arguments)`."""
        return await self._live().call_tool(name, dict(arguments), read_timeout_seconds=self.timeout_s)

    def _live(self) -> Any:
        if self._session is None:
            raise ConnectionError(f"The MCP connection to {self.target!r} is closed (or never started).")
        return self._session

    async def close(self) -> None:
        """Leave the session and end the transport (a stdio server's process group); later calls do nothing."""
        self._closing.set()
        owner, self._owner = self._owner, None
        if owner is not None and not owner.done():
            try:
                await asyncio.wait_for(asyncio.shield(owner), self.timeout_s)
            except TimeoutError:
                owner.cancel()
