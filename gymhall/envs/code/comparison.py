"""Comparing what a solution produced with a test's expected output, as NeMo Gym's code_gen compares."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["parse_json", "program_output_matches", "return_value_matches"]


def _big_int(text: str) -> int:
    return int(Decimal(text))  # int(str) refuses over 4,300 digits; Decimal has no such limit


def parse_json(text: str) -> Any:
    """`json.loads`, but integers of any length parse."""
    return json.loads(text, parse_int=_big_int)


def _stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in line.split()]
    except InvalidOperation:
        return None


def program_output_matches(actual: str, expected: str) -> bool:
    """Stdin/stdout comparison: same number of lines (outer blank lines and line padding ignored), each
    line equal, or equal as numbers token by token (so `1.50` matches `1.5`)."""
    got, want = _stripped_lines(actual), _stripped_lines(expected)
    if len(got) != len(want):
        return False
    for mine, theirs in zip(got, want, strict=True):
        if mine == theirs:
            continue
        numbers = _decimals(mine)
        if numbers is None or numbers != _decimals(theirs):
            return False
    return True


def return_value_matches(actual: Any, expected: Any) -> bool:
    """Function-test comparison: equal values, equal JSON, or floats within 1e-5 relative (+1e-8 absolute)."""
    if actual == expected:
        return True
    try:
        if json.dumps(actual) == json.dumps(expected):
            return True
    except ValueError:  # an integer too long to print
        pass
    try:
        a, b = float(actual), float(expected)
    except (TypeError, ValueError, OverflowError):
        return False
    return a == b or abs(a - b) <= 1e-8 + 1e-5 * abs(b)
