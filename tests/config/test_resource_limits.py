"""The resources server's limits: defaults that fit a 24 GiB machine, and settable from a config."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gymhall.config.resource_limits import ResourceLimits
from gymhall.config.settings import BaseResourcesServerConfig


def test_default_limits_fit_a_24_gib_machine() -> None:
    # 20,000 idle workplace sessions measured ~70 KiB each; the old default (100,000) was 6.7 GiB idle.
    limits = ResourceLimits()
    idle_session_bytes = 70 * 1024
    assert limits.max_sessions * idle_session_bytes * 2 <= 24 * 2**30 // 8  # a full store, in use: an eighth
    assert limits.max_tool_body_bytes <= limits.max_body_bytes
    assert limits.max_answer_bytes == 2**20


def test_limits_are_config_keys_and_checked() -> None:
    config = BaseResourcesServerConfig.model_validate({"max_answer_bytes": "4096", "max_tool_body_bytes": 512})
    assert (config.max_answer_bytes, config.max_tool_body_bytes) == (4096, 512)
    with pytest.raises(ValidationError, match="max_answer_bytes"):
        BaseResourcesServerConfig.model_validate({"max_answer_bytes": 0})
