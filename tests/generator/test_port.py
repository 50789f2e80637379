"""`gymhall port`: the worked examples it is shown on, and the names and domains it refuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gymhall.exceptions import PortError
from gymhall.generator.dependencies import imported_modules
from gymhall.generator.port import port

pytestmark = pytest.mark.usefixtures("isolated_imports")


def test_the_worked_examples_keep_their_domain_free_of_gymhall(
    port_examples: Path, worked_options: dict[str, dict[str, Any]]
) -> None:
    for name in worked_options:
        assert "gymhall" not in imported_modules(port_examples / name / f"{name}.py")


def test_the_dataset_rows_carry_reference_solutions(
    port_examples: Path, worked_options: dict[str, dict[str, Any]]
) -> None:
    for name in worked_options:
        lines = (port_examples / name / "data" / "example.jsonl").read_text().splitlines()
        rows = [json.loads(line) for line in lines]
        assert len(rows) >= 3 and all(row["reference_solution"]["tool_calls"] for row in rows)


def test_a_module_named_like_the_projects_own_and_an_unknown_domain_are_refused(
    tmp_path: Path, write_module: Callable[[Path, str, str], Path]
) -> None:
    rollout = write_module(tmp_path, "rollout", "class R:\n    def act(self) -> None: ...\n")
    with pytest.raises(PortError, match="would clash with the project's own"):
        port(str(rollout))
    quiz = write_module(tmp_path, "quiz_d", "class Q:\n    def ask(self, question: str) -> str: ...\n")
    with pytest.raises(PortError, match="not a domain gymhall knows"):
        port(str(quiz), domain="nowhere")
