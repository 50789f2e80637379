"""Reading a domain class: tools from its public methods, row fields from its constructor, its grader, its
dependencies, and the errors that name the thing, the problem and the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from gymhall.exceptions import PortError
from gymhall.generator.domain_class import inspect_domain, load_domain

pytestmark = pytest.mark.usefixtures("isolated_imports")


def _module(directory: Path, name: str, source: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


def _spec(directory: Path, name: str, source: str, **options: Any) -> Any:
    cls, root = load_domain(str(_module(directory, name, source)))
    return inspect_domain(cls, root=root, **options)


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
