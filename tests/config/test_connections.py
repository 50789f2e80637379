"""Connection limits as config keys: every server block takes them, checked like any other setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from gymhall.config.connections import ConnectionSettings
from gymhall.config.loading import load_config
from gymhall.config.settings import BaseResourcesServerConfig, BaseServerConfig
from gymhall.exceptions import ConfigError

CONFIG = """
env:
  resources_servers:
    env:
      entrypoint: app.py
      domain: games
      request_timeout_s: 5
      max_connections: 100
model:
  responses_api_models:
    fake:
      entrypoint: fake
      keep_alive_timeout_s: 10
"""


def test_every_server_config_has_the_connection_settings() -> None:
    for cls in (BaseServerConfig, BaseResourcesServerConfig):
        assert set(ConnectionSettings.model_fields) <= set(cls.model_fields)
    defaults = BaseServerConfig()
    assert (defaults.request_timeout_s, defaults.keep_alive_timeout_s, defaults.backlog) == (60.0, 30, 2048)


def test_a_server_block_sets_them_and_bad_values_are_errors(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(CONFIG)
    config = load_config([str(tmp_path / "c.yaml")])
    resources = config.resources_server("env").config_model(BaseResourcesServerConfig)
    assert (resources.request_timeout_s, resources.connection_cap()) == (5.0, 100)
    assert config.server("model").config_model(BaseServerConfig).keep_alive_timeout_s == 10
    with pytest.raises((ConfigError, ValueError), match="request_timeout_s"):
        BaseServerConfig.model_validate({"request_timeout_s": 0})
