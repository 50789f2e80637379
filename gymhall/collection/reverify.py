"""`gymhall reverify` as a library call: grade stored rollouts again, without calling the model.

Two ways to grade a stored ok line, chosen per run:

- stateless (NeMo Gym's reverify, the fast path): `POST /verify` with the stored row and response, no session;
- replay: seed a fresh session from the row, call the rollout's recorded tools again in order (the
  `function_call` items of the stored `response.output`), compare each answer with the recorded
  `function_call_output`, verify in that session, close it.

With `replay=None` (the default) the first line is verified statelessly; a server whose verify needs the
session answers 400 `session_required` (gymhall's `SessionRequired`), and from then on every line is
replayed, so no line costs two verifies. A replayed tool answer that differs from the recording is
drift: the line keeps its new reward and gets `replay_drift` (the first differing call, 1-based),
a check that the environment is deterministic.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson

from gymhall.client.resources import AsyncResourcesClient, AsyncResourcesSession
from gymhall.collection.agent import RolloutError, agent_answer, call_failures, checked_verdict, close_quietly
from gymhall.collection.atif import rollout_lines
from gymhall.collection.datasets import iter_jsonl, latest_lines
from gymhall.collection.pool import CollectStats, rollouts
from gymhall.collection.runs import resources_client, write_metrics
from gymhall.exceptions import DatasetError, ServerError
from gymhall.wire.lines import failed_line

__all__ = ["ReverifyMode", "ReverifyStats", "reverify_file"]

logger = logging.getLogger("gymhall.reverify")

ReverifyMode = Literal["stateless", "replay"]

# Fields a collect or an earlier reverify added to a line; the rest is the row and its response.
_LINE_FIELDS = frozenset(("reward", "status", "timings", "failure", "previous_reward", "replay_drift", "reverified_by"))
_SHOWN_CHARS = 300


@dataclass
class ReverifyStats(CollectStats):
    """What a reverify run did: the counts of a collect run, how lines were graded, and the drift found."""

    stateless: int = 0
    """Lines verified without a session."""
    replayed: int = 0
    """Lines verified in a fresh session after replaying their recorded tool calls."""
    drift_at: Counter[int] = field(default_factory=Counter)
    """Replayed lines by the first call (1-based) whose answer differs from the recording."""

    def add(self, line: Mapping[str, Any]) -> None:
        """Count one finished line."""
        super().add(line)
        if line.get("reverified_by") == "replay":
            self.replayed += 1
        elif line.get("reverified_by") == "stateless":
            self.stateless += 1
        drift = line.get("replay_drift")
        if isinstance(drift, Mapping) and isinstance(drift.get("call"), int):
            self.drift_at[drift["call"]] += 1

    def drift_lines(self) -> list[str]:
        """One sentence per call index where replays drifted, e.g. "3 rollouts: tool output differs ... call 2"."""
        return [
            f"{count} rollout{'s' if count != 1 else ''}: tool output differs from the recording at call {call}"
            for call, count in sorted(self.drift_at.items())
        ]


class _NeedsSession(Exception):
    """Internal: the server's verify reads session state (400 `session_required`)."""


def _needs_session(error: ServerError) -> bool:
    body = error.body
    return error.status_code == 400 and isinstance(body, Mapping) and body.get("error") == "session_required"


def _same_output(recorded: Any, replayed: str) -> bool:
    """Whether a replayed tool answer matches the recorded one: equal JSON values, else equal text."""
    if recorded == replayed:
        return True
    try:
        return bool(orjson.loads(recorded) == orjson.loads(replayed))
    except (orjson.JSONDecodeError, TypeError):
        return False


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."


def _function_names(tools: Any) -> set[str]:
    return {
        str(t["name"])
        for t in tools or ()
        if isinstance(t, Mapping) and t.get("type") == "function" and isinstance(t.get("name"), str)
    }


class _Reverifier:
    """Grades each stored line; decides once per run whether lines are verified statelessly or replayed."""

    def __init__(self, resources: AsyncResourcesClient, replay: bool | None) -> None:
        self.resources = resources
        self.mode: ReverifyMode | None = None if replay is None else ("replay" if replay else "stateless")
        self.forced = replay is not None
        self._probe: asyncio.Future[None] | None = None
        self._server_tools: asyncio.Future[set[str]] | None = None

    async def run(self, line: Mapping[str, Any]) -> dict[str, Any]:
        if line.get("status") != "ok":
            return dict(line)
        body = {key: value for key, value in line.items() if key not in _LINE_FIELDS}
        timings: dict[str, float] = {}
        start = time.monotonic()
        try:
            verified, extra = await self._grade(body, timings)
        except RolloutError as failed:
            timings["total_s"] = time.monotonic() - start
            return failed_line(body, failed.failure, timings)
        timings["total_s"] = time.monotonic() - start
        return {**verified, **extra, "status": "ok", "previous_reward": line.get("reward"), "timings": timings}

    async def _grade(self, body: dict[str, Any], timings: dict[str, float]) -> tuple[dict[str, Any], dict[str, Any]]:
        while self.mode is None:  # the first line probes; the others wait for its answer
            if self._probe is None:
                probe = self._probe = asyncio.get_running_loop().create_future()
                try:
                    verified = await self._stateless(body, timings)
                    self.mode = "stateless"
                    return verified, {"reverified_by": "stateless"}
                except _NeedsSession:
                    self.mode = "replay"
                except RolloutError:
                    self.mode = "stateless"  # a refusal for another reason: this line's own failure
                    raise
                finally:
                    if self.mode is None:  # cancelled: let another line probe
                        self._probe = None
                    probe.set_result(None)
            else:
                await asyncio.shield(self._probe)
        if self.mode == "stateless":
            try:
                return await self._stateless(body, timings), {"reverified_by": "stateless"}
            except _NeedsSession:
                if self.forced:
                    raise RolloutError(
                        "verify",
                        "POST /verify needs the session's state, and --no-replay verifies without a session. "
                        "Fix: drop --no-replay to replay the recorded tool calls in a fresh session.",
                    ) from None
                self.mode = "replay"  # the probe's line failed for another reason; this one told us
        return await self._replay(body, timings)

    async def _stateless(self, body: dict[str, Any], timings: dict[str, float]) -> dict[str, Any]:
        start = time.monotonic()
        with call_failures("verify"):
            try:
                verified = await self.resources.verify(body)
            except ServerError as exc:
                if _needs_session(exc):
                    raise _NeedsSession from None
                raise
        timings["verify_s"] = time.monotonic() - start
        return checked_verdict(body, verified)

    async def _replay(self, body: dict[str, Any], timings: dict[str, float]) -> tuple[dict[str, Any], dict[str, Any]]:
        response = body.get("response")
        if not isinstance(response, Mapping):
            raise RolloutError("verify", "the line has no stored 'response' object to replay.")
        items = [item for item in response.get("output") or () if isinstance(item, Mapping)]
        recorded = {
            item.get("call_id"): item.get("output") for item in items if item.get("type") == "function_call_output"
        }
        calls = [item for item in items if item.get("type") == "function_call"]
        row = {key: value for key, value in body.items() if key != "response"}
        start = time.monotonic()
        with call_failures("seed"):
            session = await self.resources.seed_session(row)
        timings["seed_s"] = time.monotonic() - start
        try:
            drift = await self._replay_calls(session, row, calls, recorded, timings)
            start = time.monotonic()
            with call_failures("verify"):
                verified = await session.verify(response)
            timings["verify_s"] = time.monotonic() - start
        finally:
            await close_quietly(session)
        extra: dict[str, Any] = {"reverified_by": "replay"}
        if drift is not None:
            extra["replay_drift"] = drift
        return checked_verdict(body, verified), extra

    async def _replay_calls(
        self,
        session: AsyncResourcesSession,
        row: Mapping[str, Any],
        calls: Sequence[Mapping[str, Any]],
        recorded: Mapping[Any, Any],
        timings: dict[str, float],
    ) -> dict[str, Any] | None:
        """Call each recorded tool call again, in order; the first whose answer differs from the recording."""
        start = time.monotonic()
        known = await self._known_tools(row) if calls else set()
        drift: dict[str, Any] | None = None
        for index, call in enumerate(calls, start=1):
            name = str(call.get("name", ""))
            arguments = call.get("arguments") or "{}"
            if agent_answer(name, arguments, known) is not None:
                continue  # the agent answered this call itself (unknown tool, malformed arguments)
            with call_failures("tool", f"replaying call {index} ({name!r}): "):  # a 5xx fails, as in the agent
                output = await session.call_text(name, arguments)
            want = recorded.get(call.get("call_id"))
            if drift is None and want is not None and not _same_output(want, output):
                drift = {"call": index, "name": name, "recorded": _shown(want), "replayed": _shown(output)}
        timings["tools_s"] = time.monotonic() - start
        return drift

    async def _known_tools(self, row: Mapping[str, Any]) -> set[str]:
        """The tool names the agent offered: the row's, or the server's `GET /tools` (asked once)."""
        params = row.get("responses_create_params")
        declared = _function_names(params.get("tools") if isinstance(params, Mapping) else None)
        if declared:
            return declared
        if self._server_tools is None:
            self._server_tools = asyncio.ensure_future(self._list_tools())
        return await asyncio.shield(self._server_tools)

    async def _list_tools(self) -> set[str]:
        try:
            return _function_names(await self.resources.list_tools())
        except (ServerError, httpx.HTTPError):  # a NeMo Gym server has no GET /tools: every call reached it
            return set()


async def reverify_file(
    rollouts_file: Path,
    output: Path,
    *,
    configs: Sequence[str] = (),
    overrides: Sequence[str] = (),
    server_name: str | None = None,
    resources_url: str | None = None,
    concurrency: int = 64,
    replay: bool | None = None,
) -> ReverifyStats:
    """Grade every ok line of `rollouts_file` again, without calling the model; write the lines to `output`.

    `replay`: None (default) verifies statelessly unless the server's verify needs the session, then
    replays each rollout's tool calls in a fresh session; True always replays (and so checks that the
    tools answer as recorded); False never does. Failed lines are carried over unchanged. Each ok line
    gets `previous_reward`, `reverified_by` ("stateless" or "replay") and, when a replayed tool answer
    differs from the recording, `replay_drift`.
    """
    if not rollouts_file.is_file() and not rollouts_file.is_dir():
        raise DatasetError(
            f"{rollouts_file} does not exist. Fix: name a rollouts JSONL written by gymhall collect, "
            "or a folder `gymhall export --format atif` wrote."
        )
    resources = resources_client(
        configs=configs,
        overrides=overrides,
        name=server_name,
        url=resources_url,
        max_connections=max(16, concurrency),
    )
    if rollouts_file.is_dir():  # an ATIF export (`gymhall export --format atif`)
        lines = rollout_lines(rollouts_file)
    else:
        lines = latest_lines(line for _, line in iter_jsonl(rollouts_file, tolerate_torn_tail=True))  # newer wins
    reverifier = _Reverifier(resources, replay)
    stats = ReverifyStats(total=len(lines))
    try:
        output.unlink(missing_ok=True)
        with output.open("wb") as handle:
            async for new in rollouts(lines, reverifier.run, concurrency=concurrency, max_attempts=1):
                handle.write(orjson.dumps(new) + b"\n")
                stats.add(new)
    finally:
        await resources.aclose()
    write_metrics(output)
    return stats
