"""The grader `gymhall port` finds on a domain class: the method or property verify calls to score an episode.

    grader = find_grader(cls, verify_method=None, reward_method=None)

A zero-argument method or property returning a bool grades by success, one returning a number by
score; well-known names (`is_solved()`, `score()`, ...) are recognised without a type hint. With
none, verify compares the final answer with the row's `expected_answer`.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass
from typing import Any, Literal

from gymhall.exceptions import port_error
from gymhall.generator.domain_import import public_attributes

__all__ = ["Grader", "GraderKind", "callable_without_arguments", "find_grader"]

GraderKind = Literal["success", "score", "answer"]

# Names a grading method is recognised by, without a flag.
_SUCCESS_NAMES = (
    "is_solved",
    "solved",
    "is_won",
    "won",
    "is_success",
    "success",
    "succeeded",
    "is_complete",
    "is_completed",
    "goal_reached",
    "is_goal_reached",
)
_SCORE_NAMES = ("score", "reward", "get_score", "get_reward")


@dataclass(frozen=True)
class Grader:
    """How verify grades an episode: a success method (bool), a score method (number), or the final answer."""

    name: str | None
    kind: GraderKind
    is_property: bool = False

    def describe(self, class_name: str) -> str:
        """One line saying what earns the reward."""
        if self.kind == "answer":
            return "1.0 when the final answer equals the row's expected_answer, else 0.0"
        call = f"{class_name}.{self.name}" + ("" if self.is_property else "()")
        return f"1.0 when {call} is true, else 0.0" if self.kind == "success" else f"{call}, a number in [0, 1]"


def callable_without_arguments(value: Any) -> bool:
    """Whether `value` is a function that can be called on an instance with no arguments."""
    if not inspect.isfunction(value):
        return False
    parameters = list(inspect.signature(value).parameters.values())[1:]  # skip self
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters)


def _candidates(cls: type) -> dict[str, tuple[GraderKind, bool]]:
    """Zero-argument methods and properties that return a bool or a number: (kind, is_property) by name."""
    found: dict[str, tuple[GraderKind, bool]] = {}
    for name, value in public_attributes(cls):
        if isinstance(value, property) and value.fget is not None:
            function, is_property = value.fget, True
        elif callable_without_arguments(value):
            function, is_property = value, False
        else:
            continue
        try:
            returns = typing.get_type_hints(function).get("return")
        except Exception:
            returns = None
        if returns is bool or (returns is None and name in _SUCCESS_NAMES):
            found[name] = ("success", is_property)
        elif returns in (int, float) or (returns is None and name in _SCORE_NAMES):
            found[name] = ("score", is_property)
    return found


def find_grader(cls: type, verify_method: str | None, reward_method: str | None) -> Grader:
    """The grader of `cls`: the method a flag names, else the one recognised; raises `PortError` when unclear."""
    if verify_method and reward_method:
        raise port_error(
            cls.__name__, "both --verify-method and --reward-method were given", "give one: the method that grades"
        )
    candidates = _candidates(cls)
    chosen = verify_method or reward_method
    if chosen is not None:
        attribute = inspect.getattr_static(cls, chosen, None)
        if attribute is None:
            raise port_error(
                f"{cls.__name__}.{chosen}",
                "no such method",
                f"name a method that takes no arguments; candidates: {', '.join(candidates) or 'none'}",
            )
        is_property = isinstance(attribute, property)
        if not is_property and chosen not in candidates and not callable_without_arguments(attribute):
            raise port_error(f"{cls.__name__}.{chosen}", "it needs arguments, so verify cannot call it", "name another")
        return Grader(chosen, "success" if verify_method else "score", is_property)
    known = [name for name in candidates if name in _SUCCESS_NAMES + _SCORE_NAMES]
    if len(known) == 1:
        kind, is_property = candidates[known[0]]
        return Grader(known[0], kind, is_property)
    if len(known) > 1:
        raise port_error(
            cls.__name__,
            f"several methods could grade an episode ({', '.join(known)})",
            f"choose one: --verify-method {known[0]} (true/false) or --reward-method NAME (a number in [0, 1])",
        )
    if candidates:
        names = ", ".join(candidates)
        raise port_error(
            cls.__name__,
            f"cannot tell which method says the task is done; candidates: {names}",
            f"name it: --verify-method {next(iter(candidates))} (returns a bool) or --reward-method NAME "
            "(returns a number in [0, 1])",
        )
    return Grader(None, "answer")
