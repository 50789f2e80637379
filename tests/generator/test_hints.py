"""Type hints and defaults as source text: what a tool schema can hold, and errors naming the parameter."""

from __future__ import annotations

import enum
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest

from gymhall.exceptions import PortError
from gymhall.generator.hints import HintRenderer, python_literal
from gymhall.generator.spec import DomainSpec

pytestmark = pytest.mark.usefixtures("isolated_imports")


class Shade(enum.Enum):
    """An Enum defined at the top level of a module: importable by the generated server."""

    DARK = "dark"


@pytest.mark.parametrize(
    ("hint", "source"),
    [
        (int, "int"),
        (list[int] | None, "list[int] | None"),
        (tuple[str, ...], "tuple[str, ...]"),
        (Literal["a", 1, None], 'Literal["a", 1, None]'),
        (Shade, "Shade"),
    ],
)
def test_annotations_are_written_as_source_with_their_imports(hint: Any, source: str) -> None:
    renderer = HintRenderer()
    assert renderer.annotation(hint, "here") == source
    assert renderer.typing == ({"Literal"} if "Literal" in source else set())
    assert renderer.imports == ({__name__: {"Shade"}} if "Shade" in source else {})


def test_defaults_are_written_as_source() -> None:
    renderer = HintRenderer()
    assert [renderer.default(v, "here") for v in (None, 1.5, "x", (1,), [1, "a"], Shade.DARK)] == [
        "None",
        "1.5",
        '"x"',
        "(1,)",
        '[1, "a"]',
        "Shade.DARK",
    ]
    assert python_literal('say "hi"') == '"say \\"hi\\""'
    with pytest.raises(PortError, match="cannot be written into the server"):
        renderer.default(object(), "here")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("class E:\n    def go(self, table: dict[str, int]) -> None: ...\n", "E.go, parameter 'table'"),
        ("class E:\n    def go(self, x: list) -> None: ...\n", "give the element type"),
    ],
)
def test_errors_name_the_thing_the_problem_and_the_fix(
    tmp_path: Path, read_spec: Callable[..., DomainSpec], source: str, message: str
) -> None:
    with pytest.raises(PortError) as caught:
        read_spec(tmp_path, "broken", source)
    assert message in str(caught.value)
    assert "Fix:" in str(caught.value)
