"""`gymhall port`: the worked examples it is shown on, and the names and domains it refuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gymhall.exceptions import PortError, ServerError
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


LOCK = """
class Lock:
    def __init__(self, code: int) -> None:
        self.code = code
        self.opened = False

    def try_code(self, code: int) -> str:
        if code < 0:
            raise ValueError("codes are never negative")
        self.opened = self.opened or code == self.code
        return "open" if self.opened else "shut"

    def terminate(self, success: bool) -> str:
        return "done"

    def is_solved(self) -> bool:
        return self.opened
"""


def _response(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    from gymhall.testing import function_call, make_response

    return make_response("done", output=[function_call(n, a, f"call_{i}") for i, (n, a) in enumerate(calls)])


async def test_a_ported_domain_keeps_the_readme_promises_on_value_errors_and_terminate(
    tmp_path: Path, write_module: Callable[[Path, str, str], Path], load_server: Callable[[Path, str], Any]
) -> None:
    from gymhall.testing import client_for

    _, project, _ = port(str(write_module(tmp_path, "lock", LOCK)))
    server = load_server(project, "lock_ported_server")
    async with client_for(server.LockEnvironment()) as client:
        async with await client.seed_session({"responses_create_params": {"input": "open"}, "code": 7}) as session:
            with pytest.raises(ServerError) as refused:  # a domain ValueError: a tool error (4xx), not a crash
                await session.call("try_code", {"code": -1})
            assert 400 <= refused.value.status_code < 500 and "codes are never negative" in str(refused.value)
            assert await session.call("try_code", {"code": 7}) == "open"
            unsolved_without_terminate = await session.verify(_response(("try_code", {"code": 7})))
            terminated_failed = await session.verify(
                _response(("try_code", {"code": 7}), ("terminate", {"success": False}))
            )
            terminated = await session.verify(_response(("try_code", {"code": 7}), ("terminate", {"success": True})))
    assert (unsolved_without_terminate["reward"], terminated_failed["reward"], terminated["reward"]) == (0.0, 0.0, 1.0)
