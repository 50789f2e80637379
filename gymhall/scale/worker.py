"""`RolloutWorker`: what one Ray actor holds (an agent, its environment and its model) and runs.

The class is plain Python; `RayRunner` turns it into an actor with `ray.remote`. The environment is
built on the worker from the config, in that process (or reached at `resources_url`), so nothing but
rows and lines crosses the cluster. It is built on the first call, in the actor's event loop, and
again after Ray restarts a dead actor.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["RolloutWorker", "WorkerSpec"]


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

    async def ready(self) -> int:
        """Build the environment and the model now (raising a config error here), and answer this process's id."""
        await self._built()
        return os.getpid()

    async def run(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """One rollout of `row`: its line. Never raises for a failed rollout."""
        agent = await self._built()
        line: dict[str, Any] = await agent.run(row)
        return line

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
