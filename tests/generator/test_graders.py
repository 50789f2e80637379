"""Finding the grader: a success or score method or property, the flags that name one, and the answer check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gymhall.exceptions import PortError
from gymhall.generator.spec import DomainSpec

pytestmark = pytest.mark.usefixtures("isolated_imports")

ReadSpec = Callable[..., DomainSpec]


def test_a_score_method_or_property_is_recognised(tmp_path: Path, read_spec: ReadSpec) -> None:
    scored = read_spec(
        tmp_path, "scored", "class S:\n    def act(self) -> None: ...\n    def score(self) -> float: ...\n"
    )
    assert (scored.grader.name, scored.grader.kind) == ("score", "score")
    prop = read_spec(
        tmp_path, "propped", "class P:\n    def act(self) -> None: ...\n    @property\n    def won(self) -> bool: ...\n"
    )
    assert (prop.grader.name, prop.grader.is_property) == ("won", True)


def test_several_graders_are_an_error_naming_the_candidates_and_the_flags(tmp_path: Path, read_spec: ReadSpec) -> None:
    source = (
        "class T:\n    def act(self) -> None: ...\n"
        "    def is_solved(self) -> bool: ...\n    def score(self) -> float: ...\n"
    )
    with pytest.raises(PortError) as caught:
        read_spec(tmp_path, "twice", source)
    assert "is_solved, score" in str(caught.value) and "--verify-method" in str(caught.value)
    chosen = read_spec(tmp_path, "twice", source, reward_method="score")
    assert (chosen.grader.name, chosen.grader.kind) == ("score", "score")
    assert {a.name for a in chosen.actions} == {"act", "is_solved"}


def test_an_unrecognised_grader_must_be_named(tmp_path: Path, read_spec: ReadSpec) -> None:
    source = "class L:\n    def act(self) -> None: ...\n    def balanced(self) -> bool: ...\n"
    with pytest.raises(PortError, match="candidates: balanced") as caught:
        read_spec(tmp_path, "ledger_x", source)
    assert "--verify-method balanced" in str(caught.value)
    assert read_spec(tmp_path, "ledger_x", source, verify_method="balanced").grader.name == "balanced"
    with pytest.raises(PortError, match="no such method"):
        read_spec(tmp_path, "ledger_x", source, verify_method="nope")


def test_without_a_grader_verify_compares_the_answer(tmp_path: Path, read_spec: ReadSpec) -> None:
    spec = read_spec(tmp_path, "quiz", "class Quiz:\n    def ask(self, question: str) -> str: ...\n")
    assert spec.grader.kind == "answer"
