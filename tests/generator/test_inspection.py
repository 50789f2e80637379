"""Reading a domain class: tools from its public methods, row fields from its constructor, its dependencies,
and the errors that name the thing, the problem and the fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gymhall.exceptions import PortError
from gymhall.generator.spec import DomainSpec

pytestmark = pytest.mark.usefixtures("isolated_imports")

ReadSpec = Callable[..., DomainSpec]


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


def test_public_methods_become_tools_with_bodies_from_their_type_hints(tmp_path: Path, read_spec: ReadSpec) -> None:
    spec = read_spec(tmp_path, "game_a", GAME)
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


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("class E:\n    def go(self, where) -> None: ...\n", "it has no type hint"),
        ("class E:\n    def go(self, *moves: int) -> None: ...\n", "*args and **kwargs"),
        ("class E:\n    def verify(self) -> None: ...\n", "POST /verify, which the server reserves"),
        ("class E:\n    def tools(self) -> None: ...\n", "POST /tools, which the server reserves"),
        ("class E:\n    def __init__(self, reward: int) -> None: ...\n    def go(self) -> None: ...\n", "rename"),
    ],
)
def test_errors_name_the_thing_the_problem_and_the_fix(
    tmp_path: Path, read_spec: ReadSpec, source: str, message: str
) -> None:
    with pytest.raises(PortError) as caught:
        read_spec(tmp_path, "broken", source)
    assert message in str(caught.value)
    assert "Fix:" in str(caught.value)


def test_dependencies_are_read_from_the_imports(
    tmp_path: Path, read_spec: ReadSpec, write_module: Callable[[Path, str, str], Path]
) -> None:
    write_module(tmp_path, "helpers", "import yaml\n")
    spec = read_spec(
        tmp_path,
        "uses_deps",
        "import json\nimport PIL.Image\nimport helpers\n\nclass U:\n    def act(self) -> None: ...\n",
    )
    assert any(d.startswith("pillow>=") for d in spec.dependencies)
    assert any(d.lower().startswith("pyyaml>=") for d in spec.dependencies)  # through the sibling module
    assert [p.name for p in spec.local_files] == ["helpers.py", "uses_deps.py"]
