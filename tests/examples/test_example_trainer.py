"""The trainer example: rows in, rollout lines out as they finish, run as a user would."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trainer" / "rollouts_for_training.py"


@pytest.mark.slow
def test_trainer_example_prints_every_tasks_rewards(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLE)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 12
    assert all(line.endswith("rewards [1.0, 1.0]") for line in lines)
