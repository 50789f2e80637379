r"""The math environment's own reward probes: equal-but-unsimplified answers, hedges, and harmless rewritings.

Hacks (must score below the reference): the answer in a form the row forbids (`\frac{12}{16}` for
a fraction in lowest terms, `\sqrt{486}` for `9\sqrt{6}`, `774 + 1` for `775`, the expansion with
a `+ 1 - 1` tail, the roots largest first), the answer negated, the answer boxed next to a wrong one.
Variants (must score what the reference scores): `x = ` before the answer, an interval written as
the inequality it means, `\dfrac` for `\frac`, and an exact decimal where the row accepts decimals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from fractions import Fraction
from typing import Any

from gymhall import Probe
from gymhall.envs.math.forms import parse_number
from gymhall.envs.math.verifier import strip_delimiters

__all__ = ["probes"]

_RADICAL = re.compile(r"(-?)(\d*)\\sqrt\{(\d+)\}")
_INTERVAL = re.compile(r"([(\[])(.+), (.+)([)\]])")
_SOLVED_FOR_X = ("Solve for $x$", "Find all real solutions")


def _boxed(inner: str) -> str:
    return f"The final answer is $\\boxed{{{inner}}}$."


def _fraction(value: Fraction, factor: int = 1) -> str:
    r"""`value` as `\frac{p}{q}` with both terms times `factor` (an integer stays an integer when factor is 1)."""
    if value.denominator == 1 and factor == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator) * factor}}}{{{value.denominator * factor}}}"


def _unsimplified_number(value: Fraction) -> str:
    r"""An expression equal to `value` that is not a simplified number: `774 + 1`, `\frac{6}{8}`."""
    if value.denominator == 1:
        return f"{value.numerator - 1} + 1"
    return _fraction(value, 2)


def _unsimplified(form: str, answer: str) -> str | None:
    number = parse_number(answer)
    if number is not None:
        return _unsimplified_number(number[0])
    if form == "radical":
        match = _RADICAL.fullmatch(answer)
        if match is None:
            return None
        coefficient, radicand = int(match[2] or 1), int(match[3])
        if coefficient == 1:
            return f"{match[1]}\\frac{{\\sqrt{{{4 * radicand}}}}}{{2}}"
        return f"{match[1]}\\sqrt{{{coefficient * coefficient * radicand}}}"
    if form == "polynomial":
        return f"{answer} + 1 - 1"
    if form == "ascending_list":
        first, _, rest = answer.partition(", ")
        value = parse_number(first)
        return f"{_unsimplified_number(value[0])}, {rest}" if value else None
    if form == "interval":
        match = _INTERVAL.fullmatch(answer)
        if match is None:
            return None
        ends = [(end, parse_number(end)) for end in (match[2], match[3])]
        low, high = (_fraction(value[0], 2) if value else end for end, value in ends)
        return f"{match[1]}{low}, {high}{match[4]}"
    return None


def _as_inequality(answer: str) -> str | None:
    """The interval `answer` as the inequality in x it means: `(2, \\infty)` -> `x > 2`."""
    match = _INTERVAL.fullmatch(answer)
    if match is None:
        return None
    opening, low, high, closing = match[1], match[2], match[3], match[4]
    le, lt, ge, gt = "\\le", "<", "\\ge", ">"
    if "infty" in low and "infty" in high:
        return None
    if "infty" in high:
        return f"x {ge if opening == '[' else gt} {low}"
    right = f"x {le if closing == ']' else lt} {high}"
    return right if "infty" in low else f"{low} {le if opening == '[' else lt} {right}"


def _negated(form: str, answer: str) -> str | None:
    number = parse_number(answer)
    if number is not None and number[0] != 0:
        return _fraction(-number[0]) if form != "number" or "." not in answer else str(-float(number[0]))
    if form == "radical":
        return answer[1:] if answer.startswith("-") else f"-{answer}"
    if form == "interval":  # the complement of a half-line
        match = _INTERVAL.fullmatch(answer)
        if match is None or ("infty" in match[2]) == ("infty" in match[3]):
            return None
        if "infty" in match[2]:
            return f"{'(' if match[4] == ']' else '['}{match[3]}, \\infty)"
        return f"(-\\infty, {match[2]}{')' if match[1] == '[' else ']'}"
    return None


def probes(row: Mapping[str, Any]) -> list[Probe]:
    """The math probes of `row` that apply to its answer form."""
    answer = strip_delimiters(str(row.get("expected_answer", "")))
    form = str(row.get("answer_form") or "")
    question = str(row.get("question") or "")
    found: list[Probe] = []
    unsimplified = _unsimplified(form, answer)
    if unsimplified is not None:
        found.append(Probe("answer not in the form asked", answer=_boxed(unsimplified)))
    negated = _negated(form, answer)
    if negated is not None:
        found.append(Probe("answer negated", answer=_boxed(negated)))
        found.append(
            Probe("answer hedged with another", answer=f"It is $\\boxed{{{answer}}}$ or $\\boxed{{{negated}}}$.")
        )
    if form == "ascending_list":
        reversed_list = ", ".join(reversed(answer.split(", ")))
        found.append(Probe("solutions largest first", answer=_boxed(reversed_list)))
        found.append(
            Probe(
                "solutions written x = ...",
                answer=_boxed(", ".join(f"x = {v}" for v in answer.split(", "))),
                expect="same",
            )
        )
    elif question.startswith(_SOLVED_FOR_X):
        found.append(Probe("answer written x = ...", answer=_boxed(f"x = {answer}"), expect="same"))
    if form == "interval":
        inequality = _as_inequality(answer)
        if inequality is not None:
            found.append(Probe("interval written as an inequality", answer=_boxed(inequality), expect="same"))
    if "\\frac" in answer:
        found.append(Probe("answer with \\dfrac", answer=_boxed(answer.replace("\\frac", "\\dfrac")), expect="same"))
    number = parse_number(answer)
    if number is not None and number[0].denominator > 1:
        value = number[0]
        exact = (value * 10**6).denominator == 1
        decimal = f"{float(value):.6f}".rstrip("0") if exact else f"{float(value):.4f}"
        # A decimal is an answer only where the row accepts one, and only when it is exact.
        decimal_probe = Probe("answer as a decimal", answer=_boxed(decimal), expect="below")
        found.append(replace(decimal_probe, expect="same") if form == "number" and exact else decimal_probe)
    return found
