"""Loading a domain class: by file path or dotted name, the one usable class, and errors that name the fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gymhall.exceptions import PortError
from gymhall.generator.domain_import import load_domain, public_methods

pytestmark = pytest.mark.usefixtures("isolated_imports")

WriteModule = Callable[[Path, str, str], Path]


def test_the_one_class_with_public_methods_is_chosen_and_its_directory_is_the_root(
    tmp_path: Path, write_module: WriteModule
) -> None:
    source = "from enum import Enum\n\nclass Mode(Enum):\n    A = 1\n\nclass Game:\n    def move(self) -> None: ...\n"
    cls, root = load_domain(str(write_module(tmp_path, "chosen_one", source)))
    assert (cls.__name__, root) == ("Game", tmp_path.resolve())
    named, _ = load_domain(f"{tmp_path / 'chosen_one.py'}:Mode")
    assert named.__name__ == "Mode"


def test_public_methods_follow_the_bases_and_drop_overrides_that_are_not_methods() -> None:
    class Base:
        def a(self) -> None: ...

        def b(self) -> None: ...

        def _private(self) -> None: ...

    class Child(Base):
        b = None

        def c(self) -> None: ...

    assert list(public_methods(Child)) == ["a", "c"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("class E:\n    def _x(self) -> None: ...\n", "no public class with public methods"),
        ("class A:\n    def a(self) -> None: ...\nclass B:\n    def b(self) -> None: ...\n", "several classes"),
        ("import not_a_module_gymhall_knows\n", "No module named 'not_a_module_gymhall_knows'"),
    ],
)
def test_errors_name_the_thing_the_problem_and_the_fix(
    tmp_path: Path, write_module: WriteModule, source: str, message: str
) -> None:
    with pytest.raises(PortError) as caught:
        load_domain(str(write_module(tmp_path, "broken", source)))
    assert message in str(caught.value)
    assert "Fix:" in str(caught.value)
