"""Lean HTTP/1.1 load generator for the counter workload behind ``gymhall bench resources``.

General-purpose clients spend 75-200 µs of CPU per request, so on one core they saturate before a
server doing ~20,000 requests/s does. This generator keeps one persistent connection per worker,
builds requests from precomputed bytes, parses responses with ``httptools`` (a real HTTP parser),
and only decodes the one body it needs (``/verify``).

Workload R, one episode: ``POST /seed_session`` -> K x ``POST /<tool>`` -> ``POST /verify``
(expects ``"reward": 1.0``) -> optionally ``POST /close_session``. The session handle travels as
a cookie: every ``Set-Cookie`` is stored (latest value per name) and sent back as ``Cookie:``.

The connection itself (target, prepared requests, response parsing) is in ``gymhall.bench.connection``.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from gymhall.bench.connection import Connection, PreparedRequest, Target, parse_target, prepare_request

__all__ = ["SEED_ROW", "LoadResult", "LoadSpec", "run_load", "run_load_sync"]

# In-flight episodes get this long after ``duration_s`` before they are abandoned.
_HARD_DEADLINE_GRACE_S = 10.0
_MAX_ERROR_SAMPLES = 5
# After a connection error, pause briefly so a dead target does not turn workers into a hot spin.
_RECONNECT_BACKOFF_S = 0.005
_TOOL_RE = re.compile(r"[A-Za-z0-9_.~-]+")

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
        parse_target(self.url)
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


class _Run:
    """Shared counters and precomputed requests for one ``run_load`` call."""

    def __init__(self, spec: LoadSpec, target: Target) -> None:
        self.spec = spec
        self.target = target
        self.seed = prepare_request(target, "/seed_session", orjson.dumps(SEED_ROW))
        self.tool = prepare_request(target, f"/{spec.tool}", b'{"by":1}')
        self.verify = prepare_request(target, "/verify", _verify_body(spec.tool_calls))
        self.close = prepare_request(target, "/close_session", b"{}")
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
        self.conn: Connection | None = None
        self.cookies: dict[bytes, bytes] = {}
        self.cookie_line = b""
        self.last_set_cookies: list[bytes] = []
        self.latencies: list[int] = []

    async def _connect(self) -> Connection:
        self._drop()
        target = self.run.target
        _, conn = await self.loop.create_connection(Connection, target.host, target.port)
        self.conn = conn
        return conn

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    async def _send(self, request: PreparedRequest) -> Connection:
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
    target = parse_target(spec.url)
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
