"""The settings of the `code` environment."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from gymhall import BaseResourcesServerConfig

__all__ = ["CodeConfig", "MiB"]

MiB = 1024 * 1024


class CodeConfig(BaseResourcesServerConfig):
    """Settings of the `code` environment (NeMo Gym's `num_processes` and `unit_test_timeout_secs` are accepted)."""

    pool_size: int = Field(default=4, gt=0, validation_alias=AliasChoices("pool_size", "num_processes"))
    time_limit_s: float = Field(
        default=10.0, gt=0, validation_alias=AliasChoices("time_limit_s", "unit_test_timeout_secs")
    )
    memory_limit_mb: int = Field(default=1024, gt=0)
    output_limit_bytes: int = Field(default=8 * MiB, gt=0)
    reward_mode: Literal["all", "fraction"] = "all"
    reasoning_format_penalty: float = Field(default=0.0, ge=0.0, le=1.0)
    isolation: Literal["auto", "namespace", "audit-hook"] = "auto"
