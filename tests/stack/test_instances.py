"""Agent and model server instances of a config: what they read from their settings."""

from pathlib import Path

import pytest

from gymhall.config.loading import load_config
from gymhall.config.settings import ServerKind
from gymhall.exceptions import ConfigError
from gymhall.stack.instances import _url, model_spec


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
