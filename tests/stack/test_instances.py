"""Agent and model server instances of a config: what they read from their settings."""

from pathlib import Path

import pytest

from gymhall.config.loading import load_config
from gymhall.config.settings import ServerKind
from gymhall.exceptions import ConfigError
from gymhall.stack.instances import ModelServer, _url, model_spec
from gymhall.testing import FakeOpenAI, serve_in_thread


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"model": "openai:gpt-4.1-mini"}, ("openai:gpt-4.1-mini", None)),
        ({"model": "replay", "api_key": "k"}, ("replay", "k")),
        (
            {"openai_base_url": "http://h:8000/v1", "openai_model": "qwen", "openai_api_key": "sk"},
            ("http://h:8000/v1#qwen", "sk"),
        ),
        ({"base_url": "http://h:8000/v1", "model": "qwen"}, ("http://h:8000/v1#qwen", None)),
        ({"base_url": "http://h:8000/v1"}, ("http://h:8000/v1", None)),
    ],
)
def test_model_spec_reads_gymhall_and_nemo_gym_keys(settings: dict[str, str], expected: tuple[str, str | None]) -> None:
    assert model_spec(settings) == expected


def test_a_model_instance_without_a_model_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs `model`"):
        model_spec({"temperature": 0.2})


STACK = """
env:
  resources_servers:
    env:
      entrypoint: app.py
      domain: games
      host: 0.0.0.0
      port: 8123
agent:
  responses_api_agents:
    simple_agent:
      entrypoint: gymhall:AgentServer
      resources_server: {type: resources_servers, name: env}
      model_server: {type: responses_api_models, name: policy_model}
policy_model:
  responses_api_models:
    m:
      entrypoint: gymhall:ModelServer
      model: replay
"""


def test_refs_become_urls_and_a_missing_port_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(STACK)
    config = load_config([str(path)])
    agent = config.server("agent")
    assert _url(config, agent, "resources_server", ServerKind.RESOURCES_SERVERS) == "http://127.0.0.1:8123"
    with pytest.raises(ConfigError, match="'policy_model', which has no port. Start both with one `gymhall serve`"):
        _url(config, agent, "model_server", ServerKind.RESPONSES_API_MODELS)


def _model_instance(path: Path, **settings: str) -> list[str]:
    lines = ["policy_model:", "  responses_api_models:", "    m:", "      entrypoint: gymhall:ModelServer"]
    path.write_text("\n".join([*lines, *(f"      {key}: {value}" for key, value in settings.items())]) + "\n")
    return ["--config", str(path), "--name", "policy_model", "--port", "0"]


def test_a_model_server_instance_refuses_replay(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        ModelServer.run_webserver(_model_instance(tmp_path / "m.yaml", model="replay"))
    message = str(info.value)
    assert "policy_model.responses_api_models.m: the model 'replay' cannot be served" in message
    assert "fake:counter, fake:echo" in message


def test_a_model_server_instance_checks_its_url_and_key_at_start(
    tmp_path: Path, unused_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    url = f"http://127.0.0.1:{unused_port}/v1"
    argv = _model_instance(tmp_path / "m.yaml", openai_base_url=url, openai_model="m")
    with pytest.raises(ConfigError, match=rf"cannot reach {url} .*is the server running\?"):
        ModelServer.run_webserver(argv)
    with serve_in_thread(FakeOpenAI(api_key="sk-right")) as fake_url:
        settings = {"openai_base_url": f"{fake_url}/v1", "openai_model": "m", "openai_api_key": "sk-wrong"}
        with pytest.raises(ConfigError) as info:
            ModelServer.run_webserver(_model_instance(tmp_path / "m.yaml", **settings))
    message = str(info.value)
    assert "refused the API key (HTTP 401" in message and "sk-wrong" not in message
    assert "Fix: set OPENAI_API_KEY, or policy_model.responses_api_models.m.openai_api_key in the config" in message
