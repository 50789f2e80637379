"""NeMo Gym's head server in `gymhall serve`: the served config, its routes, and NeMo Gym's collectors replayed.

The recordings in tests/fixtures/nemo_gym_collectors/ hold every request NeMo Gym 0.4's
`ng_collect_rollouts` and 0.7's `gym eval run --no-serve` (and `gym env status`) made to a `gymhall
serve` stack, with gymhall's answers (`record.py` there re-records them with the real collectors).
CI has no NeMo Gym: here each recorded request is sent again to a fresh `gymhall serve` of the same
stack, to the server the collector would pick from the served config, and the answer must carry what
the collector read from the recorded one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from omegaconf import OmegaConf

from gymhall.config.loading import load_config
from gymhall.exceptions import ConfigError
from gymhall.stack.head import (
    DEFAULT_HEAD_PORT,
    StartedServer,
    environment_server_name,
    plan_head,
    served_config,
)
from gymhall.stack.plan import plan_servers

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nemo_gym_collectors"
STACK = FIXTURES / "stack.yaml"
RECORDINGS = sorted(FIXTURES.glob("nemo_gym_*.json"))
AGENT = "counter_simple_agent"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config_as_collectors_read_it(answer: httpx.Response) -> dict[str, Any]:
    # NeMo Gym's ServerClient.load_from_global_config: OmegaConf.create(json.loads(body)).
    container = OmegaConf.to_container(OmegaConf.create(json.loads(answer.content)), resolve=True)
    assert isinstance(container, dict)
    return {str(key): value for key, value in container.items()}


def _agent_url(config: dict[str, Any], version: str) -> str:
    """Where each collector posts `/run`, found in the served config as its source does it."""
    if version.startswith("0.4"):  # ServerClient: <agent>.responses_api_agents.<impl>.host/port
        (settings,) = config[AGENT]["responses_api_agents"].values()
    else:  # 0.7: the one environment server whose entry names the agent (rollout_collection.py:222-258)
        fronting = [
            entry
            for block in config.values()
            if isinstance(block, dict) and "environment_servers" in block
            for entry in block["environment_servers"].values()
            if entry.get("agent_server", {}).get("name") == AGENT
        ]
        assert len(fronting) == 1, f"0.7 needs exactly one environment server for {AGENT}, got {fronting}"
        settings = fronting[0]
    return f"http://{settings['host']}:{settings['port']}"


def _skeleton(value: Any) -> Any:
    """A served config without what differs between two serves of one stack: ports and absolute paths."""
    if isinstance(value, dict):
        return {
            key: "<port>"
            if key == "port"
            else [Path(p).name for p in item]
            if key == "config_paths"
            else _skeleton(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_skeleton(item) for item in value]
    return value


@pytest.fixture(scope="module")
def head_url() -> Iterator[str]:
    """`gymhall serve stack.yaml` with its head server on a free port, until the module's tests end."""
    port = _free_port()
    command = [sys.executable, "-m", "gymhall", "serve", str(STACK), f"head_server.port={port}"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, env=os.environ.copy()
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            try:
                if httpx.get(f"{url}/readyz", trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the stack was not ready within 60 s"
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda path: path.stem)
def test_recorded_collector_requests_get_what_the_collector_read(head_url: str, recording: Path) -> None:
    record = json.loads(recording.read_text())
    version = record["nemo_gym_version"]
    assert record["output"]["rewards"] == [1.0] * record["output"]["lines"]  # what the real run wrote
    paths = [(exchange["server"], exchange["path"]) for exchange in record["exchanges"]]
    assert ("head", "/global_config_dict_yaml") in paths and ("agent", "/aggregate_metrics") in paths
    agent_url = None
    with httpx.Client(trust_env=False, timeout=60) as client:
        for exchange in record["exchanges"]:
            if exchange["server"] == "agent":
                assert agent_url is not None, "the collector fetched the config before calling the agent"
            base = head_url if exchange["server"] == "head" else agent_url
            answer = client.request(
                exchange["method"],
                f"{base}{exchange['path']}",
                json=exchange["request_body"] if exchange["request_body"] is not None else None,
            )
            recorded = exchange["response_body"]
            assert answer.status_code == exchange["status"] == 200, answer.text
            assert answer.headers["content-type"] == exchange["response_content_type"]
            if exchange["path"] == "/global_config_dict_yaml":
                config = _config_as_collectors_read_it(answer)
                assert _skeleton(config) == _skeleton(OmegaConf.to_container(OmegaConf.create(recorded)))
                agent_url = _agent_url(config, version)
                assert httpx.get(f"{agent_url}/", trust_env=False).json() == {"status": "ok"}
            elif exchange["path"] == "/run":
                line, row = answer.json(), exchange["request_body"]
                assert set(line) == set(recorded)
                assert line["reward"] == recorded["reward"] == 1.0
                assert [item["type"] for item in line["response"]["output"]] == [
                    item["type"] for item in recorded["response"]["output"]
                ]
                assert (line["_ng_task_index"], line["_ng_rollout_index"]) == (
                    row["_ng_task_index"],
                    row["_ng_rollout_index"],
                )
                assert line["response"]["usage"]["total_tokens"] > 0
            elif exchange["path"] == "/aggregate_metrics":
                metrics = answer.json()
                # NeMo Gym's AggregateMetrics: group_level_metrics (list), agent_metrics, key_metrics (dicts).
                assert set(metrics) == set(recorded) >= {"group_level_metrics", "agent_metrics", "key_metrics"}
                assert set(metrics["agent_metrics"]) == set(recorded["agent_metrics"])
                assert metrics["agent_metrics"]["mean/reward"] == 1.0
                assert len(metrics["group_level_metrics"]) == len(recorded["group_level_metrics"])
            elif exchange["path"] == "/server_instances":
                listed = answer.json()
                fields = ("process_name", "server_type", "name")
                assert [tuple(i[f] for f in fields) for i in listed] == [tuple(i[f] for f in fields) for i in recorded]
                # gym env status GETs each url and counts a server healthy when it answers.
                assert all(httpx.get(i["url"], trust_env=False).status_code == 200 for i in listed)
            else:
                pytest.fail(f"{recording.name} recorded a route this test does not check: {exchange['path']}")


def test_the_07_collector_reaches_the_agent_through_a_legacy_agent_entry(head_url: str) -> None:
    config = _config_as_collectors_read_it(httpx.get(f"{head_url}/global_config_dict_yaml", trust_env=False))
    relay = config["counter_environment_server"]["environment_servers"]["legacy_agent"]
    (agent,) = config[AGENT]["responses_api_agents"].values()
    assert relay["agent_server"] == {"type": "responses_api_agents", "name": AGENT}
    assert (relay["host"], relay["port"]) == (agent["host"], agent["port"])
    assert config["head_server"] == {"host": "127.0.0.1", "port": int(head_url.rsplit(":", 1)[1])}
    for name in ("counter_resources_server", "policy_model"):
        (settings,) = config[name][next(iter(config[name]))].values()
        assert httpx.get(f"http://{settings['host']}:{settings['port']}/", trust_env=False).status_code == 200


# -- the served config and the head server, without children ------------------------------------------------

SECRET_STACK = r"""
judge:
  responses_api_models:
    openai_model:
      entrypoint: gymhall:ModelServer
      openai_base_url: http://127.0.0.1:1/v1
      openai_model: m
      openai_api_key: sk-do-not-serve
      description: costs \${price} a call
agent:
  responses_api_agents:
    simple_agent:
      entrypoint: gymhall:AgentServer
      model_server: {type: responses_api_models, name: judge}
simple_agent_two:
  responses_api_agents:
    simple_agent:
      entrypoint: gymhall:AgentServer
      model_server: {type: responses_api_models, name: judge}
declared_environment_server:
  environment_servers:
    legacy_agent:
      entrypoint: app.py
      agent_server: {type: responses_api_agents, name: simple_agent_two}
"""


def _stack(tmp_path: Path, text: str, *overrides: str) -> Any:
    path = tmp_path / "stack.yaml"
    path.write_text(text)
    config = load_config([str(path)], list(overrides))
    return config, plan_servers(config)


def test_the_served_config_hides_secrets_keeps_literals_and_fronts_every_agent_once(tmp_path: Path) -> None:
    config, plans = _stack(tmp_path, SECRET_STACK)
    served = served_config(config, plans, "127.0.0.1", 4321)
    text = json.dumps(served)
    assert "sk-do-not-serve" not in text
    read = OmegaConf.to_container(OmegaConf.create(served), resolve=True)
    assert isinstance(read, dict)
    judge = read["judge"]["responses_api_models"]["openai_model"]
    assert judge["openai_api_key"] == "***"
    assert judge["description"] == "costs ${price} a call"  # a literal, never resolved by the collector
    ports = {plan.name: plan.port for plan in plans}
    assert read["agent_environment_server"]["environment_servers"]["legacy_agent"]["port"] == ports["agent"]
    # An agent the config already fronts gets no second entry (0.7 refuses ambiguous routing), but its
    # declared legacy_agent entry points at it, since gymhall starts no relay process.
    declared = read["declared_environment_server"]["environment_servers"]["legacy_agent"]
    assert declared["port"] == ports["simple_agent_two"]
    assert [name for name in read if name.endswith("_environment_server")] == [
        "declared_environment_server",
        "agent_environment_server",
    ]
    assert read["head_server"] == {"host": "127.0.0.1", "port": 4321}


@pytest.mark.parametrize(
    ("agent", "implementation", "taken", "expected"),
    [
        ("workplace_assistant_simple_agent", "simple_agent", [], "workplace_assistant_environment_server"),
        ("counter_agent", "simple_agent", [], "counter_environment_server"),
        ("simple_agent", "simple_agent", [], "simple_agent_environment_server"),
        ("counter_agent", "simple_agent", ["counter_environment_server"], "counter_agent_environment_server"),
    ],
)
def test_relays_are_named_as_nemo_gym_names_them(
    agent: str, implementation: str, taken: list[str], expected: str
) -> None:
    assert environment_server_name(agent, implementation, taken) == expected


def test_the_head_port_is_checked_before_any_server_starts(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config, plans = _stack(tmp_path, SECRET_STACK, f"head_server.port={port}")
        with pytest.raises(ConfigError, match=rf"key 'head_server.port': the head server cannot bind 127.0.0.1:{port}"):
            plan_head(config, plans)
    port = _free_port()
    judge_port = f"judge.responses_api_models.openai_model.port={port}"
    config, plans = _stack(tmp_path, SECRET_STACK, judge_port, f"head_server.port={port}")
    with pytest.raises(ConfigError, match=r"the head server and server 'judge' are both set to port"):
        plan_head(config, plans)


def test_without_a_configured_port_the_head_takes_11000_or_says_which_port_it_took(tmp_path: Path) -> None:
    config, plans = _stack(tmp_path, SECRET_STACK)
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            holder.bind(("127.0.0.1", DEFAULT_HEAD_PORT))
            holder.listen()
        except OSError:
            pass  # already taken by someone else: the same situation
        head = plan_head(config, plans)
        try:
            assert head.port != DEFAULT_HEAD_PORT
            assert head.note is not None and f"++head_server.port={head.port}" in head.note
        finally:
            head.stop()


def test_the_head_server_answers_liveness_at_once_and_readiness_when_the_stack_is_up(tmp_path: Path) -> None:
    config, plans = _stack(tmp_path, SECRET_STACK, "head_server.port=0")
    head = plan_head(config, plans)
    head.start()
    try:
        with httpx.Client(base_url=head.url, trust_env=False) as client:
            assert client.get("/").json() == client.get("/livez").json() == {"status": "ok"}
            for path in ("/readyz", "/healthz", "/health"):
                answer = client.get(path)
                assert (answer.status_code, answer.json()) == (503, {"status": "starting"})
            assert client.get("/server_instances").json() == []
            head.mark_ready([StartedServer(plan, 1000 + i, 1.5) for i, plan in enumerate(plans)])
            assert client.get("/readyz").status_code == 200
            listed = client.get("/server_instances").json()
            assert [(i["process_name"], i["server_type"], i["name"], i["pid"]) for i in listed] == [
                ("judge", "responses_api_models", "openai_model", 1000),
                ("agent", "responses_api_agents", "simple_agent", 1001),
                ("simple_agent_two", "responses_api_agents", "simple_agent", 1002),
            ]
            assert listed[0]["url"] == f"http://127.0.0.1:{plans[0].port}"
    finally:
        head.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{head.url}/", trust_env=False)
