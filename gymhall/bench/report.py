"""Saving benchmark results as JSON, with the machine they ran on (printing them belongs to `gymhall.cli.bench`)."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gymhall.bench.resources import BenchRow
from gymhall.bench.rollout_results import NEMO_GYM_ROLLOUTS_PER_S, RolloutsResult

__all__ = ["write_json", "write_rollouts_json"]


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def write_json(rows: list[BenchRow], path: Path) -> None:
    """Save the rows of workload R with the machine they ran on."""
    data = {"machine": _machine(), "rows": [asdict(row) for row in rows]}
    path.write_text(json.dumps(data, indent=2) + "\n")


def write_rollouts_json(results: Sequence[RolloutsResult], path: Path) -> None:
    """Save the results of workload E with the machine they ran on."""
    data = {
        "machine": _machine(),
        "nemo_gym_rollouts_per_s": NEMO_GYM_ROLLOUTS_PER_S,
        "results": [asdict(r) for r in results],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
