"""`WorkplaceConfig`: the settings of the workplace environment (its `configs/workplace.yaml` entries)."""

from __future__ import annotations

from pydantic import Field

from gymhall import BaseResourcesServerConfig

__all__ = ["WorkplaceConfig"]


class WorkplaceConfig(BaseResourcesServerConfig):
    """Settings of the workplace environment."""

    max_results: int = Field(default=20, gt=0)  # rows a search or listing returns at most
