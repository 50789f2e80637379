"""`RayRunner`: rows sent to Ray actors, lines awaited by the driver; and the library call over it.

A `RayRunner` is a `Runner` (`gymhall.collection.pool`): `collect` and `rollouts` drive it unchanged, so
the driver alone writes the output, and retries, `--resume` and each row's budget work as on one machine.
Rows go out in batches to the actors with the fewest in flight, lines come back in batches (`submit`,
`take`). An actor that dies (killed, out of memory, its node lost) turns each of its in-flight rollouts
into a failed line, stage `agent`, `retryable: true`, which the pool's retry runs on an actor that is up.
A line is only ever the line a worker returned whole, or that failure. Ray restarts a dead actor
(`max_restarts=-1`); one that stays dead is replaced."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson

from gymhall.collection.pool import rollouts
from gymhall.exceptions import ConfigError
from gymhall.scale.worker import GATHER_S, RolloutWorker, WorkerSpec
from gymhall.wire.lines import RolloutFailure, failed_line

if TYPE_CHECKING:
    from gymhall.collection.pool import Runner
    from gymhall.collection.runs import CollectOptions, RunnerFactory

__all__ = ["RayRunner", "ray_rollouts", "ray_runner_factory"]

_GRACE_S = 10.0  # past a rollout's own deadline, the time its worker has to answer with its timeout line
_READY_S = 120.0  # a worker's build (config, model check), or a restart, at most
_CALLS_PER_S = 1000.0  # Ray calls a second the driver aims at, each way (rows out, lines back)
_SWEEP_S = 1.0  # how often rollouts past their deadline are looked for
_BATCH = 512  # rows per `submit` call at most: one call's pickle stays small, a big flush still spreads


@dataclass
class _Slot:
    actor: Any
    pid: int = 0
    node: str = ""
    down: bool = False  # restarting or being replaced: sent new rows only when every slot is down
    # Sent, line not back: row, its future, its deadline; in the order sent, so the oldest come first.
    waiting: dict[int, tuple[Mapping[str, Any], asyncio.Future[dict[str, Any]], float]] = field(default_factory=dict)
    pump: asyncio.Task[None] | None = None


class RayRunner:
    """Runs rows on `workers` Ray actors (default: one per CPU of the cluster), each a `RolloutWorker`.

    Use as `async with RayRunner(spec) as runner:` and pass `runner.run` where a `Runner` goes
    (`gymhall.rollouts`, `gymhall.collection.pool.collect`). `address`: `auto` connects to the cluster
    this machine is part of (`ray start`) or starts a local one; `local` always starts one; else a
    cluster's address. A Ray connection made here is closed by `aclose`; one the caller made
    (`ray.init`) is left open. Actors are spread over the nodes (Ray's `SPREAD`), so that a lost node
    costs the fewest rollouts.

    The rows `run` gets within a few ms go out together, a batch per worker (least busy first); each
    worker answers the lines it finished within a few ms at once: Ray's cost is per batch.
    """

    def __init__(
        self, spec: WorkerSpec, *, workers: int | None = None, address: str = "auto", num_cpus: float = 1.0
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.spec = spec
        self.address = address
        self._workers = workers
        self._num_cpus = num_cpus
        self._slots: list[_Slot] = []
        self._owns_connection = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._queued: list[tuple[int, Mapping[str, Any], asyncio.Future[dict[str, Any]]]] = []
        self._next_id = 0
        self._gather_s = GATHER_S
        # `start`'s seconds: "cluster" (importing Ray, reaching or starting the cluster), "workers"
        self.startup_s: dict[str, float] = {}

    @property
    def actors(self) -> list[Any]:
        """The actor handles, one per worker (a replaced worker's handle is replaced here)."""
        return [slot.actor for slot in self._slots]

    @property
    def processes(self) -> list[tuple[int, str]]:
        """Each worker's process id and Ray node id, as it last answered (after a start or a restart)."""
        return [(slot.pid, slot.node) for slot in self._slots]

    def view(self) -> str:
        """ "workers UP/ALL on N nodes": those not restarting, and their nodes, for a progress bar (no Ray call)."""
        up = [slot for slot in self._slots if not slot.down]
        nodes = len({slot.node for slot in up})
        return f"workers {len(up)}/{len(self._slots)} on {nodes} node{'' if nodes == 1 else 's'}"

    async def start(self) -> RayRunner:
        """Reach the cluster, start the workers, and wait until each has built its environment and model."""
        started = time.monotonic()
        ray = _ray()
        if not ray.is_initialized():
            address = None if self.address == "auto" else self.address
            ray.init(address=address, logging_level="WARNING", include_dashboard=False)
            self._owns_connection = True
        self.startup_s["cluster"] = time.monotonic() - started
        count = self._workers or max(1, int(ray.cluster_resources().get("CPU", 1) // max(self._num_cpus, 1e-9)))
        self._slots = [_Slot(self._new_actor()) for _ in range(count)]
        try:
            await asyncio.gather(*(self._ready(slot) for slot in self._slots))
        except BaseException:
            await self.aclose()
            raise
        self.startup_s["workers"] = time.monotonic() - started - self.startup_s["cluster"]
        # Rows out and lines back wait this long for others to go with them: at most ~_CALLS_PER_S calls a
        # second each way, however many workers (a call costs the driver ~300 us; 1,000 workers: 1 s).
        self._gather_s = max(GATHER_S, count / _CALLS_PER_S)
        for slot in self._slots:
            slot.pump = self._spawn(self._pump(slot))
        self._spawn(self._sweep())
        return self

    async def run(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """One rollout of `row` on the least busy worker: its line, or a retryable failure if the worker died."""
        if not self._slots:
            raise RuntimeError("RayRunner.run before start(): use `async with RayRunner(spec) as runner`")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        ident = self._next_id
        self._next_id += 1
        if not self._queued:
            loop.call_later(self._gather_s, self._flush)  # the rows of the next few ms go out together
        self._queued.append((ident, row, future))
        # `_sweep` answers it with a timeout line past its deadline (no timer per row). Cancelled, it stays
        # counted in its worker's load until its line comes back, and is dropped then.
        return await future

    async def aclose(self) -> None:
        """Close every worker's connections, stop the workers, and leave the cluster if `start` joined it."""
        ray = _ray()
        for task in self._tasks:
            task.cancel()
        queued, self._queued = self._queued, []
        for future in [entry[2] for entry in queued] + [e[1] for slot in self._slots for e in slot.waiting.values()]:
            future.cancel()
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
            num_cpus=self._num_cpus,
            max_restarts=-1,
            max_task_retries=0,
            max_concurrency=10_000,
            scheduling_strategy="SPREAD",
        ).remote(self.spec)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        self._tasks.add(task := asyncio.ensure_future(coroutine))
        task.add_done_callback(self._tasks.discard)
        return task

    def _flush(self) -> None:
        """Send the rows queued in the last few ms: each to the worker with the fewest in flight, a batch per worker."""
        queued, self._queued = self._queued, []
        up = [slot for slot in self._slots if not slot.down] or self._slots
        loads = [(len(slot.waiting), index) for index, slot in enumerate(up)]
        heapq.heapify(loads)
        batches: dict[int, tuple[list[int], list[Mapping[str, Any]]]] = {}
        deadline = time.monotonic() + self.spec.timeout_s + _GRACE_S
        for ident, row, future in queued:
            if future.done():
                continue  # cancelled or timed out before it went out
            load, index = loads[0]
            heapq.heapreplace(loads, (load + 1, index))
            slot = up[index]
            slot.waiting[ident] = (row, future, deadline)
            idents, rows = batches.setdefault(index, ([], []))
            idents.append(ident)
            rows.append(row if type(row) is dict else dict(row))
        for index, (idents, rows) in batches.items():
            for start in range(0, len(idents), _BATCH):
                end = start + _BATCH
                self._spawn(self._submit(up[index], idents[start:end], rows[start:end]))

    async def _submit(self, slot: _Slot, idents: list[int], rows: list[Mapping[str, Any]]) -> None:
        try:
            # Rows are JSON (they go into their lines): as one JSON array they cross for ~1 us a row, not ~4.
            payload = orjson.dumps(rows, option=orjson.OPT_SERIALIZE_NUMPY)
        except TypeError as exc:
            error = f"a row sent with this one is not JSON ({exc}).\n  Fix: rows hold JSON values only"
            self._answer(slot, idents, RolloutFailure("agent", error, False))
            return
        try:
            await slot.actor.submit.remote(idents, payload)
        except Exception as exc:  # the worker died before it took them: they end as its rollouts in flight do
            self._lost(slot, exc, idents)

    async def _pump(self, slot: _Slot) -> None:
        """Hand each line a worker sends back to the `run` awaiting it, until the worker dies."""
        actor = slot.actor
        while True:
            try:
                idents, lines = await actor.take.remote(self._gather_s)
            except Exception as exc:
                self._lost(slot, exc, list(slot.waiting))
                return
            waiting = slot.waiting
            for ident, line in zip(idents, lines.split(b"\n"), strict=True):
                entry = waiting.pop(ident, None)
                if entry is not None and not entry[1].done():  # done: cancelled, or answered by `_sweep`
                    entry[1].set_result(orjson.loads(line))

    def _lost(self, slot: _Slot, exc: BaseException, idents: Iterable[int]) -> None:
        """A worker died: the rollouts it held become retryable failures, and the slot waits for its restart."""
        cause = (str(getattr(exc, "cause", None) or exc).strip().splitlines() or [""])[0][:300]
        error = (
            f"the Ray worker running this rollout died ({type(exc).__name__}: {cause}); "
            "a retry runs it on a worker that is up"
        )
        self._answer(slot, idents, RolloutFailure("agent", error, True))
        if not slot.down:
            slot.down = True
            self._spawn(self._restore(slot))

    def _answer(self, slot: _Slot, idents: Iterable[int], failure: RolloutFailure) -> None:
        for ident in idents:
            entry = slot.waiting.pop(ident, None)
            if entry is not None and not entry[1].done():
                entry[1].set_result(failed_line(entry[0], failure, {}))

    async def _sweep(self) -> None:
        """Answer the rollouts past their deadline with a retryable timeout line, once a second."""
        error = f"the Ray worker gave no line within the rollout's {self.spec.timeout_s:g} s and {_GRACE_S:g} s"
        while True:
            await asyncio.sleep(_SWEEP_S)
            now = time.monotonic()
            for slot in self._slots:
                expired = []
                for ident, (_, _, deadline) in slot.waiting.items():
                    if deadline > now:
                        break  # sent in order with one timeout: the rest are younger
                    expired.append(ident)
                for ident in expired:
                    row, future, _ = slot.waiting.pop(ident)
                    if not future.done():
                        future.set_result(failed_line(row, RolloutFailure("agent", error, True), {}))

    async def _ready(self, slot: _Slot) -> None:
        ray = _ray()
        try:
            async with asyncio.timeout(_READY_S):
                slot.pid, slot.node = await slot.actor.ready.remote()
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

    async def _restore(self, slot: _Slot) -> None:
        """Wait for Ray to restart a dead worker (its node may be gone), or replace one that stays dead."""
        gone: tuple[type[BaseException], ...] = (TimeoutError, *_lost_worker_errors())
        while True:
            try:
                async with asyncio.timeout(_READY_S):
                    slot.pid, slot.node = await slot.actor.ready.remote()
                break
            except gone:
                with contextlib.suppress(Exception):
                    _ray().kill(slot.actor, no_restart=True)
                slot.actor = self._new_actor()
        # Rows sent while every slot was down went to the restarted actor; the new pump takes their lines.
        slot.down = False
        if slot.pump is None or slot.pump.done():
            slot.pump = self._spawn(self._pump(slot))


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

    The environment is `configs` built on each worker, or the server at `resources_url`; `model` is a spec
    string (`model_from_spec`). A worker that dies mid-rollout costs its rows an attempt, not a line. A
    long-running driver gains from `gc.freeze()` once started (`collect --ray` does it: ~28 us a line).
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


def ray_runner_factory(
    address: str = "auto", *, workers: int | None = None, on_start: Callable[[RayRunner], None] | None = None
) -> RunnerFactory:
    """What `gymhall collect --ray ADDRESS` gives `run_collect`: builds a started `RayRunner` from the options.

    `on_start(runner)` is told the runner once its workers are up (the progress bar shows `runner.view()`).
    """

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
        # What the driver holds now (Ray's and gymhall's modules) is never garbage: frozen, the full
        # collections of a long run skip it. Unfrozen they cost the driver about 28 us a line.
        gc.freeze()
        if on_start is not None:
            on_start(runner)
        return runner.run, runner.aclose

    return build
