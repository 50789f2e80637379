r"""Problem makers for `generate.py`, part one: arithmetic and algebra.

Each maker takes a seeded `random.Random` and a tier (`easy`, `medium`, `hard`) and returns a
`Problem`: the question, the expected answer in LaTeX, and the answer form the grader enforces
(see `gymhall/envs/math/forms.py`). Only the standard library: the output must not depend on
anything but the seed.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction
from typing import NamedTuple

__all__ = [
    "Problem",
    "arithmetic",
    "expansion",
    "exponent",
    "fraction_sum",
    "inequality",
    "latex_fraction",
    "linear_equation",
    "polynomial",
    "quadratic",
    "radical",
    "signed",
    "system",
]

NONZERO = [n for n in range(-9, 10) if n != 0]


class Problem(NamedTuple):
    """One generated problem: what is asked, the answer (LaTeX), and the form the answer must take."""

    question: str
    answer: str
    form: str


def latex_fraction(value: Fraction) -> str:
    """`value` as LaTeX: an integer, or a signed `\\frac{p}{q}` in lowest terms."""
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def signed(coefficient: int | Fraction, term: str = "") -> str:
    """` + 3x` / ` - 3x` for a term after the first (coefficient 1 written without the 1)."""
    magnitude = abs(Fraction(coefficient))
    shown = term if magnitude == 1 and term else f"{latex_fraction(magnitude)}{term}"
    return f" {'-' if coefficient < 0 else '+'} {shown}"


def polynomial(coefficients: list[int], variable: str = "x") -> str:
    """The polynomial with `coefficients` (highest power first) in LaTeX, zero terms left out."""
    degree = len(coefficients) - 1
    parts: list[str] = []
    for index, coefficient in enumerate(coefficients):
        power = degree - index
        if coefficient == 0:
            continue
        term = "" if power == 0 else variable if power == 1 else f"{variable}^{power}"
        if not parts:
            lead = str(coefficient) if not term or abs(coefficient) != 1 else ("-" if coefficient < 0 else "")
            parts.append(f"{lead}{term}")
        else:
            parts.append(signed(coefficient, term))
    return "".join(parts) or "0"


def arithmetic(rng: random.Random, tier: str) -> Problem:
    if tier == "easy":
        a, b, c = rng.randint(12, 99), rng.randint(11, 49), rng.randint(100, 999)
        return Problem(f"Compute ${a} \\times {b} - {c}$.", str(a * b - c), "integer")
    if tier == "medium":
        a, b, c, d = rng.randint(101, 999), rng.randint(12, 99), rng.randint(13, 97), rng.randint(1000, 9999)
        return Problem(f"Compute $({a} - {b}) \\times {c} - {d}$.", str((a - b) * c - d), "integer")
    a, b, c, d = rng.randint(11, 39), rng.randint(-99, -12), rng.randint(13, 79), rng.randint(3, 9)
    value = a * a - b * c + d**3 - (a + b) * d
    return Problem(f"Compute ${a}^2 - ({b}) \\times {c} + {d}^3 - ({a} + ({b})) \\times {d}$.", str(value), "integer")


def fraction_sum(rng: random.Random, tier: str) -> Problem:
    while True:
        count = {"easy": 2, "medium": 3, "hard": 3}[tier]
        top = {"easy": 12, "medium": 15, "hard": 24}[tier]
        parts = [Fraction(rng.randint(1, 9), rng.randint(2, top)) for _ in range(count)]
        signs = [1] + [rng.choice([1, -1]) if tier != "easy" else 1 for _ in range(count - 1)]
        if tier == "hard":  # a product, then a sum or difference
            total = parts[0] * parts[1] + signs[2] * parts[2]
            shown = f"\\frac{{{parts[0].numerator}}}{{{parts[0].denominator}}} \\cdot "
            shown += f"\\frac{{{parts[1].numerator}}}{{{parts[1].denominator}}}"
            shown += f" {'+' if signs[2] > 0 else '-'} \\frac{{{parts[2].numerator}}}{{{parts[2].denominator}}}"
        else:
            total = sum((sign * part for sign, part in zip(signs, parts, strict=True)), Fraction(0))
            shown = " ".join(
                f"{'' if i == 0 else '+ ' if sign > 0 else '- '}\\frac{{{part.numerator}}}{{{part.denominator}}}"
                for i, (sign, part) in enumerate(zip(signs, parts, strict=True))
            )
        denominators = {part.denominator for part in parts}
        if total.denominator > 1 and len(denominators) == count and all(p.denominator > 1 for p in parts):
            return Problem(f"Compute ${shown}$.", latex_fraction(total), "fraction")


def linear_equation(rng: random.Random, tier: str) -> Problem:
    while True:
        if tier == "easy":
            a, x, b = rng.randint(2, 9), rng.randint(-12, 12), rng.randint(-20, 20)
            if b:
                return Problem(f"Solve for $x$: ${a}x{signed(b)} = {a * x + b}$.", str(x), "fraction")
            continue
        if tier == "medium":
            a, c = rng.randint(2, 9), rng.randint(1, 9)
            b, d = rng.randint(-20, 20), rng.randint(-20, 20)
            if a != c and b != d and b and d:
                right = f"{c if c != 1 else ''}x{signed(d)}"
                return Problem(
                    f"Solve for $x$: ${a}x{signed(b)} = {right}$.", latex_fraction(Fraction(d - b, a - c)), "fraction"
                )
            continue
        a, b, c, d, e = rng.randint(2, 9), rng.randint(1, 9), rng.randint(2, 9), rng.randint(1, 9), rng.randint(-30, 30)
        p, q = rng.randint(2, 6), rng.randint(2, 6)
        # a(x + b)/p - c(x - d)/q = e
        slope = Fraction(a, p) - Fraction(c, q)
        if slope == 0 or p == q:
            continue
        solution = (e - Fraction(a * b, p) - Fraction(c * d, q)) / slope
        question = f"Solve for $x$: $\\frac{{{a}(x + {b})}}{{{p}}} - \\frac{{{c}(x - {d})}}{{{q}}} = {e}$."
        return Problem(question, latex_fraction(solution), "fraction")


def quadratic(rng: random.Random, tier: str) -> Problem:
    if tier == "hard":  # a cubic with three integer roots
        roots = sorted(rng.sample(range(-8, 9), 3))
        a, b, c = roots
        coefficients = [1, -(a + b + c), a * b + b * c + a * c, -a * b * c]
        question = f"Find all real solutions of ${polynomial(coefficients)} = 0$."
        return Problem(question, ", ".join(map(str, roots)), "ascending_list")
    if tier == "easy":
        r, s = 0, 0
        while r + s == 0:  # a missing x term would read oddly
            r, s = rng.sample(NONZERO, 2)
        coefficients, values = [1, -(r + s), r * s], [Fraction(r), Fraction(s)]
    else:  # (p x - r)(q x - s) with rational roots r/p, s/q
        while True:
            p, q, r, s = rng.randint(2, 5), rng.randint(1, 3), rng.choice(NONZERO), rng.choice(NONZERO)
            values = [Fraction(r, p), Fraction(s, q)]
            coefficients = [p * q, -(p * s + q * r), r * s]
            if values[0] != values[1] and coefficients[1] and math.gcd(*coefficients) == 1:
                break
    question = f"Find all real solutions of ${polynomial(coefficients)} = 0$."
    return Problem(question, ", ".join(latex_fraction(v) for v in sorted(values)), "ascending_list")


def radical(rng: random.Random, tier: str) -> Problem:
    squarefree = [2, 3, 5, 6, 7, 10, 11, 13, 14, 15]
    if tier == "easy":
        outer, inner = rng.randint(2, 6), rng.choice(squarefree[:5])
        return Problem(f"Simplify $\\sqrt{{{outer * outer * inner}}}$.", f"{outer}\\sqrt{{{inner}}}", "radical")
    if tier == "medium":
        outer, inner = rng.randint(7, 20), rng.choice(squarefree)
        return Problem(f"Simplify $\\sqrt{{{outer * outer * inner}}}$.", f"{outer}\\sqrt{{{inner}}}", "radical")
    inner = rng.choice(squarefree)
    a, b = rng.sample(range(2, 10), 2)
    sign = rng.choice([1, -1])
    total = a + sign * b
    if abs(total) == 1:  # keep a coefficient to find
        return radical(rng, tier)
    question = f"Simplify $\\sqrt{{{a * a * inner}}} {'+' if sign > 0 else '-'} \\sqrt{{{b * b * inner}}}$."
    coefficient = "" if total == 1 else "-" if total == -1 else str(total)
    return Problem(question, f"{coefficient}\\sqrt{{{inner}}}", "radical")


def _interval(low: str | None, high: str | None, closed_low: bool = False, closed_high: bool = False) -> str:
    left = ("[" if closed_low else "(") + (low if low is not None else "-\\infty")
    right = (high if high is not None else "\\infty") + ("]" if closed_high else ")")
    return f"{left}, {right}"


def inequality(rng: random.Random, tier: str) -> Problem:
    ops = ["<", "\\le", ">", "\\ge"]
    if tier == "hard":  # c < a x + b <= d, a may be negative
        while True:
            a, b = rng.choice([n for n in range(-7, 8) if abs(n) > 1]), rng.randint(-15, 15)
            low, high = sorted(rng.sample(range(-30, 31), 2))
            left_op, right_op = rng.choice(["<", "\\le"]), rng.choice(["<", "\\le"])
            ends = [Fraction(low - b, a), Fraction(high - b, a)]
            closed = [left_op == "\\le", right_op == "\\le"]
            if a < 0:
                ends, closed = ends[::-1], closed[::-1]
            question = f"Solve ${low} {left_op} {a}x{signed(b)} {right_op} {high}$."
            answer = _interval(latex_fraction(ends[0]), latex_fraction(ends[1]), closed[0], closed[1])
            return Problem(question, answer, "interval")
    a = rng.randint(2, 9) if tier == "easy" else rng.choice([n for n in range(-9, 10) if abs(n) > 1])
    b = rng.randint(-15, 15)
    bound = Fraction(rng.randint(-8, 8)) if tier == "easy" else Fraction(rng.randint(-20, 20) - b, a)
    c = a * bound + b  # a*x + b <op> c  <=>  x <op> bound (flipped when a < 0)
    op = rng.choice(ops)
    solved = op if a > 0 else {"<": ">", "\\le": "\\ge", ">": "<", "\\ge": "\\le"}[op]
    edge = latex_fraction(bound)
    answer = {
        "<": _interval(None, edge),
        "\\le": _interval(None, edge, closed_high=True),
        ">": _interval(edge, None),
        "\\ge": _interval(edge, None, closed_low=True),
    }[solved]
    return Problem(f"Solve ${a}x{signed(b)} {op} {latex_fraction(c)}$.", answer, "interval")


def expansion(rng: random.Random, tier: str) -> Problem:
    if tier == "easy":
        q = rng.choice(NONZERO)
        return Problem(f"Expand $(x{signed(q)})^2$.", polynomial([1, 2 * q, q * q]), "polynomial")
    if tier == "medium":
        a, c = rng.randint(2, 7), rng.randint(1, 7)
        b, d = rng.choice(NONZERO), rng.choice(NONZERO)
        first = f"({a}x{signed(b)})"
        second = f"({c if c != 1 else ''}x{signed(d)})"
        return Problem(f"Expand ${first}{second}$.", polynomial([a * c, a * d + b * c, b * d]), "polynomial")
    a, b = rng.randint(1, 3), rng.choice(NONZERO)
    lead = "" if a == 1 else str(a)
    coefficients = [a**3, 3 * a * a * b, 3 * a * b * b, b**3]
    return Problem(f"Expand $({lead}x{signed(b)})^3$.", polynomial(coefficients), "polynomial")


def system(rng: random.Random, tier: str) -> Problem:
    while True:
        x, y = rng.randint(-12, 12), rng.randint(-12, 12)
        if tier == "easy":
            question = f"If $x + y = {x + y}$ and $x - y = {x - y}$, what is $x$?"
            return Problem(question, str(x), "integer")
        a, b, c, d = (rng.choice([n for n in range(-9, 10) if n]) for _ in range(4))
        if a * d - b * c == 0:
            continue
        first, second = f"{_linear(a, b)} = {a * x + b * y}", f"{_linear(c, d)} = {c * x + d * y}"
        if tier == "medium":
            return Problem(f"Solve the system ${first}$, ${second}$. What is $y$?", str(y), "integer")
        z = rng.randint(-9, 9)
        matrix = [[rng.choice([n for n in range(-5, 6) if n]) for _ in range(3)] for _ in range(3)]
        (a1, b1, c1), (a2, b2, c2), (a3, b3, c3) = matrix
        if a1 * (b2 * c3 - b3 * c2) - b1 * (a2 * c3 - a3 * c2) + c1 * (a2 * b3 - a3 * b2) == 0:
            continue
        equations = [f"{_linear(p, q, r)} = {p * x + q * y + r * z}" for p, q, r in matrix]
        question = "Solve the system " + ", ".join(f"${e}$" for e in equations) + ". What is $x + y + z$?"
        return Problem(question, str(x + y + z), "integer")


def _linear(*coefficients: int) -> str:
    """`2x - y + 3z` for coefficients of x, y (and z), none zero."""
    first, *rest = coefficients
    lead = "x" if first == 1 else "-x" if first == -1 else f"{first}x"
    return lead + "".join(signed(c, v) for c, v in zip(rest, "yz", strict=False))


def exponent(rng: random.Random, tier: str) -> Problem:
    if tier == "easy":
        base, power = rng.choice([2, 3, 5, 7]), rng.randint(3, 8)
        return Problem(f"Compute ${base}^{{{power}}}$.", str(base**power), "integer")
    if tier == "medium":
        base, power = rng.choice([2, 3, 5, 6, 7]), rng.randint(2, 9)
        return Problem(f"Solve for $x$: ${base}^{{x}} = {base**power}$.", str(power), "integer")
    base, power, k = rng.choice([2, 3, 5]), rng.randint(2, 8), rng.randint(1, 3)
    # base^(x + k) + base^x = base^power * (base^k + 1)  <=>  x = power
    total = base**power * (base**k + 1)
    return Problem(f"Solve for $x$: ${base}^{{x + {k}}} + {base}^{{x}} = {total}$.", str(power), "integer")
