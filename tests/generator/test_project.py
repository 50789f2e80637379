"""The written project: its files declare everything and serve on loopback, are ruff-clean, and are not
overwritten without force."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from gymhall.exceptions import PortError
from gymhall.generator.port import port

pytestmark = pytest.mark.usefixtures("isolated_imports")


def test_an_existing_project_is_not_overwritten_without_force(
    tmp_path: Path, write_module: Callable[[Path, str, str], Path]
) -> None:
    domain = write_module(tmp_path, "quiz", "class Quiz:\n    def ask(self, question: str) -> str: ...\n")
    port(str(domain))
    (tmp_path / "gymhall" / "server.py").write_text("# edited\n")
    with pytest.raises(PortError, match="--force"):
        port(str(domain))
    port(str(domain), force=True)
    assert "QuizEnvironment" in (tmp_path / "gymhall" / "server.py").read_text()


def test_the_written_project_declares_everything_and_serves_on_loopback(worked: tuple[str, Path]) -> None:
    from gymhall.config.loading import load_config

    name, project = worked
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    dependencies = pyproject["project"]["dependencies"]
    assert dependencies[0].startswith("gymhall>=") and any(d.startswith("pydantic") for d in dependencies)
    assert any(d.startswith("pillow") for d in dependencies) == (name == "desktop")
    dockerfile = (project / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") == 2 and "ARG PORT=7860" in dockerfile and "EXPOSE ${PORT}" in dockerfile
    assert "--host 0.0.0.0" in dockerfile and f"COPY {name}.py ./" in dockerfile
    assert all("0.0.0.0" not in (project / f).read_text() for f in ("server.py", f"configs/{name}.yaml"))
    instance = load_config([str(project / "configs" / f"{name}.yaml")]).of_kind("resources_servers")[0]
    assert instance.settings["entrypoint"] == "server.py" and instance.settings["domain"] in ("games", "agent")
    rollout = (project / "rollout.py").read_text()
    assert "list_tools()" in rollout and '"parameters"' not in rollout  # tools come from GET /tools
    server = (project / "server.py").read_text()
    assert f"from {name} import" in server  # the domain's logic is imported, not copied


def test_the_written_code_is_ruff_clean(worked: tuple[str, Path]) -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    _, project = worked
    options = ["--isolated", "--line-length", "120", "--target-version", "py311"]
    check = subprocess.run([ruff, "check", *options, "--select", "E,F,I,UP,B", "."], capture_output=True, cwd=project)
    assert check.returncode == 0, check.stdout.decode()
    formatted = subprocess.run([ruff, "format", "--check", *options, "."], capture_output=True, cwd=project)
    assert formatted.returncode == 0, formatted.stdout.decode()


def test_a_project_without_a_dataset_has_a_starter_row_with_one_tool_call_its_tests_collect(
    tmp_path: Path, write_module: Callable[[Path, str, str], Path]
) -> None:
    domain = write_module(
        tmp_path,
        "dial",
        """
        from typing import Literal


        class Dial:
            def __init__(self, start: int = 0) -> None:
                self.value = start

            def turn(self, way: Literal["left", "right"], by: int, note: str = "x", scale: float = 2.5) -> int:
                self.value += by if way == "right" else -by
                return self.value

            def peek(self) -> int:
                return self.value

            def is_solved(self) -> bool:
                return self.value == 3
        """,
    )
    _, project, _ = port(str(domain))
    rows = [json.loads(line) for line in (project / "data" / "example.jsonl").read_text().splitlines()]
    # the first tool, with a Literal's first choice, a zero for a required int, and the defaults
    expected = [{"name": "turn", "arguments": {"way": "left", "by": 0, "note": "x", "scale": 2.5}}]
    assert len(rows) == 1 and rows[0]["reference_solution"] == {"tool_calls": expected, "answer": ""}
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert "tests/test_server.py::test_sessions_do_not_share_state" in collected.stdout
    assert "tests/test_server.py::test_doing_nothing_scores_below_1[0]" in collected.stdout
