"""gymhall.grading.isolation: what the machine is probed for before a sandboxed run."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from gymhall.grading.isolation import SANDBOX_UID, sandbox_user, user_task_count, world_readable


def test_user_task_count_counts_this_process() -> None:
    assert user_task_count(os.getuid()) >= 1


def test_world_readable_needs_every_parent_searchable() -> None:
    base = Path(tempfile.mkdtemp())  # under /tmp, which everyone may search (pytest's tmp_path is private)
    try:
        inner = base / "private" / "file.txt"
        inner.parent.mkdir()
        inner.write_text("x")
        inner.chmod(0o644)
        base.chmod(0o755)
        inner.parent.chmod(0o755)
        assert world_readable(str(inner))
        inner.parent.chmod(0o700)
        assert not world_readable(str(inner))
        assert not world_readable(str(base / "missing"))
    finally:
        shutil.rmtree(base)


def test_the_sandbox_user_owns_nothing_where_gymhall_is_root() -> None:
    if os.geteuid() == 0:
        assert sandbox_user(namespaced=True) == SANDBOX_UID != 0
    else:
        assert sandbox_user(namespaced=True) is None  # the user namespace maps only the server's user
