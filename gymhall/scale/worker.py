"""`RolloutWorker`: what one Ray actor holds (an agent, its environment and its model) and runs.

The class is plain Python; `RayRunner` turns it into an actor with `ray.remote`. The environment is
built on the worker from the config, in that process (or reached at `resources_url`), so nothing but
rows and lines crosses the cluster. It is built on the first call, in the actor's event loop, and
again after Ray restarts a dead actor.

Rows and lines cross in batches, because a Ray call costs the driver far more CPU than a line does
(about 300 us against 40 us): `submit(idents, rows)` starts many rollouts with one call and returns,
and `take()` answers the lines finished since the last `take` (the first, and those of the next few
ms). One driver then feeds a large cluster; `run(row)` remains for a single rollout.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

__all__ = ["GATHER_S", "RolloutWorker", "WorkerSpec"]

GATHER_S = 0.005  # how long rows (on the driver) and lines (on a worker) wait for others to go with them


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker builds: the environment (configs, or a served instance's URL) and the model.

    `cwd` and `sys_path` are the driver's: relative config paths and environment modules resolve on the
    worker as they do on the driver (on a cluster, the same paths must exist on every node).
    """

    model: str = "replay"
    configs: Sequence[str] = ()
    overrides: Sequence[str] = ()
    server_name: str | None = None
    resources_url: str | None = None
    api: Literal["responses", "chat", "messages"] = "responses"
    api_key: str | None = field(default=None, repr=False)
    max_steps: int = 16
    timeout_s: float = 600.0
    max_connections: int = 256
    cwd: str | None = None
    sys_path: Sequence[str] = ()


class RolloutWorker:
    """One worker's agent: `run(row)` returns the row's line (ok or failed), as `Agent.run` does."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        if spec.cwd and os.path.isdir(spec.cwd):
            os.chdir(spec.cwd)  # an actor owns its process: this changes no one else's directory
        sys.path.extend(entry for entry in spec.sys_path if entry not in sys.path)
        self._agent: asyncio.Task[Any] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._finished: list[int] = []  # ids of the lines in `_lines`, in the same order
        self._lines: list[bytes] = []
        self._wake = asyncio.Event()

    async def ready(self) -> tuple[int, str]:
        """Build the environment and the model now (raising a config error here); answer the process id and node."""
        import ray

        await self._built()
        return os.getpid(), ray.get_runtime_context().get_node_id()

    async def run(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """One rollout of `row`: its line. Never raises for a failed rollout."""
        agent = await self._built()
        line: dict[str, Any] = await agent.run(row)
        return line

    async def submit(self, idents: Sequence[int], rows: bytes) -> None:
        """Start one rollout per id and row (`rows`: a JSON array); each line waits, under its id, for `take`."""
        agent = await self._built()
        for ident, row in zip(idents, orjson.loads(rows), strict=True):
            task = asyncio.ensure_future(self._rollout(agent, ident, row))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def take(self, gather_s: float = GATHER_S) -> tuple[list[int], bytes]:
        """The ids of the lines finished since the last call, and those lines as JSON, one a line, in that order.

        Waits for the first, then `gather_s` for others to go with it: at a low rate a call per line
        would cost the driver a Ray call (~300 us) a line; a rollout takes seconds, this is little.
        One bytes object crosses instead of a dict per line: Ray's pickling of dicts cost the driver
        about 25 us a line, `orjson.loads` there costs less.
        """
        while not self._finished:
            self._wake.clear()
            await self._wake.wait()
        await asyncio.sleep(gather_s)
        finished, lines = self._finished, self._lines
        self._finished, self._lines = [], []
        return finished, b"\n".join(lines)

    async def _rollout(self, agent: Any, ident: int, row: Mapping[str, Any]) -> None:
        try:
            line: dict[str, Any] = await agent.run(row)
        except Exception as exc:  # Agent.run answers failures as lines; a bug in it must still end the row
            from gymhall.wire.lines import RolloutFailure, failed_line

            line = failed_line(row, RolloutFailure("agent", f"the worker's agent raised {exc!r}", False), {})
        self._finished.append(ident)
        self._lines.append(orjson.dumps(line, option=orjson.OPT_SERIALIZE_NUMPY))
        self._wake.set()

    async def close(self) -> None:
        """Close the environment's client and the model's connections."""
        if self._agent is None:
            return
        agent = await self._agent
        await agent.resources.aclose()
        await agent.model.aclose()

    async def _built(self) -> Any:
        # One build per process: concurrent first calls share it (no await between the check and the set).
        if self._agent is None:
            self._agent = asyncio.ensure_future(self._build())
        return await self._agent

    async def _build(self) -> Any:
        from gymhall.collection.agent import Agent
        from gymhall.collection.runs import resources_client
        from gymhall.models.spec_strings import model_from_spec

        spec = self.spec
        resources = resources_client(
            configs=spec.configs,
            overrides=spec.overrides,
            name=spec.server_name,
            url=spec.resources_url,
            max_connections=spec.max_connections,
        )
        model = model_from_spec(spec.model, api=spec.api, api_key=spec.api_key)
        await model.preflight(key_source="OPENAI_API_KEY on the worker, or policy_api_key in the driver's ./env.yaml")
        return Agent(resources, model, max_steps=spec.max_steps, timeout_s=spec.timeout_s)
