"""`gymhall serve --ray` on a real local Ray cluster of two nodes (one cluster for the module).

Each node has its own custom resource (`node_a`, `node_b`), so a test can tell where Ray put a replica.
The environment is the README's counter (`examples/counter`), whose state shows whether every call of a
session reached the replica that seeded it.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import ray
from ray.cluster_utils import Cluster

from gymhall.client.http import jarless_cookies
from gymhall.client.resources import AsyncResourcesClient
from gymhall.config.loading import load_config
from gymhall.exceptions import ConfigError, ServerStartError
from gymhall.scale.router import REPLICA_HEADER
from gymhall.scale.served import ray_address, served_instances
from gymhall.scale.serving import ACTOR_PREFIX, RayServing
from gymhall.stack.plan import plan_servers
from gymhall.wire.contract import SESSION_HEADER

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "examples" / "counter" / "configs" / "counter.yaml")
NAME = "counter_resources_server"
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """Two nodes of one CPU each, on this machine; the test process is the driver."""
    started = time.monotonic()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "resources": {"node_a": 1}, "include_dashboard": False},
    )
    cluster.add_node(num_cpus=1, resources={"node_b": 1})
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    TIMES["cluster"] = time.monotonic() - started
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def nodes() -> dict[str, str]:
    """Each node's custom resource name, by node id."""
    found = {}
    for node in ray.nodes():
        marker = next(key for key in node["Resources"] if key in ("node_a", "node_b"))
        found[node["NodeID"]] = marker
    return found


def serving_for(overrides: list[str]) -> RayServing:
    config = load_config([CONFIG], overrides)
    return RayServing(served_instances(plan_servers(config, overrides), config), ready_timeout=60)


def live_replica_actors() -> list[str]:
    return [a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if a["name"].startswith(ACTOR_PREFIX)]


@pytest.fixture(scope="module")
def served(cluster: Cluster) -> Iterator[RayServing]:
    started = time.monotonic()
    with serving_for([f"ray.servers.{NAME}.replicas=4"]) as serving:
        TIMES["4 replicas up"] = time.monotonic() - started
        yield serving


async def seed(client: httpx.AsyncClient, start: int) -> tuple[str, str]:
    reply = await client.post("/seed_session", json={"initial_count": start})
    assert reply.status_code == 200, reply.text
    return reply.headers[SESSION_HEADER], reply.headers[REPLICA_HEADER]


def client_of(serving: RayServing) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=serving.urls[NAME], cookies=jarless_cookies(), trust_env=False, timeout=30)


async def test_sessions_stick_to_their_replica_through_the_one_address(served: RayServing) -> None:
    async with client_of(served) as client:
        sessions = [(n, *await seed(client, 1000 * n)) for n in range(8)]
        assert len({replica for _, _, replica in sessions}) == 4  # seeds are shared out over the replicas

        async def play(n: int, handle: str, replica: str) -> None:
            for step in range(1, 26):
                reply = await client.post("/increment", json={"by": 1}, headers={SESSION_HEADER: handle})
                assert reply.status_code == 200, reply.text
                assert reply.headers[REPLICA_HEADER] == replica  # the seeding replica answered
                assert reply.json() == {"value": 1000 * n + step}  # and its state is the session's

        await asyncio.gather(*(play(*session) for session in sessions))
    print(f"cluster up in {TIMES['cluster']:.1f} s; 4 replicas placed and ready in {TIMES['4 replicas up']:.1f} s")


async def test_gymhalls_client_seeds_through_the_router_then_calls_its_replica_directly(served: RayServing) -> None:
    router = served.routers[NAME]
    before = sum(replica.requests for replica in router.replicas)
    async with AsyncResourcesClient(served.urls[NAME]) as env:
        sessions = [await env.seed_session({"initial_count": 100 * n}) for n in range(4)]
        assert {session.replica_url for session in sessions} <= {replica.url for replica in served.replicas}
        for _ in range(10):
            await asyncio.gather(*(session.call("increment", by=1) for session in sessions))
        assert [await s.call("increment", by=0) for s in sessions] == [{"value": 100 * n + 10} for n in range(4)]
    assert sum(replica.requests for replica in router.replicas) - before == 4  # only the seeds passed the router


def test_replicas_spread_over_the_nodes_and_the_table_names_each(served: RayServing) -> None:
    by_node = nodes()
    placed = [by_node[replica.node_id] for replica in served.replicas]
    assert sorted(set(placed)) == ["node_a", "node_b"], placed  # SPREAD: both nodes serve
    table = served.table()
    for replica in served.replicas:
        assert replica.label in table and replica.url in table and replica.node_id[:8] in table
    assert served.urls[NAME] in table


async def test_a_killed_replica_answers_503_the_others_go_on_and_a_new_one_takes_its_place(served: RayServing) -> None:
    async with client_of(served) as client:
        sessions = [await seed(client, n) for n in range(8)]
        victim = served.replicas[1]
        pid = int(ray.get(served.actors[1].start.remote()).pid)  # its server's process
        ray.kill(served.actors[1], no_restart=True)  # SIGKILL: no clean-up runs in the actor
        deadline = time.monotonic() + 20
        while victim.down is None and time.monotonic() < deadline:  # Ray reports the death to the watcher
            await asyncio.sleep(0.05)
        assert victim.down is not None and "actor died" in victim.down
        for _ in range(100):  # the kernel kills the server with its actor (PR_SET_PDEATHSIG)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail(f"the killed replica's server (pid {pid}) outlived its actor")
        for handle, replica in sessions:
            reply = await client.post("/increment", json={"by": 1}, headers={SESSION_HEADER: handle})
            if replica == victim.label:
                assert reply.status_code == 503 and reply.json()["replica"] == victim.label, reply.text
                assert f"replica {victim.label}" in reply.json()["detail"]
            else:
                assert reply.status_code == 200 and reply.headers[REPLICA_HEADER] == replica
        assert victim.label not in {(await seed(client, 0))[1] for _ in range(8)}
        router = served.routers[NAME]
        deadline = time.monotonic() + 60
        while len([r for r in router.replicas if r.down is None]) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # Ray places a new replica in the lost one's place
        up = [replica.label for replica in router.replicas if replica.down is None]
        assert sorted(up) == [f"{NAME}#{i}" for i in (0, 2, 3, 4)], up
        fresh = [await seed(client, 7) for _ in range(8)]
        on_new = [handle for handle, replica in fresh if replica == f"{NAME}#4"]
        assert on_new, fresh  # the new replica takes seeds, and serves their sessions
        reply = await client.post("/increment", json={"by": 1}, headers={SESSION_HEADER: on_new[0]})
        assert reply.status_code == 200 and reply.json() == {"value": 8}, reply.text
    assert served.instance_down() is None


def test_custom_resources_place_the_replicas_and_stopping_kills_every_actor_and_server(cluster: Cluster) -> None:
    serving = serving_for([f"ray.servers.{NAME}.replicas=2", f"+ray.servers.{NAME}.resources.node_b=0.1"])
    serving.start()
    assert [nodes()[replica.node_id] for replica in serving.replicas] == ["node_b", "node_b"]  # where node_b is
    actors, names = serving.actors, live_replica_actors()
    assert len([n for n in names if serving.run_id in n]) == 2
    pids = [int(ray.get(actor.start.remote()).pid) for actor in actors]  # start() again answers the address
    assert serving.stop() == 2
    assert not [n for n in live_replica_actors() if serving.run_id in n]
    for actor in actors:
        with pytest.raises(ray.exceptions.RayActorError):
            ray.get(actor.wait_exit.remote(), timeout=10)
    for pid in pids:  # the servers died with their actors
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_replica_that_cannot_start_fails_the_start_with_its_output_and_leaves_no_actor(cluster: Cluster) -> None:
    before = set(live_replica_actors())
    serving = serving_for([f"+{NAME}.resources_servers.counter.bogus_key=1", f"ray.servers.{NAME}.replicas=2"])
    with pytest.raises(ServerStartError, match=rf"replica {NAME}#\d did not start") as failure:
        serving.start()
    assert any("bogus_key" in line for line in failure.value.output), failure.value.output  # the server's own error
    assert "to run it alone on that node" in failure.value.fix
    assert set(live_replica_actors()) == before


def test_the_ray_block_is_checked_and_needs_no_cluster() -> None:
    config = load_config([CONFIG], ["ray.servers.nope.replicas=2"])
    with pytest.raises(ConfigError, match=r"ray\.servers\.nope: no server instance 'nope'"):
        served_instances(plan_servers(config), config)
    config = load_config([CONFIG], [f"ray.servers.{NAME}.replicas=0"])
    with pytest.raises(ConfigError, match="replicas must be at least 1"):
        served_instances(plan_servers(config), config)
    assert ray_address(load_config([CONFIG]), None) is None
    assert ray_address(load_config([CONFIG], ["ray=auto"]), None) == "auto"
    assert ray_address(load_config([CONFIG], ["ray.address=10.0.0.1:6379"]), "auto") == "auto"
    assert ray_address(load_config([CONFIG], ["ray.address=10.0.0.1:6379"]), None) == "10.0.0.1:6379"


STACK = """
counter_resources_server:
  resources_servers:
    counter:
      entrypoint: {counter}
      domain: games
policy_model:
  responses_api_models:
    fake_model:
      entrypoint: gymhall:ModelServer
      model: fake:counter
counter_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: gymhall:AgentServer
      resources_server: {{type: resources_servers, name: counter_resources_server}}
      model_server: {{type: responses_api_models, name: policy_model}}
      max_steps: 8
ray:
  servers:
    counter_resources_server: {{replicas: 2}}
"""


def test_the_cli_serves_a_whole_stack_on_the_cluster_and_ctrl_c_leaves_no_actor(
    cluster: Cluster, tmp_path: Path
) -> None:
    """`--ray ADDRESS`, replicas from the config's `ray` block; the agent reaches its resources through their router."""
    config = tmp_path / "stack.yaml"
    config.write_text(STACK.format(counter=ROOT / "examples" / "counter" / "counter.py"))
    command = [sys.executable, "-m", "gymhall", "serve", "--ray", str(config), cluster.address, "--no-head-server"]
    before = set(live_replica_actors())  # the module's own serving's
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "on Ray, ready (Ctrl-C to stop)" in line:
                break
        output = "".join(lines)
        assert "4 replicas of 3 servers on Ray, ready (Ctrl-C to stop)" in output, output
        ready_s = time.monotonic() - started
        agent = re.search(r"counter_agent\s+responses_api_agents\s+(http://\S+)", output)
        resources = re.search(rf"{NAME}\s+resources_servers\s+(http://\S+)", output)
        assert agent is not None and resources is not None and output.count(f"{NAME}#") >= 2, output
        row = {
            "responses_create_params": {"input": [{"role": "user", "content": "A counter starts at 10. Add 4."}]},
            "initial_count": 10,
        }
        with httpx.Client(trust_env=False, timeout=60) as client:
            runs = [client.post(agent.group(1) + "/run", json=row) for _ in range(4)]
            assert [run.status_code for run in runs] == [200] * 4, runs[0].text
            # The fake model answers the count its tool call returned: 1.0 only if seed, tool and verify
            # all reached the session's replica.
            assert [run.json()["reward"] for run in runs] == [1.0] * 4, runs[0].text
            handle = client.post(resources.group(1) + "/seed_session", json={"initial_count": 41})
            reply = client.post(
                resources.group(1) + "/increment",
                json={"by": 1},
                headers={SESSION_HEADER: handle.headers[SESSION_HEADER]},
            )
            assert reply.json() == {"value": 42}
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output + rest
    assert "4 replicas stopped" in rest, rest
    assert set(live_replica_actors()) == before  # the CLI's actors are gone
    print(
        f"gymhall serve (ray block): ready in {ready_s:.1f} s, stopped in {time.monotonic() - started - ready_s:.1f} s"
    )
