"""The agent: one rollout from a dataset row, as NeMo Gym's simple agent runs it, with its sharp edges fixed.

seed the session → call the model → run its function calls against the resources server (together when it emits
several) → append their outputs → repeat until a final message, `max_steps` (finite by default) or the model's
`incomplete_details` → verify → close the session. One deadline bounds the whole rollout and every call in it.
Malformed arguments and unknown tool names become tool outputs the model can read, and so does a tool's 4xx refusal;
a failure of the model, a tool transport or a tool's 5xx, seeding or verification becomes a typed failed line, never
a reward of 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import typing
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import orjson

from gymhall import tracing
from gymhall.client.http import HttpPool
from gymhall.client.resources import AsyncResourcesClient, AsyncResourcesSession
from gymhall.collection.forks import SessionForks
from gymhall.exceptions import ModelError, ServerError
from gymhall.models.base import Model, ModelRequest
from gymhall.wire.contract import retryable_status
from gymhall.wire.lines import (
    OUTCOME_KEYS,
    FailureStage,
    RolloutFailure,
    failed_line,
    line_key,
    ok_line,
    reported_failure,
)
from gymhall.wire.responses import add_usage

__all__ = ["Agent", "RemoteAgent", "RolloutError", "agent_answer", "call_failures", "checked_verdict", "close_quietly"]

logger = logging.getLogger("gymhall.agent")

_CLOSE_TIMEOUT_S = 5.0
_JSON_HEADERS = {"content-type": "application/json"}
_STAGES = frozenset(typing.get_args(FailureStage))


class RolloutError(Exception):
    """Internal: ends a rollout with a typed failure."""

    def __init__(self, stage: FailureStage, error: str, *, retryable: bool = False, kind: str | None = None) -> None:
        super().__init__(error)
        self.failure = RolloutFailure(stage, error, retryable, kind=kind)


def _json_or_none(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _as_input_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    return list(value or [])


def _tool_names(tools: list[Any]) -> set[str]:
    return {t["name"] for t in tools if isinstance(t, Mapping) and t.get("type") == "function" and "name" in t}


def _tool_output(call_id: str, text: str) -> dict[str, Any]:
    # `id` and `status` make it the SDK's output item (`ResponseFunctionToolCallOutputItem`), so the episode's
    # Response validates as the OpenAI SDK's; NeMo Gym reads the same item as its input `function_call_output`.
    return {
        "type": "function_call_output",
        "id": f"fco_{call_id}",
        "call_id": call_id,
        "output": text,
        "status": "completed",
    }


def _error_output(kind: str, message: str) -> str:
    return orjson.dumps({"error": kind, "detail": message}).decode()


class _Stage:
    """Which stage a rollout is in, for the failure a deadline expiry turns into."""

    __slots__ = ("name",)

    def __init__(self) -> None:
        self.name: FailureStage = "seed"


class Agent:
    """Runs rollouts of one resources server with one model.

    Args:
        resources: a client of the resources server (over HTTP, or in-process with `for_app`); model: the policy.
        max_steps: model calls per rollout at most; reaching it ends the episode (then verify).
        timeout_s: the deadline of a whole rollout, from seeding to verification.
        forks: seed each task once and play its rollouts on forks of that session (`SessionForks`).
    """

    def __init__(
        self,
        resources: AsyncResourcesClient,
        model: Model,
        *,
        max_steps: int = 16,
        timeout_s: float = 600.0,
        forks: SessionForks | None = None,
    ) -> None:
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self.resources = resources
        self.forks = forks
        self.model = model
        self.max_steps = max_steps
        self.timeout_s = timeout_s
        self._server_tools: list[dict[str, Any]] | None = None
        self._listing: asyncio.Future[list[dict[str, Any]]] | None = None

    async def run(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """One rollout of `row`: its ok line (the verify response) or its failed line. Never raises for a failure."""
        if tracing.tracer is not None:  # tracing on: the rollout's span (off, this check is all it costs)
            return await tracing.rollout(self._run, row, resources_url=self.resources.base_url)
        return await self._run(row)

    async def _run(self, row: Mapping[str, Any]) -> dict[str, Any]:
        start = time.monotonic()
        deadline = start + self.timeout_s
        timings: dict[str, float] = {}
        stage = _Stage()
        session: AsyncResourcesSession | None = None
        partial: dict[str, Any] | None = None
        try:
            async with asyncio.timeout_at(_loop_time(deadline)):
                session = await self._seed(row, timings, deadline)
                stage.name = "model"
                partial = {}
                response = await self._episode(session, row, deadline, timings, stage, partial)
                stage.name = "verify"
                verified = await self._verify(session, row, response, timings)
            timings["total_s"] = time.monotonic() - start
            line = ok_line(row, verified, timings)
            line.setdefault("steps", partial["steps"])
            line.setdefault("stop_reason", partial["stop_reason"])
            return line
        except RolloutError as exc:
            failure = exc.failure
        except TimeoutError:
            failure = RolloutFailure(
                stage.name, f"the rollout's deadline of {self.timeout_s:g} s passed during {stage.name}", True
            )
        except Exception as exc:  # a bug in the agent or an adapter: recorded, never fatal to the run
            logger.exception("rollout %s failed unexpectedly", line_key(row))
            failure = RolloutFailure("agent", f"{type(exc).__name__}: {exc}", False)
        finally:
            if session is not None:
                await close_quietly(session)
        timings["total_s"] = time.monotonic() - start
        return failed_line(row, failure, timings, partial.get("response") if partial else None)

    async def respond(self, session: AsyncResourcesSession, row: Mapping[str, Any]) -> dict[str, Any]:
        """The loop alone, on a session the caller seeded: the episode's Response (raises `RolloutError`)."""
        deadline = time.monotonic() + self.timeout_s
        async with asyncio.timeout_at(_loop_time(deadline)):
            return await self._episode(session, row, deadline, {}, _Stage(), {})

    async def _seed(self, row: Mapping[str, Any], timings: dict[str, float], deadline: float) -> AsyncResourcesSession:
        start = time.monotonic()
        with call_failures("seed"):
            if self.forks is not None:
                session = await self.forks.seed_session(row, deadline=deadline)
            else:
                session = await self.resources.seed_session(row, deadline=deadline)
        timings["seed_s"] = time.monotonic() - start
        return session

    async def tools_for(self, params: Mapping[str, Any]) -> list[Any]:
        """The row's tools, or the server's (`GET /tools`) when the row declares none."""
        tools = params.get("tools")
        if tools:
            return list(tools)
        if self._server_tools is None:
            if self._listing is None:  # one GET /tools for every rollout waiting on it
                self._listing = asyncio.ensure_future(self.resources.list_tools())
            try:
                self._server_tools = await asyncio.shield(self._listing)
            except ServerError:  # a NeMo Gym server has no GET /tools: the model gets none
                self._server_tools = []
            except httpx.HTTPError as exc:
                self._listing = None  # the next rollout asks again
                raise RolloutError("seed", f"GET /tools: {type(exc).__name__}: {exc}", retryable=True) from None
        return self._server_tools

    async def _episode(
        self,
        session: AsyncResourcesSession,
        row: Mapping[str, Any],
        deadline: float,
        timings: dict[str, float],
        stage: _Stage,
        partial: dict[str, Any],
    ) -> dict[str, Any]:
        params = dict(row.get("responses_create_params") or {})
        base_input = _as_input_list(params.get("input"))
        tools = await self.tools_for(params)
        if tools:
            params["tools"] = tools
        known = _tool_names(tools)
        outputs: list[Any] = []
        usage: dict[str, Any] | None = None
        last: dict[str, Any] = {}
        stop_reason = "max_steps"
        session_key = f"{line_key(row)}:{session.handle or id(session)}"
        model_s = tools_s = 0.0
        steps = 0
        while steps < self.max_steps:
            steps += 1
            stage.name = "model"
            started = time.monotonic()
            request = ModelRequest({**params, "input": [*base_input, *outputs]}, row, session_key, deadline)
            try:
                if tracing.tracer is None:
                    last = await self.model.respond_data(request)
                else:  # a span per model call, with its token counts
                    last = await tracing.model_call(self.model.respond_data, request, model=self.model.name, step=steps)
            except ModelError as exc:
                raise RolloutError("model", str(exc), retryable=exc.retryable) from None
            model_s += time.monotonic() - started
            items: list[dict[str, Any]] = last.get("output") or []
            outputs.extend(items)
            usage = add_usage(usage, last.get("usage"))
            partial["response"] = {**last, "output": outputs} | ({} if usage is None else {"usage": usage})
            if last.get("incomplete_details") is not None:
                stop_reason = "incomplete"
                break
            calls = [item for item in items if item.get("type") == "function_call"]
            if not calls:
                if any(item.get("type") == "message" for item in items):
                    stop_reason = "final_message"
                    break
                continue  # reasoning only: ask again (bounded by max_steps)
            stage.name = "tool"
            started = time.monotonic()
            if len(calls) == 1:  # the common case, without gather's task
                results = [await self._call_tool(session, calls[0], known)]
            else:
                results = await asyncio.gather(*(self._call_tool(session, call, known) for call in calls))
            tools_s += time.monotonic() - started
            outputs.extend(_tool_output(call["call_id"], text) for call, text in zip(calls, results, strict=True))
        timings.update(model_s=model_s, tools_s=tools_s)
        final = {**last, "output": outputs}
        if usage is not None:  # summed over the turns, complete as NeMo Gym's typed /verify requires
            final["usage"] = usage
        partial["response"] = final
        partial["steps"] = steps
        partial["stop_reason"] = stop_reason
        return final

    async def _call_tool(self, session: AsyncResourcesSession, call: Mapping[str, Any], known: set[str]) -> str:
        name = str(call.get("name", ""))
        arguments = call.get("arguments") or "{}"
        answer = agent_answer(name, arguments, known)
        if answer is not None:
            return answer
        # A 2xx, or a 4xx refusal (bad arguments, a ToolError) the model can read; a 5xx (`ServerError`) is the
        # environment failing, not the model's call: never shown to it, never scored.
        with call_failures("tool", f"calling {name!r}: "):
            return await session.call_text(name, arguments)

    async def _verify(
        self,
        session: AsyncResourcesSession,
        row: Mapping[str, Any],
        response: dict[str, Any],
        timings: dict[str, float],
    ) -> dict[str, Any]:
        start = time.monotonic()
        with call_failures("verify"):
            verified = await session.verify(response)
        timings["verify_s"] = time.monotonic() - start
        return checked_verdict(row, verified)


@contextlib.contextmanager
def call_failures(stage: FailureStage, context: str = "") -> Iterator[None]:
    """Turn a failed call to the resources server into the rollout's typed failure at `stage`.

    A refusal (`ServerError`) may be retried when its status says so (`wire.contract.retryable_status`);
    a transport error always may. `context` prefixes the error (which call failed).
    """
    try:
        yield
    except ServerError as exc:
        raise RolloutError(stage, f"{context}{exc}", retryable=retryable_status(exc.status_code, exc.body)) from None
    except httpx.HTTPError as exc:
        raise RolloutError(stage, f"{context}{type(exc).__name__}: {exc}", retryable=True) from None


def agent_answer(name: str, arguments: Any, known: set[str]) -> str | None:
    """The tool output the agent gives the model itself instead of calling the server, else None.

    An unknown tool name (when the tools are `known`) and arguments that are not a JSON object are the
    model's mistakes: it reads why, and the environment never sees the call.
    """
    if known and name not in known:
        choices = ", ".join(sorted(known))
        return _error_output("unknown_tool", f"There is no tool named {name!r}. The tools are: {choices}.")
    try:
        parsed = orjson.loads(arguments)
    except (orjson.JSONDecodeError, TypeError) as exc:
        return _error_output("invalid_arguments", f"The arguments of {name!r} are not valid JSON: {exc}.")
    if not isinstance(parsed, dict):
        return _error_output("invalid_arguments", f"The arguments of {name!r} must be a JSON object.")
    return None


def checked_verdict(row: Mapping[str, Any], verified: dict[str, Any]) -> dict[str, Any]:
    """A verify answer as a reward, or `RolloutError` when it reports a failure or has no `reward`."""
    verified = _verdict(row, verified)
    failure = reported_failure(verified)
    if failure is not None:  # a 200 that must not count as a reward: a judge failure, a masked sample
        raise RolloutError(failure.stage, failure.error, retryable=failure.retryable, kind=failure.kind)
    if "reward" not in verified:
        raise RolloutError("verify", "POST /verify answered without a 'reward'.")
    return verified


async def close_quietly(session: AsyncResourcesSession) -> None:
    """Close `session` within a few seconds; a failure is only logged (the server's lease reaper frees it)."""
    try:
        async with asyncio.timeout(_CLOSE_TIMEOUT_S):
            await session.close()
    except Exception as exc:
        logger.debug("closing session %r failed: %s", session, exc)


def _verdict(row: Mapping[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """`answer` without the outcome keys it only echoes from `row` (a row that was itself a line)."""
    echoed = [key for key in OUTCOME_KEYS if key in row and key in answer and answer[key] == row[key]]
    return {key: value for key, value in answer.items() if key not in echoed} if echoed else answer


def _loop_time(deadline: float) -> float:
    # asyncio.timeout_at takes the loop's clock; deadlines are time.monotonic(): convert, for any loop's clock.
    loop = asyncio.get_running_loop()
    return loop.time() + (deadline - time.monotonic())


class RemoteAgent:
    """Runs rollouts through an agent server's `POST /run` (a gymhall or NeMo Gym agent)."""

    def __init__(self, url: str, *, timeout_s: float = 600.0, max_connections: int = 256) -> None:
        self.url = url.rstrip("/")
        self._http = HttpPool(self.url, timeout_s=timeout_s, max_connections=max_connections, headers={})

    async def run(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """One rollout of `row` by the remote agent: its ok line or its failed line."""
        start = time.monotonic()
        try:
            reply = await self._http.request("POST", "/run", orjson.dumps(row), _JSON_HEADERS)
        except httpx.HTTPError as exc:
            failure = RolloutFailure("agent", f"POST {self.url}/run: {type(exc).__name__}: {exc}", True)
            return failed_line(row, failure, {"total_s": time.monotonic() - start})
        timings = {"total_s": time.monotonic() - start}
        if reply.is_success:
            body = _json_or_none(reply.content)
            reported = body.get("failure") if isinstance(body, dict) else None
            if isinstance(body, dict) and "reward" not in body and isinstance(reported, dict):
                if reported.get("stage") in _STAGES:
                    # A gymhall agent's typed failure: keep its stage rather than blaming the agent.
                    error, retryable = str(reported.get("error", "")), bool(reported.get("retryable"))
                    typed = RolloutFailure(reported["stage"], error, retryable, kind=reported.get("kind"))
                    return failed_line(row, typed, timings)
            if isinstance(body, dict):
                answer = _verdict(row, body)
                nemo_failure = reported_failure(answer)  # a NeMo Gym agent's: 0.7's mask_sample, 0.4's class
                if nemo_failure is not None:
                    return failed_line(row, nemo_failure, timings)
                if "reward" in answer:
                    return ok_line(row, answer, timings)
            error = f"POST {self.url}/run answered without a reward: {reply.text[:300]}"
            return failed_line(row, RolloutFailure("agent", error, False), timings)
        error = f"POST {self.url}/run failed with status {reply.status_code}: {reply.text[:300]}"
        retryable = retryable_status(reply.status_code, _json_or_none(reply.content))
        return failed_line(row, RolloutFailure("agent", error, retryable), timings)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
