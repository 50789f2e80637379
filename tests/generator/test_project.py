"""The written project: its files declare everything and serve on loopback, are ruff-clean, are not
overwritten without force, and installed (wheel or editable) are environments every command finds."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gymhall.exceptions import PortError
from gymhall.generator.port import port
from gymhall.generator.scaffold import scaffold

pytestmark = pytest.mark.usefixtures("isolated_imports")


def test_an_existing_project_is_not_overwritten_without_force(
    tmp_path: Path, write_module: Callable[[Path, str, str], Path]
) -> None:
    domain = write_module(tmp_path, "quiz", "class Quiz:\n    def ask(self, question: str) -> str: ...\n")
    port(str(domain))
    (tmp_path / "gymhall" / "quiz_gymhall" / "server.py").write_text("# edited\n")
    with pytest.raises(PortError, match="--force"):
        port(str(domain))
    port(str(domain), force=True)
    assert "QuizEnvironment" in (tmp_path / "gymhall" / "quiz_gymhall" / "server.py").read_text()


def test_the_written_project_declares_everything_and_serves_on_loopback(worked: tuple[str, Path]) -> None:
    from gymhall.config.loading import load_config

    name, project = worked
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    dependencies = pyproject["project"]["dependencies"]
    assert dependencies[0].startswith("gymhall>=") and any(d.startswith("pydantic") for d in dependencies)
    assert any(d.startswith("pillow") for d in dependencies) == (name == "desktop")
    # The environment is a package registered under gymhall's entry-point group; the wheel ships the domain.
    package = project / f"{name}_gymhall"
    assert pyproject["project"]["entry-points"]["gymhall.environments"] == {name: f"{name}_gymhall"}
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == [f"{name}_gymhall"]
    assert wheel["force-include"] == {f"../{name}.py": f"{name}_gymhall/{name}.py"}
    assert (project / wheel["force-include"][f"../{name}.py"].replace(f"{name}_gymhall", "..")).resolve() == (
        project.parent / f"{name}.py"
    )
    dockerfile = (project / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") == 2 and "ARG PORT=7860" in dockerfile and "EXPOSE ${PORT}" in dockerfile
    assert f"COPY {name}.py ./{name}.py" in dockerfile and "COPY gymhall/ ./gymhall/" in dockerfile
    assert (
        "--prefix=/install ./gymhall" in dockerfile and f"python -m {name}_gymhall.server --host 0.0.0.0" in dockerfile
    )
    assert all("0.0.0.0" not in (package / f).read_text() for f in ("server.py", f"configs/{name}.yaml"))
    instance = load_config([str(package / "configs" / f"{name}.yaml")]).of_kind("resources_servers")[0]
    assert instance.settings["entrypoint"] == "server.py" and instance.settings["domain"] in ("games", "agent")
    assert instance.entrypoint_path() == package / "server.py"
    rollout = (project / "rollout.py").read_text()
    assert "list_tools()" in rollout and '"parameters"' not in rollout  # tools come from GET /tools
    server = (package / "server.py").read_text()
    assert f"from {name} import" in server  # the domain's logic is imported, not copied
    assert not (package / f"{name}.py").exists()


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
    rows = [json.loads(line) for line in (project / "dial_gymhall" / "data" / "dial.jsonl").read_text().splitlines()]
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


def _run(command: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"COLUMNS": "300", "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _rollouts(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_installed_projects_are_environments_for_every_command(
    tmp_path: Path, port_examples: Path, fresh_venv: Callable[[Path], Path]
) -> None:
    """`pip install` of a ported project (a wheel) and `pip install -e` of an init project, in a fresh virtualenv:
    both are listed by `gymhall envs` and work with `--env`; the wheel needs neither its project nor the domain."""
    started = time.monotonic()
    home = tmp_path / "domain"
    home.mkdir()
    shutil.copy(port_examples / "sliding_puzzle" / "sliding_puzzle.py", home)
    dataset = port_examples / "sliding_puzzle" / "data" / "example.jsonl"
    ported = port(str(home / "sliding_puzzle.py"), dataset=dataset)[1]
    started_project = scaffold("guess_installed", archetype="game", directory=tmp_path)[1]
    python = fresh_venv(tmp_path / "venv")
    assert importlib.util.find_spec("hatchling"), "the projects build with hatchling: install gymhall's dev extra"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-build-isolation"]
    _run([*pip, str(ported)], tmp_path)
    _run([*pip, "-e", str(started_project)], tmp_path)
    shutil.rmtree(home)  # the domain module and the ported project: the wheel must ship what it needs
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    gymhall = [str(python), "-m", "gymhall"]

    listed = _run([*gymhall, "envs"], elsewhere).stdout
    assert "sliding-puzzle-gymhall 0.1.0" in listed and "guess-installed-gymhall 0.1.0" in listed, listed
    assert "skipped" not in listed, listed
    for env_id, rows in (("sliding_puzzle", 2), ("guess_installed", 3)):
        output = elsewhere / f"{env_id}.jsonl"
        collect = ["collect", "--env", env_id, "--model", "replay", "--limit", str(rows), "-o", str(output)]
        _run([*gymhall, *collect], elsewhere)
        lines = _rollouts(output)
        assert [(line["status"], line["reward"]) for line in lines] == [("ok", 1.0)] * rows, lines
    checked = _run([*gymhall, "check", "sliding_puzzle"], elsewhere).stdout
    assert "reference solutions score 1.0" in checked and "FAIL" not in checked, checked
    _run([*gymhall, "reverify", "--env", "guess_installed", str(elsewhere / "guess_installed.jsonl")], elsewhere)
    assert [line["reward"] for line in _rollouts(elsewhere / "guess_installed_reverified.jsonl")] == [1.0] * 3

    # `gymhall serve NAME` beside the folder `gymhall init NAME` wrote: the id, not the folder.
    command = [*gymhall, "serve", "guess_installed", "--no-head-server"]
    served = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(30, served.kill)  # a server that never says it is ready ends the reading
    watchdog.start()
    try:
        assert served.stdout is not None
        printed = [served.stdout.readline() for _ in range(2)]
        while printed[-1] and "ready" not in printed[-1]:
            printed.append(served.stdout.readline())
    finally:
        watchdog.cancel()
        served.terminate()
        served.wait(timeout=10)
    assert "serving guess_installed_resources_server on http://127.0.0.1:" in "".join(printed), printed

    # The Dockerfile's command: the installed package's server, the domain module imported from beside it.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port_number = sock.getsockname()[1]
    command = [str(python), "-m", "sliding_puzzle_gymhall.server", "--port", str(port_number)]
    server = subprocess.Popen(command, cwd=elsewhere, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert server.poll() is None, server.communicate()[1][-2000:]
            try:
                tools = httpx.get(f"http://127.0.0.1:{port_number}/tools", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the installed server did not answer within 20 s"
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert tools.status_code == 200 and {tool["name"] for tool in tools.json()} >= {"slide"}, tools.text
    assert time.monotonic() - started < 60
