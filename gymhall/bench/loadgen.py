"""Lean HTTP/1.1 load generator for the counter workload behind ``gymhall bench resources``.

General-purpose clients spend 75-200 µs of CPU per request, so on one core they saturate before a
server doing ~20,000 requests/s does. This generator keeps one persistent connection per worker,
builds requests from precomputed bytes, parses responses with ``httptools`` (a real HTTP parser),
and only decodes the one body it needs (``/verify``).

Workload R, one episode: ``POST /seed_session`` -> K x ``POST /<tool>`` -> ``POST /verify``
(expects ``"reward": 1.0``) -> optionally ``POST /close_session``. The session handle travels as
a cookie: every ``Set-Cookie`` is stored (latest value per name) and sent back as ``Cookie:``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import httptools
import orjson
import psutil

__all__ = ["LoadResult", "LoadSpec", "run_load", "run_load_sync", "server_rss_bytes"]

# In-flight episodes get this long after ``duration_s`` before they are abandoned.
_HARD_DEADLINE_GRACE_S = 10.0
_MAX_ERROR_SAMPLES = 5
# After a connection error, pause briefly so a dead target does not turn workers into a hot spin.
_RECONNECT_BACKOFF_S = 0.005
_TOOL_RE = re.compile(r"[A-Za-z0-9_.~-]+")
_SET_COOKIE = b"set-cookie"

SEED_ROW: dict[str, Any] = {
    "responses_create_params": {"input": [{"role": "user", "content": "count"}]},
    "initial_count": 0,
}


@dataclass(frozen=True)
class LoadSpec:
    """What to run: target URL (loopback only), C workers, K tool calls per episode, and bounds.

    ``episodes`` and ``duration_s`` bound the whole run, warm-up included: no episode starts once
    either is reached. Episodes completing in the first ``warmup_s`` seconds are excluded from the
    result's episode/request counts, rates and latencies.
    """

    url: str
    concurrency: int = 64
    tool_calls: int = 8
    episodes: int = 5000
    duration_s: float = 10.0
    warmup_s: float = 1.0
    close_sessions: bool = True
    tool: str = "increment"

    def __post_init__(self) -> None:
        _parse_target(self.url)
        for ok, rule in [
            (self.concurrency >= 1, "concurrency >= 1"),
            (self.tool_calls >= 0, "tool_calls >= 0"),
            (self.episodes >= 1, "episodes >= 1"),
            (0 <= self.warmup_s < self.duration_s, "0 <= warmup_s < duration_s"),
            (_TOOL_RE.fullmatch(self.tool) is not None, "tool is a plain path segment"),
        ]:
            if not ok:
                raise ValueError(f"invalid LoadSpec, need {rule}: {self!r}")


@dataclass(frozen=True)
class LoadResult:
    """Measured outcome. Counts, rates and percentiles cover post-warm-up episodes that completed;
    ``errors`` and ``wrong_rewards`` cover the whole run (an error aborts its episode)."""

    episodes: int
    requests: int
    errors: int
    wrong_rewards: int
    elapsed_s: float
    episodes_per_s: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    error_samples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Target:
    host: str
    port: int
    prefix: str
    host_header: str


def _is_loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name other than localhost: resolving it could leave the machine
        return False


def _parse_target(url: str) -> _Target:
    """Split ``url`` and refuse anything that is not plain HTTP to a loopback host."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"load generator speaks plain http:// only, got {url!r}")
    host = parts.hostname
    if not host:
        raise ValueError(f"URL has no host: {url!r}")
    if host.lower() != "localhost" and not _is_loopback_ip(host):
        raise ValueError(
            f"refusing non-loopback target {host!r}: the load generator only targets 127.0.0.0/8, ::1 or localhost"
        )
    port = parts.port or 80
    host_header = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return _Target(host=host, port=port, prefix=parts.path.rstrip("/"), host_header=host_header)


# (head, tail, label) of a POST; the per-episode ``Cookie:`` line goes between head and tail.
_Request = tuple[bytes, bytes, str]


def _request(target: _Target, path: str, body: bytes) -> _Request:
    head = (
        f"POST {target.prefix}{path} HTTP/1.1\r\nHost: {target.host_header}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    ).encode("ascii")
    return head, b"\r\n" + body, f"POST {target.prefix}{path}"


class _EpisodeError(Exception):
    """A non-2xx status or an unparsable verify body: aborts the episode, counted as an error."""


def _verify_body(tool_calls: int) -> bytes:
    """The row plus a minimal Responses object whose final assistant text is the expected count."""
    text = str(SEED_ROW["initial_count"] + tool_calls)
    content = [{"type": "output_text", "text": text, "annotations": []}]
    message: dict[str, Any] = {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed"}
    message["content"] = content
    response: dict[str, Any] = {"id": "resp_bench", "created_at": 0, "model": "bench", "object": "response"}
    response |= {"output": [message], "parallel_tool_calls": False, "tool_choice": "auto", "tools": []}
    return orjson.dumps({**SEED_ROW, "response": response})


class _Conn(asyncio.Protocol):
    """One keep-alive connection; serves one outstanding request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[None] | None = None
        self.status = 0
        self.body: list[bytes] = []
        self.set_cookies: list[bytes] = []
        # False once the server asked to close, the socket died or the stream is unparsable.
        self.reusable = True

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, so cast instead of isinstance.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.reusable = False
            self._fail(ConnectionError(f"unparsable HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._fail(ConnectionError(f"connection lost: {exc}" if exc else "connection closed by server"))

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.status = 0
        self.body = []
        self.set_cookies = []

    def on_header(self, name: bytes, value: bytes) -> None:
        # Length check first: most headers are skipped without allocating a lowered copy.
        if len(name) == 10 and name.lower() == _SET_COOKIE:
            self.set_cookies.append(value)

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if not self.parser.should_keep_alive():
            self.reusable = False
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Run:
    """Shared counters and precomputed requests for one ``run_load`` call."""

    def __init__(self, spec: LoadSpec, target: _Target) -> None:
        self.spec = spec
        self.target = target
        self.seed = _request(target, "/seed_session", orjson.dumps(SEED_ROW))
        self.tool = _request(target, f"/{spec.tool}", b'{"by":1}')
        self.verify = _request(target, "/verify", _verify_body(spec.tool_calls))
        self.close = _request(target, "/close_session", b"{}")
        start = time.perf_counter_ns()
        self.measure_from_ns = start + int(spec.warmup_s * 1e9)
        self.stop_ns = start + int(spec.duration_s * 1e9)
        self.last_ns = self.measure_from_ns
        self.started = 0
        self.episodes = 0
        self.requests = 0
        self.errors = 0
        self.wrong_rewards = 0
        self.error_samples: list[str] = []

    def take_ticket(self) -> bool:
        """Claim the right to start one episode, unless the episode or time budget is spent."""
        if self.started >= self.spec.episodes or time.perf_counter_ns() >= self.stop_ns:
            return False
        self.started += 1
        return True

    def error(self, sample: str) -> None:
        self.errors += 1
        if len(self.error_samples) < _MAX_ERROR_SAMPLES:
            self.error_samples.append(sample)


class _Worker:
    """Runs episodes back to back over its own keep-alive connection."""

    def __init__(self, run: _Run, loop: asyncio.AbstractEventLoop) -> None:
        self.run = run
        self.loop = loop
        self.conn: _Conn | None = None
        self.cookies: dict[bytes, bytes] = {}
        self.cookie_line = b""
        self.last_set_cookies: list[bytes] = []
        self.latencies: list[int] = []

    async def _connect(self) -> _Conn:
        self._drop()
        target = self.run.target
        _, conn = await self.loop.create_connection(_Conn, target.host, target.port)
        self.conn = conn
        return conn

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    async def _send(self, request: _Request) -> _Conn:
        """Send one request and wait for its full 2xx response, which is read off the conn."""
        conn = self.conn
        if conn is None or not conn.reusable:
            conn = await self._connect()
        transport = conn.transport
        assert transport is not None
        waiter: asyncio.Future[None] = self.loop.create_future()
        conn.waiter = waiter
        t0 = time.perf_counter_ns()
        transport.write(request[0] + self.cookie_line + request[1])
        await waiter
        self.latencies.append(time.perf_counter_ns() - t0)
        if not 200 <= conn.status < 300:
            raise _EpisodeError(f"{request[2]}: HTTP {conn.status}: {b''.join(conn.body)[:200]!r}")
        if conn.set_cookies:
            self._store_cookies(conn.set_cookies)
        return conn

    def _store_cookies(self, headers: list[bytes]) -> None:
        # Servers re-send the same Set-Cookie on nearly every response: skip re-parsing it.
        if headers == self.last_set_cookies:
            return
        self.last_set_cookies = headers
        changed = False
        for value in headers:
            pair = value.split(b";", 1)[0].strip()
            name = pair.split(b"=", 1)[0]
            if self.cookies.get(name) != pair:
                self.cookies[name] = pair
                changed = True
        if changed:
            self.cookie_line = b"Cookie: " + b"; ".join(self.cookies.values()) + b"\r\n"

    async def _episode(self) -> None:
        """Run one episode; raises _EpisodeError or OSError if it has to be aborted."""
        run = self.run
        self.cookies.clear()
        self.cookie_line = b""
        self.last_set_cookies = []
        await self._send(run.seed)
        for _ in range(run.spec.tool_calls):
            await self._send(run.tool)
        conn = await self._send(run.verify)
        body = b"".join(conn.body)
        try:
            reward = orjson.loads(body)["reward"]
        except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
            raise _EpisodeError(f"{run.verify[2]}: unparsable body: {body[:200]!r}") from None
        if reward != 1.0:
            run.wrong_rewards += 1
        if run.spec.close_sessions:
            await self._send(run.close)

    async def loop_episodes(self) -> None:
        run = self.run
        latencies = self.latencies
        try:
            while run.take_ticket():
                mark = len(latencies)
                ok = False
                try:
                    await self._episode()
                    ok = True
                except _EpisodeError as exc:
                    run.error(str(exc))
                except OSError as exc:  # includes ConnectionError and refused connects
                    run.error(f"{type(exc).__name__}: {exc}")
                    self._drop()
                    await asyncio.sleep(_RECONNECT_BACKOFF_S)
                end = time.perf_counter_ns()
                if ok and end >= run.measure_from_ns:
                    run.episodes += 1
                    run.requests += len(latencies) - mark
                    run.last_ns = end
                else:
                    del latencies[mark:]
        finally:
            self._drop()


def _percentile_ms(sorted_ns: list[int], q: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not sorted_ns:
        return 0.0
    index = min(len(sorted_ns) - 1, max(0, math.ceil(q * len(sorted_ns)) - 1))
    return sorted_ns[index] / 1e6


async def run_load(spec: LoadSpec) -> LoadResult:
    """Run workload R against ``spec.url`` and return the measurements; works on any event loop."""
    target = _parse_target(spec.url)
    loop = asyncio.get_running_loop()
    run = _Run(spec, target)
    workers = [_Worker(run, loop) for _ in range(spec.concurrency)]
    tasks = [asyncio.create_task(w.loop_episodes()) for w in workers]
    try:
        _, pending = await asyncio.wait(tasks, timeout=spec.duration_s + _HARD_DEADLINE_GRACE_S)
        for _ in pending:  # each still-running worker is one in-flight episode
            run.error("episode abandoned at the hard deadline (duration_s + 10 s)")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        # A worker only ends with an exception through a bug; that must not pass silently.
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            raise exc

    latencies = sorted(itertools.chain.from_iterable(w.latencies for w in workers))
    elapsed = max(0.0, (run.last_ns - run.measure_from_ns) / 1e9)
    return LoadResult(
        episodes=run.episodes,
        requests=run.requests,
        errors=run.errors,
        wrong_rewards=run.wrong_rewards,
        elapsed_s=elapsed,
        episodes_per_s=run.episodes / elapsed if elapsed > 0 else 0.0,
        requests_per_s=run.requests / elapsed if elapsed > 0 else 0.0,
        p50_ms=_percentile_ms(latencies, 0.50),
        p99_ms=_percentile_ms(latencies, 0.99),
        error_samples=list(run.error_samples),
    )


def run_load_sync(spec: LoadSpec) -> LoadResult:
    """Run :func:`run_load` on a fresh uvloop event loop (leaves the global loop policy alone)."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run_load(spec))


def server_rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` plus all its descendants, in bytes."""
    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # a child that exited between listing and reading holds no memory
    return total
