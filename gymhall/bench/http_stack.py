"""Workload E over HTTP: resources, model and agent servers as three uvicorn processes on loopback, and
this process as the driver posting rows to the agent's `POST /run`, with each process's CPU and peak RSS.
With the model path `inprocess-fake` there is no model server: the agent server holds gymhall's fake model."""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from gymhall.bench.protocol import SERVER_PROTOCOL_IMPORT
from gymhall.bench.rollout_results import ModelPath, ProcessUsage, RolloutsResult, rollouts_result
from gymhall.bench.usage import RssSampler, cpu_s, vm_hwm_bytes

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from gymhall.bench.process import ServerProcess
    from gymhall.models.fake_openai import FakeOpenAI

__all__ = ["agent_app_from_env", "fake_model_app", "run_http", "start_model_server"]

# Environment of the agent server's process only: where its resources server and model are.
ENV_RESOURCES_URL = "GYMHALL_BENCH_RESOURCES_URL"
ENV_MODEL_URL = "GYMHALL_BENCH_MODEL_URL"
ENV_MAX_CONNECTIONS = "GYMHALL_BENCH_MAX_CONNECTIONS"
ENV_TIMEOUT_S = "GYMHALL_BENCH_TIMEOUT_S"

_RESOURCES_APP = "gymhall.bench.counters:short_style_app"
_MODEL_APP = "gymhall.bench.http_stack:fake_model_app"
_AGENT_APP = "gymhall.bench.http_stack:agent_app_from_env"


# --- the servers' app factories (imported by uvicorn in the children) -----------------------------


def fake_model_app() -> FakeOpenAI:
    """The fake OpenAI server with the counter policy (an ASGI app), for `uvicorn --factory`."""
    from gymhall.models.fake_openai import FakeOpenAI
    from gymhall.models.fake_policy import counter_policy

    return FakeOpenAI(counter_policy())


def agent_app_from_env() -> Starlette:
    """The agent server for `uvicorn --factory`, wired to the resources and model URLs in its environment."""
    from gymhall.client.resources import AsyncResourcesClient
    from gymhall.collection.agent import Agent
    from gymhall.collection.agent_server import build_agent_app
    from gymhall.models.spec_strings import model_from_spec

    resources_url = os.environ[ENV_RESOURCES_URL]
    model_url = os.environ.get(ENV_MODEL_URL)  # none: the fake model in this process
    max_connections = int(os.environ.get(ENV_MAX_CONNECTIONS, "256"))
    timeout_s = float(os.environ.get(ENV_TIMEOUT_S, "300"))
    resources = AsyncResourcesClient(resources_url, max_connections=max_connections, timeout=timeout_s)
    model = model_from_spec("fake:counter" if model_url is None else f"{model_url.rstrip('/')}/v1#fake-model")
    return build_agent_app(Agent(resources, model, timeout_s=timeout_s))


# --- running it ---------------------------------------------------------------------------------


async def _drive(agent_url: str, n: int, concurrency: int, timeout_s: float) -> dict[str, Any]:
    """Post N rows to the agent's `/run`, C at a time; count ok lines, failures and wrong rewards."""
    from gymhall.bench.rollouts_child import ROW, LineTally
    from gymhall.collection.agent import RemoteAgent
    from gymhall.collection.datasets import expand_rows
    from gymhall.collection.pool import rollouts

    agent = RemoteAgent(agent_url, timeout_s=timeout_s, max_connections=concurrency)
    rows = expand_rows(ROW for _ in range(n))
    tally = LineTally()
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            # max_attempts=1: a failure must show up as an error here, not be hidden by a retry.
            async for line in rollouts(rows, agent.run, concurrency=concurrency, max_attempts=1):
                tally.add(line)
    except TimeoutError:
        raise RuntimeError(f"the http run of {n} rollouts did not finish within {timeout_s:g} s") from None
    finally:
        run_s = time.perf_counter() - start
        await agent.aclose()
    return {
        "ok": tally.ok,
        "errors": tally.errors,
        "wrong_rewards": tally.wrong,
        "error_samples": tally.samples,
        "run_s": run_s,
    }


def _start(app: str, env: dict[str, str] | None = None) -> ServerProcess:
    from gymhall.bench.process import start_server

    return start_server(app, factory=True, env=env, ready_timeout_s=60.0, http=SERVER_PROTOCOL_IMPORT)


def start_model_server() -> ServerProcess:
    """The fake OpenAI server (counter policy) in a uvicorn process of its own, under gymhall's protocol."""
    return _start(_MODEL_APP)


def _start_stack(
    stack: ExitStack, concurrency: int, timeout_s: float, model_path: ModelPath
) -> dict[str, ServerProcess]:
    """Start resources and model servers together, then the agent server pointing at both."""
    apps = {"resources": _RESOURCES_APP} | ({"model": _MODEL_APP} if model_path == "http" else {})
    servers: dict[str, ServerProcess] = {}
    with ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(_start, app) for name, app in apps.items()}
        failure: BaseException | None = None
        for name, future in futures.items():
            try:
                servers[name] = stack.enter_context(future.result())
            except BaseException as exc:  # the other may have started: it is stopped by the stack
                failure = failure or exc
        if failure is not None:
            raise failure
    env = {
        ENV_RESOURCES_URL: servers["resources"].url,
        ENV_MAX_CONNECTIONS: str(concurrency),
        ENV_TIMEOUT_S: str(timeout_s),
    }
    if "model" in servers:
        env[ENV_MODEL_URL] = servers["model"].url
    servers["agent"] = stack.enter_context(_start(_AGENT_APP, env))
    return {name: servers[name] for name in ("agent", "resources", "model") if name in servers}


def run_http(n: int, concurrency: int, *, model_path: ModelPath = "http", timeout_s: float = 300.0) -> RolloutsResult:
    """Run N rollouts through a fresh agent + resources + model stack of uvicorn processes; stop it after.

    Raises RuntimeError if a server does not start or the run outlives `timeout_s`.
    """
    import psutil
    import uvloop

    start = time.perf_counter()
    with ExitStack() as stack:
        servers = _start_stack(stack, concurrency, timeout_s, model_path)
        startup_s = time.perf_counter() - start
        procs = {name: psutil.Process(server.pid) for name, server in servers.items()}
        cpu_before = {name: cpu_s(proc) for name, proc in procs.items()}
        driver_cpu_before = time.thread_time()  # the loop's thread: the RSS sampler's CPU is not the driver's
        with RssSampler(procs.values()) as sampler, asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            counts = runner.run(_drive(servers["agent"].url, n, concurrency, timeout_s))
        driver_cpu = time.thread_time() - driver_cpu_before
        wall = time.perf_counter() - start
        usages = []
        for name, proc in procs.items():
            total = cpu_s(proc)
            usages.append(ProcessUsage(name, proc.pid, total - cpu_before[name], total, sampler.peak(proc.pid), True))
    driver_total = time.process_time()
    driver_rss = vm_hwm_bytes(os.getpid()) or psutil.Process().memory_info().rss
    usages.append(ProcessUsage("driver", os.getpid(), driver_cpu, driver_total, driver_rss, False))
    run_s = float(counts["run_s"])
    # The agent server's model spec (its process holds the model client, so its repr is not at hand here).
    counts["model"] = f"{servers['model'].url}/v1#fake-model" if "model" in servers else "fake:counter"
    return rollouts_result(
        "http",
        n,
        concurrency,
        counts,
        wall_s=wall,
        run_s=run_s,
        startup_s=startup_s,
        processes=usages,
        model_path=model_path,
    )
