"""`RayRunner`: rows sent to Ray actors, lines awaited by the driver; and the library call over it.

A `RayRunner` is a `Runner` (`gymhall.collection.pool`): `collect` and `rollouts` drive it unchanged,
so the driver alone writes the output, and retries, `--resume` and each row's budget work as on one
machine. Each row goes to the actor with the fewest rows in flight. An actor that dies (killed, out of
memory, its node lost) turns each of its in-flight rollouts into a failed line, stage `agent`,
`retryable: true`; the pool's retry sends the row again, to an actor that is up. A line is only ever
the line a worker returned whole, or that failure: never part of a rollout. Ray restarts a dead actor
(`max_restarts=-1`); one that stays dead (killed with `no_restart`) is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from gymhall.collection.pool import rollouts
from gymhall.exceptions import ConfigError
from gymhall.scale.worker import RolloutWorker, WorkerSpec
from gymhall.wire.lines import RolloutFailure, failed_line

if TYPE_CHECKING:
    from gymhall.collection.pool import Runner
    from gymhall.collection.runs import CollectOptions, RunnerFactory

__all__ = ["RayRunner", "ray_rollouts", "ray_runner_factory"]

_GRACE_S = 10.0  # past a rollout's own deadline, the time its worker has to answer with its timeout line
_READY_S = 120.0  # a worker's build (config, model check), or a restart, at most


@dataclass
class _Slot:
    actor: Any
    in_flight: int = 0
    down: bool = False  # restarting or being replaced: sent new rows only when every slot is down


class RayRunner:
    """Runs rows on `workers` Ray actors (default: one per CPU of the cluster), each a `RolloutWorker`.

    Use as `async with RayRunner(spec) as runner:` and pass `runner.run` where a `Runner` goes
    (`gymhall.rollouts`, `gymhall.collection.pool.collect`). `address`: `auto` connects to the cluster
    this machine is part of (`ray start`) or starts a local one; else a cluster's address. A Ray
    connection made here is closed by `aclose`; one the caller made (`ray.init`) is left open.
    """

    def __init__(
        self,
        spec: WorkerSpec,
        *,
        workers: int | None = None,
        address: str = "auto",
        num_cpus: float = 1.0,
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.spec = spec
        self.address = address
        self._workers = workers
        self._num_cpus = num_cpus
        self._slots: list[_Slot] = []
        self._owns_connection = False
        self._recoveries: set[asyncio.Task[None]] = set()

    @property
    def actors(self) -> list[Any]:
        """The actor handles, one per worker (a replaced worker's handle is replaced here)."""
        return [slot.actor for slot in self._slots]

    async def start(self) -> RayRunner:
        """Reach the cluster, start the workers, and wait until each has built its environment and model."""
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=None if self.address == "auto" else self.address, logging_level="WARNING")
            self._owns_connection = True
        count = self._workers or max(1, int(ray.cluster_resources().get("CPU", 1) // max(self._num_cpus, 1e-9)))
        self._slots = [_Slot(self._new_actor()) for _ in range(count)]
        try:
            await asyncio.gather(*(self._ready(slot.actor) for slot in self._slots))
        except BaseException:
            await self.aclose()
            raise
        return self

    async def run(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """One rollout of `row` on the least busy worker: its line, or a retryable failure if the worker died."""
        if not self._slots:
            raise RuntimeError("RayRunner.run before start(): use `async with RayRunner(spec) as runner`")
        ray = _ray()
        up = [slot for slot in self._slots if not slot.down] or self._slots
        slot = min(up, key=lambda candidate: candidate.in_flight)
        slot.in_flight += 1
        ref = slot.actor.run.remote(dict(row))
        try:
            async with asyncio.timeout(self.spec.timeout_s + _GRACE_S):
                line: dict[str, Any] = await ref
            return line
        except TimeoutError:
            ray.cancel(ref)
            error = f"the Ray worker gave no line within the rollout's {self.spec.timeout_s:g} s and {_GRACE_S:g} s"
            return failed_line(row, RolloutFailure("agent", error, True), {})
        except _lost_worker_errors() as exc:
            self._recover(slot)
            cause = (str(exc).strip().splitlines() or [""])[0][:300]
            error = (
                f"the Ray worker running this rollout died ({type(exc).__name__}: {cause}); "
                "a retry runs it on a worker that is up"
            )
            return failed_line(row, RolloutFailure("agent", error, True), {})
        except asyncio.CancelledError:
            ray.cancel(ref)
            raise
        finally:
            slot.in_flight -= 1

    async def aclose(self) -> None:
        """Close every worker's connections, stop the workers, and leave the cluster if `start` joined it."""
        ray = _ray()
        for task in self._recoveries:
            task.cancel()
        closing = [slot.actor.close.remote() for slot in self._slots]
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_GRACE_S):
                await asyncio.gather(*closing, return_exceptions=True)
        for slot in self._slots:
            with contextlib.suppress(Exception):
                ray.kill(slot.actor, no_restart=True)
        self._slots = []
        if self._owns_connection:
            ray.shutdown()
            self._owns_connection = False

    async def __aenter__(self) -> RayRunner:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _new_actor(self) -> Any:
        ray = _ray()
        actor_class = ray.remote(RolloutWorker)
        # Restarted by Ray without end; its calls in flight fail (max_task_retries=0) and the pool retries them.
        return actor_class.options(
            num_cpus=self._num_cpus, max_restarts=-1, max_task_retries=0, max_concurrency=10_000
        ).remote(self.spec)

    async def _ready(self, actor: Any) -> None:
        ray = _ray()
        try:
            async with asyncio.timeout(_READY_S):
                await actor.ready.remote()
        except TimeoutError:
            raise ConfigError(
                f"a Ray worker was not ready within {_READY_S:g} s.\n  Fix: check that the cluster has "
                f"{self._num_cpus:g} free CPU per worker (`ray status`), or pass fewer workers."
            ) from None
        except ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None) or exc  # the worker's own error, not Ray's traceback of it
            raise ConfigError(
                f"a Ray worker could not build the environment or the model: {cause}\n  Fix: the configs, the "
                "model spec and the environment's code must load on every node (same paths and packages)."
            ) from exc

    def _recover(self, slot: _Slot) -> None:
        """Mark a slot down until its actor answers again (Ray restarted it), or replace an actor that stays dead."""
        if slot.down:
            return
        slot.down = True
        task = asyncio.ensure_future(self._restore(slot))
        self._recoveries.add(task)
        task.add_done_callback(self._recoveries.discard)

    async def _restore(self, slot: _Slot) -> None:
        gone: tuple[type[BaseException], ...] = (TimeoutError, *_lost_worker_errors())
        try:
            async with asyncio.timeout(_READY_S):
                await slot.actor.ready.remote()
        except gone:
            with contextlib.suppress(Exception):
                _ray().kill(slot.actor, no_restart=True)
            slot.actor = self._new_actor()
        slot.down = False


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray, which is not installed.\n  Fix: pip install 'gymhall[ray]'") from None
    return ray


def _lost_worker_errors() -> tuple[type[BaseException], ...]:
    from ray import exceptions

    return (exceptions.RayActorError, exceptions.WorkerCrashedError, exceptions.ObjectLostError)


def _driver_spec(**fields: Any) -> WorkerSpec:
    return WorkerSpec(cwd=os.getcwd(), sys_path=tuple(entry for entry in sys.path if entry), **fields)


async def ray_rollouts(
    rows: Iterable[Mapping[str, Any]],
    *,
    model: str = "replay",
    configs: Sequence[str] = (),
    overrides: Sequence[str] = (),
    server_name: str | None = None,
    resources_url: str | None = None,
    api: Literal["responses", "chat", "messages"] = "responses",
    workers: int | None = None,
    address: str = "auto",
    concurrency: int = 64,
    max_attempts: int = 3,
    max_steps: int = 16,
    timeout_s: float = 600.0,
) -> AsyncIterator[dict[str, Any]]:
    """`gymhall.rollouts` on a Ray cluster: each expanded row's line, in completion order.

    The environment is `configs` built on each worker, or the server at `resources_url`; `model` is a
    spec string (`model_from_spec`). A worker that dies mid-rollout costs its rows an attempt, not a line.
    """
    spec = _driver_spec(
        model=model,
        configs=tuple(configs),
        overrides=tuple(overrides),
        server_name=server_name,
        resources_url=resources_url,
        api=api,
        max_steps=max_steps,
        timeout_s=timeout_s,
        max_connections=max(16, concurrency),
    )
    async with RayRunner(spec, workers=workers, address=address) as runner:
        async for line in rollouts(
            rows, runner.run, concurrency=concurrency, max_attempts=max_attempts, row_timeout_s=timeout_s
        ):
            yield line


def ray_runner_factory(address: str = "auto", *, workers: int | None = None) -> RunnerFactory:
    """What `gymhall collect --ray ADDRESS` gives `run_collect`: builds a started `RayRunner` from the options."""

    async def build(options: CollectOptions, api_key: str | None) -> tuple[Runner, Callable[[], Awaitable[None]]]:
        if options.agent_url or options.fork:
            raise ValueError(
                "--ray runs the agent on the cluster's workers: it takes --config/--env or --resources-url, "
                "not --agent-url or --fork. Drop --ray, or those options."
            )
        spec = _driver_spec(
            model=options.model,
            configs=tuple(options.configs),
            overrides=tuple(options.overrides),
            server_name=options.server_name,
            resources_url=options.resources_url,
            api=options.api,
            api_key=api_key,
            max_steps=options.max_steps,
            timeout_s=options.timeout_s,
            max_connections=max(16, options.concurrency),
        )
        runner = await RayRunner(spec, workers=workers, address=address).start()
        return runner.run, runner.aclose

    return build
