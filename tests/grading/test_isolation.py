"""gymhall.grading.isolation: what the machine is probed for before a sandboxed run."""

from __future__ import annotations

import os

from gymhall.grading.isolation import user_task_count


def test_user_task_count_counts_this_process() -> None:
    assert user_task_count(os.getuid()) >= 1
