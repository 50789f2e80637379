"""`gymhall port`: the written project, its refusal to overwrite, and the worked examples in process."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest

from gymhall.exceptions import PortError
from gymhall.generator.port import port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "port"
WORKED = {
    "sliding_puzzle": {},
    "ledger": {"verify_method": "reconciled"},
    "desktop": {},
}


pytestmark = pytest.mark.usefixtures("isolated_imports")


def _module(directory: Path, name: str, source: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


def _load_server(project: Path, name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, project / "server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_an_existing_project_is_not_overwritten_without_force(tmp_path: Path) -> None:
    domain = _module(tmp_path, "quiz", "class Quiz:\n    def ask(self, question: str) -> str: ...\n")
    port(str(domain))
    (tmp_path / "gymhall" / "server.py").write_text("# edited\n")
    with pytest.raises(PortError, match="--force"):
        port(str(domain))
    port(str(domain), force=True)
    assert "QuizEnvironment" in (tmp_path / "gymhall" / "server.py").read_text()


@pytest.fixture(params=sorted(WORKED))
def worked(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    name = request.param
    shutil.copy(EXAMPLES / name / f"{name}.py", tmp_path)
    _, project, _ = port(
        str(tmp_path / f"{name}.py"), dataset=EXAMPLES / name / "data" / "example.jsonl", **WORKED[name]
    )
    return name, project


def test_the_worked_examples_keep_their_domain_free_of_gymhall() -> None:
    from gymhall.generator.dependencies import imported_modules

    for name in WORKED:
        assert "gymhall" not in imported_modules(EXAMPLES / name / f"{name}.py")


async def test_a_ported_worked_example_passes_the_conformance_checks_in_process(worked: tuple[str, Path]) -> None:
    from gymhall.checks.conformance import check_environment
    from gymhall.rollouts.datasets import read_rows
    from gymhall.testing import client_for

    name, project = worked
    server = _load_server(project, f"{name}_ported_server")
    env_class = next(v for k, v in vars(server).items() if k.endswith("Environment") and k != "Environment")
    async with client_for(env_class()) as client:
        results = await check_environment(client, read_rows(project / "data" / "example.jsonl"))
    assert [r for r in results if not r.passed] == []


async def test_the_screenshot_is_a_png_in_the_documented_shape(tmp_path: Path) -> None:
    from PIL import Image

    from gymhall.testing import client_for

    shutil.copy(EXAMPLES / "desktop" / "desktop.py", tmp_path)
    _, project, _ = port(str(tmp_path / "desktop.py"))
    server = _load_server(project, "desktop_shot_server")
    async with client_for(server.DesktopEnvironment()) as client:
        async with await client.seed_session({"goal_text": "hi"}) as session:
            shot = await session.call("screenshot")
    assert (shot["type"], shot["media_type"]) == ("image", "image/png")
    assert Image.open(io.BytesIO(base64.b64decode(shot["data"]))).size == (320, 200)


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


def test_the_dataset_rows_carry_reference_solutions() -> None:
    for name in WORKED:
        rows = [json.loads(line) for line in (EXAMPLES / name / "data" / "example.jsonl").read_text().splitlines()]
        assert len(rows) >= 3 and all(row["reference_solution"]["tool_calls"] for row in rows)
