r"""The simplified forms a row can ask its answer to take, and the check that an extracted answer is in one.

math-verify decides whether two answers are *equal*: `39 \times 33 - 512` equals `775`,
`\sqrt{486}` equals `9\sqrt{6}`, `(5x+4)^2` equals its expansion. A problem that asks to compute,
simplify or expand wants the result, not the question restated, so a row names the form its
answer must take (`answer_form`) and the prompt says it in words (`FORM_INSTRUCTIONS`):

| form | accepted |
| --- | --- |
| `integer` | an integer: `775`, `-12`, `1,000` |
| `fraction` | an integer or a fraction in lowest terms: `\frac{7}{12}`, `-7/12` (no decimal) |
| `number` | an integer, a fraction in lowest terms, or a decimal (checked exactly when the answer is rational) |
| `radical` | simplest radical form: integers and `c\sqrt{n}` terms, `n` square-free, one term per radicand |
| `polynomial` | expanded: one term per power of the variable, no brackets, no products of numbers |
| `interval` | interval notation with simplified endpoints, or an inequality such as `x > 2` or `-1 \le x < 3` |
| `ascending_list` | simplified numbers separated by commas, smallest first |

The text checked is the answer as written (`written_answer`: the `\boxed{}` math-verify read, else
the expression it extracted), with units, `\text{}`, `\$`, `\%` and spacing ignored. This module
imports only the standard library: the worker processes use it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Literal, TypeAlias

__all__ = [
    "FORMS",
    "FORM_INSTRUCTIONS",
    "AnswerForm",
    "boxed_contents",
    "form_error",
    "infer_form",
    "parse_number",
    "written_answer",
]

AnswerForm: TypeAlias = Literal["integer", "fraction", "number", "radical", "polynomial", "interval", "ascending_list"]

FORM_INSTRUCTIONS: dict[str, str] = {
    "integer": "Give the answer as a single integer, not an expression.",
    "fraction": "Give the answer as an integer or a fraction in lowest terms (not a decimal, not an expression).",
    "number": "Give the answer as an exact number (an integer, a fraction in lowest terms or a decimal), "
    "not an expression.",
    "radical": "Give the answer in simplest radical form: no perfect-square factor left under a square root.",
    "polynomial": "Give the answer fully expanded, with like terms combined.",
    "interval": "Write the solution set in interval notation (an inequality in x such as x > 2 is also accepted), "
    "with endpoints simplified.",
    "ascending_list": "List the solutions separated by commas, smallest first, each as a simplified number.",
}
"""The sentence a prompt adds to say what form its answer must take."""

FORMS: tuple[str, ...] = tuple(FORM_INSTRUCTIONS)

_SPACING = re.compile(r"\\[,;:! ]|\\left|\\right|\s+|\\displaystyle")
_FRAC = re.compile(r"\\[dt]frac")
_ASSIGNMENT = re.compile(r"^[a-zA-Z]=(?!=)")
_INTEGER = re.compile(r"[+-]?\d+")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:(?:,|\{,\})\d{3})+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)")
_LATEX_FRACTION = re.compile(r"([+-]?)\\frac(?:\{([+-]?\d+)\}|(\d))(?:\{(\d+)\}|(\d))")
_SLASH_FRACTION = re.compile(r"([+-]?)(\d+)/(\d+)")
_SQRT = re.compile(r"\\sqrt(?:\{(\d+)\}|(\d))")
_TERM_SPLIT = re.compile(r"(?<=.)(?=[+-])")
_POWER = re.compile(r"([a-zA-Z])(?:\^(?:\{(\d+)\}|(\d)))?")
_RELATION = re.compile(r"<=|>=|\\leq?|\\geq?|<|>|\\lt|\\gt")


_DECORATION = re.compile(r"\\(?:text|textbf|mathrm|mbox)\{[^{}]*\}|\\[$%]|\^\{?\\circ\}?|\\mathbf|\\bf")


def _normalise(text: str) -> str:
    text = _DECORATION.sub("", _SPACING.sub("", text))  # units and decorations, as math-verify drops them
    text = _FRAC.sub(r"\\frac", text).replace("\\cdot", "*").replace("\\times", "*").rstrip(".")
    return text[1:-1] if text.startswith("{") and text.endswith("}") else text


def boxed_contents(text: str) -> list[str]:
    r"""The contents of every `\boxed{...}` in `text`, in order, empty ones left out.

    The form is checked on what the answer wrote: math-verify's extracted string is normalised
    (it turns `0.5` into `\frac{1}{2}`), so it cannot tell a decimal from a fraction.
    """
    found: list[str] = []
    start = text.find("\\boxed{")
    while start >= 0:
        depth, index = 1, start + len("\\boxed{")
        while index < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        inner = text[start + len("\\boxed{") : index - 1].strip()
        if depth == 0 and inner:
            found.append(inner)
        start = text.find("\\boxed{", index)
    return found


def written_answer(generated: str, extracted: str | None) -> str | None:
    r"""The answer as `generated` wrote it, for the form check: the box(es) math-verify read, else `extracted`.

    math-verify reads the last `\boxed{}` (with the boxes just before it, as a set, when they
    belong together: `x = \boxed{-1} or x = \boxed{6}`) and returns it normalised (`0.5` becomes
    `\frac{1}{2}`). The trailing boxes whose contents, joined, are its extracted text are the
    answer; when normalisation hides which, the last box is.
    """
    boxes = boxed_contents(generated)
    if not boxes:
        return extracted
    wanted = re.sub(r"\s+", "", re.sub(r"\s+and\s+", ",", extracted or ""))  # boxes in separate $...$: "6 and -1"
    for count in range(len(boxes), 0, -1):
        if re.sub(r"\s+", "", ",".join(boxes[-count:])) == wanted:
            return ", ".join(boxes[-count:])
    return boxes[-1]


def parse_number(text: str) -> tuple[Fraction, bool] | None:
    r"""A number written as an integer, decimal or fraction: its value and whether it is simplified.

    A fraction is simplified when in lowest terms with a denominator above 1: `\frac{6}{8}` and
    `\frac{5}{1}` are numbers but not simplified. None: not a plain number (`\frac{3}{-4}` is not).
    """
    text = _normalise(text)
    if _INTEGER.fullmatch(text):
        return Fraction(int(text)), True
    if _THOUSANDS.fullmatch(text):
        return Fraction(int(text.replace("{,}", "").replace(",", ""))), True
    if _DECIMAL.fullmatch(text):
        return Fraction(text), True
    latex, slash = _LATEX_FRACTION.fullmatch(text), _SLASH_FRACTION.fullmatch(text)
    if latex:
        sign, numerator, denominator = latex[1], int(latex[2] or latex[3]), int(latex[4] or latex[5])
    elif slash:
        sign, numerator, denominator = slash[1], int(slash[2]), int(slash[3])
    else:
        return None
    if denominator == 0:
        return None
    value = Fraction(-numerator if sign == "-" else numerator, denominator)
    return value, denominator > 1 and math.gcd(numerator, denominator) == 1


def _integer(text: str, exact: Fraction | None) -> str | None:
    number = parse_number(text)
    if number is None or any(mark in _normalise(text) for mark in (".", "/", "frac")):
        return "it is not a single integer"
    return None


def _fraction(text: str, exact: Fraction | None) -> str | None:
    number = parse_number(text)
    if number is None:
        return "it is not an integer or a fraction"
    if _DECIMAL.fullmatch(_normalise(text)):
        return "it is a decimal, and the problem asks for a fraction in lowest terms"
    if not number[1]:
        return "the fraction is not in lowest terms"
    return None


def _number(text: str, exact: Fraction | None) -> str | None:
    number = parse_number(text)
    if number is None:
        return "it is not a single number"
    if not number[1]:
        return "the fraction is not in lowest terms"
    if exact is not None and _DECIMAL.fullmatch(_normalise(text)) and number[0] != exact:
        return "the decimal is rounded, and the answer is exact"
    return None


_LARGEST_RADICAND = 10**12  # trial division stays quick; a larger radicand is not taken as simplified


def _squarefree(n: int) -> bool:
    return 1 < n <= _LARGEST_RADICAND and all(n % (k * k) for k in range(2, math.isqrt(n) + 1))


def _radical(text: str, exact: Fraction | None) -> str | None:
    text = _normalise(text)
    radicands: list[int] = []
    integers = 0
    for term in _TERM_SPLIT.split(text):
        roots = list(_SQRT.finditer(term))
        if not roots:
            if not _INTEGER.fullmatch(term):
                return f"{term!r} is not an integer or a multiple of a square root"
            integers += 1
            continue
        if len(roots) > 1:
            return f"{term!r} multiplies square roots"
        root = roots[0]
        radicand = int(root[1] or root[2])
        if radicand > _LARGEST_RADICAND:
            return f"\\sqrt{{{radicand}}} is too large to tell whether it is simplified"
        if not _squarefree(radicand):
            return f"\\sqrt{{{radicand}}} still has a perfect-square factor"
        coefficient = term[: root.start()] + term[root.end() :]
        if coefficient not in ("", "+", "-") and not re.fullmatch(r"[+-]?\d+\*?|\*\d+", coefficient):
            return f"{term!r} is not a whole multiple of a square root"
        if radicand in radicands:
            return f"the terms in \\sqrt{{{radicand}}} are not combined"
        radicands.append(radicand)
    return "the integer terms are not combined" if integers > 1 else None


def _polynomial(text: str, exact: Fraction | None) -> str | None:
    text = _normalise(text)
    if any(bracket in text for bracket in "()[]") or "\\frac" in text:
        return "it is not expanded"
    powers: list[int] = []
    variables: set[str] = set()
    for term in _TERM_SPLIT.split(text):
        match = re.fullmatch(r"([+-]?)(\d*)\*?(.*)", term)
        if match is None or (not match[2] and not match[3]):
            return f"{term!r} is not a term"
        rest = match[3]
        if not rest:
            powers.append(0)
            continue
        monomial = _POWER.fullmatch(rest)
        if monomial is None:
            return f"{term!r} is not a number times a power of the variable"
        variables.add(monomial[1])
        powers.append(int(monomial[2] or monomial[3] or 1))
    if len(variables) > 1:
        return "it mixes variables"
    return "like terms are not combined" if len(powers) != len(set(powers)) else None


def _endpoint(text: str) -> str | None:
    if text.lstrip("+-") in ("\\infty", "\\infin", "oo"):
        return None
    number = parse_number(text)
    if number is None or not number[1]:
        return f"the endpoint {text!r} is not a simplified number"
    return None


def _is_variable(text: str) -> bool:
    return re.fullmatch(r"[a-zA-Z]", text) is not None


def _interval(text: str, exact: Fraction | None) -> str | None:
    text = _normalise(text)
    text = re.sub(r"^[a-zA-Z]\\in", "", text)
    sides = _RELATION.split(text)
    if len(sides) > 1:  # an inequality: the variable alone, compared with simplified numbers
        variable = 1 if len(sides) == 3 else next((i for i, side in enumerate(sides) if _is_variable(side)), -1)
        if len(sides) > 3 or variable < 0 or not _is_variable(sides[variable]):
            return "the inequality does not have the variable alone on one side"
        problems = [_endpoint(side) for index, side in enumerate(sides) if index != variable]
        return next((problem for problem in problems if problem), None)
    for part in text.split("\\cup"):
        match = re.fullmatch(r"[(\[](.+),(.+)[)\]]", part)
        if match is None:
            return f"{part!r} is not an interval"
        problem = _endpoint(match[1]) or _endpoint(match[2])
        if problem:
            return problem
    return None


def _split_list(text: str) -> list[str]:
    text = _normalise(text)
    if text.startswith("\\{") and text.endswith("\\}"):
        text = text[2:-2]
    items, depth, current = [], 0, ""
    for char in text:
        depth += {"{": 1, "}": -1, "(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    return [_ASSIGNMENT.sub("", item) for item in [*items, current]]


def _ascending_list(text: str, exact: Fraction | None) -> str | None:
    values: list[Fraction] = []
    for item in _split_list(text):
        number = parse_number(item)
        if number is None or not number[1]:
            return f"{item!r} is not a simplified number"
        values.append(number[0])
    if values != sorted(values):
        return "the solutions are not listed smallest first"
    return None


_CHECKS: dict[str, Callable[[str, Fraction | None], str | None]] = {
    "integer": _integer,
    "fraction": _fraction,
    "number": _number,
    "radical": _radical,
    "polynomial": _polynomial,
    "interval": _interval,
    "ascending_list": _ascending_list,
}


def form_error(form: str, answer: str, exact: Fraction | None = None) -> str | None:
    """Why the extracted `answer` is not in `form`, or None when it is; `exact` is the expected value if rational.

    A single answer may be written `x = ...`; the form applies to its right-hand side.
    """
    check = _CHECKS.get(form)
    if check is None:
        raise ValueError(f"Unknown answer form {form!r}; use one of {', '.join(FORMS)}.")
    text = answer if form in ("ascending_list", "interval") else _ASSIGNMENT.sub("", _normalise(answer))
    problem = check(text, exact)
    return f"not in the form asked ({form}): {problem}" if problem else None


def infer_form(expected_answer: str) -> str | None:
    """The form a row without `answer_form` implies: `number` when its expected answer is a plain number."""
    return "number" if parse_number(expected_answer) is not None else None
