"""`gymhall port`: reading a domain class, the errors, the written project, and the worked examples in process."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gymhall._port import PortError, inspect_domain, load_domain, port

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "port"
WORKED = {
    "sliding_puzzle": {},
    "ledger": {"verify_method": "reconciled"},
    "desktop": {},
}


@pytest.fixture(autouse=True)
def isolated_imports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Domain and server modules a test imports from its files are forgotten after it, so names can repeat."""
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    roots = (str(tmp_path_factory.getbasetemp()), str(EXAMPLES))
    for name in set(sys.modules) - modules:
        if str(getattr(sys.modules[name], "__file__", None) or "").startswith(roots):
            del sys.modules[name]


def _module(directory: Path, name: str, source: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


def _spec(directory: Path, name: str, source: str, **options: Any) -> Any:
    cls, root = load_domain(str(_module(directory, name, source)))
    return inspect_domain(cls, root=root, **options)


def _load_server(project: Path, name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, project / "server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


GAME = """
    from enum import Enum
    from typing import Literal

    class Color(Enum):
        RED = "red"
        BLUE = "blue"

    class Game:
        '''A game.

        Args:
            size: the board's size.
        '''

        def __init__(self, size: int = 3, names: list[str] | None = None) -> None:
            self.size = size

        def move(self, direction: Literal["up", "down"], steps: int = 1) -> str:
            '''Move the piece.

            Args:
                direction: where to go.
                steps: how far,
                    in squares.
            '''
            return direction

        def paint(self, color: Color, cells: tuple[int, ...]) -> None:
            ''':param color: the paint.'''

        def _private(self) -> None: ...

        @staticmethod
        def helper() -> None: ...

        def is_solved(self) -> bool:
            return False
"""


def test_public_methods_become_tools_with_bodies_from_their_type_hints(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "game_a", GAME)
    assert [a.name for a in spec.actions] == ["move", "paint"]  # not the grader, private or static methods
    move = spec.actions[0]
    assert move.description == "Move the piece."
    assert [(a.name, a.annotation, a.default) for a in move.arguments] == [
        ("direction", 'Literal["up", "down"]', None),
        ("steps", "int", "1"),
    ]
    assert move.arguments[1].description == "how far, in squares."
    assert spec.actions[1].arguments[0].annotation == "Color"
    assert spec.actions[1].arguments[0].description == "the paint."
    assert spec.type_imports == {"game_a": ("Color",)}
    assert [(a.name, a.annotation, a.description) for a in spec.constructor] == [
        ("size", "int", "the board's size."),
        ("names", "list[str] | None", ""),
    ]
    assert (spec.grader.name, spec.grader.kind, spec.archetype) == ("is_solved", "success", "game")


def test_a_score_method_or_property_is_recognised(tmp_path: Path) -> None:
    scored = _spec(tmp_path, "scored", "class S:\n    def act(self) -> None: ...\n    def score(self) -> float: ...\n")
    assert (scored.grader.name, scored.grader.kind) == ("score", "score")
    prop = _spec(
        tmp_path, "propped", "class P:\n    def act(self) -> None: ...\n    @property\n    def won(self) -> bool: ...\n"
    )
    assert (prop.grader.name, prop.grader.is_property) == ("won", True)


def test_several_graders_are_an_error_naming_the_candidates_and_the_flags(tmp_path: Path) -> None:
    source = (
        "class T:\n    def act(self) -> None: ...\n"
        "    def is_solved(self) -> bool: ...\n    def score(self) -> float: ...\n"
    )
    with pytest.raises(PortError) as caught:
        _spec(tmp_path, "twice", source)
    assert "is_solved, score" in str(caught.value) and "--verify-method" in str(caught.value)
    chosen = _spec(tmp_path, "twice", source, reward_method="score")
    assert (chosen.grader.name, chosen.grader.kind) == ("score", "score")
    assert {a.name for a in chosen.actions} == {"act", "is_solved"}


def test_an_unrecognised_grader_must_be_named(tmp_path: Path) -> None:
    source = "class L:\n    def act(self) -> None: ...\n    def balanced(self) -> bool: ...\n"
    with pytest.raises(PortError, match="candidates: balanced") as caught:
        _spec(tmp_path, "ledger_x", source)
    assert "--verify-method balanced" in str(caught.value)
    assert _spec(tmp_path, "ledger_x", source, verify_method="balanced").grader.name == "balanced"
    with pytest.raises(PortError, match="no such method"):
        _spec(tmp_path, "ledger_x", source, verify_method="nope")


def test_without_a_grader_verify_compares_the_answer(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "quiz", "class Quiz:\n    def ask(self, question: str) -> str: ...\n")
    assert spec.grader.kind == "answer"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("class E:\n    def _x(self) -> None: ...\n", "no public class with public methods"),
        ("class E:\n    def go(self, table: dict[str, int]) -> None: ...\n", "E.go, parameter 'table'"),
        ("class E:\n    def go(self, where) -> None: ...\n", "it has no type hint"),
        ("class E:\n    def go(self, *moves: int) -> None: ...\n", "*args and **kwargs"),
        ("class E:\n    def go(self, x: list) -> None: ...\n", "give the element type"),
        ("class E:\n    def verify(self) -> None: ...\n", "POST /verify, which the server reserves"),
        ("class A:\n    def a(self) -> None: ...\nclass B:\n    def b(self) -> None: ...\n", "several classes"),
        ("import not_a_module_gymhall_knows\n", "No module named 'not_a_module_gymhall_knows'"),
        ("class E:\n    def __init__(self, reward: int) -> None: ...\n    def go(self) -> None: ...\n", "rename"),
    ],
)
def test_errors_name_the_thing_the_problem_and_the_fix(tmp_path: Path, source: str, message: str) -> None:
    with pytest.raises(PortError) as caught:
        _spec(tmp_path, "broken", source)
    assert message in str(caught.value)
    assert "Fix:" in str(caught.value)


def test_dependencies_are_read_from_the_imports(tmp_path: Path) -> None:
    _module(tmp_path, "helpers", "import yaml\n")
    spec = _spec(
        tmp_path,
        "uses_deps",
        "import json\nimport PIL.Image\nimport helpers\n\nclass U:\n    def act(self) -> None: ...\n",
    )
    assert any(d.startswith("pillow>=") for d in spec.dependencies)
    assert any(d.lower().startswith("pyyaml>=") for d in spec.dependencies)  # through the sibling module
    assert [p.name for p in spec.local_files] == ["helpers.py", "uses_deps.py"]


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
    from gymhall._port import imported_modules

    for name in WORKED:
        assert "gymhall" not in imported_modules(EXAMPLES / name / f"{name}.py")


async def test_a_ported_worked_example_passes_the_conformance_checks_in_process(worked: tuple[str, Path]) -> None:
    from gymhall._conformance import check_environment
    from gymhall._datasets import read_rows
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
    from gymhall._config_loading import load_config

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
